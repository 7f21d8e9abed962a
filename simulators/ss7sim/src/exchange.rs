//! The simulated exchange's signalling point: an M3UA SGP (RFC 4666 §4.3, the server end
//! of tandem's ASPs; with several associations up at once, all of them ASPs of one
//! loadshare AS: DATA toward the AS is shared among the active ASPs by SLS, RFC 4666
//! §4.3.4.3, and call control lives as long as any of them is up) or, behind an STP, one M3UA ASP (the client end, registering its own
//! routing key), Q.764 call control for the exchange's end of the trunk group, the
//! scenario engine for incoming calls and, in `call` mode, the originating [`Caller`].
//!
//! Sans-IO like the machines it wires together: the runtime feeds SCTP messages, association
//! up/down and time in, and sends what [`Exchange::poll_transmit`] returns with PPID 3.
//! Everything the exchange does is logged to stderr as `[ss7sim] …` and counted in [`Stats`].
//!
//! This file owns the exchange's wiring: configuration, the associations and their M3UA events, the pump,
//! the simulated congestion's SCON and the statistics file. The ISUP traffic itself, message by message
//! (DATA in and out, call control events, scenario steps, caller commands, the originating IAM), is in
//! `messages`.

mod messages;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use tandem::isup::call::{CallControl, CallControlConfig, IsupCallError};
use tandem::sigtran::m3ua::{
    Asp, AspConfig, AspEvent, IpspExchange, Parameter, PointCodeEntry, Role, RoutingKeyRequest,
    Transmit,
};

use crate::caller::{Caller, CallerCommand};
use crate::scenario::{Scenario, ScenarioEngine};
use crate::stats::Stats;

pub use messages::originating_iam;

/// Service indicator of ISUP in the MTP3 routing label (Q.704 §14.2).
const SERVICE_INDICATOR_ISUP: u8 = 5;

/// Writes one line of the human-readable log.
pub fn log(line: impl std::fmt::Display) {
    eprintln!("[ss7sim] {line}");
}

/// Signalling identity and trunk group of the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeConfig {
    /// Our point code (OPC of what we send).
    pub opc: u32,
    /// The peer's point code (DPC of what we send).
    pub dpc: u32,
    /// Network indicator (2 = national).
    pub network_indicator: u8,
    /// First CIC of the trunk group.
    pub cic_first: u16,
    /// Last CIC of the trunk group.
    pub cic_last: u16,
    /// Routing context the SGP serves (if the peer sends one), or the static one the ASP
    /// activates.
    pub routing_context: Option<u32>,
    /// `Role::Sgp` when tandem connects to us; `Role::Asp` when we connect to an STP.
    pub role: Role,
    /// As an ASP: register a routing key for our point code (RKM REG-REQ) before ASPAC.
    pub register_routing_key: bool,
    /// IPSP mode toward tandem (RFC 4666 §4.3.2): single exchange (we acknowledge) or double.
    pub ipsp: Option<IpspExchange>,
    /// Where to write the statistics JSON.
    pub stats_path: Option<PathBuf>,
    /// Report our point code congested at this level (SCON, RFC 4666 §3.4.4) every
    /// [`SCON_REPEAT_MS`] for this many ms after the peer's ASP became active.
    pub congestion: Option<(u8, u64)>,
}

/// How often SCON is repeated while the simulated congestion lasts (like Q.704's periodic TFC).
pub const SCON_REPEAT_MS: u64 = 200;

/// Numbers of the calls `ss7sim call` places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPlan {
    /// Called party number; a leading `+` makes it international.
    pub to: String,
    /// Calling party number; a leading `+` makes it international.
    pub from: String,
}

/// The exchange: SGP + call control + scenario (+ caller).
pub struct Exchange {
    config: ExchangeConfig,
    /// One machine per association that is up, by association id.
    asps: BTreeMap<u64, Asp>,
    calls: CallControl,
    engine: ScenarioEngine,
    scenario: Scenario,
    caller: Option<(Caller, CallPlan)>,
    stats: Stats,
    transmits: VecDeque<(u64, Transmit)>,
    /// Next SCON and the end of the simulated congestion.
    scon: Option<(u64, u64)>,
}

impl Exchange {
    /// An exchange following `scenario`; with `caller` it also places calls.
    pub fn new(
        config: ExchangeConfig,
        scenario: Scenario,
        caller: Option<(Caller, CallPlan)>,
    ) -> Result<Self, IsupCallError> {
        let calls = CallControl::new(CallControlConfig::new(config.cic_first, config.cic_last))?;
        let exchange = Exchange {
            asps: BTreeMap::new(),
            calls,
            engine: ScenarioEngine::new(scenario.clone()),
            scenario,
            caller,
            stats: Stats::default(),
            transmits: VecDeque::new(),
            scon: None,
            config,
        };
        exchange.write_stats();
        Ok(exchange)
    }

    fn new_asp(config: &ExchangeConfig) -> Asp {
        // Behind an STP the exchange is an ASP whose routing key is its own point code: the
        // STP routes tandem's DATA for that DPC to us (RFC 4666 §4.4).
        let register_routing_key = (config.role == Role::Asp && config.register_routing_key)
            .then_some(RoutingKeyRequest {
                local_rk_id: 1,
                dpc: config.opc,
                si: None,
                opc: None,
            });
        Asp::new(AspConfig {
            role: config.role,
            id: "ss7sim".to_owned(),
            routing_context: config.routing_context,
            register_routing_key,
            ipsp: config.ipsp,
            ..AspConfig::default()
        })
    }

    /// A new SCTP association is up: fresh SGP and call control (the peer starts over).
    pub fn handle_sctp_up(&mut self, now_ms: u64) {
        self.association_up(0, now_ms);
    }

    /// The association closed.
    pub fn handle_sctp_down(&mut self, now_ms: u64) {
        self.association_down(0, now_ms);
    }

    /// One SCTP user message arrived.
    pub fn handle_sctp_message(&mut self, stream: u16, data: &[u8], now_ms: u64) {
        self.association_message(0, stream, data, now_ms);
    }

    /// Association `id` is up with a fresh SGP (or ASP). When it is the only one, the peer
    /// starts over: fresh call control and scenario; otherwise it joins the AS beside the
    /// others and the calls go on.
    pub fn association_up(&mut self, id: u64, now_ms: u64) {
        if self.asps.is_empty() {
            if let Ok(calls) = CallControl::new(CallControlConfig::new(
                self.config.cic_first,
                self.config.cic_last,
            )) {
                self.calls = calls;
            }
            self.engine = ScenarioEngine::new(self.scenario.clone());
        }
        self.stats.associations += 1;
        let mut asp = Self::new_asp(&self.config);
        asp.handle_sctp_up(now_ms);
        self.asps.insert(id, asp);
        self.pump(now_ms);
    }

    /// Association `id` closed. Only when it was the last one are the calls gone.
    pub fn association_down(&mut self, id: u64, now_ms: u64) {
        if let Some(asp) = self.asps.get_mut(&id) {
            asp.handle_sctp_down(now_ms);
        }
        self.pump(now_ms);
        self.asps.remove(&id);
        self.transmits.retain(|(owner, _)| *owner != id);
        self.stats.active_asps = self.active_asps().len();
        if self.asps.is_empty() {
            if let Some((caller, _)) = &mut self.caller {
                caller.handle_link_down();
            }
            self.stats.close_all();
            self.pump(now_ms);
            self.stats.asp_active = false;
            self.transmits.clear();
        }
        self.write_stats();
    }

    /// One SCTP user message arrived on association `id`.
    pub fn association_message(&mut self, id: u64, stream: u16, data: &[u8], now_ms: u64) {
        if let Some(asp) = self.asps.get_mut(&id) {
            asp.handle_bytes(stream, data, now_ms);
        }
        self.pump(now_ms);
    }

    /// Ids of the associations whose (peer) ASP is active, in id order.
    fn active_asps(&self) -> Vec<u64> {
        self.asps
            .iter()
            // In IPSP double exchange DATA needs both ends active, not just the one that moved.
            .filter(|(_, asp)| asp.can_send_data())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Runs every machine's due timers.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        for asp in self.asps.values_mut() {
            asp.handle_timeout(now_ms);
        }
        self.send_scon(now_ms);
        self.calls.handle_timeout(now_ms);
        self.engine.handle_timeout(now_ms);
        if let Some((caller, _)) = &mut self.caller {
            caller.handle_timeout(now_ms);
        }
        self.pump(now_ms);
    }

    /// The earliest deadline of any machine.
    pub fn poll_timeout(&self) -> Option<u64> {
        let caller = self.caller.as_ref().and_then(|(c, _)| c.poll_timeout());
        let asps = self.asps.values().filter_map(Asp::poll_timeout);
        [
            self.scon.map(|(next, _)| next),
            self.calls.poll_timeout(),
            self.engine.poll_timeout(),
            caller,
        ]
        .into_iter()
        .flatten()
        .chain(asps)
        .min()
    }

    /// The next M3UA message to send on the association.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front().map(|(_, transmit)| transmit)
    }

    /// The next M3UA message to send, with the id of the association it goes on.
    pub fn poll_association_transmit(&mut self) -> Option<(u64, Transmit)> {
        self.transmits.pop_front()
    }

    /// In `call` mode: whether every call is done.
    pub fn is_finished(&self) -> bool {
        self.caller.as_ref().is_some_and(|(c, _)| c.is_finished())
    }

    /// In `call` mode: the outcome so far.
    pub fn summary(&self) -> Option<crate::caller::Summary> {
        self.caller.as_ref().map(|(c, _)| c.summary())
    }

    /// The statistics collected so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Drains every machine's output until nothing moves.
    fn pump(&mut self, now_ms: u64) {
        loop {
            let mut progressed = false;
            let ids: Vec<u64> = self.asps.keys().copied().collect();
            for id in ids {
                let Some(asp) = self.asps.get_mut(&id) else {
                    continue;
                };
                while let Some(transition) = asp.poll_transition() {
                    log(format_args!(
                        "m3ua {} (association {id}): {} -> {} ({})",
                        transition.machine, transition.from, transition.to, transition.reason
                    ));
                }
                let events: Vec<AspEvent> = std::iter::from_fn(|| asp.poll_event()).collect();
                for event in events {
                    progressed = true;
                    self.handle_asp_event(id, event, now_ms);
                }
            }
            // Call control transitions are visible as messages in the log already.
            while self.calls.poll_transition().is_some() {}
            while let Some(event) = self.calls.poll_event() {
                progressed = true;
                self.handle_call_event(event, now_ms);
            }
            while let Some(action) = self.engine.poll_action() {
                progressed = true;
                self.perform(action, now_ms);
            }
            let commands: Vec<CallerCommand> = match &mut self.caller {
                Some((caller, _)) => std::iter::from_fn(|| caller.poll_command()).collect(),
                None => Vec::new(),
            };
            for command in commands {
                progressed = true;
                self.perform_caller(command, now_ms);
            }
            if let Some((caller, _)) = &mut self.caller {
                while let Some(failure) = caller.poll_failure() {
                    log(format_args!("call failed: {failure}"));
                }
            }
            while let Some(message) = self.calls.poll_transmit() {
                progressed = true;
                self.send_isup(message);
            }
            for (id, asp) in &mut self.asps {
                while let Some(transmit) = asp.poll_transmit() {
                    self.transmits.push_back((*id, transmit));
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn handle_asp_event(&mut self, id: u64, event: AspEvent, now_ms: u64) {
        match event {
            AspEvent::StateChanged { from, to } | AspEvent::PeerStateChanged { from, to } => {
                let whose = match (self.config.role, &event) {
                    (_, AspEvent::PeerStateChanged { .. }) => "peer IPSP",
                    (Role::Sgp, _) => "peer ASP",
                    (Role::Asp, _) => "own ASP",
                };
                log(format_args!(
                    "{whose} {from:?} -> {to:?} (association {id})"
                ));
                let was_active = self.stats.asp_active;
                self.stats.active_asps = self.active_asps().len();
                self.stats.asp_active = self.stats.active_asps > 0;
                self.write_stats();
                if self.stats.asp_active && !was_active {
                    if let Some((level, duration)) = self.config.congestion {
                        self.scon = Some((now_ms, now_ms.saturating_add(duration)));
                        for asp in self.asps.values_mut() {
                            asp.set_audit_congestion(Some(level));
                        }
                    }
                    if let Some((caller, _)) = &mut self.caller {
                        caller.handle_asp_active(now_ms);
                    }
                }
            }
            AspEvent::Data(data) => {
                *self
                    .stats
                    .data_received_by_association
                    .entry(id)
                    .or_default() += 1;
                self.handle_data(data, now_ms);
            }
            other => log(format_args!("m3ua: {other:?}")),
        }
    }

    /// Sends the simulated congestion's SCON when due, until it is over.
    fn send_scon(&mut self, now_ms: u64) {
        let (Some((next, until)), Some((level, _))) = (self.scon, self.config.congestion) else {
            return;
        };
        if next > now_ms {
            return;
        }
        if now_ms >= until || !self.stats.asp_active {
            log("simulated congestion over: no more SCON");
            self.scon = None;
            for asp in self.asps.values_mut() {
                asp.set_audit_congestion(None);
            }
            return;
        }
        let parameters = vec![
            Parameter::AffectedPointCode(vec![PointCodeEntry::exact(self.config.opc)]),
            Parameter::CongestionIndications(u32::from(level)),
        ];
        // SSNM toward the AS goes on one of its active ASPs.
        let Some(asp) = self
            .active_asps()
            .first()
            .and_then(|id| self.asps.get_mut(id))
        else {
            return;
        };
        match asp.send_network_management(
            tandem::sigtran::m3ua::MessageType::SignallingCongestion,
            parameters,
        ) {
            Ok(()) => log(format_args!(
                "-> SCON level {level} for {}",
                self.config.opc
            )),
            Err(error) => log(format_args!("no SCON: {error}")),
        }
        self.scon = Some((now_ms + SCON_REPEAT_MS, until));
    }

    fn write_stats(&self) {
        if let Some(path) = &self.config.stats_path {
            if let Err(error) = self.stats.write(path) {
                log(format_args!(
                    "cannot write stats to {}: {error}",
                    path.display()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
