//! Q.764 basic call control (§2.1–§2.3) and the circuit reset and abnormal-condition
//! procedures it needs (§2.9), for every circuit of one trunk group, sans-IO.
//!
//! Drive it like the other tandem machines: feed `handle_message` / `handle_bytes` /
//! local commands / `handle_timeout(now_ms)`, then drain `poll_transmit`, `poll_event` and
//! `poll_transition`, and arm a timer for `poll_timeout`. Every state change of a circuit
//! goes through one function, which records a [`Transition`].
//!
//! Not yet handled: continuity check, overlap receiving timers, suspend/resume (passed up as
//! [`CallEvent::Message`]), local blocking, group blocking.

use std::collections::VecDeque;

use crate::isup::circuit::{CircuitError, CircuitPool};
use crate::isup::codec::{
    causes, BackwardCallIndicators, CauseIndicators, Cic, EventInformation, Iam, IsupError,
    IsupMessage, MessageType, OptionalParameter, RangeAndStatus, SubsequentNumber, Variant,
};
use crate::isup::timer::{IsupTimers, Timer, TimerTable};
use crate::isup::Transition;

/// Configuration of one trunk group's call control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallControlConfig {
    /// First CIC of the trunk group.
    pub cic_first: u16,
    /// Last CIC of the trunk group (inclusive).
    pub cic_last: u16,
    /// Timer durations.
    pub timers: IsupTimers,
    /// Which circuits this exchange controls when both ends seize the same circuit
    /// (Q.764 §2.9.1.4 a: the exchange with the higher signalling point code controls the
    /// even-numbered CICs, the other the odd ones).
    pub controlled_circuits: ControlledCircuits,
    /// Cause sent in REL when T7 expires. Q.764 Annex A only says "release all equipment and
    /// connection (send release message)"; #31 "normal, unspecified" is what common
    /// implementations send (e.g. the Dialogic ISUP stack), #102 is the alternative.
    pub t7_expiry_cause: u8,
    /// Cause sent in REL when T9 expires: #19 "no answer from user (user alerted)", the
    /// Q.118 awaiting-answer case.
    pub t9_expiry_cause: u8,
    /// The ISUP variant spoken on the trunk; received messages are decoded with its layouts.
    pub variant: Variant,
}

impl CallControlConfig {
    /// A configuration for `cic_first ..= cic_last` with default timers and causes.
    pub fn new(cic_first: u16, cic_last: u16) -> Self {
        CallControlConfig {
            cic_first,
            cic_last,
            timers: IsupTimers::default(),
            controlled_circuits: ControlledCircuits::Even,
            t7_expiry_cause: causes::NORMAL_UNSPECIFIED,
            t9_expiry_cause: causes::NO_ANSWER_FROM_USER,
            variant: Variant::Itu,
        }
    }
}

/// The circuits on which this exchange wins a dual seizure (Q.764 §2.9.1.4 a).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlledCircuits {
    /// Even CICs: our signalling point code is the higher one.
    Even,
    /// Odd CICs: our signalling point code is the lower one.
    Odd,
}

impl ControlledCircuits {
    /// Whether this exchange controls `cic`.
    pub fn controls(self, cic: Cic) -> bool {
        cic.0.is_multiple_of(2) == (self == ControlledCircuits::Even)
    }
}

/// Which side sent the IAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We sent the IAM.
    Outgoing,
    /// The peer sent the IAM.
    Incoming,
}

/// State of one circuit (Q.764 §2.1–§2.3, §2.9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallState {
    /// No call on the circuit.
    Idle,
    /// Outgoing: IAM sent, T7 running, waiting for ACM or CON (§2.1.4). Keeps the IAM for
    /// the automatic repeat attempt after a lost dual seizure (§2.9.1.4).
    AwaitingAddressComplete {
        /// The IAM sent.
        iam: IsupMessage,
    },
    /// Outgoing: ACM received, T9 running, waiting for ANM (§2.1.7).
    AwaitingAnswer,
    /// Incoming: IAM received and reported, no backward message sent yet (§2.1.1.2).
    IncomingPresented,
    /// Incoming: ACM sent, waiting for the local answer (§2.1.4).
    IncomingAlerting,
    /// Answered: ANM or CON passed in the given direction (§2.1.7, conversation phase).
    Answered {
        /// Which side set the call up.
        direction: Direction,
    },
    /// REL sent, T1 and T5 running, waiting for RLC (§2.3.1, §2.9.6). Keeps the REL for
    /// retransmission.
    AwaitingReleaseComplete {
        /// The REL sent, repeated on each T1 expiry.
        release: IsupMessage,
    },
    /// RSC sent, T16 (and after T5 also T17) running, waiting for RLC (§2.9.3.1).
    AwaitingResetAcknowledgement,
}

impl CallState {
    /// Short name used in transitions and errors.
    pub fn name(&self) -> &'static str {
        match self {
            CallState::Idle => "Idle",
            CallState::AwaitingAddressComplete { .. } => "AwaitingAddressComplete",
            CallState::AwaitingAnswer => "AwaitingAnswer",
            CallState::IncomingPresented => "IncomingPresented",
            CallState::IncomingAlerting => "IncomingAlerting",
            CallState::Answered {
                direction: Direction::Outgoing,
            } => "AnsweredOutgoing",
            CallState::Answered {
                direction: Direction::Incoming,
            } => "AnsweredIncoming",
            CallState::AwaitingReleaseComplete { .. } => "AwaitingReleaseComplete",
            CallState::AwaitingResetAcknowledgement => "AwaitingResetAcknowledgement",
        }
    }

    fn is_call(&self) -> bool {
        matches!(
            self,
            CallState::AwaitingAddressComplete { .. }
                | CallState::AwaitingAnswer
                | CallState::IncomingPresented
                | CallState::IncomingAlerting
                | CallState::Answered { .. }
        )
    }
}

/// What call control reports to the layer above (interworking).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// An IAM seized a circuit; answer with `alert`/`connect`/`release`.
    IncomingSetup {
        /// Circuit.
        cic: Cic,
        /// The IAM as received.
        iam: IsupMessage,
    },
    /// SAM received during incoming setup (overlap).
    SubsequentAddress {
        /// Circuit.
        cic: Cic,
        /// The SAM.
        message: IsupMessage,
    },
    /// ACM received.
    Alerting {
        /// Circuit.
        cic: Cic,
        /// The ACM.
        message: IsupMessage,
    },
    /// CPG received.
    Progress {
        /// Circuit.
        cic: Cic,
        /// The CPG.
        message: IsupMessage,
    },
    /// ANM or CON received.
    Answered {
        /// Circuit.
        cic: Cic,
        /// The ANM or CON.
        message: IsupMessage,
    },
    /// A REL carried an Automatic Congestion Level (Q.764 §2.11): the peer exchange is overloaded at `level`
    /// (1 or 2). Reported just before the [`CallEvent::Released`] of the same REL.
    CongestionReported {
        /// Circuit of the REL.
        cic: Cic,
        /// The ACL value.
        level: u8,
    },
    /// The peer released (REL received, RLC sent) or reset the circuit during a call.
    Released {
        /// Circuit.
        cic: Cic,
        /// Cause from the REL (or #31 when it had none readable / on reset).
        cause: CauseIndicators,
    },
    /// We lost a dual seizure on `cic` (Q.764 §2.9.1.4): our outgoing call was backed off
    /// and repeated on `new_cic`, or failed (cause #34) when `new_cic` is `None`. Reported
    /// before the [`CallEvent::IncomingSetup`] of the peer's call on `cic`.
    Reattempted {
        /// Circuit our call left.
        cic: Cic,
        /// Circuit of the repeat attempt, if one was free.
        new_cic: Option<Cic>,
    },
    /// Our release or reset finished (RLC received, or REL collision); the circuit is idle.
    ReleaseComplete {
        /// Circuit.
        cic: Cic,
    },
    /// A timer expired; `cause` is the cause of the REL sent, if any.
    TimerExpired {
        /// Circuit.
        cic: Cic,
        /// Which timer.
        timer: Timer,
        /// Cause value sent in REL because of the expiry.
        cause: Option<u8>,
    },
    /// The peer's CFN (Q.764 §2.9.5): it did not understand something we sent.
    Confusion {
        /// Circuit.
        cic: Cic,
        /// The CFN.
        message: IsupMessage,
    },
    /// Another message relevant to the call or circuit (SUS, RES, APM, FAC, UCIC, …).
    Message {
        /// Circuit.
        cic: Cic,
        /// The message.
        message: IsupMessage,
    },
    /// Undecodable or unexpected input; `cause` is what we answered with (if anything).
    ProtocolError {
        /// Circuit, when readable.
        cic: Option<Cic>,
        /// Description.
        error: String,
        /// Q.850 cause of the answer sent (CFN/REL), if one was sent.
        cause: Option<u8>,
    },
}

/// Errors of local commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsupCallError {
    /// Circuit pool error (no idle circuit: Q.850 cause 34; CIC outside the group).
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// The command does not fit the circuit's state.
    #[error("CIC {cic}: cannot {action} in state {state}")]
    InvalidState {
        /// Circuit.
        cic: Cic,
        /// State name.
        state: &'static str,
        /// Command attempted.
        action: &'static str,
    },
}

impl IsupCallError {
    /// The Q.850 cause to report upward (34 when no circuit is free, else 41 temporary failure).
    pub fn cause(&self) -> u8 {
        match self {
            IsupCallError::Circuit(CircuitError::NoCircuitAvailable { .. }) => {
                causes::NO_CIRCUIT_AVAILABLE
            }
            _ => 41,
        }
    }
}

#[derive(Debug, Clone)]
struct Circuit {
    state: CallState,
    timers: TimerTable,
}

/// Q.764 call control for all circuits of one trunk group.
///
/// Methods: `setup` and the local commands (`alert`, `progress`, `answer`, `connect`,
/// `release`, `reset`) act on our side; `handle_message`, `handle_bytes` and
/// `handle_timeout` take inputs; after any of them drain `poll_transmit`, `poll_event` and
/// `poll_transition`, then re-arm the runtime timer from `poll_timeout`.
#[derive(Debug, Clone)]
pub struct CallControl {
    config: CallControlConfig,
    pool: CircuitPool,
    circuits: Vec<Circuit>,
    /// Circuits with a running timer, by their earliest deadline: finding the next deadline must not mean
    /// scanning every circuit of a large trunk group on each input.
    armed: std::collections::BTreeSet<(u64, usize)>,
    transmit: VecDeque<IsupMessage>,
    events: VecDeque<CallEvent>,
    transitions: VecDeque<Transition>,
}

fn local_cause(value: u8) -> CauseIndicators {
    CauseIndicators::new(value, CauseIndicators::LOCATION_PUBLIC_NETWORK_LOCAL_USER)
}

mod control;
mod procedures;

#[cfg(test)]
mod tests;
