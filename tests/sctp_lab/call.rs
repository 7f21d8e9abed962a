//! The basic call over kernel SCTP: tandem and ss7sim both in the lab guest, SIPp on the SIP side, and the log
//! replayed afterwards.

use std::time::Duration;

use tandem::sigtran::sctp::kernel_sctp_available;

use crate::harness::{Rig, RigOptions, Transport};

#[test]
fn basic_calls_over_kernel_sctp() {
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
    let output = rig.sipp("uac_basic.xml", "4930123456", 10, &[]);
    rig.assert_sipp_ok(&output, "uac_basic x10 over kernel SCTP");
    let stats = rig.wait_for(Duration::from_secs(10), "10 RLC sent", |s| {
        Rig::count(s, "sent", "RLC") >= 10
    });
    assert_eq!(Rig::count(&stats, "received", "IAM"), 10, "{stats}");
    assert_eq!(Rig::count(&stats, "sent", "ANM"), 10, "{stats}");
    let busy = rig.wait_for(Duration::from_secs(10), "all CICs idle", |s| {
        s["busy_cics"].as_u64() == Some(0)
    });
    assert_eq!(busy["busy_cics"], 0);
    rig.stop_and_replay();
}
