//! Transport-dependent behaviour of the endpoint: Via and Contact per transport (RFC 3261 §20.42, RFC 5630,
//! RFC 7118 §5.2), and in-dialog requests toward a TLS or WebSocket caller riding the flow it came on.

use super::*;
use crate::sip::{socket_addr_of_uri, transport_of_uri};

const WS_ADDR: &str = "192.0.2.1:8080";
const TLS_ADDR: &str = "192.0.2.1:5061";
/// The caller's connection (its flow), not where its Contact says it listens.
const FLOW: &str = "192.0.2.10:49152";

fn endpoint_with_listeners() -> Endpoint {
    let mut cfg = EndpointConfig::new(addr(LOCAL));
    cfg.seed = 7;
    cfg.transport_addrs = vec![
        (TransportKind::Ws, addr(WS_ADDR)),
        (TransportKind::Tls, addr(TLS_ADDR)),
    ];
    Endpoint::new(cfg)
}

fn invite_over(transport: TransportKind) -> Vec<u8> {
    let text = String::from_utf8(invite("z9hG4bKinv1")).unwrap();
    text.replace(
        "Via: SIP/2.0/UDP 192.0.2.10:5060",
        &format!(
            "Via: SIP/2.0/{} df7jal23ls0d.invalid",
            transport.via_token()
        ),
    )
    .into_bytes()
}

/// Answers an INVITE that came over `transport` from [`FLOW`], ACKs it, then has tandem hang up; returns the 200
/// and the BYE as sent.
fn answered_then_bye(transport: TransportKind) -> (Transmit, Transmit) {
    answered_then_bye_contact(transport, "<sip:alice@192.0.2.10:5062>")
}

/// [`answered_then_bye`] with the caller's Contact replaced by `contact`.
fn answered_then_bye_contact(transport: TransportKind, contact: &str) -> (Transmit, Transmit) {
    let mut ep = endpoint_with_listeners();
    let invite = String::from_utf8(invite_over(transport))
        .unwrap()
        .replace("<sip:alice@192.0.2.10:5062>", contact);
    ep.handle_datagram(transport, addr(FLOW), invite.as_bytes(), 0);
    let leg = match events(&mut ep).as_slice() {
        [SipEvent::IncomingInvite { leg, .. }] => *leg,
        other => panic!("unexpected events {other:?}"),
    };
    transmits(&mut ep);
    ep.respond(leg, 200, None, &[], None, 10).unwrap();
    let ok = transmits(&mut ep).remove(0);
    let ack = String::from_utf8(in_dialog("ACK", "z9hG4bKack", 1, &to_tag_of(&ok))).unwrap();
    let ack = ack.replace(
        "SIP/2.0/UDP 192.0.2.10:5060",
        "SIP/2.0/WS df7jal23ls0d.invalid",
    );
    ep.handle_datagram(transport, addr(FLOW), ack.as_bytes(), 20);
    ep.bye(leg, 30).unwrap();
    let bye = transmits(&mut ep).remove(0);
    (ok, bye)
}

#[test]
fn websocket_caller_gets_responses_and_bye_on_its_flow() {
    let (ok, bye) = answered_then_bye(TransportKind::Ws);
    assert_eq!((ok.transport, ok.to), (TransportKind::Ws, addr(FLOW)));
    let text = String::from_utf8_lossy(&ok.data);
    assert!(
        text.contains(&format!("Contact: <sip:{WS_ADDR};transport=ws>")),
        "{text}"
    );
    // The caller's Contact (192.0.2.10:5062) is not where a WebSocket client can be reached.
    assert_eq!((bye.transport, bye.to), (TransportKind::Ws, addr(FLOW)));
    let bye = request_of(&bye);
    let via = bye.top_via().expect("Via");
    assert_eq!(
        (via.transport.as_str(), via.host.as_str(), via.port),
        ("WS", "192.0.2.1", Some(8080))
    );
}

#[test]
fn tls_caller_gets_bye_on_its_connection_and_sips_contact() {
    let (ok, bye) = answered_then_bye(TransportKind::Tls);
    let text = String::from_utf8_lossy(&ok.data);
    assert!(
        text.contains(&format!("Contact: <sips:{TLS_ADDR}>")),
        "{text}"
    );
    assert_eq!((bye.transport, bye.to), (TransportKind::Tls, addr(FLOW)));
    assert!(String::from_utf8_lossy(&bye.data).contains(&format!("Via: SIP/2.0/TLS {TLS_ADDR};")));
}

#[test]
fn udp_caller_gets_bye_at_its_contact() {
    let (_, bye) = answered_then_bye(TransportKind::Udp);
    assert_eq!(
        (bye.transport, bye.to),
        (TransportKind::Udp, addr("192.0.2.10:5062"))
    );
}

/// RFC 5626 §5.4: a TCP caller whose Contact has `ob` gets the in-dialog requests on its flow; without it, at
/// its Contact. Over UDP `ob` changes nothing (no connection to reuse).
#[test]
fn ob_contact_keeps_the_dialog_on_the_callers_tcp_flow() {
    let (_, bye) = answered_then_bye_contact(TransportKind::Tcp, "<sip:alice@192.0.2.10:5062;ob>");
    assert_eq!((bye.transport, bye.to), (TransportKind::Tcp, addr(FLOW)));
    let (_, bye) = answered_then_bye_contact(TransportKind::Tcp, "<sip:alice@192.0.2.10:5062>");
    assert_eq!(bye.to, addr("192.0.2.10:5062"));
    let (_, bye) = answered_then_bye_contact(TransportKind::Udp, "<sip:alice@192.0.2.10:5062;ob>");
    assert_eq!(bye.to, addr("192.0.2.10:5062"));
    assert!(crate::sip::has_ob_param("sip:a@h;transport=tcp;OB"));
    assert!(crate::sip::has_ob_param("sip:a@h;ob=1"));
    assert!(!crate::sip::has_ob_param("sip:a@h;obx;transport=tcp"));
    assert!(!crate::sip::has_ob_param("sip:a@h?x=1;ob"));
    assert!(!crate::sip::has_ob_param("sip:ob@h"));
}

#[test]
fn reliable_transports_do_not_retransmit_the_2xx() {
    for transport in [TransportKind::Tls, TransportKind::Ws, TransportKind::Wss] {
        let mut ep = endpoint_with_listeners();
        ep.handle_datagram(transport, addr(FLOW), &invite_over(transport), 0);
        let leg = match events(&mut ep).as_slice() {
            [SipEvent::IncomingInvite { leg, .. }] => *leg,
            other => panic!("unexpected events {other:?}"),
        };
        ep.respond(leg, 200, None, &[], None, 10).unwrap();
        transmits(&mut ep);
        ep.handle_timeout(10 + 500);
        assert!(transmits(&mut ep).is_empty(), "{transport:?}");
    }
}

#[test]
fn target_uris_name_their_transport_and_default_port() {
    for (uri, transport) in [
        ("sip:1@192.0.2.5", TransportKind::Udp),
        ("sip:1@192.0.2.5;transport=TCP", TransportKind::Tcp),
        ("sip:1@192.0.2.5;transport=tls", TransportKind::Tls),
        ("sips:1@192.0.2.5", TransportKind::Tls),
        ("SIPS:1@192.0.2.5;user=phone", TransportKind::Tls),
        ("sip:1@192.0.2.5;transport=ws", TransportKind::Ws),
        ("sips:1@192.0.2.5;transport=ws", TransportKind::Wss),
        ("sip:1@192.0.2.5?transport=tls", TransportKind::Udp),
    ] {
        assert_eq!(transport_of_uri(uri), transport, "{uri}");
    }
    assert_eq!(
        socket_addr_of_uri("sips:1@192.0.2.5"),
        Some(addr("192.0.2.5:5061"))
    );
    assert_eq!(
        socket_addr_of_uri("sips:1@[2001:db8::1]"),
        Some(addr("[2001:db8::1]:5061"))
    );
    assert_eq!(
        socket_addr_of_uri("sip:1@192.0.2.5"),
        Some(addr("192.0.2.5:5060"))
    );
}
