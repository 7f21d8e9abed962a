//! The tokio edge: owns the SIP sockets, the SCTP associations, the clock and the event log, and drives the
//! sans-IO [`Gateway`](crate::gateway::Gateway) through a [`Driver`] on one task. IO tasks only read, frame and
//! forward; the order in which the core loop takes their inputs is the log order, which is what makes replay exact
//! (ARCHITECTURE.md, rule 7). The SIP UDP socket is the exception: the core loop drains it itself after each
//! readiness wake-up and sends each turn's datagrams with one `sendmmsg` (`udp_batch`), which saves a thread
//! hand-off per datagram under load; the inputs still reach the core one at a time in the order taken.

mod clock;
mod enum_backend;
mod reload;
mod sctp_link;
mod setup;
mod sip_dns;
mod sip_tls;
mod sip_transport;
mod sip_ws;
mod udp_batch;
mod users_db;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub use clock::Clock;
pub use setup::{build_setup, SetupError};
pub use sip_tls::TlsError;

use crate::config::Config;
use crate::events::store::{EventWriter, StoreError, WriterOptions};
use crate::events::{Event, EventKind, Input, LogLevel, Output, Setup, SipTransport};
use crate::gateway::{Driver, GatewayError};
use crate::sigtran::m3ua::M3UA_PPID;
use crate::sigtran::sctp::AssocSender;

/// Why the runtime could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// The setup did not build a gateway.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The event log failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An ENUM zone file does not parse.
    #[error("ENUM zone: {0}")]
    Zone(#[from] crate::routing::zone::ZoneError),
    /// A TLS certificate, key or root bundle could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A socket could not be opened.
    #[error("{what} {addr}: {source}")]
    Bind {
        /// Which socket.
        what: &'static str,
        /// Its address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What the IO tasks hand the core loop.
pub(crate) enum Feed {
    /// An input for the core.
    Input(Input),
    /// A trunk's association is up; send its M3UA through this.
    SctpAttached { trunk: String, sender: AssocSender },
    /// A trunk's association is gone.
    SctpDetached { trunk: String },
    /// A SIP connection (TCP, TLS, WS, WSS) is up; write to the peer through this.
    StreamAttached {
        transport: SipTransport,
        peer: SocketAddr,
        writer: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// A SIP connection closed.
    StreamDetached {
        transport: SipTransport,
        peer: SocketAddr,
    },
}

/// A running gateway's summary when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Events written to the log.
    pub events: u64,
    /// Calls still up when it stopped.
    pub active_calls: usize,
}

/// Addresses the gateway actually bound (ports may have been 0 in the config).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// The SIP UDP socket.
    pub sip_udp: SocketAddr,
    /// The SIP TCP listener.
    pub sip_tcp: SocketAddr,
    /// The SIP TLS listener, when `[sip.tls] listen` is set.
    pub sip_tls: Option<SocketAddr>,
    /// The HTTP (WS) listener, when `[http] listen` is set.
    pub http: Option<SocketAddr>,
    /// The HTTPS (WSS) listener, when `[http] tls_listen` is set.
    pub https: Option<SocketAddr>,
}

/// Runs the gateway until `shutdown` completes. `on_bound` is told the SIP addresses once they are open.
pub async fn run(
    config: Config,
    setup: Setup,
    event_log: PathBuf,
    shutdown: impl std::future::Future<Output = ()>,
    on_bound: impl FnOnce(Bound),
) -> Result<RunSummary, RuntimeError> {
    let clock = Clock::start();
    let writer = EventWriter::create(
        &event_log,
        WriterOptions {
            batch_size: config.event_log.batch_size,
            flush_interval: std::time::Duration::from_millis(config.event_log.flush_interval_ms),
            nice: config.event_log.writer_nice,
        },
    )?;
    let (mut driver, start_events) = Driver::start(setup, clock.now_ms())?;
    let enum_backend = enum_backend::EnumBackend::from_config(&config)?;
    let sip_dns = sip_dns::SipDns::from_config(&config);

    let listen = config.sip.listen;
    let udp = UdpSocket::bind(listen)
        .await
        .map_err(|source| RuntimeError::Bind {
            what: "SIP UDP",
            addr: listen,
            source,
        })?;
    if config.sip.udp_receive_buffer_bytes > 0 {
        if let Err(error) = udp_batch::set_receive_buffer(&udp, config.sip.udp_receive_buffer_bytes)
        {
            tracing::warn!(%error, "SIP UDP receive buffer left at the system default");
        }
    }
    let udp = Arc::new(udp);
    let udp_addr = udp.local_addr().map_err(|source| RuntimeError::Bind {
        what: "SIP UDP",
        addr: listen,
        source,
    })?;
    // TCP shares the UDP port so peers find both on the one address they were given.
    let tcp_addr = SocketAddr::new(listen.ip(), udp_addr.port());
    let tcp = tokio::net::TcpListener::bind(tcp_addr)
        .await
        .map_err(|source| RuntimeError::Bind {
            what: "SIP TCP",
            addr: tcp_addr,
            source,
        })?;
    let limits = sip_transport::StreamLimits::from_config(&config.sip);
    let (feed, mut inputs) = mpsc::unbounded_channel::<Feed>();
    let mut tasks = tokio::task::JoinSet::new();
    let secure = listen_secure(&config, &feed, limits, &mut tasks).await?;
    on_bound(Bound {
        sip_udp: udp_addr,
        sip_tcp: tcp_addr,
        sip_tls: secure.sip_tls,
        http: secure.http,
        https: secure.https,
    });
    tasks.spawn(sip_transport::tcp_acceptor(tcp, feed.clone(), limits));
    for trunk in &config.trunks {
        for link in trunk.links() {
            let sctp = trunk.link_sctp_config(&link);
            tasks.spawn(sctp_link::supervise(sctp, link, feed.clone()));
        }
    }
    tasks.spawn(reload::watch(config.clone(), feed.clone()));

    let mut state = LoopState {
        writer,
        udp,
        feed: feed.clone(),
        trunks: HashMap::new(),
        streams: HashMap::new(),
        tls_connector: secure.connector,
        limits,
        events: 0,
        log_lost: false,
        enum_backend,
        sip_dns,
    };
    state.dispatch(start_events).await;
    tokio::pin!(shutdown);
    let mut buffer = sip_transport::datagram_buffer();
    loop {
        let deadline = driver.poll_timeout().map(|at| clock.instant_of(at));
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        // Each wake-up takes everything that is ready (up to a bound, so timers and the other source are not
        // starved), feeds it to the core one input at a time in the order taken, and then carries out the
        // outputs of the whole turn: the log order is still the order the core saw its inputs.
        let mut events = Vec::new();
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            feed = inputs.recv() => {
                let Some(mut feed) = feed else { break };
                let mut taken = 1;
                loop {
                    match feed {
                        Feed::Input(input) => events.extend(driver.feed(input, clock.now_ms())),
                        // A connection coming or going changes where outputs go: what the inputs before it
                        // produced must leave first (a response written before its connection closed).
                        route => {
                            state.dispatch(std::mem::take(&mut events)).await;
                            if let Some(input) = state.route(route) {
                                events.extend(driver.feed(input, clock.now_ms()));
                            }
                        }
                    }
                    if taken >= TURN_BATCH {
                        break;
                    }
                    match inputs.try_recv() {
                        Ok(next) => {
                            feed = next;
                            taken += 1;
                        }
                        Err(_) => break,
                    }
                }
            }
            ready = state.udp.readable() => {
                if let Err(error) = ready {
                    tracing::warn!(%error, "SIP UDP socket not readable");
                }
                for _ in 0..TURN_BATCH {
                    match sip_transport::try_receive_udp(&state.udp, &mut buffer) {
                        Ok(input) => events.extend(driver.feed(input, clock.now_ms())),
                        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                        // ICMP port unreachable from an earlier send shows up here on Linux; no reason to stop.
                        Err(error) => tracing::debug!(%error, "SIP UDP receive error"),
                    }
                }
            }
            _ = sleep => {
                events = driver.feed(Input::Timeout, clock.now_ms());
            }
        }
        state.dispatch(events).await;
    }
    tasks.abort_all();
    let active_calls = driver.gateway().active_calls();
    let events = state.events;
    state.writer.close()?;
    Ok(RunSummary {
        events,
        active_calls,
    })
}

/// Most inputs taken from one source in one turn of the core loop.
const TURN_BATCH: usize = 64;

struct LoopState {
    writer: EventWriter,
    udp: Arc<UdpSocket>,
    feed: mpsc::UnboundedSender<Feed>,
    trunks: HashMap<String, AssocSender>,
    /// Open connections by flow: transport and peer address.
    streams: HashMap<(SipTransport, SocketAddr), mpsc::UnboundedSender<Vec<u8>>>,
    /// For outgoing TLS; `None` when no roots could be loaded (outgoing TLS then fails with a log line).
    tls_connector: Option<tokio_rustls::TlsConnector>,
    limits: sip_transport::StreamLimits,
    events: u64,
    /// The event log has stopped taking events (reported once).
    log_lost: bool,
    enum_backend: enum_backend::EnumBackend,
    sip_dns: sip_dns::SipDns,
}

/// What the secure and WebSocket listeners bound, and the connector for outgoing TLS.
struct Secure {
    sip_tls: Option<SocketAddr>,
    http: Option<SocketAddr>,
    https: Option<SocketAddr>,
    connector: Option<tokio_rustls::TlsConnector>,
}

async fn bind_tcp(
    what: &'static str,
    addr: SocketAddr,
) -> Result<(tokio::net::TcpListener, SocketAddr), RuntimeError> {
    let error = |source| RuntimeError::Bind { what, addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(error)?;
    let bound = listener.local_addr().map_err(error)?;
    Ok((listener, bound))
}

/// Opens the TLS, HTTP and HTTPS listeners the configuration asks for.
async fn listen_secure(
    config: &Config,
    feed: &mpsc::UnboundedSender<Feed>,
    limits: sip_transport::StreamLimits,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<Secure, RuntimeError> {
    let mut secure = Secure {
        sip_tls: None,
        http: None,
        https: None,
        connector: match sip_tls::connector(config.sip.tls.ca.as_deref()) {
            Ok(connector) => Some(connector),
            Err(error) => {
                // Only outgoing TLS needs roots; a gateway that never dials TLS must not fail to start.
                tracing::info!(%error, "no roots for outgoing SIP TLS");
                None
            }
        },
    };
    if let (Some(addr), Some(files)) = (config.sip.tls.listen, config.sip_tls_files()) {
        let acceptor = sip_tls::acceptor(&files)?;
        let (listener, bound) = bind_tcp("SIP TLS", addr).await?;
        secure.sip_tls = Some(bound);
        tasks.spawn(sip_tls::tls_acceptor(
            listener,
            acceptor,
            feed.clone(),
            limits,
        ));
    }
    if let Some(addr) = config.http.listen {
        let (listener, bound) = bind_tcp("HTTP", addr).await?;
        secure.http = Some(bound);
        tasks.spawn(sip_ws::http_acceptor(listener, None, feed.clone(), limits));
    }
    if let (Some(addr), Some(files)) = (config.http.tls_listen, config.https_files()) {
        let acceptor = sip_tls::acceptor(&files)?;
        let (listener, bound) = bind_tcp("HTTPS", addr).await?;
        secure.https = Some(bound);
        tasks.spawn(sip_ws::http_acceptor(
            listener,
            Some(acceptor),
            feed.clone(),
            limits,
        ));
    }
    Ok(secure)
}

impl LoopState {
    /// A message for a flow with no open connection: TCP and TLS dial the peer; a WebSocket client cannot be
    /// dialled, so the message is dropped (the client is gone; its binding will expire).
    fn open_and_send(&self, transport: SipTransport, to: SocketAddr, data: Vec<u8>) {
        let (feed, limits) = (self.feed.clone(), self.limits);
        match (transport, &self.tls_connector) {
            (SipTransport::Tcp, _) => sip_transport::connect_and_send(to, data, feed, limits),
            (SipTransport::Tls, Some(connector)) => {
                sip_tls::connect_and_send(to, data, connector.clone(), feed, limits)
            }
            (SipTransport::Tls, None) => {
                tracing::warn!(%to, "SIP TLS message dropped: no trusted roots ([sip.tls] ca)");
                let reason = "no trusted roots for outgoing TLS ([sip.tls] ca)".to_string();
                sip_transport::send_failed(&self.feed, transport, to, reason);
            }
            (SipTransport::Ws | SipTransport::Wss, _) => {
                tracing::warn!(%to, ?transport, "SIP message dropped: the WebSocket connection is gone");
                let reason = "the WebSocket connection is gone".to_string();
                sip_transport::send_failed(&self.feed, transport, to, reason);
            }
            (SipTransport::Udp, _) => {}
        }
    }

    /// Applies a change of where outputs go: an SCTP association or a stream connection up or down. Inputs
    /// are fed to the core by the loop, not here.
    /// Applies a connection or association change; returns the input the core must see for it (a closed SIP
    /// connection is recorded: bindings on its flow stop being routable, RFC 5626 §5.3).
    fn route(&mut self, feed: Feed) -> Option<Input> {
        match feed {
            Feed::Input(_) => {}
            Feed::SctpAttached { trunk, sender } => {
                self.trunks.insert(trunk, sender);
            }
            Feed::SctpDetached { trunk } => {
                self.trunks.remove(&trunk);
            }
            Feed::StreamAttached {
                transport,
                peer,
                writer,
            } => {
                self.streams.insert((transport, peer), writer);
            }
            Feed::StreamDetached { transport, peer } => {
                self.streams.remove(&(transport, peer));
                return Some(Input::SipFlowClosed { transport, peer });
            }
        }
        None
    }

    /// Carries out the outputs among `events` and logs them all. Outputs keep their order per transport; the
    /// turn's SIP UDP datagrams leave together at the end (one `sendmmsg`), and the events go to the writer in
    /// one hand-off. Outputs are not replayed, so this grouping cannot change what replay checks.
    async fn dispatch(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut datagrams: Vec<udp_batch::Datagram<'_>> = Vec::new();
        for event in &events {
            let EventKind::Output(output) = &event.kind else {
                continue;
            };
            match output {
                Output::SipSend {
                    transport: SipTransport::Udp,
                    to,
                    data,
                } => datagrams.push((*to, &data.0)),
                Output::Log { level, message } => {
                    let call = event.call.as_deref().unwrap_or("-");
                    match level {
                        LogLevel::Info => tracing::info!(call, "{message}"),
                        LogLevel::Warn => tracing::warn!(call, "{message}"),
                        LogLevel::Error => tracing::error!(call, "{message}"),
                    }
                }
                other => self.carry_out(other).await,
            }
        }
        udp_batch::send_all(&self.udp, &datagrams).await;
        drop(datagrams);
        self.events += events.len() as u64;
        if let Err(error) = self.writer.append_all(events) {
            // Calls go on without the log (the writer said why it stopped); one line, not one per turn, so the
            // reason is not buried under the repeats.
            if !self.log_lost {
                self.log_lost = true;
                tracing::error!(%error, "events are no longer being logged: this run cannot be replayed past here");
            }
        }
    }

    async fn carry_out(&mut self, output: &Output) {
        match output {
            Output::SipSend {
                transport: SipTransport::Udp,
                to,
                data,
            } => udp_batch::send_all(&self.udp, &[(*to, &data.0)]).await,
            Output::SipSend {
                transport,
                to,
                data,
            } => {
                let delivered = self
                    .streams
                    .get(&(*transport, *to))
                    .is_some_and(|writer| writer.send(data.0.clone()).is_ok());
                if !delivered {
                    self.open_and_send(*transport, *to, data.0.clone());
                }
            }
            Output::M3uaSend {
                trunk,
                stream,
                data,
            } => match self.trunks.get(trunk) {
                Some(sender) => {
                    if let Err(error) = sender.send(*stream, M3UA_PPID, data.0.clone()).await {
                        tracing::warn!(trunk, %error, "M3UA send failed");
                    }
                }
                None => tracing::warn!(trunk, "M3UA message dropped: no association"),
            },
            Output::EnumQuery { id, domain } => self.enum_backend.query(*id, domain, &self.feed),
            Output::SipDnsQuery { id, name, rtype } => {
                self.sip_dns.query(*id, name, *rtype, &self.feed)
            }
            Output::Timer { .. } | Output::Log { .. } => {}
        }
    }
}
