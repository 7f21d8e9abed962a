//! Malformed input, determinism, the RFC 4475 and RFC 5118 (IPv6) torture corpora (with the verdicts in
//! `tests/data/rfc4475/verdicts.toml` and `tests/data/rfc5118/verdicts.toml`), hardening limits and fuzzing
//! with proptest.

use proptest::prelude::*;

use super::*;
use crate::sip::framing::StreamFramer;

#[test]
fn malformed_input_never_panics_and_is_reported() {
    let mut ep = endpoint();
    let from = addr(PEER);
    ep.handle_datagram(TransportKind::Udp, from, b"\x00\x01garbage\xff", 0);
    assert!(transmits(&mut ep).is_empty());
    assert!(matches!(
        events(&mut ep).as_slice(),
        [SipEvent::Malformed { .. }]
    ));

    // Truncated: Content-Length promises more than arrived.
    let full = invite("z9hG4bKtr");
    ep.handle_datagram(TransportKind::Udp, from, &full[..full.len() - 20], 0);
    let sent = transmits(&mut ep);
    assert!(sent.iter().all(|t| status_of(t) == 400));
    assert_eq!(sent.len(), 1, "Via/CSeq readable → 400");
    assert!(matches!(
        events(&mut ep).as_slice(),
        [SipEvent::Malformed { .. }]
    ));

    // Cut inside the header section: no blank line, still answerable from the raw lines? No —
    // without the header terminator the message is dropped.
    for cut in 0..full.len() {
        ep.handle_datagram(TransportKind::Udp, from, &full[..cut], 0);
    }
    for t in transmits(&mut ep) {
        assert_eq!(status_of(&t), 400);
    }
}

#[test]
fn date_with_letters_in_its_digit_fields_gets_400() {
    // Found by the sip_message fuzz target: the SIP crate's Date parser overflowed on "q5".
    for date in [
        "Sat, q5 Oct 2005 04:44:56 GMT",
        "Sat, 15 Oct 2005 zz:44:56 GMT",
    ] {
        let text = String::from_utf8(invite("z9hG4bKdate")).unwrap().replacen(
            "CSeq:",
            &format!("Date: {date}\r\nCSeq:"),
            1,
        );
        let mut ep = endpoint();
        ep.handle_datagram(TransportKind::Udp, addr(PEER), text.as_bytes(), 0);
        assert_eq!(
            transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
            vec![400]
        );
    }
    let fuzzed = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz/sip_date_overflow.bin"),
    )
    .unwrap();
    let mut ep = endpoint();
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &fuzzed, 0);
    ep.handle_datagram(TransportKind::Tcp, addr(PEER), &fuzzed, 0);
}

#[test]
fn same_seed_same_output() {
    let run = || {
        let mut ep = endpoint();
        ep.invite(outgoing(TransportKind::Udp), 0).unwrap();
        let mut out = transmits(&mut ep);
        let leg = incoming_leg(&mut ep);
        ep.respond(leg, 200, None, &[], None, 1).unwrap();
        out.extend(transmits(&mut ep));
        out
    };
    assert_eq!(run(), run());
}

/// One row of `tests/data/rfc4475/verdicts.toml` or `tests/data/rfc5118/verdicts.toml`.
#[derive(Debug, serde::Deserialize)]
struct Case {
    file: String,
    section: String,
    udp: String,
    tcp: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Verdicts {
    case: Vec<Case>,
}

fn corpus_dir(rfc: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{rfc}"))
}

fn verdicts(rfc: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir(rfc).join("verdicts.toml")).unwrap();
    toml::from_str::<Verdicts>(&text).unwrap().case
}

/// What the endpoint did with one message: "none", the first status sent, and whether a call was offered.
fn verdict_of(ep: &mut Endpoint) -> (String, bool) {
    let sent = transmits(ep);
    let offered = events(ep)
        .iter()
        .any(|e| matches!(e, SipEvent::IncomingInvite { .. }));
    let first = sent
        .first()
        .map_or("none".to_string(), |t| match message::parse(&t.data) {
            Ok(Message::Response(r)) => r.status().to_string(),
            _ => String::from_utf8_lossy(&t.data)
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_string(),
        });
    (first, offered)
}

/// Feeds every message of a corpus from `peer`, as one datagram and framed from a stream; returns the
/// differences from its verdict table.
fn corpus_differences(rfc: &str, count: usize, peer: &str) -> Vec<String> {
    let cases = verdicts(rfc);
    assert_eq!(cases.len(), count, "every {rfc} message has a verdict");
    let mut wrong = Vec::new();
    for case in &cases {
        let data = std::fs::read(corpus_dir(rfc).join(&case.file)).unwrap();
        // As one datagram.
        let mut ep = endpoint();
        ep.handle_datagram(TransportKind::Udp, addr(peer), &data, 0);
        let (udp, offered) = verdict_of(&mut ep);
        if udp != case.udp || offered != (case.udp == "100") {
            wrong.push(format!(
                "{} (§{}) over UDP: {udp} (call offered: {offered}), want {}",
                case.file, case.section, case.udp
            ));
        }
        // As bytes on a stream: framed first, like the runtime does.
        let mut ep = endpoint();
        let mut framer = StreamFramer::new(64 * 1024);
        let tcp = match framer.push(&data) {
            Err(_) => "close".to_string(),
            Ok(messages) => {
                for message in &messages {
                    ep.handle_datagram(TransportKind::Tcp, addr(peer), message, 0);
                }
                verdict_of(&mut ep).0
            }
        };
        let want = case.tcp.as_deref().unwrap_or(&case.udp);
        if tcp != want {
            wrong.push(format!(
                "{} (§{}) over TCP: {tcp}, want {want}",
                case.file, case.section
            ));
        }
    }
    wrong
}

#[test]
fn rfc4475_torture_messages_get_the_rfc_verdict() {
    let wrong = corpus_differences("rfc4475", 49, PEER);
    assert!(
        wrong.is_empty(),
        "RFC 4475 verdicts differ:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn rfc5118_ipv6_torture_messages_get_the_rfc_verdict() {
    // From an IPv6 peer, as the RFC's messages would arrive.
    let wrong = corpus_differences("rfc5118", 12, "[2001:db8::9:1]:5060");
    assert!(
        wrong.is_empty(),
        "RFC 5118 verdicts differ:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn unacceptable_accept_gets_406_and_acceptable_ones_pass() {
    let with_accept = |accept: &str| {
        let text = String::from_utf8(invite("z9hG4bKacc")).unwrap();
        let text = text.replacen("CSeq:", &format!("Accept: {accept}\r\nCSeq:"), 1);
        let mut ep = endpoint();
        ep.handle_datagram(TransportKind::Udp, addr(PEER), text.as_bytes(), 0);
        verdict_of(&mut ep).0
    };
    assert_eq!(with_accept("text/plain"), "406");
    assert_eq!(with_accept("application/sdp;q=0"), "406");
    assert_eq!(with_accept("text/plain, application/sdp"), "100");
    assert_eq!(with_accept("application/*"), "100");
    assert_eq!(with_accept("*/*;q=0.5"), "100");
}

#[test]
fn invite_with_max_forwards_zero_gets_483() {
    let text = String::from_utf8(invite("z9hG4bKmf0"))
        .unwrap()
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    let mut ep = endpoint();
    ep.handle_datagram(TransportKind::Udp, addr(PEER), text.as_bytes(), 0);
    assert_eq!(verdict_of(&mut ep).0, "483");
}

#[test]
fn parser_limits_refuse_oversized_messages() {
    let limited = |limits: message::ParseLimits, data: &[u8]| {
        let mut cfg = EndpointConfig::new(addr(LOCAL));
        cfg.limits = limits;
        let mut ep = Endpoint::new(cfg);
        ep.handle_datagram(TransportKind::Udp, addr(PEER), data, 0);
        verdict_of(&mut ep)
    };
    let defaults = message::ParseLimits::default();
    let plain = invite("z9hG4bKlim");
    assert_eq!(limited(defaults, &plain), ("100".to_string(), true));
    let few_headers = message::ParseLimits {
        max_headers: 5,
        ..defaults
    };
    let short_headers = message::ParseLimits {
        max_header_bytes: 20,
        ..defaults
    };
    let small_body = message::ParseLimits {
        max_body_bytes: 10,
        ..defaults
    };
    for limits in [few_headers, short_headers, small_body] {
        let (status, offered) = limited(limits, &plain);
        assert!(!offered, "{limits:?} let the INVITE through");
        assert!(status == "400" || status == "none", "{limits:?}: {status}");
    }
}

#[test]
fn requests_over_the_per_source_rate_are_dropped() {
    let mut cfg = EndpointConfig::new(addr(LOCAL));
    cfg.rate_limit_per_source = 2;
    let mut ep = Endpoint::new(cfg);
    let options = |n: u32| {
        msg(
            "OPTIONS sip:192.0.2.1 SIP/2.0",
            &[
                &format!("Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKo{n}"),
                "From: <sip:a@192.0.2.10>;tag=o",
                "To: <sip:192.0.2.1>",
                &format!("Call-ID: opt-{n}"),
                &format!("CSeq: {n} OPTIONS"),
            ],
            "",
        )
    };
    for n in 0..5 {
        ep.handle_datagram(TransportKind::Udp, addr(PEER), &options(n), 0);
    }
    assert_eq!(transmits(&mut ep).len(), 2, "two per second at 2/s");
    let reported = events(&mut ep)
        .iter()
        .filter(|e| matches!(e, SipEvent::Malformed { reason, .. } if reason.contains("rate")))
        .count();
    assert_eq!(reported, 1, "one report per episode");
    // Half a second later one more token is there; another source was never limited.
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &options(9), 500);
    ep.handle_datagram(
        TransportKind::Udp,
        addr("192.0.2.11:5060"),
        &options(10),
        500,
    );
    assert_eq!(transmits(&mut ep).len(), 2);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut ep = endpoint();
        ep.handle_datagram(TransportKind::Udp, addr(PEER), &data, 0);
        ep.handle_timeout(100_000);
        while ep.poll_transmit().is_some() {}
    }

    #[test]
    fn mutated_invite_never_panics(pos in 0usize..600, byte in any::<u8>(), cut in 0usize..700) {
        let mut data = invite("z9hG4bKm");
        if let Some(b) = data.get_mut(pos) { *b = byte; }
        data.truncate(cut);
        let mut ep = endpoint();
        ep.handle_datagram(TransportKind::Udp, addr(PEER), &data, 0);
        ep.handle_datagram(TransportKind::Tcp, addr(PEER), &data, 1);
        ep.handle_timeout(100_000);
        while ep.poll_transmit().is_some() {}
    }
}
