//! Rhai dialplans: compile a script once, run its `route(call)` per call in a sandbox.
//!
//! The sandbox (ARCHITECTURE.md rule 5): operation, call-depth, expression-depth, string, array
//! and map limits; `eval` disabled; no module resolver (no `import`, no filesystem); no clock
//! package (decisions must replay identically); `print`/`debug` go to `tracing`. Any failure —
//! syntax, runtime error, limit hit, or a return value outside the contract documented in
//! `dialplans/default.rhai` — is a [`DialplanError`]; the caller rejects the call with a logged
//! cause. Nothing here panics on script behaviour.

use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, Map, Position, Scope, AST};

use super::{normalize_e164, CallView, RouteDecision};

/// Resource limits for one dialplan run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialplanLimits {
    /// Maximum Rhai operations per `route` call.
    pub max_operations: u64,
    /// Maximum function call depth.
    pub max_call_levels: usize,
    /// Maximum string length in bytes.
    pub max_string_size: usize,
    /// Maximum array length.
    pub max_array_size: usize,
    /// Maximum map size.
    pub max_map_size: usize,
}

impl Default for DialplanLimits {
    fn default() -> Self {
        DialplanLimits {
            max_operations: 100_000,
            max_call_levels: 32,
            max_string_size: 4096,
            max_array_size: 1024,
            max_map_size: 256,
        }
    }
}

/// A dialplan that failed to compile, to run, or to return a usable decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialplanError {
    /// The script does not parse.
    #[error("{name}:{line}:{column}: syntax error: {message}")]
    Syntax {
        /// Script name (file).
        name: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// Parser message.
        message: String,
    },
    /// The script has no `fn route(view)`.
    #[error("{name}: no `fn route(view)` with one parameter")]
    MissingRoute {
        /// Script name (file).
        name: String,
    },
    /// The script failed at run time, including hitting a sandbox limit.
    #[error("{name}: {location}script error: {message}")]
    Runtime {
        /// Script name (file).
        name: String,
        /// `line:column: ` of the failure, or empty.
        location: String,
        /// Engine message.
        message: String,
    },
    /// `route` returned something outside the contract.
    #[error("{name}: bad return value from route(): {message}")]
    BadDecision {
        /// Script name (file).
        name: String,
        /// What is wrong with the value.
        message: String,
    },
}

/// A compiled dialplan with its sandboxed engine. `Send + Sync`; replace it to reload.
pub struct Dialplan {
    name: String,
    engine: Engine,
    ast: AST,
}

impl std::fmt::Debug for Dialplan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialplan")
            .field("name", &self.name)
            .finish()
    }
}

fn sandboxed_engine(name: &str, limits: &DialplanLimits) -> Engine {
    // `new_raw` has no packages: add the pure ones only, leaving out BasicTimePackage
    // (`timestamp()` would make decisions depend on the wall clock and break replay).
    let mut engine = Engine::new_raw();
    for module in [
        CorePackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(module);
    }
    engine.set_module_resolver(DummyModuleResolver::new());
    engine.disable_symbol("eval");
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(64, 64);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_modules(0);
    let print_name = name.to_string();
    engine.on_print(move |text| tracing::info!(dialplan = %print_name, "{text}"));
    let debug_name = name.to_string();
    engine.on_debug(
        move |text, _source, position| tracing::debug!(dialplan = %debug_name, %position, "{text}"),
    );
    engine.register_fn("normalize_e164", |number: &str, cc: &str, prefix: &str| {
        normalize_e164(number, cc, prefix)
    });
    engine
}

fn location(position: Position) -> String {
    match (position.line(), position.position()) {
        (Some(line), Some(column)) => format!("{line}:{column}: "),
        (Some(line), None) => format!("{line}: "),
        _ => String::new(),
    }
}

impl Dialplan {
    /// Compiles `source`; `name` (usually the file path) prefixes every error.
    pub fn compile(
        name: &str,
        source: &str,
        limits: DialplanLimits,
    ) -> Result<Dialplan, DialplanError> {
        let engine = sandboxed_engine(name, &limits);
        let ast = engine
            .compile(source)
            .map_err(|err| DialplanError::Syntax {
                name: name.to_string(),
                line: err.1.line().unwrap_or(0),
                column: err.1.position().unwrap_or(0),
                message: err.0.to_string(),
            })?;
        let has_route = ast
            .iter_functions()
            .any(|f| f.name == "route" && f.params.len() == 1);
        if !has_route {
            return Err(DialplanError::MissingRoute {
                name: name.to_string(),
            });
        }
        let plan = Dialplan {
            name: name.to_string(),
            engine,
            ast,
        };
        // Top-level statements are never run per call; run them once here, under the same
        // limits, so that a refused `import` or a failing statement is reported at load time.
        plan.engine
            .run_ast(&plan.ast)
            .map_err(|err| plan.runtime_error(&err))?;
        Ok(plan)
    }

    /// The script's name as given to [`Dialplan::compile`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `route(call)` for one call and checks the returned decision.
    pub fn route(&self, view: &CallView) -> Result<RouteDecision, DialplanError> {
        let call = call_map(view);
        let mut scope = Scope::new();
        // Top-level statements are not evaluated: a script's work happens inside `route`, so
        // each call costs only its own operations and cannot see state from earlier calls.
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        let result = self
            .engine
            .call_fn_with_options::<Dynamic>(options, &mut scope, &self.ast, "route", (call,))
            .map_err(|err| self.runtime_error(&err))?;
        decision(result).map_err(|message| DialplanError::BadDecision {
            name: self.name.clone(),
            message,
        })
    }

    fn runtime_error(&self, err: &EvalAltResult) -> DialplanError {
        let message = match err {
            EvalAltResult::ErrorTooManyOperations(_) => {
                "operation limit reached (max_operations)".to_string()
            }
            other => other.to_string(),
        };
        DialplanError::Runtime {
            name: self.name.clone(),
            location: location(err.position()),
            message,
        }
    }
}

fn call_map(view: &CallView) -> Map {
    let mut joined: std::collections::BTreeMap<String, String> = Default::default();
    for (name, value) in &view.headers {
        joined
            .entry(name.to_ascii_lowercase())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let mut headers = Map::new();
    for (name, value) in joined {
        headers.insert(name.into(), Dynamic::from(value));
    }
    let mut call = Map::new();
    call.insert("called".into(), Dynamic::from(view.called.clone()));
    call.insert("calling".into(), Dynamic::from(view.calling.clone()));
    call.insert("called_noa".into(), Dynamic::from(view.called_noa.as_str()));
    call.insert("source".into(), Dynamic::from(view.source.as_str()));
    call.insert("trunk".into(), Dynamic::from(view.trunk.clone()));
    call.insert("headers".into(), Dynamic::from_map(headers));
    call
}

fn string_field(map: &Map, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None => Ok(None),
        Some(value) => value
            .clone()
            .into_string()
            .map(Some)
            .map_err(|found| format!("`{key}` must be a string, found {found}")),
    }
}

fn required_string(map: &Map, key: &str, action: &str) -> Result<String, String> {
    match string_field(map, key)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(format!("action \"{action}\" needs a non-empty `{key}`")),
    }
}

fn only_keys(map: &Map, allowed: &[&str], action: &str) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("unknown key `{key}` for action \"{action}\"")),
        None => Ok(()),
    }
}

fn decision(value: Dynamic) -> Result<RouteDecision, String> {
    let type_name = value.type_name();
    let map = value.try_cast::<Map>().ok_or_else(|| {
        format!("expected a map like #{{ action: \"trunk\", ... }}, found {type_name}")
    })?;
    let action = string_field(&map, "action")?.ok_or("missing `action`")?;
    match action.as_str() {
        "trunk" => {
            only_keys(&map, &["action", "trunk", "called", "calling"], "trunk")?;
            Ok(RouteDecision::Trunk {
                trunk: required_string(&map, "trunk", "trunk")?,
                called: string_field(&map, "called")?,
                calling: string_field(&map, "calling")?,
            })
        }
        "sip" => {
            only_keys(&map, &["action", "uri", "called", "calling"], "sip")?;
            let uri = required_string(&map, "uri", "sip")?;
            let scheme_ok = ["sip:", "sips:", "tel:"].iter().any(|scheme| {
                uri.get(..scheme.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
            });
            if !scheme_ok {
                return Err(format!("`uri` {uri:?} is not a sip:, sips: or tel: URI"));
            }
            Ok(RouteDecision::Sip {
                uri,
                called: string_field(&map, "called")?,
                calling: string_field(&map, "calling")?,
            })
        }
        "reject" => {
            only_keys(&map, &["action", "cause"], "reject")?;
            let cause = map
                .get("cause")
                .ok_or("action \"reject\" needs `cause`")?
                .as_int()
                .map_err(|found| format!("`cause` must be an integer, found {found}"))?;
            let cause = u8::try_from(cause)
                .ok()
                .filter(|c| (1..=127).contains(c))
                .ok_or_else(|| format!("`cause` {cause} is not a Q.850 cause (1..=127)"))?;
            Ok(RouteDecision::Reject { cause })
        }
        other => Err(format!(
            "unknown action {other:?} (expected \"trunk\", \"sip\" or \"reject\")"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{CallSource, NatureOfAddress, DEFAULT_DIALPLAN, DEFAULT_DIALPLAN_NAME};

    fn view(source: CallSource, called: &str) -> CallView {
        CallView {
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
            Ok(RouteDecision::Trunk {
                trunk: "pstn".into(),
                called: None,
                calling: None
            })
        );
        assert_eq!(
            plan.route(&view(CallSource::Isup, "1234")),
            Ok(RouteDecision::Sip {
                uri: "sip:1234@127.0.0.1:5070".into(),
                called: None,
                calling: None
            })
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
            Ok(RouteDecision::Trunk {
                trunk: "pstn".into(),
                called: Some("+4930123".into()),
                calling: Some("7".into())
            })
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
        assert!(bad(r#"#{ action: "trunk", trunk: "pstn", colour: 1 }"#)
            .contains("unknown key `colour`"));
        assert!(bad(r#"#{ action: "sip", uri: "http://x" }"#).contains("not a sip:"));
        assert!(bad(r#"#{ action: "reject", cause: 300 }"#).contains("not a Q.850 cause"));
        assert!(bad(r#"#{ action: "reject", cause: "1" }"#).contains("must be an integer"));
        assert!(bad(r#"#{ action: "trunk", trunk: 5 }"#).contains("must be a string"));
    }

    #[test]
    fn runtime_error_has_location() {
        let plan = compile("fn route(view) {\n  view.nope.x\n}").expect("compiles");
        let err = plan.route(&view(CallSource::Sip, "1")).unwrap_err();
        assert!(err.to_string().starts_with("test.rhai: "), "{err}");
        assert!(matches!(err, DialplanError::Runtime { .. }));
    }

    #[test]
    fn dialplan_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Dialplan>();
    }
}
