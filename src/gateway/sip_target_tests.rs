//! RFC 3263 through the whole core: an ISUP call routed to `sip:…@sip.test` resolves NAPTR → SRV → A/AAAA by
//! outputs and recorded answers, goes to the first SRV target, fails over to the second on 503 and, when that
//! one never answers (Timer B), releases the circuit; cached answers serve the next call without a query; a
//! target the runtime cannot connect to (a recorded [`Input::SipSendFailed`]) fails over at once; the log
//! replays exactly.

use std::net::SocketAddr;

use super::routing_tests::setup_with;
use super::tests::Bench;
use crate::events::replay::replay;
use crate::events::{EventKind, Input, Output, Payload, SipTransport};
use crate::isup::MessageType as IsupType;
use crate::sip::rfc3263::{DnsAnswer, DnsRecord, RecordType};

const TO_SIP_TEST: &str = r#"
fn route(view) {
    if view.source == "isup" { return #{ action: "sip", uri: "sip:" + view.called + "@sip.test" }; }
    #{ action: "trunk", trunk: "pstn" }
}"#;

/// The zone the bench's "DNS" answers from.
fn zone(name: &str, rtype: RecordType) -> DnsAnswer {
    let records = match (name, rtype) {
        ("sip.test", RecordType::Naptr) => vec![DnsRecord::Naptr {
            order: 10,
            preference: 50,
            flags: "s".into(),
            service: "SIP+D2U".into(),
            replacement: "_sip._udp.sip.test.".into(),
        }],
        ("_sip._udp.sip.test" | "_sip._tcp.sip.test", RecordType::Srv) => vec![
            DnsRecord::Srv {
                priority: 20,
                weight: 0,
                port: 5072,
                target: "second.sip.test.".into(),
            },
            DnsRecord::Srv {
                priority: 10,
                weight: 0,
                port: 5071,
                target: "first.sip.test.".into(),
            },
        ],
        ("first.sip.test", RecordType::A) => vec![DnsRecord::Address {
            ip: "192.0.2.1".parse().unwrap(),
        }],
        ("second.sip.test", RecordType::A) => vec![DnsRecord::Address {
            ip: "192.0.2.2".parse().unwrap(),
        }],
        _ => Vec::new(),
    };
    DnsAnswer::Records {
        ttl_s: 300,
        records,
    }
}

impl Bench {
    fn sip_dns_queries(&self) -> Vec<(u64, String, RecordType)> {
        self.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Output(Output::SipDnsQuery { id, name, rtype }) => {
                    Some((*id, name.clone(), *rtype))
                }
                _ => None,
            })
            .collect()
    }

    /// Answers every query not answered yet from [`zone`], as the runtime's resolver would.
    fn answer_sip_dns(&mut self, answered: &mut usize) {
        loop {
            let queries = self.sip_dns_queries();
            let Some((id, name, rtype)) = queries.get(*answered).cloned() else {
                return;
            };
            *answered += 1;
            let answer = zone(&name, rtype);
            self.feed(Input::SipDnsAnswer {
                id,
                name,
                rtype,
                answer,
            });
        }
    }

    /// Where each INVITE (first transmission) went.
    fn invite_destinations(&self) -> Vec<SocketAddr> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for event in &self.log {
            if let EventKind::Output(Output::SipSend { to, data, .. }) = &event.kind {
                let text = String::from_utf8_lossy(&data.0);
                if text.starts_with("INVITE ") && !seen.contains(&text.to_string()) {
                    seen.push(text.to_string());
                    out.push(*to);
                }
            }
        }
        out
    }

    /// Answers the last INVITE sent with `status`, from the address it went to.
    fn answer_last_invite(&mut self, status: &str) {
        let (to, invite) = self
            .log
            .iter()
            .rev()
            .find_map(|e| match &e.kind {
                EventKind::Output(Output::SipSend { to, data, .. })
                    if data.0.starts_with(b"INVITE ") =>
                {
                    Some((*to, String::from_utf8_lossy(&data.0).into_owned()))
                }
                _ => None,
            })
            .expect("an INVITE was sent");
        let mut response = format!("SIP/2.0 {status}\r\n");
        for line in invite.split("\r\n") {
            let name = line.split(':').next().unwrap_or_default();
            match name {
                "Via" | "From" | "Call-ID" | "CSeq" => response.push_str(&format!("{line}\r\n")),
                "To" => response.push_str(&format!("{line};tag=far\r\n")),
                _ => {}
            }
        }
        response.push_str("Content-Length: 0\r\n\r\n");
        self.feed(Input::SipReceived {
            transport: SipTransport::Udp,
            from: to,
            data: Payload(response.into_bytes()),
        });
    }
}

#[test]
fn srv_targets_in_priority_order_with_failover_on_503_and_timeout() {
    let mut bench = Bench::with_setup(setup_with(TO_SIP_TEST, &[]));
    let mut answered = 0;
    bench.exchange_calls(&[4, 9, 3, 0, 1, 2, 3]);
    bench.answer_sip_dns(&mut answered);
    let asked: Vec<String> = bench
        .sip_dns_queries()
        .iter()
        .map(|(_, name, rtype)| format!("{rtype:?} {name}"))
        .collect();
    assert_eq!(
        asked,
        [
            "Naptr sip.test",
            "Srv _sip._udp.sip.test",
            "A first.sip.test",
            "Aaaa first.sip.test",
            "A second.sip.test",
            "Aaaa second.sip.test",
        ]
    );
    let first: SocketAddr = "192.0.2.1:5071".parse().unwrap();
    let second: SocketAddr = "192.0.2.2:5072".parse().unwrap();
    assert_eq!(bench.invite_destinations(), [first], "priority 10 first");

    // 503 from the first target: the same call goes to the second (RFC 3263 §4.3), the exchange sees nothing.
    bench.answer_last_invite("503 Service Unavailable");
    assert_eq!(bench.invite_destinations(), [first, second]);
    assert!(!bench
        .isup_in
        .iter()
        .any(|m| m.message_type == IsupType::REL));

    // The second never answers: after Timer B no target is left and the circuit is released.
    bench.advance(40_000);
    assert!(
        bench
            .isup_in
            .iter()
            .any(|m| m.message_type == IsupType::REL),
        "REL after the last target timed out: {:?}",
        bench.logs()
    );

    // A second call within the TTL resolves from the core's cache: no new query, same first target.
    let queries_before = bench.sip_dns_queries().len();
    bench.advance(5_000);
    bench.exchange_calls(&[4, 9, 3, 0, 1, 2, 4]);
    assert_eq!(
        bench.sip_dns_queries().len(),
        queries_before,
        "served from the cache"
    );
    assert_eq!(bench.invite_destinations().last(), Some(&first));

    assert!(replay(&bench.log).expect("replays").first.is_none());
}

#[test]
fn a_call_released_during_its_lookups_sends_no_invite() {
    let mut bench = Bench::with_setup(setup_with(TO_SIP_TEST, &[]));
    let cic = bench.exchange_calls(&[4, 9, 3, 0, 1, 2, 3]);
    assert_eq!(bench.sip_dns_queries().len(), 1, "NAPTR asked");
    bench.exchange_releases(cic);
    let mut answered = 0;
    bench.answer_sip_dns(&mut answered);
    assert!(bench.invite_destinations().is_empty(), "{:?}", bench.logs());
    assert!(replay(&bench.log).expect("replays").first.is_none());
}

const TO_SIP_TEST_TCP: &str = r#"
fn route(view) {
    if view.source == "isup" { return #{ action: "sip", uri: "sip:" + view.called + "@sip.test;transport=tcp" }; }
    #{ action: "trunk", trunk: "pstn" }
}"#;

/// The cause of the REL the exchange received, if any.
fn rel_cause(bench: &Bench) -> Option<u8> {
    let rel = bench
        .isup_in
        .iter()
        .find(|m| m.message_type == IsupType::REL)?;
    Some(rel.cause_indicators()?.ok()?.cause_value)
}

#[test]
fn a_refused_connection_fails_over_at_once_then_releases_with_the_503_cause() {
    let mut bench = Bench::with_setup(setup_with(TO_SIP_TEST_TCP, &[]));
    let mut answered = 0;
    bench.exchange_calls(&[4, 9, 3, 0, 1, 2, 3]);
    bench.answer_sip_dns(&mut answered);
    let first: SocketAddr = "192.0.2.1:5071".parse().unwrap();
    let second: SocketAddr = "192.0.2.2:5072".parse().unwrap();
    assert_eq!(bench.invite_destinations(), [first]);

    // The runtime could not connect to the first target: the second gets the INVITE on the same instant, long
    // before Timer B, and the exchange sees nothing yet (RFC 3261 §17.1.4, RFC 3263 §4.3).
    bench.feed(Input::SipSendFailed {
        transport: SipTransport::Tcp,
        to: first,
        reason: "Connection refused (os error 111)".into(),
    });
    assert_eq!(bench.invite_destinations(), [first, second]);
    assert_eq!(rel_cause(&bench), None, "{:?}", bench.logs());
    assert!(
        bench
            .logs()
            .iter()
            .any(|l| l.contains("not delivered") && l.contains("Connection refused")),
        "{:?}",
        bench.logs()
    );

    // A failure reported for another transport or address touches no transaction.
    bench.feed(Input::SipSendFailed {
        transport: SipTransport::Udp,
        to: second,
        reason: "elsewhere".into(),
    });
    assert_eq!(rel_cause(&bench), None);

    // The last target fails too: no target and no other route are left, so the circuit is released with the
    // cause the mapping gives a 503 (RFC 3261 §8.1.3.1), not the Timer B one.
    bench.feed(Input::SipSendFailed {
        transport: SipTransport::Tcp,
        to: second,
        reason: "Connection refused (os error 111)".into(),
    });
    assert_eq!(rel_cause(&bench), Some(41), "{:?}", bench.logs());
    assert!(replay(&bench.log).expect("replays").first.is_none());
}
