//! [`TransportKind::Udp`](super::TransportKind::Udp): userspace SCTP (libusrsctp) in UDP
//! datagrams, RFC 6951.
//!
//! Sockets are non-blocking; usrsctp's upcall wakes the waiting tokio task (see
//! [`ffi::Wakers`]). Only `connect` blocks, on tokio's blocking pool, bounded by the INIT
//! retransmission limits set here.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;

use super::ffi::{self, UsrSocket, MSG_NOTIFICATION};
use super::{Association, CloseReason, Link, Received, SctpConfig, SctpError, TransportKind};

/// INIT transmissions before giving up on a connect.
const INIT_ATTEMPTS: u16 = 4;
/// Cap of the INIT retransmission timer, ms.
const INIT_MAX_TIMEOUT_MS: u16 = 2_000;
/// Socket receive buffer; M3UA bursts must not be dropped by a small default.
const RECEIVE_BUFFER: i32 = 1 << 20;
/// Read chunk; larger messages are reassembled from several reads.
const READ_CHUNK: usize = 65_536;

fn start(cfg: &SctpConfig) -> Result<(), SctpError> {
    let active =
        ffi::usrsctp_start(cfg.udp_local_port).map_err(|source| SctpError::UdpPortUnavailable {
            port: cfg.udp_local_port,
            source,
        })?;
    if active != cfg.udp_local_port {
        return Err(SctpError::UdpPortMismatch {
            requested: cfg.udp_local_port,
            active,
        });
    }
    Ok(())
}

fn ipv4(address: SocketAddr) -> Result<SocketAddrV4, SctpError> {
    match address {
        SocketAddr::V4(v4) => Ok(v4),
        SocketAddr::V6(_) => Err(SctpError::Ipv6Unsupported(address)),
    }
}

fn configured_socket(cfg: &SctpConfig) -> Result<UsrSocket, SctpError> {
    let socket = UsrSocket::new_v4().map_err(SctpError::socket("socket"))?;
    socket
        .set_init(cfg.streams, INIT_ATTEMPTS, INIT_MAX_TIMEOUT_MS)
        .map_err(SctpError::socket("socket option SCTP_INITMSG"))?;
    socket
        .set_remote_udp_port(cfg.udp_remote_port)
        .map_err(SctpError::socket(
            "socket option SCTP_REMOTE_UDP_ENCAPS_PORT",
        ))?;
    prepare_for_messages(&socket)?;
    Ok(socket)
}

fn prepare_for_messages(socket: &UsrSocket) -> Result<(), SctpError> {
    socket.set_message_options().map_err(SctpError::socket(
        "socket options SCTP_RECVRCVINFO/SCTP_NODELAY",
    ))?;
    socket
        .set_receive_buffer(RECEIVE_BUFFER)
        .map_err(SctpError::socket("socket option SO_RCVBUF"))
}

fn make_association(
    socket: UsrSocket,
    peer: SocketAddr,
    streams: u16,
) -> Result<Association, SctpError> {
    socket
        .set_nonblocking(true)
        .map_err(SctpError::socket("set non-blocking"))?;
    socket
        .enable_upcall()
        .map_err(SctpError::socket("set upcall"))?;
    let link = Arc::new(UdpLink {
        socket,
        partial: tokio::sync::Mutex::new(Vec::new()),
    });
    Ok(Association::new(
        peer,
        TransportKind::Udp,
        streams,
        Link::Udp(link),
    ))
}

pub(super) async fn connect(
    cfg: &SctpConfig,
    local: Option<SocketAddr>,
    remote: SocketAddr,
) -> Result<Association, SctpError> {
    start(cfg)?;
    let remote_v4 = ipv4(remote)?;
    let socket = configured_socket(cfg)?;
    if let Some(local) = local {
        socket
            .bind(ipv4(local)?)
            .map_err(|source| SctpError::Bind { local, source })?;
    }
    let socket = tokio::task::spawn_blocking(move || socket.connect(remote_v4).map(|()| socket))
        .await
        .map_err(|join| SctpError::Connect {
            remote,
            source: io::Error::other(join.to_string()),
        })?
        .map_err(|source| SctpError::Connect { remote, source })?;
    make_association(socket, remote, cfg.streams)
}

pub(super) fn listen(cfg: &SctpConfig, local: SocketAddr) -> Result<UdpListener, SctpError> {
    start(cfg)?;
    let socket = configured_socket(cfg)?;
    socket
        .bind(ipv4(local)?)
        .map_err(|source| SctpError::Bind { local, source })?;
    socket.listen(16).map_err(SctpError::socket("listen"))?;
    socket
        .set_nonblocking(true)
        .map_err(SctpError::socket("set non-blocking"))?;
    socket
        .enable_upcall()
        .map_err(SctpError::socket("set upcall"))?;
    Ok(UdpListener {
        socket,
        streams: cfg.streams,
    })
}

/// Listening usrsctp socket.
pub(super) struct UdpListener {
    socket: UsrSocket,
    streams: u16,
}

impl UdpListener {
    pub(super) async fn accept(&self, local: SocketAddr) -> Result<Association, SctpError> {
        loop {
            match self.socket.accept() {
                Ok((socket, peer)) => {
                    prepare_for_messages(&socket)?;
                    return make_association(socket, peer, self.streams);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.socket.wakers().readable.notified().await;
                }
                Err(source) => return Err(SctpError::Accept { local, source }),
            }
        }
    }
}

/// Connected usrsctp socket shared by the sender and receiver halves.
pub(super) struct UdpLink {
    socket: UsrSocket,
    /// Bytes of a message read before its `MSG_EOR`; only the receiver touches it.
    partial: tokio::sync::Mutex<Vec<u8>>,
}

impl UdpLink {
    pub(super) fn shutdown(&self, how: i32) {
        // Best effort: the association may already be gone.
        let _ = self.socket.shutdown(how);
    }

    pub(super) async fn send(&self, stream: u16, ppid: u32, data: &[u8]) -> io::Result<()> {
        loop {
            match self.socket.send(stream, ppid, data) {
                Ok(_) => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.socket.wakers().writable.notified().await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub(super) async fn recv(&self) -> Result<Received, CloseReason> {
        let mut partial = self.partial.lock().await;
        let mut buffer = vec![0u8; READ_CHUNK];
        loop {
            match self.socket.receive(&mut buffer) {
                Ok(outcome) if outcome.length == 0 => return Err(CloseReason::Shutdown),
                Ok(outcome) => {
                    let chunk = buffer.get(..outcome.length).unwrap_or_default();
                    if outcome.flags & MSG_NOTIFICATION != 0 {
                        // No notifications are subscribed; skip any that arrive anyway.
                        continue;
                    }
                    partial.extend_from_slice(chunk);
                    if outcome.flags & libc::MSG_EOR == 0 {
                        continue;
                    }
                    let data = std::mem::take(&mut *partial);
                    let Some(stream) = outcome.stream else {
                        return Err(CloseReason::Failed(
                            "usrsctp delivered a message without sctp_rcvinfo".to_owned(),
                        ));
                    };
                    return Ok(Received {
                        stream,
                        ppid: outcome.ppid,
                        data,
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.socket.wakers().readable.notified().await;
                }
                Err(error) => return Err(CloseReason::Failed(error.to_string())),
            }
        }
    }
}
