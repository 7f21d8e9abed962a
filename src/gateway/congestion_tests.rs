//! SCON throttling through the whole core: new calls toward a congested destination are admitted at the level's
//! share and the rest refused with the table's `congestion` cause; the level abates without fresh SCON.

use super::tests::{invite, Bench};
use crate::events::{EventKind, Input, Payload};
use crate::isup::MessageType as IsupType;
use crate::sigtran::m3ua::{M3uaMessage, MessageType, Parameter, PointCodeEntry};

fn scon(level: u32) -> Input {
    Input::M3uaReceived {
        trunk: "pstn".into(),
        stream: 0,
        data: Payload(
            M3uaMessage::new(
                MessageType::SignallingCongestion,
                vec![
                    Parameter::AffectedPointCode(vec![PointCodeEntry::exact(2)]),
                    Parameter::CongestionIndications(level),
                ],
            )
            .encode(),
        ),
    }
}

/// Offers `calls` INVITEs; returns (IAMs the exchange got, 503s with cause 42 tandem answered).
fn offer(bench: &mut Bench, calls: u32, tag: &str) -> (usize, usize) {
    let iams = |b: &Bench| {
        b.isup_in
            .iter()
            .filter(|m| m.message_type == IsupType::IAM)
            .count()
    };
    let refusals = |b: &Bench| {
        b.sip_out
            .iter()
            .filter(|m| m.starts_with("SIP/2.0 503") && m.contains("Reason: Q.850;cause=42"))
            .count()
    };
    let (iams_before, refusals_before) = (iams(bench), refusals(bench));
    for call in 0..calls {
        bench.sip(&invite("+4930123456", &format!("{tag}{call}")));
    }
    (iams(bench) - iams_before, refusals(bench) - refusals_before)
}

#[test]
fn scon_throttles_new_calls_by_level_and_congestion_abates() {
    let mut bench = Bench::new();
    // Defaults: levels 1, 2, 3 admit 50 %, 25 %, 0 %; 5 s without SCON lowers the level by one.
    bench.feed(scon(2));
    assert_eq!(
        offer(&mut bench, 8, "a"),
        (2, 6),
        "a quarter admitted at level 2"
    );
    bench.feed(scon(3));
    assert_eq!(offer(&mut bench, 4, "b"), (0, 4), "none at level 3");
    // SCON again after 4 s restarts the abatement timer: still level 3 at 8 s.
    bench.advance(4_000);
    bench.feed(scon(3));
    bench.advance(4_000);
    assert_eq!(offer(&mut bench, 2, "c"), (0, 2));
    bench.advance(1_000); // 5 s after the last SCON: level 2
    bench.advance(5_000); // level 1
    assert_eq!(
        offer(&mut bench, 2, "d"),
        (1, 1),
        "half admitted at level 1"
    );
    bench.advance(5_000); // congestion over
    assert_eq!(offer(&mut bench, 3, "e"), (3, 0));
    let destination: Vec<String> = bench
        .log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Transition(t) if t.machine == "m3ua_destination" => {
                Some(format!("{}>{} ({})", t.from, t.to, t.reason))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        destination,
        [
            "Unknown>Available (DAVA received)",
            "Available>Congested2 (SCON received)",
            "Congested2>Congested3 (SCON received)",
            "Congested3>Congested2 (no SCON for 5000 ms)",
            "Congested2>Congested1 (no SCON for 5000 ms)",
            "Congested1>Available (no SCON for 5000 ms)",
        ]
    );
    assert!(bench
        .logs()
        .iter()
        .any(|l| l == "trunk pstn: destination congested (level 3), call throttled"));
}

#[test]
fn dava_ends_congestion_at_once() {
    let mut bench = Bench::new();
    bench.feed(scon(3));
    assert_eq!(offer(&mut bench, 1, "a"), (0, 1));
    bench.feed(Input::M3uaReceived {
        trunk: "pstn".into(),
        stream: 0,
        data: Payload(
            M3uaMessage::new(
                MessageType::DestinationAvailable,
                vec![Parameter::AffectedPointCode(vec![PointCodeEntry::exact(2)])],
            )
            .encode(),
        ),
    });
    assert_eq!(offer(&mut bench, 2, "b"), (2, 0));
}

/// Q.764 §2.11: a REL carrying an Automatic Congestion Level throttles new calls toward that exchange like SCON.
#[test]
fn acl_in_a_rel_throttles_like_scon() {
    use crate::isup::codec::{CauseIndicators, ParameterCode};
    use crate::isup::{Cic, IsupMessage};
    use crate::sigtran::m3ua::ProtocolData;
    let mut bench = Bench::new();
    assert_eq!(offer(&mut bench, 1, "a"), (1, 0));
    let cic = bench
        .isup_in
        .iter()
        .rev()
        .find(|m| m.message_type == IsupType::IAM)
        .map(|m| m.cic)
        .expect("IAM");
    let cause = CauseIndicators {
        location: 2,
        coding_standard: 0,
        recommendation: None,
        cause_value: 42,
        diagnostics: Vec::new(),
    };
    let rel = IsupMessage::rel(Cic(cic.0), &cause)
        .with_optional(ParameterCode::AUTOMATIC_CONGESTION_LEVEL, vec![2]);
    let data = ProtocolData {
        opc: 2,
        dpc: 1,
        si: 5,
        ni: 2,
        mp: 0,
        sls: 0,
        user_data: rel.encode(),
    };
    bench.feed(Input::M3uaReceived {
        trunk: "pstn".into(),
        stream: 1,
        data: Payload(
            M3uaMessage::new(MessageType::Data, vec![Parameter::ProtocolData(data)]).encode(),
        ),
    });
    assert!(bench
        .logs()
        .iter()
        .any(|l| l == "trunk pstn: destination Available -> Congested2 (ACL in REL)"));
    assert_eq!(
        offer(&mut bench, 4, "b"),
        (1, 3),
        "a quarter admitted at level 2"
    );
    bench.advance(10_000);
    assert_eq!(
        offer(&mut bench, 2, "c"),
        (2, 0),
        "abated after two quiet periods"
    );
}
