//! SIP sockets: the UDP reader, the TCP acceptor and per-connection readers (framing by Content-Length, RFC 3261
//! §18.3), and outgoing TCP connections. They only read, frame and forward to the core loop. TLS
//! ([`super::sip_tls`]) reuses the stream half of this module; WebSocket ([`super::sip_ws`]) has its own framing.
//!
//! A connection is known to the core as its transport plus the peer's address (the flow, RFC 5626 §3): the core
//! sees it as the source of what arrives and names it as the destination of what must leave on it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::Feed;
use crate::events::{Input, Payload, SipTransport};
use crate::sip::framing;

/// Largest SIP datagram accepted; larger ones cannot be valid over UDP anyway (RFC 3261 §18.1.1).
const MAX_DATAGRAM: usize = 65_535;
/// The RFC 5626 §4.4.1 answer to a double-CRLF ping on a connection.
pub(crate) const PONG: &[u8] = b"\r\n";
/// How long a closing connection may take to write out the last responses.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// What every stream connection (TCP, TLS, WebSocket) is held to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamLimits {
    /// Close the connection after this long with nothing received; `None`: never.
    pub idle: Option<Duration>,
    /// Largest message (or header section plus body) accepted.
    pub max_message: usize,
}

impl StreamLimits {
    pub(crate) fn from_config(config: &crate::config::SipConfig) -> Self {
        StreamLimits {
            idle: (config.idle_timeout_ms > 0)
                .then(|| Duration::from_millis(config.idle_timeout_ms)),
            max_message: config.max_message_bytes,
        }
    }

    /// Waits for `read` at most the idle time; `None` when it ran out.
    pub(crate) async fn within_idle<T>(
        &self,
        read: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        match self.idle {
            Some(idle) => tokio::time::timeout(idle, read).await.ok(),
            None => Some(read.await),
        }
    }
}

/// A buffer that holds the largest SIP datagram.
pub(crate) fn datagram_buffer() -> Vec<u8> {
    vec![0u8; MAX_DATAGRAM]
}

/// Takes the next datagram that is already waiting on the SIP UDP socket, without waiting: the core loop drains
/// the socket itself after a readiness wake-up, so a burst of datagrams costs one wake-up and no hand-off between
/// threads. `Err` with `WouldBlock` when none is left.
pub(crate) fn try_receive_udp(socket: &UdpSocket, buffer: &mut [u8]) -> std::io::Result<Input> {
    let (length, from) = socket.try_recv_from(buffer)?;
    Ok(Input::SipReceived {
        transport: SipTransport::Udp,
        from,
        data: Payload(buffer.get(..length).unwrap_or_default().to_vec()),
    })
}

/// Accepts connections on `listener` for ever and spawns `serve_one` for each.
pub(crate) async fn accept_loop<F, Fut>(listener: TcpListener, what: &'static str, mut serve_one: F)
where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(serve_one(stream, peer));
            }
            Err(error) => {
                tracing::warn!(%error, what, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

pub(crate) async fn tcp_acceptor(
    listener: TcpListener,
    feed: mpsc::UnboundedSender<Feed>,
    limits: StreamLimits,
) {
    accept_loop(listener, "SIP TCP", move |stream, peer| {
        serve(
            stream,
            SipTransport::Tcp,
            peer,
            feed.clone(),
            limits,
            mpsc::unbounded_channel(),
        )
    })
    .await
}

/// Opens a connection for a message to a peer tandem has no connection with, then serves it like an accepted one.
pub(crate) fn connect_and_send(
    to: SocketAddr,
    data: Vec<u8>,
    feed: mpsc::UnboundedSender<Feed>,
    limits: StreamLimits,
) {
    tokio::spawn(async move {
        match TcpStream::connect(to).await {
            Ok(stream) => {
                let (writer, pending) = mpsc::unbounded_channel();
                let _ = writer.send(data);
                serve(
                    stream,
                    SipTransport::Tcp,
                    to,
                    feed,
                    limits,
                    (writer, pending),
                )
                .await;
            }
            Err(error) => {
                tracing::warn!(%to, %error, "SIP TCP connect failed");
                send_failed(&feed, SipTransport::Tcp, to, error.to_string());
            }
        }
    });
}

/// Tells the core (as a recorded input) that a message to `to` could not be delivered, so the transaction that
/// sent it fails over now rather than at its timeout (RFC 3261 §17.1.4).
pub(crate) fn send_failed(
    feed: &mpsc::UnboundedSender<Feed>,
    transport: SipTransport,
    to: SocketAddr,
    reason: String,
) {
    let _ = feed.send(Feed::Input(Input::SipSendFailed {
        transport,
        to,
        reason,
    }));
}

/// The writer the core sends through, and the queue the connection's write task drains.
pub(crate) type Outbox = (
    mpsc::UnboundedSender<Vec<u8>>,
    mpsc::UnboundedReceiver<Vec<u8>>,
);

/// Serves one framed stream connection (TCP or TLS) until the peer closes it, it stays idle too long, or its bytes
/// stop being SIP.
pub(crate) async fn serve<S>(
    stream: S,
    transport: SipTransport,
    peer: SocketAddr,
    feed: mpsc::UnboundedSender<Feed>,
    limits: StreamLimits,
    (writer, mut pending): Outbox,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    // RFC 5626 §4.4.1 pongs go out here, not through the core: they change no state (like WebSocket pongs).
    let pong = writer.clone();
    let _ = feed.send(Feed::StreamAttached {
        transport,
        peer,
        writer,
    });
    let (mut read_half, mut write_half) = tokio::io::split(stream);
    let write_task = tokio::spawn(async move {
        while let Some(data) = pending.recv().await {
            if write_half.write_all(&data).await.is_err() {
                break;
            }
        }
        let _ = write_half.shutdown().await;
    });
    let mut framer = framing::StreamFramer::new(limits.max_message);
    let mut chunk = vec![0u8; 16 * 1024];
    'read: loop {
        let length = match limits.within_idle(read_half.read(&mut chunk)).await {
            None => {
                tracing::info!(%peer, ?transport, "SIP connection idle; closing");
                break;
            }
            Some(Ok(0) | Err(_)) => break,
            Some(Ok(length)) => length,
        };
        let framed = framer.push(chunk.get(..length).unwrap_or_default());
        for _ in 0..framer.take_pings() {
            let _ = pong.send(PONG.to_vec());
        }
        match framed {
            Ok(messages) => {
                for message in messages {
                    let input = Input::SipReceived {
                        transport,
                        from: peer,
                        data: Payload(message),
                    };
                    if feed.send(Feed::Input(input)).is_err() {
                        break 'read;
                    }
                }
                if let Some(error) = framer.failed() {
                    tracing::warn!(%peer, ?transport, %error, "SIP stream unframeable; closing");
                    break 'read;
                }
            }
            Err(error) => {
                tracing::warn!(%peer, ?transport, %error, "SIP stream unframeable; closing");
                break 'read;
            }
        }
    }
    // The write task ends when every sender is gone: ours first, then the core's once it sees the detach.
    drop(pong);
    detach(&feed, transport, peer, write_task).await;
}

/// Tells the core a connection is gone and lets its write task finish. The core answers what it was fed before it
/// sees the detach (one ordered channel), then drops its writer, which ends the write task: responses to the last
/// requests still go out on a half-closed or unframeable stream (RFC 4475 §3.1.1.8). A peer that stops reading
/// cannot hold the task forever.
pub(crate) async fn detach(
    feed: &mpsc::UnboundedSender<Feed>,
    transport: SipTransport,
    peer: SocketAddr,
    write_task: tokio::task::JoinHandle<()>,
) {
    let _ = feed.send(Feed::StreamDetached { transport, peer });
    let abort = write_task.abort_handle();
    if tokio::time::timeout(DRAIN_TIMEOUT, write_task)
        .await
        .is_err()
    {
        abort.abort();
    }
}
