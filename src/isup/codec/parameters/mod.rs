//! ISUP parameters (Q.763 §3): the parameter name codes of Table 5 and typed views of the
//! parameters tandem reads or writes. Each typed parameter implements [`Parameter`]; every other
//! parameter stays raw octets in the message.

mod bitfields;
mod cause;
mod compatibility;
mod indicators;
mod numbers;

pub use bitfields::{
    AccessDeliveryInformation, AutomaticCongestionLevel, BitFields, CallDiversionInformation,
    CircuitGroupSupervisionMessageType, ContinuityIndicators, EchoControlInformation,
    FacilityIndicator, GenericNotificationIndicator, HopCounter, InformationIndicators,
    InformationRequestIndicators, NumberPortabilityForwardInformation,
    OptionalBackwardCallIndicators, OptionalForwardCallIndicators, RedirectionInformation,
    SuspendResumeIndicators, TransmissionMediumUsed, UserToUserIndicators,
};
pub use cause::{CauseIndicators, EventInformation, RangeAndStatus};
pub use compatibility::{
    AccessTransport, InstructionIndicators, MessageCompatibilityInformation,
    ParameterCompatibilityInformation, ParameterInstructions, UserServiceInformation,
};
pub use indicators::{
    BackwardCallIndicators, CallingPartysCategory, ForwardCallIndicators,
    NatureOfConnectionIndicators, TransmissionMediumRequirement,
};
pub use numbers::{
    CalledDirectoryNumber, CalledPartyNumber, CallingPartyNumber, ConnectedNumber, GenericNumber,
    LocationNumber, OriginalCalledNumber, RedirectingNumber, RedirectionNumber, SubsequentNumber,
};

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

macro_rules! parameter_codes {
    ($($code:literal $constant:ident $name:ident),* $(,)?) => {
        impl ParameterCode {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($code), ").")]
                pub const $constant: Self = Self($code);
            )*

            /// The Q.763 Table 5 name in snake_case (`"called_party_number"`), or `None` for a
            /// code the table does not name.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

/// Parameter name code (Q.763 §1.5, Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParameterCode(pub u8);

parameter_codes! {
    0x00 END_OF_OPTIONAL_PARAMETERS end_of_optional_parameters,
    0x01 CALL_REFERENCE call_reference,
    0x02 TRANSMISSION_MEDIUM_REQUIREMENT transmission_medium_requirement,
    0x03 ACCESS_TRANSPORT access_transport,
    0x04 CALLED_PARTY_NUMBER called_party_number,
    0x05 SUBSEQUENT_NUMBER subsequent_number,
    0x06 NATURE_OF_CONNECTION_INDICATORS nature_of_connection_indicators,
    0x07 FORWARD_CALL_INDICATORS forward_call_indicators,
    0x08 OPTIONAL_FORWARD_CALL_INDICATORS optional_forward_call_indicators,
    0x09 CALLING_PARTYS_CATEGORY calling_partys_category,
    0x0A CALLING_PARTY_NUMBER calling_party_number,
    0x0B REDIRECTING_NUMBER redirecting_number,
    0x0C REDIRECTION_NUMBER redirection_number,
    0x0D CONNECTION_REQUEST connection_request,
    0x0E INFORMATION_REQUEST_INDICATORS information_request_indicators,
    0x0F INFORMATION_INDICATORS information_indicators,
    0x10 CONTINUITY_INDICATORS continuity_indicators,
    0x11 BACKWARD_CALL_INDICATORS backward_call_indicators,
    0x12 CAUSE_INDICATORS cause_indicators,
    0x13 REDIRECTION_INFORMATION redirection_information,
    0x15 CIRCUIT_GROUP_SUPERVISION_MESSAGE_TYPE circuit_group_supervision_message_type,
    0x16 RANGE_AND_STATUS range_and_status,
    0x18 FACILITY_INDICATOR facility_indicator,
    0x1A CLOSED_USER_GROUP_INTERLOCK_CODE closed_user_group_interlock_code,
    0x1D USER_SERVICE_INFORMATION user_service_information,
    0x1E SIGNALLING_POINT_CODE signalling_point_code,
    0x20 USER_TO_USER_INFORMATION user_to_user_information,
    0x21 CONNECTED_NUMBER connected_number,
    0x22 SUSPEND_RESUME_INDICATORS suspend_resume_indicators,
    0x23 TRANSIT_NETWORK_SELECTION transit_network_selection,
    0x24 EVENT_INFORMATION event_information,
    0x26 CIRCUIT_STATE_INDICATOR circuit_state_indicator,
    0x27 AUTOMATIC_CONGESTION_LEVEL automatic_congestion_level,
    0x28 ORIGINAL_CALLED_NUMBER original_called_number,
    0x29 OPTIONAL_BACKWARD_CALL_INDICATORS optional_backward_call_indicators,
    0x2A USER_TO_USER_INDICATORS user_to_user_indicators,
    0x2B ORIGINATION_ISC_POINT_CODE origination_isc_point_code,
    0x2C GENERIC_NOTIFICATION_INDICATOR generic_notification_indicator,
    0x2D CALL_HISTORY_INFORMATION call_history_information,
    0x2E ACCESS_DELIVERY_INFORMATION access_delivery_information,
    0x2F NETWORK_SPECIFIC_FACILITY network_specific_facility,
    0x30 USER_SERVICE_INFORMATION_PRIME user_service_information_prime,
    0x31 PROPAGATION_DELAY_COUNTER propagation_delay_counter,
    0x32 REMOTE_OPERATIONS remote_operations,
    0x33 SERVICE_ACTIVATION service_activation,
    0x34 USER_TELESERVICE_INFORMATION user_teleservice_information,
    0x35 TRANSMISSION_MEDIUM_USED transmission_medium_used,
    0x36 CALL_DIVERSION_INFORMATION call_diversion_information,
    0x37 ECHO_CONTROL_INFORMATION echo_control_information,
    0x38 MESSAGE_COMPATIBILITY_INFORMATION message_compatibility_information,
    0x39 PARAMETER_COMPATIBILITY_INFORMATION parameter_compatibility_information,
    0x3A MLPP_PRECEDENCE mlpp_precedence,
    0x3B MCID_REQUEST_INDICATORS mcid_request_indicators,
    0x3C MCID_RESPONSE_INDICATORS mcid_response_indicators,
    0x3D HOP_COUNTER hop_counter,
    0x3E TRANSMISSION_MEDIUM_REQUIREMENT_PRIME transmission_medium_requirement_prime,
    0x3F LOCATION_NUMBER location_number,
    0x40 REDIRECTION_NUMBER_RESTRICTION redirection_number_restriction,
    0x43 CALL_TRANSFER_REFERENCE call_transfer_reference,
    0x44 LOOP_PREVENTION_INDICATORS loop_prevention_indicators,
    0x45 CALL_TRANSFER_NUMBER call_transfer_number,
    0x4B CCSS ccss,
    0x4C FORWARD_GVNS forward_gvns,
    0x4D BACKWARD_GVNS backward_gvns,
    0x4E REDIRECT_CAPABILITY redirect_capability,
    0x5B NETWORK_MANAGEMENT_CONTROLS network_management_controls,
    0x65 CORRELATION_ID correlation_id,
    0x66 SCF_ID scf_id,
    0x6E CALL_DIVERSION_TREATMENT_INDICATORS call_diversion_treatment_indicators,
    0x6F CALLED_IN_NUMBER called_in_number,
    0x70 CALL_OFFERING_TREATMENT_INDICATORS call_offering_treatment_indicators,
    0x71 CHARGED_PARTY_IDENTIFICATION charged_party_identification,
    0x72 CONFERENCE_TREATMENT_INDICATORS conference_treatment_indicators,
    0x73 DISPLAY_INFORMATION display_information,
    0x74 UID_ACTION_INDICATORS uid_action_indicators,
    0x75 UID_CAPABILITY_INDICATORS uid_capability_indicators,
    0x77 REDIRECT_COUNTER redirect_counter,
    0x78 APPLICATION_TRANSPORT application_transport,
    0x79 COLLECT_CALL_REQUEST collect_call_request,
    0x7A CCNR_POSSIBLE_INDICATOR ccnr_possible_indicator,
    0x7B PIVOT_CAPABILITY pivot_capability,
    0x7C PIVOT_ROUTING_INDICATORS pivot_routing_indicators,
    0x7D CALLED_DIRECTORY_NUMBER called_directory_number,
    0x7E ORIGINAL_CALLED_IN_NUMBER original_called_in_number,
    0x81 CALLING_GEODETIC_LOCATION calling_geodetic_location,
    0x82 HTR_INFORMATION htr_information,
    0x84 NETWORK_ROUTING_NUMBER network_routing_number,
    0x85 QUERY_ON_RELEASE_CAPABILITY query_on_release_capability,
    0x86 PIVOT_STATUS pivot_status,
    0x87 PIVOT_COUNTER pivot_counter,
    0x88 PIVOT_ROUTING_FORWARD_INFORMATION pivot_routing_forward_information,
    0x89 PIVOT_ROUTING_BACKWARD_INFORMATION pivot_routing_backward_information,
    0x8A REDIRECT_STATUS redirect_status,
    0x8B REDIRECT_FORWARD_INFORMATION redirect_forward_information,
    0x8C REDIRECT_BACKWARD_INFORMATION redirect_backward_information,
    0x8D NUMBER_PORTABILITY_FORWARD_INFORMATION number_portability_forward_information,
    0xC0 GENERIC_NUMBER generic_number,
    0xC1 GENERIC_DIGITS generic_digits,
}
