//! What goes on the wire, as tshark decodes it: the M3UA/ISUP of a call, captured on loopback from the
//! UDP-encapsulated SCTP association, must carry the configured point codes, SI 5, the CIC, the digits and the
//! release cause — and PPID 3 in every DATA chunk.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{Rig, RigOptions};

#[test]
fn iam_to_rlc_decode_in_tshark_with_expected_fields() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("SKIPPED: tshark is not installed (scripts/test installs it)");
        return;
    }
    let mut rig = Rig::start(RigOptions::default());
    let (udp_tandem, _) = rig.udp_ports;
    let pcap = rig.dir.path().join("call.pcap");
    let mut capture = Command::new("tshark")
        .args(["-i", "lo", "-f", &format!("udp port {udp_tandem}"), "-w"])
        .arg(&pcap)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tshark");
    std::thread::sleep(Duration::from_millis(1500));
    let output = rig.sipp("uac_basic.xml", "4930123456", 1, &[]);
    rig.assert_sipp_ok(&output, "uac_basic x1");
    rig.wait_for(Duration::from_secs(5), "RLC sent", |s| {
        crate::harness::Rig::count(s, "sent", "RLC") >= 1
    });
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(capture.id().to_string())
        .status();
    let _ = capture.wait();
    let fields = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args([
            "-d",
            &format!("udp.port=={udp_tandem},sctp"),
            "-Y",
            "isup",
            "-T",
            "fields",
            "-E",
            "separator=|",
        ])
        .args([
            "-e",
            "sctp.data_payload_proto_id",
            "-e",
            "m3ua.protocol_data_opc",
            "-e",
            "m3ua.protocol_data_dpc",
        ])
        .args([
            "-e",
            "m3ua.protocol_data_si",
            "-e",
            "isup.cic",
            "-e",
            "isup.message_type",
        ])
        .args([
            "-e",
            "e164.called_party_number.digits",
            "-e",
            "e164.calling_party_number.digits",
            "-e",
            "isup.cause_indicator",
        ])
        .output()
        .expect("run tshark -r");
    let text = String::from_utf8_lossy(&fields.stdout).to_string();
    let rows: Vec<Vec<&str>> = text.lines().map(|line| line.split('|').collect()).collect();
    let find = |message_type: &str| -> Vec<&str> {
        rows.iter()
            .find(|row| row.get(5) == Some(&message_type))
            .cloned()
            .unwrap_or_else(|| {
                panic!("no ISUP message type {message_type} on the wire; tshark saw:\n{text}")
            })
    };
    // Q.763 message type codes: IAM 1, ACM 6, ANM 9, REL 12, RLC 16.
    let iam = find("1");
    assert_eq!(
        &iam[0..4],
        &["3", "1", "2", "5"],
        "IAM PPID/OPC/DPC/SI: {iam:?}"
    );
    assert_eq!(iam[6], "4930123456", "called digits: {iam:?}");
    // tests/sipp/uac_basic.xml calls from sip:4930123456@…; without '+' it goes out as a national number.
    assert_eq!(iam[7], "4930123456", "calling digits: {iam:?}");
    let cic = iam[4];
    for (message_type, opc, dpc) in [
        ("6", "2", "1"),
        ("9", "2", "1"),
        ("12", "1", "2"),
        ("16", "2", "1"),
    ] {
        let row = find(message_type);
        assert_eq!(
            &row[0..5],
            &["3", opc, dpc, "5", cic],
            "message type {message_type}: {row:?}"
        );
    }
    assert_eq!(find("12")[8], "16", "REL after BYE carries cause 16");
    rig.stop_and_replay();
}
