//! Endpoint tests with hand-written SIP messages on simulated time: UAS and UAC call flows,
//! retransmissions, CANCEL, timeouts, malformed input and the RFC 4475 torture corpus.
//! This file holds the shared helpers.

use std::net::SocketAddr;

use super::endpoint::{Endpoint, EndpointConfig, OutgoingInvite, SipEvent, Transmit};
use super::message::{self, Message};
use super::{LegId, TransportKind};

mod dialog;
mod outbound;
mod registrar;
mod relay;
mod robustness;
mod transports;
mod uac;
mod uas;

pub(super) const LOCAL: &str = "192.0.2.1:5060";
pub(super) const PEER: &str = "192.0.2.10:5060";
pub(super) const SDP_OFFER: &str =
    "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

pub(super) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub(super) fn endpoint() -> Endpoint {
    let mut cfg = EndpointConfig::new(addr(LOCAL));
    cfg.seed = 7;
    Endpoint::new(cfg)
}

/// Build a message from header lines (joined with CRLF) and a body; Content-Length computed.
pub(super) fn msg(start: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut out = format!("{start}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

pub(super) fn invite(branch: &str) -> Vec<u8> {
    msg(
        "INVITE sip:+4930123@192.0.2.1 SIP/2.0",
        &[
            &format!("Via: SIP/2.0/UDP 192.0.2.10:5060;branch={branch}"),
            "Max-Forwards: 70",
            "From: \"Alice\" <sip:alice@192.0.2.10>;tag=a1",
            "To: <sip:+4930123@192.0.2.1>",
            "Call-ID: call-1@192.0.2.10",
            "CSeq: 1 INVITE",
            "Contact: <sip:alice@192.0.2.10:5062>",
            "P-Asserted-Identity: <tel:+4940999>",
            "Privacy: id",
            "Content-Type: application/sdp",
        ],
        SDP_OFFER,
    )
}

pub(super) fn in_dialog(method: &str, branch: &str, cseq: u32, to_tag: &str) -> Vec<u8> {
    msg(
        &format!("{method} sip:+4930123@192.0.2.1 SIP/2.0"),
        &[
            &format!("Via: SIP/2.0/UDP 192.0.2.10:5060;branch={branch}"),
            "Max-Forwards: 70",
            "From: \"Alice\" <sip:alice@192.0.2.10>;tag=a1",
            &format!("To: <sip:+4930123@192.0.2.1>;tag={to_tag}"),
            "Call-ID: call-1@192.0.2.10",
            &format!("CSeq: {cseq} {method}"),
        ],
        "",
    )
}

pub(super) fn transmits(ep: &mut Endpoint) -> Vec<Transmit> {
    std::iter::from_fn(|| ep.poll_transmit()).collect()
}

pub(super) fn events(ep: &mut Endpoint) -> Vec<SipEvent> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

pub(super) fn status_of(t: &Transmit) -> u16 {
    match message::parse(&t.data) {
        Ok(Message::Response(r)) => r.status(),
        other => panic!("expected a response, got {other:?}"),
    }
}

pub(super) fn request_of(t: &Transmit) -> message::Request {
    match message::parse(&t.data) {
        Ok(Message::Request(r)) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

pub(super) fn response_of(t: &Transmit) -> message::Response {
    match message::parse(&t.data) {
        Ok(Message::Response(r)) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

pub(super) fn incoming_leg(ep: &mut Endpoint) -> LegId {
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &invite("z9hG4bKinv1"), 0);
    let sent = transmits(ep);
    assert_eq!(sent.len(), 1, "exactly one 100 Trying");
    assert_eq!(status_of(&sent[0]), 100);
    match events(ep).as_slice() {
        [SipEvent::IncomingInvite { leg, .. }] => *leg,
        other => panic!("unexpected events {other:?}"),
    }
}

pub(super) fn to_tag_of(t: &Transmit) -> String {
    response_of(t).to().and_then(|t| t.tag).unwrap()
}

pub(super) fn outgoing(transport: TransportKind) -> OutgoingInvite {
    OutgoingInvite {
        request_uri: "sip:+4930555@192.0.2.20".into(),
        destination: addr("192.0.2.20:5060"),
        transport,
        from_uri: "sip:+4940111@192.0.2.1".into(),
        from_display: Some("Caller \"X\"".into()),
        to_uri: "sip:+4930555@192.0.2.20".into(),
        extra_headers: vec![("P-Asserted-Identity".into(), "<tel:+4940111>".into())],
        body: Some(("application/sdp".into(), SDP_OFFER.as_bytes().to_vec())),
        max_forwards: None,
        relay_in_dialog: false,
    }
}

/// A response to `req` from the far end, with optional To-tag and extra headers.
pub(super) fn reply(
    req: &message::Request,
    status: u16,
    tag: Option<&str>,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    message::build_response(
        req,
        status,
        message::default_reason(status),
        tag,
        &extra,
        None,
    )
    .unwrap()
    .to_bytes()
}
