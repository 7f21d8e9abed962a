//! Fixed-length indicator parameters of IAM, ACM and CON: forward call indicators
//! (Q.763 §3.23), backward call indicators (§3.5), nature of connection indicators (§3.35),
//! calling party's category (§3.11) and transmission medium requirement (§3.54).
//!
//! Fields are plain integers/booleans holding the coded value; bit letters follow Q.763.

use super::{invalid, Parameter, ParameterCode};
use crate::isup::codec::IsupError;

fn bit(octet: u8, index: u8) -> bool {
    octet & (1 << index) != 0
}

fn set(value: bool, index: u8) -> u8 {
    u8::from(value) << index
}

fn fixed<const N: usize, P: Parameter>(contents: &[u8]) -> Result<[u8; N], IsupError> {
    contents
        .try_into()
        .map_err(|_| invalid::<P>(contents.len(), "wrong length for a fixed parameter"))
}

/// Forward call indicators (Q.763 §3.23), two octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ForwardCallIndicators {
    /// A: `true` = call to be treated as international.
    pub international_call: bool,
    /// CB: end-to-end method indicator (0 none, 1 pass-along, 2 SCCP, 3 both).
    pub end_to_end_method: u8,
    /// D: `true` = interworking encountered.
    pub interworking: bool,
    /// E: `true` = end-to-end information available.
    pub end_to_end_information: bool,
    /// F: `true` = ISDN user part used all the way.
    pub isdn_user_part: bool,
    /// HG: ISDN user part preference (0 preferred, 1 not required, 2 required).
    pub isdn_user_part_preference: u8,
    /// I: `true` = originating access ISDN.
    pub isdn_access: bool,
    /// KJ: SCCP method indicator (0 none, 1 connectionless, 2 connection oriented, 3 both).
    pub sccp_method: u8,
    /// L: ported number translation indicator.
    pub ported_number_translation: bool,
    /// M–P: four bits reserved for national use.
    pub national_use: u8,
}

impl Parameter for ForwardCallIndicators {
    const CODE: ParameterCode = ParameterCode::FORWARD_CALL_INDICATORS;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [a, b] = fixed::<2, Self>(contents)?;
        Ok(ForwardCallIndicators {
            international_call: bit(a, 0),
            end_to_end_method: (a >> 1) & 0x03,
            interworking: bit(a, 3),
            end_to_end_information: bit(a, 4),
            isdn_user_part: bit(a, 5),
            isdn_user_part_preference: (a >> 6) & 0x03,
            isdn_access: bit(b, 0),
            sccp_method: (b >> 1) & 0x03,
            ported_number_translation: bit(b, 3),
            national_use: b >> 4,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(
            set(self.international_call, 0)
                | ((self.end_to_end_method & 0x03) << 1)
                | set(self.interworking, 3)
                | set(self.end_to_end_information, 4)
                | set(self.isdn_user_part, 5)
                | ((self.isdn_user_part_preference & 0x03) << 6),
        );
        out.push(
            set(self.isdn_access, 0)
                | ((self.sccp_method & 0x03) << 1)
                | set(self.ported_number_translation, 3)
                | ((self.national_use & 0x0F) << 4),
        );
    }
}

/// Backward call indicators (Q.763 §3.5), two octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackwardCallIndicators {
    /// BA: charge indicator (0 no indication, 1 no charge, 2 charge).
    pub charge: u8,
    /// DC: called party's status indicator (0 no indication, 1 subscriber free, 2 connect when free).
    pub called_party_status: u8,
    /// FE: called party's category indicator (0 no indication, 1 ordinary, 2 payphone).
    pub called_party_category: u8,
    /// HG: end-to-end method indicator.
    pub end_to_end_method: u8,
    /// I: `true` = interworking encountered.
    pub interworking: bool,
    /// J: `true` = end-to-end information available.
    pub end_to_end_information: bool,
    /// K: `true` = ISDN user part used all the way.
    pub isdn_user_part: bool,
    /// L: `true` = holding requested.
    pub holding: bool,
    /// M: `true` = terminating access ISDN.
    pub isdn_access: bool,
    /// N: `true` = incoming echo control device included.
    pub echo_control_device: bool,
    /// PO: SCCP method indicator.
    pub sccp_method: u8,
}

impl Parameter for BackwardCallIndicators {
    const CODE: ParameterCode = ParameterCode::BACKWARD_CALL_INDICATORS;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [a, b] = fixed::<2, Self>(contents)?;
        Ok(BackwardCallIndicators {
            charge: a & 0x03,
            called_party_status: (a >> 2) & 0x03,
            called_party_category: (a >> 4) & 0x03,
            end_to_end_method: (a >> 6) & 0x03,
            interworking: bit(b, 0),
            end_to_end_information: bit(b, 1),
            isdn_user_part: bit(b, 2),
            holding: bit(b, 3),
            isdn_access: bit(b, 4),
            echo_control_device: bit(b, 5),
            sccp_method: (b >> 6) & 0x03,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(
            (self.charge & 0x03)
                | ((self.called_party_status & 0x03) << 2)
                | ((self.called_party_category & 0x03) << 4)
                | ((self.end_to_end_method & 0x03) << 6),
        );
        out.push(
            set(self.interworking, 0)
                | set(self.end_to_end_information, 1)
                | set(self.isdn_user_part, 2)
                | set(self.holding, 3)
                | set(self.isdn_access, 4)
                | set(self.echo_control_device, 5)
                | ((self.sccp_method & 0x03) << 6),
        );
    }
}

/// Nature of connection indicators (Q.763 §3.35), one octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NatureOfConnectionIndicators {
    /// BA: satellite indicator (number of satellite circuits so far, 0–2).
    pub satellite: u8,
    /// DC: continuity check indicator (0 not required, 1 required on this circuit,
    /// 2 performed on a previous circuit).
    pub continuity_check: u8,
    /// E: `true` = outgoing echo control device included.
    pub echo_control_device: bool,
    /// F–H: three spare bits.
    pub spare: u8,
}

impl Parameter for NatureOfConnectionIndicators {
    const CODE: ParameterCode = ParameterCode::NATURE_OF_CONNECTION_INDICATORS;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [a] = fixed::<1, Self>(contents)?;
        Ok(NatureOfConnectionIndicators {
            satellite: a & 0x03,
            continuity_check: (a >> 2) & 0x03,
            echo_control_device: bit(a, 4),
            spare: a >> 5,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(
            (self.satellite & 0x03)
                | ((self.continuity_check & 0x03) << 2)
                | set(self.echo_control_device, 4)
                | ((self.spare & 0x07) << 5),
        );
    }
}

/// Calling party's category (Q.763 §3.11): 10 ordinary subscriber, 13 test call, 15 payphone…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallingPartysCategory(pub u8);

impl CallingPartysCategory {
    /// Category 0x0A, ordinary calling subscriber.
    pub const ORDINARY: Self = Self(0x0A);
}

impl Parameter for CallingPartysCategory {
    const CODE: ParameterCode = ParameterCode::CALLING_PARTYS_CATEGORY;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [a] = fixed::<1, Self>(contents)?;
        Ok(Self(a))
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.0);
    }
}

/// Transmission medium requirement (Q.763 §3.54): 0 speech, 2 64 kbit/s unrestricted,
/// 3 3.1 kHz audio…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransmissionMediumRequirement(pub u8);

impl TransmissionMediumRequirement {
    /// Value 0, speech.
    pub const SPEECH: Self = Self(0);
    /// Value 3, 3.1 kHz audio.
    pub const AUDIO_3_1_KHZ: Self = Self(3);
}

impl Parameter for TransmissionMediumRequirement {
    const CODE: ParameterCode = ParameterCode::TRANSMISSION_MEDIUM_REQUIREMENT;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [a] = fixed::<1, Self>(contents)?;
        Ok(Self(a))
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backward_call_indicators_by_hand() {
        // charge (2), subscriber free (1), ordinary (1), no e2e; ISUP all the way, ISDN access.
        let indicators = BackwardCallIndicators::decode(&[0x16, 0x14]).unwrap();
        assert_eq!(indicators.charge, 2);
        assert_eq!(indicators.called_party_status, 1);
        assert_eq!(indicators.called_party_category, 1);
        assert!(indicators.isdn_user_part && indicators.isdn_access);
        assert!(!indicators.interworking && !indicators.holding);
        assert_eq!(indicators.to_bytes(), [0x16, 0x14]);
        assert!(BackwardCallIndicators::decode(&[0x16]).is_err());
    }

    proptest! {
        #[test]
        fn two_octet_indicators_are_lossless(a: u8, b: u8) {
            prop_assert_eq!(ForwardCallIndicators::decode(&[a, b]).unwrap().to_bytes(), vec![a, b]);
            prop_assert_eq!(BackwardCallIndicators::decode(&[a, b]).unwrap().to_bytes(), vec![a, b]);
            prop_assert_eq!(NatureOfConnectionIndicators::decode(&[a]).unwrap().to_bytes(), vec![a]);
        }
    }
}
