//! SIP over TLS, WebSocket and secure WebSocket (RFC 3261 §26.2, RFC 7118) end to end: a Rust client places
//! calls through tandem to the simulated exchange, takes the exchange's hang-up as a BYE on the connection it
//! opened, and feeds junk that must neither crash tandem nor cost the connection. Certificates are made per test.

use std::net::SocketAddr;
use std::time::Duration;

use crate::harness::{free_port, Exchange, Rig, RigOptions};
use crate::sip_client::{SipClient, TestCa, SDP_OFFER};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A rig with TLS, WS and WSS listeners on `ip`, and their addresses.
fn secure_rig(ca: &TestCa, ip: &str) -> (Rig, SocketAddr, SocketAddr, SocketAddr) {
    let addr = |port: u16| -> SocketAddr { format!("{ip}:{port}").parse().expect("address") };
    let (tls, http, https) = (
        addr(free_port(true)),
        addr(free_port(true)),
        addr(free_port(true)),
    );
    let rig = Rig::start(RigOptions {
        sip_extra: ca.config(tls, http, https),
        ..RigOptions::default()
    });
    (rig, tls, http, https)
}

/// Places a call to `number` that the client hangs up, checking every step.
async fn call_and_hang_up(rig: &Rig, client: &mut SipClient, number: &str) {
    let mut call = client.invite(number).await;
    assert!(
        call.invite_statuses.contains(&180) && call.invite_statuses.last() == Some(&200),
        "{} INVITE: {:?}\n{}",
        client.transport,
        call.invite_statuses,
        rig.logs()
    );
    assert_eq!(client.bye(&mut call).await, 200, "{} BYE", client.transport);
}

/// Places a call the exchange answers and then releases: tandem's BYE must come on the client's connection.
async fn call_released_by_exchange(client: &mut SipClient) {
    let call = client.invite("9914930123").await;
    assert_eq!(
        call.invite_statuses.last(),
        Some(&200),
        "{}",
        client.transport
    );
    let bye = client.answer_next_request().await;
    assert_eq!(bye.method(), Some("BYE"), "{}", bye.text);
    assert_eq!(
        bye.header("Call-ID").as_deref(),
        Some(call.call_id.as_str())
    );
    assert!(
        bye.header("Via")
            .is_some_and(|via| via.starts_with(&format!("SIP/2.0/{} ", client.transport))),
        "tandem's Via names the transport: {}",
        bye.text
    );
}

fn assert_exchange_saw(rig: &Rig, calls: u64, released_by_exchange: u64) {
    let stats = rig.wait_for(Duration::from_secs(10), "every RLC", |s| {
        Rig::count(s, "sent", "RLC") + Rig::count(s, "received", "RLC") >= calls
    });
    for (direction, kind, count) in [
        ("received", "IAM", calls),
        ("sent", "ANM", calls),
        ("received", "REL", calls - released_by_exchange),
        ("sent", "REL", released_by_exchange),
    ] {
        assert_eq!(
            Rig::count(&stats, direction, kind),
            count,
            "{direction} {kind}: {stats}"
        );
    }
}

#[test]
fn calls_over_websocket_and_secure_websocket() {
    let ca = TestCa::new();
    let (mut rig, _, http, https) = secure_rig(&ca, "127.0.0.1");
    runtime().block_on(async {
        let mut ws = SipClient::ws(http, "sip").await.expect("WS handshake");
        call_and_hang_up(&rig, &mut ws, "4930123456").await;
        let mut wss = SipClient::wss(https, &ca.connector())
            .await
            .expect("WSS handshake");
        call_and_hang_up(&rig, &mut wss, "4930123456").await;
        call_released_by_exchange(&mut ws).await;
        call_released_by_exchange(&mut wss).await;
    });
    assert_exchange_saw(&rig, 4, 2);
    rig.stop_and_replay();
}

#[test]
fn calls_over_tls() {
    let ca = TestCa::new();
    let (mut rig, tls, _, _) = secure_rig(&ca, "127.0.0.1");
    runtime().block_on(async {
        let mut client = SipClient::tls(tls, &ca.connector())
            .await
            .expect("TLS handshake");
        call_and_hang_up(&rig, &mut client, "4930123456").await;
        call_released_by_exchange(&mut client).await;
        // Bytes that cannot be framed end the connection cleanly (no Content-Length on a stream).
        client
            .send("BYE sip:x@y SIP/2.0\r\nVia: SIP/2.0/TLS h\r\n\r\n")
            .await;
        assert!(
            client.recv().await.is_none(),
            "unframeable TLS stream closed"
        );
    });
    assert_exchange_saw(&rig, 2, 1);
    rig.stop_and_replay();
}

#[test]
fn websocket_refuses_other_subprotocols_and_survives_junk() {
    let ca = TestCa::new();
    let (mut rig, _, http, https) = secure_rig(&ca, "127.0.0.1");
    runtime().block_on(async {
        match SipClient::ws(http, "chat").await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 400)
            }
            Err(other) => panic!("refused the wrong way: {other}"),
            Ok(_) => panic!("a WebSocket without the sip subprotocol was accepted"),
        }
        let mut ws = SipClient::ws(http, "sip").await.expect("WS handshake");
        ws.send("hello, this is not SIP").await;
        ws.send_raw(&[0xff, 0x00, 0xfe, 0x13]).await;
        ws.send("\r\n\r\n").await;
        ws.send("INVITE sip:1@2 SIP/2.0\r\nVia: nonsense\r\n\r\n")
            .await;
        assert_eq!(ws.options().await, 200, "the connection survives junk");
        // A message over max_message_bytes closes the connection, and tandem carries on.
        ws.send(&"x".repeat(300 * 1024)).await;
        assert!(
            ws.recv().await.is_none(),
            "oversized message closes the WebSocket"
        );
        let mut wss = SipClient::wss(https, &ca.connector())
            .await
            .expect("WSS handshake");
        assert_eq!(
            wss.options().await,
            200,
            "tandem still serves WebSocket clients"
        );
    });
    rig.stop_and_replay();
}

#[test]
fn ipv6_loopback_listeners() {
    let ca = TestCa::new();
    let (mut rig, tls, http, https) = secure_rig(&ca, "[::1]");
    runtime().block_on(async {
        let mut ws = SipClient::ws(http, "sip").await.expect("WS over IPv6");
        assert_eq!(ws.options().await, 200);
        let mut wss = SipClient::wss(https, &ca.connector())
            .await
            .expect("WSS over IPv6");
        call_and_hang_up(&rig, &mut wss, "4930123456").await;
        let mut client = SipClient::tls(tls, &ca.connector())
            .await
            .expect("TLS over IPv6");
        assert_eq!(client.options().await, 200);
    });
    assert_exchange_saw(&rig, 1, 0);
    rig.stop_and_replay();
}

/// ISUP → SIP over TLS: the dialplan's `sips:` target makes tandem dial TLS (certificate checked against the
/// target's IP with `[sip.tls] ca`), and its BYE after the exchange hangs up reuses that connection.
#[test]
fn calls_from_the_exchange_to_a_tls_uas() {
    let ca = TestCa::new();
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("UAS listener");
    let uas = listener.local_addr().expect("UAS address");
    let dialplan = format!(
        r#"
fn route(view) {{
    if view.source == "isup" {{
        return #{{ action: "sip", uri: "sips:" + view.called + "@{uas}" }};
    }}
    #{{ action: "trunk", trunk: "pstn" }}
}}
"#
    );
    let addr = |port: u16| -> SocketAddr { SocketAddr::from(([127, 0, 0, 1], port)) };
    let mut rig = Rig::start(RigOptions {
        exchange: Exchange::Call {
            to: "4930123456".into(),
            count: 2,
            hold_ms: 300,
        },
        dialplan: Some(dialplan),
        sip_extra: ca.config(
            addr(free_port(true)),
            addr(free_port(true)),
            addr(free_port(true)),
        ),
        ..RigOptions::default()
    });
    let byes = rt.block_on(async {
        let mut server = SipClient::accept_tls(&listener, &ca.acceptor())
            .await
            .expect("tandem dials TLS");
        let contact = format!("Contact: <sips:{uas}>");
        let mut byes = 0;
        while byes < 2 {
            let Some(request) = server.recv().await else {
                break;
            };
            match request.method() {
                Some("INVITE") => {
                    let tag = server.token();
                    let ringing =
                        request.response(180, Some(&tag), std::slice::from_ref(&contact), "");
                    server.send(&ringing).await;
                    let ok = request.response(
                        200,
                        Some(&tag),
                        std::slice::from_ref(&contact),
                        SDP_OFFER,
                    );
                    server.send(&ok).await;
                }
                Some("BYE") => {
                    byes += 1;
                    server.send(&request.ok()).await;
                }
                _ => {}
            }
        }
        byes
    });
    assert_eq!(
        byes,
        2,
        "both calls ended with a BYE on the one TLS connection\n{}",
        rig.logs()
    );
    assert!(
        rig.wait_exchange(Duration::from_secs(20)),
        "ss7sim calls completed\n{}",
        rig.logs()
    );
    let stats = rig.stats();
    assert_eq!(Rig::count(&stats, "received", "ANM"), 2, "{stats}");
    rig.stop_and_replay();
}
