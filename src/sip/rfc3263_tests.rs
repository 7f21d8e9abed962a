//! RFC 3263 §4 resolution on hand-written DNS answers: which questions are asked in which order, how SRV
//! priorities and weights order the targets, and the port and transport rules.

use super::*;

fn naptr(order: u16, preference: u16, service: &str, replacement: &str) -> DnsRecord {
    DnsRecord::Naptr {
        order,
        preference,
        flags: "s".into(),
        service: service.into(),
        replacement: replacement.into(),
    }
}

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> DnsRecord {
    DnsRecord::Srv {
        priority,
        weight,
        port,
        target: target.into(),
    }
}

fn address(ip: &str) -> DnsRecord {
    DnsRecord::Address {
        ip: ip.parse().unwrap(),
    }
}

fn records(records: Vec<DnsRecord>) -> DnsAnswer {
    DnsAnswer::Records { ttl_s: 60, records }
}

/// Runs a resolution against a fixed zone; returns the questions asked and the targets found.
fn run(
    uri: &str,
    seed: u64,
    zone: &[(&str, RecordType, Vec<DnsRecord>)],
) -> (Vec<String>, Vec<String>) {
    let mut resolution = Resolution::new(uri, seed).unwrap();
    let mut asked = Vec::new();
    while let Some(question) = resolution.next_query() {
        asked.push(format!("{:?} {}", question.rtype, question.name));
        let answer = zone
            .iter()
            .find(|(name, rtype, _)| *name == question.name && *rtype == question.rtype)
            .map_or(DnsAnswer::NxDomain { negative_ttl_s: 30 }, |(_, _, r)| {
                records(r.clone())
            });
        resolution.answer(&question, &answer);
        assert!(asked.len() < 50, "runaway resolution: {asked:?}");
    }
    let targets = resolution
        .targets()
        .iter()
        .map(|t| format!("{:?} {}", t.transport, t.addr))
        .collect();
    (asked, targets)
}

#[test]
fn ip_literal_hosts_need_no_lookup() {
    assert_eq!(
        run("sip:1@192.0.2.1", 0, &[]),
        (vec![], vec!["Udp 192.0.2.1:5060".to_string()])
    );
    assert_eq!(
        run("sip:1@[2001:db8::1]:5080;transport=tcp", 0, &[]).1,
        ["Tcp [2001:db8::1]:5080"]
    );
    assert_eq!(run("sips:1@192.0.2.1", 0, &[]).1, ["Tls 192.0.2.1:5061"]);
}

#[test]
fn an_explicit_port_skips_naptr_and_srv() {
    let zone = [("example.com", RecordType::A, vec![address("192.0.2.7")])];
    let (asked, targets) = run("sip:1@Example.COM:5070", 0, &zone);
    assert_eq!(asked, ["A example.com", "Aaaa example.com"]);
    assert_eq!(targets, ["Udp 192.0.2.7:5070"]);
}

#[test]
fn a_transport_parameter_skips_naptr_and_falls_back_to_the_default_port() {
    let zone = [
        (
            "_sip._tcp.example.com",
            RecordType::Srv,
            vec![srv(1, 0, 5099, "pbx.example.com")],
        ),
        ("pbx.example.com", RecordType::A, vec![address("192.0.2.9")]),
        ("example.com", RecordType::A, vec![address("192.0.2.1")]),
    ];
    let (asked, targets) = run("sip:1@example.com;transport=TCP", 0, &zone);
    assert_eq!(asked[0], "Srv _sip._tcp.example.com");
    assert_eq!(targets, ["Tcp 192.0.2.9:5099"]);
    // No SRV for that transport: the host itself on 5060.
    let (asked, targets) = run("sip:1@example.com;transport=udp", 0, &zone);
    assert_eq!(
        asked,
        [
            "Srv _sip._udp.example.com",
            "A example.com",
            "Aaaa example.com"
        ]
    );
    assert_eq!(targets, ["Udp 192.0.2.1:5060"]);
}

#[test]
fn naptr_order_and_preference_pick_the_srv_names_and_transports() {
    let zone = [
        (
            "example.com",
            RecordType::Naptr,
            vec![
                naptr(20, 10, "SIP+D2U", "_sip._udp.example.com."),
                naptr(10, 50, "SIP+D2T", "_sip._tcp.example.com."),
                naptr(10, 60, "SIP+D2S", "_sip._sctp.example.com."),
                naptr(5, 10, "E2U+sip", "ignored.example.com."),
            ],
        ),
        (
            "_sip._tcp.example.com",
            RecordType::Srv,
            vec![srv(0, 0, 5061, "tcp.example.com.")],
        ),
        (
            "_sip._udp.example.com",
            RecordType::Srv,
            vec![srv(0, 0, 5062, "udp.example.com.")],
        ),
        (
            "tcp.example.com",
            RecordType::A,
            vec![address("192.0.2.20")],
        ),
        (
            "udp.example.com",
            RecordType::Aaaa,
            vec![address("2001:db8::21")],
        ),
    ];
    let (asked, targets) = run("sip:1@example.com", 0, &zone);
    assert_eq!(
        asked,
        [
            "Naptr example.com",
            "Srv _sip._tcp.example.com",
            "A tcp.example.com",
            "Aaaa tcp.example.com",
            "Srv _sip._udp.example.com",
            "A udp.example.com",
            "Aaaa udp.example.com",
        ]
    );
    assert_eq!(targets, ["Tcp 192.0.2.20:5061", "Udp [2001:db8::21]:5062"]);
}

#[test]
fn without_naptr_srv_is_tried_per_transport_then_the_host() {
    let zone = [("example.com", RecordType::A, vec![address("192.0.2.1")])];
    let (asked, targets) = run("sip:1@example.com", 0, &zone);
    assert_eq!(
        asked,
        [
            "Naptr example.com",
            "Srv _sip._udp.example.com",
            "Srv _sip._tcp.example.com",
            "Srv _sips._tcp.example.com",
            "A example.com",
            "Aaaa example.com",
        ]
    );
    assert_eq!(targets, ["Udp 192.0.2.1:5060"]);
    // sips: only ever TLS.
    let (asked, _) = run("sips:1@example.com", 0, &zone);
    assert_eq!(
        asked[1..],
        [
            "Srv _sips._tcp.example.com",
            "A example.com",
            "Aaaa example.com"
        ]
    );
}

#[test]
fn srv_priorities_come_first_and_a_dot_target_is_skipped() {
    let zone = [
        (
            "_sip._udp.example.com",
            RecordType::Srv,
            vec![
                srv(20, 0, 5002, "b.example.com"),
                srv(10, 0, 5001, "a.example.com"),
                srv(5, 0, 0, "."),
            ],
        ),
        ("a.example.com", RecordType::A, vec![address("192.0.2.1")]),
        ("b.example.com", RecordType::A, vec![address("192.0.2.2")]),
    ];
    let (_, targets) = run("sip:1@example.com;transport=udp", 0, &zone);
    assert_eq!(targets, ["Udp 192.0.2.1:5001", "Udp 192.0.2.2:5002"]);
}

#[test]
fn srv_weights_follow_rfc_2782_and_the_seed_replays_exactly() {
    let zone = [
        (
            "_sip._udp.example.com",
            RecordType::Srv,
            vec![
                srv(1, 90, 5001, "heavy.example.com"),
                srv(1, 10, 5002, "light.example.com"),
            ],
        ),
        (
            "heavy.example.com",
            RecordType::A,
            vec![address("192.0.2.1")],
        ),
        (
            "light.example.com",
            RecordType::A,
            vec![address("192.0.2.2")],
        ),
    ];
    let first = |seed| run("sip:1@example.com;transport=udp", seed, &zone).1[0].clone();
    // The same seed gives the same order, always.
    assert_eq!(first(42), first(42));
    let heavy_first = (0..1000u64)
        .filter(|seed| first(*seed) == "Udp 192.0.2.1:5001")
        .count();
    // 90:10 weights: the heavy target leads in about 90% of the draws.
    assert!(
        (850..=950).contains(&heavy_first),
        "heavy first {heavy_first} of 1000"
    );
}

#[test]
fn bad_uris_are_refused() {
    assert!(matches!(
        Resolution::new("tel:+123", 0),
        Err(ResolveError::NotSipUri(_))
    ));
    assert!(matches!(
        Resolution::new("sip:1@", 0),
        Err(ResolveError::NotSipUri(_))
    ));
    assert!(matches!(
        Resolution::new("sip:1@example.com;transport=sctp", 0),
        Err(ResolveError::UnsupportedTransport(_))
    ));
}

#[test]
fn an_answer_to_another_question_is_ignored() {
    let mut resolution = Resolution::new("sip:1@example.com:5070", 0).unwrap();
    let wrong = DnsQuestion {
        name: "other.example.com".into(),
        rtype: RecordType::A,
    };
    resolution.answer(&wrong, &records(vec![address("192.0.2.66")]));
    assert!(resolution.targets().is_empty());
    assert_eq!(resolution.next_query().unwrap().name, "example.com");
}

#[test]
fn the_cache_keeps_answers_for_their_ttl() {
    let mut cache = DnsCache {
        failure_ttl_ms: 1000,
        ..DnsCache::default()
    };
    let question = DnsQuestion {
        name: "example.com".into(),
        rtype: RecordType::A,
    };
    cache.insert(&question, &records(vec![address("192.0.2.1")]), 0);
    assert!(cache.get(&question, 59_999).is_some());
    assert!(cache.get(&question, 60_000).is_none());
    cache.insert(
        &question,
        &DnsAnswer::Failed {
            reason: "timeout".into(),
        },
        0,
    );
    assert!(cache.get(&question, 999).is_some());
    assert!(cache.get(&question, 1000).is_none());
}
