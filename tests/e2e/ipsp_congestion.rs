//! IPSP links and SCON throttling end to end: tandem and ss7sim as IPSPs (RFC 4666 §4.3.2, single and double
//! exchange) pass calls; ss7sim reporting its point code congested (SCON) makes tandem refuse new calls with the
//! table's congestion cause (42 → 503) until the congestion abates, then calls pass again.

use std::time::Duration;

use crate::harness::{Rig, RigOptions};

fn ipsp_calls(mode: &str) {
    let mut rig = Rig::start(RigOptions {
        trunk_extra: format!("mode = \"{mode}\"\n"),
        exchange_extra: vec!["--mode".into(), mode.into()],
        ..RigOptions::default()
    });
    let output = rig.sipp("uac_basic.xml", "4930123456", 3, &[]);
    rig.assert_sipp_ok(&output, &format!("calls over an {mode} link"));
    rig.wait_for(
        Duration::from_secs(10),
        "3 calls answered and released",
        |s| Rig::count(s, "sent", "ANM") >= 3 && Rig::count(s, "received", "REL") >= 3,
    );
    let log = std::fs::read_to_string(rig.dir.path().join("ss7sim.log")).unwrap_or_default();
    assert!(!log.contains("NTFY"), "no NTFY between IPSPs:\n{log}");
    if mode == "ipsp-de" {
        assert!(log.contains("peer IPSP Inactive -> Active"), "{log}");
        rig.wait_for_tandem_log(Duration::from_secs(1), "peer IPSP Inactive -> Active");
    }
    // The operator's view of the live log.
    let links = std::process::Command::new(crate::harness::tandem_bin())
        .arg("links")
        .arg(&rig.log)
        .output()
        .expect("run tandem links");
    let links = String::from_utf8_lossy(&links.stdout);
    let exchange = if mode == "ipsp-de" {
        "double"
    } else {
        "single"
    };
    assert!(
        links.contains(&format!("IPSP {exchange} exchange")),
        "{links}"
    );
    assert!(links.contains("ASP             Active"), "{links}");
    assert_eq!(
        links.contains("peer IPSP       Active"),
        mode == "ipsp-de",
        "{links}"
    );
    assert!(
        links.contains("destination     DPC 2: Available"),
        "{links}"
    );
    rig.stop_and_replay();
}

#[test]
fn calls_over_an_ipsp_single_exchange_link() {
    ipsp_calls("ipsp-se");
}

#[test]
fn calls_over_an_ipsp_double_exchange_link() {
    ipsp_calls("ipsp-de");
}

#[test]
fn scon_throttles_calls_until_congestion_abates() {
    let mut rig = Rig::start(RigOptions {
        trunk_extra: "[trunk.congestion]\naccept_percent = [50, 25, 0]\nabatement_ms = 1000\n"
            .into(),
        exchange_extra: vec![
            "--scon-level".into(),
            "3".into(),
            "--scon-ms".into(),
            "4000".into(),
        ],
        ..RigOptions::default()
    });
    // ss7sim answers tandem's DAUD with SCON too while congested, so level 3 holds from the first SCON on.
    rig.wait_for_tandem_log(Duration::from_secs(5), "-> Congested3 (SCON received)");
    let output = rig.sipp("uac_reject_503.xml", "4930123456", 2, &[]);
    rig.assert_sipp_ok(&output, "calls throttled at congestion level 3 (503)");
    assert_eq!(
        Rig::count(&rig.stats(), "received", "IAM"),
        0,
        "no IAM while throttled"
    );
    // SCON stops after 4 s; each further second lowers the level by one.
    rig.wait_for_tandem_log(
        Duration::from_secs(15),
        "Congested1 -> Available (no SCON for 1000 ms)",
    );
    let output = rig.sipp("uac_basic.xml", "4930123456", 2, &[]);
    rig.assert_sipp_ok(&output, "calls after the congestion abated");
    rig.wait_for(Duration::from_secs(10), "2 calls answered", |s| {
        Rig::count(s, "sent", "ANM") >= 2
    });
    let log = std::fs::read_to_string(rig.dir.path().join("tandem.log")).unwrap_or_default();
    assert!(log.contains("call throttled"), "{log}");
    rig.stop_and_replay();
}
