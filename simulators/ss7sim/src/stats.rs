//! What the simulated exchange saw and sent, for tests to assert on: counts of ISUP messages
//! by Q.763 abbreviation in each direction, the last calls with their message sequence, and
//! whether the peer ASP is active (RFC 4666 §4.3). Serialised as JSON by the runtime
//! (`--stats FILE`), written atomically (temporary file, then rename).

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use serde::Serialize;

/// How many calls [`Stats::calls`] keeps.
pub const MAX_CALLS: usize = 1000;

/// One call as the exchange saw it, from IAM to RLC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// Circuit identification code.
    pub cic: u16,
    /// `"incoming"` (IAM received) or `"outgoing"` (IAM sent by ss7sim).
    pub direction: &'static str,
    /// Called party number digits (with `+` when international).
    pub called: String,
    /// Calling party number digits, empty when absent.
    pub calling: String,
    /// Q.763 abbreviations of every ISUP message of the call, both directions, in the
    /// order they crossed the link.
    pub messages: Vec<String>,
    /// Cause of the first REL, if any.
    pub release_cause: Option<u8>,
    /// Which side sent the first REL: `"exchange"` or `"peer"`.
    pub released_by: Option<&'static str>,
    /// Whether RLC closed the call.
    pub complete: bool,
}

/// Counters and the recent-call list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// ISUP messages received, by abbreviation.
    pub received: BTreeMap<String, u64>,
    /// ISUP messages sent, by abbreviation.
    pub sent: BTreeMap<String, u64>,
    /// Calls between IAM and RLC right now.
    pub busy_cics: usize,
    /// The last [`MAX_CALLS`] calls, oldest first.
    pub calls: VecDeque<CallRecord>,
    /// Whether the peer ASP is ACTIVE.
    pub asp_active: bool,
    /// SCTP associations accepted so far.
    pub associations: u64,
    /// Associations whose peer ASP is ACTIVE now (several: ASPs of one loadshare AS).
    pub active_asps: usize,
    /// M3UA DATA received, by association id (in the order they came up, from 1; 0 when only
    /// one association is served at a time).
    pub data_received_by_association: BTreeMap<u64, u64>,
    /// M3UA DATA sent, by association id.
    pub data_sent_by_association: BTreeMap<u64, u64>,
}

/// Direction of a message relative to the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// From the peer (tandem).
    Received,
    /// From ss7sim.
    Sent,
}

/// Called/calling numbers of an IAM, for the call record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupNumbers {
    /// Called party number.
    pub called: String,
    /// Calling party number.
    pub calling: String,
}

impl Stats {
    /// Records one ISUP message. `numbers` is given for an IAM; `cause` for a REL.
    pub fn record(
        &mut self,
        flow: Flow,
        cic: u16,
        abbreviation: &str,
        numbers: Option<SetupNumbers>,
        cause: Option<u8>,
    ) {
        let counts = match flow {
            Flow::Received => &mut self.received,
            Flow::Sent => &mut self.sent,
        };
        *counts.entry(abbreviation.to_owned()).or_default() += 1;
        if let Some(numbers) = numbers {
            self.close_open_call(cic);
            if self.calls.len() >= MAX_CALLS {
                self.calls.pop_front();
            }
            self.calls.push_back(CallRecord {
                cic,
                direction: match flow {
                    Flow::Received => "incoming",
                    Flow::Sent => "outgoing",
                },
                called: numbers.called,
                calling: numbers.calling,
                messages: Vec::new(),
                release_cause: None,
                released_by: None,
                complete: false,
            });
        }
        if let Some(call) = self.open_call(cic) {
            call.messages.push(abbreviation.to_owned());
            if abbreviation == "REL" && call.release_cause.is_none() {
                call.release_cause = cause;
                call.released_by = Some(match flow {
                    Flow::Received => "peer",
                    Flow::Sent => "exchange",
                });
            }
            if abbreviation == "RLC" {
                call.complete = true;
            }
        }
        self.busy_cics = self.calls.iter().filter(|call| !call.complete).count();
    }

    /// The association went down: open calls are over.
    pub fn close_all(&mut self) {
        for call in self.calls.iter_mut() {
            call.complete = true;
        }
        self.busy_cics = 0;
    }

    fn open_call(&mut self, cic: u16) -> Option<&mut CallRecord> {
        self.calls
            .iter_mut()
            .rev()
            .find(|call| call.cic == cic && !call.complete)
    }

    fn close_open_call(&mut self, cic: u16) {
        if let Some(call) = self.open_call(cic) {
            call.complete = true;
        }
    }

    /// The statistics as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Writes the JSON to `path` atomically (to `path.tmp`, then rename).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        std::fs::write(&temporary, self.to_json())?;
        std::fs::rename(&temporary, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(called: &str) -> Option<SetupNumbers> {
        Some(SetupNumbers {
            called: called.to_owned(),
            calling: "4940".to_owned(),
        })
    }

    #[test]
    fn counts_messages_and_tracks_a_call() {
        let mut stats = Stats::default();
        stats.record(Flow::Received, 3, "IAM", numbers("4930123"), None);
        stats.record(Flow::Sent, 3, "ACM", None, None);
        assert_eq!(stats.busy_cics, 1);
        stats.record(Flow::Received, 3, "REL", None, Some(16));
        stats.record(Flow::Sent, 3, "RLC", None, None);
        assert_eq!(stats.busy_cics, 0);
        assert_eq!(stats.received.get("IAM"), Some(&1));
        assert_eq!(stats.sent.get("RLC"), Some(&1));
        let call = &stats.calls[0];
        assert_eq!(call.messages, ["IAM", "ACM", "REL", "RLC"]);
        assert_eq!(call.release_cause, Some(16));
        assert_eq!(call.released_by, Some("peer"));
        let json: serde_json::Value = serde_json::from_str(&stats.to_json()).expect("valid JSON");
        assert_eq!(json["calls"][0]["called"], "4930123");
        assert_eq!(json["received"]["IAM"], 1);
        assert_eq!(json["asp_active"], false);
    }

    #[test]
    fn keeps_at_most_max_calls() {
        let mut stats = Stats::default();
        for index in 0..(MAX_CALLS + 5) {
            let cic = (index % 31) as u16 + 1;
            stats.record(Flow::Received, cic, "IAM", numbers("1"), None);
            stats.record(Flow::Sent, cic, "RLC", None, None);
        }
        assert_eq!(stats.calls.len(), MAX_CALLS);
        assert_eq!(stats.received.get("IAM"), Some(&((MAX_CALLS + 5) as u64)));
    }

    #[test]
    fn message_without_call_only_counts() {
        let mut stats = Stats::default();
        stats.record(Flow::Received, 9, "RSC", None, None);
        assert!(stats.calls.is_empty());
        assert_eq!(stats.received.get("RSC"), Some(&1));
    }
}
