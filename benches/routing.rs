//! Routing benchmarks: the time of one dialplan decision for the least-cost-routing example (rate table,
//! longest match, sort, idle-circuit checks) and of a cached ENUM lookup (cache hit, NAPTR ordering, RFC 3402
//! regexp, npdi/rn), reported as percentiles over many single measurements (criterion reports means; the
//! targets are about the tail). Run: `cargo bench --bench routing` (release profile); numbers go to
//! docs/benchmarks.md.

use std::collections::HashMap;
use std::time::Instant;

use tandem::routing::dialplan::{Dialplan, DialplanLimits, Outcome, RouteEnv};
use tandem::routing::enum_dns::{enum_domain, EnumCache, EnumResult};
use tandem::routing::zone::ZoneSet;
use tandem::routing::{CallView, NatureOfAddress};

fn percentiles(name: &str, mut samples: Vec<u128>) {
    samples.sort_unstable();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name}: n={} p50={:.2} µs p99={:.2} µs p99.9={:.2} µs max={:.2} µs",
        samples.len(),
        at(0.50) as f64 / 1000.0,
        at(0.99) as f64 / 1000.0,
        at(0.999) as f64 / 1000.0,
        *samples.last().unwrap() as f64 / 1000.0
    );
}

fn view(called: &str) -> CallView {
    CallView {
        call_id: "c1".into(),
        called: called.into(),
        calling: "+4930999".into(),
        called_noa: NatureOfAddress::International,
        ..CallView::default()
    }
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);

    // LCR: the shipped example with its rate table.
    let plan = Dialplan::compile_with_tables(
        "dialplans/lcr.rhai",
        include_str!("../dialplans/lcr.rhai"),
        &[(
            "dialplans/lcr_rates.csv".into(),
            include_str!("../dialplans/lcr_rates.csv").into(),
        )],
        DialplanLimits::default(),
    )
    .expect("lcr compiles");
    let numbers = [
        "+442079460000",
        "00447700900123",
        "0301234567",
        "+12125550100",
    ];
    let views: Vec<CallView> = numbers.iter().map(|n| view(n)).collect();
    let mut env = RouteEnv {
        idle_circuits: HashMap::from([
            ("carrier_a".into(), 30),
            ("carrier_b".into(), 30),
            ("carrier_c".into(), 30),
        ]),
        ..RouteEnv::default()
    };
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations + 1000 {
        let v = &views[i % views.len()];
        let start = Instant::now();
        let outcome = plan.run(v, &mut env);
        let elapsed = start.elapsed().as_nanos();
        assert!(matches!(outcome, Ok(Outcome::Decided(_))));
        if i >= 1000 {
            samples.push(elapsed);
        }
    }
    percentiles("LCR decision (dialplans/lcr.rhai)", samples);

    // Cached ENUM lookup: what the gateway does for a number whose answer is in the cache.
    let zones = ZoneSet::parse(&[(
        "e164.arpa.zone".into(),
        include_str!("../enum/e164.arpa.zone").into(),
    )])
    .expect("zone");
    let mut cache = EnumCache::new(0, 86_400_000, 100_000);
    let ported = "+4930123456";
    let domain = enum_domain(ported, "e164.arpa").unwrap();
    cache.insert(&domain, &zones.answer(&domain), ported, 0);
    // Fill the cache so the hit is not on a one-entry map.
    for n in 0..50_000u32 {
        let number = format!("+4940{n:06}");
        let d = enum_domain(&number, "e164.arpa").unwrap();
        cache.insert(&d, &zones.answer(&d), &number, 0);
    }
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations + 1000 {
        let start = Instant::now();
        let domain = enum_domain(ported, "e164.arpa").unwrap();
        let result = cache.result(&domain, ported, 1_000);
        let elapsed = start.elapsed().as_nanos();
        assert!(matches!(result, Some(EnumResult::Found(ref r)) if r[0].rn.is_some()));
        if i >= 1000 {
            samples.push(elapsed);
        }
    }
    percentiles("cached ENUM lookup (domain + cache hit)", samples);

    // The whole decision of the portability example with the answer already known.
    let plan = Dialplan::compile(
        "dialplans/portability.rhai",
        include_str!("../dialplans/portability.rhai"),
        DialplanLimits::default(),
    )
    .expect("portability compiles");
    let mut env = RouteEnv::default();
    env.enum_answers
        .insert(ported.into(), cache.result(&domain, ported, 1_000).unwrap());
    let v = view(ported);
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations + 1000 {
        let start = Instant::now();
        let outcome = plan.run(&v, &mut env);
        let elapsed = start.elapsed().as_nanos();
        assert!(matches!(outcome, Ok(Outcome::Decided(_))));
        if i >= 1000 {
            samples.push(elapsed);
        }
    }
    percentiles("portability decision with a cached ENUM answer", samples);
}
