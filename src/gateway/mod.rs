//! The gateway core: every protocol machine of one tandem instance (the SIP endpoint, and per trunk group the M3UA
//! ASP and the ISUP call control), the dialplan, and the interworking calls joining them. Sans-IO and
//! deterministic: it takes [`Input`]s with the time, and hands out transitions and outputs through
//! [`Gateway::poll_event`] and its next deadline through [`Gateway::poll_timeout`]. The runtime is the only caller
//! that touches sockets; replay feeds it from a log.
//!
//! Methods by group: construction ([`Gateway::new`]), input ([`Gateway::handle`]), polling
//! ([`Gateway::poll_event`], [`Gateway::poll_timeout`]). After every `handle`, drain `poll_event` until it returns
//! `None`, then read `poll_timeout`.
//!
//! This file owns the core's state, its construction from the configuration and the dispatch of inputs;
//! `pump` runs the machines and records what they produce, `links` follows link, destination and congestion
//! state, `driver` numbers and groups events for the log, `trunk` is one trunk group.

mod driver;
mod links;
mod pump;
mod route_set;
mod trunk;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use thiserror::Error;

pub use driver::Driver;
pub(crate) use trunk::Trunk;

use crate::config::Config;
use crate::events::{EventKind, Input, LogLevel, Output, Setup, SipTransport};
use crate::interwork::call::Call;
use crate::routing::enum_dns::EnumCache;
use crate::routing::Dialplan;
use crate::sip::{Endpoint, EndpointConfig, LegId};

/// Why a gateway could not be built from a setup.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// The configuration text does not parse or validate.
    #[error("configuration: {0}")]
    Config(String),
    /// The dialplan does not compile.
    #[error("dialplan: {0}")]
    Dialplan(String),
    /// A mapping profile is missing or invalid.
    #[error("mapping tables: {0}")]
    Mappings(String),
}

/// How long a failed RFC 3263 lookup is remembered before it is asked again.
const SIP_DNS_FAILURE_TTL_MS: u64 = 5_000;

/// The sans-IO core of one tandem instance. See the module documentation for the calling order.
pub struct Gateway {
    pub(crate) config: Config,
    pub(crate) sip: Endpoint,
    pub(crate) dialplan: Arc<Dialplan>,
    pub(crate) enum_cache: EnumCache,
    pub(crate) enum_queries: HashMap<u64, crate::interwork::EnumQuery>,
    pub(crate) next_query: u64,
    pub(crate) sip_targets: crate::interwork::sip_targets::SipTargets,
    pub(crate) trunks: Vec<Trunk>,
    pub(crate) calls: BTreeMap<u64, Call>,
    pub(crate) legs: HashMap<LegId, u64>,
    next_call: u64,
    pending: VecDeque<(Option<String>, EventKind)>,
    /// The call whose work is being done, so outputs and log lines are attributed to it.
    pub(crate) current: Option<u64>,
    input_call: Option<String>,
    last_deadline: Option<u64>,
    pub(crate) now: u64,
}

impl Gateway {
    /// Builds a gateway from a recorded or freshly made [`Setup`].
    pub fn new(setup: &Setup) -> Result<Gateway, GatewayError> {
        let config = Config::from_toml_str("setup", &setup.config)
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        let tables: Vec<(String, String)> = setup
            .dialplan_tables
            .iter()
            .map(|t| (t.name.clone(), t.text.clone()))
            .collect();
        let dialplan = Dialplan::compile_with_tables(
            &setup.dialplan.name,
            &setup.dialplan.text,
            &tables,
            config.dialplan.limits(),
        )
        .map_err(|e| GatewayError::Dialplan(e.to_string()))?;
        let mut trunks = Vec::with_capacity(config.trunks.len());
        for (index, trunk_config) in config.trunks.iter().enumerate() {
            trunks.push(Trunk::new(
                index,
                trunk_config,
                &setup.mappings,
                setup.seed,
            )?);
        }
        let sip = Endpoint::new(EndpointConfig {
            local_addr: config.sip.listen,
            user_agent: config.sip.user_agent.clone(),
            seed: setup.seed,
            timer_t1_ms: config.sip.t1_ms,
            limits: crate::sip::message::ParseLimits {
                max_headers: config.sip.max_headers,
                max_header_bytes: config.sip.max_header_bytes,
                max_body_bytes: config.sip.max_body_bytes,
            },
            rate_limit_per_source: config.sip.rate_limit_per_source,
            min_session_expires_s: config.sip.min_session_expires,
            transport_addrs: config.transport_addrs(),
            realm: config.sip.realm.clone(),
            users: config.sip.digest_users(),
            nonce_lifetime_ms: config.sip.nonce_lifetime_ms,
            digest_algorithms: config.sip.digest_algorithm_list(),
            trusted_peers: config.sip.trusted_sources(),
            registrar: crate::sip::registrar::RegistrarConfig {
                min_expires_s: config.sip.min_expires,
                max_expires_s: config.sip.max_expires,
                default_expires_s: config.sip.default_expires,
                max_contacts: config.sip.max_contacts,
                flow_timer_s: config.sip.flow_timer,
            },
            peers: config.sip.keepalive_peers(),
            uac_100rel: config.sip_outgoing.prack,
            uac_session_expires_s: config.sip_outgoing.session_expires,
            uac_min_se_s: config.sip_outgoing.min_se,
            ..EndpointConfig::new(config.sip.listen)
        });
        let enum_cache = EnumCache::new(
            config.enum_lookup.failure_ttl_s.saturating_mul(1000),
            config.enum_lookup.max_ttl_s.saturating_mul(1000),
            config.enum_lookup.cache_size.max(1),
        );
        Ok(Gateway {
            config,
            sip,
            dialplan: Arc::new(dialplan),
            enum_cache,
            enum_queries: HashMap::new(),
            next_query: 0,
            sip_targets: crate::interwork::sip_targets::SipTargets::new(
                setup.seed,
                SIP_DNS_FAILURE_TTL_MS,
            ),
            trunks,
            calls: BTreeMap::new(),
            legs: HashMap::new(),
            next_call: 0,
            pending: VecDeque::new(),
            current: None,
            input_call: None,
            last_deadline: None,
            now: 0,
        })
    }

    /// Takes one input. Drain [`Gateway::poll_event`] afterwards.
    pub fn handle(&mut self, input: &Input, now_ms: u64) {
        self.now = now_ms;
        self.current = None;
        self.input_call = None;
        match input {
            Input::Start(_) => {}
            Input::SipReceived {
                transport,
                from,
                data,
            } => self
                .sip
                .handle_datagram(sip_transport(*transport), *from, &data.0, now_ms),
            Input::SctpUp { trunk } => match self.link_index(trunk) {
                Some((index, link)) => self.trunks[index].links[link].asp.handle_sctp_up(now_ms),
                None => self.log(
                    LogLevel::Warn,
                    format!("SCTP up for unknown trunk {trunk:?}"),
                ),
            },
            Input::SctpDown { trunk, reason } => match self.link_index(trunk) {
                Some((index, link)) => {
                    self.log(
                        LogLevel::Error,
                        format!("trunk {trunk}: SCTP association down: {reason}"),
                    );
                    self.trunks[index].links[link].asp.handle_sctp_down(now_ms);
                    self.refresh_routes(index);
                    // Calls in set-up are lost only when no other association can carry the trunk's ISUP.
                    if !self.trunks[index].is_active() {
                        self.trunk_lost(index);
                    }
                }
                None => self.log(
                    LogLevel::Warn,
                    format!("SCTP down for unknown trunk {trunk:?}"),
                ),
            },
            Input::M3uaReceived {
                trunk,
                stream,
                data,
            } => match self.link_index(trunk) {
                Some((index, link)) => self.trunks[index].links[link]
                    .asp
                    .handle_bytes(*stream, &data.0, now_ms),
                None => self.log(
                    LogLevel::Warn,
                    format!("M3UA data for unknown trunk {trunk:?}"),
                ),
            },
            Input::Timeout => {
                self.sip.handle_timeout(now_ms);
                for trunk in &mut self.trunks {
                    trunk.handle_timeout(now_ms);
                }
                for index in 0..self.trunks.len() {
                    self.abate_congestion(index, now_ms);
                }
            }
            Input::EnumAnswer { id, domain, answer } => {
                self.handle_enum_answer(*id, domain, answer)
            }
            Input::SipDnsAnswer {
                id,
                name,
                rtype,
                answer,
            } => self.handle_sip_dns_answer(*id, name, *rtype, answer),
            Input::DialplanReload { dialplan, tables } => self.reload_dialplan(dialplan, tables),
            Input::SipFlowClosed { transport, peer } => {
                self.sip.flow_closed(sip_transport(*transport), *peer)
            }
            Input::SipUsersReload { users } => {
                let users = self.config.sip.digest_users_of(users);
                self.log(
                    LogLevel::Info,
                    format!("SIP users reloaded: {} users", users.len()),
                );
                self.sip.set_users(users);
            }
            Input::SipSendFailed {
                transport,
                to,
                reason,
            } => {
                self.log(
                    LogLevel::Warn,
                    format!("SIP {transport:?} message to {to} not delivered: {reason}"),
                );
                self.sip
                    .transport_failed(sip_transport(*transport), *to, now_ms);
            }
        }
        self.pump();
        let deadline = self.next_deadline();
        if deadline != self.last_deadline {
            self.last_deadline = deadline;
            self.pending
                .push_back((None, EventKind::Output(Output::Timer { at_ms: deadline })));
        }
    }

    /// The next transition or output, with the call it belongs to.
    pub fn poll_event(&mut self) -> Option<(Option<String>, EventKind)> {
        self.pending.pop_front()
    }

    /// When the gateway next needs [`Input::Timeout`] (as of the last input handled).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.last_deadline
    }

    /// Asks every machine; done once per input, since a machine may scan its timers to answer.
    fn next_deadline(&self) -> Option<u64> {
        let trunks = self.trunks.iter().filter_map(Trunk::poll_timeout);
        self.sip.poll_timeout().into_iter().chain(trunks).min()
    }

    /// The name of the dialplan new calls use.
    pub fn dialplan_name(&self) -> &str {
        self.dialplan.name()
    }

    /// Domains in the ENUM cache.
    pub fn enum_cache_len(&self) -> usize {
        self.enum_cache.len()
    }

    /// The core's time shifted to local time (`[dialplan] utc_offset_minutes`), for the call view.
    pub(crate) fn local_time_ms(&self) -> u64 {
        let offset = i64::from(self.config.dialplan.utc_offset_minutes) * 60_000;
        self.now.saturating_add_signed(offset)
    }

    /// Number of calls in progress.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// How much state the SIP endpoint holds, and the gateway's map from legs to calls.
    pub fn sip_load(&self) -> (crate::sip::endpoint::EndpointLoad, usize) {
        (self.sip.load(), self.legs.len())
    }

    /// Circuits busy on each trunk group, by name.
    pub fn busy_circuits(&self) -> Vec<(String, usize)> {
        self.trunks
            .iter()
            .map(|t| (t.name.clone(), t.isup.pool().busy_count()))
            .collect()
    }

    /// The call the last input was attributed to (first call touched while handling it).
    pub(crate) fn take_input_call(&mut self) -> Option<String> {
        self.input_call.take()
    }

    /// Allocates a new call number and its printable id.
    pub(crate) fn new_call_number(&mut self) -> u64 {
        self.next_call += 1;
        self.next_call
    }
}

/// The printable id of call number `number`.
pub(crate) fn call_id(number: u64) -> String {
    format!("c{number}")
}

fn sip_transport(transport: SipTransport) -> crate::sip::TransportKind {
    match transport {
        SipTransport::Udp => crate::sip::TransportKind::Udp,
        SipTransport::Tcp => crate::sip::TransportKind::Tcp,
        SipTransport::Tls => crate::sip::TransportKind::Tls,
        SipTransport::Ws => crate::sip::TransportKind::Ws,
        SipTransport::Wss => crate::sip::TransportKind::Wss,
    }
}

fn events_transport(transport: crate::sip::TransportKind) -> SipTransport {
    match transport {
        crate::sip::TransportKind::Udp => SipTransport::Udp,
        crate::sip::TransportKind::Tcp => SipTransport::Tcp,
        crate::sip::TransportKind::Tls => SipTransport::Tls,
        crate::sip::TransportKind::Ws => SipTransport::Ws,
        crate::sip::TransportKind::Wss => SipTransport::Wss,
    }
}

#[cfg(test)]
mod b2bua_dialog_tests;
#[cfg(test)]
mod b2bua_tests;
pub(crate) mod congestion;
#[cfg(test)]
mod congestion_tests;
pub(crate) mod destination;
#[cfg(test)]
mod failover_tests;
#[cfg(test)]
mod routing_tests;
#[cfg(test)]
mod sip_target_tests;
#[cfg(test)]
mod tests;
