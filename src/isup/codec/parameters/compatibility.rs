//! Variable-length parameters with inner structure: message compatibility information
//! (Q.763 §3.33), parameter compatibility information (§3.41) — the instructions Q.764 §2.9.5
//! follows for messages and parameters it does not understand — user service information
//! (§3.57, coded as the Q.931 bearer capability) and access transport (§3.3, Q.931 information
//! elements carried end to end).

use super::{invalid, Parameter, ParameterCode};
use crate::isup::codec::IsupError;

/// A run of instruction indicator octets (Q.763 §3.33, §3.41): each octet's bit 8 is the
/// extension indicator, 1 on the last octet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstructionIndicators(pub Vec<u8>);

impl InstructionIndicators {
    /// Splits the instruction indicators off the front of `contents`; `None` when the last octet
    /// still has its extension bit at 0.
    fn split(contents: &[u8]) -> Option<(InstructionIndicators, &[u8])> {
        let end = contents.iter().position(|octet| octet & 0x80 != 0)?;
        let (indicators, rest) = contents.split_at(end + 1);
        Some((InstructionIndicators(indicators.to_vec()), rest))
    }

    fn first(&self) -> u8 {
        self.0.first().copied().unwrap_or(0)
    }

    /// A: transit at intermediate exchange indicator (1 = end node interpretation).
    pub fn transit_at_intermediate_exchange(&self) -> u8 {
        self.first() & 0x01
    }

    /// B: release call indicator.
    pub fn release_call(&self) -> u8 {
        (self.first() >> 1) & 0x01
    }

    /// C: send notification indicator.
    pub fn send_notification(&self) -> u8 {
        (self.first() >> 2) & 0x01
    }

    /// D: discard message indicator.
    pub fn discard_message(&self) -> u8 {
        (self.first() >> 3) & 0x01
    }
}

/// Message compatibility information (Q.763 §3.33).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageCompatibilityInformation {
    /// Instruction indicators; in the first octet E is the pass on not possible indicator and
    /// GF the broadband/narrowband interworking indicator.
    pub instruction_indicators: InstructionIndicators,
}

impl MessageCompatibilityInformation {
    /// E: pass on not possible indicator.
    pub fn pass_on_not_possible(&self) -> u8 {
        (self.instruction_indicators.first() >> 4) & 0x01
    }
}

impl Parameter for MessageCompatibilityInformation {
    const CODE: ParameterCode = ParameterCode::MESSAGE_COMPATIBILITY_INFORMATION;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        match InstructionIndicators::split(contents) {
            Some((instruction_indicators, [])) => Ok(MessageCompatibilityInformation {
                instruction_indicators,
            }),
            Some(_) => Err(invalid::<Self>(
                contents.len(),
                "octets after the last indicator",
            )),
            None => Err(invalid::<Self>(contents.len(), "extension bit never ends")),
        }
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.instruction_indicators.0);
    }
}

/// One upgraded parameter of a parameter compatibility information parameter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterInstructions {
    /// The parameter these instructions are for.
    pub parameter: u8,
    /// Instruction indicators; in the first octet E is the discard parameter indicator and GF
    /// the pass on not possible indicator.
    pub instruction_indicators: InstructionIndicators,
}

impl ParameterInstructions {
    /// E: discard parameter indicator.
    pub fn discard_parameter(&self) -> u8 {
        (self.instruction_indicators.first() >> 4) & 0x01
    }

    /// GF: pass on not possible indicator (0 release call, 1 discard message, 2 discard
    /// parameter).
    pub fn pass_on_not_possible(&self) -> u8 {
        (self.instruction_indicators.first() >> 5) & 0x03
    }
}

/// Parameter compatibility information (Q.763 §3.41).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterCompatibilityInformation {
    /// One entry per upgraded parameter, in order.
    pub parameters: Vec<ParameterInstructions>,
}

impl Parameter for ParameterCompatibilityInformation {
    const CODE: ParameterCode = ParameterCode::PARAMETER_COMPATIBILITY_INFORMATION;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        if contents.is_empty() {
            return Err(invalid::<Self>(0, "empty"));
        }
        let mut parameters = Vec::new();
        let mut rest = contents;
        while let [parameter, tail @ ..] = rest {
            let offset = contents.len() - rest.len();
            let (instruction_indicators, tail) = InstructionIndicators::split(tail)
                .ok_or(invalid::<Self>(offset, "instruction indicators never end"))?;
            parameters.push(ParameterInstructions {
                parameter: *parameter,
                instruction_indicators,
            });
            rest = tail;
        }
        Ok(ParameterCompatibilityInformation { parameters })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        for entry in &self.parameters {
            out.push(entry.parameter);
            out.extend_from_slice(&entry.instruction_indicators.0);
        }
    }
}

/// User service information (Q.763 §3.57): the Q.931 §4.5.5 bearer capability from octet 3 on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserServiceInformation {
    /// Octet 3 bit 8: extension.
    pub extension: u8,
    /// Octet 3 bits 7–6: coding standard (0 ITU-T).
    pub coding_standard: u8,
    /// Octet 3 bits 5–1: information transfer capability (0 speech, 8 unrestricted digital,
    /// 16 3.1 kHz audio).
    pub information_transfer_capability: u8,
    /// Octet 4 bit 8: extension.
    pub extension_2: u8,
    /// Octet 4 bits 7–6: transfer mode (0 circuit mode).
    pub transfer_mode: u8,
    /// Octet 4 bits 5–1: information transfer rate (16 = 64 kbit/s).
    pub information_transfer_rate: u8,
    /// Octets 4a on (rate multiplier, layer 1–3 protocols), as received.
    pub further_octets: Vec<u8>,
}

impl Parameter for UserServiceInformation {
    const CODE: ParameterCode = ParameterCode::USER_SERVICE_INFORMATION;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [octet_3, octet_4, rest @ ..] = contents else {
            return Err(invalid::<Self>(contents.len(), "shorter than 2 octets"));
        };
        Ok(UserServiceInformation {
            extension: octet_3 >> 7,
            coding_standard: (octet_3 >> 5) & 0x03,
            information_transfer_capability: octet_3 & 0x1F,
            extension_2: octet_4 >> 7,
            transfer_mode: (octet_4 >> 5) & 0x03,
            information_transfer_rate: octet_4 & 0x1F,
            further_octets: rest.to_vec(),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(
            ((self.extension & 1) << 7)
                | ((self.coding_standard & 0x03) << 5)
                | (self.information_transfer_capability & 0x1F),
        );
        out.push(
            ((self.extension_2 & 1) << 7)
                | ((self.transfer_mode & 0x03) << 5)
                | (self.information_transfer_rate & 0x1F),
        );
        out.extend_from_slice(&self.further_octets);
    }
}

/// Access transport (Q.763 §3.3): Q.931 information elements passed end to end, kept as octets;
/// [`AccessTransport::information_elements`] walks them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessTransport(pub Vec<u8>);

impl AccessTransport {
    /// The information elements as `(identifier, contents)`; single-octet elements (bit 8 set)
    /// have empty contents. Stops at the first element that runs past the end.
    pub fn information_elements(&self) -> Vec<(u8, &[u8])> {
        let mut elements = Vec::new();
        let mut rest = self.0.as_slice();
        while let [identifier, tail @ ..] = rest {
            if identifier & 0x80 != 0 {
                elements.push((*identifier, &[][..]));
                rest = tail;
                continue;
            }
            let Some((length, tail)) = tail.split_first() else {
                break;
            };
            let Some(contents) = tail.get(..usize::from(*length)) else {
                break;
            };
            elements.push((*identifier, contents));
            rest = tail.get(usize::from(*length)..).unwrap_or_default();
        }
        elements
    }
}

impl Parameter for AccessTransport {
    const CODE: ParameterCode = ParameterCode::ACCESS_TRANSPORT;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        Ok(AccessTransport(contents.to_vec()))
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compatibility_information_by_hand() {
        // Parameter 0xC0 (generic number): discard parameter (E) and pass on not possible 2.
        let information = ParameterCompatibilityInformation::decode(&[0xC0, 0xD0]).unwrap();
        let entry = &information.parameters[0];
        assert_eq!(entry.parameter, 0xC0);
        assert_eq!(entry.discard_parameter(), 1);
        assert_eq!(entry.pass_on_not_possible(), 2);
        assert!(ParameterCompatibilityInformation::decode(&[0xC0, 0x10]).is_err());
        let message = MessageCompatibilityInformation::decode(&[0x82]).unwrap();
        assert_eq!(message.instruction_indicators.release_call(), 1);
        assert!(MessageCompatibilityInformation::decode(&[0x02]).is_err());
        let usi = UserServiceInformation::decode(&[0x80, 0x90, 0xA3]).unwrap();
        assert_eq!(usi.information_transfer_rate, 16);
        assert_eq!(usi.to_bytes(), [0x80, 0x90, 0xA3]);
        let access = AccessTransport(vec![0x7C, 0x02, 0x80, 0x90, 0xA1]);
        assert_eq!(
            access.information_elements(),
            vec![(0x7C, &[0x80, 0x90][..]), (0xA1, &[][..])]
        );
    }

    proptest! {
        #[test]
        fn accepted_contents_re_encode(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            if let Ok(p) = ParameterCompatibilityInformation::decode(&bytes) {
                prop_assert_eq!(p.to_bytes(), bytes.clone());
            }
            if let Ok(p) = MessageCompatibilityInformation::decode(&bytes) {
                prop_assert_eq!(p.to_bytes(), bytes.clone());
            }
            if let Ok(p) = UserServiceInformation::decode(&bytes) {
                prop_assert_eq!(p.to_bytes(), bytes.clone());
            }
            let _ = AccessTransport(bytes).information_elements();
        }
    }
}
