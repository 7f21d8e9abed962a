//! The IAM tandem sends for a SIP-originated call (RFC 3398 §7.1.1), and the numbers it reads from a received
//! IAM. Indicator values come from the trunk's interworking profile in `mappings/`; an INVITE that carries an
//! encapsulated IAM (SIP-I/SIP-T, RFC 3204) gives the base, with the numbers the dialplan chose written over it.

use super::numbers::{nature_of_address, IsupAddress};
use super::tables::{CallScope, IamProfile};
use crate::config::PortedNumberFormat;
use crate::isup::codec::{
    CalledDirectoryNumber, CalledPartyNumber, CallingPartyNumber, CallingPartysCategory, Digits,
    ForwardCallIndicators, Iam, NatureOfConnectionIndicators, NumberPortabilityForwardInformation,
    OptionalParameter, Parameter, TransmissionMediumRequirement,
};
use crate::isup::IsupMessage;

/// What goes into an IAM besides the profile.
pub(crate) struct IamRequest<'a> {
    /// Called party (after the dialplan's rewrites).
    pub called: &'a IsupAddress,
    /// Calling party, when the SIP side gave a usable one.
    pub calling: Option<&'a IsupAddress>,
    /// The caller asked for privacy (Privacy: id, or an anonymous From).
    pub restricted: bool,
    /// The call leaves the trunk's country.
    pub international: bool,
    /// An encapsulated ISUP body from the INVITE.
    pub encapsulated: Option<&'a [u8]>,
    /// The called number is the encapsulated IAM's, unchanged by routing: send its parameter as it came.
    pub keep_encapsulated_called: bool,
    /// Likewise for the calling number.
    pub keep_encapsulated_calling: bool,
    /// Set the ported number translation indicator (Q.763 §3.23 bit M): the called number was translated by
    /// a number-portability lookup.
    pub ported_number_translation: bool,
    /// The called number is a ported subscriber's routing number: the dialled number and how the trunk wants
    /// the two carried.
    pub ported: Option<PortedNumber<'a>>,
}

/// The dialled number of a ported subscriber and the trunk's `ported_number_format`.
pub(crate) struct PortedNumber<'a> {
    /// The number the caller dialled, in the trunk's number format.
    pub dialled: &'a IsupAddress,
    /// How the IAM carries the routing number and the dialled number.
    pub format: PortedNumberFormat,
    /// The trunk's country code, to write both numbers as national numbers for `rn_prefix`.
    pub country_code: &'a str,
}

/// The national significant number of `address`: its digits when national, without the country code when
/// international in `country_code`; `None` otherwise.
fn national_digits<'a>(address: &'a IsupAddress, country_code: &str) -> Option<&'a str> {
    match address.nature_of_address {
        nature_of_address::NATIONAL => Some(address.digits.as_str()),
        nature_of_address::INTERNATIONAL if !country_code.is_empty() => {
            address.digits.strip_prefix(country_code)
        }
        _ => None,
    }
}

/// Optional parameters an IAM for a ported number adds, and which it replaces in an encapsulated IAM.
const PORTED_PARAMETERS: [crate::isup::codec::ParameterCode; 2] = [
    CalledDirectoryNumber::CODE,
    NumberPortabilityForwardInformation::CODE,
];

/// The called party number's address and the extra optional parameters for the ported-number format
/// (Q.769.1): the routing number alone, the routing number prefixed to the dialled number, or the routing
/// number with the dialled number in the called directory number and "query done, ported" in the number
/// portability forward information.
fn ported_addressing(
    profile: &IamProfile,
    request: &IamRequest<'_>,
) -> (IsupAddress, Vec<OptionalParameter>) {
    let routing = request.called.clone();
    let Some(ported) = &request.ported else {
        return (routing, Vec::new());
    };
    match ported.format {
        PortedNumberFormat::RnOnly => (routing, Vec::new()),
        PortedNumberFormat::RnPrefix => {
            // Concatenated addressing is national: prefix + national significant number. Numbers of another
            // country are joined as they are, with the dialled number's nature of address.
            let national = national_digits(&routing, ported.country_code)
                .zip(national_digits(ported.dialled, ported.country_code));
            let address = match national {
                Some((prefix, dialled)) => IsupAddress {
                    nature_of_address: nature_of_address::NATIONAL,
                    digits: format!("{prefix}{dialled}"),
                },
                None => IsupAddress {
                    nature_of_address: ported.dialled.nature_of_address,
                    digits: format!("{}{}", routing.digits, ported.dialled.digits),
                },
            };
            (address, Vec::new())
        }
        PortedNumberFormat::Cdn => {
            let directory = CalledDirectoryNumber(CalledPartyNumber {
                nature_of_address: ported.dialled.nature_of_address,
                internal_network_number_not_allowed: false,
                numbering_plan: profile.numbering_plan_indicator,
                spare: 0,
                digits: digits(&ported.dialled.digits),
            });
            let portability = NumberPortabilityForwardInformation {
                number_portability_status: NumberPortabilityForwardInformation::PORTED,
                spare: 0,
                extension: 1,
            };
            let parameters = vec![
                OptionalParameter {
                    code: CalledDirectoryNumber::CODE,
                    value: directory.to_bytes(),
                },
                OptionalParameter {
                    code: NumberPortabilityForwardInformation::CODE,
                    value: portability.to_bytes(),
                },
            ];
            (routing, parameters)
        }
    }
}

/// Builds the IAM for a SIP-originated call.
pub(crate) fn build_iam(profile: &IamProfile, request: &IamRequest<'_>) -> Iam {
    let base = request
        .encapsulated
        .and_then(|bytes| IsupMessage::decode(bytes).ok())
        .and_then(|message| message.to_iam().ok());
    let (called, ported_parameters) = ported_addressing(profile, request);
    let called_party_number = CalledPartyNumber {
        nature_of_address: called.nature_of_address,
        internal_network_number_not_allowed: false,
        numbering_plan: profile.numbering_plan_indicator,
        spare: 0,
        digits: digits(&called.digits),
    };
    let calling_party_number = request.calling.map(|calling| CallingPartyNumber {
        nature_of_address: calling.nature_of_address,
        number_incomplete: false,
        numbering_plan: profile.numbering_plan_indicator,
        address_presentation_restricted: if request.restricted {
            profile.anonymous_presentation
        } else {
            profile.calling_presentation
        },
        screening: profile.calling_screening_indicator,
        digits: digits(&calling.digits),
    });
    if let Some(mut iam) = base {
        // SIP-I: keep the originating exchange's indicators and optional parameters; numbers the dialplan
        // rewrote replace the encapsulated ones.
        if !request.keep_encapsulated_called {
            iam.called_party_number = called_party_number;
        }
        if !request.keep_encapsulated_calling && calling_party_number.is_some() {
            iam.calling_party_number = calling_party_number;
        }
        iam.forward_call_indicators.ported_number_translation |= request.ported_number_translation;
        if !ported_parameters.is_empty() {
            iam.optional
                .retain(|parameter| !PORTED_PARAMETERS.contains(&parameter.code));
            iam.optional.extend(ported_parameters);
        }
        return iam;
    }
    let international_call = match profile.national_international_call {
        CallScope::National => false,
        CallScope::International => true,
        CallScope::PerNumber => request.international,
    };
    Iam {
        nature_of_connection_indicators: NatureOfConnectionIndicators {
            satellite: profile.satellite_indicator,
            continuity_check: profile.continuity_check_indicator,
            echo_control_device: profile.echo_control_device_indicator != 0,
            spare: 0,
        },
        forward_call_indicators: ForwardCallIndicators {
            international_call,
            end_to_end_method: profile.end_to_end_method_indicator,
            interworking: profile.interworking_indicator != 0,
            end_to_end_information: profile.end_to_end_information_indicator != 0,
            isdn_user_part: profile.isdn_user_part_indicator != 0,
            isdn_user_part_preference: profile.isdn_user_part_preference_indicator,
            isdn_access: profile.isdn_access_indicator != 0,
            sccp_method: profile.sccp_method_indicator,
            ported_number_translation: request.ported_number_translation,
            national_use: 0,
        },
        calling_partys_category: CallingPartysCategory(profile.calling_party_category),
        transmission_medium_requirement: TransmissionMediumRequirement(
            profile.transmission_medium_requirement,
        ),
        called_party_number,
        calling_party_number,
        optional: ported_parameters,
    }
}

/// Digits already checked to be `0`-`9` by the number conversion; anything else is skipped rather than sent.
fn digits(text: &str) -> Digits {
    Digits::from_signals(text.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0'))
}

/// The called party of a received IAM, when it has a readable one made of decimal digits.
pub(crate) fn called_address(iam: &IsupMessage) -> Option<IsupAddress> {
    let called = iam.called_party_number()?.ok()?;
    Some(IsupAddress {
        nature_of_address: called.nature_of_address,
        digits: decimal(&called.digits)?,
    })
}

/// The calling party of a received IAM and whether its presentation is restricted.
pub(crate) fn calling_address(iam: &IsupMessage) -> Option<(IsupAddress, bool)> {
    let calling = iam.calling_party_number()?.ok()?;
    let address = IsupAddress {
        nature_of_address: calling.nature_of_address,
        digits: decimal(&calling.digits)?,
    };
    Some((address, calling.address_presentation_restricted == 1))
}

/// The decimal digits of an address, dropping a trailing ST (end of pulsing); `None` if other signals remain.
fn decimal(digits: &Digits) -> Option<String> {
    let mut text = String::with_capacity(digits.len());
    for &signal in digits.signals() {
        match signal {
            0..=9 => text.push(char::from(b'0' + signal)),
            0x0f => break,
            _ => return None,
        }
    }
    if text.is_empty() {
        None
    } else {
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interwork::tables::MappingTables;
    use crate::isup::codec::Cic;

    fn address(nature_of_address: u8, digits: &str) -> IsupAddress {
        IsupAddress {
            nature_of_address,
            digits: digits.into(),
        }
    }

    #[test]
    fn cdn_replaces_the_ported_fields_of_an_encapsulated_iam() {
        let tables = MappingTables::embedded("rfc3398").expect("embedded tables");
        let profile = tables.iam_profile();
        let dialled = address(nature_of_address::NATIONAL, "30123456");
        let routing = address(nature_of_address::INTERNATIONAL, "4915199");
        let plain = IamRequest {
            called: &dialled,
            calling: None,
            restricted: false,
            international: false,
            encapsulated: None,
            keep_encapsulated_called: false,
            keep_encapsulated_calling: false,
            ported_number_translation: false,
            ported: None,
        };
        // The originating exchange's IAM already says "query done, not ported" for another directory number.
        let mut original = build_iam(profile, &plain);
        original.optional = vec![
            OptionalParameter {
                code: CalledDirectoryNumber::CODE,
                value: vec![0x03, 0x10, 0x99],
            },
            OptionalParameter {
                code: NumberPortabilityForwardInformation::CODE,
                value: vec![0x82],
            },
        ];
        let encapsulated = IsupMessage::iam(Cic(1), original).encode();
        let iam = build_iam(
            profile,
            &IamRequest {
                called: &routing,
                encapsulated: Some(&encapsulated),
                ported_number_translation: true,
                ported: Some(PortedNumber {
                    dialled: &dialled,
                    format: PortedNumberFormat::Cdn,
                    country_code: "49",
                }),
                ..plain
            },
        );
        assert_eq!(iam.called_party_number.digits.to_string(), "4915199");
        assert!(iam.forward_call_indicators.ported_number_translation);
        let ported: Vec<(u8, Vec<u8>)> = iam
            .optional
            .iter()
            .filter(|p| PORTED_PARAMETERS.contains(&p.code))
            .map(|p| (p.code.0, p.value.clone()))
            .collect();
        // Once each, with the new values: national 30123456 (even, plan 1) and 0x83.
        assert_eq!(
            ported,
            [
                (0x7D, vec![0x03, 0x10, 0x03, 0x21, 0x43, 0x65]),
                (0x8D, vec![0x83])
            ]
        );
    }

    #[test]
    fn rn_prefix_joins_numbers_of_another_country_as_they_are() {
        let tables = MappingTables::embedded("rfc3398").expect("embedded tables");
        let dialled = address(nature_of_address::INTERNATIONAL, "33123456789");
        let routing = address(nature_of_address::INTERNATIONAL, "4915199");
        let request = IamRequest {
            called: &routing,
            calling: None,
            restricted: false,
            international: true,
            encapsulated: None,
            keep_encapsulated_called: false,
            keep_encapsulated_calling: false,
            ported_number_translation: true,
            ported: Some(PortedNumber {
                dialled: &dialled,
                format: PortedNumberFormat::RnPrefix,
                country_code: "49",
            }),
        };
        let iam = build_iam(tables.iam_profile(), &request);
        assert_eq!(
            iam.called_party_number.nature_of_address,
            nature_of_address::INTERNATIONAL
        );
        assert_eq!(
            iam.called_party_number.digits.to_string(),
            "491519933123456789"
        );
        assert!(iam.optional.is_empty());
    }
}
