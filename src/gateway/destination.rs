//! The trunk's destination point code as M3UA signalling network management reports it (RFC 4666 §1.4.3, §4.5;
//! the states of Q.704 §13): unknown until audited, then available, unavailable (DUNA), restricted (DRST), its ISUP
//! user part unavailable (DUPU), or congested (SCON). At every ASP activation the state goes back to unknown and a
//! DAUD audits it; new calls are refused while the destination is unavailable or its ISUP is.

use crate::sigtran::m3ua::{M3uaMessage, MessageType, Parameter, PointCodeEntry};

/// Service indicator of ISUP, the user part a DUPU must name to concern us.
const SI_ISUP: u16 = 5;

/// What SSNM said last about the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DestinationState {
    /// Not known since the ASP became active (audit pending).
    Unknown,
    /// DAVA: reachable.
    Available,
    /// DRST: reachable over a restricted route.
    Restricted,
    /// SCON: reachable, congested at this level (1..=3).
    Congested(u8),
    /// DUNA: unreachable.
    Unavailable,
    /// DUPU for ISUP, with the unavailability cause (0 unknown, 1 unequipped, 2 inaccessible).
    UserPartUnavailable(u16),
}

impl DestinationState {
    /// The state's name as logged.
    pub(crate) fn name(self) -> String {
        match self {
            DestinationState::Unknown => "Unknown".into(),
            DestinationState::Available => "Available".into(),
            DestinationState::Restricted => "Restricted".into(),
            DestinationState::Congested(level) => format!("Congested{level}"),
            DestinationState::Unavailable => "Unavailable".into(),
            DestinationState::UserPartUnavailable(cause) => format!("UserPartUnavailable{cause}"),
        }
    }
}

/// A state change, for the log: (from, to, reason).
pub(crate) type DestinationChange = (String, String, String);

/// The destination of one trunk.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    dpc: u32,
    state: DestinationState,
}

impl Destination {
    pub(crate) fn new(dpc: u32) -> Self {
        Self {
            dpc,
            state: DestinationState::Unknown,
        }
    }

    pub(crate) fn state(&self) -> DestinationState {
        self.state
    }

    /// Whether a new call may be set up toward the destination: unknown counts as reachable (many SGs do not
    /// answer DAUD); congestion is throttled separately (`gateway::congestion`).
    pub(crate) fn accepts_calls(&self) -> bool {
        !matches!(
            self.state,
            DestinationState::Unavailable | DestinationState::UserPartUnavailable(_)
        )
    }

    /// The one door for state changes.
    pub(crate) fn set(&mut self, to: DestinationState, reason: &str) -> Option<DestinationChange> {
        if self.state == to {
            return None;
        }
        let from = self.state;
        self.state = to;
        Some((from.name(), to.name(), reason.to_owned()))
    }

    /// The audit to send after activation: DAUD for our DPC (RFC 4666 §3.4.3).
    pub(crate) fn audit_point_codes(&self) -> Vec<PointCodeEntry> {
        vec![PointCodeEntry::exact(self.dpc)]
    }

    /// Whether an SSNM message's Affected Point Codes cover this destination.
    pub(crate) fn concerns(&self, message: &M3uaMessage) -> bool {
        message
            .affected_point_codes()
            .is_some_and(|entries| entries.iter().any(|entry| covers(entry, self.dpc)))
    }

    /// Applies an SSNM message; SSNM about other destinations is ignored.
    pub(crate) fn handle_ssnm(&mut self, message: &M3uaMessage) -> Option<DestinationChange> {
        let concerns_us = message
            .affected_point_codes()
            .is_some_and(|entries| entries.iter().any(|entry| covers(entry, self.dpc)));
        if !concerns_us {
            return None;
        }
        let name = message.message_type.name();
        let to = match message.message_type {
            MessageType::DestinationAvailable => DestinationState::Available,
            MessageType::DestinationUnavailable => DestinationState::Unavailable,
            MessageType::DestinationRestricted => DestinationState::Restricted,
            MessageType::SignallingCongestion => {
                let level = message.parameters.iter().find_map(|p| match p {
                    Parameter::CongestionIndications(raw) => Some((raw & 0xff) as u8),
                    _ => None,
                });
                match level {
                    Some(0) => DestinationState::Available,
                    Some(level) => DestinationState::Congested(level.min(3)),
                    // Without indications the level is not known; RFC 4666 §3.4.4 implies "congested".
                    None => DestinationState::Congested(1),
                }
            }
            MessageType::DestinationUserPartUnavailable => {
                let user_cause = message.parameters.iter().find_map(|p| match p {
                    Parameter::UserCause { cause, user } => Some((*user, *cause)),
                    _ => None,
                });
                match user_cause {
                    Some((SI_ISUP, cause)) => DestinationState::UserPartUnavailable(cause),
                    _ => return None,
                }
            }
            _ => return None,
        };
        self.set(to, &format!("{name} received"))
    }
}

/// Whether an Affected Point Code entry (a point code with `mask` wildcard low bits) covers `point_code`.
fn covers(entry: &PointCodeEntry, point_code: u32) -> bool {
    let shift = u32::from(entry.mask.min(24));
    (entry.point_code >> shift) == ((point_code & 0x00ff_ffff) >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssnm(message_type: MessageType, point_code: u32, extra: Vec<Parameter>) -> M3uaMessage {
        let mut parameters = vec![Parameter::AffectedPointCode(vec![PointCodeEntry::exact(
            point_code,
        )])];
        parameters.extend(extra);
        M3uaMessage::new(message_type, parameters)
    }

    #[test]
    fn starts_unknown_and_follows_duna_dava_scon_dupu() {
        let mut destination = Destination::new(187);
        assert_eq!(destination.state(), DestinationState::Unknown);
        assert!(destination.accepts_calls());
        let change =
            destination.handle_ssnm(&ssnm(MessageType::DestinationUnavailable, 187, vec![]));
        assert_eq!(
            change,
            Some((
                "Unknown".into(),
                "Unavailable".into(),
                "DUNA received".into()
            ))
        );
        assert!(!destination.accepts_calls());
        destination.handle_ssnm(&ssnm(MessageType::DestinationAvailable, 187, vec![]));
        assert_eq!(destination.state(), DestinationState::Available);
        destination.handle_ssnm(&ssnm(
            MessageType::SignallingCongestion,
            187,
            vec![Parameter::CongestionIndications(2)],
        ));
        assert_eq!(destination.state(), DestinationState::Congested(2));
        assert!(destination.accepts_calls());
        // DUPU for another user part (SCCP, 3) does not concern ISUP.
        let sccp = ssnm(
            MessageType::DestinationUserPartUnavailable,
            187,
            vec![Parameter::UserCause { cause: 2, user: 3 }],
        );
        assert_eq!(destination.handle_ssnm(&sccp), None);
        let isup = ssnm(
            MessageType::DestinationUserPartUnavailable,
            187,
            vec![Parameter::UserCause { cause: 1, user: 5 }],
        );
        destination.handle_ssnm(&isup);
        assert_eq!(
            destination.state(),
            DestinationState::UserPartUnavailable(1)
        );
        assert!(!destination.accepts_calls());
        // The same state again is no change.
        assert_eq!(destination.handle_ssnm(&isup), None);
    }

    #[test]
    fn other_destinations_and_wildcards() {
        let mut destination = Destination::new(0x0123);
        assert_eq!(
            destination.handle_ssnm(&ssnm(MessageType::DestinationUnavailable, 0x0124, vec![])),
            None
        );
        // Mask 3: 0x0120..=0x0127 are covered.
        let wildcard = M3uaMessage::new(
            MessageType::DestinationUnavailable,
            vec![Parameter::AffectedPointCode(vec![PointCodeEntry {
                mask: 3,
                point_code: 0x0120,
            }])],
        );
        assert!(destination.handle_ssnm(&wildcard).is_some());
        assert_eq!(destination.state(), DestinationState::Unavailable);
        assert_eq!(
            destination.audit_point_codes(),
            [PointCodeEntry::exact(0x0123)]
        );
    }
}
