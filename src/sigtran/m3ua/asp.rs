//! The ASP state machine of RFC 4666 §4.3, sans-IO, for both ends of an
//! M3UA association.
//!
//! [`Role::Asp`] is the client (tandem toward an STP/SG): ASPUP → (REG-REQ →
//! REG-RSP, RFC 4666 §4.4) → ASPAC → ASP-ACTIVE, retransmitting each request
//! every `retry_ms` until acknowledged. [`Role::Sgp`] is the server side
//! used by the bundled SS7 exchange simulator: it acknowledges ASPSM/ASPTM
//! requests, assigns Routing Contexts on registration and tracks the peer
//! ASP's state. With [`AspConfig::ipsp`] the two ends are IPSPs (RFC 4666
//! §4.3.2, `ipsp.rs`): single exchange keeps the two roles, double exchange
//! runs both at once. Time enters as `now_ms`; nothing here touches a socket or a
//! clock. After every `handle_*` call drain `poll_transmit`, `poll_event`
//! and `poll_transition`, then arm a timer for `poll_timeout`.

use std::collections::VecDeque;

use super::error::{error_code, AspError};
use super::message::{M3uaMessage, MessageClass, MessageType};
use super::parameter::{Parameter, PointCodeEntry, ProtocolData};

pub use types::{
    AspConfig, AspEvent, AspState, IpspExchange, Role, RoutingKeyRequest, TrafficMode, Transition,
    Transmit,
};

/// NTFY Status Type "AS State Change" (RFC 4666 §3.8.2).
pub const STATUS_TYPE_AS_STATE_CHANGE: u16 = 1;
/// NTFY Status Type "Other".
pub const STATUS_TYPE_OTHER: u16 = 2;
/// Status Information AS-INACTIVE (for status type 1).
pub const STATUS_AS_INACTIVE: u16 = 2;
/// Status Information AS-ACTIVE (for status type 1).
pub const STATUS_AS_ACTIVE: u16 = 3;
/// Status Information AS-PENDING (for status type 1).
pub const STATUS_AS_PENDING: u16 = 4;
/// Status Information "Insufficient ASP Resources Active in AS" (type 2).
pub const STATUS_OTHER_INSUFFICIENT_ASP_RESOURCES: u16 = 1;
/// Status Information "Alternate ASP Active" (type 2).
pub const STATUS_OTHER_ALTERNATE_ASP_ACTIVE: u16 = 2;
/// Status Information "ASP Failure" (type 2).
pub const STATUS_OTHER_ASP_FAILURE: u16 = 3;

/// Bytes of an offending message copied into ERR's Diagnostic Information
/// (RFC 4666 §3.8.1 suggests the first 40).
const DIAGNOSTIC_BYTES: usize = 40;

/// The ASP (or SGP) state machine. Groups of methods: getters (`state`,
/// `active_routing_context`), inputs (`handle_*`), requests (`send_data`,
/// `request_inactive`, `request_down`), outputs (`poll_*`).
#[derive(Debug, Clone)]
pub struct Asp {
    config: AspConfig,
    state: AspState,
    sctp_up: bool,
    /// State the client drives toward (RFC 4666 §4.3.4 procedures).
    target: AspState,
    active_routing_context: Option<u32>,
    registered_routing_context: Option<u32>,
    /// Routing Contexts handed out by an Sgp.
    assigned_routing_contexts: Vec<u32>,
    /// An Sgp's answer to DAUD: SCON at this level, or DAVA.
    audit_congestion: Option<u8>,
    retry_at: Option<u64>,
    beat_at: Option<u64>,
    beat_sequence: u64,
    beat_outstanding: bool,
    /// BEATs in a row that went unacknowledged.
    beats_missed: u32,
    /// DEREG-REQ sent, DEREG-RSP awaited.
    deregistering: bool,
    /// IPSP double exchange: the acknowledging half, which follows the peer IPSP's requests.
    peer: Option<Box<Asp>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<AspEvent>,
    transitions: VecDeque<Transition>,
}

impl Asp {
    /// A machine in `AspState::Down`, waiting for `handle_sctp_up`.
    pub fn new(config: AspConfig) -> Self {
        let mut config = config;
        if config.ipsp == Some(IpspExchange::Double) {
            // Both IPSPs request in double exchange; the boxed half acknowledges.
            config.role = Role::Asp;
        }
        let peer = ipsp::peer_half(&config).map(Box::new);
        Self {
            config,
            state: AspState::Down,
            sctp_up: false,
            target: AspState::Active,
            active_routing_context: None,
            registered_routing_context: None,
            assigned_routing_contexts: Vec::new(),
            audit_congestion: None,
            retry_at: None,
            beat_at: None,
            beat_sequence: 0,
            beat_outstanding: false,
            beats_missed: 0,
            deregistering: false,
            peer,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            transitions: VecDeque::new(),
        }
    }

    /// Current state.
    pub fn state(&self) -> AspState {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &AspConfig {
        &self.config
    }

    /// Routing Context used for DATA (registered, or configured).
    pub fn active_routing_context(&self) -> Option<u32> {
        self.active_routing_context
    }

    /// The SCTP association came up: an Asp sends ASPUP (RFC 4666 §4.3.4.1).
    pub fn handle_sctp_up(&mut self, now_ms: u64) {
        self.sctp_up = true;
        if let Some(peer) = &mut self.peer {
            peer.handle_sctp_up(now_ms);
        }
        if self.config.role == Role::Asp && self.target != AspState::Down {
            self.send_step(now_ms, "SCTP association up");
        }
    }

    /// The SCTP association went down: every state falls to Down.
    pub fn handle_sctp_down(&mut self, now_ms: u64) {
        self.sctp_up = false;
        self.transmits.clear();
        self.retry_at = None;
        self.set_state(AspState::Down, "SCTP association down", now_ms);
        if let Some(peer) = &mut self.peer {
            peer.handle_sctp_down(now_ms);
        }
        self.absorb_peer();
    }

    /// Asks an active client ASP to go inactive (ASPIA, RFC 4666 §4.3.4.4).
    pub fn request_inactive(&mut self, now_ms: u64) -> Result<(), AspError> {
        self.require_client("ASPIA")?;
        self.target = AspState::Inactive;
        if matches!(self.state, AspState::Active | AspState::ActivePending) {
            self.send_step(now_ms, "ASPIA requested");
        }
        Ok(())
    }

    /// Asks a client ASP to become active again after `request_inactive`
    /// (ASPAC, RFC 4666 §4.3.4.3); ASPUP first if needed.
    pub fn request_active(&mut self, now_ms: u64) -> Result<(), AspError> {
        self.require_client("ASPAC")?;
        self.target = AspState::Active;
        if self.sctp_up && !matches!(self.state, AspState::Active) {
            self.send_step(now_ms, "ASPAC requested");
        }
        Ok(())
    }

    /// Asks a client ASP to go down (ASPDN, RFC 4666 §4.3.4.2).
    pub fn request_down(&mut self, now_ms: u64) -> Result<(), AspError> {
        self.require_client("ASPDN")?;
        self.target = AspState::Down;
        if self.sctp_up && self.state != AspState::Down {
            self.send_step(now_ms, "ASPDN requested");
        }
        Ok(())
    }

    /// Sends a DATA message (RFC 4666 §3.3.1), adding Routing Context and
    /// Network Appearance; the stream follows the SLS so that one signalling
    /// relation keeps its order.
    pub fn send_data(&mut self, protocol_data: ProtocolData) -> Result<(), AspError> {
        if !self.can_send_data() {
            return Err(AspError::NotActive { state: self.state });
        }
        // The Protocol Data TLV length (16 bits) also covers its 4-byte
        // header and the 12-byte routing label.
        if protocol_data.user_data.len() > usize::from(u16::MAX) - 16 {
            return Err(AspError::DataTooLarge {
                length: protocol_data.user_data.len(),
            });
        }
        let mut parameters = Vec::with_capacity(3);
        if let Some(na) = self.config.network_appearance {
            parameters.push(Parameter::NetworkAppearance(na));
        }
        if let Some(rc) = self.active_routing_context {
            parameters.push(Parameter::RoutingContext(vec![rc]));
        }
        let stream = match self.config.outbound_streams {
            0 | 1 => 0,
            streams => 1 + u16::from(protocol_data.sls) % (streams - 1),
        };
        parameters.push(Parameter::ProtocolData(protocol_data));
        let message = M3uaMessage::new(MessageType::Data, parameters);
        self.transmits.push_back(Transmit {
            stream,
            data: message.encode(),
        });
        Ok(())
    }

    /// Sends DAUD for these destinations (RFC 4666 §3.4.3): the SGP answers with DAVA, DUNA, DRST
    /// or SCON for each. Only an active client audits.
    pub fn send_audit(&mut self, point_codes: Vec<PointCodeEntry>) -> Result<(), AspError> {
        self.require_client("DAUD")?;
        if self.state != AspState::Active {
            return Err(AspError::NotActive { state: self.state });
        }
        let mut parameters = self.routing_context_parameter();
        parameters.push(Parameter::AffectedPointCode(point_codes));
        self.send(MessageType::DestinationStateAudit, parameters);
        Ok(())
    }

    /// Next message to send on the association.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for the user.
    pub fn poll_event(&mut self) -> Option<AspEvent> {
        self.events.pop_front()
    }

    /// Next state transition, for the event log.
    pub fn poll_transition(&mut self) -> Option<Transition> {
        self.transitions.pop_front()
    }

    /// When `handle_timeout` must be called next.
    pub fn poll_timeout(&self) -> Option<u64> {
        match (self.retry_at, self.beat_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Retransmits pending requests and sends BEAT when due.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.retry_at.is_some_and(|at| at <= now_ms) {
            self.retry_at = None;
            self.send_step(now_ms, "retransmission timer expired");
        }
        if self.beat_at.is_some_and(|at| at <= now_ms) {
            if self.beat_outstanding {
                self.beats_missed = self.beats_missed.saturating_add(1);
                self.events.push_back(AspEvent::ProtocolError(format!(
                    "BEAT-ACK not received before the next BEAT ({} in a row)",
                    self.beats_missed
                )));
                let threshold = self.config.beat_loss_threshold;
                if self.config.role == Role::Asp && threshold > 0 && self.beats_missed >= threshold
                {
                    // RFC 4666 §4.3.4.6 leaves the reaction to BEAT loss to the implementation: the peer's M3UA
                    // is treated as failed and the ASP starts over, as after an SCTP restart.
                    self.transmits.clear();
                    self.retry_at = None;
                    self.set_state(AspState::Down, "BEAT not acknowledged", now_ms);
                    self.send_step(now_ms, "re-establishing after BEAT loss");
                    return;
                }
            }
            self.beat_sequence = self.beat_sequence.wrapping_add(1);
            self.beat_outstanding = true;
            let data = self.beat_sequence.to_be_bytes().to_vec();
            self.send(MessageType::Heartbeat, vec![Parameter::HeartbeatData(data)]);
            self.beat_at = self.config.beat_interval_ms.map(|i| now_ms + i.max(1));
        }
    }

    /// One SCTP user message arrived on `stream`.
    pub fn handle_bytes(&mut self, stream: u16, data: &[u8], now_ms: u64) {
        let message = match M3uaMessage::decode(data) {
            Ok(message) => message,
            Err(error) => {
                // Never answer an ERR with an ERR: two confused peers would loop.
                let is_err = data.get(2..4) == Some(&[0, 0]);
                if let (Some(code), false) = (error.error_code(), is_err) {
                    let diagnostic = data.get(..DIAGNOSTIC_BYTES).unwrap_or(data).to_vec();
                    self.send_error(code, Some(diagnostic));
                }
                self.events.push_back(AspEvent::ProtocolError(format!(
                    "malformed message on stream {stream}: {error}"
                )));
                return;
            }
        };
        if self.config.ipsp.is_some() && self.handle_ipsp(&message, stream, data, now_ms) {
            return;
        }
        match message.message_type.class() {
            MessageClass::Management => self.handle_management(&message, now_ms),
            MessageClass::AspStateMaintenance if message.message_type == MessageType::Heartbeat => {
                let echo = message.heartbeat_data().map(<[u8]>::to_vec);
                let parameters = echo.map(Parameter::HeartbeatData).into_iter().collect();
                self.send(MessageType::HeartbeatAck, parameters);
            }
            MessageClass::AspStateMaintenance
                if message.message_type == MessageType::HeartbeatAck =>
            {
                self.beat_outstanding = false;
                self.beats_missed = 0;
            }
            _ => match self.config.role {
                Role::Asp => self.handle_as_asp(&message, now_ms),
                Role::Sgp => self.handle_as_sgp(&message, now_ms),
            },
        }
    }

    fn handle_management(&mut self, message: &M3uaMessage, now_ms: u64) {
        if message.message_type == MessageType::Error {
            let code = message.error_code().unwrap_or_default();
            self.events.push_back(AspEvent::PeerError { code });
        } else if let Some((status_type, status_info)) = message.status() {
            self.events.push_back(AspEvent::Notify {
                status_type,
                status_info,
            });
            // RFC 4666 §4.3.4.3: in override mode another ASP took over, so
            // this one is inactive; `request_active` takes it back.
            let displaced = (status_type, status_info)
                == (STATUS_TYPE_OTHER, STATUS_OTHER_ALTERNATE_ASP_ACTIVE);
            if displaced && self.config.role == Role::Asp && self.state == AspState::Active {
                self.target = AspState::Inactive;
                self.set_state(AspState::Inactive, "NTFY alternate ASP active", now_ms);
            }
        }
    }

    fn handle_as_asp(&mut self, message: &M3uaMessage, now_ms: u64) {
        use AspState as S;
        use MessageType as T;
        match (message.message_type, self.state) {
            (T::AspUpAck, S::UpPending) => {
                self.set_state(S::Inactive, "ASPUP-ACK received", now_ms);
                self.retry_at = None;
                if self.target == S::Active {
                    self.send_step(now_ms, "ASP up, activating");
                }
            }
            (T::RegistrationResponse, S::RegistrationPending) => {
                self.handle_registration_response(message, now_ms)
            }
            (T::DeregistrationResponse, state) if state.is_up() && self.deregistering => {
                self.handle_deregistration_response(message)
            }
            (T::AspActiveAck, S::ActivePending) => {
                self.retry_at = None;
                self.set_state(S::Active, "ASPAC-ACK received", now_ms);
            }
            (T::AspInactiveAck, S::InactivePending) => {
                self.retry_at = None;
                self.set_state(S::Inactive, "ASPIA-ACK received", now_ms);
                if self.target == S::Active {
                    self.send_step(now_ms, "activation requested meanwhile");
                }
            }
            (T::AspInactiveAck, S::Active | S::ActivePending) => {
                // The SGP deactivated us (RFC 4666 §4.3.4.4); try again later.
                self.set_state(S::Inactive, "unsolicited ASPIA-ACK", now_ms);
                self.retry_at = Some(now_ms + self.config.retry_ms);
            }
            (T::AspDownAck, S::DownPending) => {
                self.retry_at = None;
                self.set_state(S::Down, "ASPDN-ACK received", now_ms);
                if self.target != S::Down {
                    self.send_step(now_ms, "ASP up requested meanwhile");
                }
            }
            (T::AspDownAck, _) => {
                self.set_state(S::Down, "unsolicited ASPDN-ACK", now_ms);
                self.retry_at = Some(now_ms + self.config.retry_ms);
            }
            (T::Data, state) if state.is_up() => self.deliver_data(message),
            (t, _) if t.class() == MessageClass::SignallingNetworkManagement => {
                self.events
                    .push_back(AspEvent::NetworkManagement(message.clone()));
            }
            // Late duplicates of acknowledgements we already acted on.
            (T::AspUpAck | T::AspActiveAck | T::AspInactiveAck | T::RegistrationResponse, _) => {}
            (t, state) => self.unexpected(t, state),
        }
    }

    fn deliver_data(&mut self, message: &M3uaMessage) {
        if let (Some(contexts), Some(ours)) =
            (message.routing_context(), self.active_routing_context)
        {
            if !contexts.contains(&ours) {
                self.send_error(error_code::INVALID_ROUTING_CONTEXT, None);
                return;
            }
        }
        if let Some(data) = message.protocol_data() {
            self.events.push_back(AspEvent::Data(data.clone()));
        }
    }

    fn unexpected(&mut self, message_type: MessageType, state: AspState) {
        self.send_error(error_code::UNEXPECTED_MESSAGE, None);
        self.events.push_back(AspEvent::ProtocolError(format!(
            "unexpected {} in state {state:?}",
            message_type.name()
        )));
    }

    /// Sends the request that moves a client toward its target, or
    /// retransmits the one pending (RFC 4666 §4.3.4).
    fn send_step(&mut self, now_ms: u64, reason: &str) {
        use AspState as S;
        if self.config.role != Role::Asp || !self.sctp_up {
            return;
        }
        let (message_type, next) = match (self.state, self.target) {
            (S::Down | S::UpPending, S::Active | S::Inactive) => (MessageType::AspUp, S::UpPending),
            (S::Down, S::Down) => return,
            (_, S::Down) => (MessageType::AspDown, S::DownPending),
            (S::Inactive | S::RegistrationPending, S::Active)
                if self.config.register_routing_key.is_some()
                    && self.registered_routing_context.is_none() =>
            {
                (MessageType::RegistrationRequest, S::RegistrationPending)
            }
            (S::Inactive | S::ActivePending | S::RegistrationPending, S::Active) => {
                (MessageType::AspActive, S::ActivePending)
            }
            (S::Active | S::ActivePending | S::InactivePending, S::Inactive) => {
                (MessageType::AspInactive, S::InactivePending)
            }
            _ => return,
        };
        let parameters = self.request_parameters(message_type);
        self.send(message_type, parameters);
        self.set_state(next, reason, now_ms);
        self.retry_at = Some(now_ms + self.config.retry_ms.max(1));
    }

    fn request_parameters(&mut self, message_type: MessageType) -> Vec<Parameter> {
        match message_type {
            MessageType::AspUp => self.asp_identifier_parameter(),
            MessageType::RegistrationRequest => self
                .config
                .register_routing_key
                .as_ref()
                .map(|key| vec![self.routing_key_parameter(key)])
                .unwrap_or_default(),
            MessageType::AspActive => {
                self.active_routing_context = self
                    .registered_routing_context
                    .or(self.config.routing_context);
                let mut parameters =
                    vec![Parameter::TrafficModeType(self.config.traffic_mode as u32)];
                parameters.extend(self.routing_context_parameter());
                parameters
            }
            MessageType::AspInactive => self.routing_context_parameter(),
            _ => Vec::new(),
        }
    }

    fn routing_key_parameter(&self, key: &RoutingKeyRequest) -> Parameter {
        let mut inner = vec![
            Parameter::LocalRoutingKeyIdentifier(key.local_rk_id),
            Parameter::TrafficModeType(self.config.traffic_mode as u32),
            Parameter::DestinationPointCode(PointCodeEntry::exact(key.dpc)),
        ];
        if let Some(na) = self.config.network_appearance {
            inner.push(Parameter::NetworkAppearance(na));
        }
        if let Some(si) = key.si {
            inner.push(Parameter::ServiceIndicators(vec![si]));
        }
        if let Some(opc) = key.opc {
            inner.push(Parameter::OriginatingPointCodeList(vec![
                PointCodeEntry::exact(opc),
            ]));
        }
        Parameter::RoutingKey(inner)
    }

    fn asp_identifier_parameter(&self) -> Vec<Parameter> {
        self.config
            .asp_identifier
            .map(Parameter::AspIdentifier)
            .into_iter()
            .collect()
    }

    fn routing_context_parameter(&self) -> Vec<Parameter> {
        self.active_routing_context
            .map(|rc| Parameter::RoutingContext(vec![rc]))
            .into_iter()
            .collect()
    }

    fn notify(&mut self, status_info: u16) {
        if self.config.ipsp.is_some() {
            // NTFY reports an Application Server's state; between IPSPs there is none to report.
            return;
        }
        let mut parameters = vec![Parameter::Status {
            status_type: STATUS_TYPE_AS_STATE_CHANGE,
            status_info,
        }];
        parameters.extend(self.routing_context_parameter());
        self.send(MessageType::Notify, parameters);
    }

    fn send_error(&mut self, code: u32, diagnostic: Option<Vec<u8>>) {
        let mut parameters = vec![Parameter::ErrorCode(code)];
        parameters.extend(diagnostic.map(Parameter::DiagnosticInformation));
        self.send(MessageType::Error, parameters);
    }

    /// Queues a non-DATA message; management uses stream 0 (RFC 4666 §1.4.7).
    fn send(&mut self, message_type: MessageType, parameters: Vec<Parameter>) {
        let data = M3uaMessage::new(message_type, parameters).encode();
        self.transmits.push_back(Transmit { stream: 0, data });
    }

    fn require_client(&self, request: &'static str) -> Result<(), AspError> {
        if self.config.role == Role::Asp {
            Ok(())
        } else {
            Err(AspError::InvalidState {
                request,
                state: self.state,
            })
        }
    }

    /// The one door for state changes: records the transition, reports the
    /// event and (re)arms the heartbeat.
    fn set_state(&mut self, to: AspState, reason: &str, now_ms: u64) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        if to == AspState::Down {
            self.beat_at = None;
            self.beat_outstanding = false;
            self.beats_missed = 0;
            // An SGP drops dynamically registered keys of an ASP that went
            // down (RFC 4666 §4.4.2), so both ends forget them.
            self.registered_routing_context = None;
            self.deregistering = false;
            self.assigned_routing_contexts.clear();
            if self.config.role == Role::Sgp {
                self.active_routing_context = None;
            }
        } else if to.is_up() && self.beat_at.is_none() {
            self.beat_at = self.config.beat_interval_ms.map(|i| now_ms + i.max(1));
        }
        self.transitions.push_back(Transition {
            machine: match (self.config.role, self.config.ipsp) {
                (Role::Asp, _) => "m3ua_asp",
                (Role::Sgp, None) => "m3ua_sgp",
                (Role::Sgp, Some(_)) => "m3ua_ipsp_peer",
            },
            id: self.config.id.clone(),
            from: format!("{from:?}"),
            to: format!("{to:?}"),
            reason: reason.to_owned(),
        });
        self.events.push_back(AspEvent::StateChanged { from, to });
    }
}

mod ipsp;
mod rkm;
mod sgp;
#[cfg(test)]
mod tests;
mod types;
