//! SIGTRAN: M3UA (RFC 4666) carrying ISUP between tandem and an STP, SG or exchange, over SCTP associations
//! (kernel SCTP, or userspace SCTP encapsulated in UDP per RFC 6951).

pub mod m3ua;
pub mod sctp;
