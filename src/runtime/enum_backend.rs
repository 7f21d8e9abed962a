//! The runtime side of ENUM: carries out the core's [`Output::EnumQuery`](crate::events::Output::EnumQuery) and
//! feeds the answer back as a recorded [`Input::EnumAnswer`]. With `[enum] servers` the query goes to those DNS
//! servers over UDP, one after the other within `timeout_ms` (a timeout is a failed answer, so the script falls
//! back); otherwise the embedded backend answers from the zone files of `[enum] zones` (no DNS server needed);
//! with neither, every lookup fails at once.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Feed;
use crate::config::Config;
use crate::events::Input;
use crate::routing::enum_dns::EnumAnswer;
use crate::routing::zone::{ZoneError, ZoneSet};

/// Where ENUM answers come from.
#[derive(Debug, Default)]
pub(crate) struct EnumBackend {
    zones: ZoneSet,
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

impl EnumBackend {
    /// Loads the configured zone files.
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
        Ok(EnumBackend {
            zones: ZoneSet::parse(&files)?,
            servers: config.enum_lookup.servers.clone(),
            timeout: Duration::from_millis(config.enum_lookup.timeout_ms.max(1)),
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
                let answer = dns_lookup(&servers, timeout, id, &domain).await;
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

/// Asks each server in turn, sharing `timeout` between them; the first usable answer wins.
async fn dns_lookup(
    servers: &[SocketAddr],
    timeout: Duration,
    id: u64,
    domain: &str,
) -> EnumAnswer {
    let deadline = tokio::time::Instant::now() + timeout;
    let share = timeout / u32::try_from(servers.len()).unwrap_or(1).max(1);
    let mut last = EnumAnswer::Failed {
        reason: format!("timeout after {} ms", timeout.as_millis()),
    };
    for server in servers {
        let until = (tokio::time::Instant::now() + share).min(deadline);
        match tokio::time::timeout_at(until, ask(*server, id, domain)).await {
            Ok(Ok(EnumAnswer::Failed { reason })) => {
                last = EnumAnswer::Failed {
                    reason: format!("{server}: {reason}"),
                }
            }
            Ok(Ok(answer)) => return answer,
            Ok(Err(error)) => {
                last = EnumAnswer::Failed {
                    reason: format!("{server}: {error}"),
                }
            }
            Err(_) => {
                last = EnumAnswer::Failed {
                    reason: format!("{server}: timeout"),
                }
            }
        }
    }
    last
}

async fn ask(server: SocketAddr, id: u64, domain: &str) -> std::io::Result<EnumAnswer> {
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    socket.connect(server).await?;
    // The message id mixes the query id with the clock so answers cannot be guessed from the log.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let message_id = (id as u16) ^ (nanos as u16) ^ ((nanos >> 16) as u16);
    socket
        .send(&crate::routing::dns_wire::naptr_query(message_id, domain))
        .await?;
    let mut buffer = vec![0u8; 4096];
    loop {
        let length = socket.recv(&mut buffer).await?;
        let Some(message) = buffer.get(..length) else {
            continue;
        };
        match crate::routing::dns_wire::read_naptr_response(message_id, message) {
            Ok(Some(answer)) => return Ok(answer),
            Ok(None) => continue,
            Err(error) => {
                return Ok(EnumAnswer::Failed {
                    reason: error.to_string(),
                })
            }
        }
    }
}
