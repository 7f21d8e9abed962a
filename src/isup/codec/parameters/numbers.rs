//! Number parameters: called party number (Q.763 §3.9), calling party number (§3.10) and
//! subsequent number (§3.51). Digits are [`Digits`]; the odd/even bit is derived from them.
//!
//! The typed view is exact for well-formed parameters; a non-zero filler nibble after an odd
//! digit count is not kept (the message itself always keeps the raw octets).

use super::{invalid, Parameter, ParameterCode};
use crate::isup::codec::{Digits, IsupError};

const ODD: u8 = 0x80;

/// Called party number (Q.763 §3.9).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalledPartyNumber {
    /// Nature of address indicator, 7 bits (3 = national significant number, 4 = international).
    pub nature_of_address: u8,
    /// Internal network number indicator: `true` = routing to internal network number not allowed.
    pub internal_network_number_not_allowed: bool,
    /// Numbering plan indicator, 3 bits (1 = ISDN/telephony E.164).
    pub numbering_plan: u8,
    /// The four spare bits of the second octet, kept so the view is lossless.
    pub spare: u8,
    /// Address signals.
    pub digits: Digits,
}

impl Parameter for CalledPartyNumber {
    const CODE: ParameterCode = ParameterCode::CALLED_PARTY_NUMBER;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [first, second, rest @ ..] = contents else {
            return Err(invalid::<Self>(contents.len(), "shorter than 2 octets"));
        };
        Ok(CalledPartyNumber {
            nature_of_address: first & 0x7F,
            internal_network_number_not_allowed: second & 0x80 != 0,
            numbering_plan: (second >> 4) & 0x07,
            spare: second & 0x0F,
            digits: Digits::unpack(rest, first & ODD != 0),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push((self.nature_of_address & 0x7F) | if self.digits.is_odd() { ODD } else { 0 });
        out.push(
            (u8::from(self.internal_network_number_not_allowed) << 7)
                | ((self.numbering_plan & 0x07) << 4)
                | (self.spare & 0x0F),
        );
        self.digits.pack_into(out);
    }
}

/// Calling party number (Q.763 §3.10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallingPartyNumber {
    /// Nature of address indicator, 7 bits.
    pub nature_of_address: u8,
    /// Number incomplete indicator (NI): `true` = incomplete.
    pub number_incomplete: bool,
    /// Numbering plan indicator, 3 bits.
    pub numbering_plan: u8,
    /// Address presentation restricted indicator, 2 bits (0 allowed, 1 restricted,
    /// 2 address not available, 3 reserved).
    pub address_presentation_restricted: u8,
    /// Screening indicator, 2 bits (1 user provided verified and passed, 3 network provided).
    pub screening: u8,
    /// Address signals (may be empty when the address is not available).
    pub digits: Digits,
}

impl Parameter for CallingPartyNumber {
    const CODE: ParameterCode = ParameterCode::CALLING_PARTY_NUMBER;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [first, second, rest @ ..] = contents else {
            return Err(invalid::<Self>(contents.len(), "shorter than 2 octets"));
        };
        Ok(CallingPartyNumber {
            nature_of_address: first & 0x7F,
            number_incomplete: second & 0x80 != 0,
            numbering_plan: (second >> 4) & 0x07,
            address_presentation_restricted: (second >> 2) & 0x03,
            screening: second & 0x03,
            digits: Digits::unpack(rest, first & ODD != 0),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push((self.nature_of_address & 0x7F) | if self.digits.is_odd() { ODD } else { 0 });
        out.push(
            (u8::from(self.number_incomplete) << 7)
                | ((self.numbering_plan & 0x07) << 4)
                | ((self.address_presentation_restricted & 0x03) << 2)
                | (self.screening & 0x03),
        );
        self.digits.pack_into(out);
    }
}

/// Subsequent number (Q.763 §3.51), carried by SAM in overlap sending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubsequentNumber {
    /// The seven spare bits of the first octet.
    pub spare: u8,
    /// Address signals.
    pub digits: Digits,
}

impl Parameter for SubsequentNumber {
    const CODE: ParameterCode = ParameterCode::SUBSEQUENT_NUMBER;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [first, rest @ ..] = contents else {
            return Err(invalid::<Self>(0, "empty"));
        };
        Ok(SubsequentNumber {
            spare: first & 0x7F,
            digits: Digits::unpack(rest, first & ODD != 0),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push((self.spare & 0x7F) | if self.digits.is_odd() { ODD } else { 0 });
        self.digits.pack_into(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn called_party_number_by_hand() {
        // Odd, NOA 3 (national), INN allowed, plan 1 (E.164), digits 12345.
        let bytes = [0x83, 0x10, 0x21, 0x43, 0x05];
        let number = CalledPartyNumber::decode(&bytes).unwrap();
        assert_eq!(number.nature_of_address, 3);
        assert!(!number.internal_network_number_not_allowed);
        assert_eq!(number.numbering_plan, 1);
        assert_eq!(number.digits.to_string(), "12345");
        assert_eq!(number.to_bytes(), bytes);
        assert!(CalledPartyNumber::decode(&[0x83]).is_err());
    }

    #[test]
    fn calling_party_number_by_hand() {
        // Even, NOA 4 (international), NI complete, plan 1, restricted, network provided.
        let bytes = [0x04, 0x17, 0x21, 0x43];
        let number = CallingPartyNumber::decode(&bytes).unwrap();
        assert_eq!(number.nature_of_address, 4);
        assert_eq!(number.address_presentation_restricted, 1);
        assert_eq!(number.screening, 3);
        assert_eq!(number.digits.to_string(), "1234");
        assert_eq!(number.to_bytes(), bytes);
    }

    fn digits() -> impl Strategy<Value = Digits> {
        proptest::collection::vec(0u8..16, 0..24).prop_map(Digits::from_signals)
    }

    proptest! {
        #[test]
        fn called_round_trip(noa in 0u8..128, inn: bool, plan in 0u8..8, spare in 0u8..16, d in digits()) {
            let number = CalledPartyNumber { nature_of_address: noa, internal_network_number_not_allowed: inn, numbering_plan: plan, spare, digits: d };
            prop_assert_eq!(CalledPartyNumber::decode(&number.to_bytes()).unwrap(), number);
        }

        #[test]
        fn calling_round_trip(noa in 0u8..128, ni: bool, plan in 0u8..8, pres in 0u8..4, screening in 0u8..4, d in digits()) {
            let number = CallingPartyNumber { nature_of_address: noa, number_incomplete: ni, numbering_plan: plan, address_presentation_restricted: pres, screening, digits: d };
            prop_assert_eq!(CallingPartyNumber::decode(&number.to_bytes()).unwrap(), number);
        }

        #[test]
        fn subsequent_round_trip(spare in 0u8..128, d in digits()) {
            let number = SubsequentNumber { spare, digits: d };
            prop_assert_eq!(SubsequentNumber::decode(&number.to_bytes()).unwrap(), number);
        }
    }
}
