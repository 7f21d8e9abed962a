//! The event log: what every input, state transition and output of the core looks like ([`types`]), where they
//! are kept ([`store`], SQLite), how a log is checked against a fresh core ([`replay`]) and shown as a ladder
//! ([`trace`]).

pub mod links;
pub mod replay;
pub mod store;
pub mod trace;
pub mod types;

pub use types::{
    Event, EventKind, Input, LogLevel, Output, Payload, Setup, SipTransport, SourceText,
    Transition, EVENT_FORMAT_VERSION,
};
