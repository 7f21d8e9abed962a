//! M3UA, the SS7 MTP3-User Adaptation Layer (RFC 4666), sans-IO.
//!
//! tandem carries ISUP to an STP, SG or exchange as M3UA over SCTP. This
//! module owns:
//! - the wire codec ([`codec`], [`message`], [`parameter`]): common header,
//!   every message class and type of RFC 4666 §3, every parameter tag, with
//!   unknown tags kept verbatim and `encode(decode(b)) == b` for accepted
//!   input;
//! - errors ([`error`]) that name what failed and where, and map to the
//!   RFC 4666 §3.8.1 Error Code the peer is sent;
//! - the ASP state machine ([`asp`], RFC 4666 §4.3) for both the ASP (client)
//!   and the SGP (server) ends.
//!
//! Nothing here opens a socket or reads a clock: the runtime feeds SCTP
//! messages, association up/down and time in, and sends what
//! [`asp::Asp::poll_transmit`] returns on SCTP with PPID [`M3UA_PPID`].

pub mod asp;
pub mod codec;
pub mod error;
pub mod message;
pub mod parameter;

pub use asp::{
    Asp, AspConfig, AspEvent, AspState, IpspExchange, Role, RoutingKeyRequest, TrafficMode,
    Transition, Transmit,
};
pub use codec::decode;
pub use error::{error_code, AspError, M3uaError};
pub use message::{M3uaMessage, MessageClass, MessageType};
pub use parameter::{Parameter, PointCodeEntry, ProtocolData};

/// SCTP Payload Protocol Identifier of M3UA (IANA; give it to the socket in
/// network byte order).
pub const M3UA_PPID: u32 = 3;

/// IANA-registered SCTP port of M3UA.
pub const M3UA_PORT: u16 = 2905;
