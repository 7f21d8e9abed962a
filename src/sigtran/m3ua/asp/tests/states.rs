//! ASP client transitions beyond the handshake: BEAT loss, and the ERR answer to invalid messages in each state
//! (RFC 4666 §4.3).

use super::*;

#[test]
fn beat_loss_makes_the_asp_start_over_and_an_ack_resets_the_count() {
    let mut pair = Pair::new(
        AspConfig {
            beat_interval_ms: Some(10_000),
            beat_loss_threshold: 3,
            ..AspConfig::default()
        },
        AspConfig::default(),
    );
    pair.up();
    // One BEAT answered, then the peer goes silent (nothing is delivered any more).
    pair.now = 10_000;
    pair.asp.handle_timeout(pair.now);
    pair.drive();
    assert_eq!(pair.asp.beats_missed, 0);
    let mut sent = Vec::new();
    for round in 2..=5u64 {
        pair.now = round * 10_000;
        pair.asp.handle_timeout(pair.now);
        sent.extend(std::iter::from_fn(|| pair.asp.poll_transmit()).map(|t| {
            M3uaMessage::decode(&t.data)
                .map(|m| m.message_type)
                .unwrap()
        }));
        if round < 5 {
            assert_eq!(pair.asp.state(), AspState::Active, "round {round}");
        }
    }
    // BEATs at 20, 30, 40 s went unanswered; at 50 s the third miss is counted: Down, then ASPUP.
    assert_eq!(
        sent,
        [
            MessageType::Heartbeat,
            MessageType::Heartbeat,
            MessageType::Heartbeat,
            MessageType::AspUp
        ]
    );
    assert_eq!(pair.asp.state(), AspState::UpPending);
    let downs: Vec<_> = std::iter::from_fn(|| pair.asp.poll_transition())
        .filter(|t| t.to == "Down")
        .collect();
    assert_eq!(downs.len(), 1);
    assert_eq!(downs[0].reason, "BEAT not acknowledged");
    assert_eq!(
        pair.asp.poll_timeout(),
        Some(50_000 + 2_000),
        "ASPUP retransmission armed, no BEAT"
    );
}

#[test]
fn beat_loss_threshold_zero_only_reports() {
    let mut asp = Asp::new(AspConfig {
        beat_interval_ms: Some(1_000),
        beat_loss_threshold: 0,
        ..AspConfig::default()
    });
    let mut sgp = Asp::new(AspConfig {
        role: Role::Sgp,
        ..AspConfig::default()
    });
    asp.handle_sctp_up(0);
    sgp.handle_sctp_up(0);
    for _ in 0..3 {
        while let Some(t) = asp.poll_transmit() {
            sgp.handle_bytes(t.stream, &t.data, 0);
        }
        while let Some(t) = sgp.poll_transmit() {
            asp.handle_bytes(t.stream, &t.data, 0);
        }
    }
    assert_eq!(asp.state(), AspState::Active);
    for second in 1..=10 {
        asp.handle_timeout(second * 1_000);
    }
    assert_eq!(asp.state(), AspState::Active);
    assert_eq!(asp.beats_missed, 9);
}

/// Brings a client ASP (against an Sgp, delivered by hand) into `state`.
fn client_in(state: AspState) -> Asp {
    let mut asp = Asp::new(AspConfig::default());
    if state == AspState::Down {
        return asp;
    }
    asp.handle_sctp_up(0);
    if state == AspState::UpPending {
        return asp;
    }
    let ack = |t: MessageType| M3uaMessage::new(t, vec![]).encode();
    asp.handle_bytes(0, &ack(MessageType::AspUpAck), 0);
    if state == AspState::ActivePending {
        return asp;
    }
    asp.handle_bytes(0, &ack(MessageType::AspActiveAck), 0);
    if state == AspState::Active {
        return asp;
    }
    asp.request_inactive(0).unwrap();
    if state == AspState::InactivePending {
        return asp;
    }
    asp.handle_bytes(0, &ack(MessageType::AspInactiveAck), 0);
    assert_eq!(asp.state(), state);
    asp
}

/// RFC 4666 §4.3: messages that make no sense in a state are answered with ERR "Unexpected Message" (and the state
/// stays); messages of classes or types that do not exist with "Unsupported Message Class/Type".
#[test]
fn invalid_messages_in_each_client_state_get_the_right_err() {
    use AspState as S;
    let states = [
        S::UpPending,
        S::ActivePending,
        S::Active,
        S::InactivePending,
        S::Inactive,
    ];
    // Requests only an SGP answers, each well-formed (mandatory parameters present).
    let key = Parameter::RoutingKey(vec![
        Parameter::LocalRoutingKeyIdentifier(1),
        Parameter::DestinationPointCode(PointCodeEntry::exact(2)),
    ]);
    let sgp_only = [
        (MessageType::AspUp, vec![]),
        (MessageType::AspActive, vec![]),
        (MessageType::AspInactive, vec![]),
        (MessageType::AspDown, vec![]),
        (MessageType::RegistrationRequest, vec![key]),
        (
            MessageType::DeregistrationRequest,
            vec![Parameter::RoutingContext(vec![1])],
        ),
    ];
    let mut cases: Vec<(Vec<u8>, u32)> = sgp_only
        .into_iter()
        .map(|(t, parameters)| {
            (
                M3uaMessage::new(t, parameters).encode(),
                error_code::UNEXPECTED_MESSAGE,
            )
        })
        .collect();
    // A REG-REQ without its Routing Key is malformed before it is unexpected.
    cases.push((
        M3uaMessage::new(MessageType::RegistrationRequest, vec![]).encode(),
        error_code::MISSING_PARAMETER,
    ));
    // Class 15 does not exist; class 3 (ASPSM) type 9 does not exist.
    cases.push((
        vec![1, 0, 15, 1, 0, 0, 0, 8],
        error_code::UNSUPPORTED_MESSAGE_CLASS,
    ));
    cases.push((
        vec![1, 0, 3, 9, 0, 0, 0, 8],
        error_code::UNSUPPORTED_MESSAGE_TYPE,
    ));
    cases.push((vec![2, 0, 3, 1, 0, 0, 0, 8], error_code::INVALID_VERSION));
    for state in states {
        for (bytes, code) in &cases {
            let mut asp = client_in(state);
            while asp.poll_transmit().is_some() {}
            asp.handle_bytes(0, bytes, 100);
            let replies: Vec<M3uaMessage> = std::iter::from_fn(|| asp.poll_transmit())
                .map(|t| M3uaMessage::decode(&t.data).unwrap())
                .collect();
            assert_eq!(replies.len(), 1, "{state:?} {bytes:02x?}: {replies:?}");
            assert_eq!(replies[0].message_type, MessageType::Error);
            assert_eq!(
                replies[0].error_code(),
                Some(*code),
                "{state:?} {bytes:02x?}"
            );
            assert_eq!(asp.state(), state, "{state:?} {bytes:02x?}: state kept");
        }
        // DATA before the ASP is up is unexpected too.
        if state == S::UpPending {
            let mut asp = client_in(state);
            while asp.poll_transmit().is_some() {}
            let data = M3uaMessage::new(MessageType::Data, vec![Parameter::ProtocolData(data(1))]);
            asp.handle_bytes(1, &data.encode(), 100);
            let reply = asp
                .poll_transmit()
                .map(|t| M3uaMessage::decode(&t.data).unwrap());
            assert_eq!(
                reply.and_then(|m| m.error_code()),
                Some(error_code::UNEXPECTED_MESSAGE)
            );
        }
    }
}

/// A client that registers a DPC-only routing key, against an Sgp serving `sgp_routing_context`.
fn registering_pair(sgp_routing_context: Option<u32>) -> Pair {
    Pair::new(
        AspConfig {
            register_routing_key: Some(RoutingKeyRequest {
                local_rk_id: 1,
                dpc: 0x0102,
                si: None,
                opc: None,
            }),
            ..AspConfig::default()
        },
        AspConfig {
            routing_context: sgp_routing_context,
            ..AspConfig::default()
        },
    )
}

#[test]
fn deregistration_needs_an_inactive_asp_and_forgets_the_routing_context() {
    let mut pair = registering_pair(Some(100));
    pair.up();
    assert_eq!(pair.asp.state(), AspState::Active);
    assert!(matches!(
        pair.asp.request_deregistration(),
        Err(AspError::InvalidState { .. })
    ));
    pair.asp.request_inactive(pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.asp.state(), AspState::Inactive);
    pair.wire.clear();
    pair.asp.request_deregistration().unwrap();
    pair.drive();
    assert_eq!(pair.names(), [">DEREG-REQ", "<DEREG-RSP"]);
    assert_eq!(pair.wire[0].2.routing_context(), Some(&[101][..]));
    assert!(pair.asp_events.contains(&AspEvent::Deregistered {
        routing_context: 101
    }));
    assert_eq!(pair.asp.active_routing_context(), None);
    // Nothing registered any more: a second request is refused locally, and the SGP forgot the key.
    assert!(pair.asp.request_deregistration().is_err());
    assert!(pair.sgp.assigned_routing_contexts.is_empty());
    // An unsolicited DEREG-RSP is unexpected.
    let stray = M3uaMessage::new(
        MessageType::DeregistrationResponse,
        vec![Parameter::DeregistrationResult(vec![
            Parameter::RoutingContext(vec![101]),
            Parameter::DeregistrationStatus(0),
        ])],
    );
    pair.asp.handle_bytes(0, &stray.encode(), pair.now);
    let reply = pair
        .asp
        .poll_transmit()
        .map(|t| M3uaMessage::decode(&t.data).unwrap());
    assert_eq!(
        reply.and_then(|m| m.error_code()),
        Some(error_code::UNEXPECTED_MESSAGE)
    );
}

#[test]
fn refused_deregistration_is_reported_and_the_key_kept() {
    let mut pair = registering_pair(None);
    pair.up();
    pair.asp.request_inactive(pair.now).unwrap();
    pair.drive();
    pair.asp.request_deregistration().unwrap();
    // The SGP's answer is replaced by one refusing with status 4 (not registered).
    while pair.asp.poll_transmit().is_some() {}
    let refusal = M3uaMessage::new(
        MessageType::DeregistrationResponse,
        vec![Parameter::DeregistrationResult(vec![
            Parameter::RoutingContext(pair.asp.registered_routing_context.into_iter().collect()),
            Parameter::DeregistrationStatus(4),
        ])],
    );
    pair.asp.handle_bytes(0, &refusal.encode(), pair.now);
    let events: Vec<AspEvent> = std::iter::from_fn(|| pair.asp.poll_event()).collect();
    assert!(
        events.contains(&AspEvent::DeregistrationFailed { status: 4 }),
        "{events:?}"
    );
    assert!(pair.asp.registered_routing_context.is_some());
}
