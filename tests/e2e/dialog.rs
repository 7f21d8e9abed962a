//! In-dialog requests through the B2BUA: hold and resume by re-INVITE, UPDATE, INFO and OPTIONS are answered
//! by tandem itself (it owns the media), so the exchange sees an ordinary call: IAM … ANM, then REL/RLC.
//! Also a basic call with 30% of SIPp's packets lost, which only retransmissions can repair.

use std::time::Duration;

use crate::harness::{Rig, RigOptions};

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

#[test]
fn calls_survive_thirty_percent_loss() {
    let mut rig = Rig::start(RigOptions::default());
    // SIPp drops 30% of what it sends and receives; the transaction layers on both sides must retransmit.
    let output = rig.sipp("uac_lossy.xml", "4930123456", 5, &["-lost", "30"]);
    rig.assert_sipp_ok(&output, "uac_lossy x5 with -lost 30");
    assert_plain_calls(&rig, 5);
    rig.stop_and_replay();
}
