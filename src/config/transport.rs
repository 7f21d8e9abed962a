//! The secure and WebSocket SIP transports' configuration: `[sip.tls]` (SIP over TLS, RFC 3261 §26.2) and
//! `[http]` (the HTTP listener that upgrades to SIP over WebSocket, RFC 7118, and its TLS twin for WSS).
//! Every listener is off unless its address is given; certificate and key files are PEM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::sip::TransportKind;

/// `[sip.tls]`: SIP over TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipTlsConfig {
    /// Address to accept TLS connections on; absent: no TLS listener.
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain presented to peers (leaf first).
    pub cert: Option<PathBuf>,
    /// PEM private key of the leaf certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// PEM bundle of the roots trusted for outgoing TLS connections; absent: the system bundle
    /// (`/etc/ssl/certs/ca-certificates.crt`).
    pub ca: Option<PathBuf>,
}

/// `[http]`: the HTTP listener for WebSocket upgrades (and, later, the browser page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Plain HTTP address; upgrades to WebSocket with subprotocol `sip` carry SIP over WS. Absent: off.
    pub listen: Option<SocketAddr>,
    /// HTTPS address; upgrades carry SIP over WSS. Absent: off.
    pub tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for `tls_listen`; absent: `[sip.tls] cert`.
    pub cert: Option<PathBuf>,
    /// PEM private key for `tls_listen`; absent: `[sip.tls] key`.
    pub key: Option<PathBuf>,
}

/// A certificate chain and its key, as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

impl super::Config {
    /// The listening addresses of the TLS, WS and WSS transports that are on, for Via and Contact.
    pub fn transport_addrs(&self) -> Vec<(TransportKind, SocketAddr)> {
        [
            (TransportKind::Tls, self.sip.tls.listen),
            (TransportKind::Ws, self.http.listen),
            (TransportKind::Wss, self.http.tls_listen),
        ]
        .into_iter()
        .filter_map(|(kind, addr)| Some((kind, addr?)))
        .collect()
    }

    /// The certificate of the SIP TLS listener, when both files are configured.
    pub fn sip_tls_files(&self) -> Option<CertificateFiles> {
        Some(CertificateFiles {
            cert: self.sip.tls.cert.clone()?,
            key: self.sip.tls.key.clone()?,
        })
    }

    /// The certificate of the HTTPS (WSS) listener: `[http]`'s own, else `[sip.tls]`'s.
    pub fn https_files(&self) -> Option<CertificateFiles> {
        Some(CertificateFiles {
            cert: self
                .http
                .cert
                .clone()
                .or_else(|| self.sip.tls.cert.clone())?,
            key: self.http.key.clone().or_else(|| self.sip.tls.key.clone())?,
        })
    }

    /// Makes the certificate, key and CA paths relative to the config file's directory.
    pub(super) fn resolve_transport_paths(&mut self, base: &Path) {
        for path in [
            &mut self.sip.tls.cert,
            &mut self.sip.tls.key,
            &mut self.sip.tls.ca,
            &mut self.http.cert,
            &mut self.http.key,
        ]
        .into_iter()
        .flatten()
        {
            *path = base.join(&*path);
        }
    }
}
