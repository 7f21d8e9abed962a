//! Fixed-length parameters made only of bit fields (Q.763 §3): optional forward and backward call
//! indicators (§3.38, §3.37), transmission medium used (§3.56), redirection information (§3.45),
//! hop counter (§3.80), automatic congestion level (§3.4), suspend/resume indicators (§3.52),
//! circuit group supervision message type (§3.13), continuity indicators (§3.18), generic
//! notification indicator (§3.25), facility indicator (§3.22), information request indicators
//! (§3.29), information indicators (§3.28), call diversion information (§3.6), echo control
//! information (§3.19), user-to-user indicators (§3.60), access delivery information (§3.2) and number
//! portability forward information (§3.101).
//!
//! Every bit of every octet belongs to exactly one field (spare bits included), so the typed
//! view is lossless: `encode(decode(b)) == b` for every accepted `b`.

use super::{invalid, Parameter, ParameterCode};
use crate::isup::codec::IsupError;

/// A parameter whose contents are a fixed set of named bit fields.
pub trait BitFields: Parameter {
    /// The fields as `(snake_case name after Q.763, value)`, in wire order.
    fn fields(&self) -> Vec<(&'static str, u8)>;
}

macro_rules! bit_fields {
    ($(
        $(#[$doc:meta])*
        $name:ident = $code:ident, $octets:literal {
            $( $(#[$fdoc:meta])* $field:ident : $octet:literal, $shift:literal, $width:literal; )*
        }
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub struct $name {
            $( $(#[$fdoc])* pub $field: u8, )*
        }

        impl Parameter for $name {
            const CODE: ParameterCode = ParameterCode::$code;

            fn decode(contents: &[u8]) -> Result<Self, IsupError> {
                let octets: [u8; $octets] = contents
                    .try_into()
                    .map_err(|_| invalid::<Self>(contents.len(), "wrong length for a fixed parameter"))?;
                Ok($name {
                    $( $field: (octets[$octet] >> $shift) & (((1u16 << $width) - 1) as u8), )*
                })
            }

            fn encode_into(&self, out: &mut Vec<u8>) {
                let mut octets = [0u8; $octets];
                $( octets[$octet] |= (self.$field & (((1u16 << $width) - 1) as u8)) << $shift; )*
                out.extend_from_slice(&octets);
            }
        }

        impl BitFields for $name {
            fn fields(&self) -> Vec<(&'static str, u8)> {
                vec![$( (stringify!($field), self.$field), )*]
            }
        }
    )*};
}

bit_fields! {
    /// Optional forward call indicators (Q.763 §3.38).
    OptionalForwardCallIndicators = OPTIONAL_FORWARD_CALL_INDICATORS, 1 {
        /// BA: closed user group call indicator (0 non-CUG, 2 CUG with outgoing access, 3 CUG only).
        closed_user_group_call: 0, 0, 2;
        /// C: simple segmentation indicator (1 = additional information will be sent in SGM).
        simple_segmentation: 0, 2, 1;
        /// D–G: spare.
        spare: 0, 3, 4;
        /// H: connected line identity request indicator.
        connected_line_identity_request: 0, 7, 1;
    }

    /// Optional backward call indicators (Q.763 §3.37).
    OptionalBackwardCallIndicators = OPTIONAL_BACKWARD_CALL_INDICATORS, 1 {
        /// A: in-band information indicator (1 = in-band information available).
        in_band_information: 0, 0, 1;
        /// B: call diversion may occur indicator.
        call_diversion_may_occur: 0, 1, 1;
        /// C: simple segmentation indicator.
        simple_segmentation: 0, 2, 1;
        /// D: MLPP user indicator.
        mlpp_user: 0, 3, 1;
        /// E–H: reserved for national use.
        national_use: 0, 4, 4;
    }

    /// Transmission medium used (Q.763 §3.56), coded as the transmission medium requirement.
    TransmissionMediumUsed = TRANSMISSION_MEDIUM_USED, 1 {
        /// 0 speech, 2 64 kbit/s unrestricted, 3 3.1 kHz audio, …
        transmission_medium_used: 0, 0, 8;
    }

    /// Redirection information (Q.763 §3.45).
    RedirectionInformation = REDIRECTION_INFORMATION, 2 {
        /// CBA: redirecting indicator (0 no redirection, 3 call diverted, …).
        redirecting_indicator: 0, 0, 3;
        /// D: spare.
        spare: 0, 3, 1;
        /// H–E: original redirection reason (1 busy, 2 no reply, 3 unconditional).
        original_redirection_reason: 0, 4, 4;
        /// KJI: redirection counter (1–5).
        redirection_counter: 1, 0, 3;
        /// L: spare.
        spare_2: 1, 3, 1;
        /// P–M: redirecting reason.
        redirecting_reason: 1, 4, 4;
    }

    /// Hop counter (Q.763 §3.80).
    HopCounter = HOP_COUNTER, 1 {
        /// EDCBA: hop counter, decremented by every exchange.
        hop_counter: 0, 0, 5;
        /// HGF: spare.
        spare: 0, 5, 3;
    }

    /// Automatic congestion level (Q.763 §3.4).
    AutomaticCongestionLevel = AUTOMATIC_CONGESTION_LEVEL, 1 {
        /// 1 congestion level 1 exceeded, 2 congestion level 2 exceeded.
        automatic_congestion_level: 0, 0, 8;
    }

    /// Suspend/resume indicators (Q.763 §3.52).
    SuspendResumeIndicators = SUSPEND_RESUME_INDICATORS, 1 {
        /// A: 0 ISDN subscriber initiated, 1 network initiated.
        suspend_resume_indicator: 0, 0, 1;
        /// B–H: spare.
        spare: 0, 1, 7;
    }

    /// Circuit group supervision message type (Q.763 §3.13).
    CircuitGroupSupervisionMessageType = CIRCUIT_GROUP_SUPERVISION_MESSAGE_TYPE, 1 {
        /// BA: 0 maintenance oriented, 1 hardware failure oriented.
        type_indicator: 0, 0, 2;
        /// C–H: spare.
        spare: 0, 2, 6;
    }

    /// Continuity indicators (Q.763 §3.18).
    ContinuityIndicators = CONTINUITY_INDICATORS, 1 {
        /// A: 0 continuity check failed, 1 successful.
        continuity_indicator: 0, 0, 1;
        /// B–H: spare.
        spare: 0, 1, 7;
    }

    /// Generic notification indicator (Q.763 §3.25), notification codes of Q.931/Q.763.
    GenericNotificationIndicator = GENERIC_NOTIFICATION_INDICATOR, 1 {
        /// G–A: notification indicator.
        notification_indicator: 0, 0, 7;
        /// H: extension indicator.
        extension: 0, 7, 1;
    }

    /// Facility indicator (Q.763 §3.22).
    FacilityIndicator = FACILITY_INDICATOR, 1 {
        /// 2 user-to-user service, …
        facility_indicator: 0, 0, 8;
    }

    /// Information request indicators (Q.763 §3.29, national use).
    InformationRequestIndicators = INFORMATION_REQUEST_INDICATORS, 2 {
        /// A: calling party address request indicator.
        calling_party_address_request: 0, 0, 1;
        /// B: holding indicator.
        holding: 0, 1, 1;
        /// C: spare.
        spare: 0, 2, 1;
        /// D: calling party's category request indicator.
        calling_partys_category_request: 0, 3, 1;
        /// E: charge information request indicator.
        charge_information_request: 0, 4, 1;
        /// GF: spare.
        spare_2: 0, 5, 2;
        /// H: malicious call identification request indicator.
        malicious_call_identification_request: 0, 7, 1;
        /// I–L: spare.
        spare_3: 1, 0, 4;
        /// M–P: reserved for national use.
        national_use: 1, 4, 4;
    }

    /// Information indicators (Q.763 §3.28, national use).
    InformationIndicators = INFORMATION_INDICATORS, 2 {
        /// BA: calling party address response indicator.
        calling_party_address_response: 0, 0, 2;
        /// C: hold provided indicator.
        hold_provided: 0, 2, 1;
        /// ED: spare.
        spare: 0, 3, 2;
        /// F: calling party's category response indicator.
        calling_partys_category_response: 0, 5, 1;
        /// G: charge information response indicator.
        charge_information_response: 0, 6, 1;
        /// H: solicited information indicator.
        solicited_information: 0, 7, 1;
        /// I–L: spare.
        spare_2: 1, 0, 4;
        /// M–P: reserved for national use.
        national_use: 1, 4, 4;
    }

    /// Call diversion information (Q.763 §3.6).
    CallDiversionInformation = CALL_DIVERSION_INFORMATION, 1 {
        /// CBA: notification subscription options.
        notification_subscription_options: 0, 0, 3;
        /// GFED: redirecting reason.
        redirecting_reason: 0, 3, 4;
        /// H: spare.
        spare: 0, 7, 1;
    }

    /// Echo control information (Q.763 §3.19).
    EchoControlInformation = ECHO_CONTROL_INFORMATION, 1 {
        /// BA: outgoing echo control device information indicator.
        outgoing_echo_control_device_information: 0, 0, 2;
        /// DC: incoming echo control device information indicator.
        incoming_echo_control_device_information: 0, 2, 2;
        /// FE: outgoing echo control device request indicator.
        outgoing_echo_control_device_request: 0, 4, 2;
        /// HG: incoming echo control device request indicator.
        incoming_echo_control_device_request: 0, 6, 2;
    }

    /// User-to-user indicators (Q.763 §3.60).
    UserToUserIndicators = USER_TO_USER_INDICATORS, 1 {
        /// A: 0 request, 1 response.
        type_indicator: 0, 0, 1;
        /// CB: service 1.
        service_1: 0, 1, 2;
        /// ED: service 2.
        service_2: 0, 3, 2;
        /// GF: service 3.
        service_3: 0, 5, 2;
        /// H: network discard indicator.
        network_discard: 0, 7, 1;
    }

    /// Access delivery information (Q.763 §3.2).
    AccessDeliveryInformation = ACCESS_DELIVERY_INFORMATION, 1 {
        /// A: 0 set-up message generated, 1 no set-up message generated.
        access_delivery_indicator: 0, 0, 1;
        /// B–H: spare.
        spare: 0, 1, 7;
    }

    /// Number portability forward information (Q.763 §3.101), one octet: whether the called number was
    /// looked up in a number portability database and what was found. An extended form (H = 0 with further
    /// octets) is not accepted by this view.
    NumberPortabilityForwardInformation = NUMBER_PORTABILITY_FORWARD_INFORMATION, 1 {
        /// DCBA: number portability status indicator (0 no indication, 1 query not done for the called
        /// number, 2 query done, non-ported called subscriber, 3 query done, ported called subscriber).
        number_portability_status: 0, 0, 4;
        /// GFE: spare.
        spare: 0, 4, 3;
        /// H: extension indicator (1 = last octet).
        extension: 0, 7, 1;
    }
}

impl NumberPortabilityForwardInformation {
    /// Number portability status: query done for the called number, ported called subscriber.
    pub const PORTED: u8 = 3;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn redirection_information_by_hand() {
        // Call diverted (3), original reason no reply (2); counter 1, reason no reply (2).
        let information = RedirectionInformation::decode(&[0x23, 0x21]).unwrap();
        assert_eq!(information.redirecting_indicator, 3);
        assert_eq!(information.original_redirection_reason, 2);
        assert_eq!(information.redirection_counter, 1);
        assert_eq!(information.redirecting_reason, 2);
        assert_eq!(information.to_bytes(), [0x23, 0x21]);
        assert!(RedirectionInformation::decode(&[0x23]).is_err());
        let hop = HopCounter::decode(&[0x1F]).unwrap();
        assert_eq!((hop.hop_counter, hop.spare), (31, 0));
        assert_eq!(
            OptionalBackwardCallIndicators::decode(&[0x01])
                .unwrap()
                .fields()[0],
            ("in_band_information", 1)
        );
    }

    fn lossless<P: BitFields>(bytes: &[u8]) -> Result<(), TestCaseError> {
        let decoded = P::decode(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded.to_bytes(), bytes.to_vec());
        Ok(())
    }

    proptest! {
        #[test]
        fn every_bit_field_parameter_is_lossless(a: u8, b: u8) {
            lossless::<OptionalForwardCallIndicators>(&[a])?;
            lossless::<OptionalBackwardCallIndicators>(&[a])?;
            lossless::<TransmissionMediumUsed>(&[a])?;
            lossless::<RedirectionInformation>(&[a, b])?;
            lossless::<HopCounter>(&[a])?;
            lossless::<AutomaticCongestionLevel>(&[a])?;
            lossless::<SuspendResumeIndicators>(&[a])?;
            lossless::<CircuitGroupSupervisionMessageType>(&[a])?;
            lossless::<ContinuityIndicators>(&[a])?;
            lossless::<GenericNotificationIndicator>(&[a])?;
            lossless::<FacilityIndicator>(&[a])?;
            lossless::<InformationRequestIndicators>(&[a, b])?;
            lossless::<InformationIndicators>(&[a, b])?;
            lossless::<CallDiversionInformation>(&[a])?;
            lossless::<EchoControlInformation>(&[a])?;
            lossless::<UserToUserIndicators>(&[a])?;
            lossless::<AccessDeliveryInformation>(&[a])?;
            lossless::<NumberPortabilityForwardInformation>(&[a])?;
        }
    }
}
