//! ISUP parameters (Q.763 §3): the parameter name codes of Table 5 and typed views of the
//! parameters basic call control needs. Each typed parameter implements [`Parameter`].

mod cause;
mod indicators;
mod numbers;

pub use cause::{CauseIndicators, EventInformation, RangeAndStatus};
pub use indicators::{
    BackwardCallIndicators, CallingPartysCategory, ForwardCallIndicators,
    NatureOfConnectionIndicators, TransmissionMediumRequirement,
};
pub use numbers::{CalledPartyNumber, CallingPartyNumber, SubsequentNumber};

use super::IsupError;

/// A typed ISUP parameter: its Table 5 code and how its contents are decoded and encoded.
pub trait Parameter: Sized {
    /// Parameter name code (Q.763 Table 5).
    const CODE: ParameterCode;
    /// Decodes the parameter contents (without code and length octets).
    fn decode(contents: &[u8]) -> Result<Self, IsupError>;
    /// Appends the parameter contents to `out`.
    fn encode_into(&self, out: &mut Vec<u8>);
    /// The parameter contents as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// Builds an [`IsupError::InvalidParameter`] for parameter `P`.
pub(crate) fn invalid<P: Parameter>(offset: usize, reason: &'static str) -> IsupError {
    IsupError::InvalidParameter {
        parameter: P::CODE,
        offset,
        reason,
    }
}

/// Parameter name code (Q.763 §1.5, Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParameterCode(pub u8);

impl ParameterCode {
    /// End of optional parameters.
    pub const END_OF_OPTIONAL_PARAMETERS: Self = Self(0x00);
    /// Call reference (national use).
    pub const CALL_REFERENCE: Self = Self(0x01);
    /// Transmission medium requirement.
    pub const TRANSMISSION_MEDIUM_REQUIREMENT: Self = Self(0x02);
    /// Access transport.
    pub const ACCESS_TRANSPORT: Self = Self(0x03);
    /// Called party number.
    pub const CALLED_PARTY_NUMBER: Self = Self(0x04);
    /// Subsequent number.
    pub const SUBSEQUENT_NUMBER: Self = Self(0x05);
    /// Nature of connection indicators.
    pub const NATURE_OF_CONNECTION_INDICATORS: Self = Self(0x06);
    /// Forward call indicators.
    pub const FORWARD_CALL_INDICATORS: Self = Self(0x07);
    /// Optional forward call indicators.
    pub const OPTIONAL_FORWARD_CALL_INDICATORS: Self = Self(0x08);
    /// Calling party's category.
    pub const CALLING_PARTYS_CATEGORY: Self = Self(0x09);
    /// Calling party number.
    pub const CALLING_PARTY_NUMBER: Self = Self(0x0A);
    /// Redirecting number.
    pub const REDIRECTING_NUMBER: Self = Self(0x0B);
    /// Redirection number.
    pub const REDIRECTION_NUMBER: Self = Self(0x0C);
    /// Connection request.
    pub const CONNECTION_REQUEST: Self = Self(0x0D);
    /// Information request indicators (national use).
    pub const INFORMATION_REQUEST_INDICATORS: Self = Self(0x0E);
    /// Information indicators (national use).
    pub const INFORMATION_INDICATORS: Self = Self(0x0F);
    /// Continuity indicators.
    pub const CONTINUITY_INDICATORS: Self = Self(0x10);
    /// Backward call indicators.
    pub const BACKWARD_CALL_INDICATORS: Self = Self(0x11);
    /// Cause indicators.
    pub const CAUSE_INDICATORS: Self = Self(0x12);
    /// Redirection information.
    pub const REDIRECTION_INFORMATION: Self = Self(0x13);
    /// Circuit group supervision message type.
    pub const CIRCUIT_GROUP_SUPERVISION_MESSAGE_TYPE: Self = Self(0x15);
    /// Range and status.
    pub const RANGE_AND_STATUS: Self = Self(0x16);
    /// Facility indicator.
    pub const FACILITY_INDICATOR: Self = Self(0x18);
    /// Closed user group interlock code.
    pub const CLOSED_USER_GROUP_INTERLOCK_CODE: Self = Self(0x1A);
    /// User service information.
    pub const USER_SERVICE_INFORMATION: Self = Self(0x1D);
    /// Signalling point code (national use).
    pub const SIGNALLING_POINT_CODE: Self = Self(0x1E);
    /// User-to-user information.
    pub const USER_TO_USER_INFORMATION: Self = Self(0x20);
    /// Connected number.
    pub const CONNECTED_NUMBER: Self = Self(0x21);
    /// Suspend/resume indicators.
    pub const SUSPEND_RESUME_INDICATORS: Self = Self(0x22);
    /// Transit network selection (national use).
    pub const TRANSIT_NETWORK_SELECTION: Self = Self(0x23);
    /// Event information.
    pub const EVENT_INFORMATION: Self = Self(0x24);
    /// Circuit state indicator (national use).
    pub const CIRCUIT_STATE_INDICATOR: Self = Self(0x26);
    /// Automatic congestion level.
    pub const AUTOMATIC_CONGESTION_LEVEL: Self = Self(0x27);
    /// Original called number.
    pub const ORIGINAL_CALLED_NUMBER: Self = Self(0x28);
    /// Optional backward call indicators.
    pub const OPTIONAL_BACKWARD_CALL_INDICATORS: Self = Self(0x29);
    /// User-to-user indicators.
    pub const USER_TO_USER_INDICATORS: Self = Self(0x2A);
    /// Access delivery information.
    pub const ACCESS_DELIVERY_INFORMATION: Self = Self(0x2E);
    /// Propagation delay counter.
    pub const PROPAGATION_DELAY_COUNTER: Self = Self(0x31);
    /// Call diversion information.
    pub const CALL_DIVERSION_INFORMATION: Self = Self(0x36);
    /// Echo control information.
    pub const ECHO_CONTROL_INFORMATION: Self = Self(0x37);
    /// Message compatibility information.
    pub const MESSAGE_COMPATIBILITY_INFORMATION: Self = Self(0x38);
    /// Parameter compatibility information.
    pub const PARAMETER_COMPATIBILITY_INFORMATION: Self = Self(0x39);
    /// Hop counter.
    pub const HOP_COUNTER: Self = Self(0x3D);
    /// Location number.
    pub const LOCATION_NUMBER: Self = Self(0x3F);
    /// Application transport.
    pub const APPLICATION_TRANSPORT: Self = Self(0x78);
    /// Generic number.
    pub const GENERIC_NUMBER: Self = Self(0xC0);
    /// Generic digits (national use).
    pub const GENERIC_DIGITS: Self = Self(0xC1);
}
