//! Issue 5's loadshare failover check: tandem's trunk has two associations (two ASPs) to the same SG, which puts
//! both in one loadshare AS (`ss7sim --max-asps 2`). Twenty SIP calls are set up and held; ISUP must have used both
//! associations (SLS = CIC mod 16 spread over them); then the SG stops one ASP (SIGUSR1: it aborts that
//! association and keeps it down). Every call must stay up and be released cleanly afterwards over the remaining
//! association, new calls must pass, and the log must replay with no divergence.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tandem::events::{EventKind, Input, Output};
use tandem::sigtran::m3ua::{M3uaMessage, MessageType};

use crate::harness::{Rig, RigOptions};

/// DATA ss7sim exchanged on each association (received + sent), by association id.
fn data_by_association(stats: &Value) -> Vec<(String, u64)> {
    let mut totals: std::collections::BTreeMap<String, u64> = Default::default();
    for key in ["data_received_by_association", "data_sent_by_association"] {
        if let Some(map) = stats[key].as_object() {
            for (id, count) in map {
                *totals.entry(id.clone()).or_default() += count.as_u64().unwrap_or(0);
            }
        }
    }
    totals.into_iter().collect()
}

#[test]
fn twenty_calls_survive_losing_one_asp_of_a_loadshare_as() {
    let mut rig = Rig::start(RigOptions {
        trunk_extra: "[[trunk.association]]\nname = \"a\"\n\n[[trunk.association]]\nname = \"b\"\n"
            .into(),
        exchange_extra: vec!["--max-asps".into(), "2".into()],
        ..RigOptions::default()
    });
    rig.wait_for(Duration::from_secs(20), "both ASPs of the AS active", |s| {
        s["active_asps"].as_u64() == Some(2)
    });

    // Twenty calls, each held 12 s after its ACK, all up at once (-l 20).
    let sipp = rig
        .sipp_command("uac_basic.xml", "4930123456", 20, &["-d", "12000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sipp");
    let held = rig.wait_for(Duration::from_secs(15), "20 calls answered", |s| {
        s["busy_cics"].as_u64() == Some(20) && Rig::count(s, "sent", "ANM") >= 20
    });
    let before = data_by_association(&held);
    assert_eq!(before.len(), 2, "ISUP used both associations: {held}");
    assert!(
        before.iter().all(|(_, n)| *n >= 10),
        "SLS split: {before:?}"
    );

    // Stop one ASP of the AS while the calls are held.
    let pid = rig.exchange_pid().expect("ss7sim runs");
    let status = std::process::Command::new("kill")
        .arg("-USR1")
        .arg(pid.to_string())
        .status()
        .expect("kill -USR1");
    assert!(status.success());
    rig.wait_for(Duration::from_secs(5), "one ASP left in the AS", |s| {
        s["active_asps"].as_u64() == Some(1)
    });
    rig.wait_for_tandem_log(Duration::from_secs(5), "SCTP association down");
    let stopped = rig.stats();
    assert_eq!(
        stopped["busy_cics"].as_u64(),
        Some(20),
        "no call dropped: {stopped}"
    );

    // SIPp hangs up every call: BYE → REL on the surviving association → RLC → 200.
    let output = sipp.wait_with_output().expect("sipp finishes");
    rig.assert_sipp_ok(&output, "uac_basic x20 held across the failover");
    let released = rig.wait_for(Duration::from_secs(10), "20 REL answered by RLC", |s| {
        Rig::count(s, "sent", "RLC") >= 20 && s["busy_cics"].as_u64() == Some(0)
    });
    assert_eq!(Rig::count(&released, "received", "REL"), 20, "{released}");
    assert_eq!(Rig::count(&released, "sent", "RLC"), 20, "{released}");
    let after = data_by_association(&released);
    // The stopped association carried nothing more; the survivor carried every REL and RLC.
    let moved: Vec<(String, u64)> = after
        .iter()
        .filter(|(id, n)| before.iter().any(|(b, m)| b == id && m != n))
        .cloned()
        .collect();
    assert_eq!(
        moved.len(),
        1,
        "only the surviving association carried the releases: {before:?} -> {after:?}"
    );

    // New calls pass over the remaining association.
    let output = rig.sipp("uac_basic.xml", "4930123456", 5, &[]);
    rig.assert_sipp_ok(&output, "uac_basic x5 after the failover");
    rig.wait_for(Duration::from_secs(10), "25 RLC sent", |s| {
        Rig::count(s, "sent", "RLC") >= 25 && s["busy_cics"].as_u64() == Some(0)
    });
    rig.stop_and_replay();

    // From tandem's own log: the route set changed while the loss was handled (same input, same clock), and
    // no DATA went out on the lost association afterwards.
    let events = tandem::events::store::EventReader::open(&rig.log)
        .expect("open log")
        .all()
        .expect("read log");
    let (down_at, lost) = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Input(Input::SctpDown { trunk, .. }) => Some((e.seq, trunk.clone())),
            _ => None,
        })
        .expect("an sctp_down in the log");
    let moved = events.iter().find(|e| {
        matches!(&e.kind, EventKind::Output(Output::Log { message, .. })
            if message.starts_with(&format!("trunk {lost}: route to DPC 2 unavailable; traffic on pstn/")))
    });
    let moved = moved.expect("route change logged");
    let down = events
        .iter()
        .find(|e| e.seq == down_at)
        .expect("down event");
    assert_eq!(
        moved.at_ms, down.at_ms,
        "traffic moved while the loss was handled"
    );
    let data_after = events
        .iter()
        .filter(|e| e.seq > down_at)
        .filter(|e| {
            matches!(&e.kind, EventKind::Output(Output::M3uaSend { trunk, data, .. })
                if *trunk == lost && M3uaMessage::decode(&data.0).is_ok_and(|m| m.message_type == MessageType::Data))
        })
        .count();
    assert_eq!(data_after, 0, "DATA on {lost} after its loss");

    // `tandem links` shows each association; the stopped one down, traffic on the other.
    let output = std::process::Command::new(crate::harness::tandem_bin())
        .arg("links")
        .arg(&rig.log)
        .output()
        .expect("run tandem links");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    for link in ["trunk pstn/a", "trunk pstn/b"] {
        assert!(text.contains(link), "{text}");
    }
    assert!(
        text.contains("route           unavailable; traffic on pstn/"),
        "{text}"
    );
}
