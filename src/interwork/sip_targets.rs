//! Where an outgoing INVITE goes: the dialplan's SIP URI resolved by RFC 3263 §4 ([`crate::sip::rfc3263`]),
//! and failover to the next target (RFC 3263 §4.3) when one times out, answers 503 or cannot be reached.
//!
//! The lookups leave the core as [`Output::SipDnsQuery`] and come back as recorded
//! [`Input::SipDnsAnswer`](crate::events::Input::SipDnsAnswer)s (answers are cached for their TTL on the core's
//! clock), and SRV weights are drawn from a generator seeded from the core's seed, so a replay resolves and
//! fails over exactly as the run did. Only when every target of the URI has failed does the call move on to the
//! dialplan's next route.

use std::collections::HashMap;

use crate::events::{EventKind, LogLevel, Output};
use crate::gateway::Gateway;
use crate::interwork::call::CallState;
use crate::interwork::tables::ReleaseReason;
use crate::sip::rfc3263::{DnsAnswer, DnsCache, DnsQuestion, RecordType, Resolution, Transport};
use crate::sip::{IdGenerator, TransportKind};

/// The resolution and progress of one call's SIP target.
#[derive(Debug)]
struct CallTargets {
    uri: String,
    calling: String,
    restricted: bool,
    /// A SIP→SIP call's offer and headers, sent to whichever target is tried.
    relayed: Option<super::b2bua::Relayed>,
    resolution: Resolution,
    /// Targets already tried (an index into the resolution's list).
    tried: usize,
}

impl CallTargets {
    /// Index of the next untried target a socket bound to `listen` can reach (one address family cannot reach
    /// the other).
    fn next_reachable(&self, listen: std::net::SocketAddr) -> Option<usize> {
        self.resolution
            .targets()
            .iter()
            .enumerate()
            .skip(self.tried)
            .find(|(_, target)| target.addr.is_ipv4() == listen.is_ipv4())
            .map(|(index, _)| index)
    }
}

/// The gateway's RFC 3263 state: per-call resolutions, outstanding queries and the answer cache.
#[derive(Debug)]
pub(crate) struct SipTargets {
    calls: HashMap<u64, CallTargets>,
    queries: HashMap<u64, u64>,
    cache: DnsCache,
    seeds: IdGenerator,
}

impl SipTargets {
    /// Empty state; `seed` is the core's, `failure_ttl_ms` how long a failed lookup is remembered.
    pub(crate) fn new(seed: u64, failure_ttl_ms: u64) -> SipTargets {
        SipTargets {
            calls: HashMap::new(),
            queries: HashMap::new(),
            cache: DnsCache::new(failure_ttl_ms),
            // A stream of its own, so SIP Call-IDs and tags are unchanged by the draws made here.
            seeds: IdGenerator::new(seed ^ 0x3263_3263_3263_3263),
        }
    }
}

impl Gateway {
    /// Resolves `uri` and sends the INVITE to its first target (at once for an IP-literal host).
    pub(crate) fn send_invite(
        &mut self,
        number: u64,
        uri: &str,
        calling: &str,
        restricted: bool,
        relayed: Option<super::b2bua::Relayed>,
    ) {
        let seed = self.sip_targets.seeds.next_u64();
        let resolution = match Resolution::new(uri, seed) {
            Ok(resolution) => resolution,
            Err(error) => {
                self.log(LogLevel::Error, format!("dialplan target: {error}"));
                return self.route_failed(number, ReleaseReason::NoRoute);
            }
        };
        self.sip_targets.calls.insert(
            number,
            CallTargets {
                uri: uri.to_string(),
                calling: calling.to_string(),
                restricted,
                relayed,
                resolution,
                tried: 0,
            },
        );
        self.advance_resolution(number);
    }

    /// Asks the next question (from the cache when it can), or tries the first target when all are in.
    fn advance_resolution(&mut self, number: u64) {
        loop {
            let Some(targets) = self.sip_targets.calls.get_mut(&number) else {
                return;
            };
            let Some(question) = targets.resolution.next_query() else {
                return self.try_next_target(number);
            };
            if let Some(answer) = self.sip_targets.cache.get(&question, self.now) {
                let answer = answer.clone();
                targets.resolution.answer(&question, &answer);
                continue;
            }
            self.next_query += 1;
            let id = self.next_query;
            self.sip_targets.queries.insert(id, number);
            let output = Output::SipDnsQuery {
                id,
                name: question.name,
                rtype: question.rtype,
            };
            self.push_call_event(Some(number), EventKind::Output(output));
            return;
        }
    }

    /// Takes the answer to query `id`.
    pub(crate) fn handle_sip_dns_answer(
        &mut self,
        id: u64,
        name: &str,
        rtype: RecordType,
        answer: &DnsAnswer,
    ) {
        let question = DnsQuestion {
            name: name.to_string(),
            rtype,
        };
        self.sip_targets.cache.insert(&question, answer, self.now);
        let Some(number) = self.sip_targets.queries.remove(&id) else {
            return;
        };
        self.current = Some(number);
        if let DnsAnswer::Failed { reason } = answer {
            self.log(
                LogLevel::Warn,
                format!("DNS {rtype:?} {name} failed: {reason}"),
            );
        }
        if let Some(targets) = self.sip_targets.calls.get_mut(&number) {
            targets.resolution.answer(&question, answer);
        }
        self.advance_resolution(number);
    }

    /// Sends the INVITE to the next untried target; with none left, the call takes the dialplan's next route.
    fn try_next_target(&mut self, number: u64) {
        // A call released while its lookups were under way (the exchange gave up) sends nothing.
        let routing = self
            .calls
            .get(&number)
            .is_some_and(|call| matches!(call.state, CallState::Routing | CallState::Proceeding));
        if !routing {
            self.sip_targets.calls.remove(&number);
            return;
        }
        let listen = self.config.sip.listen;
        let Some(targets) = self.sip_targets.calls.get_mut(&number) else {
            return;
        };
        let found = targets.next_reachable(listen);
        let Some(index) = found else {
            let uri = targets.uri.clone();
            self.sip_targets.calls.remove(&number);
            self.log(
                LogLevel::Warn,
                format!("no reachable SIP target left for {uri} (RFC 3263)"),
            );
            return self.route_failed(number, ReleaseReason::NoRoute);
        };
        targets.tried = index + 1;
        let Some(target) = targets.resolution.targets().get(index).copied() else {
            return;
        };
        let (uri, calling, restricted, relayed) = (
            targets.uri.clone(),
            targets.calling.clone(),
            targets.restricted,
            targets.relayed.clone(),
        );
        let transport = match target.transport {
            Transport::Tcp => TransportKind::Tcp,
            Transport::Udp => TransportKind::Udp,
            Transport::Tls => TransportKind::Tls,
        };
        self.send_invite_to(
            number,
            &uri,
            (target.addr, transport),
            &calling,
            restricted,
            relayed,
        );
    }

    /// After the outgoing INVITE failed with a timeout, a 503 or a transport error: tries the next target of the
    /// same URI (RFC 3263 §4.3) and returns true, or returns false when there is none (the caller goes on).
    pub(crate) fn fail_over(&mut self, number: u64) -> bool {
        let listen = self.config.sip.listen;
        let Some(targets) = self.sip_targets.calls.get(&number) else {
            return false;
        };
        if targets.next_reachable(listen).is_none() {
            self.sip_targets.calls.remove(&number);
            return false;
        }
        if let Some(call) = self.calls.get_mut(&number) {
            if let Some(leg) = call.take_outgoing_leg() {
                self.legs.remove(&leg);
            }
        }
        self.log(
            LogLevel::Info,
            "SIP target failed; trying the next one (RFC 3263 §4.3)".to_string(),
        );
        self.try_next_target(number);
        true
    }

    /// Forgets the call's resolution (the call is answered or gone).
    pub(crate) fn forget_targets(&mut self, number: u64) {
        self.sip_targets.calls.remove(&number);
    }
}
