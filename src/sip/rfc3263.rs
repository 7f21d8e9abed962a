//! RFC 3263 §4: locating the SIP server for a URI — NAPTR → SRV → A/AAAA — as a sans-IO machine.
//!
//! A [`Resolution`] owns the procedure for one URI. It never touches the network: [`Resolution::next_query`]
//! names the DNS question it needs next, and the answer comes back through [`Resolution::answer`] (in tandem, as
//! a recorded input, so a replay takes the same path). SRV records of equal priority are ordered by RFC 2782's
//! weighted random choice drawn from a generator seeded by the core, so the order is reproducible. The result is
//! an ordered list of [`Target`]s; the caller tries them in turn (RFC 3263 §4.3: on a timeout, a 503 or a
//! transport error, the next one). [`DnsCache`] keeps answers for their TTL on the core's clock.
//!
//! The steps RFC 3263 §4 prescribes:
//! - an IP-literal host needs no lookup: the port is the URI's, else 5060 (5061 for TLS);
//! - a host name with a port: A/AAAA only, transport from `transport=` or the scheme's default;
//! - a `transport=` parameter without a port: SRV for that transport, then A/AAAA with the default port;
//! - otherwise NAPTR (`SIP+D2U`, `SIP+D2T`, `SIPS+D2T`; SCTP and unknown services are skipped since tandem
//!   does not speak them), then the SRV names they point to; without usable NAPTR records, SRV for each
//!   transport tandem supports; without SRV records, A/AAAA of the host on the default port over UDP (TLS for
//!   `sips:`).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::IdGenerator;

/// A SIP transport a target is reached by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// UDP (NAPTR service `SIP+D2U`, SRV `_sip._udp`).
    Udp,
    /// TCP (`SIP+D2T`, `_sip._tcp`).
    Tcp,
    /// TLS over TCP (`SIPS+D2T`, `_sips._tcp`).
    Tls,
}

impl Transport {
    /// The default port of RFC 3261 §19.1.2: 5061 for TLS, 5060 otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        }
    }

    fn srv_prefix(self) -> &'static str {
        match self {
            Transport::Udp => "_sip._udp.",
            Transport::Tcp => "_sip._tcp.",
            Transport::Tls => "_sips._tcp.",
        }
    }

    fn from_param(value: &str) -> Option<Transport> {
        match value.to_ascii_lowercase().as_str() {
            "udp" => Some(Transport::Udp),
            "tcp" => Some(Transport::Tcp),
            "tls" => Some(Transport::Tls),
            _ => None,
        }
    }

    fn from_naptr_service(service: &str) -> Option<Transport> {
        match service.to_ascii_uppercase().as_str() {
            "SIP+D2U" => Some(Transport::Udp),
            "SIP+D2T" => Some(Transport::Tcp),
            "SIPS+D2T" => Some(Transport::Tls),
            _ => None,
        }
    }
}

/// One place to send a request to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Address and port.
    pub addr: SocketAddr,
    /// Transport.
    pub transport: Transport,
}

/// The DNS record types RFC 3263 asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    /// RFC 3403 NAPTR.
    Naptr,
    /// RFC 2782 SRV.
    Srv,
    /// IPv4 address.
    A,
    /// IPv6 address (RFC 3596).
    Aaaa,
}

/// One record of an answer, as much of it as RFC 3263 uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "UPPERCASE")]
pub enum DnsRecord {
    /// NAPTR (RFC 3403 §4.1).
    Naptr {
        /// Order: lower first.
        order: u16,
        /// Preference within an order: lower first.
        preference: u16,
        /// Flags (`s`: the replacement names an SRV record).
        flags: String,
        /// Service (`SIP+D2U`, …).
        service: String,
        /// Replacement domain.
        replacement: String,
    },
    /// SRV (RFC 2782).
    Srv {
        /// Priority: lower first.
        priority: u16,
        /// Weight for the random choice among equal priorities.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host (`.`: service not offered).
        target: String,
    },
    /// An IPv4 or IPv6 address (A or AAAA).
    Address {
        /// The address.
        ip: IpAddr,
    },
}

/// What the DNS said to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DnsAnswer {
    /// Records of the type asked (possibly none: NODATA), with the smallest TTL among them.
    Records {
        /// Seconds the answer may be cached.
        ttl_s: u32,
        /// The records.
        records: Vec<DnsRecord>,
    },
    /// The name does not exist.
    NxDomain {
        /// Seconds the absence may be cached (the SOA minimum).
        negative_ttl_s: u32,
    },
    /// No answer (timeout, server failure).
    Failed {
        /// Why.
        reason: String,
    },
}

impl DnsAnswer {
    fn records(&self) -> &[DnsRecord] {
        match self {
            DnsAnswer::Records { records, .. } => records,
            DnsAnswer::NxDomain { .. } | DnsAnswer::Failed { .. } => &[],
        }
    }
}

/// A question for the DNS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsQuestion {
    /// The name, without a trailing dot.
    pub name: String,
    /// The record type.
    pub rtype: RecordType,
}

/// Why a URI cannot be resolved at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Not a `sip:` or `sips:` URI with a host.
    #[error("{0:?} is not a sip: or sips: URI with a host")]
    NotSipUri(String),
    /// The `transport=` parameter names a transport tandem cannot use.
    #[error("unsupported transport {0:?}")]
    UnsupportedTransport(String),
}

/// One step still to do.
#[derive(Debug, Clone)]
enum Step {
    Naptr,
    Srv {
        name: String,
        transport: Transport,
    },
    Host {
        name: String,
        port: u16,
        transport: Transport,
        rtype: RecordType,
    },
}

/// The RFC 3263 §4 procedure for one URI.
#[derive(Debug, Clone)]
pub struct Resolution {
    host: String,
    secure: bool,
    steps: VecDeque<Step>,
    /// Whether the SRV steps came from the no-NAPTR fallback or `transport=` (then no SRV → A/AAAA).
    srv_found: bool,
    srv_fallback: Option<Transport>,
    targets: Vec<Target>,
    random: IdGenerator,
}

/// The parts of a SIP URI RFC 3263 looks at.
struct UriParts {
    secure: bool,
    host: String,
    port: Option<u16>,
    transport: Option<Transport>,
}

fn uri_parts(uri: &str) -> Result<UriParts, ResolveError> {
    let bad = || ResolveError::NotSipUri(uri.to_string());
    let lower = uri
        .get(..5)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let (secure, rest) = if lower == "sips:" {
        (true, uri.get(5..).ok_or_else(bad)?)
    } else if lower.starts_with("sip:") {
        (false, uri.get(4..).ok_or_else(bad)?)
    } else {
        return Err(bad());
    };
    let rest = rest.split('?').next().unwrap_or_default();
    let hostport_and_params = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let mut parts = hostport_and_params.split(';');
    let hostport = parts.next().unwrap_or_default();
    let mut transport = None;
    for param in parts {
        if let Some((name, value)) = param.split_once('=') {
            if name.eq_ignore_ascii_case("transport") {
                transport = Some(
                    Transport::from_param(value)
                        .ok_or_else(|| ResolveError::UnsupportedTransport(value.to_string()))?,
                );
            }
        }
    }
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port.parse().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (host.to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port.parse().map_err(|_| bad())?)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(UriParts {
        secure,
        host: host.trim_end_matches('.').to_ascii_lowercase(),
        port,
        transport,
    })
}

impl Resolution {
    /// Starts resolving `uri`; `seed` drives the SRV weight choices (from the core's seeded generator).
    pub fn new(uri: &str, seed: u64) -> Result<Resolution, ResolveError> {
        let parts = uri_parts(uri)?;
        let default_transport = if parts.secure {
            Transport::Tls
        } else {
            Transport::Udp
        };
        let mut resolution = Resolution {
            host: parts.host.clone(),
            secure: parts.secure,
            steps: VecDeque::new(),
            srv_found: false,
            srv_fallback: None,
            targets: Vec::new(),
            random: IdGenerator::new(seed),
        };
        let transport = parts.transport.unwrap_or(default_transport);
        if let Ok(ip) = parts.host.parse::<IpAddr>() {
            // §4.1/§4.2: a numeric host needs no lookup.
            let port = parts.port.unwrap_or(transport.default_port());
            resolution.targets.push(Target {
                addr: SocketAddr::new(ip, port),
                transport,
            });
        } else if let Some(port) = parts.port {
            // §4.2: a port given: A/AAAA of the host itself.
            resolution.push_host(&parts.host, port, transport, false);
        } else if parts.transport.is_some() {
            // §4.2: a transport given but no port: SRV for that transport, else A/AAAA.
            resolution.srv_fallback = Some(transport);
            resolution.steps.push_back(Step::Srv {
                name: format!("{}{}", transport.srv_prefix(), parts.host),
                transport,
            });
        } else {
            resolution.steps.push_back(Step::Naptr);
        }
        Ok(resolution)
    }

    /// The question to ask next, or `None` when the targets are complete.
    pub fn next_query(&self) -> Option<DnsQuestion> {
        let step = self.steps.front()?;
        Some(match step {
            Step::Naptr => DnsQuestion {
                name: self.host.clone(),
                rtype: RecordType::Naptr,
            },
            Step::Srv { name, .. } => DnsQuestion {
                name: name.clone(),
                rtype: RecordType::Srv,
            },
            Step::Host { name, rtype, .. } => DnsQuestion {
                name: name.clone(),
                rtype: *rtype,
            },
        })
    }

    /// Whether every lookup is done.
    pub fn is_done(&self) -> bool {
        self.steps.is_empty()
    }

    /// The targets found so far, in the order to try them.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Feeds the answer to [`Resolution::next_query`]. An answer to another question is ignored.
    pub fn answer(&mut self, question: &DnsQuestion, answer: &DnsAnswer) {
        if self.next_query().as_ref() != Some(question) {
            return;
        }
        let Some(step) = self.steps.pop_front() else {
            return;
        };
        match step {
            Step::Naptr => self.naptr_answered(answer.records()),
            Step::Srv { transport, .. } => self.srv_answered(answer.records(), transport),
            Step::Host {
                port, transport, ..
            } => {
                for record in answer.records() {
                    if let DnsRecord::Address { ip } = record {
                        self.targets.push(Target {
                            addr: SocketAddr::new(*ip, port),
                            transport,
                        });
                    }
                }
            }
        }
        if self.steps.is_empty() && self.targets.is_empty() && !self.srv_found {
            // §4.2: no SRV records at all: the host's addresses on the default port.
            if let Some(transport) = self.srv_fallback.take() {
                let host = self.host.clone();
                self.push_host(&host, transport.default_port(), transport, false);
            }
        }
    }

    fn naptr_answered(&mut self, records: &[DnsRecord]) {
        let mut usable: Vec<(u16, u16, Transport, String)> = records
            .iter()
            .filter_map(|record| match record {
                DnsRecord::Naptr {
                    order,
                    preference,
                    flags,
                    service,
                    replacement,
                } if flags.eq_ignore_ascii_case("s") => {
                    let transport = Transport::from_naptr_service(service)?;
                    // §4.1: a sips: URI only follows SIPS services.
                    if self.secure && transport != Transport::Tls {
                        return None;
                    }
                    let name = replacement.trim_end_matches('.').to_ascii_lowercase();
                    Some((*order, *preference, transport, name))
                }
                _ => None,
            })
            .collect();
        usable.sort_by_key(|(order, preference, _, _)| (*order, *preference));
        if usable.is_empty() {
            // §4.1: no NAPTR: SRV for each supported transport, in tandem's order of preference.
            let transports: &[Transport] = if self.secure {
                &[Transport::Tls]
            } else {
                &[Transport::Udp, Transport::Tcp, Transport::Tls]
            };
            for transport in transports {
                self.steps.push_back(Step::Srv {
                    name: format!("{}{}", transport.srv_prefix(), self.host),
                    transport: *transport,
                });
            }
            self.srv_fallback = Some(if self.secure {
                Transport::Tls
            } else {
                Transport::Udp
            });
        } else {
            for (_, _, transport, name) in usable {
                self.steps.push_back(Step::Srv { name, transport });
            }
        }
    }

    fn srv_answered(&mut self, records: &[DnsRecord], transport: Transport) {
        let mut srvs: Vec<(u16, u16, u16, String)> = records
            .iter()
            .filter_map(|record| match record {
                DnsRecord::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => Some((
                    *priority,
                    *weight,
                    *port,
                    target.trim_end_matches('.').to_string(),
                )),
                _ => None,
            })
            .collect();
        if srvs.is_empty() {
            return;
        }
        self.srv_found = true;
        srvs.sort_by_key(|(priority, ..)| *priority);
        let ordered = order_by_weight(srvs, &mut self.random);
        // The hosts of this SRV set come before the SRV names still queued (their targets are tried first).
        for (port, target) in ordered.into_iter().rev() {
            // RFC 2782: a target of "." means the service is decidedly not available here.
            if target.is_empty() {
                continue;
            }
            self.push_host(&target, port, transport, true);
        }
    }

    /// Queues A then AAAA lookups of `name` (at the front when `first`).
    fn push_host(&mut self, name: &str, port: u16, transport: Transport, first: bool) {
        let steps = [RecordType::A, RecordType::Aaaa].map(|rtype| Step::Host {
            name: name.to_ascii_lowercase(),
            port,
            transport,
            rtype,
        });
        if first {
            for step in steps.into_iter().rev() {
                self.steps.push_front(step);
            }
        } else {
            self.steps.extend(steps);
        }
    }
}

/// RFC 2782's order: by priority, and within one priority by repeated weighted random choice (records of
/// weight 0 first in the running sums, so they are picked rarely but can be). `srvs` is sorted by priority.
fn order_by_weight(
    srvs: Vec<(u16, u16, u16, String)>,
    random: &mut IdGenerator,
) -> Vec<(u16, String)> {
    let mut ordered = Vec::with_capacity(srvs.len());
    let mut rest = srvs.into_iter().peekable();
    while let Some(first) = rest.next() {
        let priority = first.0;
        let mut group = vec![first];
        while let Some(next) = rest.next_if(|srv| srv.0 == priority) {
            group.push(next);
        }
        group.sort_by_key(|srv| srv.1 != 0);
        while !group.is_empty() {
            let total: u64 = group.iter().map(|srv| u64::from(srv.1)).sum();
            let pick = random.next_u64() % (total + 1);
            let mut running = 0u64;
            let index = group
                .iter()
                .position(|srv| {
                    running += u64::from(srv.1);
                    running >= pick
                })
                .unwrap_or(0);
            let (_, _, port, target) = group.remove(index);
            ordered.push((port, target));
        }
    }
    ordered
}

/// Answers kept for their TTL on the core's clock, keyed by question.
#[derive(Debug, Default)]
pub struct DnsCache {
    entries: HashMap<(String, RecordType), (DnsAnswer, u64)>,
    /// How long a failed lookup is remembered, in milliseconds.
    pub failure_ttl_ms: u64,
}

impl DnsCache {
    /// An empty cache remembering failed lookups for `failure_ttl_ms`.
    pub fn new(failure_ttl_ms: u64) -> DnsCache {
        DnsCache {
            entries: HashMap::new(),
            failure_ttl_ms,
        }
    }

    /// A cached answer still valid at `now_ms`.
    pub fn get(&self, question: &DnsQuestion, now_ms: u64) -> Option<&DnsAnswer> {
        let (answer, until) = self.entries.get(&(question.name.clone(), question.rtype))?;
        (now_ms < *until).then_some(answer)
    }

    /// Remembers an answer received at `now_ms`.
    pub fn insert(&mut self, question: &DnsQuestion, answer: &DnsAnswer, now_ms: u64) {
        let ttl_ms = match answer {
            DnsAnswer::Records { ttl_s, .. } => u64::from(*ttl_s) * 1000,
            DnsAnswer::NxDomain { negative_ttl_s } => u64::from(*negative_ttl_s) * 1000,
            DnsAnswer::Failed { .. } => self.failure_ttl_ms,
        };
        if ttl_ms == 0 {
            return;
        }
        self.entries.retain(|_, (_, until)| *until > now_ms);
        self.entries.insert(
            (question.name.clone(), question.rtype),
            (answer.clone(), now_ms.saturating_add(ttl_ms)),
        );
    }
}

#[cfg(test)]
#[path = "rfc3263_tests.rs"]
mod tests;
