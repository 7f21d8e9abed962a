//! [`TransportKind::Kernel`](super::TransportKind::Kernel): Linux kernel SCTP through
//! `sctp-rs` one-to-one (`SOCK_STREAM`) sockets, RFC 6458.
//!
//! Sockets are opened, connected and accepted in [`ffi::kernel`](super::ffi) (for
//! `SO_RCVBUF`); `sctp-rs` then carries messages with their `sctp_sndinfo`/`sctp_rcvinfo`.
//! `sctp-rs` 0.3 copies the PPID into `sctp_sndinfo`/`sctp_rcvinfo` untouched, while the
//! kernel treats that field as already in network order: convert on both paths.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;

use sctp_rs::{
    AssocChangeState, ConnectedSocket, Event, Notification, NotificationOrData, SendData, SendInfo,
    SubscribeEventAssocId,
};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::ffi;
use super::{Association, CloseReason, Link, Received, SctpConfig, SctpError, TransportKind};

/// INIT transmissions before a connect fails (`sinit_max_attempts`).
const INIT_ATTEMPTS: u16 = 4;
/// Cap of the INIT retransmission timer, ms (`sinit_max_init_timeo`).
const INIT_MAX_TIMEOUT_MS: u16 = 2_000;
/// `SO_RCVBUF`; also sizes the advertised receiver window, so M3UA bursts are not throttled
/// by the kernel default.
const RECEIVE_BUFFER: i32 = 1 << 20;
/// Pause before retrying a send refused for a full send buffer.
const SEND_RETRY: std::time::Duration = std::time::Duration::from_millis(5);

fn new_socket(cfg: &SctpConfig, family_of: SocketAddr) -> Result<OwnedFd, SctpError> {
    let fd = new_plain_socket(cfg, family_of)?;
    ffi::kernel_set_params(&fd, &cfg.params).map_err(SctpError::socket(
        "association parameters (RTO, heartbeat, retransmissions)",
    ))?;
    Ok(fd)
}

fn new_plain_socket(cfg: &SctpConfig, family_of: SocketAddr) -> Result<OwnedFd, SctpError> {
    ffi::kernel_socket(
        family_of,
        cfg.streams,
        INIT_ATTEMPTS,
        INIT_MAX_TIMEOUT_MS,
        RECEIVE_BUFFER,
    )
    .map_err(|source| match source.raw_os_error() {
        Some(libc::EPROTONOSUPPORT | libc::ESOCKTNOSUPPORT | libc::EAFNOSUPPORT) => {
            SctpError::KernelUnavailable
        }
        _ => SctpError::Socket {
            operation: "socket",
            source,
        },
    })
}

fn make_association(fd: OwnedFd, peer: SocketAddr, streams: u16) -> Result<Association, SctpError> {
    let socket = match ConnectedSocket::from_rawfd(fd.as_raw_fd()) {
        Ok(socket) => {
            // The ConnectedSocket now owns (and closes) the descriptor.
            let _ = fd.into_raw_fd();
            socket
        }
        Err(source) => {
            return Err(SctpError::Socket {
                operation: "register with tokio",
                source,
            })
        }
    };
    socket
        .sctp_request_rcvinfo(true)
        .map_err(SctpError::socket("socket option SCTP_RECVRCVINFO"))?;
    // After a SHUTDOWN the kernel does not always wake a reader with EOF on a one-to-one
    // socket; the SCTP_ASSOC_CHANGE notification (RFC 6458 §6.1.1) always arrives.
    socket
        .sctp_subscribe_events(&[Event::Association], SubscribeEventAssocId::Future)
        .map_err(SctpError::socket("socket option SCTP_EVENT"))?;
    let link = Arc::new(KernelLink { socket });
    Ok(Association::new(
        peer,
        TransportKind::Kernel,
        streams,
        Link::Kernel(link),
    ))
}

pub(super) async fn connect(
    cfg: &SctpConfig,
    local: Option<SocketAddr>,
    remote: SocketAddr,
) -> Result<Association, SctpError> {
    let fd = new_socket(cfg, remote)?;
    if let Some(local) = local {
        ffi::kernel_bind(&fd, local).map_err(|source| SctpError::Bind { local, source })?;
        // Multi-homing: the further local addresses share the primary's port.
        let extra: Vec<SocketAddr> = cfg
            .extra_local
            .iter()
            .map(|ip| SocketAddr::new(*ip, local.port()))
            .collect();
        ffi::kernel_bindx_add(&fd, &extra).map_err(|source| SctpError::Bind { local, source })?;
    }
    let connect_error = |source| SctpError::Connect { remote, source };
    let started = if cfg.extra_remote.is_empty() {
        ffi::kernel_connect_start(&fd, remote)
    } else {
        let mut addresses = vec![remote];
        addresses.extend(
            cfg.extra_remote
                .iter()
                .map(|ip| SocketAddr::new(*ip, remote.port())),
        );
        ffi::kernel_connectx_start(&fd, &addresses)
    };
    let fd = if started.map_err(connect_error)? {
        let pending = ffi::kernel_async_fd(fd, Interest::WRITABLE).map_err(connect_error)?;
        let _ready = pending.writable().await.map_err(connect_error)?;
        let fd = pending.into_inner();
        ffi::kernel_take_error(&fd).map_err(connect_error)?;
        fd
    } else {
        fd
    };
    make_association(fd, remote, cfg.streams)
}

pub(super) fn listen(cfg: &SctpConfig, local: SocketAddr) -> Result<KernelListener, SctpError> {
    let fd = new_socket(cfg, local)?;
    ffi::kernel_bind(&fd, local).map_err(|source| SctpError::Bind { local, source })?;
    ffi::kernel_listen(&fd, 16).map_err(SctpError::socket("listen"))?;
    let fd = ffi::kernel_async_fd(fd, Interest::READABLE)
        .map_err(SctpError::socket("register with tokio"))?;
    Ok(KernelListener {
        fd,
        streams: cfg.streams,
    })
}

/// Listening kernel SCTP socket.
pub(super) struct KernelListener {
    fd: AsyncFd<OwnedFd>,
    streams: u16,
}

impl KernelListener {
    pub(super) async fn accept(&self, local: SocketAddr) -> Result<Association, SctpError> {
        let accept_error = |source| SctpError::Accept { local, source };
        loop {
            let mut ready = self.fd.readable().await.map_err(accept_error)?;
            match ffi::kernel_accept(self.fd.get_ref()) {
                Ok((fd, peer)) => {
                    let peer = peer.ok_or_else(|| {
                        accept_error(io::Error::other("peer address of unknown family"))
                    })?;
                    return make_association(fd, peer, self.streams);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
                Err(error) => return Err(accept_error(error)),
            }
        }
    }
}

/// Connected kernel socket shared by the sender and receiver halves.
pub(super) struct KernelLink {
    socket: ConnectedSocket,
}

impl KernelLink {
    pub(super) fn shutdown(&self, how: std::net::Shutdown) {
        // Best effort: the association may already be gone.
        let _ = self.socket.shutdown(how);
    }

    pub(super) async fn send(&self, stream: u16, ppid: u32, data: Vec<u8>) -> io::Result<()> {
        let info = SendInfo {
            sid: stream,
            flags: 0,
            ppid: ppid.to_be(),
            context: 0,
            assoc_id: 0,
        };
        loop {
            let message = SendData {
                payload: data.clone(),
                snd_info: Some(info.clone()),
            };
            match self.socket.sctp_send(message).await {
                // sctp-rs 0.3 does not clear the writable readiness after EAGAIN, so waiting
                // on it again would spin: back off briefly while the send buffer drains.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    tokio::time::sleep(SEND_RETRY).await;
                }
                other => return other,
            }
        }
    }

    pub(super) async fn recv(&self) -> Result<Received, CloseReason> {
        loop {
            match self.socket.sctp_recv().await {
                Ok(NotificationOrData::Data(data)) => {
                    // recvmsg() returning 0 shows up as empty data without ancillary info; SCTP
                    // never carries an empty user message, so this is the peer's SHUTDOWN.
                    if data.payload.is_empty() {
                        return Err(CloseReason::Shutdown);
                    }
                    let Some(info) = data.rcv_info else {
                        return Err(CloseReason::Failed(
                            "kernel delivered a message without sctp_rcvinfo".to_owned(),
                        ));
                    };
                    return Ok(Received {
                        stream: info.sid,
                        ppid: u32::from_be(info.ppid),
                        data: data.payload,
                    });
                }
                Ok(NotificationOrData::Notification(Notification::AssociationChange(change))) => {
                    match change.state {
                        AssocChangeState::ShutdownComplete => return Err(CloseReason::Shutdown),
                        AssocChangeState::CommLost | AssocChangeState::CannotStartAssoc => {
                            return Err(CloseReason::Failed(format!(
                                "association lost ({:?}, error {})",
                                change.state, change.error
                            )))
                        }
                        _ => continue,
                    }
                }
                Ok(NotificationOrData::Notification(_)) => continue,
                Err(error) => return Err(CloseReason::Failed(error.to_string())),
            }
        }
    }
}
