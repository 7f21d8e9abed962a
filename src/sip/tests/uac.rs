//! Client-side flows: outgoing INVITE, ACK with route set, BYE, CANCEL, Timer B, forking.

use super::*;
use crate::sip::endpoint::TerminationReason;

#[test]
fn uac_invite_ringing_answer_ack_and_bye() {
    let mut ep = endpoint();
    let leg = ep.invite(outgoing(TransportKind::Udp), 0).unwrap();
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, addr("192.0.2.20:5060"));
    let inv = request_of(&sent[0]);
    assert_eq!(inv.method(), message::Method::Invite);
    assert_eq!(
        inv.from().unwrap().display_name.as_deref(),
        Some("Caller \"X\"")
    );
    assert!(inv
        .top_via()
        .unwrap()
        .branch
        .unwrap()
        .starts_with("z9hG4bK"));
    assert_eq!(inv.body(), SDP_OFFER.as_bytes());

    let server = addr("192.0.2.20:5060");
    ep.handle_datagram(TransportKind::Udp, server, &reply(&inv, 100, None, &[]), 10);
    ep.handle_datagram(
        TransportKind::Udp,
        server,
        &reply(&inv, 180, Some("b1"), &[]),
        20,
    );
    match events(&mut ep).as_slice() {
        [SipEvent::Provisional {
            leg: l,
            status: 180,
            ..
        }] => assert_eq!(*l, leg),
        other => panic!("{other:?}"),
    }
    let ok = reply(
        &inv,
        200,
        Some("b1"),
        &[
            ("Contact", "<sip:bob@192.0.2.21:5080>"),
            ("Record-Route", "<sip:192.0.2.31;lr>, <sip:192.0.2.30;lr>"),
            ("Content-Type", "application/sdp"),
        ],
    );
    ep.handle_datagram(TransportKind::Udp, server, &ok, 30);
    assert!(matches!(events(&mut ep).as_slice(), [SipEvent::Answered { leg: l, .. }] if *l == leg));
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 1);
    let ack = request_of(&sent[0]);
    assert_eq!(ack.method(), message::Method::Ack);
    assert_eq!(ack.request_uri(), "sip:bob@192.0.2.21:5080");
    assert_eq!(ack.cseq().unwrap().0, 1);
    assert_eq!(
        sent[0].to,
        addr("192.0.2.30:5060"),
        "first hop of the reversed route set"
    );
    let routes: Vec<String> = ack
        .header_list()
        .into_iter()
        .filter(|(n, _)| n == "Route")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(routes, vec!["<sip:192.0.2.30;lr>", "<sip:192.0.2.31;lr>"]);

    // A retransmitted 200 is ACKed again.
    ep.handle_datagram(TransportKind::Udp, server, &ok, 40);
    assert_eq!(transmits(&mut ep).len(), 1);

    ep.bye(leg, 1_000).unwrap();
    let sent = transmits(&mut ep);
    let bye = request_of(&sent[0]);
    assert_eq!(bye.method(), message::Method::Bye);
    assert_eq!(bye.cseq().unwrap().0, 2);
    assert_eq!(bye.to().unwrap().tag.as_deref(), Some("b1"));
    assert_eq!(sent[0].to, addr("192.0.2.30:5060"));
    ep.handle_datagram(
        TransportKind::Udp,
        server,
        &reply(&bye, 200, None, &[]),
        1_100,
    );
    assert_eq!(
        events(&mut ep),
        vec![SipEvent::LegTerminated {
            leg,
            reason: TerminationReason::ByeCompleted
        }]
    );
    assert_eq!(ep.leg_count(), 0);
}

#[test]
fn uac_transport_error_ends_the_invite_at_once() {
    let mut ep = endpoint();
    let leg = ep.invite(outgoing(TransportKind::Tcp), 0).unwrap();
    let sent = transmits(&mut ep);
    let target = sent[0].to;
    // A failure toward another address or over another transport concerns another transaction.
    ep.transport_failed(TransportKind::Tcp, addr("192.0.2.99:5060"), 10);
    ep.transport_failed(TransportKind::Udp, target, 10);
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.leg_count(), 1);
    // RFC 3261 §17.1.4: the client transaction ends with a transport error, long before Timer B.
    ep.transport_failed(TransportKind::Tcp, target, 20);
    assert_eq!(
        events(&mut ep),
        vec![SipEvent::LegTerminated {
            leg,
            reason: TerminationReason::TransportError
        }]
    );
    assert_eq!(ep.leg_count(), 0);
    assert!(transmits(&mut ep).is_empty());
    assert_eq!(ep.poll_timeout(), None, "no timer left behind");
}

#[test]
fn uac_timer_b_times_out() {
    let mut ep = endpoint();
    let leg = ep.invite(outgoing(TransportKind::Udp), 0).unwrap();
    transmits(&mut ep);
    let mut retransmits_at = Vec::new();
    while let Some(at) = ep.poll_timeout() {
        ep.handle_timeout(at);
        if !transmits(&mut ep).is_empty() {
            retransmits_at.push(at);
        }
        if let Some(e) = ep.poll_event() {
            assert_eq!(
                e,
                SipEvent::LegTerminated {
                    leg,
                    reason: TerminationReason::TransactionTimeout
                }
            );
            assert_eq!(at, 32_000);
            break;
        }
    }
    assert_eq!(
        retransmits_at,
        vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]
    );
    assert_eq!(ep.leg_count(), 0);
}

#[test]
fn uac_tcp_has_no_retransmissions() {
    let mut ep = endpoint();
    ep.invite(outgoing(TransportKind::Tcp), 0).unwrap();
    let sent = transmits(&mut ep);
    assert!(String::from_utf8_lossy(&sent[0].data).contains("SIP/2.0/TCP 192.0.2.1:5060"));
    assert_eq!(ep.poll_timeout(), Some(32_000), "only Timer B");
}

#[test]
fn uac_cancel_waits_for_provisional_then_487_ends_leg() {
    let mut ep = endpoint();
    let leg = ep.invite(outgoing(TransportKind::Udp), 0).unwrap();
    let inv = request_of(&transmits(&mut ep)[0]);
    ep.cancel(leg, 5).unwrap();
    assert!(
        transmits(&mut ep).is_empty(),
        "no CANCEL before a provisional (RFC 3261 §9.1)"
    );
    let server = addr("192.0.2.20:5060");
    ep.handle_datagram(
        TransportKind::Udp,
        server,
        &reply(&inv, 180, Some("b1"), &[]),
        10,
    );
    assert!(events(&mut ep).is_empty());
    let sent = transmits(&mut ep);
    let cancel = request_of(&sent[0]);
    assert_eq!(cancel.method(), message::Method::Cancel);
    assert_eq!(cancel.top_via(), inv.top_via());
    assert_eq!(cancel.cseq().unwrap().0, 1);
    assert!(cancel.to().unwrap().tag.is_none());
    ep.handle_datagram(
        TransportKind::Udp,
        server,
        &reply(&cancel, 200, Some("b1"), &[]),
        20,
    );
    ep.handle_datagram(
        TransportKind::Udp,
        server,
        &reply(&inv, 487, Some("b1"), &[]),
        30,
    );
    let sent = transmits(&mut ep);
    assert_eq!(request_of(&sent[0]).method(), message::Method::Ack);
    assert_eq!(
        request_of(&sent[0]).top_via(),
        inv.top_via(),
        "non-2xx ACK reuses the branch"
    );
    assert_eq!(
        events(&mut ep),
        vec![SipEvent::LegTerminated {
            leg,
            reason: TerminationReason::Cancelled
        }]
    );
}

#[test]
fn second_fork_2xx_is_acked_and_released() {
    let mut ep = endpoint();
    let leg = ep.invite(outgoing(TransportKind::Udp), 0).unwrap();
    let inv = request_of(&transmits(&mut ep)[0]);
    let server = addr("192.0.2.20:5060");
    let ok1 = reply(&inv, 200, Some("b1"), &[("Contact", "<sip:b1@192.0.2.21>")]);
    let ok2 = reply(&inv, 200, Some("b2"), &[("Contact", "<sip:b2@192.0.2.22>")]);
    ep.handle_datagram(TransportKind::Udp, server, &ok1, 10);
    assert_eq!(transmits(&mut ep).len(), 1);
    ep.handle_datagram(TransportKind::Udp, server, &ok2, 20);
    let sent = transmits(&mut ep);
    let methods: Vec<String> = sent
        .iter()
        .map(|t| request_of(t).method().as_str().to_string())
        .collect();
    assert_eq!(methods, vec!["ACK", "BYE"]);
    assert!(sent.iter().all(|t| t.to == addr("192.0.2.22:5060")));
    assert!(matches!(events(&mut ep).as_slice(), [SipEvent::Answered { leg: l, .. }] if *l == leg));
    assert_eq!(ep.leg_count(), 1, "first branch's call is untouched");
}
