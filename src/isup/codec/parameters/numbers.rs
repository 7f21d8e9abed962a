//! Number parameters: called party number (Q.763 §3.9), calling party number (§3.10),
//! subsequent number (§3.51), redirection number (§3.46), original called number (§3.39),
//! redirecting number (§3.44), connected number (§3.17), location number (§3.30) and generic
//! number (§3.26). Digits are [`Digits`]; the odd/even bit is derived from them.
//!
//! The typed view is exact for well-formed parameters; a non-zero filler nibble after an odd
//! digit count is not kept (the message itself always keeps the raw octets).

use super::{invalid, Parameter, ParameterCode};
use crate::isup::codec::{Digits, IsupError};

const ODD: u8 = 0x80;

/// Address signals after the header octets; `first` holds the odd/even indicator.
fn unpack<P: Parameter>(octets: &[u8], first: u8) -> Result<Digits, IsupError> {
    Digits::unpack(octets, first & ODD != 0)
        .map_err(|_| invalid::<P>(octets.len(), "more address signals than tandem holds"))
}

fn odd(digits: &Digits) -> u8 {
    if digits.is_odd() {
        ODD
    } else {
        0
    }
}

/// Numbers whose second octet is `flag(8) NPI(7-5) APRI(4-3) screening(2-1)` (the calling party
/// number layout of Q.763 §3.10), with the field names of each parameter.
macro_rules! presentation_number {
    ($(#[$doc:meta])* $name:ident = $code:ident, $flag:ident: $flag_doc:literal, $screening:ident: $screening_doc:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            /// Nature of address indicator, 7 bits.
            pub nature_of_address: u8,
            #[doc = $flag_doc]
            pub $flag: bool,
            /// Numbering plan indicator, 3 bits.
            pub numbering_plan: u8,
            /// Address presentation restricted indicator, 2 bits (0 allowed, 1 restricted,
            /// 2 address not available).
            pub address_presentation_restricted: u8,
            #[doc = $screening_doc]
            pub $screening: u8,
            /// Address signals.
            pub digits: Digits,
        }

        impl Parameter for $name {
            const CODE: ParameterCode = ParameterCode::$code;

            fn decode(contents: &[u8]) -> Result<Self, IsupError> {
                let [first, second, rest @ ..] = contents else {
                    return Err(invalid::<Self>(contents.len(), "shorter than 2 octets"));
                };
                Ok($name {
                    nature_of_address: first & 0x7F,
                    $flag: second & 0x80 != 0,
                    numbering_plan: (second >> 4) & 0x07,
                    address_presentation_restricted: (second >> 2) & 0x03,
                    $screening: second & 0x03,
                    digits: unpack::<Self>(rest, *first)?,
                })
            }

            fn encode_into(&self, out: &mut Vec<u8>) {
                out.push((self.nature_of_address & 0x7F) | odd(&self.digits));
                out.push(
                    (u8::from(self.$flag) << 7)
                        | ((self.numbering_plan & 0x07) << 4)
                        | ((self.address_presentation_restricted & 0x03) << 2)
                        | (self.$screening & 0x03),
                );
                self.digits.pack_into(out);
            }
        }
    };
}

presentation_number! {
    /// Original called number (Q.763 §3.39): the number first dialled before any redirection.
    OriginalCalledNumber = ORIGINAL_CALLED_NUMBER,
    spare: "Bit 8 of octet 2, spare.",
    spare_low: "Bits 2–1 of octet 2, spare."
}

presentation_number! {
    /// Redirecting number (Q.763 §3.44): the number the call was last redirected from.
    RedirectingNumber = REDIRECTING_NUMBER,
    spare: "Bit 8 of octet 2, spare.",
    spare_low: "Bits 2–1 of octet 2, spare."
}

presentation_number! {
    /// Connected number (Q.763 §3.17), sent backward in ANM/CON.
    ConnectedNumber = CONNECTED_NUMBER,
    spare: "Bit 8 of octet 2, spare.",
    screening: "Screening indicator, 2 bits (1 user provided verified and passed, 3 network provided)."
}

presentation_number! {
    /// Location number (Q.763 §3.30): where the call comes from, for location-based routing.
    LocationNumber = LOCATION_NUMBER,
    internal_network_number_not_allowed: "Internal network number indicator: `true` = routing to internal network number not allowed.",
    screening: "Screening indicator, 2 bits."
}

/// Redirection number (Q.763 §3.46): where a call is to be redirected; laid out as the called
/// party number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedirectionNumber {
    /// Nature of address indicator, 7 bits.
    pub nature_of_address: u8,
    /// Internal network number indicator: `true` = routing to internal network number not allowed.
    pub internal_network_number_not_allowed: bool,
    /// Numbering plan indicator, 3 bits.
    pub numbering_plan: u8,
    /// The four spare bits of the second octet.
    pub spare: u8,
    /// Address signals.
    pub digits: Digits,
}

impl Parameter for RedirectionNumber {
    const CODE: ParameterCode = ParameterCode::REDIRECTION_NUMBER;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let called = CalledPartyNumber::decode(contents).map_err(|_| {
            invalid::<Self>(contents.len(), "not a called-party-number-like number")
        })?;
        Ok(RedirectionNumber {
            nature_of_address: called.nature_of_address,
            internal_network_number_not_allowed: called.internal_network_number_not_allowed,
            numbering_plan: called.numbering_plan,
            spare: called.spare,
            digits: called.digits,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        CalledPartyNumber {
            nature_of_address: self.nature_of_address,
            internal_network_number_not_allowed: self.internal_network_number_not_allowed,
            numbering_plan: self.numbering_plan,
            spare: self.spare,
            digits: self.digits.clone(),
        }
        .encode_into(out);
    }
}

/// Called directory number (Q.763 §3.86), laid out like the called party number (§3.9). With separate
/// directory number addressing (Q.769.1 §4) it carries the number the caller dialled while the called party
/// number carries the routing number of a ported subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalledDirectoryNumber(pub CalledPartyNumber);

impl Parameter for CalledDirectoryNumber {
    const CODE: ParameterCode = ParameterCode::CALLED_DIRECTORY_NUMBER;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        CalledPartyNumber::decode(contents)
            .map(CalledDirectoryNumber)
            .map_err(|_| invalid::<Self>(contents.len(), "not a called-party-number-like number"))
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        self.0.encode_into(out);
    }
}

/// Generic number (Q.763 §3.26): a number qualifier octet, then a calling-party-number-like
/// number (additional called/calling/connected numbers, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GenericNumber {
    /// Number qualifier indicator (1 additional called number, 6 additional calling party
    /// number, …).
    pub number_qualifier: u8,
    /// The number that follows, coded as a calling party number.
    pub number: CallingPartyNumber,
}

impl Parameter for GenericNumber {
    const CODE: ParameterCode = ParameterCode::GENERIC_NUMBER;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [number_qualifier, rest @ ..] = contents else {
            return Err(invalid::<Self>(0, "empty"));
        };
        let number = CallingPartyNumber::decode(rest)
            .map_err(|_| invalid::<Self>(contents.len(), "number part malformed"))?;
        Ok(GenericNumber {
            number_qualifier: *number_qualifier,
            number,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.number_qualifier);
        self.number.encode_into(out);
    }
}

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
            digits: unpack::<Self>(rest, *first)?,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push((self.nature_of_address & 0x7F) | odd(&self.digits));
        out.push(
            (u8::from(self.internal_network_number_not_allowed) << 7)
                | ((self.numbering_plan & 0x07) << 4)
                | (self.spare & 0x0F),
        );
        self.digits.pack_into(out);
    }
}

presentation_number! {
    /// Calling party number (Q.763 §3.10).
    CallingPartyNumber = CALLING_PARTY_NUMBER,
    number_incomplete: "Number incomplete indicator (NI): `true` = incomplete.",
    screening: "Screening indicator, 2 bits (1 user provided verified and passed, 3 network provided)."
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
            digits: unpack::<Self>(rest, *first)?,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push((self.spare & 0x7F) | odd(&self.digits));
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
        // 17 octets of digits is more than a Digits holds: an error, not a panic.
        let mut long = vec![0x03, 0x10];
        long.extend([0x11; 17]);
        assert!(CalledPartyNumber::decode(&long).is_err());
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
        fn other_numbers_round_trip(noa in 0u8..128, flag: bool, plan in 0u8..8, pres in 0u8..4, low in 0u8..4, qualifier: u8, d in digits()) {
            let number = LocationNumber { nature_of_address: noa, internal_network_number_not_allowed: flag, numbering_plan: plan, address_presentation_restricted: pres, screening: low, digits: d.clone() };
            prop_assert_eq!(LocationNumber::decode(&number.to_bytes()).unwrap(), number);
            let number = OriginalCalledNumber { nature_of_address: noa, spare: flag, numbering_plan: plan, address_presentation_restricted: pres, spare_low: low, digits: d.clone() };
            prop_assert_eq!(OriginalCalledNumber::decode(&number.to_bytes()).unwrap(), number);
            let number = RedirectingNumber { nature_of_address: noa, spare: flag, numbering_plan: plan, address_presentation_restricted: pres, spare_low: low, digits: d.clone() };
            prop_assert_eq!(RedirectingNumber::decode(&number.to_bytes()).unwrap(), number);
            let number = ConnectedNumber { nature_of_address: noa, spare: flag, numbering_plan: plan, address_presentation_restricted: pres, screening: low, digits: d.clone() };
            prop_assert_eq!(ConnectedNumber::decode(&number.to_bytes()).unwrap(), number);
            let number = RedirectionNumber { nature_of_address: noa, internal_network_number_not_allowed: flag, numbering_plan: plan, spare: low, digits: d.clone() };
            prop_assert_eq!(RedirectionNumber::decode(&number.to_bytes()).unwrap(), number);
            let number = GenericNumber { number_qualifier: qualifier, number: CallingPartyNumber { nature_of_address: noa, number_incomplete: flag, numbering_plan: plan, address_presentation_restricted: pres, screening: low, digits: d } };
            prop_assert_eq!(GenericNumber::decode(&number.to_bytes()).unwrap(), number);
        }

        #[test]
        fn called_directory_round_trip(noa in 0u8..128, inn: bool, plan in 0u8..8, spare in 0u8..16, d in digits()) {
            let number = CalledDirectoryNumber(CalledPartyNumber { nature_of_address: noa, internal_network_number_not_allowed: inn, numbering_plan: plan, spare, digits: d });
            prop_assert_eq!(CalledDirectoryNumber::decode(&number.to_bytes()).unwrap(), number);
        }

        #[test]
        fn subsequent_round_trip(spare in 0u8..128, d in digits()) {
            let number = SubsequentNumber { spare, digits: d };
            prop_assert_eq!(SubsequentNumber::decode(&number.to_bytes()).unwrap(), number);
        }
    }
}
