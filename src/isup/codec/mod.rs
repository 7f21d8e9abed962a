//! Q.763 ISUP message codec: circuit identification code, message types, the generic
//! fixed/variable/optional layout of §1.3–§1.8 and typed views of the common parameters.
//!
//! The codec is lossless: for every byte string [`IsupMessage::decode`] accepts,
//! [`IsupMessage::encode`] gives the same bytes back. Unknown message types and unknown
//! optional parameters are kept as raw octets so they can be passed on (Q.764 §2.9.5
//! compatibility procedures, SIP-I). [`IsupView`] decodes without allocating and borrows the
//! received octets; [`IsupMessage`] is the owned form used to build messages.

mod digits;
mod error;
mod layout;
mod message;
mod message_type;
pub mod parameters;
mod view;

pub use digits::Digits;
pub use error::{causes, IsupError};
pub use layout::Layout;
pub use message::{Iam, IsupMessage, MessageBody, OptionalParameter, Parameters};
pub use message_type::MessageType;
pub use parameters::*;
pub use view::{IsupView, OptionalParameters, MAX_VARIABLE};

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

/// Which national or regional flavour of ISUP a codec speaks, chosen per trunk.
///
/// ITU-T and ETSI share the Q.763 layouts of every message (EN 300 356-1 profiles Q.763 and adds
/// national parameters that the codec keeps as raw octets), so both decode with the same tables;
/// the variant still travels with every decode so that ANSI T1.113 (14-bit CIC, its own message
/// layouts and parameters) can be added as one more arm of [`Layout::of`] and
/// [`Variant::cic_mask`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Variant {
    /// ITU-T Q.761–Q.764 (1999), international.
    #[default]
    Itu,
    /// ETSI EN 300 356 (ETS 300 356), the European national ISUP.
    Etsi,
}

impl Variant {
    /// The bits of the two CIC octets that carry the circuit number (12 for ITU-T and ETSI);
    /// the rest are spare and kept as received.
    pub fn cic_mask(self) -> u16 {
        match self {
            Variant::Itu | Variant::Etsi => 0x0FFF,
        }
    }
}

#[cfg(test)]
mod tests;
