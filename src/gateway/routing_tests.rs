//! Routing through the whole core: route lists with failover on a retryable cause, sandbox failures ending the
//! call with the configured cause, ENUM lookups leaving as outputs and coming back as inputs (cached, and
//! replayed exactly), and dialplan reloads as inputs.

use super::tests::{invite, Bench};
use crate::config::Config;
use crate::events::replay::replay;
use crate::events::{EventKind, Input, Output, Setup, SourceText};
use crate::isup::MessageType as IsupType;
use crate::routing::zone::ZoneSet;
use crate::runtime::build_setup;

pub(super) fn setup_with(script: &str, tables: &[(&str, &str)]) -> Setup {
    setup_from(&Config::default_embedded(), script, tables)
}

fn setup_from(config: &Config, script: &str, tables: &[(&str, &str)]) -> Setup {
    let mut setup = build_setup(config, 7).expect("setup");
    setup.dialplan = SourceText {
        name: "test.rhai".into(),
        text: script.into(),
    };
    setup.dialplan_tables = tables
        .iter()
        .map(|(name, text)| SourceText {
            name: (*name).into(),
            text: (*text).into(),
        })
        .collect();
    setup
}

impl Bench {
    fn iam_called_digits(&self) -> Vec<String> {
        self.isup_in
            .iter()
            .filter(|m| m.message_type == IsupType::IAM)
            .filter_map(|m| crate::interwork::iam::called_address(m).map(|a| a.digits))
            .collect()
    }

    fn final_statuses(&self) -> Vec<String> {
        self.sip_out
            .iter()
            .filter(|m| m.starts_with("SIP/2.0 ") && !m.starts_with("SIP/2.0 1"))
            .filter(|m| m.contains("INVITE"))
            .map(|m| m.get(8..11).unwrap_or("").to_string())
            .collect()
    }

    fn enum_queries(&self) -> Vec<(u64, String)> {
        self.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Output(Output::EnumQuery { id, domain }) => Some((*id, domain.clone())),
                _ => None,
            })
            .collect()
    }

    /// Answers every ENUM query not answered yet from `zones`, as the runtime's embedded backend does.
    fn answer_enum(&mut self, zones: &ZoneSet, answered: &mut usize) {
        loop {
            let queries = self.enum_queries();
            let Some((id, domain)) = queries.get(*answered).cloned() else {
                return;
            };
            *answered += 1;
            let answer = zones.answer(&domain);
            self.feed(Input::EnumAnswer { id, domain, answer });
        }
    }
}

const FAILOVER: &str = r#"
fn route(view) {
    [ #{ action: "trunk", trunk: "pstn", called: "+4930990000" },
      #{ action: "trunk", trunk: "pstn", called: "+4930123456" } ]
}"#;

#[test]
fn retryable_cause_takes_the_next_route() {
    let mut bench = Bench::with_setup(setup_with(FAILOVER, &[]));
    bench.exchange.release = Some(("493099".into(), 34));
    bench.sip(&invite("+4930555", "f1"));
    assert_eq!(bench.iam_called_digits(), ["4930990000", "4930123456"]);
    assert!(bench.final_statuses().is_empty(), "{:?}", bench.sip_out);
    assert!(
        bench.sip_out.iter().any(|m| m.starts_with("SIP/2.0 180")),
        "the second route alerts: {:?}",
        bench.sip_out
    );
    assert!(replay(&bench.log).expect("replays").first.is_none());
}

#[test]
fn other_causes_do_not_fail_over() {
    let mut bench = Bench::with_setup(setup_with(FAILOVER, &[]));
    bench.exchange.release = Some(("493099".into(), 17));
    bench.sip(&invite("+4930555", "f2"));
    assert_eq!(bench.iam_called_digits(), ["4930990000"]);
    assert_eq!(bench.final_statuses(), ["486"], "{:?}", bench.sip_out);
}

#[test]
fn last_route_failing_releases_with_its_cause() {
    let mut bench = Bench::with_setup(setup_with(FAILOVER, &[]));
    bench.exchange.release = Some(("4930".into(), 34));
    bench.sip(&invite("+4930555", "f3"));
    assert_eq!(bench.iam_called_digits(), ["4930990000", "4930123456"]);
    assert_eq!(bench.final_statuses(), ["503"], "{:?}", bench.sip_out);
}

#[test]
fn unknown_trunk_in_a_route_list_is_skipped() {
    let script = r#"fn route(view) {
        [ #{ action: "trunk", trunk: "nowhere" }, #{ action: "trunk", trunk: "pstn" } ] }"#;
    let mut bench = Bench::with_setup(setup_with(script, &[]));
    bench.sip(&invite("+4930555", "f4"));
    assert_eq!(bench.iam_called_digits(), ["4930555"]);
}

const HOSTILE: &str = r#"
fn deep(n) { deep(n + 1) }
fn route(view) {
    if view.called == "+491" { loop { } }
    if view.called == "+492" { let s = "xxxxxxxx"; loop { s += s; } }
    if view.called == "+493" { return deep(0); }
    if view.called == "+494" { throw "refused"; }
    #{ action: "trunk", trunk: "pstn" }
}"#;

#[test]
fn hostile_scripts_are_stopped_and_the_call_gets_the_configured_cause() {
    let mut bench = Bench::with_setup(setup_with(HOSTILE, &[]));
    for (index, number) in ["+491", "+492", "+493", "+494"].iter().enumerate() {
        bench.sip(&invite(number, &format!("h{index}")));
    }
    let causes = bench
        .sip_out
        .iter()
        .filter(|m| m.contains("Reason: Q.850;cause=41"))
        .count();
    assert_eq!(causes, 4, "{:?}", bench.sip_out);
    let logs = bench.logs();
    for expected in [
        "operation limit",
        "size limit",
        "call depth limit",
        "thrown: refused",
    ] {
        assert!(
            logs.iter()
                .any(|l| l.contains("dialplan failed: test.rhai:") && l.contains(expected)),
            "{expected}: {logs:?}"
        );
    }
    // Limit hits carry no position from the engine; a thrown error names its line.
    assert!(
        logs.iter().any(|l| l.contains("test.rhai:7:")),
        "the line of the throw is named: {logs:?}"
    );
    // The gateway stays healthy: the next call is routed.
    bench.sip(&invite("+4930123456", "h9"));
    assert_eq!(bench.iam_called_digits(), ["4930123456"]);
}

const PORTABILITY: &str = include_str!("../../dialplans/portability.rhai");
const ZONE: &str = include_str!("../../enum/e164.arpa.zone");

#[test]
fn enum_lookup_waits_for_the_answer_caches_it_and_replays() {
    let zones = ZoneSet::parse(&[("e164.arpa.zone".into(), ZONE.into())]).expect("zone");
    let mut bench = Bench::with_setup(setup_with(PORTABILITY, &[]));
    let mut answered = 0;
    bench.sip(&invite("+4930123456", "e1"));
    // The call waits in Routing: a query went out and no IAM yet.
    assert_eq!(bench.enum_queries().len(), 1);
    assert_eq!(bench.enum_queries()[0].1, "6.5.4.3.2.1.0.3.9.4.e164.arpa");
    assert!(bench.iam_called_digits().is_empty());
    // Another call is not held up by the pending lookup.
    bench.sip(&invite("+4930222222", "e2"));
    assert_eq!(bench.enum_queries().len(), 2);
    bench.answer_enum(&zones, &mut answered);
    // Ported: routed on the routing number; dipped but not ported: on the dialled number.
    assert_eq!(bench.iam_called_digits(), ["4915199", "4930222222"]);
    // Only the translated number carries the ported number translation indicator (Q.763 §3.23 bit M).
    let ported: Vec<bool> = bench
        .isup_in
        .iter()
        .filter_map(|m| m.to_iam().ok())
        .map(|iam| iam.forward_call_indicators.ported_number_translation)
        .collect();
    assert_eq!(ported, [true, false]);
    // The same number again is answered from the cache: no new query.
    bench.sip(&invite("+4930123456", "e3"));
    assert_eq!(bench.enum_queries().len(), 2);
    assert_eq!(bench.iam_called_digits().len(), 3);
    // NXDOMAIN is cached too (negative TTL 60 s); after it expires the number is asked again.
    bench.sip(&invite("+4930999999", "e4"));
    bench.answer_enum(&zones, &mut answered);
    bench.sip(&invite("+4930999999", "e5"));
    assert_eq!(bench.enum_queries().len(), 3);
    bench.advance(61_000);
    bench.sip(&invite("+4930999999", "e6"));
    assert_eq!(bench.enum_queries().len(), 4);
    bench.answer_enum(&zones, &mut answered);
    let report = replay(&bench.log).expect("replays");
    assert!(report.first.is_none(), "{:?}", report.first);
    assert!(report.events > 20);
}

#[test]
fn ported_numbers_are_carried_as_the_trunk_format_asks() {
    use crate::config::PortedNumberFormat;
    use crate::isup::codec::{
        CalledDirectoryNumber, NumberPortabilityForwardInformation, Parameter,
    };
    let zones = ZoneSet::parse(&[("e164.arpa.zone".into(), ZONE.into())]).expect("zone");
    // (format, called party number of the ported call (NOA, digits), called directory number)
    let cases = [
        (PortedNumberFormat::RnOnly, (4, "4915199"), None),
        // Concatenated addressing: routing prefix 15199 + national significant number 30123456.
        (PortedNumberFormat::RnPrefix, (3, "1519930123456"), None),
        (
            PortedNumberFormat::Cdn,
            (4, "4915199"),
            Some((4, "4930123456".to_string())),
        ),
    ];
    for (format, (noa, digits), directory) in cases {
        let mut config = Config::default_embedded();
        for trunk in &mut config.trunks {
            trunk.ported_number_format = format;
        }
        let mut bench = Bench::with_setup(setup_from(&config, PORTABILITY, &[]));
        let mut answered = 0;
        bench.sip(&invite("+4930123456", "p1"));
        bench.sip(&invite("+4930222222", "p2"));
        bench.answer_enum(&zones, &mut answered);
        let iams: Vec<_> = bench
            .isup_in
            .iter()
            .filter_map(|m| m.to_iam().ok())
            .collect();
        let [ported, dipped] = iams.as_slice() else {
            panic!("{format:?}: two IAMs expected, got {}", iams.len());
        };
        let called = &ported.called_party_number;
        assert_eq!(
            (called.nature_of_address, called.digits.to_string()),
            (noa, digits.to_string()),
            "{format:?}"
        );
        assert!(ported.forward_call_indicators.ported_number_translation);
        let optional = |iam: &crate::isup::codec::Iam, code| {
            iam.optional
                .iter()
                .find(|p| p.code == code)
                .map(|p| p.value.clone())
        };
        let cdn = optional(ported, CalledDirectoryNumber::CODE)
            .map(|v| CalledDirectoryNumber::decode(&v).expect("CDN decodes").0)
            .map(|n| (n.nature_of_address, n.digits.to_string()));
        assert_eq!(cdn, directory, "{format:?}");
        let npfi = optional(ported, NumberPortabilityForwardInformation::CODE)
            .map(|v| NumberPortabilityForwardInformation::decode(&v).expect("NPFI decodes"));
        assert_eq!(
            npfi.map(|n| (n.number_portability_status, n.extension)),
            directory.as_ref().map(|_| (3, 1)),
            "{format:?}: query done, ported called subscriber, last octet"
        );
        // A dipped, not ported number goes out as dialled, with none of the ported-number fields.
        assert_eq!(dipped.called_party_number.digits.to_string(), "4930222222");
        assert!(!dipped.forward_call_indicators.ported_number_translation);
        assert!(
            dipped.optional.is_empty(),
            "{format:?}: {:?}",
            dipped.optional
        );
        assert!(replay(&bench.log).expect("replays").first.is_none());
    }
}

#[test]
fn a_failed_lookup_falls_back_and_a_late_answer_is_harmless() {
    let mut bench = Bench::with_setup(setup_with(PORTABILITY, &[]));
    bench.sip(&invite("+4930123456", "t1"));
    let (id, domain) = bench.enum_queries()[0].clone();
    bench.feed(Input::EnumAnswer {
        id,
        domain: domain.clone(),
        answer: crate::routing::enum_dns::EnumAnswer::Failed {
            reason: "timeout".into(),
        },
    });
    assert_eq!(bench.iam_called_digits(), ["4930123456"], "dialled number");
    assert!(bench.logs().iter().any(|l| l.contains("ENUM failed")));
    // A duplicate answer for a query already answered is only logged.
    bench.feed(Input::EnumAnswer {
        id,
        domain,
        answer: crate::routing::enum_dns::EnumAnswer::NxDomain { negative_ttl_s: 1 },
    });
    assert!(bench.logs().iter().any(|l| l.contains("unknown query")));
    assert!(replay(&bench.log).expect("replays").first.is_none());
}

#[test]
fn reload_takes_effect_for_new_calls_and_a_broken_script_is_refused() {
    let zones = ZoneSet::parse(&[("z".into(), ZONE.into())]).expect("zone");
    let mut bench = Bench::with_setup(setup_with(PORTABILITY, &[]));
    let mut answered = 0;
    // A call waiting for ENUM keeps the script it started with.
    bench.sip(&invite("+4930123456", "r1"));
    bench.feed(Input::DialplanReload {
        dialplan: SourceText {
            name: "new.rhai".into(),
            text: r#"fn route(view) { longest_match("bar", view.called).cause.to_int(); #{ action: "reject", cause: 21 } }"#
                .into(),
        },
        tables: vec![SourceText {
            name: "bar.csv".into(),
            text: "prefix,cause\n+,21\n".into(),
        }],
    });
    assert!(bench.logs().iter().any(|l| l.contains("new.rhai reloaded")));
    bench.answer_enum(&zones, &mut answered);
    assert_eq!(bench.iam_called_digits(), ["4915199"], "old decision kept");
    bench.sip(&invite("+4930123456", "r2"));
    assert_eq!(
        bench.final_statuses(),
        ["403"],
        "cause 21 from the new script"
    );
    bench.feed(Input::DialplanReload {
        dialplan: SourceText {
            name: "broken.rhai".into(),
            text: "fn route(view) {".into(),
        },
        tables: Vec::new(),
    });
    assert!(
        bench
            .logs()
            .iter()
            .any(|l| l.contains("reload refused, keeping new.rhai") && l.contains("broken.rhai:1")),
        "{:?}",
        bench.logs()
    );
    bench.sip(&invite("+4930123456", "r3"));
    assert_eq!(bench.final_statuses(), ["403", "403"]);
    assert!(replay(&bench.log).expect("replays").first.is_none());
}
