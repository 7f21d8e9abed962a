//! The JSON view of one ISUP message (Q.763): CIC, message type abbreviation and every parameter
//! under its Table 5 name in snake_case, typed where tandem knows the parameter, hex otherwise.

use serde_json::{json, Map, Value};

use crate::isup::codec::{
    AccessDeliveryInformation, AutomaticCongestionLevel, CallDiversionInformation,
    CircuitGroupSupervisionMessageType, ContinuityIndicators, EchoControlInformation,
    FacilityIndicator, GenericNotificationIndicator, HopCounter, InformationIndicators,
    InformationRequestIndicators, NumberPortabilityForwardInformation,
    OptionalBackwardCallIndicators, OptionalForwardCallIndicators, RedirectionInformation,
    SuspendResumeIndicators, TransmissionMediumUsed, UserToUserIndicators,
};
use crate::isup::codec::{
    AccessTransport, BackwardCallIndicators, BitFields, CalledDirectoryNumber, CalledPartyNumber,
    CallingPartyNumber, CallingPartysCategory, CauseIndicators, ConnectedNumber, EventInformation,
    ForwardCallIndicators, GenericNumber, IsupView, LocationNumber,
    MessageCompatibilityInformation, NatureOfConnectionIndicators, OriginalCalledNumber, Parameter,
    ParameterCode as P, ParameterCompatibilityInformation, RangeAndStatus, RedirectingNumber,
    RedirectionNumber, SubsequentNumber, TransmissionMediumRequirement, UserServiceInformation,
    Variant,
};

/// The JSON view of an ISUP message: `{"cic", "type", "params": {...}}`.
pub fn decode_isup(bytes: &[u8], variant: Variant) -> Result<Value, String> {
    let view = IsupView::decode(bytes, variant).map_err(|e| format!("ISUP: {e}"))?;
    let mut params = Map::new();
    let mut add = |code: P, contents: &[u8]| {
        let key = code
            .name()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("parameter_{:#04x}", code.0));
        let value = parameter_json(code, contents);
        match params.get_mut(&key) {
            // A parameter that occurs more than once (generic number, …) becomes a list.
            Some(Value::Array(list)) => list.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                params.insert(key, value);
            }
        }
    };
    if let Some(layout) = view.layout() {
        let mut offset = 0;
        let fixed = view.fixed();
        for (code, length) in layout.fixed {
            add(
                *code,
                fixed.get(offset..offset + length).unwrap_or_default(),
            );
            offset += length;
        }
        for (index, code) in layout.variable.iter().enumerate() {
            add(*code, view.variable(index).unwrap_or_default());
        }
        for (code, contents) in view.optional_parameters() {
            add(code, contents);
        }
    }
    let mut message = Map::new();
    message.insert("cic".into(), json!(view.cic().0));
    message.insert("type".into(), json!(view.message_type().abbreviation()));
    message.insert("type_code".into(), json!(view.message_type().code()));
    message.insert("params".into(), Value::Object(params));
    if !view.trailing().is_empty() {
        let key = if view.layout().is_some() {
            "trailing"
        } else {
            "raw"
        };
        message.insert(key.into(), json!(crate::hex::encode(view.trailing())));
    }
    Ok(Value::Object(message))
}

fn hex(bytes: &[u8]) -> Value {
    json!(crate::hex::encode(bytes))
}

fn bits<B: BitFields>(contents: &[u8]) -> Option<Value> {
    let value = B::decode(contents).ok()?;
    Some(Value::Object(
        value
            .fields()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), json!(value)))
            .collect(),
    ))
}

fn typed<T: Parameter>(contents: &[u8], to_json: impl Fn(T) -> Value) -> Option<Value> {
    T::decode(contents).ok().map(to_json)
}

fn calling_like(p: &CallingPartyNumber) -> Value {
    json!({"nature_of_address": p.nature_of_address, "ni": u8::from(p.number_incomplete),
           "numbering_plan": p.numbering_plan,
           "address_presentation_restricted": p.address_presentation_restricted,
           "screening": p.screening, "digits": p.digits.to_string()})
}

/// A called party number, or a parameter laid out like one (called directory number, Q.763 §3.86).
fn called_like(p: &CalledPartyNumber) -> Value {
    json!({"nature_of_address": p.nature_of_address,
           "inn": u8::from(p.internal_network_number_not_allowed),
           "numbering_plan": p.numbering_plan, "digits": p.digits.to_string()})
}

/// The typed JSON of one parameter, or its contents in hex when the parameter is not typed or
/// does not decode.
fn parameter_json(code: P, c: &[u8]) -> Value {
    let value = match code {
        P::CALLED_PARTY_NUMBER => typed(c, |p: CalledPartyNumber| called_like(&p)),
        P::CALLED_DIRECTORY_NUMBER => typed(c, |CalledDirectoryNumber(p)| called_like(&p)),
        P::REDIRECTION_NUMBER => typed(c, |p: RedirectionNumber| {
            json!({"nature_of_address": p.nature_of_address,
                   "inn": u8::from(p.internal_network_number_not_allowed),
                   "numbering_plan": p.numbering_plan, "digits": p.digits.to_string()})
        }),
        P::CALLING_PARTY_NUMBER => typed(c, |p: CallingPartyNumber| calling_like(&p)),
        P::GENERIC_NUMBER => typed(c, |p: GenericNumber| {
            let mut value = calling_like(&p.number);
            if let Some(map) = value.as_object_mut() {
                map.insert("number_qualifier".into(), json!(p.number_qualifier));
            }
            value
        }),
        P::CONNECTED_NUMBER => typed(c, |p: ConnectedNumber| {
            json!({"nature_of_address": p.nature_of_address, "numbering_plan": p.numbering_plan,
                   "address_presentation_restricted": p.address_presentation_restricted,
                   "screening": p.screening, "digits": p.digits.to_string()})
        }),
        P::LOCATION_NUMBER => typed(c, |p: LocationNumber| {
            json!({"nature_of_address": p.nature_of_address,
                   "inn": u8::from(p.internal_network_number_not_allowed),
                   "numbering_plan": p.numbering_plan,
                   "address_presentation_restricted": p.address_presentation_restricted,
                   "screening": p.screening, "digits": p.digits.to_string()})
        }),
        P::ORIGINAL_CALLED_NUMBER => typed(c, |p: OriginalCalledNumber| {
            json!({"nature_of_address": p.nature_of_address, "numbering_plan": p.numbering_plan,
                   "address_presentation_restricted": p.address_presentation_restricted,
                   "digits": p.digits.to_string()})
        }),
        P::REDIRECTING_NUMBER => typed(c, |p: RedirectingNumber| {
            json!({"nature_of_address": p.nature_of_address, "numbering_plan": p.numbering_plan,
                   "address_presentation_restricted": p.address_presentation_restricted,
                   "digits": p.digits.to_string()})
        }),
        P::SUBSEQUENT_NUMBER => typed(
            c,
            |p: SubsequentNumber| json!({"digits": p.digits.to_string()}),
        ),
        P::CAUSE_INDICATORS => typed(c, |p: CauseIndicators| {
            let mut value = json!({"location": p.location, "coding_standard": p.coding_standard,
                                   "value": p.cause_value});
            if let Some(map) = value.as_object_mut() {
                if let Some(recommendation) = p.recommendation {
                    map.insert("recommendation".into(), json!(recommendation));
                }
                if !p.diagnostics.is_empty() {
                    map.insert("diagnostics".into(), hex(&p.diagnostics));
                }
            }
            value
        }),
        P::EVENT_INFORMATION => typed(c, |p: EventInformation| {
            json!({"event_indicator": p.event_indicator,
                   "event_presentation_restricted": u8::from(p.presentation_restricted)})
        }),
        P::RANGE_AND_STATUS => typed(
            c,
            |p: RangeAndStatus| json!({"range": p.range, "status": crate::hex::encode(&p.status)}),
        ),
        P::NATURE_OF_CONNECTION_INDICATORS => typed(c, |p: NatureOfConnectionIndicators| {
            json!({"satellite": p.satellite, "continuity_check": p.continuity_check,
                   "echo_control_device": u8::from(p.echo_control_device)})
        }),
        P::FORWARD_CALL_INDICATORS => typed(c, |p: ForwardCallIndicators| {
            json!({"national_international_call": u8::from(p.international_call),
                   "end_to_end_method": p.end_to_end_method,
                   "interworking": u8::from(p.interworking),
                   "end_to_end_information": u8::from(p.end_to_end_information),
                   "isdn_user_part": u8::from(p.isdn_user_part),
                   "isdn_user_part_preference": p.isdn_user_part_preference,
                   "isdn_access": u8::from(p.isdn_access), "sccp_method": p.sccp_method,
                   "ported_number_translation": u8::from(p.ported_number_translation)})
        }),
        P::BACKWARD_CALL_INDICATORS => typed(c, |p: BackwardCallIndicators| {
            json!({"charge": p.charge, "called_partys_status": p.called_party_status,
                   "called_partys_category": p.called_party_category,
                   "end_to_end_method": p.end_to_end_method,
                   "interworking": u8::from(p.interworking),
                   "end_to_end_information": u8::from(p.end_to_end_information),
                   "isdn_user_part": u8::from(p.isdn_user_part), "holding": u8::from(p.holding),
                   "isdn_access": u8::from(p.isdn_access),
                   "echo_control_device": u8::from(p.echo_control_device),
                   "sccp_method": p.sccp_method})
        }),
        P::CALLING_PARTYS_CATEGORY => typed(c, |p: CallingPartysCategory| json!(p.0)),
        P::TRANSMISSION_MEDIUM_REQUIREMENT => {
            typed(c, |p: TransmissionMediumRequirement| json!(p.0))
        }
        P::USER_SERVICE_INFORMATION => typed(c, |p: UserServiceInformation| {
            json!({"coding_standard": p.coding_standard,
                   "information_transfer_capability": p.information_transfer_capability,
                   "transfer_mode": p.transfer_mode,
                   "information_transfer_rate": p.information_transfer_rate,
                   "further_octets": crate::hex::encode(&p.further_octets)})
        }),
        P::ACCESS_TRANSPORT => typed(c, |p: AccessTransport| {
            let elements: Vec<Value> = p
                .information_elements()
                .into_iter()
                .map(|(id, contents)| json!({"identifier": id, "contents": crate::hex::encode(contents)}))
                .collect();
            json!({"information_elements": elements})
        }),
        P::MESSAGE_COMPATIBILITY_INFORMATION => typed(c, |p: MessageCompatibilityInformation| {
            let i = &p.instruction_indicators;
            json!({"transit_at_intermediate_exchange": i.transit_at_intermediate_exchange(),
                   "release_call": i.release_call(), "send_notification": i.send_notification(),
                   "discard_message": i.discard_message(),
                   "pass_on_not_possible": p.pass_on_not_possible(),
                   "instruction_indicators": crate::hex::encode(&i.0)})
        }),
        P::PARAMETER_COMPATIBILITY_INFORMATION => {
            typed(c, |p: ParameterCompatibilityInformation| {
                let entries: Vec<Value> = p
                    .parameters
                    .iter()
                    .map(|e| {
                        let i = &e.instruction_indicators;
                        json!({"parameter": P(e.parameter).name().map(str::to_owned)
                                   .unwrap_or_else(|| format!("{:#04x}", e.parameter)),
                               "transit_at_intermediate_exchange": i.transit_at_intermediate_exchange(),
                               "release_call": i.release_call(),
                               "send_notification": i.send_notification(),
                               "discard_message": i.discard_message(),
                               "discard_parameter": e.discard_parameter(),
                               "pass_on_not_possible": e.pass_on_not_possible(),
                               "instruction_indicators": crate::hex::encode(&i.0)})
                    })
                    .collect();
                Value::Array(entries)
            })
        }
        P::OPTIONAL_FORWARD_CALL_INDICATORS => bits::<OptionalForwardCallIndicators>(c),
        P::OPTIONAL_BACKWARD_CALL_INDICATORS => bits::<OptionalBackwardCallIndicators>(c),
        P::TRANSMISSION_MEDIUM_USED => bits::<TransmissionMediumUsed>(c),
        P::REDIRECTION_INFORMATION => bits::<RedirectionInformation>(c),
        P::HOP_COUNTER => bits::<HopCounter>(c),
        P::AUTOMATIC_CONGESTION_LEVEL => bits::<AutomaticCongestionLevel>(c),
        P::SUSPEND_RESUME_INDICATORS => bits::<SuspendResumeIndicators>(c),
        P::CIRCUIT_GROUP_SUPERVISION_MESSAGE_TYPE => bits::<CircuitGroupSupervisionMessageType>(c),
        P::CONTINUITY_INDICATORS => bits::<ContinuityIndicators>(c),
        P::GENERIC_NOTIFICATION_INDICATOR => bits::<GenericNotificationIndicator>(c),
        P::FACILITY_INDICATOR => bits::<FacilityIndicator>(c),
        P::INFORMATION_REQUEST_INDICATORS => bits::<InformationRequestIndicators>(c),
        P::INFORMATION_INDICATORS => bits::<InformationIndicators>(c),
        P::CALL_DIVERSION_INFORMATION => bits::<CallDiversionInformation>(c),
        P::ECHO_CONTROL_INFORMATION => bits::<EchoControlInformation>(c),
        P::USER_TO_USER_INDICATORS => bits::<UserToUserIndicators>(c),
        P::ACCESS_DELIVERY_INFORMATION => bits::<AccessDeliveryInformation>(c),
        P::NUMBER_PORTABILITY_FORWARD_INFORMATION => bits::<NumberPortabilityForwardInformation>(c),
        _ => None,
    };
    value.unwrap_or_else(|| hex(c))
}
