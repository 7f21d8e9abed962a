//! Configuration, states, outputs and events of the M3UA ASP state machine
//! (RFC 4666 §4.3).

use crate::sigtran::m3ua::message::M3uaMessage;
use crate::sigtran::m3ua::parameter::ProtocolData;

/// Which end of the association this machine plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Application Server Process: sends ASPUP/ASPAC (tandem's role).
    #[default]
    Asp,
    /// Signalling Gateway Process: answers them (the simulator's role).
    Sgp,
}

/// IP Server Process exchange model (RFC 4666 §4.3.2, §5.5.2): how two IPSPs talking M3UA
/// directly, without an SG between them, bring their association into service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpspExchange {
    /// IPSP-SE: only one IPSP sends ASPUP/ASPAC/ASPIA/ASPDN ([`Role::Asp`]); the other
    /// ([`Role::Sgp`]) only acknowledges them.
    Single,
    /// IPSP-DE: both IPSPs send the requests and both acknowledge the peer's; each end keeps its
    /// own state and the peer's, and DATA flows once both are active.
    Double,
}

/// Traffic Mode Type (RFC 4666 §3.8.1 parameter 0x000b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum TrafficMode {
    /// One ASP active at a time.
    Override = 1,
    /// Traffic shared among active ASPs.
    #[default]
    Loadshare = 2,
    /// Every active ASP receives all traffic.
    Broadcast = 3,
}

/// A routing key the ASP registers dynamically with REG-REQ (RFC 4666 §3.6.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutingKeyRequest {
    /// Local Routing Key Identifier, chosen by the ASP to match the answer.
    pub local_rk_id: u32,
    /// Destination Point Code served (tandem's own point code).
    pub dpc: u32,
    /// Service Indicator (5 for ISUP), if the key is restricted to one.
    pub si: Option<u8>,
    /// Originating Point Code, if the key is restricted to one.
    pub opc: Option<u32>,
}

/// Configuration of an [`super::Asp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AspConfig {
    /// Which end this machine plays.
    pub role: Role,
    /// Identifier used in transitions (e.g. the association's name).
    pub id: String,
    /// Statically configured Routing Context (for Sgp: the one it serves).
    pub routing_context: Option<u32>,
    /// Network Appearance added to DATA and routing keys.
    pub network_appearance: Option<u32>,
    /// Traffic Mode Type requested in ASPAC and routing keys.
    pub traffic_mode: TrafficMode,
    /// ASP Identifier sent in ASPUP.
    pub asp_identifier: Option<u32>,
    /// Register this routing key (REG-REQ) before ASPAC; the REG-RSP gives
    /// the Routing Context used from then on (osmo-stp needs this).
    pub register_routing_key: Option<RoutingKeyRequest>,
    /// Send BEAT this often while the ASP is up.
    pub beat_interval_ms: Option<u64>,
    /// After this many BEATs in a row went unacknowledged, a client ASP treats the peer's M3UA
    /// as failed: it falls to Down and starts over with ASPUP (0: only report).
    pub beat_loss_threshold: u32,
    /// Retransmission interval for ASPUP, REG-REQ, ASPAC, ASPIA, ASPDN.
    pub retry_ms: u64,
    /// Outbound SCTP streams negotiated; stream 0 carries management.
    pub outbound_streams: u16,
    /// IPSP mode (RFC 4666 §4.3.2) instead of ASP ↔ SGP: no NTFY, no SSNM, no routing key
    /// management; with [`IpspExchange::Double`] the role is ignored (both ends request).
    pub ipsp: Option<IpspExchange>,
}

impl Default for AspConfig {
    fn default() -> Self {
        Self {
            role: Role::Asp,
            id: "m3ua".to_owned(),
            routing_context: None,
            network_appearance: None,
            traffic_mode: TrafficMode::Loadshare,
            asp_identifier: None,
            register_routing_key: None,
            beat_interval_ms: None,
            beat_loss_threshold: 3,
            retry_ms: 2000,
            outbound_streams: 16,
            ipsp: None,
        }
    }
}

/// ASP states of RFC 4666 §4.3.1, with the pending states between a request
/// and its acknowledgement. An Sgp only uses `Down`, `Inactive` and `Active`
/// (the peer ASP's state as the SGP sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AspState {
    /// ASP-DOWN: no SCTP association, or ASPDN acknowledged.
    Down,
    /// ASPUP sent, waiting for ASPUP-ACK.
    UpPending,
    /// ASP-INACTIVE: up but not carrying traffic.
    Inactive,
    /// REG-REQ sent, waiting for REG-RSP (RFC 4666 §4.4.1).
    RegistrationPending,
    /// ASPAC sent, waiting for ASPAC-ACK.
    ActivePending,
    /// ASP-ACTIVE: DATA may flow.
    Active,
    /// ASPIA sent, waiting for ASPIA-ACK.
    InactivePending,
    /// ASPDN sent, waiting for ASPDN-ACK.
    DownPending,
}

impl AspState {
    pub(crate) fn is_up(self) -> bool {
        !matches!(self, AspState::Down | AspState::UpPending)
    }
}

/// One SCTP user message to send (PPID 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// SCTP stream.
    pub stream: u16,
    /// Encoded M3UA message.
    pub data: Vec<u8>,
}

/// What the machine reports to its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AspEvent {
    /// The (peer, for an Sgp) ASP state changed.
    StateChanged {
        /// Previous state.
        from: AspState,
        /// New state.
        to: AspState,
    },
    /// IPSP double exchange: the peer IPSP's state as its requests move it (RFC 4666 §4.3.2).
    PeerStateChanged {
        /// Previous state.
        from: AspState,
        /// New state.
        to: AspState,
    },
    /// A DATA message's payload arrived.
    Data(ProtocolData),
    /// NTFY received (RFC 4666 §3.8.2).
    Notify {
        /// Status Type (1 AS state change, 2 other).
        status_type: u16,
        /// Status Information.
        status_info: u16,
    },
    /// The peer sent ERR with this Error Code.
    PeerError {
        /// Error Code (RFC 4666 §3.8.1).
        code: u32,
    },
    /// The peer sent something malformed or unexpected (we answered ERR
    /// where the standard asks for it), or a BEAT went unanswered.
    ProtocolError(String),
    /// REG-RSP accepted our routing key.
    Registered {
        /// Routing Context assigned by the SGP.
        routing_context: u32,
    },
    /// REG-RSP refused our routing key.
    RegistrationFailed {
        /// Registration Status (RFC 4666 §3.6.2).
        status: u32,
    },
    /// DEREG-RSP confirmed the deregistration of our routing key.
    Deregistered {
        /// The Routing Context that is gone.
        routing_context: u32,
    },
    /// DEREG-RSP refused it.
    DeregistrationFailed {
        /// Deregistration Status (RFC 4666 §3.6.4).
        status: u32,
    },
    /// An SSNM message (DUNA, DAVA, SCON, DUPU, DRST, DAUD) to act on.
    NetworkManagement(M3uaMessage),
}

pub use crate::machine::Transition;
