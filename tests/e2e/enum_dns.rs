//! ENUM against a real DNS server: NSD (Debian's `nsd`) serves the shipped NAPTR zone on loopback and tandem
//! queries it over UDP. Checked: a ported number is routed on its routing number, a dipped one and an NXDOMAIN
//! on the dialled number, a REFUSED (no such zone) and a timeout (a server that never answers) fall back to
//! the dialled number, repeated numbers come from the cache, and the log replays.

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{repo, serve_zone, tandem_bin, Rig, RigOptions, ZoneServer};

/// NSD serving the shipped ENUM zone.
fn start_nsd(dir: &Path) -> ZoneServer {
    let zone = std::fs::read_to_string(repo().join("enum/e164.arpa.zone")).expect("read zone");
    serve_zone(dir, "9.4.e164.arpa", &zone)
}

fn enum_rig(servers: &str, timeout_ms: u64) -> Rig {
    Rig::start(RigOptions {
        dialplan: Some(std::fs::read_to_string(repo().join("dialplans/portability.rhai")).unwrap()),
        config_extra: format!("[enum]\nservers = [{servers}]\ntimeout_ms = {timeout_ms}\n"),
        ..RigOptions::default()
    })
}

fn called_numbers(rig: &Rig, count: usize) -> Vec<String> {
    let stats = rig.wait_for(Duration::from_secs(10), "calls at the exchange", |s| {
        s["calls"].as_array().is_some_and(|c| c.len() >= count)
    });
    stats["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["called"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Inputs whose JSON body matches the SQL LIKE `pattern`.
fn count_in_log(log: &Path, pattern: &str) -> i64 {
    let connection = rusqlite::Connection::open(log).unwrap();
    connection
        .query_row(
            "SELECT count(*) FROM events WHERE body LIKE ?1",
            [pattern],
            |row| row.get(0),
        )
        .unwrap()
}

fn replay_clean(log: &Path) {
    let output = Command::new(tandem_bin())
        .arg("replay")
        .arg(log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.contains(" 0 divergences"),
        "{text}"
    );
}

#[test]
fn enum_lookups_against_nsd() {
    let dns_dir = tempfile::tempdir().unwrap();
    let nsd = start_nsd(dns_dir.path());
    let mut rig = enum_rig(&format!("\"127.0.0.1:{}\"", nsd.port), 1000);
    for (number, what) in [
        ("030123456", "ported"),
        ("+4930222222", "dipped"),
        ("+4930999999", "NXDOMAIN"),
        ("+33123456789", "REFUSED"),
        ("030123456", "ported, cached"),
        ("+4930999999", "NXDOMAIN, cached"),
    ] {
        let output = rig.sipp("uac_basic.xml", number, 1, &[]);
        rig.assert_sipp_ok(&output, what);
    }
    assert_eq!(
        called_numbers(&rig, 6),
        [
            "+4915199",
            "+4930222222",
            "+4930999999",
            "+33123456789",
            "+4915199",
            "+4930999999"
        ]
    );
    let log = rig.stop();
    assert_eq!(
        count_in_log(&log, "%\"output\":\"enum_query\"%"),
        4,
        "two cache hits"
    );
    assert_eq!(count_in_log(&log, "%\"input\":\"enum_answer\"%"), 4);
    assert_eq!(count_in_log(&log, "%\"status\":\"nx_domain\"%"), 1);
    assert_eq!(
        count_in_log(&log, "%\"reason\":\"127.0.0.1:%: REFUSED\"%"),
        1
    );
    replay_clean(&log);
}

#[test]
fn a_dns_server_that_never_answers_times_out_and_the_call_falls_back() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    let mut rig = enum_rig(&format!("\"{address}\""), 300);
    let output = rig.sipp("uac_basic.xml", "030123456", 1, &[]);
    rig.assert_sipp_ok(&output, "timeout fallback");
    assert_eq!(called_numbers(&rig, 1), ["+4930123456"]);
    let log = rig.stop();
    assert_eq!(
        count_in_log(&log, "%\"reason\":\"127.0.0.1:%: timeout\"%"),
        1
    );
    assert_eq!(
        count_in_log(&log, "%ENUM failed for +4930123456%"),
        1,
        "the script's log line"
    );
    replay_clean(&log);
    drop(silent);
}
