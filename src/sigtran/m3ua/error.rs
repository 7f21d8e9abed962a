//! Errors of the M3UA codec and the ASP state machine.
//!
//! Every decoding error says what went wrong and at which byte offset of the
//! received message, and maps to the Error Code of RFC 4666 §3.8.1 that the
//! peer should be sent in an ERR message (the way rustls maps an error to the
//! alert it sends).

use super::asp::AspState;

/// Error Code values of RFC 4666 §3.8.1 (carried in the Error Code parameter,
/// tag 0x000c). Codes that RFC 4666 marks "not used in M3UA" are left out.
pub mod error_code {
    /// The version in the common header is not 1.
    pub const INVALID_VERSION: u32 = 0x01;
    /// The message class is not one M3UA defines.
    pub const UNSUPPORTED_MESSAGE_CLASS: u32 = 0x03;
    /// The message type is not defined within its class.
    pub const UNSUPPORTED_MESSAGE_TYPE: u32 = 0x04;
    /// The Traffic Mode Type is not one the receiver supports.
    pub const UNSUPPORTED_TRAFFIC_MODE_TYPE: u32 = 0x05;
    /// A valid message arrived that is not expected in the current state.
    pub const UNEXPECTED_MESSAGE: u32 = 0x06;
    /// A message violates the protocol in a way no finer code covers.
    pub const PROTOCOL_ERROR: u32 = 0x07;
    /// A message arrived on a stream it must not use.
    pub const INVALID_STREAM_IDENTIFIER: u32 = 0x09;
    /// The request is refused by local management.
    pub const REFUSED_MANAGEMENT_BLOCKING: u32 = 0x0d;
    /// The SGP needs an ASP Identifier in ASPUP.
    pub const ASP_IDENTIFIER_REQUIRED: u32 = 0x0e;
    /// The ASP Identifier is not valid.
    pub const INVALID_ASP_IDENTIFIER: u32 = 0x0f;
    /// A parameter holds a value outside its allowed range.
    pub const INVALID_PARAMETER_VALUE: u32 = 0x11;
    /// A parameter is malformed (bad length, bad padding, truncated).
    pub const PARAMETER_FIELD_ERROR: u32 = 0x12;
    /// A parameter is not allowed in this message.
    pub const UNEXPECTED_PARAMETER: u32 = 0x13;
    /// The status of the destination is not known.
    pub const DESTINATION_STATUS_UNKNOWN: u32 = 0x14;
    /// The Network Appearance is not configured.
    pub const INVALID_NETWORK_APPEARANCE: u32 = 0x15;
    /// A mandatory parameter is missing.
    pub const MISSING_PARAMETER: u32 = 0x16;
    /// The Routing Context is not configured.
    pub const INVALID_ROUTING_CONTEXT: u32 = 0x19;
    /// The ASP has no Application Server configured.
    pub const NO_CONFIGURED_AS_FOR_ASP: u32 = 0x1a;
}

/// Why a received M3UA message could not be decoded (RFC 4666 §3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum M3uaError {
    /// Fewer bytes than the structure at `offset` needs.
    #[error("truncated at byte {offset}: need {needed} bytes, {available} available")]
    Truncated {
        /// Offset of the structure that does not fit.
        offset: usize,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes left from `offset`.
        available: usize,
    },
    /// The common header's version (byte 0) is not 1.
    #[error("invalid version {version} at byte 0 (only version 1 is defined)")]
    InvalidVersion {
        /// Version received.
        version: u8,
    },
    /// The common header's reserved byte (byte 1) is not zero.
    #[error("reserved byte at offset 1 is {value:#04x}, must be zero")]
    ReservedNotZero {
        /// Value received.
        value: u8,
    },
    /// The Message Length (bytes 4..8) does not fit the bytes received.
    #[error("message length {length} at byte 4 does not match the {received} bytes received (must be equal and a multiple of 4)")]
    LengthMismatch {
        /// Length in the header.
        length: u32,
        /// Bytes actually received.
        received: usize,
    },
    /// The message class (byte 2) is not one M3UA defines.
    #[error("unsupported message class {class} at byte 2")]
    UnsupportedMessageClass {
        /// Class received.
        class: u8,
    },
    /// The message type (byte 3) is not defined within its class.
    #[error("unsupported message type {message_type} of class {class} at byte 3")]
    UnsupportedMessageType {
        /// Class received.
        class: u8,
        /// Type received.
        message_type: u8,
    },
    /// A parameter's length field is below 4 or runs past its container.
    #[error("parameter {tag:#06x} at byte {offset}: length {length} invalid ({reason})")]
    ParameterLength {
        /// Parameter tag.
        tag: u16,
        /// Offset of the parameter's tag.
        offset: usize,
        /// Length field received.
        length: u16,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Padding after a parameter is not zero.
    #[error("parameter {tag:#06x} at byte {offset}: padding is not zero")]
    PaddingNotZero {
        /// Parameter tag.
        tag: u16,
        /// Offset of the parameter's tag.
        offset: usize,
    },
    /// A parameter holds a value the standard does not allow.
    #[error("parameter {tag:#06x} at byte {offset}: invalid value ({reason})")]
    InvalidParameterValue {
        /// Parameter tag.
        tag: u16,
        /// Offset of the parameter's tag.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A known parameter that this message must not carry.
    #[error("parameter {tag:#06x} at byte {offset} is not allowed in {message}")]
    UnexpectedParameter {
        /// Parameter tag.
        tag: u16,
        /// Offset of the parameter's tag.
        offset: usize,
        /// Name of the message.
        message: &'static str,
    },
    /// A mandatory parameter is absent.
    #[error("mandatory parameter {tag:#06x} missing from {message}")]
    MissingParameter {
        /// Tag of the missing parameter.
        tag: u16,
        /// Name of the message.
        message: &'static str,
    },
}

impl M3uaError {
    /// The RFC 4666 §3.8.1 Error Code to send the peer in an ERR message.
    ///
    /// Every decoding error has one today; the `Option` leaves room for
    /// errors that must not be answered.
    pub fn error_code(&self) -> Option<u32> {
        let code = match self {
            M3uaError::InvalidVersion { .. } => error_code::INVALID_VERSION,
            M3uaError::UnsupportedMessageClass { .. } => error_code::UNSUPPORTED_MESSAGE_CLASS,
            M3uaError::UnsupportedMessageType { .. } => error_code::UNSUPPORTED_MESSAGE_TYPE,
            M3uaError::Truncated { .. }
            | M3uaError::ReservedNotZero { .. }
            | M3uaError::LengthMismatch { .. } => error_code::PROTOCOL_ERROR,
            M3uaError::ParameterLength { .. } | M3uaError::PaddingNotZero { .. } => {
                error_code::PARAMETER_FIELD_ERROR
            }
            M3uaError::InvalidParameterValue { .. } => error_code::INVALID_PARAMETER_VALUE,
            M3uaError::UnexpectedParameter { .. } => error_code::UNEXPECTED_PARAMETER,
            M3uaError::MissingParameter { .. } => error_code::MISSING_PARAMETER,
        };
        Some(code)
    }
}

/// Why the ASP refused a local request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AspError {
    /// DATA may only be sent while the ASP (or, for an SGP, the peer ASP) is
    /// ASP-ACTIVE (RFC 4666 §4.3.1).
    #[error("cannot send DATA in ASP state {state:?}; the ASP must be Active")]
    NotActive {
        /// State at the time of the request.
        state: AspState,
    },
    /// The user data does not fit a Protocol Data parameter (16-bit length).
    #[error("user data of {length} bytes is too large for one DATA message")]
    DataTooLarge {
        /// Bytes of user data offered.
        length: usize,
    },
    /// The request does not fit the current state.
    #[error("{request} is not possible in ASP state {state:?}")]
    InvalidState {
        /// What was asked.
        request: &'static str,
        /// State at the time of the request.
        state: AspState,
    },
}
