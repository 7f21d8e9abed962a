//! `tandem dialplan …`: the engineer's tools around a dialplan. `check` compiles a script with its tables
//! (errors name file, line and column), `test` prints the decision for one call or runs a fixture file
//! (`N passed, N failed`, exit 1 on a failure, for operators' CI), `reload` asks a running gateway to load
//! its script again (SIGHUP; the gateway refuses a broken script and keeps the old one).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;
use crate::routing::fixtures::{case_view, Case, TestBench};

/// The subcommands of `tandem dialplan`.
#[derive(Debug, Subcommand)]
pub enum DialplanCommand {
    /// Compile the dialplan and its tables; print what is wrong (file:line:column) or "ok".
    Check {
        /// Configuration file naming the script and tables.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Script to check instead of the configured one.
        script: Option<PathBuf>,
        /// Table files (CSV/TOML) for the script, in addition to the configured ones.
        #[arg(long = "table")]
        tables: Vec<PathBuf>,
    },
    /// Print the decision for one call, or run a fixture file of cases.
    Test {
        /// Configuration file naming the script, tables and ENUM zones.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Script to test instead of the configured one.
        #[arg(long)]
        dialplan: Option<PathBuf>,
        /// Table files (CSV/TOML), in addition to the configured ones.
        #[arg(long = "table")]
        tables: Vec<PathBuf>,
        /// ENUM zone files answering `enum_lookup`, in addition to the configured ones.
        #[arg(long = "enum-zone")]
        enum_zones: Vec<PathBuf>,
        /// Run the cases of this fixture file (TOML) instead of one call.
        #[arg(long, conflicts_with_all = ["called", "config", "dialplan"])]
        fixtures: Option<PathBuf>,
        /// Called number.
        #[arg(long, required_unless_present = "fixtures")]
        called: Option<String>,
        /// Calling number.
        #[arg(long, default_value = "")]
        calling: String,
        /// Incoming trunk group (the call then comes from ISUP).
        #[arg(long)]
        trunk: Option<String>,
        /// Time of day, HH:MM.
        #[arg(long)]
        time: Option<String>,
        /// Weekday, mon..sun.
        #[arg(long)]
        weekday: Option<String>,
        /// Idle circuits of a trunk for `trunk_available`, NAME=N (default: the trunk's CIC range).
        #[arg(long = "idle", value_parser = parse_idle)]
        idle: Vec<(String, i64)>,
    },
    /// Ask the running gateway with process id PID to reload its dialplan (sends SIGHUP).
    Reload {
        /// Process id of `tandem run`.
        #[arg(long)]
        pid: i32,
    },
}

fn parse_idle(text: &str) -> Result<(String, i64), String> {
    let (name, count) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=N"))?;
    let count = count
        .parse::<i64>()
        .map_err(|_| format!("{count:?} is not a number"))?;
    Ok((name.to_string(), count))
}

/// Runs a `tandem dialplan` subcommand.
pub fn run(command: DialplanCommand) -> Result<ExitCode, String> {
    match command {
        DialplanCommand::Check {
            config,
            script,
            tables,
        } => {
            let mut config = Config::load(config.as_deref()).map_err(|e| e.to_string())?;
            if let Some(script) = script {
                config.dialplan.path = Some(script);
            }
            config.dialplan.tables.extend(tables);
            let plan = config.compile_dialplan().map_err(|e| e.message)?;
            println!(
                "ok: {} ({} tables: {})",
                plan.name(),
                plan.table_names().len(),
                plan.table_names().join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        DialplanCommand::Test {
            fixtures: Some(path),
            ..
        } => run_fixtures(&path),
        DialplanCommand::Test {
            config,
            dialplan,
            tables,
            enum_zones,
            called,
            calling,
            trunk,
            time,
            weekday,
            idle,
            ..
        } => {
            let config = Config::load(config.as_deref()).map_err(|e| e.to_string())?;
            let script = match dialplan.or(config.dialplan.path.clone()) {
                Some(path) => path,
                None => {
                    return Err("give --dialplan FILE or a --config naming [dialplan] path".into())
                }
            };
            let mut table_files = config.dialplan.tables.clone();
            table_files.extend(tables);
            let mut zones = config.enum_lookup.zones.clone();
            zones.extend(enum_zones);
            let mut trunks: BTreeMap<String, i64> = config
                .trunks
                .iter()
                .map(|t| {
                    let size = i64::from(t.cic_last) - i64::from(t.cic_first) + 1;
                    (t.name.clone(), size.max(0))
                })
                .collect();
            trunks.extend(idle);
            let bench = TestBench::load(
                &script,
                &table_files,
                &zones,
                config.enum_lookup.suffixes.clone(),
                trunks,
                config.dialplan.limits(),
            )
            .map_err(|e| e.to_string())?;
            let case = Case {
                called: called.unwrap_or_default(),
                calling,
                source: Some(if trunk.is_some() { "isup" } else { "sip" }.into()),
                trunk: trunk.unwrap_or_default(),
                time,
                weekday,
                ..Case::default()
            };
            let view = case_view(&case)?;
            let (result, logs) = bench.decide(&view, &BTreeMap::new());
            for line in logs {
                println!("log: {line}");
            }
            match result {
                Ok(decision) => {
                    println!("{decision}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    println!(
                        "error: {error} (the call is released with cause {})",
                        config.dialplan.failure_cause
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        DialplanCommand::Reload { pid } => {
            // kill(1) rather than kill(2): unsafe code stays in the FFI module.
            let status = std::process::Command::new("kill")
                .args(["-HUP", &pid.to_string()])
                .status()
                .map_err(|e| format!("cannot run kill: {e}"))?;
            if !status.success() {
                return Err(format!("cannot signal process {pid}"));
            }
            println!("reload requested; the gateway logs whether it took the new dialplan");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_fixtures(path: &std::path::Path) -> Result<ExitCode, String> {
    let (bench, cases) = TestBench::from_fixture(path).map_err(|e| e.to_string())?;
    if cases.is_empty() {
        return Err(format!("{}: no [[case]]", path.display()));
    }
    let (mut passed, mut failed) = (0, 0);
    for (index, case) in cases.iter().enumerate() {
        let name = if case.name.is_empty() {
            format!("case {}", index + 1)
        } else {
            case.name.clone()
        };
        match bench.check(case) {
            Ok(_) => passed += 1,
            Err(why) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
