//! A small SIP user agent for the end-to-end tests over the transports SIPp cannot speak here (TLS, WS, WSS): it
//! connects, sends requests, reads whatever tandem sends on the same connection, and runs a whole call. Reusable
//! for later steps (a REGISTER before the call): [`SipClient::request`] sends one request and returns its final
//! response. Also makes the throwaway certificate authority the TLS tests trust.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use tandem::sip::framing::StreamFramer;

/// The single-threaded runtime the client tests drive their clients on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// How long any one message may take to arrive.
const RECV_TIMEOUT: Duration = Duration::from_secs(15);

/// A certificate authority made for one test, and a server certificate it signed for 127.0.0.1, ::1 and
/// localhost. Nothing is checked in: the key lives in a temporary directory.
pub struct TestCa {
    /// Holds the files.
    pub dir: tempfile::TempDir,
    /// The server's PEM chain (leaf, then the CA).
    pub cert: PathBuf,
    /// The server's PEM key.
    pub key: PathBuf,
    /// The CA certificate as PEM (for `[sip.tls] ca`).
    pub ca_pem: PathBuf,
    /// The CA, as a client's trust anchor.
    pub ca: CertificateDer<'static>,
}

impl TestCa {
    /// Makes a fresh CA and server certificate.
    pub fn new() -> TestCa {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "tandem test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("server key");
        let params = rcgen::CertificateParams::new(vec![
            "127.0.0.1".to_string(),
            "::1".to_string(),
            "localhost".to_string(),
        ])
        .expect("server params");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = (
            dir.path().join("cert.pem"),
            dir.path().join("key.pem"),
            dir.path().join("ca.pem"),
        );
        std::fs::write(&paths.0, format!("{}{}", cert.pem(), ca_cert.pem())).expect("write cert");
        std::fs::write(&paths.1, key.serialize_pem()).expect("write key");
        std::fs::write(&paths.2, ca_cert.pem()).expect("write CA");
        TestCa {
            dir,
            cert: paths.0,
            key: paths.1,
            ca_pem: paths.2,
            ca: ca_cert.der().clone(),
        }
    }

    /// A TLS acceptor presenting the server certificate (for a test playing a TLS peer tandem dials).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        use rustls::pki_types::pem::PemObject;
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .expect("cert file")
            .collect::<Result<Vec<_>, _>>()
            .expect("cert PEM");
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&self.key).expect("key PEM");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }

    /// A TLS connector trusting only this CA.
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.clone()).expect("CA as root");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// TOML for `[sip.tls]` listening on `tls`, and `[http]` on `http` (WS) and `https` (WSS).
    pub fn config(&self, tls: SocketAddr, http: SocketAddr, https: SocketAddr) -> String {
        format!(
            "\n[sip.tls]\nlisten = \"{tls}\"\ncert = {:?}\nkey = {:?}\nca = {:?}\n\n[http]\nlisten = \"{http}\"\ntls_listen = \"{https}\"\n",
            self.cert.display().to_string(),
            self.key.display().to_string(),
            self.ca_pem.display().to_string(),
        )
    }
}

async fn tls_connect(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    connector
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
}

/// A byte stream either side of TLS.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

enum Link {
    Ws(Box<WebSocketStream<TcpStream>>),
    Wss(Box<WebSocketStream<TlsStream<TcpStream>>>),
    Tls {
        stream: Box<dyn Io>,
        framer: StreamFramer,
        ready: std::collections::VecDeque<Vec<u8>>,
    },
}

/// One connection to tandem, and the identity the client uses on it.
pub struct SipClient {
    link: Link,
    /// Via transport token: `WS`, `WSS` or `TLS`.
    pub transport: &'static str,
    /// Host written in Via and From (an `.invalid` name on WebSocket, RFC 7118 §5.2).
    pub host: String,
    /// Host and port written in Contact: the `.invalid` name on WebSocket; on TLS a port nothing listens on, as
    /// a phone's Contact names its own listener rather than the connection, so that a request tandem sends
    /// there instead of on the connection would be lost.
    pub contact_host: String,
    /// tandem's address for this transport.
    pub server: SocketAddr,
}

/// A response, or a request tandem sent to the client.
#[derive(Debug, Clone)]
pub struct SipMessage {
    /// The whole message.
    pub text: String,
}

impl SipMessage {
    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        let line = self.text.lines().next()?;
        line.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        let line = self.text.lines().next()?;
        (!line.starts_with("SIP/")).then(|| line.split(' ').next())?
    }

    /// The first value of header `name` (long form, case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers(name).into_iter().next()
    }

    /// Every value of header `name`, in order.
    pub fn headers(&self, name: &str) -> Vec<String> {
        let head = self.text.split("\r\n\r\n").next().unwrap_or_default();
        head.lines()
            .skip(1)
            .filter_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
            .collect()
    }

    /// The method named in CSeq.
    pub fn cseq_method(&self) -> Option<String> {
        self.header("CSeq")?
            .split_whitespace()
            .nth(1)
            .map(str::to_string)
    }

    /// The URI inside `<...>` of the Contact header.
    pub fn contact_uri(&self) -> Option<String> {
        let contact = self.header("Contact").or_else(|| self.header("m"))?;
        let start = contact.find('<')? + 1;
        let end = contact.find('>')?;
        contact.get(start..end).map(str::to_string)
    }

    /// The 200 for this request, echoing its Via, From, To, Call-ID and CSeq.
    pub fn ok(&self) -> String {
        self.response(200, None, &[], "")
    }

    /// A response to this request echoing Via, From, To (with `to_tag` added), Call-ID and CSeq, with `extra`
    /// header lines and `body` (typed application/sdp when not empty).
    pub fn response(
        &self,
        status: u16,
        to_tag: Option<&str>,
        extra: &[String],
        body: &str,
    ) -> String {
        let mut out = format!("SIP/2.0 {status} Whatever\r\n");
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            for value in self.headers(name) {
                match (name, to_tag) {
                    ("To", Some(tag)) => out.push_str(&format!("To: {value};tag={tag}\r\n")),
                    _ => out.push_str(&format!("{name}: {value}\r\n")),
                }
            }
        }
        for line in extra {
            out.push_str(line);
            out.push_str("\r\n");
        }
        if !body.is_empty() {
            out.push_str("Content-Type: application/sdp\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        out
    }
}

impl SipClient {
    /// Opens a WebSocket to `server` offering `subprotocol` (`sip` for a real client).
    pub async fn ws(
        server: SocketAddr,
        subprotocol: &str,
    ) -> Result<SipClient, tokio_tungstenite::tungstenite::Error> {
        let tcp = TcpStream::connect(server).await?;
        let (websocket, _) =
            tokio_tungstenite::client_async(request(server, "ws", subprotocol), tcp).await?;
        Ok(SipClient::new(Link::Ws(Box::new(websocket)), "WS", server))
    }

    /// Opens a secure WebSocket to `server`, offering `sip`.
    pub async fn wss(
        server: SocketAddr,
        connector: &tokio_rustls::TlsConnector,
    ) -> Result<SipClient, tokio_tungstenite::tungstenite::Error> {
        let tls = tls_connect(server, connector).await?;
        let (websocket, _) =
            tokio_tungstenite::client_async(request(server, "wss", "sip"), tls).await?;
        Ok(SipClient::new(
            Link::Wss(Box::new(websocket)),
            "WSS",
            server,
        ))
    }

    /// Opens a TLS connection to `server`.
    pub async fn tls(
        server: SocketAddr,
        connector: &tokio_rustls::TlsConnector,
    ) -> std::io::Result<SipClient> {
        let stream = tls_connect(server, connector).await?;
        let local = stream.get_ref().0.local_addr()?;
        let unused = std::net::TcpListener::bind(SocketAddr::new(local.ip(), 0))?.local_addr()?;
        Ok(SipClient::over_tls(Box::new(stream), server, local, unused))
    }

    /// Accepts one TLS connection on `listener`, for a test playing a TLS server (a UAS tandem dials).
    pub async fn accept_tls(
        listener: &tokio::net::TcpListener,
        acceptor: &tokio_rustls::TlsAcceptor,
    ) -> std::io::Result<SipClient> {
        let (tcp, peer) = listener.accept().await?;
        let local = tcp.local_addr()?;
        let stream = acceptor.accept(tcp).await?;
        Ok(SipClient::over_tls(Box::new(stream), peer, local, local))
    }

    fn over_tls(
        stream: Box<dyn Io>,
        server: SocketAddr,
        local: SocketAddr,
        contact: SocketAddr,
    ) -> SipClient {
        let mut client = SipClient::new(
            Link::Tls {
                stream,
                framer: StreamFramer::new(256 * 1024),
                ready: Default::default(),
            },
            "TLS",
            server,
        );
        client.host = local.to_string();
        client.contact_host = contact.to_string();
        client
    }

    fn new(link: Link, transport: &'static str, server: SocketAddr) -> SipClient {
        SipClient {
            link,
            transport,
            host: "df7jal23ls0d.invalid".into(),
            contact_host: "df7jal23ls0d.invalid".into(),
            server,
        }
    }

    /// A fresh token (branches, tags, Call-IDs), unique across every client of the test process.
    pub fn token(&mut self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        format!(
            "{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The Via of a new request.
    pub fn via(&mut self) -> String {
        let branch = self.token();
        format!(
            "SIP/2.0/{} {};branch=z9hG4bK{branch};rport",
            self.transport, self.host
        )
    }

    /// Sends raw bytes as one message (one WebSocket text frame, or bytes on the TLS stream).
    pub async fn send_raw(&mut self, data: &[u8]) {
        match &mut self.link {
            Link::Ws(ws) => ws.send(frame(data)).await.expect("WS send"),
            Link::Wss(ws) => ws.send(frame(data)).await.expect("WSS send"),
            Link::Tls { stream, .. } => stream.write_all(data).await.expect("TLS send"),
        }
    }

    /// Sends one SIP message.
    pub async fn send(&mut self, text: &str) {
        self.send_raw(text.as_bytes()).await;
    }

    /// The next SIP message from tandem, or `None` when the connection closed or nothing came in time.
    pub async fn recv(&mut self) -> Option<SipMessage> {
        tokio::time::timeout(RECV_TIMEOUT, self.next_message())
            .await
            .ok()
            .flatten()
    }

    /// Whether tandem closes the connection within `within` (messages before the close are skipped); `false`
    /// when it is still open then.
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let closed = async { while self.next_message().await.is_some() {} };
        tokio::time::timeout(within, closed).await.is_ok()
    }

    /// The next SIP message; `None` once the connection is closed (or broken).
    async fn next_message(&mut self) -> Option<SipMessage> {
        loop {
            let data = match &mut self.link {
                Link::Ws(ws) => message_bytes(ws.next().await?)?,
                Link::Wss(ws) => message_bytes(ws.next().await?)?,
                Link::Tls {
                    stream,
                    framer,
                    ready,
                } => {
                    while ready.is_empty() {
                        let mut chunk = vec![0u8; 16 * 1024];
                        let length = stream.read(&mut chunk).await.ok()?;
                        if length == 0 {
                            return None;
                        }
                        ready.extend(framer.push(&chunk[..length]).ok()?);
                    }
                    ready.pop_front()
                }
            };
            if let Some(data) = data {
                return Some(SipMessage {
                    text: String::from_utf8_lossy(&data).into_owned(),
                });
            }
        }
    }

    /// Sends `text` (a request) and returns every response to it up to the final one; panics if none comes.
    pub async fn request(&mut self, text: &str) -> Vec<SipMessage> {
        let method = text.split(' ').next().unwrap_or_default().to_string();
        self.send(text).await;
        let mut responses = Vec::new();
        loop {
            let message = self
                .recv()
                .await
                .unwrap_or_else(|| panic!("no final response to {method}; got {responses:?}"));
            if message.status().is_some() && message.cseq_method().as_deref() == Some(&method) {
                let done = message.status().is_some_and(|s| s >= 200);
                responses.push(message);
                if done {
                    return responses;
                }
            }
        }
    }

    /// An out-of-dialog OPTIONS to tandem; returns the final status.
    pub async fn options(&mut self) -> u16 {
        let (via, call_id, tag) = (self.via(), self.token(), self.token());
        let text = format!(
            "OPTIONS sip:{server} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@{host}>;tag={tag}\r\nTo: <sip:{server}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            server = self.server,
            host = self.host,
        );
        let responses = self.request(&text).await;
        responses.last().and_then(SipMessage::status).unwrap_or(0)
    }
}

fn request(
    server: SocketAddr,
    scheme: &str,
    subprotocol: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("{scheme}://{server}/")
        .into_client_request()
        .expect("WebSocket request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(subprotocol).expect("header value"),
    );
    request
}

fn frame(data: &[u8]) -> Message {
    match std::str::from_utf8(data) {
        Ok(text) => Message::text(text),
        Err(_) => Message::binary(data.to_vec()),
    }
}

/// `None`: the connection is over; `Some(None)`: a control frame, read on.
fn message_bytes(
    message: Result<Message, tokio_tungstenite::tungstenite::Error>,
) -> Option<Option<Vec<u8>>> {
    match message.ok()? {
        Message::Text(text) => Some(Some(text.as_str().as_bytes().to_vec())),
        Message::Binary(bytes) => Some(Some(bytes.to_vec())),
        Message::Close(_) => None,
        _ => Some(None),
    }
}

/// One call's dialog as the client sees it.
pub struct Call {
    /// Call-ID.
    pub call_id: String,
    /// From header (with our tag).
    pub from: String,
    /// To header (with tandem's tag, once answered).
    pub to: String,
    /// Where in-dialog requests go: tandem's Contact.
    pub target: String,
    /// Statuses received for the INVITE, in order.
    pub invite_statuses: Vec<u16>,
    /// Next CSeq number.
    pub cseq: u32,
}

/// The SDP offer the client sends (and, as a server, answers with).
pub const SDP_OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

impl SipClient {
    /// Sends an INVITE for `number` and reads up to its final response; ACKs a 2xx. The caller is 4930123456.
    pub async fn invite(&mut self, number: &str) -> Call {
        let (via, call_id, tag) = (self.via(), self.token(), self.token());
        let contact_transport = if self.transport == "TLS" { "tls" } else { "ws" };
        let from = format!("<sip:4930123456@{}>;tag={tag}", self.host);
        let text = format!(
            "INVITE sip:{number}@{server} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: <sip:{number}@{server}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:4930123456@{contact_host};transport={contact_transport}>\r\nContent-Type: application/sdp\r\nContent-Length: {length}\r\n\r\n{SDP_OFFER}",
            server = self.server,
            contact_host = self.contact_host,
            length = SDP_OFFER.len(),
        );
        let responses = self.request(&text).await;
        let last = responses.last().expect("a final response");
        let mut call = Call {
            call_id,
            from,
            to: last.header("To").unwrap_or_default(),
            target: last
                .contact_uri()
                .unwrap_or_else(|| format!("sip:{number}@{}", self.server)),
            invite_statuses: responses.iter().filter_map(SipMessage::status).collect(),
            cseq: 2,
        };
        if last.status().is_some_and(|s| (200..300).contains(&s)) {
            let ack = self.in_dialog(&call, "ACK", 1);
            self.send(&ack).await;
        }
        call.cseq = 2;
        call
    }

    /// A request inside `call` (no body).
    pub fn in_dialog(&mut self, call: &Call, method: &str, cseq: u32) -> String {
        let via = self.via();
        format!(
            "{method} {target} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            target = call.target,
            from = call.from,
            to = call.to,
            call_id = call.call_id,
        )
    }

    /// Hangs up `call` with BYE; returns the BYE's final status.
    pub async fn bye(&mut self, call: &mut Call) -> u16 {
        let bye = self.in_dialog(call, "BYE", call.cseq);
        call.cseq += 1;
        let responses = self.request(&bye).await;
        responses.last().and_then(SipMessage::status).unwrap_or(0)
    }

    /// Waits for tandem's next request (skipping stray responses), answers it 200 and returns it.
    pub async fn answer_next_request(&mut self) -> SipMessage {
        loop {
            let message = self.recv().await.expect("a request from tandem");
            if message.method().is_some() {
                let ok = message.ok();
                self.send(&ok).await;
                return message;
            }
        }
    }
}
