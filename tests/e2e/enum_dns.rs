//! ENUM against a real DNS server: NSD (Debian's `nsd`) serves the shipped NAPTR zone on loopback and tandem
//! queries it through hickory-resolver. Checked: a ported number is routed on its routing number, a dipped one
//! and an NXDOMAIN on the dialled number, a REFUSED (no such zone), a SERVFAIL (a configured zone whose file is
//! missing) and a timeout (a server that never answers) fall back to the dialled number, a SERVFAIL from the
//! first server moves on to the second, a NAPTR set too large for UDP is fetched over TCP, repeated numbers come
//! from the cache, ported numbers leave in IAMs with the called directory number (`ported_number_format =
//! "cdn"`), and the log replays.

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{dns_udp_query, repo, serve_zones, tandem_bin, Rig, RigOptions};

/// The shipped zone plus a number whose NAPTR set (a ported `E2U+pstn:tel` and 24 long `E2U+sip` records,
/// about 2.6 kB) does not fit a UDP answer even with EDNS0 (1232 octets), so the server truncates it.
fn zone_with_large_rrset() -> String {
    let mut zone = std::fs::read_to_string(repo().join("enum/e164.arpa.zone")).expect("zone");
    zone.push_str(
        "\n4.4.4.4.4.4.0.3 IN NAPTR 10 100 \"u\" \"E2U+pstn:tel\" \"!^(.*)$!tel:\\\\1;npdi;rn=+4915288!\" .\n",
    );
    for i in 0..24 {
        zone.push_str(&format!(
            "                IN NAPTR 20 {i} \"u\" \"E2U+sip\" \"!^\\\\+(.*)$!sip:\\\\1@proxy-{i:02}.a-rather-long-carrier-domain-name.invalid!\" .\n"
        ));
    }
    zone
}

fn enum_rig(servers: &str, timeout_ms: u64) -> Rig {
    enum_rig_with(servers, timeout_ms, "")
}

fn enum_rig_with(servers: &str, timeout_ms: u64, trunk_extra: &str) -> Rig {
    Rig::start(RigOptions {
        dialplan: Some(std::fs::read_to_string(repo().join("dialplans/portability.rhai")).unwrap()),
        config_extra: format!("[enum]\nservers = [{servers}]\ntimeout_ms = {timeout_ms}\n"),
        trunk_extra: trunk_extra.to_string(),
        ..RigOptions::default()
    })
}

/// The parameters of every IAM tandem sent, as `tandem decode` shows them, from the M3UA DATA outputs in the
/// event log.
fn iams_sent(log: &Path) -> Vec<serde_json::Value> {
    let connection = rusqlite::Connection::open(log).unwrap();
    // The message bytes are in the `data` column, beside the JSON body.
    let mut statement = connection
        .prepare("SELECT data FROM events WHERE body LIKE '%\"output\":\"m3ua_send\"%'")
        .unwrap();
    let messages: Vec<Vec<u8>> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    messages
        .iter()
        .filter_map(|data| {
            let decoded = tandem::decode::decode_hex(
                &tandem::hex::encode(data),
                true,
                false,
                tandem::isup::codec::Variant::Itu,
            )
            .ok()?;
            (decoded["isup"]["type"] == "IAM").then(|| decoded["isup"]["params"].clone())
        })
        .collect()
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
    let zone = zone_with_large_rrset();
    let nsd = serve_zones(
        dns_dir.path(),
        &[("9.4.e164.arpa", Some(&zone)), ("4.4.e164.arpa", None)],
    );
    // The large set really is truncated over UDP, even with EDNS0: only TCP can carry it.
    let large = dns_udp_query(nsd.port, "4.4.4.4.4.4.0.3.9.4.e164.arpa.").expect("NSD answers");
    assert!(large.metadata.truncation, "{large:?}");
    // Ported numbers go out with separate directory number addressing (Q.769.1), checked on the IAMs below.
    let mut rig = enum_rig_with(
        &format!("\"127.0.0.1:{}\"", nsd.port),
        1000,
        "ported_number_format = \"cdn\"\n",
    );
    for (number, what) in [
        ("030123456", "ported"),
        ("+4930222222", "dipped"),
        ("+4930999999", "NXDOMAIN"),
        ("+33123456789", "REFUSED"),
        ("+442071234567", "SERVFAIL"),
        ("+4930444444", "ported, answer over TCP"),
        ("030123456", "ported, cached"),
        ("+4930999999", "NXDOMAIN, cached"),
    ] {
        let output = rig.sipp("uac_basic.xml", number, 1, &[]);
        rig.assert_sipp_ok(&output, what);
    }
    assert_eq!(
        called_numbers(&rig, 8),
        [
            "+4915199",
            "+4930222222",
            "+4930999999",
            "+33123456789",
            "+442071234567",
            "+4915288",
            "+4915199",
            "+4930999999"
        ]
    );
    let log = rig.stop();
    // Called directory number = the dialled number, on the ported calls only (the first, the sixth, the
    // seventh); NPFI 0x83 beside it.
    let directory: Vec<(String, String)> = iams_sent(&log)
        .iter()
        .map(|params| {
            let cdn = &params["called_directory_number"];
            let npfi = &params["number_portability_forward_information"];
            (
                format!(
                    "{}/{}",
                    cdn["nature_of_address"],
                    cdn["digits"].as_str().unwrap_or("-")
                ),
                npfi["number_portability_status"].to_string(),
            )
        })
        .collect();
    let none = ("null/-".to_string(), "null".to_string());
    let ported = |noa_digits: &str| (noa_digits.to_string(), "3".to_string());
    assert_eq!(
        directory,
        [
            ported("3/30123456"),
            none.clone(),
            none.clone(),
            none.clone(),
            none.clone(),
            ported("4/4930444444"),
            ported("3/30123456"),
            none,
        ]
    );
    assert_eq!(
        count_in_log(&log, "%\"output\":\"enum_query\"%"),
        6,
        "two cache hits"
    );
    assert_eq!(count_in_log(&log, "%\"input\":\"enum_answer\"%"), 6);
    assert_eq!(count_in_log(&log, "%\"status\":\"nx_domain\"%"), 1);
    assert_eq!(
        count_in_log(&log, "%\"reason\":\"127.0.0.1:%: REFUSED\"%"),
        1
    );
    assert_eq!(
        count_in_log(&log, "%\"reason\":\"127.0.0.1:%: SERVFAIL\"%"),
        1
    );
    assert_eq!(
        count_in_log(&log, "%ENUM failed for +442071234567%"),
        1,
        "the script's log line for the SERVFAIL fallback"
    );
    replay_clean(&log);
}

#[test]
fn a_servfail_from_the_first_server_moves_on_to_the_second() {
    let broken_dir = tempfile::tempdir().unwrap();
    let broken = serve_zones(broken_dir.path(), &[("9.4.e164.arpa", None)]);
    let good_dir = tempfile::tempdir().unwrap();
    let zone = std::fs::read_to_string(repo().join("enum/e164.arpa.zone")).unwrap();
    let good = serve_zones(good_dir.path(), &[("9.4.e164.arpa", Some(&zone))]);
    let servers = format!("\"127.0.0.1:{}\", \"127.0.0.1:{}\"", broken.port, good.port);
    let mut rig = enum_rig(&servers, 2000);
    let output = rig.sipp("uac_basic.xml", "030123456", 1, &[]);
    rig.assert_sipp_ok(&output, "ported, from the second server");
    assert_eq!(called_numbers(&rig, 1), ["+4915199"]);
    let log = rig.stop();
    assert_eq!(count_in_log(&log, "%\"status\":\"failed\"%"), 0);
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
