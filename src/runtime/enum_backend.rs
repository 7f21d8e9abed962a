//! The runtime side of ENUM: carries out the core's [`Output::EnumQuery`](crate::events::Output::EnumQuery) and
//! feeds the answer back as a recorded [`Input::EnumAnswer`]. The embedded backend answers from the zone files
//! of `[enum] zones` (no DNS server needed); without zones every lookup fails at once, so scripts fall back.

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
        })
    }

    /// Answers query `id` for `domain` through the feed (so the answer is logged as an input in order).
    pub(crate) fn query(&self, id: u64, domain: &str, feed: &mpsc::UnboundedSender<Feed>) {
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
