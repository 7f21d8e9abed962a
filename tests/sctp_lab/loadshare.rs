//! Two tandem ASPs in one loadshare AS of a real STP: tandem's trunk has two kernel-SCTP associations to
//! osmo-stp, configured there as two ASPs of one loadshare AS (`tests/data/osmo-stp-loadshare.cfg`); ss7sim is the
//! exchange behind the STP. Both ASPs must become active, twenty held calls must pass with tandem's ISUP on both
//! associations, and all of them must be released cleanly, with a log that replays exactly.
//!
//! Stopping one of the two ASPs at the STP cannot be done with osmo-stp 1.6 (Debian 12): `shutdown` on an ASP
//! answers "Not supported yet", and `no asp NAME` on a connected ASP kills osmo-stp. The failover half of the check
//! therefore runs on the host against ss7sim (`tests/e2e/loadshare.rs`), which can stop one ASP of its AS.
//!
//! osmo-stp 1.6 shares a loadshare AS's traffic round-robin, not by SLS, so one circuit's ACM and ANM can reach
//! tandem on different associations and overtake each other (seen: a delayed ACM arriving after the ANM, which
//! tandem rightly discards). The exchange here answers a second after its ACM so the SIP side sees 180 then 200.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tandem::events::store::EventReader;
use tandem::events::{EventKind, Input, Output};
use tandem::sigtran::m3ua::{M3uaMessage, MessageType};

use crate::harness::{late_answer_scenario, Exchange, Rig, RigOptions, Stp, StpRouting, Transport};
use crate::stp::{pc, OwnStp};

const LOADSHARE_STP: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 2925);

/// M3UA DATA tandem sent on links `pstn/a` and `pstn/b`, and how often any association went down.
fn data_sent_by_link(log: &std::path::Path) -> ([u64; 2], u64) {
    let events = EventReader::open(log)
        .expect("open log")
        .all()
        .expect("read log");
    let mut counts = [0u64; 2];
    let mut downs = 0;
    for event in &events {
        match &event.kind {
            EventKind::Input(Input::SctpDown { .. }) => downs += 1,
            EventKind::Output(Output::M3uaSend { trunk, data, .. }) => {
                let is_data =
                    M3uaMessage::decode(&data.0).is_ok_and(|m| m.message_type == MessageType::Data);
                let index = match trunk.as_str() {
                    "pstn/a" => 0,
                    "pstn/b" => 1,
                    _ => continue,
                };
                if is_data {
                    counts[index] += 1;
                }
            }
            _ => {}
        }
    }
    (counts, downs)
}

#[test]
fn twenty_held_calls_share_two_asps_of_a_loadshare_as_at_osmo_stp() {
    let Some(stp) = OwnStp::start_with("tests/data/osmo-stp-loadshare.cfg", LOADSHARE_STP) else {
        return;
    };
    let (_scenario_dir, scenario) = late_answer_scenario(1050);
    let mut rig = Rig::start(RigOptions {
        transport: Transport::Kernel,
        exchange: Exchange::Serve {
            scenario: Some(scenario),
        },
        stp: Some(Stp {
            address: LOADSHARE_STP,
            tandem_pc: pc(0, 24, 2),
            exchange_pc: pc(0, 24, 3),
            routing: StpRouting::Static {
                tandem_rc: 21,
                tandem_port: 29222,
                exchange_rc: 22,
                exchange_port: 29223,
            },
        }),
        // Association a inherits the trunk's local port 29222; b binds 29224.
        trunk_extra: "[[trunk.association]]\nname = \"a\"\n\n\
                      [[trunk.association]]\nname = \"b\"\nlocal = \"127.0.0.1:29224\"\n"
            .into(),
        ..RigOptions::default()
    });
    rig.wait_for_tandem_log_times(Duration::from_secs(20), "ASP ActivePending -> Active", 2);

    let sipp = rig
        .sipp_command("uac_basic.xml", "4930123456", 20, &["-d", "5000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sipp");
    rig.wait_for(Duration::from_secs(30), "20 calls answered", |s| {
        s["busy_cics"].as_u64() == Some(20) && Rig::count(s, "sent", "ANM") >= 20
    });
    let stats = rig.stats();
    assert_eq!(stats["busy_cics"].as_u64(), Some(20), "{stats}");

    let output = sipp.wait_with_output().expect("sipp finishes");
    rig.assert_sipp_ok(&output, "uac_basic x20 held through two ASPs");
    let released = rig.wait_for(Duration::from_secs(20), "20 REL answered by RLC", |s| {
        Rig::count(s, "sent", "RLC") >= 20 && s["busy_cics"].as_u64() == Some(0)
    });
    assert_eq!(Rig::count(&released, "received", "REL"), 20, "{released}");

    let output = rig.sipp("uac_basic.xml", "4930123456", 5, &[]);
    rig.assert_sipp_ok(&output, "uac_basic x5 more");
    rig.wait_for(Duration::from_secs(20), "25 RLC sent", |s| {
        Rig::count(s, "sent", "RLC") >= 25 && s["busy_cics"].as_u64() == Some(0)
    });
    rig.stop_and_replay();

    let ([a, b], downs) = data_sent_by_link(&rig.log);
    assert!(
        a > 0 && b > 0,
        "tandem's ISUP used both associations: a {a}, b {b}\n{}",
        stp.log()
    );
    // 25 calls: IAM and REL each (the RLCs come from the exchange).
    assert!(a + b >= 50, "a {a}, b {b}");
    assert_eq!(downs, 0, "no association failed");
}
