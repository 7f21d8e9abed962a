//! The full SIP → ISUP call path across the two SCTP stacks: tandem on userspace SCTP (usrsctp, UDP-encapsulated
//! per RFC 6951) calls ss7sim on Linux kernel SCTP, which takes the encapsulated association on
//! `net.sctp.udp_port` (scripts/test starts the lab with 9899). SIPp calls pass, and the log replays.

use std::time::Duration;

use tandem::sigtran::sctp::kernel_sctp_available;

use crate::harness::{Rig, RigOptions, Transport};

#[test]
fn calls_from_userspace_sctp_to_a_kernel_sctp_exchange() {
    let port = crate::kernel_udp_port();
    if !kernel_sctp_available() || port == 0 {
        eprintln!("skipped: needs kernel SCTP with net.sctp.udp_port set (sctp-lab --sysctl; scripts/test does)");
        return;
    }
    let mut rig = Rig::start(RigOptions {
        transport: Transport::Udp,
        exchange_transport: Some(Transport::Kernel),
        udp_remote_port: Some(port),
        ..RigOptions::default()
    });
    let log = std::fs::read_to_string(rig.dir.path().join("ss7sim.log")).unwrap_or_default();
    assert!(
        log.contains("(Kernel)"),
        "ss7sim listens on kernel SCTP:\n{log}"
    );
    let output = rig.sipp("uac_basic.xml", "4930123456", 5, &[]);
    rig.assert_sipp_ok(&output, "uac_basic x5 from usrsctp to kernel SCTP");
    let stats = rig.wait_for(Duration::from_secs(10), "5 RLC sent", |s| {
        Rig::count(s, "sent", "RLC") >= 5
    });
    assert_eq!(Rig::count(&stats, "received", "IAM"), 5, "{stats}");
    let tandem = std::fs::read_to_string(rig.dir.path().join("tandem.log")).unwrap_or_default();
    assert!(
        tandem
            .lines()
            .any(|l| l.contains("SCTP association up") && l.contains("Udp")),
        "tandem's association is userspace SCTP:\n{tandem}"
    );
    rig.stop_and_replay();
}
