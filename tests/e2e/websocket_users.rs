//! Browser-style users over WebSocket (RFC 7118) and secure WebSocket: a Rust client REGISTERs with digest
//! (RFC 8760, MD5 and SHA-256 computed here), places a call to the exchange, then takes the exchange's call to
//! its user on the connection it registered from. RFC 5626 basics: an outbound REGISTER gets `Require:
//! outbound` and `Flow-Timer`, CRLF pings get pongs, and once a flow closes its binding is skipped (the next
//! binding takes the call; with none left the call is refused with the cause the tables give 480).
//!
//! INVITEs from loopback are trusted by default, so the client's own call is not challenged here (the 407 path
//! is covered over UDP by `registrar::invite_from_an_untrusted_source_is_challenged_then_connects`).

use std::net::SocketAddr;
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::harness::{free_port, Rig, RigOptions};
use crate::registrar::{assert_call_to_user_refused, ROUTE_TO_USER};
use crate::sip_client::{runtime, SipClient, SipMessage, TestCa, SDP_OFFER};

const USERS: &str = "[[sip.user]]\nname = \"1001\"\npassword = \"s3cret\"\n";

fn hex_digest(algorithm: &str, text: &str) -> String {
    let bytes: Vec<u8> = match algorithm {
        "MD5" => Md5::digest(text.as_bytes()).to_vec(),
        _ => Sha256::digest(text.as_bytes()).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of `name="..."` (or `name=token`) in a challenge.
fn param(challenge: &str, name: &str) -> Option<String> {
    challenge.split(',').find_map(|part| {
        let part = part.trim().trim_start_matches("Digest").trim();
        let (n, v) = part.split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// RFC 3261 §22.4 / RFC 8760 with qop=auth: the Authorization answering `challenge`.
fn authorization(challenge: &str, user: &str, password: &str, uri: &str) -> String {
    let algorithm = param(challenge, "algorithm").unwrap_or_else(|| "MD5".into());
    let realm = param(challenge, "realm").expect("realm");
    let nonce = param(challenge, "nonce").expect("nonce");
    let (cnonce, nc) = ("a1b2c3", "00000001");
    let ha1 = hex_digest(&algorithm, &format!("{user}:{realm}:{password}"));
    let ha2 = hex_digest(&algorithm, &format!("REGISTER:{uri}"));
    let response = hex_digest(
        &algorithm,
        &format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"),
    );
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm={algorithm}, cnonce=\"{cnonce}\", nc={nc}, qop=auth"
    )
}

/// REGISTERs `user` from `client` with `contact_params` after the Contact URI and `extra` header lines,
/// answering the 401 with `algorithm`'s challenge; returns the final response.
async fn register(
    client: &mut SipClient,
    user: &str,
    password: &str,
    algorithm: &str,
    contact_params: &str,
    extra: &str,
) -> SipMessage {
    let (call_id, tag) = (client.token(), client.token());
    let uri = format!("sip:{}", client.server);
    let (host, server) = (client.host.clone(), client.server);
    let text = |cseq: u32, auth: &str, via: String| {
        format!(
            "REGISTER {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@{server}>;tag={tag}\r\nTo: <sip:{user}@{server}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{host};transport=ws{contact_params}\r\nExpires: 600\r\n{extra}{auth}Content-Length: 0\r\n\r\n"
        )
    };
    let first = text(1, "", client.via());
    let challenge = client.request(&first).await;
    let challenge = challenge.last().expect("a response");
    assert_eq!(challenge.status(), Some(401), "{}", challenge.text);
    let offered = challenge
        .headers("WWW-Authenticate")
        .into_iter()
        .find(|c| param(c, "algorithm").as_deref() == Some(algorithm))
        .unwrap_or_else(|| panic!("no {algorithm} challenge: {}", challenge.text));
    let auth = format!(
        "Authorization: {}\r\n",
        authorization(&offered, user, password, &uri)
    );
    let second = text(2, &auth, client.via());
    client.request(&second).await.pop().expect("a response")
}

/// Takes tandem's INVITE on `client`'s connection, answers it, and answers the exchange's BYE: the whole
/// incoming call. Returns the INVITE, or `None` when a message did not come. The INVITE may take a while: the
/// calling ss7sim replaces the serving one, and tandem's association has to notice and come back first.
async fn answer_incoming_call(client: &mut SipClient) -> Option<SipMessage> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let invite = loop {
        match client.recv().await {
            Some(message) if message.method() == Some("INVITE") => break message,
            Some(_) => {}
            None if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            None => return None,
        }
    };
    let tag = client.token();
    let contact = format!("Contact: <sip:callee@{};transport=ws>", client.host);
    let ringing = invite.response(180, Some(&tag), std::slice::from_ref(&contact), "");
    client.send(&ringing).await;
    let ok = invite.response(200, Some(&tag), std::slice::from_ref(&contact), SDP_OFFER);
    client.send(&ok).await;
    let mut acked = false;
    loop {
        let message = client.recv().await?;
        match message.method() {
            Some("ACK") => acked = true,
            Some("BYE") => {
                assert!(acked, "BYE before the ACK");
                client.send(&message.ok()).await;
                return Some(invite);
            }
            _ => {}
        }
    }
}

fn rig(ca: &TestCa, sip_extra: &str) -> (Rig, SocketAddr, SocketAddr) {
    let addr = |port: u16| -> SocketAddr { SocketAddr::from(([127, 0, 0, 1], port)) };
    let (http, https) = (addr(free_port(true)), addr(free_port(true)));
    let rig = Rig::start(RigOptions {
        dialplan: Some(ROUTE_TO_USER.into()),
        sip_extra: format!(
            "{sip_extra}\n{USERS}{}",
            ca.config(addr(free_port(true)), http, https)
        ),
        ..RigOptions::default()
    });
    (rig, http, https)
}

/// Opens a WebSocket (`secure`: WSS) to the rig.
async fn connect(ca: &TestCa, http: SocketAddr, https: SocketAddr, secure: bool) -> SipClient {
    if secure {
        SipClient::wss(https, &ca.connector())
            .await
            .expect("WSS handshake")
    } else {
        SipClient::ws(http, "sip").await.expect("WS handshake")
    }
}

/// REGISTER with digest (`algorithm`), a call out to the exchange, then the exchange's call to the user on the
/// same connection: one rig, one incoming call (back-to-back ss7sim call runs race tandem's circuit reset).
fn register_call_out_and_be_called(secure: bool, algorithm: &str) {
    let ca = TestCa::new();
    let (mut rig, http, https) = rig(&ca, "");
    let rt = runtime();
    let mut client = rt.block_on(async {
        let mut client = connect(&ca, http, https, secure).await;
        let ok = register(&mut client, "1001", "s3cret", algorithm, ">", "").await;
        assert_eq!(ok.status(), Some(200), "REGISTER: {}", ok.text);
        assert!(
            ok.header("Contact")
                .is_some_and(|c| c.contains(&format!("sip:1001@{}", client.host))),
            "the 200 lists the binding: {}",
            ok.text
        );
        let mut call = client.invite("4930123456").await;
        assert_eq!(
            call.invite_statuses.last(),
            Some(&200),
            "{} call out\n{}",
            client.transport,
            rig.logs()
        );
        assert_eq!(client.bye(&mut call).await, 200, "{} BYE", client.transport);
        client
    });
    // The call out fully released at the exchange before it is replaced by the calling one.
    rig.wait_for(Duration::from_secs(10), "the RLC", |s| {
        Rig::count(s, "sent", "RLC") >= 1
    });
    rig.start_exchange_call("1001", 1, 300);
    let invite = rt
        .block_on(answer_incoming_call(&mut client))
        .unwrap_or_else(|| panic!("the call to 1001 did not arrive and end\n{}", rig.logs()));
    assert!(
        invite
            .text
            .starts_with(&format!("INVITE sip:1001@{}", client.host)),
        "the INVITE targets the binding: {}",
        invite.text
    );
    assert!(
        invite
            .text
            .contains(&format!("SIP/2.0/{} ", client.transport)),
        "on the client's transport: {}",
        invite.text
    );
    assert!(
        rig.wait_exchange(Duration::from_secs(30)),
        "the exchange's call over {} did not complete\n{}",
        client.transport,
        rig.logs()
    );
    let stats = rig.stats();
    assert_eq!(Rig::count(&stats, "received", "ANM"), 1, "{stats}");
    rig.wait_for_tandem_log(
        Duration::from_secs(5),
        "user 1001 is registered at sip:1001@",
    );
    rig.stop_and_replay();
}

#[test]
fn websocket_user_registers_with_sha256_calls_out_and_is_called() {
    register_call_out_and_be_called(false, "SHA-256");
}

#[test]
fn secure_websocket_user_registers_with_md5_calls_out_and_is_called() {
    register_call_out_and_be_called(true, "MD5");
}

/// An outbound REGISTER over WS: `Require: outbound`, `Flow-Timer` from `[sip] flow_timer`.
async fn register_outbound(client: &mut SipClient) {
    let outbound =
        ";ob>;+sip.instance=\"<urn:uuid:6f1b0c1e-0000-4000-8000-00000000a001>\";reg-id=1;q=1.0";
    let ok = register(
        client,
        "1001",
        "s3cret",
        "SHA-256",
        outbound,
        "Supported: outbound\r\n",
    )
    .await;
    assert_eq!(ok.status(), Some(200), "{}", ok.text);
    assert_eq!(
        ok.header("Require").as_deref(),
        Some("outbound"),
        "{}",
        ok.text
    );
    assert_eq!(
        ok.header("Flow-Timer").as_deref(),
        Some("25"),
        "{}",
        ok.text
    );
}

#[test]
fn outbound_flows_pong_and_a_closed_flow_fails_over_to_the_next_binding() {
    use std::io::{Read, Write};
    let ca = TestCa::new();
    let (mut rig, http, https) = rig(&ca, "flow_timer = 25");
    let rt = runtime();
    // RFC 5626 §4.4.1 on a TCP connection: a double-CRLF ping gets a CRLF pong.
    let mut tcp = std::net::TcpStream::connect(rig.sip).expect("TCP to tandem");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    tcp.write_all(b"\r\n\r\n").expect("ping");
    let mut pong = [0u8; 2];
    tcp.read_exact(&mut pong).expect("pong");
    assert_eq!(&pong, b"\r\n");
    let (ws, mut wss) = rt.block_on(async {
        let mut ws = connect(&ca, http, https, false).await;
        register_outbound(&mut ws).await;
        // Over WebSocket (RFC 7118 §6 allows the RFC 5626 CRLF keep-alive) the pong is a CRLF message.
        ws.send("\r\n\r\n").await;
        let pong = ws.recv().await.expect("pong");
        assert_eq!(pong.text, "\r\n");
        // A second, lower-priority binding of the same user over WSS, without outbound.
        let mut wss = connect(&ca, http, https, true).await;
        let ok = register(&mut wss, "1001", "s3cret", "MD5", ">;q=0.5", "").await;
        assert_eq!(ok.status(), Some(200), "{}", ok.text);
        assert_eq!(
            ok.header("Require"),
            None,
            "no outbound asked for: {}",
            ok.text
        );
        assert_eq!(ok.headers("Contact").len(), 2, "both bindings: {}", ok.text);
        (ws, wss)
    });
    // The WS client goes away: its binding becomes unreachable, recorded and logged.
    let ws = {
        let host = (ws.host.clone(), ws.transport);
        drop(ws);
        host
    };
    rig.wait_for_tandem_log(
        Duration::from_secs(10),
        &format!(
            "user 1001's binding sip:1001@{};transport=ws;ob is unreachable: {} flow",
            ws.0, ws.1
        ),
    );
    rig.start_exchange_call("1001", 1, 300);
    let invite = rt
        .block_on(answer_incoming_call(&mut wss))
        .unwrap_or_else(|| panic!("the call did not reach the WSS binding\n{}", rig.logs()));
    assert!(invite.text.contains("SIP/2.0/WSS"), "{}", invite.text);
    assert!(
        rig.wait_exchange(Duration::from_secs(30)),
        "the call did not fail over to the WSS binding\n{}",
        rig.logs()
    );
    rig.stop_and_replay();
}

/// The user's only binding was an outbound WS flow that closed: the call is refused with the cause the tables
/// give 480 (rfc3398: 18), as for a user who never registered.
#[test]
fn a_user_whose_only_flow_closed_is_refused() {
    let ca = TestCa::new();
    let (mut rig, http, https) = rig(&ca, "flow_timer = 25");
    let rt = runtime();
    let ws = rt.block_on(async {
        let mut ws = connect(&ca, http, https, false).await;
        register_outbound(&mut ws).await;
        ws
    });
    let host = ws.host.clone();
    drop(ws);
    rig.wait_for_tandem_log(
        Duration::from_secs(10),
        &format!("user 1001's binding sip:1001@{host};transport=ws;ob is unreachable: WS flow"),
    );
    assert_call_to_user_refused(&mut rig, "1001");
    rig.stop_and_replay();
}
