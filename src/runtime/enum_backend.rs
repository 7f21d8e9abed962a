//! The runtime side of ENUM: carries out the core's [`Output::EnumQuery`](crate::events::Output::EnumQuery) and
//! feeds the answer back as a recorded [`Input::EnumAnswer`]. With `[enum] servers` the NAPTR query (RFC 3403
//! §4.1) goes to those DNS servers through hickory-resolver, one server after the other within `timeout_ms`: a
//! truncated UDP answer is asked again over TCP (RFC 7766 §5), NXDOMAIN and NODATA carry the negative TTL of the
//! SOA (RFC 2308 §5), and SERVFAIL, REFUSED or a timeout move on to the next server and, after the last, become
//! a failed answer so the script falls back. Otherwise the embedded backend answers from the zone files of
//! `[enum] zones` (no DNS server needed); with neither, every lookup fails at once. Only the answer crosses into
//! the core, so replay never touches the network.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;
use tokio::sync::mpsc;

use super::Feed;
use crate::config::Config;
use crate::events::Input;
use crate::routing::enum_dns::{EnumAnswer, Naptr};
use crate::routing::zone::{ZoneError, ZoneSet};

/// Where ENUM answers come from.
#[derive(Default)]
pub(crate) struct EnumBackend {
    zones: ZoneSet,
    /// One resolver per configured server, in the configured order, so a failing server's answer is seen (and
    /// logged) before the next one is asked.
    servers: Vec<(SocketAddr, TokioResolver)>,
    timeout: Duration,
}

impl EnumBackend {
    /// Loads the configured zone files and prepares a resolver for every configured server.
    pub(crate) fn from_config(config: &Config) -> Result<EnumBackend, ZoneError> {
        let mut files = Vec::new();
        for path in &config.enum_lookup.zones {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|err| ZoneError {
                file: name.clone(),
                line: 0,
                message: err.to_string(),
            })?;
            files.push((name, text));
        }
        let timeout = Duration::from_millis(config.enum_lookup.timeout_ms.max(1));
        let share = timeout / u32::try_from(config.enum_lookup.servers.len().max(1)).unwrap_or(1);
        let mut servers = Vec::new();
        for server in &config.enum_lookup.servers {
            let resolver = resolver_for(*server, share).map_err(|err| ZoneError {
                file: format!("[enum] servers {server}"),
                line: 0,
                message: err.to_string(),
            })?;
            servers.push((*server, resolver));
        }
        Ok(EnumBackend {
            zones: ZoneSet::parse(&files)?,
            servers,
            timeout,
        })
    }

    /// Answers query `id` for `domain` through the feed (so the answer is logged as an input in order).
    pub(crate) fn query(&self, id: u64, domain: &str, feed: &mpsc::UnboundedSender<Feed>) {
        if !self.servers.is_empty() {
            let (servers, timeout, domain, feed) = (
                self.servers.clone(),
                self.timeout,
                domain.to_string(),
                feed.clone(),
            );
            tokio::spawn(async move {
                let answer = dns_lookup(&servers, timeout, &domain).await;
                let input = Input::EnumAnswer { id, domain, answer };
                let _ = feed.send(Feed::Input(input));
            });
            return;
        }
        let answer = if self.zones.is_empty() {
            EnumAnswer::Failed {
                reason: "no ENUM backend configured".into(),
            }
        } else {
            self.zones.answer(domain)
        };
        let input = Input::EnumAnswer {
            id,
            domain: domain.to_string(),
            answer,
        };
        if feed.send(Feed::Input(input)).is_err() {
            tracing::warn!(domain, "ENUM answer dropped: core loop gone");
        }
    }
}

/// A resolver that asks only `server`, over UDP and over TCP when the UDP answer is truncated, within `timeout`
/// and without retries, a cache (the core caches, on its own clock) or the hosts file.
fn resolver_for(server: SocketAddr, timeout: Duration) -> Result<TokioResolver, NetError> {
    let mut udp = ConnectionConfig::udp();
    udp.port = server.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = server.port();
    let name_server = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![name_server]);
    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    options.attempts = 0;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    options.num_concurrent_reqs = 1;
    options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    *builder.options_mut() = options;
    builder.build()
}

/// Asks each server in turn, sharing `timeout` between them; the first usable answer wins.
async fn dns_lookup(
    servers: &[(SocketAddr, TokioResolver)],
    timeout: Duration,
    domain: &str,
) -> EnumAnswer {
    let deadline = tokio::time::Instant::now() + timeout;
    let share = timeout / u32::try_from(servers.len()).unwrap_or(1).max(1);
    let mut last = EnumAnswer::Failed {
        reason: format!("timeout after {} ms", timeout.as_millis()),
    };
    // An absolute name, so no search domain is ever appended.
    let name = match Name::from_ascii(format!("{}.", domain.trim_end_matches('.'))) {
        Ok(name) => name,
        Err(error) => {
            return EnumAnswer::Failed {
                reason: format!("bad ENUM domain {domain}: {error}"),
            }
        }
    };
    for (server, resolver) in servers {
        let until = (tokio::time::Instant::now() + share).min(deadline);
        let lookup = resolver.lookup(name.clone(), RecordType::NAPTR);
        let reason = match tokio::time::timeout_at(until, lookup).await {
            Ok(result) => match answer_of(result) {
                EnumAnswer::Failed { reason } => reason,
                answer => return answer,
            },
            Err(_) => "timeout".to_string(),
        };
        last = EnumAnswer::Failed {
            reason: format!("{server}: {reason}"),
        };
    }
    last
}

/// The answer the core sees for one server's result: the NAPTR records with the smallest TTL of the set,
/// NXDOMAIN or NODATA with the negative TTL, or a failure naming the response code.
fn answer_of(result: Result<hickory_resolver::lookup::Lookup, NetError>) -> EnumAnswer {
    match result {
        Ok(lookup) => {
            let mut ttl_s = u32::MAX;
            let mut records = Vec::new();
            for record in lookup.answers() {
                if let RData::NAPTR(naptr) = &record.data {
                    ttl_s = ttl_s.min(record.ttl);
                    records.push(Naptr {
                        order: naptr.order,
                        preference: naptr.preference,
                        flags: String::from_utf8_lossy(&naptr.flags).into_owned(),
                        services: String::from_utf8_lossy(&naptr.services).into_owned(),
                        regexp: String::from_utf8_lossy(&naptr.regexp).into_owned(),
                        replacement: replacement(&naptr.replacement),
                    });
                }
            }
            if records.is_empty() {
                ttl_s = 0;
            }
            EnumAnswer::Records { records, ttl_s }
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(none))) => {
            let negative_ttl_s = none.negative_ttl.unwrap_or(0);
            if none.response_code == ResponseCode::NXDomain {
                EnumAnswer::NxDomain { negative_ttl_s }
            } else {
                // NODATA: the name exists without NAPTR records; cached for the negative TTL.
                EnumAnswer::Records {
                    records: Vec::new(),
                    ttl_s: negative_ttl_s,
                }
            }
        }
        Err(NetError::Dns(DnsError::ResponseCode(code))) => EnumAnswer::Failed {
            reason: match code {
                ResponseCode::ServFail => "SERVFAIL".to_string(),
                ResponseCode::Refused => "REFUSED".to_string(),
                other => format!("RCODE {}", u16::from(other)),
            },
        },
        Err(NetError::Timeout) => EnumAnswer::Failed {
            reason: "timeout".into(),
        },
        Err(NetError::Truncated) => EnumAnswer::Failed {
            reason: "truncated response, also over TCP".into(),
        },
        Err(other) => EnumAnswer::Failed {
            reason: other.to_string(),
        },
    }
}

/// The REPLACEMENT field as the zone-file backend writes it: `.` for the root (RFC 3403 §4.1), otherwise the
/// lowercase name without the final dot.
fn replacement(name: &Name) -> String {
    if name.is_root() {
        return ".".to_string();
    }
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}
