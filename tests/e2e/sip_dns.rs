//! RFC 3263 against a real DNS server: NSD serves NAPTR → SRV → A records for `sip.test` on loopback, with two
//! SRV targets (priority 10 and 20) that are two SIPp UAS on different ports. The first answers 503, so tandem
//! must fail over to the second (RFC 3263 §4.3) before giving up the route; the call from the exchange is
//! answered there. A second test serves TCP targets whose first is a closed port: the refused connection must
//! send the INVITE to the second target at once (RFC 3261 §17.1.4), not after Timer B. The tests run inside a
//! private network namespace, since they resolve names.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::wait_child;
use crate::harness::{free_port, repo, serve_zone, Exchange, Rig, RigOptions};
use crate::rfc4475::rerun_in_namespace;

fn sipp_uas(scenario: &str, port: u16, dir: &Path) -> Child {
    sipp_uas_over(scenario, "u1", port, dir)
}

/// A SIPp UAS on `port` with SIPp's transport mode `transport` (`u1`: UDP, `t1`: TCP).
fn sipp_uas_over(scenario: &str, transport: &str, port: u16, dir: &Path) -> Child {
    Command::new("sipp")
        .arg("-sf")
        .arg(repo().join("tests/sipp").join(scenario))
        .args(["-t", transport, "-i", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .args([
            "-m",
            "1",
            "-timeout",
            "30s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
        ])
        .arg("-mp")
        .arg(free_port(false).to_string())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas")
}

#[test]
fn a_503_from_the_first_srv_target_fails_over_to_the_second() {
    if rerun_in_namespace("sip_dns::a_503_from_the_first_srv_target_fails_over_to_the_second") {
        return;
    }
    let dns_dir = tempfile::tempdir().unwrap();
    let (first_port, second_port) = (free_port(false), free_port(false));
    let zone = format!(
        "$ORIGIN sip.test.\n$TTL 60\n\
         @ IN SOA ns.sip.test. admin.sip.test. 1 3600 600 86400 60\n\
         @ IN NS ns\n\
         ns IN A 127.0.0.1\n\
         @ IN NAPTR 10 50 \"s\" \"SIP+D2U\" \"\" _sip._udp.sip.test.\n\
         _sip._udp IN SRV 10 0 {first_port} first.sip.test.\n\
         _sip._udp IN SRV 20 0 {second_port} second.sip.test.\n\
         first IN A 127.0.0.1\n\
         second IN A 127.0.0.1\n"
    );
    let nsd = serve_zone(dns_dir.path(), "sip.test", &zone);
    let mut first = sipp_uas("uas_503.xml", first_port, dns_dir.path());
    let mut second = sipp_uas("uas_basic.xml", second_port, dns_dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let dialplan = r#"
fn route(view) {
    if view.source == "isup" {
        return #{ action: "sip", uri: "sip:" + view.called + "@sip.test" };
    }
    #{ action: "trunk", trunk: "pstn" }
}
"#;
    let mut rig = Rig::start(RigOptions {
        exchange: Exchange::Call {
            to: "4930123456".into(),
            count: 1,
            hold_ms: 300,
        },
        dialplan: Some(dialplan.into()),
        sip_extra: format!("dns_servers = [\"127.0.0.1:{}\"]\n", nsd.port),
        ..RigOptions::default()
    });
    let ok = rig.wait_exchange(Duration::from_secs(30));
    let stats = rig.stats();
    let first_done = wait_child(&mut first, Duration::from_secs(10));
    let second_done = wait_child(&mut second, Duration::from_secs(10));
    assert!(ok, "the call did not complete: {stats}\n{}", rig.logs());
    assert_eq!(
        Rig::count(&stats, "received", "ANM") + Rig::count(&stats, "received", "CON"),
        1,
        "{stats}"
    );
    assert_eq!(
        first_done,
        Some(true),
        "the first target did not get its INVITE and answer 503\n{}",
        rig.logs()
    );
    assert_eq!(
        second_done,
        Some(true),
        "the second target did not get the call\n{}",
        rig.logs()
    );
    let log = rig.stop();
    let connection = rusqlite::Connection::open(&log).unwrap();
    let queries: Vec<String> = connection
        .prepare("SELECT body FROM events WHERE body LIKE '%sip_dns_query%' ORDER BY seq")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let asked = queries.join("\n");
    for expected in [
        "\"NAPTR\"",
        "_sip._udp.sip.test",
        "first.sip.test",
        "second.sip.test",
    ] {
        assert!(
            asked.contains(expected),
            "no query for {expected}:\n{asked}"
        );
    }
    rig.stop_and_replay();
}

#[test]
fn a_refused_tcp_connection_fails_over_to_the_next_srv_target_at_once() {
    if rerun_in_namespace(
        "sip_dns::a_refused_tcp_connection_fails_over_to_the_next_srv_target_at_once",
    ) {
        return;
    }
    let dns_dir = tempfile::tempdir().unwrap();
    // Nothing listens on the first port: connecting to it is refused.
    let (closed_port, second_port) = (free_port(true), free_port(true));
    let zone = format!(
        "$ORIGIN sip.test.\n$TTL 60\n\
         @ IN SOA ns.sip.test. admin.sip.test. 1 3600 600 86400 60\n\
         @ IN NS ns\n\
         ns IN A 127.0.0.1\n\
         @ IN NAPTR 10 50 \"s\" \"SIP+D2T\" \"\" _sip._tcp.sip.test.\n\
         _sip._tcp IN SRV 10 0 {closed_port} first.sip.test.\n\
         _sip._tcp IN SRV 20 0 {second_port} second.sip.test.\n\
         first IN A 127.0.0.1\n\
         second IN A 127.0.0.1\n"
    );
    let nsd = serve_zone(dns_dir.path(), "sip.test", &zone);
    let mut second = sipp_uas_over("uas_basic.xml", "t1", second_port, dns_dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let dialplan = r#"
fn route(view) {
    if view.source == "isup" {
        return #{ action: "sip", uri: "sip:" + view.called + "@sip.test" };
    }
    #{ action: "trunk", trunk: "pstn" }
}
"#;
    let started = Instant::now();
    let mut rig = Rig::start(RigOptions {
        exchange: Exchange::Call {
            to: "4930123456".into(),
            count: 1,
            hold_ms: 300,
        },
        dialplan: Some(dialplan.into()),
        sip_extra: format!("dns_servers = [\"127.0.0.1:{}\"]\n", nsd.port),
        ..RigOptions::default()
    });
    // Timer B is 64·T1 = 32 s: a call that completes well inside it did not wait for it.
    let ok = rig.wait_exchange(Duration::from_secs(20));
    let took = started.elapsed();
    let stats = rig.stats();
    let second_done = wait_child(&mut second, Duration::from_secs(10));
    assert!(ok, "the call did not complete: {stats}\n{}", rig.logs());
    assert!(
        took < Duration::from_secs(15),
        "took {took:?}: waited for Timer B?"
    );
    assert_eq!(
        Rig::count(&stats, "received", "ANM") + Rig::count(&stats, "received", "CON"),
        1,
        "{stats}"
    );
    assert_eq!(
        second_done,
        Some(true),
        "the second target did not get the call\n{}",
        rig.logs()
    );
    let log = rig.stop();
    let connection = rusqlite::Connection::open(&log).unwrap();
    let failed: Vec<String> = connection
        .prepare("SELECT body FROM events WHERE body LIKE '%sip_send_failed%' ORDER BY seq")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(failed.len(), 1, "one recorded send failure: {failed:?}");
    assert!(
        failed[0].contains(&format!("127.0.0.1:{closed_port}")),
        "{failed:?}"
    );
    rig.stop_and_replay();
}
