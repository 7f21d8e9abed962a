//! The JSON view of one M3UA message (RFC 4666): class, type and every parameter under its
//! RFC 4666 name in snake_case; the Protocol Data of a DATA message is flattened into
//! `opc`/`dpc`/`si`/`ni`/`mp`/`sls`, and ISUP user data (SI 5) is decoded beside it.

use serde_json::{json, Map, Value};

use super::isup::decode_isup;
use crate::isup::Variant;
use crate::sigtran::m3ua::{M3uaMessage, MessageClass, Parameter, PointCodeEntry};

fn class_name(class: MessageClass) -> &'static str {
    match class {
        MessageClass::Management => "MGMT",
        MessageClass::Transfer => "TRANSFER",
        MessageClass::SignallingNetworkManagement => "SSNM",
        MessageClass::AspStateMaintenance => "ASPSM",
        MessageClass::AspTrafficMaintenance => "ASPTM",
        MessageClass::RoutingKeyManagement => "RKM",
    }
}

fn point_codes(entries: &[PointCodeEntry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| json!({"mask": e.mask, "point_code": e.point_code}))
            .collect(),
    )
}

/// Adds `parameters` to `map` under their names; repeated parameters become lists.
fn parameters_json(parameters: &[Parameter], map: &mut Map<String, Value>) {
    for parameter in parameters {
        let (key, value): (String, Value) = match parameter {
            Parameter::InfoString(text) => ("info_string".into(), json!(text)),
            Parameter::RoutingContext(values) => ("routing_context".into(), json!(values)),
            Parameter::DiagnosticInformation(bytes) => (
                "diagnostic_information".into(),
                json!(crate::hex::encode(bytes)),
            ),
            Parameter::HeartbeatData(bytes) => {
                ("heartbeat_data".into(), json!(crate::hex::encode(bytes)))
            }
            Parameter::TrafficModeType(v) => ("traffic_mode_type".into(), json!(v)),
            Parameter::ErrorCode(v) => ("error_code".into(), json!(v)),
            Parameter::Status {
                status_type,
                status_info,
            } => (
                "status".into(),
                json!({"status_type": status_type, "status_information": status_info}),
            ),
            Parameter::AspIdentifier(v) => ("asp_identifier".into(), json!(v)),
            Parameter::AffectedPointCode(entries) => {
                ("affected_point_code".into(), point_codes(entries))
            }
            Parameter::CorrelationId(v) => ("correlation_id".into(), json!(v)),
            Parameter::NetworkAppearance(v) => ("network_appearance".into(), json!(v)),
            Parameter::UserCause { cause, user } => (
                "user_cause".into(),
                json!({"unavailability_cause": cause, "mtp3_user_identity": user}),
            ),
            Parameter::CongestionIndications(v) => ("congestion_indications".into(), json!(v)),
            Parameter::ConcernedDestination(v) => ("concerned_destination".into(), json!(v)),
            Parameter::RoutingKey(inner)
            | Parameter::RegistrationResult(inner)
            | Parameter::DeregistrationResult(inner) => {
                let name = match parameter {
                    Parameter::RoutingKey(_) => "routing_key",
                    Parameter::RegistrationResult(_) => "registration_result",
                    _ => "deregistration_result",
                };
                let mut nested = Map::new();
                parameters_json(inner, &mut nested);
                (name.into(), Value::Object(nested))
            }
            Parameter::LocalRoutingKeyIdentifier(v) => {
                ("local_routing_key_identifier".into(), json!(v))
            }
            Parameter::DestinationPointCode(entry) => (
                "destination_point_code".into(),
                json!({"mask": entry.mask, "point_code": entry.point_code}),
            ),
            Parameter::ServiceIndicators(values) => ("service_indicators".into(), json!(values)),
            Parameter::OriginatingPointCodeList(entries) => {
                ("originating_point_code_list".into(), point_codes(entries))
            }
            Parameter::ProtocolData(data) => {
                for (key, value) in [
                    ("opc", json!(data.opc)),
                    ("dpc", json!(data.dpc)),
                    ("si", json!(data.si)),
                    ("ni", json!(data.ni)),
                    ("mp", json!(data.mp)),
                    ("sls", json!(data.sls)),
                ] {
                    map.insert(key.into(), value);
                }
                if data.si != 5 {
                    map.insert(
                        "user_data".into(),
                        json!(crate::hex::encode(&data.user_data)),
                    );
                }
                continue;
            }
            Parameter::RegistrationStatus(v) => ("registration_status".into(), json!(v)),
            Parameter::DeregistrationStatus(v) => ("deregistration_status".into(), json!(v)),
            Parameter::Unknown { tag, value } => (
                format!("parameter_{tag:#06x}"),
                json!(crate::hex::encode(value)),
            ),
        };
        match map.get_mut(&key) {
            Some(Value::Array(list)) if !matches!(parameter, Parameter::RoutingContext(_)) => {
                list.push(value)
            }
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                map.insert(key, value);
            }
        }
    }
}

/// The JSON view of an M3UA message and, for DATA carrying ISUP (SI 5), of the ISUP message.
pub fn decode_m3ua(bytes: &[u8], variant: Variant) -> Result<Value, String> {
    let message = M3uaMessage::decode(bytes).map_err(|e| format!("M3UA: {e}"))?;
    let mut m3ua = Map::new();
    m3ua.insert(
        "class".into(),
        json!(class_name(message.message_type.class())),
    );
    m3ua.insert("type".into(), json!(message.message_type.name()));
    parameters_json(&message.parameters, &mut m3ua);
    let mut out = Map::new();
    out.insert("m3ua".into(), Value::Object(m3ua));
    if let Some(data) = message.protocol_data() {
        if data.si == 5 {
            out.insert("isup".into(), decode_isup(&data.user_data, variant)?);
        }
    }
    Ok(Value::Object(out))
}
