//! Tests of scenario parsing and of the engine's timing decisions.

use super::*;

fn drain(engine: &mut ScenarioEngine) -> Vec<Action> {
    std::iter::from_fn(|| engine.poll_action()).collect()
}

fn run_until(engine: &mut ScenarioEngine, now_ms: u64) -> Vec<(u64, Action)> {
    let mut out = Vec::new();
    while let Some(at) = engine.poll_timeout().filter(|at| *at <= now_ms) {
        engine.handle_timeout(at);
        out.extend(drain(engine).into_iter().map(|a| (at, a)));
    }
    out
}

fn default_engine() -> ScenarioEngine {
    ScenarioEngine::new(
        Scenario::parse("default", DEFAULT_SCENARIO).expect("bundled scenario parses"),
    )
}

#[test]
fn bundled_scenario_parses() {
    let scenario = Scenario::parse("default", DEFAULT_SCENARIO).expect("parses");
    assert!(scenario.rules.len() >= 3);
    assert_eq!(scenario.rules.last().map(|r| r.prefix.as_str()), Some(""));
    assert_eq!(scenario.rules[0].kind, RuleKind::CauseFromNumber);
    assert_eq!(Scenario::default_scenario(), scenario);
}

#[test]
fn first_matching_prefix_wins() {
    let scenario = Scenario::parse("default", DEFAULT_SCENARIO).expect("parses");
    assert_eq!(
        scenario.matching_rule("990017").map(|r| r.prefix.as_str()),
        Some("990")
    );
    assert_eq!(
        scenario.matching_rule("9915551").map(|r| r.prefix.as_str()),
        Some("991")
    );
    assert_eq!(
        scenario.matching_rule("4930123").map(|r| r.prefix.as_str()),
        Some("")
    );
    assert_eq!(
        scenario.matching_rule("99").map(|r| r.prefix.as_str()),
        Some("")
    );
}

#[test]
fn cause_from_number_parsing() {
    assert_eq!(cause_from_number("990017", "990"), Some(17));
    assert_eq!(cause_from_number("9900011234", "990"), Some(1));
    assert_eq!(cause_from_number("990127", "990"), Some(127));
    assert_eq!(cause_from_number("990128", "990"), None);
    assert_eq!(cause_from_number("990000", "990"), None);
    assert_eq!(cause_from_number("99017", "990"), None);
    assert_eq!(cause_from_number("9900A7", "990"), None);
    assert_eq!(cause_from_number("123017", "990"), None);
}

#[test]
fn ordinary_number_gets_acm_then_anm_and_waits() {
    let mut engine = default_engine();
    assert_eq!(
        engine.handle_incoming_setup(3, "4930123", 1000).as_deref(),
        Some("answer")
    );
    assert_eq!(engine.poll_timeout(), Some(1050));
    let steps = run_until(&mut engine, 10_000);
    assert_eq!(
        steps,
        vec![
            (
                1050,
                Action {
                    cic: 3,
                    step: Step::AddressComplete
                }
            ),
            (
                1200,
                Action {
                    cic: 3,
                    step: Step::Answer
                }
            ),
        ]
    );
    engine.handle_answered(3, 1200);
    assert_eq!(
        engine.poll_timeout(),
        None,
        "no hang-up: waits for the caller's REL"
    );
}

#[test]
fn cause_number_gets_acm_then_rel_with_that_cause() {
    let mut engine = default_engine();
    engine.handle_incoming_setup(5, "990017555", 0);
    let steps = run_until(&mut engine, 10_000);
    assert_eq!(
        steps,
        vec![
            (
                50,
                Action {
                    cic: 5,
                    step: Step::AddressComplete
                }
            ),
            (
                100,
                Action {
                    cic: 5,
                    step: Step::Release(17)
                }
            ),
        ]
    );
}

#[test]
fn cause_number_without_digits_falls_back_to_31() {
    let mut engine = default_engine();
    engine.handle_incoming_setup(5, "990", 0);
    let steps = run_until(&mut engine, 10_000);
    assert_eq!(steps.last().map(|(_, a)| a.step), Some(Step::Release(31)));
}

#[test]
fn hangup_rule_releases_with_16_after_answer() {
    let mut engine = default_engine();
    engine.handle_incoming_setup(7, "9911", 0);
    let steps = run_until(&mut engine, 500);
    assert_eq!(
        steps.last().map(|(at, a)| (*at, a.step)),
        Some((200, Step::Answer))
    );
    engine.handle_answered(7, 210);
    assert_eq!(engine.poll_timeout(), Some(1210));
    let steps = run_until(&mut engine, 5000);
    assert_eq!(
        steps,
        vec![(
            1210,
            Action {
                cic: 7,
                step: Step::Release(16)
            }
        )]
    );
}

#[test]
fn ended_call_forgets_its_steps() {
    let mut engine = default_engine();
    engine.handle_incoming_setup(1, "4930123", 0);
    engine.handle_incoming_setup(2, "4930124", 10);
    engine.handle_call_ended(1);
    let steps = run_until(&mut engine, 10_000);
    assert!(steps.iter().all(|(_, a)| a.cic == 2));
    assert_eq!(steps.len(), 2);
}

#[test]
fn no_matching_rule_refuses_with_cause_1() {
    let scenario = Scenario::parse(
        "t",
        "[[rule]]\nprefix = \"49\"\nacm_after_ms = 0\nanswer_after_ms = 5\n",
    )
    .expect("parses");
    let mut engine = ScenarioEngine::new(scenario);
    assert_eq!(engine.handle_incoming_setup(1, "3312", 0), None);
    let steps = run_until(&mut engine, 0);
    assert_eq!(
        steps,
        vec![(
            0,
            Action {
                cic: 1,
                step: Step::Release(1)
            }
        )]
    );
}

#[test]
fn con_and_cpg_rules() {
    let text = r#"
[[rule]]
prefix = "1"
con_after_ms = 30
[[rule]]
prefix = "2"
acm_after_ms = 10
cpg_event = "in_band_information"
cpg_after_ms = 20
release_after_ms = 40
release_cause = 17
"#;
    let mut engine = ScenarioEngine::new(Scenario::parse("t", text).expect("parses"));
    engine.handle_incoming_setup(1, "100", 0);
    engine.handle_incoming_setup(2, "200", 0);
    let steps: Vec<(u64, u16, Step)> = run_until(&mut engine, 1000)
        .into_iter()
        .map(|(at, a)| (at, a.cic, a.step))
        .collect();
    assert_eq!(
        steps,
        vec![
            (10, 2, Step::AddressComplete),
            (20, 2, Step::Progress(3)),
            (30, 1, Step::Connect),
            (40, 2, Step::Release(17)),
        ]
    );
}

fn error_of(text: &str) -> String {
    match Scenario::parse("bad.toml", text) {
        Ok(_) => panic!("expected an error for {text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn bad_files_name_the_key() {
    let unknown = error_of("[[rule]]\nprefix = \"1\"\nanswer_after = 5\n");
    assert!(
        unknown.contains("bad.toml") && unknown.contains("answer_after"),
        "{unknown}"
    );
    let wrong_type =
        error_of("[[rule]]\nprefix = \"1\"\nacm_after_ms = \"soon\"\nanswer_after_ms = 5\n");
    assert!(wrong_type.contains("acm_after_ms"), "{wrong_type}");
    let cause = error_of("[[rule]]\nrelease_after_ms = 5\nrelease_cause = 200\n");
    assert!(cause.contains("release_cause"), "{cause}");
    let bad_cause = error_of("[[rule]]\nrelease_after_ms = 5\nrelease_cause = 0\n");
    assert!(bad_cause.contains("rule[0].release_cause"), "{bad_cause}");
    let nothing = error_of("[[rule]]\nprefix = \"1\"\nacm_after_ms = 5\n");
    assert!(nothing.contains("rule[0].answer_after_ms"), "{nothing}");
    let both = error_of("[[rule]]\nacm_after_ms = 1\nanswer_after_ms = 5\nrelease_after_ms = 6\n");
    assert!(both.contains("release_after_ms"), "{both}");
    let cpg =
        error_of("[[rule]]\nacm_after_ms = 1\nanswer_after_ms = 5\ncpg_event = \"progress\"\n");
    assert!(cpg.contains("cpg_event"), "{cpg}");
    let event = error_of("[[rule]]\nacm_after_ms = 1\nanswer_after_ms = 5\ncpg_event = \"ringing\"\ncpg_after_ms = 2\n");
    assert!(
        event.contains("ringing") || event.contains("cpg_event"),
        "{event}"
    );
    let empty = error_of("# nothing\n");
    assert!(empty.contains("rule"), "{empty}");
    let top = error_of("[[rules]]\nprefix = \"1\"\n");
    assert!(top.contains("rules"), "{top}");
}
