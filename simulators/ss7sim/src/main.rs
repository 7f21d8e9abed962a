//! ss7sim: a simulated SS7 exchange for tandem's regression runs.
//!
//! It listens for SCTP (kernel or UDP-encapsulated userspace SCTP, RFC 6951) and plays the M3UA
//! SGP towards tandem's ASP (RFC 4666) or, with `--connect`, connects to an STP as an M3UA ASP
//! of its own (registering a routing key for its point code, or activating a static routing
//! context), reconnecting whenever the association fails; it runs Q.764 ISUP call control for the exchange's
//! end of the trunk group, reusing tandem's own codecs and machines. `serve` answers calls
//! as a scenario file says; `call` also originates calls and exits with their verdict.
//!
//! This file is the IO edge: command line, SCTP, the clock and the timer. The behaviour lives
//! in the sans-IO modules [`scenario`], [`caller`] and [`exchange`].

mod caller;
mod exchange;
mod loadshare;
mod scenario;
mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tandem::sigtran::m3ua::{Role, M3UA_PPID};
use tandem::sigtran::sctp::{self, Association, SctpConfig, TransportKind};
use tokio::time::Instant;

use crate::caller::{Caller, CallerConfig};
use crate::exchange::{log, CallPlan, Exchange, ExchangeConfig};
use crate::scenario::Scenario;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "ss7sim",
    version,
    about = "Simulated SS7 exchange (ISUP over M3UA/SCTP)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Answer incoming calls as the scenario says, forever.
    Serve(ServeArgs),
    /// Like serve, but also place calls toward the peer once its ASP is active; exit 0 when
    /// all of them completed cleanly.
    Call(CallArgs),
}

/// Which SCTP stack to listen with.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    /// Kernel SCTP if available, else UDP encapsulation.
    Auto,
    /// Linux kernel SCTP.
    Kernel,
    /// Userspace SCTP over UDP (usrsctp).
    Udp,
}

/// M3UA role of a listening exchange.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Signalling gateway process toward tandem's ASP.
    Sgp,
    /// IPSP single exchange: we only acknowledge.
    IpspSe,
    /// IPSP double exchange: we request and acknowledge.
    IpspDe,
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// Address to listen on for SCTP associations (as an SGP, tandem connecting to us).
    #[arg(long, default_value = "127.0.0.1:2905")]
    listen: SocketAddr,
    /// Instead of listening, connect to this STP/SG as an M3UA ASP (and reconnect after a
    /// failure, backing off up to 5 s).
    #[arg(long)]
    connect: Option<SocketAddr>,
    /// Local SCTP address to bind with `--connect` (an STP with statically configured ASPs
    /// tells them apart by address and port).
    #[arg(long)]
    local: Option<SocketAddr>,
    /// With `--connect`: register a routing key for our point code (RKM REG-REQ, dynamic)
    /// before ASPAC, instead of activating `--routing-context`.
    #[arg(long)]
    register_routing_key: bool,
    /// SCTP stack.
    #[arg(long, value_enum, default_value = "auto")]
    transport: Transport,
    /// M3UA role toward tandem when listening: `sgp` (tandem is an ASP), `ipsp-se` (tandem is
    /// the requesting IPSP, we acknowledge) or `ipsp-de` (both request), RFC 4666 §4.3.2.
    #[arg(long, value_enum, default_value = "sgp")]
    mode: Mode,
    /// Local UDP port of the userspace SCTP stack (transport udp).
    #[arg(long, default_value_t = 9899)]
    udp_port: u16,
    /// The peer's UDP encapsulation port (transport udp).
    #[arg(long, default_value_t = 9900)]
    udp_remote_port: u16,
    /// Our point code.
    #[arg(long, default_value_t = 2)]
    opc: u32,
    /// The peer's point code.
    #[arg(long, default_value_t = 1)]
    dpc: u32,
    /// Network indicator (0 international, 2 national).
    #[arg(long, default_value_t = 2)]
    ni: u8,
    /// First CIC of the trunk group.
    #[arg(long, default_value_t = 1)]
    cic_first: u16,
    /// Last CIC of the trunk group.
    #[arg(long, default_value_t = 31)]
    cic_last: u16,
    /// M3UA routing context served (only needed if the peer sends one); with `--connect`, the
    /// statically configured routing context our ASP activates.
    #[arg(long)]
    routing_context: Option<u32>,
    /// Scenario file (TOML); the bundled scenarios/default.toml when absent.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Simulate congestion: once the peer's ASP is active, send SCON with this level (1..=3)
    /// for our point code every 200 ms, for `--scon-ms`.
    #[arg(long)]
    scon_level: Option<u8>,
    /// How long the simulated congestion lasts.
    #[arg(long, default_value_t = 3_000)]
    scon_ms: u64,
    /// Statistics JSON file, rewritten after every ISUP message.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Listening: serve up to this many associations at once, all ASPs of one loadshare AS
    /// (DATA shared by SLS among the active ones; SIGUSR1 aborts the oldest association).
    #[arg(long, default_value_t = 1)]
    max_asps: usize,
}

#[derive(Debug, Clone, Args)]
struct CallArgs {
    /// Called party number (`+` prefix: international).
    #[arg(long)]
    to: String,
    /// Calling party number.
    #[arg(long, default_value = "4940123456")]
    from: String,
    /// Number of calls.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Time between two IAMs.
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
    /// How long each answered call is held before REL.
    #[arg(long, default_value_t = 500)]
    hold_ms: u64,
    /// A call not finished this long after its IAM fails.
    #[arg(long, default_value_t = 10_000)]
    release_timeout_ms: u64,
    /// Give up when the peer's ASP is not active this long after start.
    #[arg(long, default_value_t = 60_000)]
    connect_timeout_ms: u64,
    #[command(flatten)]
    serve: ServeArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            log(format_args!("cannot start the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => run(&args, None).await,
            Command::Call(args) => run(&args.serve.clone(), Some(args)).await,
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            log(format_args!("error: {error}"));
            ExitCode::from(2)
        }
    }
}

/// Runs the exchange; `Ok(true)` when a `call` run succeeded (serve only returns on error).
async fn run(args: &ServeArgs, call: Option<CallArgs>) -> Result<bool, String> {
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path).map_err(|e| e.to_string())?,
        None => Scenario::default_scenario(),
    };
    let config = ExchangeConfig {
        opc: args.opc,
        dpc: args.dpc,
        network_indicator: args.ni,
        cic_first: args.cic_first,
        cic_last: args.cic_last,
        routing_context: args.routing_context,
        role: if args.connect.is_some() {
            Role::Asp
        } else {
            Role::Sgp
        },
        register_routing_key: args.register_routing_key,
        ipsp: match args.mode {
            Mode::Sgp => None,
            Mode::IpspSe => Some(tandem::sigtran::m3ua::IpspExchange::Single),
            Mode::IpspDe => Some(tandem::sigtran::m3ua::IpspExchange::Double),
        },
        stats_path: args.stats.clone(),
        congestion: args.scon_level.map(|level| (level, args.scon_ms)),
    };
    let caller = call.as_ref().map(|call| {
        let caller = Caller::new(CallerConfig {
            count: call.count,
            interval_ms: call.interval_ms,
            hold_ms: call.hold_ms,
            release_timeout_ms: call.release_timeout_ms,
        });
        let plan = CallPlan {
            to: call.to.clone(),
            from: call.from.clone(),
        };
        (caller, plan)
    });
    if let Some((_, plan)) = &caller {
        exchange::originating_iam(plan)?;
    }
    let mut exchange = Exchange::new(config, scenario, caller).map_err(|e| e.to_string())?;
    let sctp_config = SctpConfig {
        kind: match args.transport {
            Transport::Auto => TransportKind::Auto,
            Transport::Kernel => TransportKind::Kernel,
            Transport::Udp => TransportKind::Udp,
        },
        udp_local_port: args.udp_port,
        udp_remote_port: args.udp_remote_port,
        ..SctpConfig::default()
    };
    let start = Instant::now();
    let connect_deadline = call.as_ref().and_then(|call| {
        start.checked_add(std::time::Duration::from_millis(call.connect_timeout_ms))
    });
    if let Some(remote) = args.connect {
        return run_client(
            args,
            remote,
            &sctp_config,
            &mut exchange,
            start,
            connect_deadline,
        )
        .await;
    }
    let listener = sctp::listen(&sctp_config, args.listen)
        .await
        .map_err(|e| e.to_string())?;
    log(format_args!(
        "listening on {} ({:?}), OPC {} DPC {} NI {} CIC {}..{}",
        args.listen,
        sctp::resolve_kind(sctp_config.kind),
        args.opc,
        args.dpc,
        args.ni,
        args.cic_first,
        args.cic_last
    ));
    if args.max_asps > 1 {
        return loadshare::serve(&mut exchange, listener, start, args.max_asps).await;
    }
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = sleep_until_option(connect_deadline) => {
                log("the peer's ASP did not connect in time");
                return Ok(false);
            }
        };
        let association = match accepted {
            Ok(association) => association,
            Err(error) => {
                log(format_args!("accept failed: {error}"));
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        log(format_args!("association from {} up", association.peer()));
        if let Some(verdict) = session(&mut exchange, association, start, connect_deadline).await {
            return Ok(verdict);
        }
    }
}

/// Pause after the first failed or lost association toward the STP; doubled per failure.
const RECONNECT_FIRST: std::time::Duration = std::time::Duration::from_millis(250);
/// Longest pause between two connection attempts.
const RECONNECT_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// `--connect`: the exchange as an ASP of an STP, reconnecting with back-off.
async fn run_client(
    args: &ServeArgs,
    remote: SocketAddr,
    sctp_config: &SctpConfig,
    exchange: &mut Exchange,
    start: Instant,
    connect_deadline: Option<Instant>,
) -> Result<bool, String> {
    log(format_args!(
        "connecting to {remote} ({:?}) as an ASP, OPC {} DPC {} NI {} CIC {}..{}",
        sctp::resolve_kind(sctp_config.kind),
        args.opc,
        args.dpc,
        args.ni,
        args.cic_first,
        args.cic_last
    ));
    let mut pause = RECONNECT_FIRST;
    loop {
        if connect_deadline.is_some_and(|at| Instant::now() >= at) && !exchange.stats().asp_active {
            log("our ASP did not become active in time");
            return Ok(false);
        }
        match sctp::connect(sctp_config, args.local, remote).await {
            Ok(association) => {
                log(format_args!("association to {} up", association.peer()));
                pause = RECONNECT_FIRST;
                if let Some(verdict) = session(exchange, association, start, connect_deadline).await
                {
                    return Ok(verdict);
                }
            }
            Err(error) => {
                log(format_args!("connect to {remote} failed: {error}"));
                pause = (pause * 2).min(RECONNECT_MAX);
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// Runs one association until it closes (`None`) or a `call` run is decided (`Some(verdict)`).
async fn session(
    exchange: &mut Exchange,
    association: Association,
    start: Instant,
    connect_deadline: Option<Instant>,
) -> Option<bool> {
    let (sender, mut receiver) = association.split();
    let now_ms = |start: Instant| start.elapsed().as_millis() as u64;
    exchange.handle_sctp_up(now_ms(start));
    loop {
        while let Some(transmit) = exchange.poll_transmit() {
            if let Err(error) = sender.send(transmit.stream, M3UA_PPID, transmit.data).await {
                log(format_args!("send failed: {error}"));
            }
        }
        if exchange.is_finished() {
            let summary = exchange.summary().unwrap_or_default();
            log(summary);
            println!("{summary}");
            return Some(summary.failed == 0 && summary.completed == summary.attempted);
        }
        let deadline = exchange
            .poll_timeout()
            .and_then(|at| start.checked_add(std::time::Duration::from_millis(at)));
        let deadline = match (deadline, connect_deadline) {
            (Some(a), Some(b)) if !exchange.stats().asp_active => Some(a.min(b)),
            (None, Some(b)) if !exchange.stats().asp_active => Some(b),
            (a, _) => a,
        };
        tokio::select! {
            received = receiver.recv() => match received {
                Some(message) => {
                    if message.ppid != M3UA_PPID {
                        log(format_args!("message with PPID {} on stream {} (not M3UA)", message.ppid, message.stream));
                    }
                    exchange.handle_sctp_message(message.stream, &message.data, now_ms(start));
                }
                None => {
                    log(format_args!("association closed: {:?}", receiver.close_reason()));
                    exchange.handle_sctp_down(now_ms(start));
                    break;
                }
            },
            _ = sleep_until_option(deadline) => {
                if connect_deadline.is_some_and(|at| Instant::now() >= at) && !exchange.stats().asp_active && exchange.summary().is_some_and(|s| s.attempted == 0) {
                    log("the peer's ASP did not become active in time");
                    return Some(false);
                }
                exchange.handle_timeout(now_ms(start));
            }
        }
    }
    match exchange.summary() {
        Some(summary) if exchange.is_finished() => {
            println!("{summary}");
            Some(summary.failed == 0 && summary.completed == summary.attempted)
        }
        _ => None,
    }
}

async fn sleep_until_option(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
