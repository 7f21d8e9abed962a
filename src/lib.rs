//! tandem: an event-sourced SIP ⇄ ISUP (M3UA over SCTP) interworking gateway.
//!
//! Layers, lowest first: the wire codecs and protocol machines ([`sip`], [`isup`], [`sigtran`]), sans-IO; the
//! call logic joining them ([`interwork`]) with its data tables and [`routing`]; the [`gateway`] core that owns
//! them all and is driven by inputs and a clock; the [`events`] log that records every input, transition and
//! output so [`events::replay`] can reproduce a run; and the [`runtime`], the only code touching sockets and time.

#![deny(missing_docs)]

pub mod config;
pub mod decode;
pub mod dialplan_cli;
pub mod events;
pub mod gateway;
pub mod hex;
pub mod interwork;
pub mod isup;
pub mod machine;
pub mod routing;
pub mod runtime;
pub mod sigtran;
pub mod sip;
pub(crate) mod sockaddr;
pub mod source_error;
