//! SIP over WebSocket (RFC 7118): the HTTP listener (plain for WS, TLS for WSS) upgrades connections whose
//! handshake offers the `sip` subprotocol (RFC 7118 §4.1) and refuses the others with 400 (RFC 6455 §4.2.1 leaves
//! the status to the server; the request is not one tandem can serve). Every WebSocket message, text or binary,
//! is one SIP message (RFC 7118 §5.3), so no Content-Length framing is done; what is not SIP is left to the core,
//! which logs and drops it, and the connection stays up. Protocol errors and oversized messages close it.
//!
//! A WebSocket client cannot be connected to: requests toward it (an incoming call to a registered browser, a BYE)
//! must use the connection it opened, which the core names by transport and peer address like any other flow.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::sip_tls::{handshake, HANDSHAKE_TIMEOUT};
use super::sip_transport::{accept_loop, detach, StreamLimits, PONG};
use super::Feed;
use crate::events::{Input, Payload, SipTransport};

/// The WebSocket subprotocol for SIP (RFC 7118 §4.1).
pub(crate) const SUBPROTOCOL: &str = "sip";

pub(crate) async fn http_acceptor(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    feed: mpsc::UnboundedSender<Feed>,
    limits: StreamLimits,
) {
    let what = if tls.is_some() { "HTTPS" } else { "HTTP" };
    accept_loop(listener, what, move |stream, peer| {
        let (tls, feed) = (tls.clone(), feed.clone());
        async move {
            match tls {
                None => session(stream, SipTransport::Ws, peer, feed, limits).await,
                Some(acceptor) => {
                    if let Some(tls) = handshake(&acceptor, stream, peer).await {
                        session(tls, SipTransport::Wss, peer, feed, limits).await
                    }
                }
            }
        }
    })
    .await
}

/// Whether the client's `Sec-WebSocket-Protocol` list names `sip` (tokens are case-sensitive, RFC 6455 §4.1).
fn offers_sip(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .any(|token| token.trim() == SUBPROTOCOL)
}

/// The handshake callback: accept with `Sec-WebSocket-Protocol: sip`, or refuse.
#[allow(clippy::result_large_err)] // the signature is tungstenite's
fn choose_subprotocol(
    request: &Request,
    mut response: Response,
) -> Result<Response, ErrorResponse> {
    if offers_sip(request) {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
        return Ok(response);
    }
    let mut refusal = ErrorResponse::new(Some(
        "this WebSocket endpoint speaks only the \"sip\" subprotocol (RFC 7118)\n".into(),
    ));
    *refusal.status_mut() = StatusCode::BAD_REQUEST;
    Err(refusal)
}

async fn session<S>(
    stream: S,
    transport: SipTransport,
    peer: SocketAddr,
    feed: mpsc::UnboundedSender<Feed>,
    limits: StreamLimits,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = WebSocketConfig::default()
        .max_message_size(Some(limits.max_message))
        .max_frame_size(Some(limits.max_message));
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, choose_subprotocol, Some(config));
    let websocket = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(websocket)) => websocket,
        Ok(Err(error)) => {
            tracing::info!(%peer, %error, "WebSocket handshake refused or failed");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, "WebSocket handshake timed out");
            return;
        }
    };
    let (mut sink, mut frames) = websocket.split();
    let (writer, mut pending) = mpsc::unbounded_channel::<Vec<u8>>();
    let pong = writer.clone();
    let _ = feed.send(Feed::StreamAttached {
        transport,
        peer,
        writer,
    });
    let write_task = tokio::spawn(async move {
        while let Some(data) = pending.recv().await {
            // Text when it is UTF-8 (as SIP nearly always is), so browsers' SIP stacks read it as they expect.
            let message = match String::from_utf8(data) {
                Ok(text) => Message::text(text),
                Err(binary) => Message::binary(binary.into_bytes()),
            };
            if sink.send(message).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    loop {
        let data = match limits.within_idle(frames.next()).await {
            None => {
                tracing::info!(%peer, ?transport, "SIP WebSocket idle; closing");
                break;
            }
            Some(None | Some(Ok(Message::Close(_)))) => break,
            Some(Some(Err(error))) => {
                tracing::warn!(%peer, ?transport, %error, "SIP WebSocket broken; closing");
                break;
            }
            Some(Some(Ok(Message::Text(text)))) => Vec::from(text.as_str()),
            Some(Some(Ok(Message::Binary(bytes)))) => bytes.to_vec(),
            // Pings are answered by tungstenite itself.
            Some(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => continue,
        };
        // RFC 7118 §6 allows RFC 5626 CRLF keep-alives over WebSocket: a message that is exactly a double-CRLF
        // ping is answered with a CRLF pong message (what SIP.js and JsSIP send and expect); other whitespace-only
        // messages are skipped quietly. WebSocket Ping frames are answered by tungstenite.
        if data == b"\r\n\r\n" {
            let _ = pong.send(PONG.to_vec());
            continue;
        }
        if data
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        {
            continue;
        }
        let input = Input::SipReceived {
            transport,
            from: peer,
            data: Payload(data),
        };
        if feed.send(Feed::Input(input)).is_err() {
            break;
        }
    }
    // The write task ends when every sender is gone: ours first, then the core's once it sees the detach.
    drop(pong);
    detach(&feed, transport, peer, write_task).await;
}
