//! In-dialog requests through the B2BUA: hold and resume by re-INVITE, UPDATE, INFO and OPTIONS are answered
//! by tandem itself (it owns the media), so the exchange sees an ordinary call: IAM … ANM, then REL/RLC.
//! Also a basic call with 30% of SIPp's packets lost, which only retransmissions can repair.

use std::time::Duration;

use crate::harness::{repo, Exchange, Rig, RigOptions};

fn assert_plain_calls(rig: &Rig, calls: u64) {
    let stats = rig.wait_for(Duration::from_secs(20), "every call released", |s| {
        Rig::count(s, "sent", "RLC") >= calls && s["busy_cics"].as_u64() == Some(0)
    });
    for (direction, kind) in [("received", "IAM"), ("sent", "ANM"), ("received", "REL")] {
        assert_eq!(
            Rig::count(&stats, direction, kind),
            calls,
            "{direction} {kind}: {stats}"
        );
    }
    assert_eq!(Rig::count(&stats, "received", "CPG"), 0, "{stats}");
}

#[test]
fn hold_resume_update_info_options_are_answered_locally() {
    let mut rig = Rig::start(RigOptions::default());
    let output = rig.sipp("uac_reinvite.xml", "4930123456", 5, &[]);
    rig.assert_sipp_ok(&output, "uac_reinvite x5");
    assert_plain_calls(&rig, 5);
    rig.stop_and_replay();
}

// Not in the default run: with SIPp's `-lost 30` a call fails now and then for want of luck (about one run in
// five on the 2-core CI machine: a BYE and its 200 lost often enough that SIPp gives up), which would make CI a
// coin toss. Run it with `cargo test --test e2e -- --ignored`.
#[test]
#[ignore = "probabilistic: 30% loss makes about one run in five fail; run with --ignored"]
fn calls_survive_thirty_percent_loss() {
    let mut rig = Rig::start(RigOptions::default());
    // SIPp drops 30% of what it sends and receives; the transaction layers on both sides must retransmit.
    let output = rig.sipp("uac_lossy.xml", "4930123456", 5, &["-lost", "30"]);
    rig.assert_sipp_ok(&output, "uac_lossy x5 with -lost 30");
    assert_plain_calls(&rig, 5);
    rig.stop_and_replay();
}

#[test]
fn session_timer_refresh_then_expiry_releases_the_call() {
    let mut rig = Rig::start(RigOptions {
        sip_extra: "min_session_expires = 3\n".into(),
        ..RigOptions::default()
    });
    // Refreshed once by UPDATE after 1 s, then left to expire: tandem sends BYE 1 s before the 3 s expiry
    // and releases the circuit.
    let output = rig.sipp("uac_session_timer.xml", "4930123456", 2, &[]);
    rig.assert_sipp_ok(&output, "uac_session_timer x2");
    assert_plain_calls(&rig, 2);
    let log = std::fs::read_to_string(rig.dir.path().join("tandem.log")).unwrap_or_default();
    assert!(
        log.contains("SessionExpired"),
        "no session expiry logged:\n{log}"
    );
    rig.stop_and_replay();
}

#[test]
fn reliable_ringing_is_pracked_before_the_answer() {
    let mut rig = Rig::start(RigOptions::default());
    let output = rig.sipp("uac_prack.xml", "4930123456", 5, &[]);
    rig.assert_sipp_ok(&output, "uac_prack x5");
    assert_plain_calls(&rig, 5);
    rig.stop_and_replay();
}

#[test]
fn cancel_crossing_the_answer_ends_cleanly_either_way() {
    let mut rig = Rig::start(RigOptions {
        exchange: Exchange::Serve {
            scenario: Some(repo().join("tests/e2e/data/answer_right_after_ringing.toml")),
        },
        ..RigOptions::default()
    });
    let output = rig.sipp("uac_cancel_race.xml", "4930123456", 10, &[]);
    rig.assert_sipp_ok(&output, "uac_cancel_race x10");
    let stats = rig.wait_for(Duration::from_secs(20), "every circuit idle", |s| {
        Rig::count(s, "sent", "RLC") + Rig::count(s, "received", "RLC") >= 10
            && s["busy_cics"].as_u64() == Some(0)
    });
    assert_eq!(Rig::count(&stats, "received", "IAM"), 10, "{stats}");
    rig.stop_and_replay();
}
