//! tandem's SIP side: a sans-IO SIP user agent working at B2BUA leg level (RFC 3261).
//!
//! The interworking core drives an [`Endpoint`]: it feeds datagrams (or framed TCP messages) and
//! timeouts in, and drains transmits, events and state transitions out. Parsing, serialising and
//! the RFC 3261 §17 transaction machines come from an external SIP crate that is named only
//! inside this folder (`message.rs` with `message/build.rs`, `transaction.rs`), so it can be swapped.
//!
//! Module map: [`message`] (parse/build wrapper), [`body`] (SDP and SIP-I multipart bodies),
//! [`sdp`] (RFC 4566 offer/answer subset), `transaction` (timers around the §17 machines),
//! [`dialog`] (RFC 3261 §12 dialog state), [`endpoint`] (the API), [`framing`] (TCP framing),
//! `limits` (per-source rate limit), `session_timer` (RFC 4028), `endpoint_dialog` (re-INVITE,
//! UPDATE, INFO answered locally), `endpoint_relay` (the same relayed across a B2BUA), `reliable` (RFC 3262 100rel/PRACK), [`digest`] (RFC 8760 digest authentication),
//! [`registrar`] (RFC 3261 §10 bindings), [`peers`] (OPTIONS keep-alive, trusted sources),
//! `endpoint_register` (REGISTER, the INVITE challenge and the pings inside the endpoint), `endpoint_api` (the
//! endpoint's configuration, command inputs, transmits and events), `endpoint_uas` (incoming request intake,
//! CANCEL, BYE), `endpoint_uas_invite` (a new INVITE, `respond` and the ACK of our 2xx), `endpoint_uac`
//! (outgoing INVITEs).

pub mod body;
pub mod dialog;
pub mod digest;
pub mod endpoint;
mod endpoint_api;
pub(crate) mod endpoint_dialog;
mod endpoint_register;
mod endpoint_relay;
mod endpoint_uac;
mod endpoint_uas;
mod endpoint_uas_invite;
pub mod framing;
mod limits;
mod lingering;
pub mod message;
pub mod peers;
pub mod registrar;
mod reliable;
pub mod rfc3263;
pub mod sdp;
mod session_timer;
mod transaction;
mod uac_extensions;

#[cfg(test)]
mod tests;

pub use endpoint::{
    Endpoint, EndpointConfig, OutgoingInvite, SipEvent, TerminationReason, Transmit,
};
pub use endpoint_relay::InDialogRequest;
pub use sdp::Sdp;

pub use crate::machine::Transition;

/// The transport a message arrived on or must leave by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP: the transaction layer retransmits (RFC 3261 §17.1.1.2).
    Udp,
    /// TCP: reliable; messages are framed by Content-Length (RFC 3261 §18.3).
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2): framed like TCP.
    Tls,
    /// WebSocket (RFC 7118): one message per frame; a client is reachable only on the connection it opened.
    Ws,
    /// WebSocket over TLS (RFC 7118).
    Wss,
}

impl TransportKind {
    /// The transport token as written in a Via header (RFC 3261 §20.42, RFC 7118 §5.1).
    pub fn via_token(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
            TransportKind::Ws => "WS",
            TransportKind::Wss => "WSS",
        }
    }

    /// Whether requests toward a peer that came in on this transport must use the connection (the flow) it came
    /// on rather than its Contact: a TLS peer rarely listens where its Contact says, and a WebSocket client never
    /// does (RFC 7118 §5; RFC 5923 for TLS).
    pub fn reuses_flow(self) -> bool {
        matches!(
            self,
            TransportKind::Tls | TransportKind::Ws | TransportKind::Wss
        )
    }
}

/// Whether a SIP URI carries the RFC 5626 `ob` parameter (§5.4: requests in the dialog go back on the flow the
/// dialog-forming request came on). Headers after `?` are not parameters.
pub fn has_ob_param(uri: &str) -> bool {
    let without_headers = uri.split('?').next().unwrap_or_default();
    without_headers.split(';').skip(1).any(|param| {
        param
            .split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .eq_ignore_ascii_case("ob")
    })
}

/// The transport a target URI asks for: `sips:` means TLS (RFC 3261 §26.2.2), else its `transport=` parameter
/// (`tcp`, `tls`, `ws`; `ws` under `sips:` is WSS, RFC 7118 §5.2), else UDP.
pub fn transport_of_uri(uri: &str) -> TransportKind {
    let secure = uri
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("sips:"));
    let parameter = uri
        .split('?')
        .next()
        .unwrap_or_default()
        .split(';')
        .skip(1)
        .find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("transport")
                .then(|| value.trim().to_ascii_lowercase())
        });
    match (secure, parameter.as_deref()) {
        (true, Some("ws")) => TransportKind::Wss,
        (true, _) | (false, Some("tls")) => TransportKind::Tls,
        (false, Some("tcp")) => TransportKind::Tcp,
        (false, Some("ws")) => TransportKind::Ws,
        _ => TransportKind::Udp,
    }
}

/// Identifier of one call leg (one INVITE dialog usage) handled by the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LegId(pub u64);

impl std::fmt::Display for LegId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// Errors returned to the core by the [`Endpoint`] API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    /// The leg id names no live leg.
    #[error("unknown SIP leg {0}")]
    UnknownLeg(LegId),
    /// The operation is not allowed in the leg's current state.
    #[error("{operation} not allowed on {leg} in state {state}")]
    InvalidState {
        /// The leg.
        leg: LegId,
        /// The state it is in.
        state: String,
        /// The refused operation.
        operation: &'static str,
    },
    /// The status code is out of range or unsuitable for the operation.
    #[error("invalid status code {0} for this operation")]
    InvalidStatus(u16),
    /// A URI given by the caller does not parse.
    #[error("invalid URI {uri:?}: {reason}")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What the parser said.
        reason: String,
    },
    /// A session modification is already under way on the leg (the originator gets 491, RFC 3261 §14.2).
    #[error("a modification is pending on {0}")]
    RequestPending(LegId),
    /// A header name or value given by the caller is unusable (e.g. contains CR/LF).
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader {
        /// The header name.
        name: String,
        /// What was wrong.
        reason: String,
    },
}

/// Deterministic generator for tags, branches and Call-IDs (splitmix64), seeded at construction
/// so replaying the same inputs gives the same identifiers.
#[derive(Debug, Clone)]
pub(crate) struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A lowercase hex token of 16 characters.
    pub(crate) fn token(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }
}

/// The address a `sip:`/`sips:` URI with an IP-literal host points to (port 5060 when none is given, 5061 for
/// `sips:`, RFC 3261 §19.1.2). tandem
/// resolves no names in the core (lookups are inputs, ARCHITECTURE.md rule 6), so a host name gives `None`.
pub fn socket_addr_of_uri(uri: &str) -> Option<std::net::SocketAddr> {
    let (rest, default_port) = match uri.strip_prefix("sips:") {
        Some(rest) => (rest, 5061),
        None => (uri.strip_prefix("sip:")?, 5060),
    };
    let rest = rest.split(['?']).next().unwrap_or_default();
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let hostport = hostport.split(';').next().unwrap_or_default();
    if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let ip: std::net::IpAddr = host.parse().ok()?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None => default_port,
        };
        return Some(std::net::SocketAddr::new(ip, port));
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (hostport, default_port),
    };
    Some(std::net::SocketAddr::new(host.parse().ok()?, port))
}
