//! The SIP endpoint: a sans-IO user agent at B2BUA leg level (RFC 3261 §8, §12–§17).
//!
//! # Driving it
//! Feed inputs with [`Endpoint::handle_datagram`] (one UDP datagram, or one message framed from
//! TCP by [`crate::sip::framing::StreamFramer`]) and [`Endpoint::handle_timeout`]; call the
//! commands ([`Endpoint::invite`], [`Endpoint::respond`], [`Endpoint::bye`],
//! [`Endpoint::cancel`]); after every input or command drain [`Endpoint::poll_transmit`],
//! [`Endpoint::poll_event`] and [`Endpoint::poll_transition`], then arm one timer at
//! [`Endpoint::poll_timeout`]. Time is `now_ms` on the runtime's clock; tags, branches and
//! Call-IDs come from `EndpointConfig::seed`, so the same inputs give the same outputs.
//!
//! # Where responses go (RFC 3261 §18.2.2, simplified)
//! On TCP a response goes back to the source address (the runtime maps it to the connection).
//! On UDP: if the top Via has `rport` (RFC 3581), to the source address and port; otherwise to
//! the source IP (the implied `received`) and the Via sent-by port (default 5060). `maddr` is
//! ignored. No names are ever resolved: in-dialog requests go to an IP-literal first route or
//! remote target, else to the peer's source/destination address.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

use super::dialog::{Dialog, DialogId};
use super::limits::{RateLimiter, Verdict};
use super::message::{self, Method, Request};
use super::transaction::{self, Transaction, TxKey, TxOutput};
use super::{IdGenerator, LegId, SipError, Transition, TransportKind};

pub use super::endpoint_api::{
    EndpointConfig, OutgoingInvite, SipEvent, TerminationReason, Transmit,
};

/// State of a leg (one INVITE dialog usage), as recorded in transitions (`sip.leg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegState {
    /// UAC: INVITE sent, nothing heard.
    Calling,
    /// UAS: INVITE received, no final response yet. UAC: provisional received.
    Proceeding,
    /// UAC: CANCEL requested (sent, or waiting for a provisional before sending it).
    Cancelling,
    /// 2xx to an INVITE or re-INVITE sent, waiting for ACK (RFC 3261 §13.3.1.4).
    Answered,
    /// Dialog confirmed.
    Confirmed,
    /// Our BYE is outstanding.
    Terminating,
    /// Over (the leg is removed right after this transition).
    Terminated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Uas,
    Uac,
}

#[derive(Debug)]
pub(super) struct Leg {
    pub(super) role: Role,
    pub(super) state: LegState,
    pub(super) transport: TransportKind,
    /// UAS: where the INVITE came from; UAC: where it was sent.
    pub(super) peer: SocketAddr,
    /// UAS: where responses go (RFC 3261 §18.2.2).
    pub(super) response_to: SocketAddr,
    pub(super) local_tag: String,
    pub(super) invite_tx: u64,
    /// UAS: the received INVITE; UAC: the sent INVITE.
    pub(super) invite: Request,
    pub(super) dialog: Option<Dialog>,
    pub(super) trying_sent: bool,
    /// Our latest 2xx to an (re-)INVITE, retransmitted until ACK; its SDP is our current one.
    pub(super) final_2xx: Option<Vec<u8>>,
    pub(super) retransmit_at: Option<u64>,
    pub(super) retransmit_interval: u64,
    pub(super) ack_deadline: Option<u64>,
    pub(super) bye_after_ack: bool,
    /// UAC: a provisional arrived, so CANCEL may be sent (RFC 3261 §9.1).
    pub(super) provisional_seen: bool,
    pub(super) cancel_sent: bool,
    pub(super) cancel_deadline: Option<u64>,
    /// UAC: our ACK for the 2xx, re-sent on 2xx retransmission.
    pub(super) ack_2xx: Option<Vec<u8>>,
    /// Our 2xx to a re-INVITE awaits its ACK (in `final_2xx`, state `Answered`).
    pub(super) reinvite_pending: bool,
    /// RFC 4028 session interval in seconds, when a session timer runs.
    pub(super) session_interval_s: Option<u32>,
    /// When to send BYE if no refresh arrives (RFC 4028 §10).
    pub(super) session_deadline: Option<u64>,
    /// RFC 3262 state when the caller uses 100rel.
    pub(super) reliable: Option<super::reliable::Reliable>,
    /// Outgoing legs: early dialogs, PRACKs and our session refreshes.
    pub(super) uac: super::uac_extensions::UacExtensions,
    /// Session modifications relayed to the other leg of a SIP→SIP call.
    pub(super) relay: super::endpoint_relay::RelayState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Invite,
    Bye,
    Cancel,
    /// An OPTIONS ping to the peer with this index.
    KeepAlive(usize),
    /// Our session refresh (RFC 4028 UPDATE, or re-INVITE when the peer does not allow UPDATE).
    Refresh,
    /// A re-INVITE, UPDATE or INFO of the peer, held until the other leg of the B2BUA answers it.
    Held,
    /// A re-INVITE, UPDATE (`offer`) or INFO we send on behalf of the other leg of the B2BUA.
    Relayed {
        /// A re-INVITE or UPDATE: its end frees the leg for the next offer.
        offer: bool,
    },
    Other,
}

#[derive(Debug)]
pub(super) struct TxEntry {
    pub(super) tx: Transaction,
    pub(super) leg: Option<LegId>,
    pub(super) purpose: Purpose,
    pub(super) transport: TransportKind,
    pub(super) destination: SocketAddr,
    pub(super) is_server: bool,
}

/// The SIP user agent. See the module documentation for the driving loop.
#[derive(Debug)]
pub struct Endpoint {
    pub(super) cfg: EndpointConfig,
    pub(super) ids: IdGenerator,
    pub(super) timers: transaction::TxTimers,
    pub(super) legs: BTreeMap<LegId, Leg>,
    pub(super) next_leg: u64,
    /// Boxed: an entry is about 1 KB, and a B-tree node holds eleven inline whether or not they are used; with
    /// ids inserted in order and ended transactions lingering for up to 32 s, boxing cut the endpoint's memory
    /// (and the kernel's page zeroing as it grows) noticeably under load.
    pub(super) txs: BTreeMap<u64, Box<TxEntry>>,
    /// Transactions with a running timer, by their next deadline, and the deadline each is filed under:
    /// ended transactions linger for Timers I/J/K (up to 32 s), so under load there are tens of thousands and
    /// scanning them on every input dominated the gateway's time.
    pub(super) tx_deadlines: std::collections::BTreeSet<(u64, u64)>,
    pub(super) tx_filed: HashMap<u64, u64>,
    /// Legs by their next deadline, like the transactions: scanning every leg on each input (to answer
    /// `poll_timeout`) was most of tandem's time at 1,500 SIP→SIP calls/s. `dirty_legs` lists the legs
    /// touched since the index was last brought up to date ([`Endpoint::refile_legs`]).
    pub(super) leg_deadlines: std::collections::BTreeSet<(u64, LegId)>,
    pub(super) leg_filed: HashMap<LegId, u64>,
    pub(super) dirty_legs: Vec<LegId>,
    pub(super) next_tx: u64,
    pub(super) server_index: HashMap<TxKey, u64>,
    pub(super) client_index: HashMap<TxKey, u64>,
    pub(super) dialogs: HashMap<DialogId, LegId>,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<SipEvent>,
    pub(super) transitions: VecDeque<Transition>,
    pub(super) limiter: RateLimiter,
    pub(super) auth: super::digest::Authenticator,
    pub(super) registrar: super::registrar::Registrar,
    pub(super) peers: Vec<super::peers::Peer>,
}

/// How much state the endpoint holds: what an operator (or a leak test) looks at to tell lingering RFC 3261 state
/// from state that is never freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointLoad {
    /// Legs (call sides) not yet ended.
    pub legs: usize,
    /// Transactions, including ended ones absorbing retransmissions (Timers D, I, J, K; RFC 6026 L, M).
    pub transactions: usize,
    /// Dialogs reachable by their identifiers.
    pub dialogs: usize,
    /// Entries of the transaction matching indexes and deadline tables (these must shrink with the above).
    pub index_entries: usize,
}

impl Endpoint {
    /// How much state the endpoint holds now.
    pub fn load(&self) -> EndpointLoad {
        EndpointLoad {
            legs: self.legs.len(),
            transactions: self.txs.len(),
            dialogs: self.dialogs.len(),
            index_entries: self.server_index.len()
                + self.client_index.len()
                + self.tx_deadlines.len()
                + self.tx_filed.len()
                + self.leg_deadlines.len()
                + self.leg_filed.len(),
        }
    }

    /// A new endpoint.
    pub fn new(cfg: EndpointConfig) -> Self {
        Self {
            ids: IdGenerator::new(cfg.seed),
            limiter: RateLimiter::new(cfg.rate_limit_per_source),
            auth: super::digest::Authenticator::new(
                &cfg.realm,
                cfg.users.clone(),
                cfg.seed,
                cfg.nonce_lifetime_ms,
            )
            .with_algorithms(&cfg.digest_algorithms),
            registrar: super::registrar::Registrar::new(cfg.registrar),
            peers: cfg
                .peers
                .iter()
                .cloned()
                .map(super::peers::Peer::new)
                .collect(),
            timers: transaction::timers(cfg.timer_t1_ms),
            cfg,
            legs: BTreeMap::new(),
            next_leg: 1,
            txs: BTreeMap::new(),
            tx_deadlines: std::collections::BTreeSet::new(),
            tx_filed: HashMap::new(),
            leg_deadlines: std::collections::BTreeSet::new(),
            leg_filed: HashMap::new(),
            dirty_legs: Vec::new(),
            next_tx: 1,
            server_index: HashMap::new(),
            client_index: HashMap::new(),
            dialogs: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            transitions: VecDeque::new(),
        }
    }

    /// Number of live legs (for tests and metrics).
    pub fn leg_count(&self) -> usize {
        self.legs.len()
    }

    /// Number of live transactions (for tests and metrics).
    pub fn transaction_count(&self) -> usize {
        self.txs.len()
    }

    /// One received message (a UDP datagram, or one framed TCP message).
    pub fn handle_datagram(
        &mut self,
        transport: TransportKind,
        from: SocketAddr,
        data: &[u8],
        now_ms: u64,
    ) {
        self.datagram(transport, from, data, now_ms);
        self.refile_legs();
    }

    fn datagram(&mut self, transport: TransportKind, from: SocketAddr, data: &[u8], now_ms: u64) {
        // Responses are not limited: they only match transactions we started.
        if !data.starts_with(b"SIP/") {
            match self.limiter.check(from.ip(), now_ms) {
                Verdict::Allow => {}
                Verdict::Refuse => return,
                Verdict::RefuseFirst => {
                    self.events.push_back(SipEvent::Malformed {
                        from,
                        reason: "request rate limit exceeded; dropping until it falls".into(),
                    });
                    return;
                }
            }
        }
        match message::parse_with(data, &self.cfg.limits) {
            Ok(message::Message::Request(request)) => {
                self.handle_request(transport, from, request, now_ms)
            }
            Ok(message::Message::Response(response)) => {
                self.handle_response(from, response, now_ms)
            }
            Err(error) => {
                if let Some((bytes, via)) = message::salvage_bad_request(data, &error.reason) {
                    let to = salvaged_destination(transport, from, &via);
                    self.send(transport, to, bytes);
                }
                self.events.push_back(SipEvent::Malformed {
                    from,
                    reason: error.reason,
                });
            }
        }
    }

    /// Advance time: fire every due transaction and leg timer.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        // Bounded: each round removes or pushes a due deadline; zero-length timers (reliable
        // transports) become due in the same call.
        for _ in 0..10_000 {
            self.refile_legs();
            let due_tx = self
                .tx_deadlines
                .first()
                .filter(|(at, _)| *at <= now_ms)
                .map(|(_, id)| *id);
            if let Some(id) = due_tx {
                let out = self
                    .txs
                    .get_mut(&id)
                    .and_then(|e| e.tx.fire_due(now_ms, &mut self.transitions));
                self.file_tx_deadline(id);
                if let Some(out) = out {
                    self.dispatch(id, out, now_ms);
                }
                continue;
            }
            let due_leg = self
                .leg_deadlines
                .first()
                .filter(|(at, _)| *at <= now_ms)
                .map(|(_, id)| *id);
            match due_leg {
                Some(leg) => self.fire_leg_timer(leg, now_ms),
                None => break,
            }
        }
        self.registrar_and_peer_timers(now_ms);
        self.refile_legs();
    }

    /// Files every leg touched since the last call under its current next deadline (or removes it).
    pub(super) fn refile_legs(&mut self) {
        for leg in std::mem::take(&mut self.dirty_legs) {
            if let Some(at) = self.leg_filed.remove(&leg) {
                self.leg_deadlines.remove(&(at, leg));
            }
            if let Some(at) = self.legs.get(&leg).and_then(leg_deadline) {
                self.leg_deadlines.insert((at, leg));
                self.leg_filed.insert(leg, at);
            }
        }
    }

    /// The earliest instant `handle_timeout` must be called at.
    pub fn poll_timeout(&self) -> Option<u64> {
        let tx = self.tx_deadlines.first().map(|(at, _)| *at);
        let leg = self.leg_deadlines.first().map(|(at, _)| *at);
        [tx, leg, self.registrar_and_peer_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for the core.
    pub fn poll_event(&mut self) -> Option<SipEvent> {
        self.events.pop_front()
    }

    /// Next recorded state transition.
    pub fn poll_transition(&mut self) -> Option<Transition> {
        self.transitions
            .pop_front()
            .or_else(|| self.registrar.poll_transition())
    }

    pub(super) fn send(&mut self, transport: TransportKind, to: SocketAddr, data: Vec<u8>) {
        self.transmits.push_back(Transmit {
            transport,
            to,
            data,
        });
    }

    pub(super) fn invalid_state(&self, leg: LegId, operation: &'static str) -> SipError {
        match self.legs.get(&leg) {
            Some(l) => SipError::InvalidState {
                leg,
                state: format!("{:?}", l.state),
                operation,
            },
            None => SipError::UnknownLeg(leg),
        }
    }

    /// The one door for leg state changes: records the transition; a terminated leg is removed
    /// together with its dialog index entry.
    pub(super) fn set_leg_state(&mut self, leg: LegId, to: LegState, reason: &str) {
        let Some(entry) = touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        let from = entry.state;
        if from == to {
            return;
        }
        entry.state = to;
        self.transitions.push_back(Transition {
            machine: "sip.leg",
            id: leg.to_string(),
            from: format!("{from:?}"),
            to: format!("{to:?}"),
            reason: reason.to_string(),
        });
        if to == LegState::Terminated {
            if let Some(removed) = self.legs.remove(&leg) {
                if let Some(dialog) = removed.dialog {
                    self.dialogs.remove(&dialog.id);
                }
            }
        }
    }

    pub(super) fn terminate_leg(&mut self, leg: LegId, reason: TerminationReason, why: &str) {
        if self.legs.contains_key(&leg) {
            self.set_leg_state(leg, LegState::Terminated, why);
            self.events
                .push_back(SipEvent::LegTerminated { leg, reason });
        }
    }

    pub(super) fn new_tx_id(&mut self) -> u64 {
        let id = self.next_tx;
        self.next_tx += 1;
        id
    }

    /// Files transaction `id` in the deadline index under its current next deadline (or removes it).
    pub(super) fn file_tx_deadline(&mut self, id: u64) {
        if let Some(at) = self.tx_filed.remove(&id) {
            self.tx_deadlines.remove(&(at, id));
        }
        if let Some(at) = self.txs.get(&id).and_then(|e| e.tx.next_deadline()) {
            self.tx_deadlines.insert((at, id));
            self.tx_filed.insert(id, at);
        }
    }

    /// Register a transaction and perform its first outputs.
    pub(super) fn insert_tx(&mut self, id: u64, entry: TxEntry, out: TxOutput, now_ms: u64) {
        let key = entry.tx.key.clone();
        if entry.is_server {
            self.server_index.insert(key, id);
        } else {
            self.client_index.insert(key, id);
        }
        self.txs.insert(id, Box::new(entry));
        self.dispatch(id, out, now_ms);
    }

    /// Perform a transaction's outputs: send its messages, hand its events to the leg logic and
    /// drop it when it is over.
    pub(super) fn dispatch(&mut self, id: u64, out: TxOutput, now_ms: u64) {
        // Every change to a transaction ends here, so this keeps the deadline index in step.
        self.file_tx_deadline(id);
        let Some(entry) = self.txs.get(&id) else {
            return;
        };
        let (transport, destination, leg, purpose) =
            (entry.transport, entry.destination, entry.leg, entry.purpose);
        for data in out.send {
            self.send(transport, destination, data);
        }
        if out.terminated {
            if let Some(entry) = self.txs.remove(&id) {
                let index = if entry.is_server {
                    &mut self.server_index
                } else {
                    &mut self.client_index
                };
                if index.get(&entry.tx.key) == Some(&id) {
                    index.remove(&entry.tx.key);
                }
            }
            self.file_tx_deadline(id);
        }
        for event in out.events {
            self.handle_tx_event(leg, purpose, event, now_ms);
        }
    }

    fn fire_leg_timer(&mut self, leg: LegId, now_ms: u64) {
        let Some(l) = touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        if l.session_deadline.is_some_and(|at| at <= now_ms) {
            l.session_deadline = None;
            l.retransmit_at = None;
            l.ack_deadline = None;
            self.send_bye(leg, now_ms);
            self.terminate_leg(
                leg,
                TerminationReason::SessionExpired,
                "session timer expired",
            );
        } else if l.uac.refresh_at.is_some_and(|at| at <= now_ms) {
            self.send_refresh(leg, now_ms);
        } else if let Some(data) = l.reliable.as_mut().and_then(|r| r.on_timer(now_ms)) {
            // RFC 3262 §3: the reliable provisional again, until PRACK.
            let (transport, to) = (l.transport, l.response_to);
            self.send(transport, to, data);
        } else if l.ack_deadline.is_some_and(|at| at <= now_ms) {
            l.ack_deadline = None;
            l.retransmit_at = None;
            self.ack_timeout(leg, now_ms);
        } else if l.retransmit_at.is_some_and(|at| at <= now_ms) {
            // RFC 3261 §13.3.1.4: 2xx retransmitted at T1, doubling up to T2, until ACK.
            l.retransmit_interval = l.retransmit_interval.saturating_mul(2).min(4000);
            l.retransmit_at = Some(now_ms.saturating_add(l.retransmit_interval));
            let data = l.final_2xx.clone();
            let (transport, to) = (l.transport, l.response_to);
            if let Some(data) = data {
                self.send(transport, to, data);
            }
        } else if l.cancel_deadline.is_some_and(|at| at <= now_ms) {
            l.cancel_deadline = None;
            self.terminate_leg(
                leg,
                TerminationReason::TransactionTimeout,
                "no final response 64*T1 after CANCEL",
            );
        }
    }

    /// Via header for a request we originate, with a fresh branch.
    pub(super) fn new_via(&mut self, transport: TransportKind) -> String {
        format!(
            "SIP/2.0/{} {};branch=z9hG4bK{};rport",
            transport.via_token(),
            self.local_addr(transport),
            self.ids.token()
        )
    }

    /// The address tandem listens on for `transport`.
    pub(super) fn local_addr(&self, transport: TransportKind) -> SocketAddr {
        self.cfg
            .transport_addrs
            .iter()
            .find(|(kind, _)| *kind == transport)
            .map_or(self.cfg.local_addr, |(_, addr)| *addr)
    }

    /// Our Contact value: `sips:` for TLS (RFC 5630 §3.2 prefers it to `transport=tls`), `transport=ws` under
    /// `sip:` or `sips:` for WS and WSS (RFC 7118 §5.2).
    pub(super) fn contact(&self, transport: TransportKind) -> String {
        let addr = self.local_addr(transport);
        match transport {
            TransportKind::Udp => format!("<sip:{addr}>"),
            TransportKind::Tcp => format!("<sip:{addr};transport=tcp>"),
            TransportKind::Tls => format!("<sips:{addr}>"),
            TransportKind::Ws => format!("<sip:{addr};transport=ws>"),
            TransportKind::Wss => format!("<sips:{addr};transport=ws>"),
        }
    }
}

/// The leg, for a change: noted in `dirty` so that its deadline is filed again (see `Endpoint::refile_legs`).
pub(super) fn touch<'a>(
    dirty: &mut Vec<LegId>,
    legs: &'a mut BTreeMap<LegId, Leg>,
    leg: LegId,
) -> Option<&'a mut Leg> {
    dirty.push(leg);
    legs.get_mut(&leg)
}

fn leg_deadline(leg: &Leg) -> Option<u64> {
    [
        leg.retransmit_at,
        leg.ack_deadline,
        leg.cancel_deadline,
        leg.session_deadline,
        leg.uac.refresh_at,
        leg.reliable.as_ref().and_then(|r| r.deadline()),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// RFC 3261 §18.2.2, simplified as described in the module documentation.
pub(super) fn response_destination(
    transport: TransportKind,
    from: SocketAddr,
    via: Option<&message::ViaInfo>,
) -> SocketAddr {
    match (transport, via) {
        (TransportKind::Udp, Some(via)) if !via.rport => {
            SocketAddr::new(from.ip(), via.port.unwrap_or(5060))
        }
        _ => from,
    }
}

pub(super) fn salvaged_destination(
    transport: TransportKind,
    from: SocketAddr,
    raw_via: &str,
) -> SocketAddr {
    let rport = raw_via.to_ascii_lowercase().contains(";rport");
    let sent_by = raw_via
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap_or_default();
    let port = sent_by
        .rsplit_once(':')
        .filter(|(host, _)| !host.ends_with(':'))
        .and_then(|(_, p)| p.parse().ok());
    let via = message::ViaInfo {
        transport: String::new(),
        host: String::new(),
        port,
        branch: None,
        rport,
    };
    response_destination(transport, from, Some(&via))
}

pub(super) fn method_is_known(method: &Method) -> bool {
    !matches!(method, Method::Extension(_))
}
