//! `tandem decode` as an engineer runs it: the built binary, hex on the command line or stdin,
//! JSON on stdout, errors on stderr with exit status 1.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn tandem() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
}

/// M3UA DATA (RC 1, OPC 1, DPC 2, SI 5, NI 2, SLS 7) carrying an IAM on CIC 5.
const DATA_IAM: &str = "01000101 00000038 00060008 00000001 02100028 00000001 00000002 05020007 \
                        0500 01 00 2001 0a 00 02 08 06 831021436507 0a 04 0313 2143 00";

#[test]
fn json_has_the_issue_shape() {
    let output = tandem()
        .args(["decode", "--json", DATA_IAM])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let m3ua = &json["m3ua"];
    assert_eq!(m3ua["class"], "TRANSFER");
    assert_eq!(m3ua["type"], "DATA");
    assert_eq!(
        (m3ua["opc"].as_u64(), m3ua["dpc"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        (m3ua["si"].as_u64(), m3ua["ni"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(
        (m3ua["mp"].as_u64(), m3ua["sls"].as_u64()),
        (Some(0), Some(7))
    );
    assert_eq!(m3ua["routing_context"][0], 1);
    let isup = &json["isup"];
    assert_eq!(isup["cic"], 5);
    assert_eq!(isup["type"], "IAM");
    let called = &isup["params"]["called_party_number"];
    assert_eq!(called["nature_of_address"], 3);
    assert_eq!(called["numbering_plan"], 1);
    assert_eq!(called["inn"], 0);
    assert_eq!(called["digits"], "1234567");
    assert_eq!(isup["params"]["calling_party_number"]["digits"], "1234");
    assert_eq!(isup["params"]["calling_party_number"]["screening"], 3);
    assert_eq!(isup["params"]["calling_partys_category"], 10);
    assert_eq!(
        isup["params"]["forward_call_indicators"]["isdn_user_part"],
        1
    );
    assert_eq!(
        isup["params"]["nature_of_connection_indicators"]["satellite"],
        0
    );
}

#[test]
fn isup_from_stdin_as_a_tree() {
    let mut child = tandem()
        .args(["decode", "--isup", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // REL on CIC 0x123, cause 16 from the public network serving the local user.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"2301 0c 0200 02 8290\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("type: REL"), "{text}");
    assert!(text.contains("cic: 291"), "{text}");
    assert!(
        text.contains(
            "cause_indicators:\n      coding_standard: 0\n      location: 2\n      value: 16"
        ),
        "{text}"
    );
}

#[test]
fn errors_go_to_stderr_with_status_1() {
    for (args, message) in [
        (vec!["decode", "--isup", "0500 01 00"], "ISUP: "),
        (vec!["decode", "--m3ua", "01000101 0000000c"], "M3UA: "),
        (vec!["decode", "0x5z"], "bad hex"),
    ] {
        let output = tandem().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
