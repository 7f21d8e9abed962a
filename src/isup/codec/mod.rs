//! Q.763 ISUP message codec: circuit identification code, message types, the generic
//! fixed/variable/optional layout of §1.3–§1.8 and typed views of the common parameters.
//!
//! The codec is lossless: for every byte string [`IsupMessage::decode`] accepts,
//! [`IsupMessage::encode`] gives the same bytes back. Unknown message types and unknown
//! optional parameters are kept as raw octets so they can be passed on.

mod digits;
mod error;
mod layout;
mod message;
mod message_type;
pub mod parameters;

pub use digits::Digits;
pub use error::{causes, IsupError};
pub use layout::Layout;
pub use message::{Iam, IsupMessage, MessageBody, OptionalParameter, Parameters};
pub use message_type::MessageType;
pub use parameters::{
    BackwardCallIndicators, CalledPartyNumber, CallingPartyNumber, CallingPartysCategory,
    CauseIndicators, EventInformation, ForwardCallIndicators, NatureOfConnectionIndicators,
    ParameterCode, RangeAndStatus, SubsequentNumber, TransmissionMediumRequirement,
};

/// Circuit identification code (Q.763 §1.2): 12 bits in the ITU variant, sent as two octets,
/// least significant first; the top four bits of the second octet are spare.
///
/// The full 16-bit value is kept so that spare bits survive a decode/encode round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cic(pub u16);

impl std::fmt::Display for Cic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which national or regional flavour of ISUP a codec speaks.
///
/// Only [`Variant::Itu`] is implemented; the enum exists so that ETSI (EN 300 356) and ANSI
/// (T1.113, 14-bit CIC, different layouts) can be added without changing call sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// ITU-T Q.761–Q.764 (1999).
    #[default]
    Itu,
}

#[cfg(test)]
mod tests;
