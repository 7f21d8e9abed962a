//! `tandem decode`: an M3UA or ISUP message given as hex, printed as an indented breakdown or as JSON, the way an
//! engineer reads a message copied out of a trace.

use std::io::Read;
use std::process::ExitCode;

use serde_json::{json, Map, Value};

use crate::isup::IsupMessage;
use crate::sigtran::m3ua::M3uaMessage;

/// Runs the command: `hex` pieces are joined (`-` reads stdin). Errors name what failed to decode.
pub fn run(m3ua: bool, isup: bool, as_json: bool, hex: &[String]) -> Result<ExitCode, String> {
    let text = if hex.len() == 1 && hex[0] == "-" {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        input
    } else {
        hex.join(" ")
    };
    let bytes = crate::hex::decode(&text).map_err(|e| format!("bad hex: {e}"))?;
    // An M3UA common header starts with version 1 and a reserved zero octet; an ISUP message starts with a CIC.
    let is_m3ua = m3ua || (!isup && bytes.len() >= 8 && bytes[0] == 1 && bytes[1] == 0);
    let value = if is_m3ua {
        decode_m3ua(&bytes)?
    } else {
        json!({ "isup": decode_isup(&bytes)? })
    };
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?
        );
    } else {
        print_tree(&value, 0);
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON view of an M3UA message and, for DATA carrying ISUP, of the ISUP message inside.
pub fn decode_m3ua(bytes: &[u8]) -> Result<Value, String> {
    let message = M3uaMessage::decode(bytes).map_err(|e| format!("M3UA: {e}"))?;
    let mut m3ua = Map::new();
    m3ua.insert(
        "class".into(),
        json!(format!("{:?}", message.message_type.class()).to_uppercase()),
    );
    m3ua.insert("type".into(), json!(message.message_type.name()));
    if let Some(rc) = message.routing_context() {
        m3ua.insert("routing_context".into(), json!(rc));
    }
    if let Some(na) = message.network_appearance() {
        m3ua.insert("network_appearance".into(), json!(na));
    }
    let mut out = Map::new();
    if let Some(data) = message.protocol_data() {
        for (key, value) in [
            ("opc", json!(data.opc)),
            ("dpc", json!(data.dpc)),
            ("si", json!(data.si)),
            ("ni", json!(data.ni)),
            ("mp", json!(data.mp)),
            ("sls", json!(data.sls)),
        ] {
            m3ua.insert(key.into(), value);
        }
        if data.si == 5 {
            out.insert("isup".into(), decode_isup(&data.user_data)?);
        } else {
            m3ua.insert(
                "user_data".into(),
                json!(crate::hex::encode(&data.user_data)),
            );
        }
    }
    out.insert("m3ua".into(), Value::Object(m3ua));
    Ok(Value::Object(out))
}

/// The JSON view of an ISUP message: CIC, type and the parameters tandem knows by name (others as hex).
pub fn decode_isup(bytes: &[u8]) -> Result<Value, String> {
    let message = IsupMessage::decode(bytes).map_err(|e| format!("ISUP: {e}"))?;
    let mut params = Map::new();
    if let Some(Ok(p)) = message.called_party_number() {
        params.insert(
            "called_party_number".into(),
            json!({"nature_of_address": p.nature_of_address, "numbering_plan": p.numbering_plan,
                   "inn": u8::from(p.internal_network_number_not_allowed), "digits": p.digits.to_string()}),
        );
    }
    if let Some(Ok(p)) = message.calling_party_number() {
        params.insert(
            "calling_party_number".into(),
            json!({"nature_of_address": p.nature_of_address, "numbering_plan": p.numbering_plan,
                   "presentation": p.address_presentation_restricted, "screening": p.screening,
                   "digits": p.digits.to_string()}),
        );
    }
    if let Some(Ok(p)) = message.cause_indicators() {
        params.insert(
            "cause_indicators".into(),
            json!({"location": p.location, "coding_standard": p.coding_standard, "value": p.cause_value}),
        );
    }
    if let Some(Ok(p)) = message.event_information() {
        params.insert(
            "event_information".into(),
            json!({"event_indicator": p.event_indicator, "presentation_restricted": p.presentation_restricted}),
        );
    }
    if let Some(Ok(p)) = message.forward_call_indicators() {
        params.insert(
            "forward_call_indicators".into(),
            json!({"national_international_call": u8::from(p.international_call), "end_to_end_method": p.end_to_end_method,
                   "interworking": u8::from(p.interworking), "end_to_end_information": u8::from(p.end_to_end_information),
                   "isdn_user_part": u8::from(p.isdn_user_part), "isdn_user_part_preference": p.isdn_user_part_preference,
                   "isdn_access": u8::from(p.isdn_access), "sccp_method": p.sccp_method}),
        );
    }
    if let Some(Ok(p)) = message.backward_call_indicators() {
        params.insert(
            "backward_call_indicators".into(),
            json!({"charge": p.charge, "called_party_status": p.called_party_status,
                   "called_party_category": p.called_party_category, "end_to_end_method": p.end_to_end_method,
                   "interworking": u8::from(p.interworking), "isdn_user_part": u8::from(p.isdn_user_part),
                   "isdn_access": u8::from(p.isdn_access), "echo_control_device": u8::from(p.echo_control_device)}),
        );
    }
    if let Some(Ok(p)) = message.nature_of_connection_indicators() {
        params.insert(
            "nature_of_connection_indicators".into(),
            json!({"satellite": p.satellite, "continuity_check": p.continuity_check,
                   "echo_control_device": u8::from(p.echo_control_device)}),
        );
    }
    if let Some(Ok(p)) = message.calling_partys_category() {
        params.insert("calling_partys_category".into(), json!(p.0));
    }
    if let Some(Ok(p)) = message.transmission_medium_requirement() {
        params.insert("transmission_medium_requirement".into(), json!(p.0));
    }
    for optional in message.optional_parameters() {
        let key = format!("parameter_{:#04x}", optional.code.0);
        params
            .entry(key)
            .or_insert_with(|| json!(crate::hex::encode(&optional.value)));
    }
    Ok(json!({
        "cic": message.cic.0,
        "type": message.message_type.abbreviation(),
        "params": Value::Object(params),
    }))
}

fn print_tree(value: &Value, depth: usize) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::Object(_) => {
                        println!("{indent}{key}:");
                        print_tree(value, depth + 1);
                    }
                    other => println!("{indent}{key}: {}", scalar(other)),
                }
            }
        }
        other => println!("{indent}{}", scalar(other)),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
