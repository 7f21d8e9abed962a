//! Malformed input, determinism, the RFC 4475 torture corpus and fuzzing with proptest.

use proptest::prelude::*;

use super::*;

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

/// The corpus lives outside the repository; `TANDEM_RFC4475_DIR` overrides the default path.
fn rfc4475_dir() -> std::path::PathBuf {
    std::env::var_os("TANDEM_RFC4475_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/work/shared/data/rfc4475"))
}

/// RFC 4475 §3.1.2 (invalid) messages that must get 400 (or be dropped), and §3.3 application-
/// layer cases that a UAS must refuse.
const INVALID: &[&str] = &[
    "badinv01",
    "clerr",
    "scalar02",
    "scalarlg",
    "quotbal",
    "ltgtruri",
    "lwsruri",
    "lwsstart",
    "trws",
    "escruri",
    "baddate",
    "regbadct",
    "badaspec",
    "baddn",
    "badvers",
    "mismatch01",
    "mismatch02",
    "bigcode",
    "ncl",
    "insuf",
    "multi01",
    "mcl01",
    "unkscm",
    "bext01",
    "invut",
];

#[test]
fn rfc4475_corpus() {
    let mut accepted_invalid = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(rfc4475_dir())
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        eprintln!("RFC 4475 corpus not found at {:?}; skipped", rfc4475_dir());
        return;
    }
    assert!(files.len() >= 50, "corpus incomplete");
    for path in files {
        if path.extension().and_then(|e| e.to_str()) != Some("dat") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let mut ep = endpoint();
        ep.handle_datagram(TransportKind::Udp, addr(PEER), &data, 0);
        ep.handle_timeout(100_000);
        let sent = transmits(&mut ep);
        let evs = events(&mut ep);
        let statuses: Vec<u16> = sent
            .iter()
            .filter_map(|t| match message::parse(&t.data) {
                Ok(Message::Response(r)) => Some(r.status()),
                _ => None,
            })
            .collect();
        let kinds: Vec<String> = evs
            .iter()
            .map(|e| {
                format!("{e:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        eprintln!("rfc4475 {name:12} responses {statuses:?} events {kinds:?}");
        if ["esc01", "longreq", "inv2543", "sdp01"].contains(&name.as_str()) {
            assert!(
                evs.iter()
                    .any(|e| matches!(e, SipEvent::IncomingInvite { .. })),
                "valid INVITE {name} refused: {statuses:?}"
            );
        }
        if INVALID.contains(&name.as_str()) {
            let accepted = evs.iter().any(|e| matches!(e, SipEvent::IncomingInvite { .. }))
                || sent.iter().any(|t| {
                    matches!(message::parse(&t.data), Ok(Message::Response(r)) if r.status() < 300)
                });
            if accepted {
                accepted_invalid.push(name);
            }
        }
    }
    // Known gaps, reported rather than hidden: see the module report.
    let known: &[&str] = &[];
    let unexpected: Vec<_> = accepted_invalid
        .iter()
        .filter(|n| !known.contains(&n.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "invalid messages accepted: {unexpected:?}"
    );
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
