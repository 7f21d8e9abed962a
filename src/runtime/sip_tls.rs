//! SIP over TLS (RFC 3261 §26.2, §18.3 framing as on TCP): loads the PEM certificate chain and key, accepts TLS
//! connections, opens outgoing ones (the peer's IP address is the name verified, since tandem resolves no names
//! here), and hands every connection to the stream server of [`super::sip_transport`]. Also builds the acceptor
//! the WSS listener ([`super::sip_ws`]) uses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::sip_transport::{accept_loop, send_failed, serve, StreamLimits};
use super::Feed;
use crate::config::CertificateFiles;
use crate::events::SipTransport;

/// A TLS handshake slower than this is abandoned (a peer cannot hold a task open by never finishing it).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Where Debian keeps the system's trusted roots, used for outgoing TLS without `[sip.tls] ca`.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Why TLS could not be set up.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A PEM file is missing, unreadable or holds nothing usable.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the certificate, key or roots.
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

fn pem_error(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if chain.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE in the file"));
    }
    Ok(chain)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The acceptor for a listener presenting `files`.
pub(crate) fn acceptor(files: &CertificateFiles) -> Result<TlsAcceptor, TlsError> {
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_error(&files.key, e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The connector for outgoing TLS, trusting the roots in `ca` (or the system bundle).
pub(crate) fn connector(ca: Option<&Path>) -> Result<TlsConnector, TlsError> {
    let path = ca.unwrap_or(Path::new(SYSTEM_ROOTS));
    let mut roots = rustls::RootCertStore::empty();
    for root in certificates(path)? {
        roots.add(root)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The server side of a TLS handshake on an accepted connection, bounded by [`HANDSHAKE_TIMEOUT`]; failures are
/// logged (a scanner or a client distrusting our certificate is no error of ours).
pub(crate) async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(error)) => {
            tracing::info!(%peer, %error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::info!(%peer, "TLS handshake timed out");
            None
        }
    }
}

pub(crate) async fn tls_acceptor(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    feed: mpsc::UnboundedSender<Feed>,
    limits: StreamLimits,
) {
    accept_loop(listener, "SIP TLS", move |stream, peer| {
        let (acceptor, feed) = (acceptor.clone(), feed.clone());
        async move {
            if let Some(tls) = handshake(&acceptor, stream, peer).await {
                let outbox = mpsc::unbounded_channel();
                serve(tls, SipTransport::Tls, peer, feed, limits, outbox).await;
            }
        }
    })
    .await
}

/// Opens a TLS connection for a message to a peer tandem has no connection with, verifying the certificate
/// against the peer's IP address, then serves it like an accepted one.
pub(crate) fn connect_and_send(
    to: SocketAddr,
    data: Vec<u8>,
    connector: TlsConnector,
    feed: mpsc::UnboundedSender<Feed>,
    limits: StreamLimits,
) {
    tokio::spawn(async move {
        let connect = async {
            let stream = TcpStream::connect(to).await?;
            connector
                .connect(ServerName::IpAddress(to.ip().into()), stream)
                .await
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, connect).await {
            Ok(Ok(tls)) => {
                let (writer, pending) = mpsc::unbounded_channel();
                let _ = writer.send(data);
                serve(tls, SipTransport::Tls, to, feed, limits, (writer, pending)).await;
            }
            Ok(Err(error)) => {
                tracing::warn!(%to, %error, "SIP TLS connect failed");
                send_failed(&feed, SipTransport::Tls, to, error.to_string());
            }
            Err(_) => {
                tracing::warn!(%to, "SIP TLS connect timed out");
                send_failed(&feed, SipTransport::Tls, to, "TLS connect timed out".into());
            }
        }
    });
}
