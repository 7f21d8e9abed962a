//! Number conversion between SIP and ISUP (RFC 3398 §7.1.1 and §8.1): the user part of a `sip:`/`tel:` URI
//! becomes an ISUP address (nature of address + digits) and back, following the trunk's number format.

use thiserror::Error;

/// Nature of address indicator values (Q.763 §3.9 b).
pub mod nature_of_address {
    /// Subscriber number (national use).
    pub const SUBSCRIBER: u8 = 1;
    /// Unknown (national use).
    pub const UNKNOWN: u8 = 2;
    /// National (significant) number.
    pub const NATIONAL: u8 = 3;
    /// International number.
    pub const INTERNATIONAL: u8 = 4;
}

/// How a trunk wants numbers presented (from its configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    /// Country code of the trunk's network, without `+` (e.g. `49`).
    pub country_code: String,
    /// Trunk prefix dialled before national numbers (e.g. `0`), stripped from national numbers.
    pub national_prefix: String,
    /// Send numbers dialled without `+` as international numbers (country code prepended) rather than as
    /// national numbers; numbers with `+` are always international.
    pub plain_numbers_international: bool,
}

/// An ISUP address: nature of address and digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsupAddress {
    /// Nature of address indicator ([`nature_of_address`]).
    pub nature_of_address: u8,
    /// Address signals, `0`-`9` only.
    pub digits: String,
}

/// Why a SIP user part cannot become an ISUP number.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum NumberError {
    /// Nothing left after removing visual separators.
    #[error("empty number")]
    Empty,
    /// A character ISUP cannot carry.
    #[error("number {number:?} holds {found:?}, which ISUP address signals cannot carry")]
    InvalidCharacter {
        /// The number as given.
        number: String,
        /// The offending character.
        found: char,
    },
    /// More digits than an address may hold.
    #[error("number {number:?} has {length} digits, more than the {max} allowed")]
    TooLong {
        /// The number as given.
        number: String,
        /// Its length.
        length: usize,
        /// The limit.
        max: usize,
    },
}

/// E.164 numbers have at most 15 digits; national formats with prefixes stay below this.
const MAX_DIGITS: usize = 20;

/// Converts a SIP user part (`+4930123`, `030123`, `990017`) to an ISUP address.
///
/// Visual separators of RFC 3966 (`-`, `.`, `(`, `)`) are dropped; URI parameters after `;` are ignored.
pub fn isup_address_from_sip(
    user: &str,
    format: &NumberFormat,
) -> Result<IsupAddress, NumberError> {
    let user = user.split(';').next().unwrap_or_default();
    let (international, rest) = match user.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, user),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '-' | '.' | '(' | ')' => {}
            other => {
                return Err(NumberError::InvalidCharacter {
                    number: user.to_string(),
                    found: other,
                })
            }
        }
    }
    if digits.is_empty() {
        return Err(NumberError::Empty);
    }
    if digits.len() > MAX_DIGITS {
        return Err(NumberError::TooLong {
            number: user.to_string(),
            length: digits.len(),
            max: MAX_DIGITS,
        });
    }
    if international {
        return Ok(IsupAddress {
            nature_of_address: nature_of_address::INTERNATIONAL,
            digits,
        });
    }
    let national = match digits.strip_prefix(format.national_prefix.as_str()) {
        Some(stripped) if !format.national_prefix.is_empty() && !stripped.is_empty() => {
            stripped.to_string()
        }
        _ => digits,
    };
    if format.plain_numbers_international {
        let international = format!("{}{national}", format.country_code);
        if international.len() > MAX_DIGITS {
            return Err(NumberError::TooLong {
                number: user.to_string(),
                length: international.len(),
                max: MAX_DIGITS,
            });
        }
        return Ok(IsupAddress {
            nature_of_address: nature_of_address::INTERNATIONAL,
            digits: international,
        });
    }
    Ok(IsupAddress {
        nature_of_address: nature_of_address::NATIONAL,
        digits: national,
    })
}

/// Converts an ISUP address to a SIP user part: international form (`+CCNSN`) where the nature of address allows,
/// as RFC 3398 §8.1 prefers, the digits as they are otherwise.
pub fn sip_user_from_isup(address: &IsupAddress, format: &NumberFormat) -> String {
    match address.nature_of_address {
        nature_of_address::INTERNATIONAL => format!("+{}", address.digits),
        nature_of_address::NATIONAL if !format.country_code.is_empty() => {
            format!("+{}{}", format.country_code, address.digits)
        }
        _ => address.digits.clone(),
    }
}

/// Whether a called address leaves the trunk's country (forward call indicators, national/international).
pub fn is_international(address: &IsupAddress, format: &NumberFormat) -> bool {
    address.nature_of_address == nature_of_address::INTERNATIONAL
        && !address.digits.starts_with(format.country_code.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn germany(plain_numbers_international: bool) -> NumberFormat {
        NumberFormat {
            country_code: "49".into(),
            national_prefix: "0".into(),
            plain_numbers_international,
        }
    }

    #[test]
    fn international_and_national_numbers() {
        let f = germany(false);
        assert_eq!(
            isup_address_from_sip("+49-30-123456", &f).unwrap(),
            IsupAddress {
                nature_of_address: 4,
                digits: "4930123456".into()
            }
        );
        assert_eq!(
            isup_address_from_sip("030123456", &germany(true)).unwrap(),
            IsupAddress {
                nature_of_address: 4,
                digits: "4930123456".into()
            }
        );
        assert_eq!(
            isup_address_from_sip("030123456;phone-context=x", &f).unwrap(),
            IsupAddress {
                nature_of_address: 3,
                digits: "30123456".into()
            }
        );
        assert_eq!(
            isup_address_from_sip("990017", &f).unwrap().digits,
            "990017"
        );
        assert!(is_international(
            &isup_address_from_sip("+15551234", &f).unwrap(),
            &f
        ));
        assert!(!is_international(
            &isup_address_from_sip("+4930", &f).unwrap(),
            &f
        ));
    }

    #[test]
    fn bad_numbers_are_errors() {
        let f = germany(false);
        assert_eq!(isup_address_from_sip("+", &f), Err(NumberError::Empty));
        assert!(matches!(
            isup_address_from_sip("alice", &f),
            Err(NumberError::InvalidCharacter { found: 'a', .. })
        ));
        assert!(matches!(
            isup_address_from_sip(&"1".repeat(30), &f),
            Err(NumberError::TooLong { .. })
        ));
    }

    #[test]
    fn isup_to_sip_prefers_international_form() {
        let f = germany(false);
        let national = IsupAddress {
            nature_of_address: 3,
            digits: "30123".into(),
        };
        assert_eq!(sip_user_from_isup(&national, &f), "+4930123");
        let international = IsupAddress {
            nature_of_address: 4,
            digits: "15551234".into(),
        };
        assert_eq!(sip_user_from_isup(&international, &f), "+15551234");
        let unknown = IsupAddress {
            nature_of_address: 2,
            digits: "112".into(),
        };
        assert_eq!(sip_user_from_isup(&unknown, &f), "112");
    }
}
