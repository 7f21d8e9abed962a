//! The `tandem` command: run the gateway, run the demo (gateway + bundled SS7 exchange simulator), replay and
//! trace event logs, decode ISUP/M3UA hex dumps.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use tandem::config::Config;
use tandem::events::replay::replay;
use tandem::events::store::EventReader;
use tandem::events::trace::{render, TraceOptions};

/// mimalloc rather than the system allocator: parsing and building SIP messages allocates many small strings and
/// vectors per datagram, and glibc's malloc/free was about 15 % of the SIP→SIP load profile (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "SIP/WebRTC <-> ISUP (M3UA over SCTP) interworking gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct GatewayArgs {
    /// Configuration file (TOML); every setting has an embedded default.
    #[arg(long)]
    config: Option<PathBuf>,
    /// SIP listen address, UDP and TCP [default: 127.0.0.1:5060].
    #[arg(long)]
    sip_listen: Option<SocketAddr>,
    /// Event log (SQLite) [default: tandem-events.sqlite].
    #[arg(long)]
    event_log: Option<PathBuf>,
    /// Seed for tags, branches and Call-IDs (recorded in the log) [default: from the clock].
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Run(GatewayArgs),
    /// Run the gateway with the bundled SS7 exchange simulator on loopback.
    Demo {
        #[command(flatten)]
        gateway: GatewayArgs,
        /// The ss7sim binary [default: next to this one].
        #[arg(long)]
        ss7sim: Option<PathBuf>,
        /// Scenario file for ss7sim [default: its bundled default scenario].
        #[arg(long)]
        scenario: Option<PathBuf>,
    },
    /// Re-run a log through a fresh core and compare every output and transition.
    Replay {
        /// The event log.
        log: PathBuf,
    },
    /// Show a log (or one call of it) as a ladder.
    Trace {
        /// The event log.
        log: PathBuf,
        /// Only this call (e.g. c1); `--call list` lists the calls.
        #[arg(long)]
        call: Option<String>,
        /// Also show state transitions.
        #[arg(long)]
        transitions: bool,
    },
    /// Show the signalling links (SCTP association, M3UA ASP/AS state, SSNM) as the event log has them; works
    /// on the log of a running gateway.
    Links {
        /// The event log.
        log: PathBuf,
    },
    /// Check, test and reload dialplans.
    Dialplan {
        #[command(subcommand)]
        command: tandem::dialplan_cli::DialplanCommand,
    },
    /// Decode an M3UA or ISUP message given as hex (`-` reads hex from stdin).
    Decode {
        /// The bytes are an M3UA message (default: guess from the first octet).
        #[arg(long, conflicts_with = "isup")]
        m3ua: bool,
        /// The bytes are an ISUP message (CIC first).
        #[arg(long)]
        isup: bool,
        /// ISUP variant of the trunk the message came from.
        #[arg(long, value_enum, default_value = "itu")]
        variant: DecodeVariant,
        /// Print JSON instead of the indented breakdown.
        #[arg(long)]
        json: bool,
        /// Hex, in one or more pieces.
        #[arg(required = true)]
        hex: Vec<String>,
    },
}

/// `--variant` of `tandem decode`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DecodeVariant {
    /// ITU-T Q.763.
    Itu,
    /// ETSI EN 300 356.
    Etsi,
}

impl From<DecodeVariant> for tandem::isup::Variant {
    fn from(variant: DecodeVariant) -> Self {
        match variant {
            DecodeVariant::Itu => tandem::isup::Variant::Itu,
            DecodeVariant::Etsi => tandem::isup::Variant::Etsi,
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_gateway(&args, None),
        Command::Demo {
            gateway,
            ss7sim,
            scenario,
        } => run_demo(&gateway, ss7sim, scenario),
        Command::Replay { log } => run_replay(&log),
        Command::Trace {
            log,
            call,
            transitions,
        } => run_trace(&log, call.as_deref(), transitions),
        Command::Links { log } => run_links(&log),
        Command::Dialplan { command } => tandem::dialplan_cli::run(command),
        Command::Decode {
            m3ua,
            isup,
            variant,
            json,
            hex,
        } => tandem::decode::run(m3ua, isup, variant.into(), json, &hex),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("tandem: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &GatewayArgs) -> Result<Config, String> {
    let mut config = Config::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    config.apply_overrides(args.sip_listen, args.event_log.clone());
    Ok(config)
}

fn run_gateway(
    args: &GatewayArgs,
    before_start: Option<&dyn Fn(&Config)>,
) -> Result<ExitCode, String> {
    let config = load_config(args)?;
    if let Some(hook) = before_start {
        hook(&config);
    }
    let seed = args.seed.or(config.seed).unwrap_or_else(clock_seed);
    let setup = tandem::runtime::build_setup(&config, seed).map_err(|e| e.to_string())?;
    let event_log = config.event_log.path.clone();
    // Two IO workers, but never more than the CPUs the process may run on: pinned to one CPU (`taskset`), a
    // second worker only made the core loop's task migrate between two threads that take turns on that CPU.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(2));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    // The core loop runs as a task on a worker thread, the thread that also polls the IO driver: a socket's
    // readiness then reaches the loop without waking a second thread, as `block_on`'s own thread would need
    // (two context switches per wake-up under load; docs/benchmarks.md).
    let run = tandem::runtime::run(
        config,
        setup,
        event_log.clone(),
        shutdown_signal(),
        move |bound| {
            eprintln!(
                "tandem: SIP on udp:{} and tcp:{}",
                bound.sip_udp, bound.sip_tcp
            );
            for (what, addr) in [
                ("SIP on tls", bound.sip_tls),
                ("SIP over WebSocket on http", bound.http),
                ("SIP over secure WebSocket on https", bound.https),
            ] {
                if let Some(addr) = addr {
                    eprintln!("tandem: {what}:{addr}");
                }
            }
            eprintln!("tandem: event log {}", event_log.display());
        },
    );
    let summary = runtime
        .block_on(async move { tokio::spawn(run).await })
        .map_err(|e| format!("the gateway task failed: {e}"))?
        .map_err(|e| e.to_string())?;
    eprintln!(
        "tandem: stopped; {} events logged, {} calls were still up",
        summary.events, summary.active_calls
    );
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}

fn run_demo(
    args: &GatewayArgs,
    ss7sim: Option<PathBuf>,
    scenario: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let binary = match ss7sim {
        Some(path) => path,
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find my own binary: {e}"))?
            .with_file_name("ss7sim"),
    };
    if !binary.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release --workspace` (scripts/demo does), or pass --ss7sim",
            binary.display()
        ));
    }
    let config = load_config(args)?;
    let Some(trunk) = config.trunks.first() else {
        return Err("the demo needs at least one trunk in the configuration".into());
    };
    let mut command = std::process::Command::new(&binary);
    command
        .arg("serve")
        .arg("--listen")
        .arg(trunk.remote.to_string())
        .arg("--transport")
        .arg(trunk.resolved_transport_name())
        .arg("--udp-port")
        .arg(trunk.udp_remote_port.to_string())
        .arg("--opc")
        .arg(trunk.dpc.to_string())
        .arg("--dpc")
        .arg(trunk.opc.to_string());
    if let Some(scenario) = &scenario {
        command.arg("--scenario").arg(scenario);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    eprintln!(
        "tandem demo: ss7sim (pid {}) plays the exchange on {} ({} SCTP)",
        child.id(),
        trunk.remote,
        trunk.resolved_transport_name()
    );
    eprintln!(
        "tandem demo: send SIP calls to sip:<number>@{} — e.g. `sipp -sf tests/sipp/uac_basic.xml -s 4930123456 {} -m 1`;",
        config.sip.listen, config.sip.listen
    );
    eprintln!("tandem demo: numbers 990NNN… are released by the exchange with cause NNN (990017 → 486 Busy Here). Ctrl-C stops.");
    let result = run_gateway(args, None);
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn run_replay(log: &Path) -> Result<ExitCode, String> {
    let events = EventReader::open(log)
        .and_then(|reader| reader.all())
        .map_err(|e| e.to_string())?;
    let report = replay(&events).map_err(|e| e.to_string())?;
    match &report.first {
        None => {
            println!("{} events replayed, 0 divergences", report.events);
            Ok(ExitCode::SUCCESS)
        }
        Some(divergence) => {
            println!(
                "{} events replayed, {} divergences; first at event {}",
                report.events, report.divergences, divergence.seq
            );
            println!("  recorded: {}", describe(divergence.recorded.as_ref()));
            println!("  replayed: {}", describe(divergence.replayed.as_ref()));
            Ok(ExitCode::FAILURE)
        }
    }
}

fn describe(event: Option<&tandem::events::Event>) -> String {
    match event {
        Some(event) => {
            serde_json::to_string(event).unwrap_or_else(|e| format!("(unprintable: {e})"))
        }
        None => "(nothing)".into(),
    }
}

fn run_links(log: &Path) -> Result<ExitCode, String> {
    let reader = EventReader::open(log).map_err(|e| e.to_string())?;
    let events = reader.all().map_err(|e| e.to_string())?;
    let statuses = tandem::events::links::link_statuses(&events);
    print!("{}", tandem::events::links::render_links(&statuses));
    Ok(ExitCode::SUCCESS)
}

fn run_trace(log: &Path, call: Option<&str>, transitions: bool) -> Result<ExitCode, String> {
    let reader = EventReader::open(log).map_err(|e| e.to_string())?;
    if call == Some("list") {
        for call in reader.calls().map_err(|e| e.to_string())? {
            println!("{call}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let events = match call {
        Some(call) => reader.call(call),
        None => reader.all(),
    }
    .map_err(|e| e.to_string())?;
    if events.is_empty() {
        return Err(format!(
            "no events{}",
            call.map(|c| format!(" for call {c}")).unwrap_or_default()
        ));
    }
    print!("{}", render(&events, TraceOptions { transitions }));
    Ok(ExitCode::SUCCESS)
}
