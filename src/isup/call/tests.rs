//! Call control tests: both call directions, release both ways, timers and bad input.

use super::*;
use crate::isup::codec::{CalledPartyNumber, Digits};
use proptest::prelude::*;

fn control() -> CallControl {
    CallControl::new(CallControlConfig::new(1, 4)).unwrap()
}

fn sample_iam() -> Iam {
    Iam {
        called_party_number: CalledPartyNumber {
            nature_of_address: 3,
            numbering_plan: 1,
            digits: Digits::parse("4930123456").unwrap(),
            ..Default::default()
        },
        calling_partys_category: crate::isup::codec::CallingPartysCategory::ORDINARY,
        ..Default::default()
    }
}

fn transmitted(control: &mut CallControl) -> Vec<IsupMessage> {
    std::iter::from_fn(|| control.poll_transmit()).collect()
}

fn events(control: &mut CallControl) -> Vec<CallEvent> {
    std::iter::from_fn(|| control.poll_event()).collect()
}

fn transitions(control: &mut CallControl) -> Vec<(String, String)> {
    std::iter::from_fn(|| control.poll_transition())
        .map(|t| (t.from, t.to))
        .collect()
}

fn types(messages: &[IsupMessage]) -> Vec<MessageType> {
    messages.iter().map(|m| m.message_type).collect()
}

/// Feeds `message` as the peer would send it: encoded, through `handle_bytes`.
fn receive(control: &mut CallControl, message: IsupMessage, now_ms: u64) {
    control.handle_bytes(&message.encode(), now_ms);
}

#[test]
fn outgoing_call_happy_path() {
    let mut control = control();
    let cic = control.setup(sample_iam(), 0).unwrap();
    assert_eq!(cic, Cic(1));
    let sent = transmitted(&mut control);
    assert_eq!(types(&sent), [MessageType::IAM]);
    assert_eq!(
        sent[0]
            .called_party_number()
            .unwrap()
            .unwrap()
            .digits
            .to_string(),
        "4930123456"
    );
    assert!(control.is_timer_running(cic, Timer::T7));
    assert_eq!(control.poll_timeout(), Some(25_000));

    let bci = BackwardCallIndicators {
        called_party_status: 1,
        ..Default::default()
    };
    receive(&mut control, IsupMessage::acm(cic, bci, Vec::new()), 1_000);
    assert!(matches!(
        events(&mut control)[..],
        [CallEvent::Alerting { cic: Cic(1), .. }]
    ));
    assert!(!control.is_timer_running(cic, Timer::T7));
    assert_eq!(control.poll_timeout(), Some(91_000));

    receive(
        &mut control,
        IsupMessage::cpg(
            cic,
            EventInformation::new(EventInformation::IN_BAND_INFORMATION),
        ),
        2_000,
    );
    assert!(matches!(
        events(&mut control)[..],
        [CallEvent::Progress { .. }]
    ));
    receive(&mut control, IsupMessage::anm(cic), 3_000);
    assert!(matches!(
        events(&mut control)[..],
        [CallEvent::Answered { .. }]
    ));
    assert_eq!(control.poll_timeout(), None);

    control
        .release(cic, causes::NORMAL_CALL_CLEARING, 10_000)
        .unwrap();
    let sent = transmitted(&mut control);
    assert_eq!(types(&sent), [MessageType::REL]);
    assert_eq!(sent[0].cause_indicators().unwrap().unwrap().cause_value, 16);
    assert!(control.is_timer_running(cic, Timer::T1) && control.is_timer_running(cic, Timer::T5));

    receive(&mut control, IsupMessage::rlc(cic), 10_050);
    assert_eq!(events(&mut control), [CallEvent::ReleaseComplete { cic }]);
    assert_eq!(control.state(cic), Some(&CallState::Idle));
    assert_eq!(control.pool().busy_count(), 0);
    assert_eq!(control.poll_timeout(), None);
    let expected = [
        ("Idle", "AwaitingAddressComplete"),
        ("AwaitingAddressComplete", "AwaitingAnswer"),
        ("AwaitingAnswer", "AnsweredOutgoing"),
        ("AnsweredOutgoing", "AwaitingReleaseComplete"),
        ("AwaitingReleaseComplete", "Idle"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(transitions(&mut control), expected);
}

#[test]
fn outgoing_call_answered_by_connect() {
    let mut control = control();
    let cic = control.setup(sample_iam(), 0).unwrap();
    receive(
        &mut control,
        IsupMessage::con(cic, BackwardCallIndicators::default()),
        500,
    );
    assert!(matches!(
        events(&mut control)[..],
        [CallEvent::Answered { .. }]
    ));
    assert_eq!(control.poll_timeout(), None);
}

#[test]
fn incoming_call_happy_path_and_remote_release() {
    let mut control = control();
    receive(&mut control, IsupMessage::iam(Cic(3), sample_iam()), 0);
    let CallEvent::IncomingSetup { cic, iam } = &events(&mut control)[0] else {
        panic!("expected IncomingSetup");
    };
    assert_eq!(*cic, Cic(3));
    assert_eq!(iam.to_iam().unwrap(), sample_iam());
    assert_eq!(control.pool().busy_count(), 1);

    // The outgoing side must not pick a circuit an incoming call holds.
    control
        .alert(Cic(3), BackwardCallIndicators::default(), Vec::new())
        .unwrap();
    control
        .progress(Cic(3), EventInformation::new(EventInformation::ALERTING))
        .unwrap();
    assert!(control.answer(Cic(2)).is_err());
    control.answer(Cic(3)).unwrap();
    assert_eq!(
        types(&transmitted(&mut control)),
        [MessageType::ACM, MessageType::CPG, MessageType::ANM]
    );

    receive(
        &mut control,
        IsupMessage::rel(Cic(3), &CauseIndicators::new(16, 0)),
        60_000,
    );
    assert_eq!(types(&transmitted(&mut control)), [MessageType::RLC]);
    assert_eq!(
        events(&mut control),
        [CallEvent::Released {
            cic: Cic(3),
            cause: CauseIndicators::new(16, 0)
        }]
    );
    assert_eq!(control.state(Cic(3)), Some(&CallState::Idle));
    assert_eq!(control.pool().busy_count(), 0);
}

#[test]
fn incoming_connect_and_commands_checked_against_state() {
    let mut control = control();
    assert!(matches!(
        control.alert(Cic(1), Default::default(), Vec::new()),
        Err(IsupCallError::InvalidState { .. })
    ));
    assert!(control.release(Cic(9), 16, 0).is_err());
    receive(&mut control, IsupMessage::iam(Cic(2), sample_iam()), 0);
    control
        .connect(Cic(2), BackwardCallIndicators::default())
        .unwrap();
    assert_eq!(types(&transmitted(&mut control)), [MessageType::CON]);
    assert_eq!(
        control.state(Cic(2)),
        Some(&CallState::Answered {
            direction: Direction::Incoming
        })
    );
}

#[test]
fn release_on_idle_and_stray_release_complete() {
    let mut control = control();
    receive(
        &mut control,
        IsupMessage::rel(Cic(2), &CauseIndicators::new(16, 0)),
        0,
    );
    assert_eq!(types(&transmitted(&mut control)), [MessageType::RLC]);
    assert!(events(&mut control).is_empty());
    receive(&mut control, IsupMessage::rlc(Cic(2)), 0);
    assert!(transmitted(&mut control).is_empty());
    assert!(events(&mut control).is_empty());
    assert!(transitions(&mut control).is_empty());
}

#[test]
fn release_collision_completes_both_ways() {
    let mut control = control();
    let cic = control.setup(sample_iam(), 0).unwrap();
    control.release(cic, 16, 100).unwrap();
    transmitted(&mut control);
    receive(
        &mut control,
        IsupMessage::rel(cic, &CauseIndicators::new(16, 0)),
        150,
    );
    assert_eq!(types(&transmitted(&mut control)), [MessageType::RLC]);
    assert_eq!(events(&mut control), [CallEvent::ReleaseComplete { cic }]);
    assert_eq!(control.poll_timeout(), None);
    // The peer's late RLC to our REL hits an idle circuit and is ignored.
    receive(&mut control, IsupMessage::rlc(cic), 200);
    assert!(events(&mut control).is_empty());
}

#[test]
fn t7_expiry_releases_with_configured_cause() {
    let mut control = control();
    let cic = control.setup(sample_iam(), 0).unwrap();
    transmitted(&mut control);
    control.handle_timeout(24_999);
    assert!(transmitted(&mut control).is_empty());
    control.handle_timeout(25_000);
    let sent = transmitted(&mut control);
    assert_eq!(types(&sent), [MessageType::REL]);
    assert_eq!(sent[0].cause_indicators().unwrap().unwrap().cause_value, 31);
    assert_eq!(
        events(&mut control),
        [CallEvent::TimerExpired {
            cic,
            timer: Timer::T7,
            cause: Some(31)
        }]
    );
    assert!(matches!(
        control.state(cic),
        Some(CallState::AwaitingReleaseComplete { .. })
    ));
}

#[test]
fn t9_expiry_releases_with_no_answer() {
    let mut control = control();
    let cic = control.setup(sample_iam(), 0).unwrap();
    receive(
        &mut control,
        IsupMessage::acm(cic, Default::default(), Vec::new()),
        1_000,
    );
    transmitted(&mut control);
    events(&mut control);
    control.handle_timeout(91_000);
    let sent = transmitted(&mut control);
    assert_eq!(sent[0].cause_indicators().unwrap().unwrap().cause_value, 19);
    assert_eq!(
        events(&mut control),
        [CallEvent::TimerExpired {
            cic,
            timer: Timer::T9,
            cause: Some(19)
        }]
    );
}

#[test]
fn t1_repeats_release_and_t5_resets_the_circuit() {
    let mut control = control();
    let cic = control.setup(sample_iam(), 0).unwrap();
    control.release(cic, 16, 0).unwrap();
    let first_rel = transmitted(&mut control).pop().unwrap();
    control.handle_timeout(15_000);
    assert_eq!(transmitted(&mut control), std::slice::from_ref(&first_rel));
    control.handle_timeout(30_000);
    assert_eq!(transmitted(&mut control), [first_rel]);
    events(&mut control);

    let mut now = 30_000;
    while now < 300_000 {
        now = control.poll_timeout().unwrap().min(300_000);
        control.handle_timeout(now);
    }
    let sent = transmitted(&mut control);
    assert_eq!(sent.last().map(|m| m.message_type), Some(MessageType::RSC));
    assert!(events(&mut control).contains(&CallEvent::TimerExpired {
        cic,
        timer: Timer::T5,
        cause: None
    }));
    assert_eq!(
        control.state(cic),
        Some(&CallState::AwaitingResetAcknowledgement)
    );
    assert!(!control.is_timer_running(cic, Timer::T1));
    assert!(control.is_timer_running(cic, Timer::T17));
    // T17 repeats RSC.
    control.handle_timeout(600_000);
    assert_eq!(types(&transmitted(&mut control)), [MessageType::RSC]);
    receive(&mut control, IsupMessage::rlc(cic), 600_100);
    assert!(events(&mut control).contains(&CallEvent::ReleaseComplete { cic }));
    assert_eq!(control.state(cic), Some(&CallState::Idle));
    assert_eq!(control.poll_timeout(), None);
}

#[test]
fn pending_resets_are_sent_again_when_the_path_is_back() {
    let mut control = control();
    let (resetting, idle) = (Cic(2), Cic(3));
    control.reset(resetting, 0).unwrap();
    transmitted(&mut control);
    assert!(control.is_timer_running(resetting, Timer::T16));
    let t16 = crate::isup::timer::IsupTimers::default().t16_ms;

    // Well before T16: only the circuit awaiting RLC gets its RSC again.
    let back = 5_000;
    assert_eq!(control.resend_pending_resets(back), [resetting]);
    let sent = transmitted(&mut control);
    assert_eq!(types(&sent), [MessageType::RSC]);
    assert_eq!(sent[0].cic, resetting);
    assert_eq!(control.state(idle), Some(&CallState::Idle));
    // T16 runs from the resend, so the next automatic RSC is not right behind this one.
    assert_eq!(control.poll_timeout(), Some(back + t16));
    control.handle_timeout(t16);
    assert!(transmitted(&mut control).is_empty());
    control.handle_timeout(back + t16);
    assert_eq!(types(&transmitted(&mut control)), [MessageType::RSC]);

    receive(&mut control, IsupMessage::rlc(resetting), back + t16 + 100);
    assert_eq!(control.state(resetting), Some(&CallState::Idle));
    assert!(control.resend_pending_resets(back + t16 + 200).is_empty());
    assert!(transmitted(&mut control).is_empty());
}

#[test]
fn reset_received_clears_call_and_answers_rlc() {
    let mut control = control();
    let cic = control.setup(sample_iam(), 0).unwrap();
    transmitted(&mut control);
    receive(&mut control, IsupMessage::rsc(cic), 10);
    assert_eq!(types(&transmitted(&mut control)), [MessageType::RLC]);
    assert!(matches!(
        events(&mut control)[..],
        [CallEvent::Released { .. }]
    ));
    assert_eq!(control.poll_timeout(), None);
}

#[test]
fn group_reset_resets_range_and_acknowledges() {
    let mut control = control();
    control.setup(sample_iam(), 0).unwrap();
    control.setup(sample_iam(), 0).unwrap();
    transmitted(&mut control);
    receive(&mut control, IsupMessage::grs(Cic(1), 3), 10);
    let sent = transmitted(&mut control);
    assert_eq!(
        sent,
        [IsupMessage::gra(
            Cic(1),
            &RangeAndStatus {
                range: 3,
                status: vec![0]
            }
        )]
    );
    assert_eq!(control.pool().busy_count(), 0);
    assert_eq!(events(&mut control).len(), 2);
}

#[test]
fn blocking_by_peer_steers_allocation() {
    let mut control = control();
    receive(&mut control, IsupMessage::bare(Cic(1), MessageType::BLO), 0);
    assert_eq!(types(&transmitted(&mut control)), [MessageType::BLA]);
    assert_eq!(control.setup(sample_iam(), 0).unwrap(), Cic(2));
    receive(&mut control, IsupMessage::bare(Cic(1), MessageType::UBL), 0);
    assert_eq!(control.setup(sample_iam(), 0).unwrap(), Cic(1));
}

#[test]
fn no_circuit_available_is_cause_34() {
    let mut control = CallControl::new(CallControlConfig::new(7, 7)).unwrap();
    control.setup(sample_iam(), 0).unwrap();
    let error = control.setup(sample_iam(), 0).unwrap_err();
    assert_eq!(error.cause(), 34);
}

#[test]
fn malformed_input_gets_q764_answers() {
    let mut control = control();
    control.handle_bytes(&[], 0);
    control.handle_bytes(&[0x01], 0);
    assert!(transmitted(&mut control).is_empty());
    assert!(events(&mut control)
        .iter()
        .all(|e| matches!(e, CallEvent::ProtocolError { cic: None, .. })));

    // ACM cut short on an idle circuit: CFN with cause 111.
    control.handle_bytes(&[0x02, 0x00, 0x06, 0x16], 0);
    let sent = transmitted(&mut control);
    assert_eq!(types(&sent), [MessageType::CFN]);
    assert_eq!(
        sent[0].cause_indicators().unwrap().unwrap().cause_value,
        111
    );
    assert!(matches!(
        events(&mut control)[..],
        [CallEvent::ProtocolError {
            cause: Some(111),
            ..
        }]
    ));

    // IAM with an empty called party number: refused with REL cause 100.
    let iam = IsupMessage::with_parameters(
        Cic(3),
        MessageType::IAM,
        vec![0, 0x20, 0x01, 0x0A, 0],
        vec![vec![]],
        Vec::new(),
    );
    receive(&mut control, iam, 0);
    let sent = transmitted(&mut control);
    assert_eq!(types(&sent), [MessageType::REL]);
    assert_eq!(
        sent[0].cause_indicators().unwrap().unwrap().cause_value,
        100
    );
    assert!(matches!(
        control.state(Cic(3)),
        Some(CallState::AwaitingReleaseComplete { .. })
    ));

    // Unknown message type: CFN 97 with the type as diagnostic.
    control.handle_bytes(&[0x04, 0x00, 0x0A], 0);
    let sent = transmitted(&mut control);
    let cause = sent[0].cause_indicators().unwrap().unwrap();
    assert_eq!((cause.cause_value, cause.diagnostics), (97, vec![0x0A]));

    // Malformed CFN is never answered; CIC outside the group is only reported.
    control.handle_bytes(&[0x04, 0x00, 0x2F, 0x09], 0);
    control.handle_bytes(&[0x40, 0x00, 0x06, 0x16], 0);
    assert!(transmitted(&mut control).is_empty());
}

#[test]
fn unexpected_answer_on_idle_circuit_resets_it() {
    let mut control = control();
    receive(&mut control, IsupMessage::anm(Cic(4)), 0);
    assert_eq!(types(&transmitted(&mut control)), [MessageType::RSC]);
    assert_eq!(
        control.state(Cic(4)),
        Some(&CallState::AwaitingResetAcknowledgement)
    );
    control.handle_timeout(30_000);
    assert_eq!(types(&transmitted(&mut control)), [MessageType::RSC]);
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics_and_pool_tracks_states(
        inputs in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<u8>(), 0..24), 0u64..400_000), 0..40)
    ) {
        let mut control = control();
        let mut now = 0;
        for (kind, bytes, step) in inputs {
            now += step;
            match kind {
                0 => {
                    let mut message = vec![bytes.first().copied().unwrap_or(1) % 6, 0];
                    message.extend(bytes.iter().skip(1));
                    control.handle_bytes(&message, now);
                }
                1 => { let _ = control.setup(sample_iam(), now); }
                2 => { control.handle_timeout(now); }
                _ => {
                    let cic = Cic(u16::from(bytes.first().copied().unwrap_or(0) % 6));
                    let _ = control.release(cic, 16, now);
                    let _ = control.alert(cic, Default::default(), Vec::new());
                    let _ = control.answer(cic);
                }
            }
            while control.poll_transmit().is_some() {}
            while control.poll_event().is_some() {}
            while control.poll_transition().is_some() {}
            let busy = (1..=4).filter(|c| control.state(Cic(*c)) != Some(&CallState::Idle)).count();
            prop_assert_eq!(control.pool().busy_count(), busy);
        }
    }
}

#[test]
fn dual_seizure_lost_repeats_our_call_on_another_circuit() {
    let mut control = control(); // controls even CICs
    let cic = control.setup(sample_iam(), 0).unwrap();
    assert_eq!(cic, Cic(1));
    transmitted(&mut control);
    receive(&mut control, IsupMessage::iam(cic, sample_iam()), 100);
    let sent = transmitted(&mut control);
    assert_eq!(types(&sent), [MessageType::IAM]);
    assert_eq!(sent[0].cic, Cic(2));
    let events = events(&mut control);
    assert_eq!(
        events[0],
        CallEvent::Reattempted {
            cic,
            new_cic: Some(Cic(2))
        }
    );
    assert!(matches!(
        events[1],
        CallEvent::IncomingSetup { cic: Cic(1), .. }
    ));
    assert_eq!(control.state(cic), Some(&CallState::IncomingPresented));
    assert!(matches!(
        control.state(Cic(2)),
        Some(CallState::AwaitingAddressComplete { .. })
    ));
    assert!(!control.is_timer_running(cic, Timer::T7));
    assert!(control.is_timer_running(Cic(2), Timer::T7));
}

#[test]
fn dual_seizure_won_ignores_the_peer_iam() {
    let config = CallControlConfig {
        controlled_circuits: ControlledCircuits::Odd,
        ..CallControlConfig::new(1, 4)
    };
    let mut control = CallControl::new(config).unwrap();
    let cic = control.setup(sample_iam(), 0).unwrap();
    transmitted(&mut control);
    receive(&mut control, IsupMessage::iam(cic, sample_iam()), 100);
    assert!(transmitted(&mut control).is_empty());
    assert!(matches!(
        events(&mut control)[..],
        [CallEvent::ProtocolError { .. }]
    ));
    assert!(matches!(
        control.state(cic),
        Some(CallState::AwaitingAddressComplete { .. })
    ));
}
