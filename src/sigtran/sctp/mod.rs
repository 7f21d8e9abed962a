//! SCTP transport for M3UA (RFC 4960 associations, RFC 4666 §1.3.2 stream/PPID use): the
//! gateway's IO edge towards the signalling network.
//!
//! One async interface, two implementations picked at start-up by [`TransportKind`]:
//! - [`TransportKind::Kernel`]: Linux kernel SCTP through `sctp-rs` (one-to-one sockets);
//! - [`TransportKind::Udp`]: userspace SCTP (libusrsctp) encapsulated in UDP per RFC 6951,
//!   which talks to a kernel with `net.sctp.udp_port` set, or to another usrsctp.
//!
//! PPIDs cross this interface in host order (M3UA is 3); the implementations put them on the
//! wire in network order.

mod ffi;
mod kernel;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Deserialize;

/// Which SCTP stack carries the associations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Kernel SCTP when the host has it, otherwise UDP encapsulation.
    #[default]
    Auto,
    /// Linux kernel SCTP (`CONFIG_IP_SCTP`).
    Kernel,
    /// Userspace SCTP over UDP (RFC 6951, libusrsctp).
    Udp,
}

/// Transport settings shared by every association of the process.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SctpConfig {
    /// Which stack to use.
    pub kind: TransportKind,
    /// Local UDP port of the userspace stack (one per process; RFC 6951 §5.1).
    pub udp_local_port: u16,
    /// The peer's UDP encapsulation port (a Linux peer's `net.sctp.udp_port`).
    pub udp_remote_port: u16,
    /// Inbound and outbound streams requested in INIT (RFC 4960 §3.3.2).
    pub streams: u16,
    /// Retransmission and heartbeat parameters (kernel transport).
    pub params: AssociationParams,
    /// Further local addresses to bind besides the primary (multi-homing, kernel transport;
    /// needs a primary local address).
    pub extra_local: Vec<std::net::IpAddr>,
    /// Further addresses of the peer besides the primary (multi-homing, kernel transport): the
    /// association may fail over to them (RFC 4960 §6.4).
    pub extra_remote: Vec<std::net::IpAddr>,
}

/// SCTP association parameters (RFC 4960 §15, RFC 6458 §8.1); `None` keeps the stack's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssociationParams {
    /// RTO.Initial, ms.
    pub rto_initial_ms: Option<u32>,
    /// RTO.Min, ms.
    pub rto_min_ms: Option<u32>,
    /// RTO.Max, ms.
    pub rto_max_ms: Option<u32>,
    /// HB.interval, ms: heartbeats on idle paths.
    pub heartbeat_interval_ms: Option<u32>,
    /// Path.Max.Retrans: retransmissions before a path is declared inactive.
    pub path_max_retrans: Option<u16>,
    /// Association.Max.Retrans: retransmissions before the association is declared down.
    pub association_max_retrans: Option<u16>,
}

impl Default for SctpConfig {
    fn default() -> Self {
        Self {
            kind: TransportKind::Auto,
            udp_local_port: 9900,
            udp_remote_port: 9899,
            streams: 17,
            params: AssociationParams::default(),
            extra_local: Vec::new(),
            extra_remote: Vec::new(),
        }
    }
}

/// Errors of the SCTP transport; each names the operation and address involved.
#[derive(Debug, thiserror::Error)]
pub enum SctpError {
    /// The kernel refuses SCTP sockets.
    #[error("kernel SCTP not available (no CONFIG_IP_SCTP); use transport = \"udp\"")]
    KernelUnavailable,
    /// usrsctp already runs on another UDP port in this process.
    #[error("userspace SCTP already runs on UDP port {active} in this process; cannot also use port {requested}")]
    UdpPortMismatch {
        /// Port in the configuration.
        requested: u16,
        /// Port usrsctp was started with.
        active: u16,
    },
    /// The local UDP encapsulation port cannot be bound.
    #[error("cannot use UDP port {port} for SCTP over UDP: {source}")]
    UdpPortUnavailable {
        /// `udp_local_port` of the configuration.
        port: u16,
        /// Error binding it.
        source: std::io::Error,
    },
    /// The UDP transport handles IPv4 only.
    #[error("SCTP over UDP supports IPv4 addresses only, got {0}")]
    Ipv6Unsupported(SocketAddr),
    /// Creating or configuring a socket failed.
    #[error("SCTP {operation} failed: {source}")]
    Socket {
        /// What was attempted (e.g. "socket option SCTP_INITMSG").
        operation: &'static str,
        /// OS or usrsctp error.
        source: std::io::Error,
    },
    /// Binding the local address failed.
    #[error("SCTP bind to {local} failed: {source}")]
    Bind {
        /// The local address.
        local: SocketAddr,
        /// OS or usrsctp error.
        source: std::io::Error,
    },
    /// The association could not be established.
    #[error("SCTP connect to {remote} failed: {source}")]
    Connect {
        /// The remote address.
        remote: SocketAddr,
        /// OS or usrsctp error.
        source: std::io::Error,
    },
    /// Accepting an association failed.
    #[error("SCTP accept on {local} failed: {source}")]
    Accept {
        /// The listening address.
        local: SocketAddr,
        /// OS or usrsctp error.
        source: std::io::Error,
    },
    /// Sending a message failed.
    #[error("SCTP send to {peer} on stream {stream} failed: {source}")]
    Send {
        /// The peer.
        peer: SocketAddr,
        /// The stream used.
        stream: u16,
        /// OS or usrsctp error.
        source: std::io::Error,
    },
    /// The stream number is not below the configured stream count.
    #[error("SCTP stream {stream} out of range (association has {streams} streams)")]
    StreamOutOfRange {
        /// Stream requested.
        stream: u16,
        /// Streams configured.
        streams: u16,
    },
}

impl SctpError {
    fn socket(operation: &'static str) -> impl FnOnce(std::io::Error) -> SctpError {
        move |source| SctpError::Socket { operation, source }
    }
}

/// Whether this host's kernel accepts `socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP)`.
pub fn kernel_sctp_available() -> bool {
    ffi::kernel_sctp_socket_works()
}

/// Replaces [`TransportKind::Auto`] by the stack available here.
pub fn resolve_kind(kind: TransportKind) -> TransportKind {
    match kind {
        TransportKind::Auto if kernel_sctp_available() => TransportKind::Kernel,
        TransportKind::Auto => TransportKind::Udp,
        other => other,
    }
}

/// Establishes an association to `remote`, from `local` if given.
pub async fn connect(
    cfg: &SctpConfig,
    local: Option<SocketAddr>,
    remote: SocketAddr,
) -> Result<Association, SctpError> {
    match resolve_kind(cfg.kind) {
        TransportKind::Kernel => kernel::connect(cfg, local, remote).await,
        _ => udp::connect(cfg, local, remote).await,
    }
}

/// Listens for associations on `local`.
pub async fn listen(cfg: &SctpConfig, local: SocketAddr) -> Result<Listener, SctpError> {
    let inner = match resolve_kind(cfg.kind) {
        TransportKind::Kernel => ListenerInner::Kernel(kernel::listen(cfg, local)?),
        _ => ListenerInner::Udp(udp::listen(cfg, local)?),
    };
    Ok(Listener { inner, local })
}

/// A listening SCTP endpoint; dropping it stops listening.
pub struct Listener {
    inner: ListenerInner,
    local: SocketAddr,
}

enum ListenerInner {
    Kernel(kernel::KernelListener),
    Udp(udp::UdpListener),
}

impl Listener {
    /// Waits for the next association.
    pub async fn accept(&self) -> Result<Association, SctpError> {
        match &self.inner {
            ListenerInner::Kernel(listener) => listener.accept(self.local).await,
            ListenerInner::Udp(listener) => listener.accept(self.local).await,
        }
    }

    /// The address listened on.
    pub fn local(&self) -> SocketAddr {
        self.local
    }
}

/// One message received on an association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Stream identifier (RFC 4960 §3.3.1).
    pub stream: u16,
    /// Payload protocol identifier, host order (3 = M3UA).
    pub ppid: u32,
    /// The user message.
    pub data: Vec<u8>,
}

/// Why [`AssocReceiver::recv`] returned `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The association was shut down gracefully by either side (SHUTDOWN, RFC 4960 §9.2).
    Shutdown,
    /// The association failed (ABORT, retransmission limit, socket error).
    Failed(String),
}

/// An established association; [`Association::split`] it to send and receive concurrently.
pub struct Association {
    peer: SocketAddr,
    kind: TransportKind,
    sender: AssocSender,
    receiver: AssocReceiver,
}

impl Association {
    fn new(peer: SocketAddr, kind: TransportKind, streams: u16, link: Link) -> Self {
        let sender = AssocSender {
            link: Arc::new(SendGuard(link.clone())),
            peer,
            streams,
        };
        let receiver = AssocReceiver {
            link,
            close_reason: None,
        };
        Self {
            peer,
            kind,
            sender,
            receiver,
        }
    }

    /// The peer's primary address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The stack carrying this association ([`TransportKind::Kernel`] or [`TransportKind::Udp`]).
    pub fn kind(&self) -> TransportKind {
        self.kind
    }

    /// Separates the sending half (cloneable) from the receiving half.
    pub fn split(self) -> (AssocSender, AssocReceiver) {
        (self.sender, self.receiver)
    }
}

/// Socket shared by both halves of an association.
#[derive(Clone)]
enum Link {
    Kernel(Arc<kernel::KernelLink>),
    Udp(Arc<udp::UdpLink>),
}

impl Link {
    fn shutdown_write(&self) {
        match self {
            Link::Kernel(link) => link.shutdown(std::net::Shutdown::Write),
            Link::Udp(link) => link.shutdown(libc::SHUT_WR),
        }
    }

    fn shutdown_both(&self) {
        match self {
            Link::Kernel(link) => link.shutdown(std::net::Shutdown::Both),
            Link::Udp(link) => link.shutdown(libc::SHUT_RDWR),
        }
    }
}

/// Starts the SCTP SHUTDOWN when the last sender clone goes away.
struct SendGuard(Link);

impl Drop for SendGuard {
    fn drop(&mut self) {
        self.0.shutdown_write();
    }
}

/// Sending half of an association; clones share it. Dropping the last clone shuts the
/// association down gracefully.
#[derive(Clone)]
pub struct AssocSender {
    link: Arc<SendGuard>,
    peer: SocketAddr,
    streams: u16,
}

impl AssocSender {
    /// Sends one user message on `stream` with payload protocol identifier `ppid` (host order).
    pub async fn send(&self, stream: u16, ppid: u32, data: Vec<u8>) -> Result<(), SctpError> {
        if stream >= self.streams {
            return Err(SctpError::StreamOutOfRange {
                stream,
                streams: self.streams,
            });
        }
        let result = match &self.link.0 {
            Link::Kernel(link) => link.send(stream, ppid, data).await,
            Link::Udp(link) => link.send(stream, ppid, &data).await,
        };
        result.map_err(|source| SctpError::Send {
            peer: self.peer,
            stream,
            source,
        })
    }

    /// The peer's primary address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
}

/// Receiving half of an association. Dropping it aborts reception and shuts the association
/// down.
pub struct AssocReceiver {
    link: Link,
    close_reason: Option<CloseReason>,
}

impl AssocReceiver {
    /// The next message, or `None` once the association is closed (see
    /// [`AssocReceiver::close_reason`]). Cancel-safe: a dropped call loses no message, so it
    /// may be used in `tokio::select!`.
    pub async fn recv(&mut self) -> Option<Received> {
        if self.close_reason.is_some() {
            return None;
        }
        let outcome = match &self.link {
            Link::Kernel(link) => link.recv().await,
            Link::Udp(link) => link.recv().await,
        };
        match outcome {
            Ok(received) => Some(received),
            Err(reason) => {
                self.close_reason = Some(reason);
                None
            }
        }
    }

    /// Why the association closed, once [`AssocReceiver::recv`] has returned `None`.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }
}

impl Drop for AssocReceiver {
    fn drop(&mut self) {
        if self.close_reason.is_none() {
            self.link.shutdown_both();
        }
    }
}

#[cfg(test)]
mod tests;
