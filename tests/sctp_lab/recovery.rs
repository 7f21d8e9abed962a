//! Association loss and recovery over kernel SCTP: the exchange is killed (its kernel aborts the association) while
//! one call is answered and one is ringing, then started again. The ringing call fails with the table's cause for
//! a lost signalling link (41 → 503), the answered call stays up and is released normally after the link is back,
//! tandem reconnects by itself, and a new call passes; the log replays.

use std::process::Output;
use std::time::Duration;

use tandem::sigtran::sctp::kernel_sctp_available;

use crate::harness::{Rig, RigOptions, Transport};

#[test]
fn association_loss_clears_calls_in_setup_keeps_answered_ones_and_recovers() {
    if !kernel_sctp_available() {
        eprintln!(
            "skipped: no kernel SCTP here (run this target in the sctp lab; scripts/test does)"
        );
        return;
    }
    let mut rig = Rig::start(RigOptions {
        transport: Transport::Kernel,
        ..RigOptions::default()
    });
    // Answered, then held for 10 s before the BYE; and one that rings, which the lost link must end with 503.
    let (held, ringing) = rig.hold_one_ring_one(10_000);
    rig.kill_exchange();
    rig.wait_for_tandem_log(Duration::from_secs(10), "SCTP association down");
    let ringing: Output = ringing.wait_with_output().expect("sipp");
    rig.assert_sipp_ok(
        &ringing,
        "ringing call ended with 503 when the link went down",
    );
    rig.restart_exchange();
    let stats = rig.wait_for(Duration::from_secs(20), "tandem's ASP active again", |s| {
        s["asp_active"] == serde_json::Value::Bool(true)
    });
    assert_eq!(stats["associations"], 1, "{stats}");
    let held: Output = held.wait_with_output().expect("sipp");
    rig.assert_sipp_ok(
        &held,
        "answered call held across the outage, released after it",
    );
    // Its REL went out on the new association.
    rig.wait_for(Duration::from_secs(10), "REL of the held call", |s| {
        Rig::count(s, "received", "REL") >= 1
    });
    let output = rig.sipp("uac_basic.xml", "4930123456", 2, &[]);
    rig.assert_sipp_ok(&output, "calls after recovery");
    rig.wait_for(Duration::from_secs(10), "2 more calls answered", |s| {
        Rig::count(s, "sent", "ANM") >= 2
    });
    rig.stop_and_replay();
}
