//! RFC 5626 basics: `Require: outbound` and `Flow-Timer` in the 200 to an outbound REGISTER, `reg-id` ignored
//! without `Supported: outbound`, and bindings that become unreachable when their flow closes.

use super::registrar::{auth_endpoint, authorization, nonce_of};
use super::*;
use crate::sip::digest::Algorithm;
use crate::sip::registrar::{RegisterRequest, Registrar, RegistrarConfig};

const WS_CLIENT: &str = "192.0.2.60:40000";
const INSTANCE: &str = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"";

fn ws_register(branch: &str, cseq: u32, supported: bool, auth: Option<&str>) -> Vec<u8> {
    let mut headers = vec![
        format!("Via: SIP/2.0/WS df7jal23ls0d.invalid;branch={branch};rport"),
        "Max-Forwards: 70".to_string(),
        "From: <sip:1001@192.0.2.1>;tag=ob1".to_string(),
        "To: <sip:1001@192.0.2.1>".to_string(),
        "Call-ID: ob-1@df7jal23ls0d.invalid".to_string(),
        format!("CSeq: {cseq} REGISTER"),
        format!("Contact: <sip:1001@df7jal23ls0d.invalid;transport=ws;ob>;{INSTANCE};reg-id=1"),
        "Expires: 300".to_string(),
    ];
    if supported {
        headers.push("Supported: path, outbound".to_string());
    }
    if let Some(auth) = auth {
        headers.push(format!("Authorization: {auth}"));
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    msg("REGISTER sip:192.0.2.1 SIP/2.0", &headers, "")
}

/// Registers 1001 over WS (challenge, then credentials) and returns the 200.
fn register_over_ws(ep: &mut Endpoint, supported: bool, at_ms: u64) -> message::Response {
    let from = addr(WS_CLIENT);
    ep.handle_datagram(
        TransportKind::Ws,
        from,
        &ws_register("z9hG4bKo1", 1, supported, None),
        at_ms,
    );
    let challenge = response_of(&transmits(ep)[0]);
    assert_eq!(challenge.status(), 401);
    let nonce = nonce_of(&challenge.header("WWW-Authenticate").unwrap());
    let auth = authorization(Algorithm::Sha256, "1001", "pw", &nonce, "REGISTER", 1);
    ep.handle_datagram(
        TransportKind::Ws,
        from,
        &ws_register("z9hG4bKo2", 2, supported, Some(&auth)),
        at_ms + 1,
    );
    response_of(&transmits(ep)[0])
}

#[test]
fn outbound_register_gets_require_and_flow_timer() {
    let mut ep = auth_endpoint();
    let ok = register_over_ws(&mut ep, true, 1_000);
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.header("Require").as_deref(), Some("outbound"));
    assert_eq!(ok.header("Flow-Timer").as_deref(), Some("120"));
    let bound = ep.bindings("1001", 2_000);
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].reg_id, Some(1));
    assert!(bound[0].outbound() && bound[0].flow_bound());
}

#[test]
fn reg_id_without_supported_outbound_is_ignored() {
    let mut ep = auth_endpoint();
    let ok = register_over_ws(&mut ep, false, 1_000);
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.header("Require"), None, "no outbound without Supported");
    assert_eq!(ok.header("Flow-Timer"), None);
    let bound = ep.bindings("1001", 2_000);
    assert_eq!(bound[0].reg_id, None);
    assert!(
        bound[0].flow_bound(),
        "a WebSocket binding is reachable only on its connection anyway"
    );
}

#[test]
fn closing_the_flow_makes_its_bindings_unreachable_until_refreshed() {
    let mut ep = auth_endpoint();
    register_over_ws(&mut ep, true, 1_000);
    let _ = std::iter::from_fn(|| ep.poll_transition()).count();
    // Another connection from elsewhere closing changes nothing.
    ep.flow_closed(TransportKind::Ws, addr("192.0.2.61:40000"));
    ep.flow_closed(TransportKind::Tcp, addr(WS_CLIENT));
    assert_eq!(ep.bindings("1001", 2_000).len(), 1);
    assert!(std::iter::from_fn(|| ep.poll_event()).next().is_none());
    ep.flow_closed(TransportKind::Ws, addr(WS_CLIENT));
    assert!(ep.bindings("1001", 2_000).is_empty(), "unreachable");
    let recorded: Vec<_> = std::iter::from_fn(|| ep.poll_transition())
        .map(|t| (t.machine, t.from, t.to))
        .collect();
    assert_eq!(
        recorded,
        vec![("sip.binding", "Bound".to_string(), "FlowFailed".to_string())]
    );
    let events: Vec<_> = std::iter::from_fn(|| ep.poll_event()).collect();
    assert!(
        matches!(&events[..], [SipEvent::BindingUnreachable { aor, .. }] if aor == "1001"),
        "{events:?}"
    );
    // Closing it again records nothing more.
    ep.flow_closed(TransportKind::Ws, addr(WS_CLIENT));
    assert!(ep.poll_transition().is_none());
}

fn request(transport: TransportKind, source: &str, contact: &str, cseq: u32) -> RegisterRequest {
    RegisterRequest {
        aor: "dave".into(),
        call_id: format!("{source}-{contact}"),
        cseq,
        expires: Some(600),
        contact_values: vec![contact.into()],
        source: addr(source),
        transport,
        outbound: true,
    }
}

#[test]
fn the_next_binding_is_used_after_a_flow_fails_and_a_refresh_restores_it() {
    let mut r = Registrar::new(RegistrarConfig::default());
    let ws = format!("<sip:d@a.invalid;transport=ws>;q=1;{INSTANCE};reg-id=1");
    let tcp_plain = "<sip:d@192.0.2.70:5060;transport=tcp>;q=0.5";
    r.register(&request(TransportKind::Ws, WS_CLIENT, &ws, 1), 0)
        .unwrap();
    r.register(
        &request(TransportKind::Tcp, "192.0.2.70:33000", tcp_plain, 1),
        0,
    )
    .unwrap();
    assert_eq!(r.lookup("dave", 10).len(), 2);
    // A plain TCP binding (no outbound) can be reached by connecting to its contact: its flow closing
    // leaves it routable.
    assert!(r
        .flow_closed(TransportKind::Tcp, addr("192.0.2.70:33000"))
        .is_empty());
    let failed = r.flow_closed(TransportKind::Ws, addr(WS_CLIENT));
    assert_eq!(
        failed,
        vec![(
            "dave".to_string(),
            "sip:d@a.invalid;transport=ws".to_string()
        )]
    );
    let left = r.lookup("dave", 10);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].uri, "sip:d@192.0.2.70:5060;transport=tcp");
    // The client reconnects (a new source port) and refreshes: the same instance and reg-id replace the
    // failed binding, which is reachable again on the new flow.
    let _ = std::iter::from_fn(|| r.poll_transition()).count();
    r.register(&request(TransportKind::Ws, "192.0.2.60:40001", &ws, 1), 20)
        .unwrap();
    let now = r.lookup("dave", 30);
    assert_eq!(now.len(), 2);
    assert_eq!(now[0].source, addr("192.0.2.60:40001"));
    let recorded: Vec<_> = std::iter::from_fn(|| r.poll_transition())
        .map(|t| (t.from, t.to))
        .collect();
    assert!(
        recorded.contains(&("FlowFailed".to_string(), "Bound".to_string())),
        "{recorded:?}"
    );
    // A failed binding still expires.
    r.expire(700_000);
    assert!(r.lookup("dave", 700_000).is_empty());
}

#[test]
fn outbound_headers_only_for_outbound_contacts() {
    let r = Registrar::new(RegistrarConfig {
        flow_timer_s: 29,
        ..RegistrarConfig::default()
    });
    let ob = format!("<sip:d@a.invalid;transport=ws;ob>;{INSTANCE};reg-id=2");
    let mut req = request(TransportKind::Ws, WS_CLIENT, &ob, 1);
    assert_eq!(
        r.outbound_headers(&req),
        vec![
            ("Require".to_string(), "outbound".to_string()),
            ("Flow-Timer".to_string(), "29".to_string())
        ]
    );
    req.outbound = false;
    assert!(r.outbound_headers(&req).is_empty());
    let plain = request(
        TransportKind::Ws,
        WS_CLIENT,
        "<sip:d@a.invalid;transport=ws>",
        1,
    );
    assert!(r.outbound_headers(&plain).is_empty());
    let mut removal = request(TransportKind::Ws, WS_CLIENT, &ob, 2);
    removal.expires = Some(0);
    assert!(
        r.outbound_headers(&removal).is_empty(),
        "unregistering keeps no flow"
    );
}
