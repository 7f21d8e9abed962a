//! Rhai dialplans: compile a script once, run its `route(view)` per call in a sandbox.
//!
//! The sandbox (ARCHITECTURE.md rule 5): operation, call-depth, expression-depth, string, array
//! and map limits; `eval` disabled; no module resolver (no `import`, no filesystem); no clock
//! package (decisions must replay identically); `print`/`debug` go to `tracing`. The per-call time
//! budget is the operation limit: a wall-clock budget inside the core would make a replay on a
//! slower machine decide differently, so the deterministic count of Rhai operations bounds the time
//! instead. Any failure — syntax, runtime error, limit hit, or a return value outside the contract
//! documented in `docs/dialplans.md` — is a [`DialplanError`]; the caller rejects the call with the
//! configured cause and a log line naming the script and line. Nothing here panics on script behaviour.
//!
//! Helpers reach the world only through [`RouteEnv`], which the gateway fills from recorded state:
//! ENUM answers the call already received, idle circuits per trunk. A lookup whose answer is not known
//! yet stops the run ([`Outcome::Pending`]); the gateway asks for it and runs the script again when the
//! answer (a recorded input) arrives (ARCHITECTURE.md rule 6).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Array, CallFnOptions, Dynamic, Engine, EvalAltResult, Map, Position, Scope, AST};

use super::enum_dns::EnumResult;
use super::tables::{table_name, Table, TableError};
use super::{e164, normalize_e164, CallView, RouteDecision};

/// Resource limits for one dialplan run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialplanLimits {
    /// Maximum Rhai operations per `route` call: the per-call time budget.
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
    /// A table file does not load.
    #[error("{0}")]
    Table(#[from] TableError),
    /// The script failed at run time, including hitting a sandbox limit.
    #[error("{name}:{location}script error: {message}")]
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

/// What the helpers of one run may read and what they leave behind.
#[derive(Debug, Default, Clone)]
pub struct RouteEnv {
    /// ENUM results this call already has, by the number given to `enum_lookup`.
    pub enum_answers: HashMap<String, EnumResult>,
    /// Idle circuits per trunk group (0 for a trunk whose signalling is down).
    pub idle_circuits: HashMap<String, i64>,
    /// Numbers `enum_lookup` was asked for without an answer yet (filled by the run).
    pub missing: Vec<String>,
    /// Lines the script passed to `log(...)` (filled by the run).
    pub logs: Vec<String>,
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The script decided.
    Decided(RouteDecision),
    /// The script needs these ENUM lookups (numbers) first; run it again once they are answered.
    Pending(Vec<String>),
}

/// The message a helper throws to stop a run that waits for an answer.
const PENDING: &str = "ENUM lookup pending";

/// A compiled dialplan with its sandboxed engine and tables. `Send + Sync`; replace it to reload.
pub struct Dialplan {
    name: String,
    engine: Engine,
    ast: AST,
    env: Arc<Mutex<RouteEnv>>,
    tables: Arc<BTreeMap<String, Table>>,
}

impl std::fmt::Debug for Dialplan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialplan")
            .field("name", &self.name)
            .field("tables", &self.tables.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn lock(env: &Mutex<RouteEnv>) -> MutexGuard<'_, RouteEnv> {
    // A poisoned lock only means a helper panicked mid-run; the data is plain and still usable.
    env.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn script_error(message: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(message),
        Position::NONE,
    ))
}

fn sandboxed_engine(
    name: &str,
    limits: &DialplanLimits,
    env: &Arc<Mutex<RouteEnv>>,
    tables: &Arc<BTreeMap<String, Table>>,
) -> Engine {
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
    engine.register_fn("e164", |number: &str, cc: &str, national: &str| {
        normalize_e164(number, cc, national)
    });
    engine.register_fn(
        "e164",
        |number: &str, cc: &str, national: &str, international: &str| {
            e164(number, cc, national, international)
        },
    );
    let log_env = env.clone();
    engine.register_fn("log", move |text: &str| {
        lock(&log_env).logs.push(text.to_string());
    });
    let trunk_env = env.clone();
    engine.register_fn("trunk_available", move |trunk: &str| -> i64 {
        lock(&trunk_env)
            .idle_circuits
            .get(trunk)
            .copied()
            .unwrap_or(0)
    });
    let enum_env = env.clone();
    engine.register_fn(
        "enum_lookup",
        move |number: &str| -> Result<Map, Box<EvalAltResult>> {
            let mut env = lock(&enum_env);
            if let Some(result) = env.enum_answers.get(number) {
                return Ok(result.to_map());
            }
            if !env.missing.iter().any(|n| n == number) {
                env.missing.push(number.to_string());
            }
            Err(script_error(PENDING.to_string()))
        },
    );
    register_table_helpers(&mut engine, tables);
    engine
}

fn register_table_helpers(engine: &mut Engine, tables: &Arc<BTreeMap<String, Table>>) {
    fn table<'a>(
        tables: &'a BTreeMap<String, Table>,
        name: &str,
    ) -> Result<&'a Table, Box<EvalAltResult>> {
        tables.get(name).ok_or_else(|| {
            script_error(format!(
                "no table named {name:?} (tables: {})",
                tables.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }
    fn first(table: &Table, rows: &[super::tables::Row]) -> Dynamic {
        rows.first().map_or(Dynamic::UNIT, |row| {
            Dynamic::from_map(row.to_map(&table.key_column))
        })
    }
    fn all(table: &Table, rows: &[super::tables::Row]) -> Array {
        rows.iter()
            .map(|row| Dynamic::from_map(row.to_map(&table.key_column)))
            .collect()
    }
    let t = tables.clone();
    engine.register_fn("lookup", move |name: &str, key: &str| {
        let table = table(&t, name)?;
        Ok::<_, Box<EvalAltResult>>(first(table, table.exact(key)))
    });
    let t = tables.clone();
    engine.register_fn("lookup_all", move |name: &str, key: &str| {
        let table = table(&t, name)?;
        Ok::<_, Box<EvalAltResult>>(all(table, table.exact(key)))
    });
    let t = tables.clone();
    engine.register_fn("longest_match", move |name: &str, number: &str| {
        let table = table(&t, name)?;
        Ok::<_, Box<EvalAltResult>>(first(table, table.longest_match(number)))
    });
    let t = tables.clone();
    engine.register_fn("longest_match_all", move |name: &str, number: &str| {
        let table = table(&t, name)?;
        Ok::<_, Box<EvalAltResult>>(all(table, table.longest_match(number)))
    });
}

fn location(position: Position) -> String {
    match (position.line(), position.position()) {
        (Some(line), Some(column)) => format!("{line}:{column}: "),
        (Some(line), None) => format!("{line}: "),
        _ => " ".to_string(),
    }
}

/// The innermost position of an error: a failure inside a function the script called names the line
/// inside that function, not the call site.
fn innermost(err: &EvalAltResult) -> (&EvalAltResult, Position) {
    match err {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, position) => {
            let (deepest, inner_position) = innermost(inner);
            if inner_position.is_none() {
                (deepest, *position)
            } else {
                (deepest, inner_position)
            }
        }
        other => (other, other.position()),
    }
}

impl Dialplan {
    /// Compiles `source`; `name` (usually the file path) prefixes every error.
    pub fn compile(
        name: &str,
        source: &str,
        limits: DialplanLimits,
    ) -> Result<Dialplan, DialplanError> {
        Dialplan::compile_with_tables(name, source, &[], limits)
    }

    /// Compiles `source` with lookup tables given as `(file name, text)`; each table is named after its file
    /// stem.
    pub fn compile_with_tables(
        name: &str,
        source: &str,
        table_files: &[(String, String)],
        limits: DialplanLimits,
    ) -> Result<Dialplan, DialplanError> {
        let mut tables = BTreeMap::new();
        for (file, text) in table_files {
            tables.insert(table_name(file), Table::parse(file, text)?);
        }
        let tables = Arc::new(tables);
        let env = Arc::new(Mutex::new(RouteEnv::default()));
        let engine = sandboxed_engine(name, &limits, &env, &tables);
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
            env,
            tables,
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

    /// Names of the loaded tables.
    pub fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    /// Runs `route(view)` with no lookups available (ENUM lookups stay pending, every trunk has 0 idle
    /// circuits) and returns the decision.
    pub fn route(&self, view: &CallView) -> Result<RouteDecision, DialplanError> {
        match self.run(view, &mut RouteEnv::default())? {
            Outcome::Decided(decision) => Ok(decision),
            Outcome::Pending(numbers) => Err(DialplanError::Runtime {
                name: self.name.clone(),
                location: " ".into(),
                message: format!("ENUM lookups without a resolver: {}", numbers.join(", ")),
            }),
        }
    }

    /// Runs `route(view)` for one call with what the call knows in `env`, and checks the decision. `env`
    /// comes back with the run's pending lookups and log lines.
    pub fn run(&self, view: &CallView, env: &mut RouteEnv) -> Result<Outcome, DialplanError> {
        env.missing.clear();
        env.logs.clear();
        std::mem::swap(&mut *lock(&self.env), env);
        let call = call_map(view);
        let mut scope = Scope::new();
        // Top-level statements are not evaluated: a script's work happens inside `route`, so
        // each call costs only its own operations and cannot see state from earlier calls.
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        let result = self.engine.call_fn_with_options::<Dynamic>(
            options,
            &mut scope,
            &self.ast,
            "route",
            (call,),
        );
        std::mem::swap(&mut *lock(&self.env), env);
        // A pending lookup wins over whatever the run did after it (a script may catch the stop).
        if !env.missing.is_empty() {
            return Ok(Outcome::Pending(env.missing.clone()));
        }
        let value = result.map_err(|err| self.runtime_error(&err))?;
        super::decision::decision(value)
            .map(Outcome::Decided)
            .map_err(|message| DialplanError::BadDecision {
                name: self.name.clone(),
                message,
            })
    }

    fn runtime_error(&self, err: &EvalAltResult) -> DialplanError {
        let (deepest, position) = innermost(err);
        let message = match deepest {
            EvalAltResult::ErrorTooManyOperations(_) => {
                "operation limit reached (max_operations, the per-call budget)".to_string()
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                "call depth limit reached (recursion too deep)".to_string()
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                format!("size limit reached: {what}")
            }
            EvalAltResult::ErrorRuntime(value, _) => format!("thrown: {value}"),
            other => other.to_string(),
        };
        DialplanError::Runtime {
            name: self.name.clone(),
            location: location(position),
            message,
        }
    }
}

/// Weekday names as the view gives them, Monday first.
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn call_map(view: &CallView) -> Map {
    let mut joined: BTreeMap<String, String> = BTreeMap::new();
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
    let seconds_of_day = (view.time_ms / 1000) % 86_400;
    let days = view.time_ms / 86_400_000;
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let weekday = WEEKDAYS
        .get(usize::try_from((days + 3) % 7).unwrap_or(0))
        .copied()
        .unwrap_or("mon");
    let hour = seconds_of_day / 3600;
    let minute = (seconds_of_day % 3600) / 60;
    let mut call = Map::new();
    call.insert("call_id".into(), Dynamic::from(view.call_id.clone()));
    call.insert("called".into(), Dynamic::from(view.called.clone()));
    call.insert("calling".into(), Dynamic::from(view.calling.clone()));
    call.insert("called_noa".into(), Dynamic::from(view.called_noa.as_str()));
    call.insert(
        "presentation".into(),
        Dynamic::from(if view.presentation_restricted {
            "restricted"
        } else {
            "allowed"
        }),
    );
    call.insert("source".into(), Dynamic::from(view.source.as_str()));
    call.insert("trunk".into(), Dynamic::from(view.trunk.clone()));
    call.insert("from_uri".into(), Dynamic::from(view.from_uri.clone()));
    call.insert("headers".into(), Dynamic::from_map(headers));
    call.insert("hour".into(), Dynamic::from_int(hour as i64));
    call.insert("minute".into(), Dynamic::from_int(minute as i64));
    call.insert(
        "time".into(),
        Dynamic::from(format!("{hour:02}:{minute:02}")),
    );
    call.insert("weekday".into(), Dynamic::from(weekday));
    call
}

#[cfg(test)]
#[path = "dialplan_tests.rs"]
mod tests;
