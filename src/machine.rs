//! What every sans-IO protocol machine (SIP leg and transactions, ISUP call control, M3UA ASP) reports when it
//! changes state. Each machine sends every change through one function that records one of these, so the
//! gateway can append it to the event log and replay can compare it.

/// One state change of a protocol machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Which kind of machine changed state (`sip.leg`, `isup-call`, `m3ua_asp`, ...).
    pub machine: &'static str,
    /// The instance (leg or transaction id, CIC, trunk name).
    pub id: String,
    /// State before the change.
    pub from: String,
    /// State after the change.
    pub to: String,
    /// What caused the change (the message, command or timer).
    pub reason: String,
}

impl From<Transition> for crate::events::Transition {
    fn from(transition: Transition) -> Self {
        crate::events::Transition {
            machine: transition.machine.to_string(),
            id: transition.id,
            from: transition.from,
            to: transition.to,
            reason: transition.reason,
        }
    }
}
