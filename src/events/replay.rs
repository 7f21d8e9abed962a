//! Replay: feed a log's inputs into a fresh core and check that it produces exactly the transitions and outputs the
//! log recorded. Any difference is a bug (non-determinism, or a behaviour change between releases), reported with
//! the first diverging event.

use thiserror::Error;

use super::types::{Event, EventKind, Input, EVENT_FORMAT_VERSION};
use crate::gateway::{Driver, GatewayError};

/// Why a log could not be replayed at all.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The log does not start with a start event.
    #[error("the log does not start with a start event (first event: {0})")]
    NoStart(String),
    /// The log was written by an incompatible release.
    #[error("the log uses event format {found}, this tandem reads format {expected}")]
    Version {
        /// The log's format.
        found: u32,
        /// Ours.
        expected: u32,
    },
    /// The recorded setup does not build a core.
    #[error("the recorded setup does not build a core: {0}")]
    Setup(#[from] GatewayError),
}

/// The first place where the replayed core differs from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Sequence number of the recorded event that differs (or the one a missing event should have had).
    pub seq: u64,
    /// What the log holds there, if anything.
    pub recorded: Option<Event>,
    /// What the replayed core produced there, if anything.
    pub replayed: Option<Event>,
}

/// Outcome of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Events compared.
    pub events: usize,
    /// Number of events that differed (counting stops at the first divergence of each input's group).
    pub divergences: usize,
    /// The first divergence, if any.
    pub first: Option<Divergence>,
}

/// Replays `events` (a whole log in sequence order).
pub fn replay(events: &[Event]) -> Result<ReplayReport, ReplayError> {
    let Some(first) = events.first() else {
        return Err(ReplayError::NoStart("none: the log is empty".into()));
    };
    let EventKind::Input(Input::Start(setup)) = &first.kind else {
        return Err(ReplayError::NoStart(format!("{:?}", first.kind)));
    };
    if setup.format_version != EVENT_FORMAT_VERSION {
        return Err(ReplayError::Version {
            found: setup.format_version,
            expected: EVENT_FORMAT_VERSION,
        });
    }
    let (mut driver, started) = Driver::start((**setup).clone(), first.at_ms)?;
    let mut report = ReplayReport {
        events: 0,
        divergences: 0,
        first: None,
    };
    let mut index = 0;
    let mut started = Some(started);
    while index < events.len() {
        // A group is one input and everything the core produced for it.
        let end = events[index + 1..]
            .iter()
            .position(|e| matches!(e.kind, EventKind::Input(_)))
            .map_or(events.len(), |offset| index + 1 + offset);
        let recorded = &events[index..end];
        let replayed = match (started.take(), &recorded[0].kind) {
            (Some(start_events), _) => start_events,
            (None, EventKind::Input(input)) => driver.feed(input.clone(), recorded[0].at_ms),
            (None, _) => Vec::new(),
        };
        report.events += recorded.len();
        let longest = recorded.len().max(replayed.len());
        for position in 0..longest {
            let want = recorded.get(position);
            let got = replayed.get(position);
            if want != got {
                report.divergences += 1;
                if report.first.is_none() {
                    report.first = Some(Divergence {
                        seq: want.or(got).map_or(0, |e| e.seq),
                        recorded: want.cloned(),
                        replayed: got.cloned(),
                    });
                }
                break;
            }
        }
        index = end;
    }
    Ok(report)
}
