//! Differential test against Wireshark's ISUP and M3UA dissectors: 1,200 random valid M3UA DATA
//! messages carrying ISUP of every laid-out type go through `text2pcap` (SCTP, PPID 3) and
//! `tshark -T fields`; every field tshark reports must equal what tandem decodes, and tshark
//! must flag none as malformed or with an expert error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use tandem::isup::codec::{
    BackwardCallIndicators, CalledPartyNumber, CallingPartyNumber, CallingPartysCategory,
    CauseIndicators, EventInformation, ForwardCallIndicators, HopCounter, IsupView,
    NatureOfConnectionIndicators, Parameter, ParameterCode as P, RangeAndStatus, Variant,
};
use tandem::sigtran::m3ua::{M3uaMessage, MessageType, Parameter as M3uaParameter, ProtocolData};

use crate::gen::{laid_out_types, message_of, Rng};

const MESSAGES: usize = 1_200;

const FIELDS: &[&str] = &[
    "m3ua.protocol_data_opc",
    "m3ua.protocol_data_dpc",
    "m3ua.protocol_data_si",
    "m3ua.protocol_data_sls",
    "isup.message_type",
    "isup.cic",
    "e164.called_party_number.digits",
    "e164.calling_party_number.digits",
    "isup.cause_indicator",
    "isup.calling_partys_category",
    "isup.forw_call_natnl_inatnl_call_indicator",
    "isup.forw_call_isdn_user_part_indicator",
    "isup.forw_call_isdn_access_indicator",
    "isup.charge_indicator",
    "isup.called_partys_status_indicator",
    "isup.called_partys_category_indicator",
    "isup.satellite_indicator",
    "isup.continuity_check_indicator",
    "isup.event_ind",
    "isup.range_indicator",
    "isup.hop_counter",
];

fn tool_missing(name: &str) -> bool {
    Command::new(name).arg("-v").output().is_err()
}

/// What tandem says each field holds, values in wire order.
fn expected(data: &ProtocolData) -> BTreeMap<&'static str, Vec<String>> {
    let mut fields: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut put = |field: &'static str, value: String| fields.entry(field).or_default().push(value);
    put("m3ua.protocol_data_opc", data.opc.to_string());
    put("m3ua.protocol_data_dpc", data.dpc.to_string());
    put("m3ua.protocol_data_si", data.si.to_string());
    put("m3ua.protocol_data_sls", data.sls.to_string());
    let view = IsupView::decode(&data.user_data, Variant::Itu).expect("generated ISUP decodes");
    put("isup.message_type", view.message_type().code().to_string());
    put("isup.cic", (view.cic().0 & 0x0FFF).to_string());
    let layout = view.layout().expect("laid out");
    let mut parameters: Vec<(P, &[u8])> = Vec::new();
    let mut offset = 0;
    for (code, length) in layout.fixed {
        parameters.push((*code, &view.fixed()[offset..offset + length]));
        offset += length;
    }
    for (index, code) in layout.variable.iter().enumerate() {
        parameters.push((*code, view.variable(index).unwrap_or_default()));
    }
    parameters.extend(view.optional_parameters());
    let flag = |value: bool| u8::from(value).to_string();
    for (code, contents) in parameters {
        match code {
            P::CALLED_PARTY_NUMBER => {
                let p = CalledPartyNumber::decode(contents).unwrap();
                put("e164.called_party_number.digits", p.digits.to_string());
            }
            P::CALLING_PARTY_NUMBER => {
                let p = CallingPartyNumber::decode(contents).unwrap();
                put("e164.calling_party_number.digits", p.digits.to_string());
            }
            P::CAUSE_INDICATORS => {
                let p = CauseIndicators::decode(contents).unwrap();
                put("isup.cause_indicator", p.cause_value.to_string());
            }
            P::CALLING_PARTYS_CATEGORY => {
                let p = CallingPartysCategory::decode(contents).unwrap();
                put("isup.calling_partys_category", p.0.to_string());
            }
            P::FORWARD_CALL_INDICATORS => {
                let p = ForwardCallIndicators::decode(contents).unwrap();
                put(
                    "isup.forw_call_natnl_inatnl_call_indicator",
                    flag(p.international_call),
                );
                put(
                    "isup.forw_call_isdn_user_part_indicator",
                    flag(p.isdn_user_part),
                );
                put("isup.forw_call_isdn_access_indicator", flag(p.isdn_access));
            }
            P::BACKWARD_CALL_INDICATORS => {
                let p = BackwardCallIndicators::decode(contents).unwrap();
                put("isup.charge_indicator", p.charge.to_string());
                put(
                    "isup.called_partys_status_indicator",
                    p.called_party_status.to_string(),
                );
                put(
                    "isup.called_partys_category_indicator",
                    p.called_party_category.to_string(),
                );
            }
            P::NATURE_OF_CONNECTION_INDICATORS => {
                let p = NatureOfConnectionIndicators::decode(contents).unwrap();
                put("isup.satellite_indicator", p.satellite.to_string());
                put(
                    "isup.continuity_check_indicator",
                    p.continuity_check.to_string(),
                );
            }
            P::EVENT_INFORMATION => {
                let p = EventInformation::decode(contents).unwrap();
                put("isup.event_ind", p.event_indicator.to_string());
            }
            P::RANGE_AND_STATUS => {
                let p = RangeAndStatus::decode(contents).unwrap();
                // Wireshark shows the number of circuits (range + 1, Q.763 §3.43).
                put("isup.range_indicator", (u16::from(p.range) + 1).to_string());
            }
            P::HOP_COUNTER => {
                let p = HopCounter::decode(contents).unwrap();
                put("isup.hop_counter", p.hop_counter.to_string());
            }
            _ => {}
        }
    }
    fields
}

/// tshark prints booleans as True/False in some versions and 1/0 in others, and fields with a
/// hexadecimal base as `0x…`; both become decimal.
fn normalise(value: &str) -> String {
    match value {
        "True" | "TRUE" => "1".into(),
        "False" | "FALSE" => "0".into(),
        other => match other.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| other.to_string()),
            None => other.to_string(),
        },
    }
}

#[test]
fn tshark_agrees_with_tandem_on_random_isup_over_m3ua() {
    if tool_missing("tshark") || tool_missing("text2pcap") {
        eprintln!(
            "SKIPPED: tshark/text2pcap not installed (scripts/test installs the tshark package)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x150B_4C0D);
    // Wireshark 4.0 treats SDN's format as "a national matter" and does not dissect its optional
    // part; Q.763 gives SDN an optional part only, which the round-trip tests cover.
    let types: Vec<_> = laid_out_types()
        .into_iter()
        .filter(|t| *t != tandem::isup::MessageType::SDN)
        .collect();
    let mut dump = String::new();
    let mut sent = Vec::with_capacity(MESSAGES);
    for index in 0..MESSAGES {
        // Every laid-out type in turn, so each appears ~MESSAGES / types.len() times.
        let isup = message_of(&mut rng, types[index % types.len()]);
        let data = ProtocolData {
            opc: rng.range(1, 0x3FFF),
            dpc: rng.range(1, 0x3FFF),
            si: 5,
            ni: [0u8, 2][rng.range(0, 1) as usize],
            mp: 0,
            sls: rng.range(0, 15) as u8,
            user_data: isup.encode(),
        };
        let m3ua = M3uaMessage::new(
            MessageType::Data,
            vec![
                M3uaParameter::RoutingContext(vec![rng.range(1, 100)]),
                M3uaParameter::ProtocolData(data.clone()),
            ],
        )
        .encode();
        for (line, chunk) in m3ua.chunks(16).enumerate() {
            let _ = write!(dump, "{:06x}", line * 16);
            for byte in chunk {
                let _ = write!(dump, " {byte:02x}");
            }
            dump.push('\n');
        }
        sent.push(data);
    }
    let text = dir.path().join("messages.txt");
    let pcap = dir.path().join("messages.pcap");
    std::fs::write(&text, dump).unwrap();
    let status = Command::new("text2pcap")
        .args(["-q", "-S", "2905,2905,3"])
        .arg(&text)
        .arg(&pcap)
        .status()
        .unwrap();
    assert!(status.success(), "text2pcap failed");
    let mut args: Vec<String> = vec!["-n".into(), "-r".into(), pcap.display().to_string()];
    args.extend(
        [
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "aggregator=|",
            "-e",
            "frame.number",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
        ]
        .map(String::from),
    );
    for field in FIELDS {
        args.push("-e".into());
        args.push((*field).into());
    }
    let output = Command::new("tshark").args(&args).output().unwrap();
    assert!(
        output.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), MESSAGES, "one line per frame");
    let mut failures = Vec::new();
    for (line, data) in lines.iter().zip(&sent) {
        let columns: Vec<&str> = line.split('\t').collect();
        let frame = columns[0];
        if !columns[1].is_empty() {
            failures.push(format!(
                "frame {frame}: malformed ({})",
                crate::hex(&data.user_data)
            ));
        }
        // Expert severity 0x00800000 is "error".
        if columns[2]
            .split('|')
            .any(|s| s == "8388608" || s == "0x00800000")
        {
            failures.push(format!(
                "frame {frame}: expert error ({})",
                crate::hex(&data.user_data)
            ));
        }
        let want = expected(data);
        for (index, field) in FIELDS.iter().enumerate() {
            let got: Vec<String> = columns
                .get(index + 3)
                .filter(|c| !c.is_empty())
                .map(|c| c.split('|').map(normalise).collect())
                .unwrap_or_default();
            let expected = want.get(field).cloned().unwrap_or_default();
            if got != expected {
                failures.push(format!(
                    "frame {frame} {field}: tshark {got:?}, tandem {expected:?} ({})",
                    crate::hex(&data.user_data)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
