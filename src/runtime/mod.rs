//! The tokio edge: owns the SIP sockets, the SCTP associations, the clock and the event log, and drives the
//! sans-IO [`Gateway`](crate::gateway::Gateway) through a [`Driver`] on one task. IO tasks only read, frame and
//! forward; the order in which the core loop takes their inputs is the log order, which is what makes replay exact
//! (ARCHITECTURE.md, rule 7).

mod clock;
mod enum_backend;
mod reload;
mod sctp_link;
mod setup;
mod sip_dns;
mod sip_transport;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub use clock::Clock;
pub use setup::{build_setup, SetupError};

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
    /// A TCP connection for SIP is up; write to the peer through this.
    TcpAttached {
        peer: SocketAddr,
        writer: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// A TCP connection for SIP closed.
    TcpDetached { peer: SocketAddr },
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
    on_bound(Bound {
        sip_udp: udp_addr,
        sip_tcp: tcp_addr,
    });

    let (feed, mut inputs) = mpsc::unbounded_channel::<Feed>();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(sip_transport::udp_reader(udp.clone(), feed.clone()));
    tasks.spawn(sip_transport::tcp_acceptor(tcp, feed.clone()));
    for trunk in &config.trunks {
        tasks.spawn(sctp_link::supervise(trunk.clone(), feed.clone()));
    }
    tasks.spawn(reload::watch(config.clone(), feed.clone()));

    let mut state = LoopState {
        writer,
        udp,
        feed: feed.clone(),
        trunks: HashMap::new(),
        tcp: HashMap::new(),
        events: 0,
        enum_backend,
        sip_dns,
    };
    state.dispatch(start_events).await;
    tokio::pin!(shutdown);
    loop {
        let deadline = driver.poll_timeout().map(|at| clock.instant_of(at));
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            feed = inputs.recv() => match feed {
                Some(Feed::Input(input)) => {
                    let events = driver.feed(input, clock.now_ms());
                    state.dispatch(events).await;
                }
                Some(Feed::SctpAttached { trunk, sender }) => { state.trunks.insert(trunk, sender); }
                Some(Feed::SctpDetached { trunk }) => { state.trunks.remove(&trunk); }
                Some(Feed::TcpAttached { peer, writer }) => { state.tcp.insert(peer, writer); }
                Some(Feed::TcpDetached { peer }) => { state.tcp.remove(&peer); }
                None => break,
            },
            _ = sleep => {
                let events = driver.feed(Input::Timeout, clock.now_ms());
                state.dispatch(events).await;
            }
        }
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

struct LoopState {
    writer: EventWriter,
    udp: Arc<UdpSocket>,
    feed: mpsc::UnboundedSender<Feed>,
    trunks: HashMap<String, AssocSender>,
    tcp: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>,
    events: u64,
    enum_backend: enum_backend::EnumBackend,
    sip_dns: sip_dns::SipDns,
}

impl LoopState {
    /// Logs every event and carries out the outputs among them, in order.
    async fn dispatch(&mut self, events: Vec<Event>) {
        for event in events {
            if let EventKind::Output(output) = &event.kind {
                if let Output::Log { level, message } = output {
                    let call = event.call.as_deref().unwrap_or("-");
                    match level {
                        LogLevel::Info => tracing::info!(call, "{message}"),
                        LogLevel::Warn => tracing::warn!(call, "{message}"),
                        LogLevel::Error => tracing::error!(call, "{message}"),
                    }
                }
                self.carry_out(output).await;
            }
            self.events += 1;
            if let Err(error) = self.writer.append(event) {
                tracing::error!(%error, "event not logged");
            }
        }
    }

    async fn carry_out(&mut self, output: &Output) {
        match output {
            Output::SipSend {
                transport: SipTransport::Udp,
                to,
                data,
            } => {
                if let Err(error) = self.udp.send_to(&data.0, to).await {
                    tracing::warn!(%to, %error, "SIP UDP send failed");
                }
            }
            Output::SipSend {
                transport: SipTransport::Tcp,
                to,
                data,
            } => {
                let delivered = self
                    .tcp
                    .get(to)
                    .is_some_and(|writer| writer.send(data.0.clone()).is_ok());
                if !delivered {
                    sip_transport::connect_and_send(*to, data.0.clone(), self.feed.clone());
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
