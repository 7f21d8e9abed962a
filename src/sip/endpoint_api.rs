//! The endpoint's public types: its configuration, what a command takes ([`OutgoingInvite`]) and what it gives
//! back ([`Transmit`], [`SipEvent`], [`TerminationReason`]). The machine itself is in `endpoint.rs`.

use std::net::SocketAddr;

use super::message;
use super::sdp::Sdp;
use super::{LegId, TransportKind};

/// Configuration of an [`Endpoint`].
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Our address, written into Via and Contact.
    pub local_addr: SocketAddr,
    /// User-Agent / Server header value.
    pub user_agent: String,
    /// Seed of the generator for tags, branches and Call-IDs.
    pub seed: u64,
    /// RFC 3261 T1 in milliseconds (500 by default).
    pub timer_t1_ms: u64,
    /// Max-Forwards put into our requests.
    pub max_forwards: u8,
    /// Parser limits (header count, header length, body size) for received messages.
    pub limits: message::ParseLimits,
    /// Requests per second accepted from one source IP (0: no limit); excess requests are dropped.
    pub rate_limit_per_source: u32,
    /// RFC 4028 Min-SE in seconds: smaller session intervals are refused with 422.
    pub min_session_expires_s: u32,
    /// Where tandem listens for the transports whose address differs from `local_addr` (TLS, WS, WSS), for Via
    /// sent-by and Contact; a transport not listed uses `local_addr`.
    pub transport_addrs: Vec<(TransportKind, SocketAddr)>,
    /// Digest realm of our challenges.
    pub realm: String,
    /// Users of the registrar and of INVITE authentication; none: REGISTER gets 405, INVITEs are not
    /// challenged.
    pub users: Vec<super::digest::User>,
    /// Digest algorithms offered, preferred first (SHA-256, MD5 by default).
    pub digest_algorithms: Vec<super::digest::Algorithm>,
    /// How long a nonce is accepted before `stale=true` (milliseconds).
    pub nonce_lifetime_ms: u64,
    /// Sources whose INVITEs are not challenged.
    pub trusted_peers: Vec<super::peers::TrustedSource>,
    /// Registrar limits.
    pub registrar: super::registrar::RegistrarConfig,
    /// Peers pinged with OPTIONS.
    pub peers: Vec<super::peers::PeerConfig>,
    /// Our INVITEs offer 100rel and PRACK reliable provisionals (RFC 3262 §4).
    pub uac_100rel: bool,
    /// RFC 4028 Session-Expires our INVITEs offer, in seconds (0: none).
    pub uac_session_expires_s: u32,
    /// RFC 4028 Min-SE our INVITEs carry with it.
    pub uac_min_se_s: u32,
}

impl EndpointConfig {
    /// Defaults for `local_addr`: user agent `tandem`, seed 0, T1 500 ms, Max-Forwards 70, default parser
    /// limits, no rate limit.
    pub fn new(local_addr: SocketAddr) -> Self {
        Self {
            local_addr,
            user_agent: "tandem".into(),
            seed: 0,
            timer_t1_ms: 500,
            max_forwards: 70,
            limits: message::ParseLimits::default(),
            rate_limit_per_source: 0,
            min_session_expires_s: 90,
            transport_addrs: Vec::new(),
            realm: "tandem".into(),
            users: Vec::new(),
            nonce_lifetime_ms: 300_000,
            digest_algorithms: vec![
                super::digest::Algorithm::Sha256,
                super::digest::Algorithm::Md5,
            ],
            trusted_peers: Vec::new(),
            registrar: super::registrar::RegistrarConfig::default(),
            peers: Vec::new(),
            uac_100rel: false,
            uac_session_expires_s: 0,
            uac_min_se_s: 90,
        }
    }
}

/// A datagram (or stream message) to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Transport to use.
    pub transport: TransportKind,
    /// Destination (for TCP the runtime uses/opens the connection to it).
    pub to: SocketAddr,
    /// One whole SIP message.
    pub data: Vec<u8>,
}

/// An INVITE the core wants sent toward a SIP target.
#[derive(Debug, Clone)]
pub struct OutgoingInvite {
    /// Request-URI.
    pub request_uri: String,
    /// Where to send it (the runtime resolves no names).
    pub destination: SocketAddr,
    /// Transport.
    pub transport: TransportKind,
    /// From URI (our tag is added).
    pub from_uri: String,
    /// From display name.
    pub from_display: Option<String>,
    /// To URI.
    pub to_uri: String,
    /// Extra headers (e.g. P-Asserted-Identity, Privacy, Route).
    pub extra_headers: Vec<(String, String)>,
    /// Body with its Content-Type.
    pub body: Option<(String, Vec<u8>)>,
    /// Max-Forwards (RFC 3261 §8.1.1.6) when it must be below the configured one: a SIP→SIP call carries the
    /// caller's value less one. `None`: the configured value.
    pub max_forwards: Option<u8>,
    /// The leg is one side of a SIP→SIP call: its re-INVITEs, UPDATEs and INFOs are reported
    /// ([`SipEvent::ModificationRequested`]) instead of answered (see `endpoint_relay.rs`).
    pub relay_in_dialog: bool,
}

/// Why a leg ended without a BYE from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminationReason {
    /// Timer B (INVITE) or the CANCEL guard expired with no final response.
    TransactionTimeout,
    /// The INVITE could not be delivered: the connection to the target was refused or failed (RFC 3261
    /// §17.1.4), which RFC 3261 §8.1.3.1 treats like a 503 from it.
    TransportError,
    /// Our 2xx was never acknowledged within 64·T1 (RFC 3261 §13.3.1.4); a BYE was sent.
    AckTimeout,
    /// Our BYE was answered (any final status) or timed out (Timer F).
    ByeCompleted,
    /// The outgoing INVITE was cancelled: 487 received, or a 2xx arrived anyway and was
    /// acknowledged and released with BYE.
    Cancelled,
    /// No session refresh arrived in time (RFC 4028 §10); a BYE was sent.
    SessionExpired,
}

/// What the endpoint reports to the core.
// Events are few per call and moved once; boxing the INVITE variant would only make the core's
// pattern matches noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SipEvent {
    /// A new INVITE (100 Trying already sent).
    IncomingInvite {
        /// The new leg.
        leg: LegId,
        /// Request-URI as received.
        request_uri: String,
        /// User part of a sip: Request-URI or subscriber of a tel: one ('+' kept).
        called_user: Option<String>,
        /// From URI.
        from_uri: String,
        /// User part of the From URI.
        from_user: Option<String>,
        /// From display name.
        from_display: Option<String>,
        /// First P-Asserted-Identity URI.
        p_asserted_identity: Option<String>,
        /// User part of that URI.
        pai_user: Option<String>,
        /// Privacy header value.
        privacy: Option<String>,
        /// Call-ID.
        call_id: String,
        /// The SDP offer, if any and parseable.
        sdp: Option<Sdp>,
        /// Encapsulated ISUP (single body or part of multipart/mixed).
        isup_body: Option<Vec<u8>>,
        /// All headers (name, value) in wire order.
        headers: Vec<(String, String)>,
    },
    /// CANCEL received for an unanswered incoming INVITE; 200 was sent to the CANCEL and the
    /// core is expected to `respond(leg, 487, ..)`.
    Cancelled {
        /// The leg.
        leg: LegId,
    },
    /// ACK received for our 2xx.
    Acked {
        /// The leg.
        leg: LegId,
    },
    /// BYE received and answered 200; the leg is gone.
    ByeReceived {
        /// The leg.
        leg: LegId,
    },
    /// A provisional response (>100) to our INVITE.
    Provisional {
        /// The leg.
        leg: LegId,
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// Early SDP.
        sdp: Option<Sdp>,
        /// Encapsulated ISUP.
        isup_body: Option<Vec<u8>>,
    },
    /// 2xx to our INVITE; the ACK has been queued.
    Answered {
        /// The leg.
        leg: LegId,
        /// SDP answer.
        sdp: Option<Sdp>,
        /// Encapsulated ISUP.
        isup_body: Option<Vec<u8>>,
    },
    /// Final ≥300 to our INVITE (the transaction sent the ACK); the leg is gone.
    Rejected {
        /// The leg.
        leg: LegId,
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// All headers (e.g. Reason, Retry-After).
        headers: Vec<(String, String)>,
    },
    /// The leg ended for the given reason; it is gone.
    LegTerminated {
        /// The leg.
        leg: LegId,
        /// Why.
        reason: TerminationReason,
    },
    /// A re-INVITE or UPDATE with an offer, or an INFO, arrived on a leg marked for relay; it waits for
    /// [`crate::sip::Endpoint::answer_modification`].
    ModificationRequested {
        /// The leg.
        leg: LegId,
        /// `INVITE`, `UPDATE` or `INFO`.
        method: String,
        /// Its body with the Content-Type.
        body: Option<(String, Vec<u8>)>,
        /// All its headers, in wire order (the core picks what may cross).
        headers: Vec<(String, String)>,
    },
    /// The final response to a request sent with [`crate::sip::Endpoint::modify`] (408 when it timed out).
    ModificationAnswered {
        /// The leg.
        leg: LegId,
        /// The request's method (empty after a timeout).
        method: String,
        /// Status code.
        status: u16,
        /// Its body with the Content-Type.
        body: Option<(String, Vec<u8>)>,
        /// All its headers.
        headers: Vec<(String, String)>,
    },
    /// A request failed authentication or a REGISTER was refused (it was answered 401/407/403/4xx).
    AuthFailed {
        /// Source address.
        from: SocketAddr,
        /// The request's method.
        method: String,
        /// What was wrong.
        reason: String,
    },
    /// A configured peer's keep-alive status changed.
    PeerStatus {
        /// The peer's name.
        peer: String,
        /// Its new status.
        status: super::peers::PeerStatus,
        /// Why.
        reason: String,
    },
    /// A registered binding became unreachable: the flow it can only be reached on closed (RFC 5626 §5.3).
    BindingUnreachable {
        /// The address-of-record.
        aor: String,
        /// The binding's contact URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// A datagram was dropped or answered 400.
    Malformed {
        /// Source address.
        from: SocketAddr,
        /// What was wrong.
        reason: String,
    },
}
