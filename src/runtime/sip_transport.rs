//! SIP sockets: the UDP reader, the TCP acceptor and per-connection readers (framing by Content-Length, RFC 3261
//! §18.3), and outgoing TCP connections. They only read, frame and forward to the core loop.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::Feed;
use crate::events::{Input, Payload, SipTransport};
use crate::sip::framing;

/// Largest SIP datagram accepted; larger ones cannot be valid over UDP anyway (RFC 3261 §18.1.1).
const MAX_DATAGRAM: usize = 65_535;
/// A stream peer sending more than this without completing a message is cut off.
const MAX_STREAM_BUFFER: usize = 256 * 1024;

pub(crate) async fn udp_reader(socket: Arc<UdpSocket>, feed: mpsc::UnboundedSender<Feed>) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        match socket.recv_from(&mut buffer).await {
            Ok((length, from)) => {
                let input = Input::SipReceived {
                    transport: SipTransport::Udp,
                    from,
                    data: Payload(buffer[..length].to_vec()),
                };
                if feed.send(Feed::Input(input)).is_err() {
                    return;
                }
            }
            // ICMP port unreachable from an earlier send shows up here on Linux; it is no reason to stop reading.
            Err(error) => tracing::debug!(%error, "SIP UDP receive error"),
        }
    }
}

pub(crate) async fn tcp_acceptor(listener: TcpListener, feed: mpsc::UnboundedSender<Feed>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(connection(stream, peer, feed.clone()));
            }
            Err(error) => {
                tracing::warn!(%error, "SIP TCP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Opens a connection for a message to a peer tandem has no connection with, then serves it like an accepted one.
pub(crate) fn connect_and_send(to: SocketAddr, data: Vec<u8>, feed: mpsc::UnboundedSender<Feed>) {
    tokio::spawn(async move {
        match TcpStream::connect(to).await {
            Ok(stream) => {
                let (writer, pending) = mpsc::unbounded_channel();
                let _ = writer.send(data);
                serve(stream, to, feed, writer, pending).await;
            }
            Err(error) => tracing::warn!(%to, %error, "SIP TCP connect failed"),
        }
    });
}

async fn connection(stream: TcpStream, peer: SocketAddr, feed: mpsc::UnboundedSender<Feed>) {
    let (writer, pending) = mpsc::unbounded_channel();
    serve(stream, peer, feed, writer, pending).await;
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    feed: mpsc::UnboundedSender<Feed>,
    writer: mpsc::UnboundedSender<Vec<u8>>,
    mut pending: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let _ = feed.send(Feed::TcpAttached { peer, writer });
    let (mut read_half, mut write_half) = stream.into_split();
    let write_task = tokio::spawn(async move {
        while let Some(data) = pending.recv().await {
            if write_half.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    let mut framer = framing::StreamFramer::new(MAX_STREAM_BUFFER);
    let mut chunk = vec![0u8; 16 * 1024];
    'read: loop {
        let length = match read_half.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(length) => length,
        };
        match framer.push(&chunk[..length]) {
            Ok(messages) => {
                for message in messages {
                    let input = Input::SipReceived {
                        transport: SipTransport::Tcp,
                        from: peer,
                        data: Payload(message),
                    };
                    if feed.send(Feed::Input(input)).is_err() {
                        break 'read;
                    }
                }
                if let Some(error) = framer.failed() {
                    tracing::warn!(%peer, %error, "SIP TCP stream unframeable; closing");
                    break 'read;
                }
            }
            Err(error) => {
                tracing::warn!(%peer, %error, "SIP TCP stream unframeable; closing");
                break 'read;
            }
        }
    }
    // The core answers what it was fed before it sees the detach (one ordered channel), then drops its
    // writer, which ends the write task: responses to the last requests still go out on a half-closed or
    // unframeable stream (RFC 4475 §3.1.1.8). A peer that stops reading cannot hold the task forever.
    let _ = feed.send(Feed::TcpDetached { peer });
    let abort = write_task.abort_handle();
    if tokio::time::timeout(std::time::Duration::from_secs(2), write_task)
        .await
        .is_err()
    {
        abort.abort();
    }
}
