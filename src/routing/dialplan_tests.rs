//! Tests of the dialplan engine: decisions, helpers, the sandbox, errors with their locations.
use super::*;
use crate::routing::enum_dns::EnumRecord;
use crate::routing::{CallSource, NatureOfAddress, Route, DEFAULT_DIALPLAN, DEFAULT_DIALPLAN_NAME};

fn view(source: CallSource, called: &str) -> CallView {
    CallView {
        call_id: "c1".into(),
        called: called.to_string(),
        calling: "4930999".to_string(),
        called_noa: NatureOfAddress::National,
        source,
        trunk: match source {
            CallSource::Isup => "pstn".to_string(),
            CallSource::Sip => String::new(),
        },
        headers: vec![
            ("User-Agent".to_string(), "test".to_string()),
            ("Via".to_string(), "a".to_string()),
            ("via".to_string(), "b".to_string()),
        ],
        // Saturday 1970-01-10 22:30 UTC.
        time_ms: (9 * 86_400 + 22 * 3600 + 30 * 60) * 1000,
        ..CallView::default()
    }
}

fn compile(source: &str) -> Result<Dialplan, DialplanError> {
    Dialplan::compile("test.rhai", source, DialplanLimits::default())
}

#[test]
fn default_dialplan_decisions() {
    let plan = Dialplan::compile(
        DEFAULT_DIALPLAN_NAME,
        DEFAULT_DIALPLAN,
        DialplanLimits::default(),
    )
    .expect("default dialplan compiles");
    assert_eq!(
        plan.route(&view(CallSource::Sip, "+4930123")),
        Ok(RouteDecision::Routes(vec![Route::Trunk {
            trunk: "pstn".into(),
            called: None,
            calling: None,
            ported: false
        }]))
    );
    assert_eq!(
        plan.route(&view(CallSource::Isup, "1234")),
        Ok(RouteDecision::Routes(vec![Route::Sip {
            uri: "sip:1234@127.0.0.1:5070".into(),
            called: None,
            calling: None
        }]))
    );
    assert_eq!(
        plan.route(&view(CallSource::Sip, "")),
        Ok(RouteDecision::Reject { cause: 28 })
    );
}

#[test]
fn rewrites_reject_headers_and_helpers() {
    let plan = compile(
        r#"
        fn route(view) {
            if view.called.starts_with("999") { return #{ action: "reject", cause: 1 }; }
            if view.headers["user-agent"] == "test" && view.headers.via == "a, b"
                && view.called_noa == "national" {
                return #{ action: "trunk", trunk: "pstn",
                          called: normalize_e164(view.called, "49", "0"),
                          calling: "" + view.calling.len() };
            }
            #{ action: "reject", cause: 3 }
        }"#,
    )
    .expect("compiles");
    assert_eq!(
        plan.route(&view(CallSource::Sip, "999")),
        Ok(RouteDecision::Reject { cause: 1 })
    );
    assert_eq!(
        plan.route(&view(CallSource::Sip, "030123")),
        Ok(RouteDecision::Routes(vec![Route::Trunk {
            trunk: "pstn".into(),
            called: Some("+4930123".into()),
            calling: Some("7".into()),
            ported: false
        }]))
    );
}

#[test]
fn route_lists_view_fields_and_helpers() {
    let plan = Dialplan::compile_with_tables(
        "t.rhai",
        r#"
        fn route(view) {
            log("routing " + view.call_id + " at " + view.time + " on " + view.weekday);
            let rate = longest_match("rates", view.called);
            if rate == () { return #{ action: "reject", cause: 1 }; }
            let routes = [];
            for row in longest_match_all("rates", view.called) {
                if trunk_available(row.carrier) > 0 {
                    routes.push(#{ action: "trunk", trunk: row.carrier,
                                   called: e164(view.called, "49", "0", "00") });
                }
            }
            if view.hour >= 22 { routes.push(#{ action: "sip", uri: "sip:night@10.0.0.1" }); }
            routes
        }"#,
        &[(
            "dialplans/rates.csv".into(),
            "prefix,carrier,rate
030,a,1
030,b,2
0,c,3
"
            .into(),
        )],
        DialplanLimits::default(),
    )
    .expect("compiles");
    let mut env = RouteEnv::default();
    env.idle_circuits.insert("a".into(), 0);
    env.idle_circuits.insert("b".into(), 5);
    let outcome = plan.run(&view(CallSource::Sip, "030123"), &mut env);
    assert_eq!(
        outcome.map(|o| match o {
            Outcome::Decided(d) => d.to_string(),
            other => format!("{other:?}"),
        }),
        Ok("trunk:b called=+4930123 | sip:night@10.0.0.1".to_string())
    );
    assert_eq!(env.logs, ["routing c1 at 22:30 on sat"]);
    assert_eq!(
        plan.route(&view(CallSource::Sip, "999")),
        Ok(RouteDecision::Reject { cause: 1 })
    );
    let err = compile(r#"fn route(view) { lookup("nope", "1") }"#)
        .expect("compiles")
        .route(&view(CallSource::Sip, "1"))
        .unwrap_err();
    assert!(err.to_string().contains("no table named \"nope\""), "{err}");
}

#[test]
fn enum_lookup_is_pending_until_answered() {
    let plan = compile(
        r#"
        fn route(view) {
            let r = enum_lookup("+" + view.called);
            if r.ported { return #{ action: "trunk", trunk: "pstn", called: r.rn }; }
            if r.status == "ok" { return #{ action: "sip", uri: r.uri }; }
            #{ action: "trunk", trunk: "pstn" }
        }"#,
    )
    .expect("compiles");
    let mut env = RouteEnv::default();
    let call = view(CallSource::Sip, "4930123");
    assert_eq!(
        plan.run(&call, &mut env),
        Ok(Outcome::Pending(vec!["+4930123".into()]))
    );
    env.enum_answers.insert(
        "+4930123".into(),
        EnumResult::Found(vec![EnumRecord {
            order: 10,
            preference: 10,
            service: "E2U+pstn:tel".into(),
            uri: "tel:+4930123;npdi;rn=+49309".into(),
            rn: Some("+49309".into()),
            npdi: true,
        }]),
    );
    assert_eq!(
        plan.run(&call, &mut env).map(|o| format!("{o:?}")),
        Ok(format!(
            "{:?}",
            Outcome::Decided(RouteDecision::Routes(vec![Route::Trunk {
                trunk: "pstn".into(),
                called: Some("+49309".into()),
                calling: None,
                ported: false
            }]))
        ))
    );
    env.enum_answers
        .insert("+4930123".into(), EnumResult::Failed("timeout".into()));
    assert!(matches!(
        plan.run(&call, &mut env),
        Ok(Outcome::Decided(RouteDecision::Routes(_)))
    ));
    // A script that catches the stop is still pending: the lookup must happen first.
    let sneaky = compile(
        r#"fn route(view) { try { enum_lookup("+1"); } catch { } #{ action: "reject", cause: 1 } }"#,
    )
    .expect("compiles");
    assert_eq!(
        sneaky.run(&call, &mut RouteEnv::default()),
        Ok(Outcome::Pending(vec!["+1".into()]))
    );
}

#[test]
fn syntax_error_names_file_line_column() {
    let err = compile("fn route(view) {\n  let x = ;\n}").unwrap_err();
    match &err {
        DialplanError::Syntax { name, line, .. } => {
            assert_eq!(name, "test.rhai");
            assert_eq!(*line, 2);
        }
        other => panic!("expected syntax error, got {other:?}"),
    }
    assert!(err.to_string().starts_with("test.rhai:2:"), "{err}");
    let err = compile("fn other(x) { x }").unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.rhai: no `fn route(view)` with one parameter"
    );
}

#[test]
fn infinite_loop_hits_operation_limit() {
    let plan = compile("fn route(view) { loop { } }").expect("compiles");
    let err = plan.route(&view(CallSource::Sip, "1")).unwrap_err();
    assert!(err.to_string().contains("operation limit reached"), "{err}");
    let plan = compile("fn f(n) { f(n + 1) } fn route(view) { f(0) }").expect("compiles");
    let err = plan.route(&view(CallSource::Sip, "1")).unwrap_err();
    assert!(matches!(err, DialplanError::Runtime { .. }), "{err}");
    let plan = compile("fn route(view) { let s = \"x\"; loop { s += s; } }").expect("compiles");
    assert!(plan.route(&view(CallSource::Sip, "1")).is_err());
}

#[test]
fn eval_import_and_clock_are_refused() {
    let refused = |source: &str| match compile(source) {
        Err(_) => true,
        Ok(plan) => plan.route(&view(CallSource::Sip, "1")).is_err(),
    };
    assert!(refused(r#"fn route(view) { eval("40 + 2") }"#));
    assert!(refused(
        r#"import "os" as os; fn route(view) { #{ action: "reject", cause: 1 } }"#
    ));
    assert!(refused(
        r#"fn route(view) { import "x" as x; #{ action: "reject", cause: 1 } }"#
    ));
    assert!(refused(
        r#"fn route(view) { let t = timestamp(); #{ action: "reject", cause: 1 } }"#
    ));
}

#[test]
fn bad_return_values() {
    let bad = |body: &str| {
        let plan = compile(&format!("fn route(view) {{ {body} }}")).expect("compiles");
        match plan.route(&view(CallSource::Sip, "1")) {
            Err(DialplanError::BadDecision { message, .. }) => message,
            other => panic!("{body}: expected BadDecision, got {other:?}"),
        }
    };
    assert!(bad("42").contains("expected a map"));
    assert!(bad("#{}").contains("missing `action`"));
    assert!(bad(r#"#{ action: "fly" }"#).contains("unknown action"));
    assert!(bad(r#"#{ action: "trunk" }"#).contains("needs a non-empty `trunk`"));
    assert!(
        bad(r#"#{ action: "trunk", trunk: "pstn", colour: 1 }"#).contains("unknown key `colour`")
    );
    assert!(bad(r#"#{ action: "sip", uri: "http://x" }"#).contains("not a sip:"));
    assert!(bad(r#"#{ action: "reject", cause: 300 }"#).contains("not a Q.850 cause"));
    assert!(bad(r#"#{ action: "reject", cause: "1" }"#).contains("must be an integer"));
    assert!(bad(r#"#{ action: "trunk", trunk: 5 }"#).contains("must be a string"));
}

#[test]
fn runtime_error_has_location() {
    let plan = compile("fn route(view) {\n  view.nope.x\n}").expect("compiles");
    let err = plan.route(&view(CallSource::Sip, "1")).unwrap_err();
    assert!(err.to_string().starts_with("test.rhai:2:"), "{err}");
    assert!(matches!(err, DialplanError::Runtime { .. }));
    let plan =
        compile("fn helper(x) {\n  throw \"bad \" + x;\n}\nfn route(view) {\n  helper(1)\n}")
            .expect("compiles");
    let err = plan.route(&view(CallSource::Sip, "1")).unwrap_err();
    assert!(
        err.to_string().starts_with("test.rhai:2:"),
        "line of the throw: {err}"
    );
    assert!(err.to_string().contains("bad 1"), "{err}");
}

#[test]
fn dialplan_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Dialplan>();
}

#[test]
fn user_action_routes_to_a_registered_user() {
    let plan = compile(
        r#"fn route(view) { [#{ action: "user", user: view.called, calling: "4930" }, #{ action: "sip", uri: "sip:x@192.0.2.1" }] }"#,
    )
    .unwrap();
    assert_eq!(
        plan.route(&view(CallSource::Isup, "1001")),
        Ok(RouteDecision::Routes(vec![
            Route::User {
                user: "1001".into(),
                calling: Some("4930".into())
            },
            Route::Sip {
                uri: "sip:x@192.0.2.1".into(),
                called: None,
                calling: None
            }
        ]))
    );
    assert_eq!(
        Route::User {
            user: "1001".into(),
            calling: None
        }
        .to_string(),
        "user:1001"
    );
    let bad = compile(r#"fn route(view) { #{ action: "user", uri: "sip:a@b" } }"#)
        .unwrap()
        .route(&view(CallSource::Isup, "1"));
    assert!(
        matches!(bad, Err(DialplanError::BadDecision { .. })),
        "{bad:?}"
    );
}
