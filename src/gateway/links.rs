//! Link and destination state of the trunks as the gateway core follows it: which link a link id names, the
//! route set recomputed when a link's availability changes, destination state changes reported by SSNM (RFC 4666
//! §3.4) recorded as transitions, and the congestion throttle fed by SCON and by ISUP ACL (Q.764 §2.11) and its
//! abatement.

use super::{destination, Gateway};
use crate::events::{EventKind, LogLevel, Transition};

impl Gateway {
    /// The trunk and link a link id (the trunk's name, or `trunk/association`) names.
    pub(super) fn link_index(&self, id: &str) -> Option<(usize, usize)> {
        self.trunks
            .iter()
            .enumerate()
            .find_map(|(index, trunk)| trunk.link_index(id).map(|link| (index, link)))
    }

    /// Recomputes a trunk's route set after a link changed; on a trunk with several links every change of a
    /// link's availability is a log line (traffic moved to or from it).
    pub(crate) fn refresh_routes(&mut self, trunk: usize) {
        let changes = self.trunks[trunk].refresh_routes();
        if self.trunks[trunk].links.len() < 2 {
            return;
        }
        for (link, available) in changes {
            let trunk_ref = &self.trunks[trunk];
            let id = trunk_ref.links[link].config.id.clone();
            let carrying: Vec<&str> = (0..trunk_ref.links.len())
                .filter(|&i| trunk_ref.routes.is_available(i))
                .map(|i| trunk_ref.links[i].config.id.as_str())
                .collect();
            let text = format!(
                "trunk {id}: route to DPC {} {}; traffic on {}",
                trunk_ref.config.dpc,
                if available {
                    "available"
                } else {
                    "unavailable"
                },
                if carrying.is_empty() {
                    "no link".to_owned()
                } else {
                    carrying.join(", ")
                }
            );
            self.log(LogLevel::Info, text);
        }
    }

    /// Records a state change of the destination as one link reports it (machine `m3ua_destination`, id
    /// `link/DPC`, where the link id is the trunk's name for a single-association trunk).
    pub(crate) fn record_destination_change(
        &mut self,
        trunk: usize,
        link: usize,
        change: Option<destination::DestinationChange>,
    ) {
        let Some((from, to, reason)) = change else {
            return;
        };
        let link_id = self.trunks[trunk].links[link].config.id.clone();
        let id = format!("{link_id}/{}", self.trunks[trunk].config.dpc);
        self.log(
            LogLevel::Info,
            format!("trunk {link_id}: destination {from} -> {to} ({reason})"),
        );
        self.push_call_event(
            None,
            EventKind::Transition(Transition {
                machine: "m3ua_destination".into(),
                id,
                from,
                to,
                reason,
            }),
        );
    }

    /// Feeds SCON about the trunk's destination (received on `link`) to the trunk's throttle; any other SSNM about
    /// it ends the congestion.
    pub(crate) fn follow_congestion(
        &mut self,
        trunk: usize,
        link: usize,
        message: &crate::sigtran::m3ua::M3uaMessage,
    ) {
        use crate::sigtran::m3ua::MessageType;
        let now = self.now;
        let trunk = &mut self.trunks[trunk];
        let Some(destination) = trunk.links.get(link).map(|l| &l.destination) else {
            return;
        };
        if !destination.concerns(message) {
            return;
        }
        match (message.message_type, destination.state()) {
            (
                MessageType::SignallingCongestion,
                destination::DestinationState::Congested(level),
            ) => trunk.congestion.handle_scon(level, now),
            // DAUD answers and reports of other states say nothing new about congestion unless they change it.
            (_, destination::DestinationState::Congested(_)) => {}
            _ => trunk.congestion.clear(),
        }
    }

    /// ISUP automatic congestion control (Q.764 §2.11): an ACL in a REL throttles new calls toward that exchange
    /// like SCON at the same level, and abates the same way.
    pub(crate) fn congestion_reported(&mut self, trunk: usize, level: u8) {
        let now = self.now;
        let level = level.min(3);
        self.trunks[trunk].congestion.handle_scon(level, now);
        // The REL names no association: every link on which the destination is reachable shows the level.
        self.set_link_congestion(
            trunk,
            destination::DestinationState::Congested(level),
            "ACL in REL",
            |state| !matches!(state, destination::DestinationState::Unavailable),
        );
    }

    /// Lowers a trunk's congestion level once the abatement time passed without SCON.
    pub(super) fn abate_congestion(&mut self, trunk: usize, now_ms: u64) {
        let Some(level) = self.trunks[trunk].congestion.handle_timeout(now_ms) else {
            return;
        };
        let to = match level {
            0 => destination::DestinationState::Available,
            level => destination::DestinationState::Congested(level),
        };
        let quiet = self.trunks[trunk].config.congestion.abatement_ms;
        self.set_link_congestion(trunk, to, &format!("no SCON for {quiet} ms"), |state| {
            matches!(state, destination::DestinationState::Congested(_))
        });
    }

    /// Sets the destination state of every link of `trunk` whose current state `applies` to.
    pub(super) fn set_link_congestion(
        &mut self,
        trunk: usize,
        to: destination::DestinationState,
        reason: &str,
        applies: impl Fn(destination::DestinationState) -> bool,
    ) {
        for link in 0..self.trunks[trunk].links.len() {
            let destination = &mut self.trunks[trunk].links[link].destination;
            if !applies(destination.state()) {
                continue;
            }
            let change = destination.set(to, reason);
            self.record_destination_change(trunk, link, change);
        }
        self.refresh_routes(trunk);
    }
}
