//! One interworking call: which SIP leg and which circuit it joins, how far it has got, and which side is done.
//! State changes go through [`Gateway::set_call_state`], the one door that records them.

use std::collections::VecDeque;

use super::routing::PendingRouting;
use super::sip_side::IncomingInvite;
use crate::gateway::Gateway;
use crate::routing::{CallView, Route};
use crate::sip::{LegId, Sdp};

/// Which side placed the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A SIP INVITE arrived; the call goes out as an IAM.
    Sip,
    /// An IAM arrived; the call goes out as a SIP INVITE.
    Isup,
}

/// How far a call has got (RFC 3398 §7 and §8 call flows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// The dialplan is choosing a route.
    Routing,
    /// The outgoing side has been seized (IAM or INVITE sent), nothing heard back yet.
    Proceeding,
    /// The far end is ringing or in-band information is flowing (ACM/CPG, 18x).
    Alerting,
    /// The far end answered (ANM/CON, 200); on the SIP-originated side the ACK is awaited.
    Answered,
    /// Both sides connected.
    Active,
    /// One side has cleared; the other is being released.
    Releasing,
}

impl CallState {
    /// The state's name as logged.
    pub fn name(self) -> &'static str {
        match self {
            CallState::Routing => "Routing",
            CallState::Proceeding => "Proceeding",
            CallState::Alerting => "Alerting",
            CallState::Answered => "Answered",
            CallState::Active => "Active",
            CallState::Releasing => "Releasing",
        }
    }

    /// Whether the call has been answered (so clearing is BYE/REL rather than a final response/CANCEL).
    pub fn is_answered(self) -> bool {
        matches!(self, CallState::Answered | CallState::Active)
    }
}

/// One call through the gateway.
#[derive(Debug, Clone)]
pub struct Call {
    /// Call number (the log's call id is `c<number>`).
    pub number: u64,
    /// Which side placed it.
    pub origin: Origin,
    /// Current state.
    pub state: CallState,
    /// The SIP leg, once there is one (for SIP-originated calls, the incoming one).
    pub leg: Option<LegId>,
    /// SIP→SIP calls: the outgoing leg toward the dialplan's SIP target (a dialog of its own: B2BUA).
    pub out_leg: Option<LegId>,
    /// The outgoing SIP leg needs nothing more (or there never was one).
    pub out_done: bool,
    /// Index of the trunk group, once chosen.
    pub trunk: Option<usize>,
    /// The circuit, once seized.
    pub cic: Option<u16>,
    /// The SIP leg needs nothing more.
    pub sip_done: bool,
    /// The circuit is idle again (or was never seized).
    pub isup_done: bool,
    /// The SIP peer's offer, for the answer tandem gives.
    pub offer: Option<Sdp>,
    /// Whether an ACM went out (ISUP-originated calls: decides ANM vs CON, ACM vs CPG).
    pub acm_sent: bool,
    /// Whether answered before clearing started.
    pub was_answered: bool,
    /// What the dialplan saw (kept for the routes still to try).
    pub(crate) view: Option<Box<CallView>>,
    /// The INVITE of a SIP-originated call (kept for the routes still to try).
    pub(crate) invite: Option<Box<IncomingInvite>>,
    /// Routes of the decision not tried yet, in order.
    pub(crate) routes: VecDeque<Route>,
    /// The dialplan run waiting for lookups, while the call is in [`CallState::Routing`].
    pub(crate) routing: Option<Box<PendingRouting>>,
}

impl Call {
    /// A new call in [`CallState::Routing`].
    pub fn new(number: u64, origin: Origin) -> Call {
        Call {
            number,
            origin,
            state: CallState::Routing,
            leg: None,
            out_leg: None,
            out_done: true,
            trunk: None,
            cic: None,
            sip_done: false,
            isup_done: true,
            offer: None,
            acm_sent: false,
            was_answered: false,
            view: None,
            invite: None,
            routes: VecDeque::new(),
            routing: None,
        }
    }

    /// Takes the leg tandem placed toward a SIP target (SIP→SIP: the outgoing one; ISUP→SIP: the only one), when
    /// that target failed and another is to be tried.
    pub(crate) fn take_outgoing_leg(&mut self) -> Option<LegId> {
        match self.origin {
            Origin::Sip => self.out_leg.take(),
            Origin::Isup => self.leg.take(),
        }
    }
}

impl Gateway {
    /// The one door for call state changes: records `old -> new` with the reason.
    pub(crate) fn set_call_state(&mut self, number: u64, state: CallState, reason: &str) {
        let Some(call) = self.calls.get_mut(&number) else {
            return;
        };
        let from = call.state;
        if from == state {
            return;
        }
        call.was_answered |= from.is_answered();
        call.state = state;
        self.record_call_transition(number, from.name(), state.name(), reason);
    }

    /// Forgets a call once both sides are done, freeing its leg and circuit mappings.
    pub(crate) fn finish_if_done(&mut self, number: u64) {
        let Some(call) = self.calls.get(&number) else {
            return;
        };
        if !(call.sip_done && call.isup_done && call.out_done) {
            return;
        }
        let from = call.state.name();
        let call = call.clone();
        self.calls.remove(&number);
        self.forget_targets(number);
        for leg in [call.leg, call.out_leg].into_iter().flatten() {
            self.legs.remove(&leg);
        }
        if let (Some(trunk), Some(cic)) = (call.trunk, call.cic) {
            if let Some(trunk) = self.trunks.get_mut(trunk) {
                if trunk.cics.get(&cic) == Some(&number) {
                    trunk.cics.remove(&cic);
                }
            }
        }
        self.record_call_transition(number, from, "Released", "both sides cleared");
    }
}
