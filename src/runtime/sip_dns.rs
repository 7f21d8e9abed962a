//! The runtime side of RFC 3263: carries out the core's [`Output::SipDnsQuery`](crate::events::Output::SipDnsQuery)
//! with hickory-resolver and feeds the answer back as a recorded [`Input::SipDnsAnswer`]. With `[sip] dns_servers`
//! the questions go to those servers (UDP, then TCP on truncation); otherwise to the system's resolvers
//! (`/etc/resolv.conf`). The resolver's own cache is off: the core caches by TTL, so that a replay sees the same
//! hits and misses.

use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType as HickoryType};
use hickory_resolver::TokioResolver;
use tokio::sync::mpsc;

use super::Feed;
use crate::config::Config;
use crate::events::Input;
use crate::sip::rfc3263::{DnsAnswer, DnsRecord, RecordType};

/// How long an absence is remembered when the server gives no SOA.
const DEFAULT_NEGATIVE_TTL_S: u32 = 30;

/// The resolver used for SIP targets (none when it could not be built; then every lookup fails).
pub(crate) struct SipDns {
    resolver: Option<TokioResolver>,
    why_not: String,
}

impl SipDns {
    /// Builds the resolver from `[sip] dns_servers` / `dns_timeout_ms`.
    pub(crate) fn from_config(config: &Config) -> SipDns {
        let provider = TokioRuntimeProvider::default();
        let builder = if config.sip.dns_servers.is_empty() {
            TokioResolver::builder(provider).map_err(|error| error.to_string())
        } else {
            let servers = config
                .sip
                .dns_servers
                .iter()
                .map(|server| {
                    let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                        .into_iter()
                        .map(|mut connection| {
                            connection.port = server.port();
                            connection
                        })
                        .collect();
                    NameServerConfig::new(server.ip(), true, connections)
                })
                .collect();
            Ok(TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, Vec::new(), servers),
                provider,
            ))
        };
        let built = builder.and_then(|mut builder| {
            let options = builder.options_mut();
            options.timeout = Duration::from_millis(config.sip.dns_timeout_ms.max(1));
            options.attempts = 1;
            options.cache_size = 0;
            builder.build().map_err(|error| error.to_string())
        });
        match built {
            Ok(resolver) => SipDns {
                resolver: Some(resolver),
                why_not: String::new(),
            },
            Err(why_not) => {
                tracing::warn!(%why_not, "no DNS resolver for SIP targets");
                SipDns {
                    resolver: None,
                    why_not,
                }
            }
        }
    }

    /// Answers query `id` through the feed (so the answer is logged as an input in order).
    pub(crate) fn query(
        &self,
        id: u64,
        name: &str,
        rtype: RecordType,
        feed: &mpsc::UnboundedSender<Feed>,
    ) {
        let name = name.to_string();
        let feed = feed.clone();
        let Some(resolver) = self.resolver.clone() else {
            let answer = DnsAnswer::Failed {
                reason: format!("no resolver: {}", self.why_not),
            };
            let _ = feed.send(Feed::Input(Input::SipDnsAnswer {
                id,
                name,
                rtype,
                answer,
            }));
            return;
        };
        tokio::spawn(async move {
            let answer = lookup(&resolver, &name, rtype).await;
            let _ = feed.send(Feed::Input(Input::SipDnsAnswer {
                id,
                name,
                rtype,
                answer,
            }));
        });
    }
}

async fn lookup(resolver: &TokioResolver, name: &str, rtype: RecordType) -> DnsAnswer {
    let hickory_type = match rtype {
        RecordType::Naptr => HickoryType::NAPTR,
        RecordType::Srv => HickoryType::SRV,
        RecordType::A => HickoryType::A,
        RecordType::Aaaa => HickoryType::AAAA,
    };
    // Absolute name: no search domains.
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    match resolver.lookup(fqdn.as_str(), hickory_type).await {
        Ok(found) => {
            let mut ttl_s = u32::MAX;
            let mut records = Vec::new();
            for record in found.answers() {
                let converted = match &record.data {
                    RData::NAPTR(naptr) => DnsRecord::Naptr {
                        order: naptr.order,
                        preference: naptr.preference,
                        flags: String::from_utf8_lossy(&naptr.flags).into_owned(),
                        service: String::from_utf8_lossy(&naptr.services).into_owned(),
                        replacement: naptr.replacement.to_ascii(),
                    },
                    RData::SRV(srv) => DnsRecord::Srv {
                        priority: srv.priority,
                        weight: srv.weight,
                        port: srv.port,
                        target: srv.target.to_ascii(),
                    },
                    RData::A(a) => DnsRecord::Address { ip: a.0.into() },
                    RData::AAAA(aaaa) => DnsRecord::Address { ip: aaaa.0.into() },
                    // CNAMEs followed on the way, and anything else, are not ours to use.
                    _ => continue,
                };
                ttl_s = ttl_s.min(record.ttl);
                records.push(converted);
            }
            if records.is_empty() {
                ttl_s = DEFAULT_NEGATIVE_TTL_S;
            }
            DnsAnswer::Records { ttl_s, records }
        }
        Err(error) if error.is_nx_domain() => DnsAnswer::NxDomain {
            negative_ttl_s: DEFAULT_NEGATIVE_TTL_S,
        },
        // NODATA: the name exists without records of this type.
        Err(error) if error.is_no_records_found() => DnsAnswer::Records {
            ttl_s: DEFAULT_NEGATIVE_TTL_S,
            records: Vec::new(),
        },
        Err(error) => DnsAnswer::Failed {
            reason: error.to_string(),
        },
    }
}
