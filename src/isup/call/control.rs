//! Construction, local commands, outputs and the state/timer plumbing of [`CallControl`]
//! (Q.764 §2.1 call set-up, §2.3 release, §2.9.3 reset as initiated by this exchange).

use super::*;

impl CallControl {
    /// Call control for the circuits `config.cic_first ..= config.cic_last`, all idle.
    pub fn new(config: CallControlConfig) -> Result<Self, IsupCallError> {
        let pool = CircuitPool::new(config.cic_first, config.cic_last)?;
        let idle = Circuit {
            state: CallState::Idle,
            timers: TimerTable::default(),
        };
        Ok(CallControl {
            circuits: vec![idle; pool.len()],
            armed: std::collections::BTreeSet::new(),
            config,
            pool,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            transitions: VecDeque::new(),
        })
    }

    /// The circuit pool (busy and blocking flags).
    pub fn pool(&self) -> &CircuitPool {
        &self.pool
    }

    /// State of `cic`, if it belongs to the trunk group.
    pub fn state(&self, cic: Cic) -> Option<&CallState> {
        self.circuit(cic).map(|circuit| &circuit.state)
    }

    /// Whether `timer` is running on `cic`.
    pub fn is_timer_running(&self, cic: Cic, timer: Timer) -> bool {
        self.circuit(cic)
            .is_some_and(|circuit| circuit.timers.is_running(timer))
    }

    // ---- local commands -------------------------------------------------------------

    /// Starts an outgoing call: takes the lowest free circuit, sends the IAM, starts T7
    /// (Q.764 §2.1.1.1, §2.1.4.7).
    pub fn setup(&mut self, iam: Iam, now_ms: u64) -> Result<Cic, IsupCallError> {
        let cic = self.pool.allocate()?;
        self.send_initial_address(IsupMessage::iam(cic, iam), now_ms, "IAM sent");
        Ok(cic)
    }

    pub(super) fn send_initial_address(&mut self, iam: IsupMessage, now_ms: u64, reason: &str) {
        let cic = iam.cic;
        self.send(iam.clone());
        self.start_timer(cic, Timer::T7, now_ms);
        self.set_state(cic, CallState::AwaitingAddressComplete { iam }, reason);
    }

    /// Sends more digits (overlap sending) and restarts T7, which runs from the latest
    /// address message (Q.764 Annex A).
    pub fn send_subsequent_address(
        &mut self,
        cic: Cic,
        subsequent_number: &SubsequentNumber,
        now_ms: u64,
    ) -> Result<(), IsupCallError> {
        self.expect_state(cic, "send SAM", |s| {
            matches!(s, CallState::AwaitingAddressComplete { .. })
        })?;
        self.send(IsupMessage::sam(cic, subsequent_number));
        self.start_timer(cic, Timer::T7, now_ms);
        Ok(())
    }

    /// Incoming call: sends ACM (Q.764 §2.1.4.1).
    pub fn alert(
        &mut self,
        cic: Cic,
        backward_call_indicators: BackwardCallIndicators,
        optional: Vec<OptionalParameter>,
    ) -> Result<(), IsupCallError> {
        self.expect_state(cic, "send ACM", |s| *s == CallState::IncomingPresented)?;
        self.send(IsupMessage::acm(cic, backward_call_indicators, optional));
        self.set_state(cic, CallState::IncomingAlerting, "ACM sent");
        Ok(())
    }

    /// Incoming call: sends CPG after ACM (Q.764 §2.1.5).
    pub fn progress(
        &mut self,
        cic: Cic,
        event_information: EventInformation,
    ) -> Result<(), IsupCallError> {
        self.expect_state(cic, "send CPG", |s| {
            matches!(
                s,
                CallState::IncomingAlerting
                    | CallState::Answered {
                        direction: Direction::Incoming
                    }
            )
        })?;
        self.send(IsupMessage::cpg(cic, event_information));
        Ok(())
    }

    /// Incoming call: sends ANM after ACM (Q.764 §2.1.7).
    pub fn answer(&mut self, cic: Cic) -> Result<(), IsupCallError> {
        self.expect_state(cic, "send ANM", |s| *s == CallState::IncomingAlerting)?;
        self.send(IsupMessage::anm(cic));
        let answered = CallState::Answered {
            direction: Direction::Incoming,
        };
        self.set_state(cic, answered, "ANM sent");
        Ok(())
    }

    /// Incoming call: answers without a prior ACM by sending CON (Q.764 §2.1.7.2).
    pub fn connect(
        &mut self,
        cic: Cic,
        backward_call_indicators: BackwardCallIndicators,
    ) -> Result<(), IsupCallError> {
        self.expect_state(cic, "send CON", |s| *s == CallState::IncomingPresented)?;
        self.send(IsupMessage::con(cic, backward_call_indicators));
        let answered = CallState::Answered {
            direction: Direction::Incoming,
        };
        self.set_state(cic, answered, "CON sent");
        Ok(())
    }

    /// Releases the call on `cic` with Q.850 `cause` (location: public network serving the
    /// local user): sends REL, starts T1 and T5 (Q.764 §2.3.1).
    pub fn release(&mut self, cic: Cic, cause: u8, now_ms: u64) -> Result<(), IsupCallError> {
        self.release_with_cause(cic, local_cause(cause), now_ms)
    }

    /// Like [`CallControl::release`] with complete cause indicators (location, diagnostics).
    pub fn release_with_cause(
        &mut self,
        cic: Cic,
        cause: CauseIndicators,
        now_ms: u64,
    ) -> Result<(), IsupCallError> {
        self.expect_state(cic, "release", CallState::is_call)?;
        self.start_release(cic, cause, now_ms, "REL sent");
        Ok(())
    }

    /// Resets `cic` whatever its state: sends RSC, starts T16 and T17 (Q.764 §2.9.3.1).
    pub fn reset(&mut self, cic: Cic, now_ms: u64) -> Result<(), IsupCallError> {
        self.expect_state(cic, "reset", |_| true)?;
        self.start_reset(cic, now_ms, true, "RSC sent (local reset)");
        Ok(())
    }

    /// The signalling path to the peer is back (an association or ASP came up after none was active): sends
    /// RSC again at once on every circuit still awaiting reset acknowledgement, instead of at the next T16 or
    /// T17 expiry (Q.764 §2.9.3.1 repeats RSC on those timers; an RSC sent while the path was down was lost, and
    /// a restarted peer would otherwise see the circuit as idle while we hold it resetting). The running
    /// repeat timer (T16, or T17 once T16 has given way to it) starts again from now; T17 keeps running while
    /// T16 does, so maintenance is still alerted at the same time. Returns the circuits reset again.
    pub fn resend_pending_resets(&mut self, now_ms: u64) -> Vec<Cic> {
        let pending: Vec<Cic> = (0..self.circuits.len())
            .filter(|&index| {
                self.circuits
                    .get(index)
                    .is_some_and(|circuit| circuit.state == CallState::AwaitingResetAcknowledgement)
            })
            .filter_map(|index| {
                let offset = u16::try_from(index).ok()?;
                Some(Cic(self.config.cic_first.checked_add(offset)?))
            })
            .collect();
        for &cic in &pending {
            self.send(IsupMessage::rsc(cic));
            if self.is_timer_running(cic, Timer::T16) {
                self.start_timer(cic, Timer::T16, now_ms);
            } else {
                self.start_timer(cic, Timer::T17, now_ms);
            }
        }
        pending
    }

    // ---- outputs --------------------------------------------------------------------

    /// The next message to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<IsupMessage> {
        self.transmit.pop_front()
    }

    /// The next event for the layer above.
    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.events.pop_front()
    }

    /// The next recorded state change.
    pub fn poll_transition(&mut self) -> Option<Transition> {
        self.transitions.pop_front()
    }

    /// The earliest timer deadline, when `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.armed.first().map(|(deadline, _)| *deadline)
    }

    // ---- plumbing -------------------------------------------------------------------

    /// The one door for state changes: records the transition and keeps the pool's busy
    /// flag in step (busy in every state but Idle).
    pub(super) fn set_state(&mut self, cic: Cic, state: CallState, reason: impl Into<String>) {
        let Some(index) = self.index(cic) else {
            return;
        };
        let busy = state != CallState::Idle;
        let Some(circuit) = self.circuits.get_mut(index) else {
            return;
        };
        let from = circuit.state.name();
        let to = state.name();
        circuit.state = state;
        let _ = if busy {
            self.pool.mark_busy(cic)
        } else {
            self.pool.mark_idle(cic)
        };
        if from != to {
            self.transitions.push_back(Transition {
                machine: "isup-call",
                id: cic.to_string(),
                from: from.to_string(),
                to: to.to_string(),
                reason: reason.into(),
            });
        }
    }

    pub(super) fn expect_state(
        &self,
        cic: Cic,
        action: &'static str,
        allowed: impl Fn(&CallState) -> bool,
    ) -> Result<(), IsupCallError> {
        let state = self
            .state(cic)
            .ok_or(IsupCallError::Circuit(CircuitError::UnknownCircuit(cic)))?;
        if allowed(state) {
            Ok(())
        } else {
            Err(IsupCallError::InvalidState {
                cic,
                state: state.name(),
                action,
            })
        }
    }

    pub(super) fn index(&self, cic: Cic) -> Option<usize> {
        let index = usize::from(cic.0.checked_sub(self.config.cic_first)?);
        (index < self.circuits.len()).then_some(index)
    }

    pub(super) fn circuit(&self, cic: Cic) -> Option<&Circuit> {
        self.circuits.get(self.index(cic)?)
    }

    /// Changes the timers of the circuit at `index` and keeps the deadline index in step: the only place
    /// timers change.
    pub(super) fn update_timers(&mut self, index: usize, change: impl FnOnce(&mut TimerTable)) {
        let Some(circuit) = self.circuits.get_mut(index) else {
            return;
        };
        if let Some(deadline) = circuit.timers.next_deadline() {
            self.armed.remove(&(deadline, index));
        }
        change(&mut circuit.timers);
        if let Some(deadline) = circuit.timers.next_deadline() {
            self.armed.insert((deadline, index));
        }
    }

    pub(super) fn start_timer(&mut self, cic: Cic, timer: Timer, now_ms: u64) {
        let deadline = now_ms.saturating_add(self.config.timers.duration(timer));
        if let Some(index) = self.index(cic) {
            self.update_timers(index, |timers| timers.set(timer, deadline));
        }
    }

    pub(super) fn stop_timer(&mut self, cic: Cic, timer: Timer) {
        if let Some(index) = self.index(cic) {
            self.update_timers(index, |timers| timers.stop(timer));
        }
    }

    pub(super) fn stop_all_timers(&mut self, cic: Cic) {
        if let Some(index) = self.index(cic) {
            self.update_timers(index, TimerTable::stop_all);
        }
    }

    pub(super) fn send(&mut self, message: IsupMessage) {
        self.transmit.push_back(message);
    }

    pub(super) fn protocol_error(&mut self, cic: Option<Cic>, error: String, cause: Option<u8>) {
        self.events
            .push_back(CallEvent::ProtocolError { cic, error, cause });
    }
}
