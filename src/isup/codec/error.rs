//! Decode errors of the Q.763 codec, each knowing the Q.850 cause that the Q.764 §2.9.5
//! compatibility procedures answer it with.

use super::{MessageType, ParameterCode};

/// Why an ISUP message or parameter could not be decoded; every variant says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsupError {
    /// The message ended before its circuit identification code and message type.
    #[error("message too short for CIC and message type ({length} octets)")]
    TooShort {
        /// Length of the received message.
        length: usize,
    },
    /// The message ended inside a part it announced.
    #[error("{message_type:?}: truncated at octet {offset} while reading {what}")]
    Truncated {
        /// Message being decoded.
        message_type: MessageType,
        /// Octet offset (from the start of the CIC) where more data was expected.
        offset: usize,
        /// Which part was being read.
        what: &'static str,
    },
    /// A pointer points outside the message or breaks the Q.763 §1.6 order.
    #[error("{message_type:?}: bad pointer {pointer} at octet {offset} ({what})")]
    BadPointer {
        /// Message being decoded.
        message_type: MessageType,
        /// Offset of the pointer octet.
        offset: usize,
        /// Pointer value.
        pointer: u8,
        /// Which pointer.
        what: &'static str,
    },
    /// A parameter has contents its definition does not allow.
    #[error(
        "parameter {parameter:?}: invalid contents at octet {offset} of the parameter: {reason}"
    )]
    InvalidParameter {
        /// Parameter being decoded.
        parameter: ParameterCode,
        /// Octet offset inside the parameter's contents.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A digit string contained a character outside the Q.763 address-signal set.
    #[error("invalid address signal {character:?} at position {position}")]
    InvalidDigit {
        /// The offending character.
        character: char,
        /// Its index in the string.
        position: usize,
    },
    /// A digit string longer than a [`super::Digits`] holds.
    #[error("more than {max} address signals")]
    TooManyDigits {
        /// The limit.
        max: usize,
    },
}

impl IsupError {
    /// The Q.850 cause value Q.764 §2.9.5 uses when answering this error (in CFN, or in REL
    /// when the error hits an IAM): 111 for framing errors (the message cannot be parsed at
    /// all), 100 for a mandatory parameter with invalid contents.
    pub fn cause(&self) -> u8 {
        match self {
            IsupError::TooShort { .. }
            | IsupError::Truncated { .. }
            | IsupError::BadPointer { .. } => causes::PROTOCOL_ERROR_UNSPECIFIED,
            IsupError::InvalidParameter { .. }
            | IsupError::InvalidDigit { .. }
            | IsupError::TooManyDigits { .. } => causes::INVALID_PARAMETER_CONTENTS,
        }
    }
}

/// Q.850 cause values the ISUP layer itself produces.
pub mod causes {
    /// #16 normal call clearing.
    pub const NORMAL_CALL_CLEARING: u8 = 16;
    /// #19 no answer from user (user alerted).
    pub const NO_ANSWER_FROM_USER: u8 = 19;
    /// #31 normal, unspecified.
    pub const NORMAL_UNSPECIFIED: u8 = 31;
    /// #34 no circuit/channel available.
    pub const NO_CIRCUIT_AVAILABLE: u8 = 34;
    /// #97 message type non-existent or not implemented.
    pub const MESSAGE_TYPE_NON_EXISTENT: u8 = 97;
    /// #99 information element/parameter non-existent or not implemented.
    pub const PARAMETER_NON_EXISTENT: u8 = 99;
    /// #100 invalid information element contents.
    pub const INVALID_PARAMETER_CONTENTS: u8 = 100;
    /// #101 message not compatible with call state.
    pub const MESSAGE_NOT_COMPATIBLE_WITH_STATE: u8 = 101;
    /// #102 recovery on timer expiry.
    pub const RECOVERY_ON_TIMER_EXPIRY: u8 = 102;
    /// #110 message with unrecognized parameter, discarded.
    pub const MESSAGE_WITH_UNRECOGNIZED_PARAMETER_DISCARDED: u8 = 110;
    /// #111 protocol error, unspecified.
    pub const PROTOCOL_ERROR_UNSPECIFIED: u8 = 111;
}
