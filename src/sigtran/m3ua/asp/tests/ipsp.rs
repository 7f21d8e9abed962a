//! IPSP mode (RFC 4666 §4.3.2, flows of §5.5.2): single and double exchange through every transition, and the ERR
//! answer to invalid messages in each state.

use super::*;

fn ipsp(exchange: IpspExchange) -> AspConfig {
    AspConfig {
        ipsp: Some(exchange),
        ..AspConfig::default()
    }
}

fn transitions(asp: &mut Asp) -> Vec<(&'static str, String, String)> {
    std::iter::from_fn(|| asp.poll_transition())
        .map(|t| (t.machine, t.from, t.to))
        .collect()
}

fn replies(asp: &mut Asp) -> Vec<M3uaMessage> {
    std::iter::from_fn(|| asp.poll_transmit())
        .map(|t| M3uaMessage::decode(&t.data).unwrap())
        .collect()
}

fn tr(machine: &'static str, from: &str, to: &str) -> (&'static str, String, String) {
    (machine, from.into(), to.into())
}

#[test]
fn single_exchange_up_active_inactive_down_without_ntfy() {
    let mut pair = Pair::new(ipsp(IpspExchange::Single), ipsp(IpspExchange::Single));
    pair.up();
    assert_eq!(
        pair.names(),
        [">ASPUP", "<ASPUP-ACK", ">ASPAC", "<ASPAC-ACK"],
        "no NTFY between IPSPs"
    );
    assert!(pair.asp.can_send_data() && pair.sgp.can_send_data());
    assert_eq!(
        pair.asp.peer_state(),
        None,
        "no peer half in single exchange"
    );
    pair.asp.send_data(data(3)).unwrap();
    pair.sgp.send_data(data(4)).unwrap();
    pair.drive();
    assert!(pair.sgp_events.contains(&AspEvent::Data(data(3))));
    assert!(pair.asp_events.contains(&AspEvent::Data(data(4))));
    pair.wire.clear();
    pair.asp.request_inactive(pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.names(), [">ASPIA", "<ASPIA-ACK"]);
    assert_eq!(
        (pair.asp.state(), pair.sgp.state()),
        (AspState::Inactive, AspState::Inactive)
    );
    assert!(pair.asp.send_data(data(1)).is_err());
    pair.asp.request_active(pair.now).unwrap();
    pair.drive();
    assert_eq!(
        (pair.asp.state(), pair.sgp.state()),
        (AspState::Active, AspState::Active)
    );
    pair.wire.clear();
    pair.asp.request_down(pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.names(), [">ASPDN", "<ASPDN-ACK"]);
    assert_eq!(
        (pair.asp.state(), pair.sgp.state()),
        (AspState::Down, AspState::Down)
    );
    let asp = transitions(&mut pair.asp);
    assert_eq!(
        asp,
        [
            tr("m3ua_asp", "Down", "UpPending"),
            tr("m3ua_asp", "UpPending", "Inactive"),
            tr("m3ua_asp", "Inactive", "ActivePending"),
            tr("m3ua_asp", "ActivePending", "Active"),
            tr("m3ua_asp", "Active", "InactivePending"),
            tr("m3ua_asp", "InactivePending", "Inactive"),
            tr("m3ua_asp", "Inactive", "ActivePending"),
            tr("m3ua_asp", "ActivePending", "Active"),
            tr("m3ua_asp", "Active", "DownPending"),
            tr("m3ua_asp", "DownPending", "Down"),
        ]
    );
    let peer = transitions(&mut pair.sgp);
    assert_eq!(
        peer.first(),
        Some(&tr("m3ua_ipsp_peer", "Down", "Inactive"))
    );
    assert_eq!(peer.last(), Some(&tr("m3ua_ipsp_peer", "Active", "Down")));
}

#[test]
fn double_exchange_both_request_and_data_waits_for_both() {
    let mut pair = Pair::new(ipsp(IpspExchange::Double), ipsp(IpspExchange::Double));
    // Only one side's association comes up first: its own requests are acknowledged by the other's peer half,
    // but DATA waits for the other direction.
    pair.sgp.handle_sctp_up(0);
    pair.asp.handle_sctp_up(0);
    pair.drive();
    let mut names = pair.names();
    names.sort();
    let mut expected = [
        ">ASPUP",
        "<ASPUP-ACK",
        ">ASPAC",
        "<ASPAC-ACK",
        "<ASPUP",
        ">ASPUP-ACK",
        "<ASPAC",
        ">ASPAC-ACK",
    ];
    expected.sort();
    assert_eq!(
        names,
        expected,
        "each side requests and acknowledges: {:?}",
        pair.names()
    );
    for side in [&pair.asp, &pair.sgp] {
        assert_eq!(side.state(), AspState::Active);
        assert_eq!(side.peer_state(), Some(AspState::Active));
        assert!(side.can_send_data());
    }
    assert!(pair.asp_events.contains(&AspEvent::PeerStateChanged {
        from: AspState::Inactive,
        to: AspState::Active
    }));
    let machines: Vec<_> = transitions(&mut pair.asp)
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert!(machines.contains(&"m3ua_asp") && machines.contains(&"m3ua_ipsp_peer"));
    pair.asp.send_data(data(5)).unwrap();
    pair.drive();
    assert!(pair.sgp_events.contains(&AspEvent::Data(data(5))));

    // One side goes inactive: the other sees its peer inactive and may not send either.
    pair.wire.clear();
    pair.sgp.request_inactive(pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.names(), ["<ASPIA", ">ASPIA-ACK"]);
    assert_eq!(pair.asp.state(), AspState::Active);
    assert_eq!(pair.asp.peer_state(), Some(AspState::Inactive));
    assert!(!pair.asp.can_send_data() && !pair.sgp.can_send_data());
    assert!(matches!(
        pair.asp.send_data(data(1)),
        Err(AspError::NotActive { .. })
    ));
    pair.sgp.request_active(pair.now).unwrap();
    pair.drive();
    assert!(pair.asp.can_send_data() && pair.sgp.can_send_data());

    // ASPDN from one side takes its peer half on the other to Down.
    pair.sgp.request_down(pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.asp.peer_state(), Some(AspState::Down));
    assert_eq!(pair.sgp.state(), AspState::Down);
    // SCTP loss: both halves fall.
    pair.sgp.request_active(pair.now).unwrap();
    pair.drive();
    assert!(pair.asp.can_send_data());
    pair.asp.handle_sctp_down(pair.now);
    assert_eq!(pair.asp.state(), AspState::Down);
    assert_eq!(pair.asp.peer_state(), Some(AspState::Down));
}

/// SSNM and RKM have no place between IPSPs (class not supported); requests sent to an IPSP that only requests
/// (single exchange) and acknowledgements sent to one that only acknowledges are unexpected. The state stays.
#[test]
fn invalid_messages_in_each_ipsp_state_get_the_right_err() {
    use AspState as S;
    use MessageType as T;
    let affected = || Parameter::AffectedPointCode(vec![PointCodeEntry::exact(2)]);
    let key = Parameter::RoutingKey(vec![
        Parameter::LocalRoutingKeyIdentifier(1),
        Parameter::DestinationPointCode(PointCodeEntry::exact(2)),
    ]);
    let unsupported_class: Vec<M3uaMessage> = vec![
        M3uaMessage::new(T::DestinationUnavailable, vec![affected()]),
        M3uaMessage::new(T::DestinationAvailable, vec![affected()]),
        M3uaMessage::new(T::DestinationStateAudit, vec![affected()]),
        M3uaMessage::new(T::SignallingCongestion, vec![affected()]),
        M3uaMessage::new(T::RegistrationRequest, vec![key]),
        M3uaMessage::new(
            T::DeregistrationRequest,
            vec![Parameter::RoutingContext(vec![1])],
        ),
    ];
    let check = |asp: &mut Asp, message: &M3uaMessage, code: u32, context: &str| {
        let state = asp.state();
        let peer_state = asp.peer_state();
        while asp.poll_transmit().is_some() {}
        asp.handle_bytes(0, &message.encode(), 100);
        let errors: Vec<u32> = replies(asp)
            .iter()
            .filter(|m| m.message_type == T::Error)
            .filter_map(M3uaMessage::error_code)
            .collect();
        assert_eq!(errors, [code], "{context}: {}", message.message_type.name());
        assert_eq!(asp.state(), state, "{context}: state kept");
        assert_eq!(asp.peer_state(), peer_state, "{context}: peer state kept");
    };

    // Single exchange, the requesting IPSP, in each of its states.
    for state in [
        S::UpPending,
        S::ActivePending,
        S::Active,
        S::InactivePending,
        S::Inactive,
    ] {
        let mut pair = Pair::new(ipsp(IpspExchange::Single), ipsp(IpspExchange::Single));
        pair.sgp.handle_sctp_up(0);
        pair.asp.handle_sctp_up(0);
        // Step the handshake one message at a time until the state is reached.
        if matches!(state, S::InactivePending | S::Inactive) {
            drive_until(&mut pair, |p| p.asp.state() == S::Active);
            pair.asp.request_inactive(0).unwrap();
        }
        drive_until(&mut pair, |p| p.asp.state() == state);
        for message in &unsupported_class {
            check(
                &mut pair.asp,
                message,
                error_code::UNSUPPORTED_MESSAGE_CLASS,
                &format!("SE requester {state:?}"),
            );
        }
        for t in [T::AspUp, T::AspActive, T::AspInactive, T::AspDown] {
            let message = M3uaMessage::new(t, vec![]);
            check(
                &mut pair.asp,
                &message,
                error_code::UNEXPECTED_MESSAGE,
                &format!("SE requester {state:?}"),
            );
        }
    }

    // Single exchange, the acknowledging IPSP, in each state of the peer it follows.
    for state in [S::Down, S::Inactive, S::Active] {
        let mut pair = Pair::new(ipsp(IpspExchange::Single), ipsp(IpspExchange::Single));
        pair.sgp.handle_sctp_up(0);
        pair.asp.handle_sctp_up(0);
        drive_until(&mut pair, |p| p.sgp.state() == state);
        let context = format!("SE acknowledger {state:?}");
        for message in &unsupported_class {
            check(
                &mut pair.sgp,
                message,
                error_code::UNSUPPORTED_MESSAGE_CLASS,
                &context,
            );
        }
        for t in [T::AspUpAck, T::AspActiveAck, T::AspInactiveAck] {
            check(
                &mut pair.sgp,
                &M3uaMessage::new(t, vec![]),
                error_code::UNEXPECTED_MESSAGE,
                &context,
            );
        }
        if state != S::Active {
            let data = M3uaMessage::new(T::Data, vec![Parameter::ProtocolData(data(1))]);
            check(
                &mut pair.sgp,
                &data,
                error_code::UNEXPECTED_MESSAGE,
                &context,
            );
        }
        if state == S::Down {
            check(
                &mut pair.sgp,
                &M3uaMessage::new(T::AspActive, vec![]),
                error_code::UNEXPECTED_MESSAGE,
                &context,
            );
            check(
                &mut pair.sgp,
                &M3uaMessage::new(T::AspInactive, vec![]),
                error_code::UNEXPECTED_MESSAGE,
                &context,
            );
        }
    }

    // Double exchange: the peer half refuses ASPAC and ASPIA while the peer is down, in every local state.
    for state in [S::UpPending, S::Inactive, S::ActivePending, S::Active] {
        let mut asp = Asp::new(ipsp(IpspExchange::Double));
        let ack = |asp: &mut Asp, t: MessageType| {
            asp.handle_bytes(0, &M3uaMessage::new(t, vec![]).encode(), 0)
        };
        asp.handle_sctp_up(0);
        if state != S::UpPending {
            // ASPUP-ACK makes the IPSP send ASPAC at once: ActivePending.
            ack(&mut asp, T::AspUpAck);
        }
        if matches!(state, S::Active | S::Inactive) {
            ack(&mut asp, T::AspActiveAck);
        }
        if state == S::Inactive {
            asp.request_inactive(0).unwrap();
            ack(&mut asp, T::AspInactiveAck);
        }
        assert_eq!((asp.state(), asp.peer_state()), (state, Some(S::Down)));
        let context = format!("DE local {state:?}, peer Down");
        for message in &unsupported_class {
            check(
                &mut asp,
                message,
                error_code::UNSUPPORTED_MESSAGE_CLASS,
                &context,
            );
        }
        check(
            &mut asp,
            &M3uaMessage::new(T::AspActive, vec![]),
            error_code::UNEXPECTED_MESSAGE,
            &context,
        );
        check(
            &mut asp,
            &M3uaMessage::new(T::AspInactive, vec![]),
            error_code::UNEXPECTED_MESSAGE,
            &context,
        );
    }
    // Double exchange: ASPUP while the peer is active is acknowledged with ERR and the peer goes inactive
    // (RFC 4666 §4.3.4.1).
    let mut pair = Pair::new(ipsp(IpspExchange::Double), ipsp(IpspExchange::Double));
    pair.up();
    while pair.asp.poll_transmit().is_some() {}
    pair.asp
        .handle_bytes(0, &M3uaMessage::new(T::AspUp, vec![]).encode(), 1);
    let types: Vec<_> = replies(&mut pair.asp)
        .into_iter()
        .map(|m| (m.message_type, m.error_code()))
        .collect();
    assert_eq!(
        types,
        [
            (T::Error, Some(error_code::UNEXPECTED_MESSAGE)),
            (T::AspUpAck, None)
        ]
    );
    assert_eq!(pair.asp.peer_state(), Some(S::Inactive));
    assert_eq!(pair.asp.state(), S::Active);
}

/// Delivers one message at a time, either way, until `reached` holds (or nothing moves).
fn drive_until(pair: &mut Pair, reached: impl Fn(&Pair) -> bool) {
    while !reached(pair) {
        if let Some(t) = pair.asp.poll_transmit() {
            pair.sgp.handle_bytes(t.stream, &t.data, pair.now);
        } else if let Some(t) = pair.sgp.poll_transmit() {
            pair.asp.handle_bytes(t.stream, &t.data, pair.now);
        } else {
            break;
        }
    }
    assert!(reached(pair), "state not reached");
}
