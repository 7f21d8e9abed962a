//! SIP over TLS, WebSocket and secure WebSocket (RFC 3261 §26.2, RFC 7118) end to end: a Rust client places
//! calls through tandem to the simulated exchange, takes the exchange's hang-up as a BYE on the connection it
//! opened, and feeds junk that must neither crash tandem nor cost the connection. Certificates are made per test.

use std::net::SocketAddr;
use std::time::Duration;

use crate::harness::{free_port, Exchange, Rig, RigOptions};
use crate::sip_client::{runtime, SipClient, TestCa, SDP_OFFER};

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
            client.closed_within(Duration::from_secs(10)).await,
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
            ws.closed_within(Duration::from_secs(10)).await,
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

/// `[sip] listen` on IPv6 loopback: UDP and TCP both answer there. tandem runs alone (its trunk has no peer):
/// OPTIONS is answered by the SIP endpoint whatever the ISUP side does.
#[test]
fn udp_and_tcp_listen_on_ipv6_loopback() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port(true);
    let sip: SocketAddr = format!("[::1]:{port}").parse().expect("address");
    let config = format!(
        "[sip]\nlisten = \"{sip}\"\n[event_log]\npath = {:?}\n[[trunk]]\nname = \"pstn\"\ntransport = \"udp\"\nremote = \"127.0.0.1:{}\"\nudp_local_port = {}\nudp_remote_port = {}\n",
        dir.path().join("events.sqlite").display().to_string(),
        free_port(false),
        free_port(false),
        free_port(false),
    );
    let config_path = dir.path().join("tandem.toml");
    std::fs::write(&config_path, config).expect("write config");
    /// Kills tandem however the test ends.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let tandem = std::process::Command::new(crate::harness::tandem_bin())
        .arg("run")
        .arg("--config")
        .arg(&config_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tandem");
    let tandem = Running(tandem);
    let options = |transport: &str, from: SocketAddr| {
        format!(
            "OPTIONS sip:{sip} SIP/2.0\r\nVia: SIP/2.0/{transport} {from};branch=z9hG4bK6{transport}{};rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@{from}>;tag=6\r\nTo: <sip:{sip}>\r\nCall-ID: v6-{transport}-{}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            std::process::id(),
            std::process::id(),
        )
    };
    let udp = std::net::UdpSocket::bind("[::1]:0").expect("UDP socket");
    udp.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let from = udp.local_addr().expect("address");
    let mut answer = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while answer.is_empty() && std::time::Instant::now() < deadline {
        let _ = udp.send_to(options("UDP", from).as_bytes(), sip);
        let mut buffer = [0u8; 4096];
        if let Ok((length, source)) = udp.recv_from(&mut buffer) {
            assert_eq!(source, sip, "the answer comes from the IPv6 listener");
            answer = String::from_utf8_lossy(&buffer[..length]).into_owned();
        }
    }
    let mut tcp = std::net::TcpStream::connect(sip).expect("TCP over IPv6");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let from = tcp.local_addr().expect("address");
    tcp.write_all(options("TCP", from).as_bytes())
        .expect("send");
    let mut buffer = [0u8; 4096];
    let length = tcp.read(&mut buffer).unwrap_or(0);
    let tcp_answer = String::from_utf8_lossy(&buffer[..length]).into_owned();
    drop(tandem);
    assert!(
        answer.starts_with("SIP/2.0 200"),
        "UDP over IPv6: {answer:?}"
    );
    assert!(
        tcp_answer.starts_with("SIP/2.0 200"),
        "TCP over IPv6: {tcp_answer:?}"
    );
}

/// `[sip] idle_timeout_ms`: a TLS or WebSocket connection with nothing received for that long is closed, and one
/// that keeps talking is not.
#[test]
fn idle_connections_are_closed() {
    let ca = TestCa::new();
    let addr = |port: u16| -> SocketAddr { SocketAddr::from(([127, 0, 0, 1], port)) };
    let (tls, http) = (addr(free_port(true)), addr(free_port(true)));
    let mut rig = Rig::start(RigOptions {
        sip_extra: format!(
            "idle_timeout_ms = 1500\n{}",
            ca.config(tls, http, addr(free_port(true)))
        ),
        ..RigOptions::default()
    });
    runtime().block_on(async {
        let mut ws = SipClient::ws(http, "sip").await.expect("WS handshake");
        let mut client = SipClient::tls(tls, &ca.connector())
            .await
            .expect("TLS handshake");
        let mut busy = SipClient::ws(http, "sip").await.expect("WS handshake");
        for _ in 0..4 {
            assert_eq!(busy.options().await, 200, "a talking connection stays open");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(
            ws.closed_within(Duration::from_secs(10)).await,
            "idle WS closed"
        );
        assert!(
            client.closed_within(Duration::from_secs(10)).await,
            "idle TLS closed"
        );
    });
    rig.stop_and_replay();
}
