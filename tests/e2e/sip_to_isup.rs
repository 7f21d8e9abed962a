//! SIP-originated calls through tandem to the simulated exchange: answer, release from either side, CANCEL, and
//! the cause → status table on rejection.

use std::time::Duration;

use crate::harness::{Rig, RigOptions};

fn all_circuits_idle(rig: &Rig) {
    rig.wait_for(
        Duration::from_secs(10),
        "every CIC idle at the exchange",
        |s| s["busy_cics"].as_u64() == Some(0),
    );
}

#[test]
fn fifty_calls_answered_and_released_from_sip() {
    let mut rig = Rig::start(RigOptions::default());
    let output = rig.sipp("uac_basic.xml", "4930123456", 50, &[]);
    rig.assert_sipp_ok(&output, "uac_basic x50");
    let stats = rig.wait_for(Duration::from_secs(10), "50 RLC sent", |s| {
        Rig::count(s, "sent", "RLC") >= 50
    });
    for (direction, kind) in [
        ("received", "IAM"),
        ("sent", "ACM"),
        ("sent", "ANM"),
        ("received", "REL"),
        ("sent", "RLC"),
    ] {
        assert_eq!(
            Rig::count(&stats, direction, kind),
            50,
            "{direction} {kind}: {stats}"
        );
    }
    all_circuits_idle(&rig);
    rig.stop_and_replay();
}

#[test]
fn exchange_releases_first_and_sip_gets_bye() {
    let mut rig = Rig::start(RigOptions::default());
    // 991… answers, then the exchange hangs up (REL cause 16) after a second.
    let output = rig.sipp("uac_remote_release.xml", "9914930123", 5, &[]);
    rig.assert_sipp_ok(&output, "uac_remote_release x5");
    let stats = rig.wait_for(Duration::from_secs(10), "5 RLC received", |s| {
        Rig::count(s, "received", "RLC") >= 5
    });
    assert_eq!(Rig::count(&stats, "sent", "REL"), 5, "{stats}");
    all_circuits_idle(&rig);
    rig.stop_and_replay();
}

#[test]
fn cancel_before_answer_releases_the_circuit() {
    let mut rig = Rig::start(RigOptions::default());
    // 992… rings and never answers.
    let output = rig.sipp("uac_cancel.xml", "9924930123", 5, &[]);
    rig.assert_sipp_ok(&output, "uac_cancel x5");
    let stats = rig.wait_for(Duration::from_secs(10), "5 REL received", |s| {
        Rig::count(s, "received", "REL") >= 5
    });
    assert_eq!(Rig::count(&stats, "sent", "ANM"), 0, "{stats}");
    all_circuits_idle(&rig);
    rig.stop_and_replay();
}

#[test]
fn busy_and_unallocated_map_to_486_and_404() {
    let mut rig = Rig::start(RigOptions::default());
    let busy = rig.sipp("uac_reject_486.xml", "9900174930123", 3, &[]);
    rig.assert_sipp_ok(&busy, "990017 → 486");
    let unallocated = rig.sipp("uac_reject_404.xml", "9900014930123", 3, &[]);
    rig.assert_sipp_ok(&unallocated, "990001 → 404");
    let stats = rig.wait_for(Duration::from_secs(10), "6 RLC received", |s| {
        Rig::count(s, "received", "RLC") >= 6
    });
    assert_eq!(Rig::count(&stats, "sent", "REL"), 6, "{stats}");
    all_circuits_idle(&rig);
    rig.stop_and_replay();
}

#[test]
fn calls_over_sip_tcp() {
    let mut rig = Rig::start(RigOptions::default());
    // One TCP connection for all calls (SIPp -t t1); tandem frames by Content-Length.
    let output = rig.sipp("uac_basic.xml", "4930123456", 5, &["-t", "t1"]);
    rig.assert_sipp_ok(&output, "uac_basic x5 over TCP");
    let stats = rig.wait_for(Duration::from_secs(10), "5 RLC sent", |s| {
        Rig::count(s, "sent", "RLC") >= 5
    });
    assert_eq!(Rig::count(&stats, "received", "IAM"), 5, "{stats}");
    all_circuits_idle(&rig);
    rig.stop_and_replay();
}
