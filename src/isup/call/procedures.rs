//! How [`CallControl`] reacts to received messages and timer expiries (Q.764 §2.1–§2.3
//! basic call, §2.9.1 dual seizure, §2.9.3 reset, §2.9.5 unreasonable messages, §2.9.6 T1/T5).

use super::*;

impl CallControl {
    // ---- inputs ---------------------------------------------------------------------

    /// Decodes and handles one received message. Undecodable input is reported as
    /// [`CallEvent::ProtocolError`] and answered per Q.764 §2.9.5 when the CIC is ours: a
    /// broken IAM is refused with REL, a broken REL still releases (RLC), a broken RLC still
    /// completes, anything else gets CFN with [`IsupError::cause`]; CFN is never answered.
    pub fn handle_bytes(&mut self, bytes: &[u8], now_ms: u64) {
        match IsupMessage::decode_variant(bytes, self.config.variant) {
            Ok(message) => self.handle_message(message, now_ms),
            Err(error) => self.handle_undecodable(bytes, &error, now_ms),
        }
    }

    /// Handles one decoded message received from the peer.
    pub fn handle_message(&mut self, message: IsupMessage, now_ms: u64) {
        let cic = message.cic;
        let Some(state) = self.state(cic).cloned() else {
            self.protocol_error(
                Some(cic),
                "CIC not in this trunk group; discarded".into(),
                None,
            );
            return;
        };
        match message.message_type {
            MessageType::IAM => self.on_initial_address(message, &state, now_ms),
            MessageType::SAM
                if matches!(
                    state,
                    CallState::IncomingPresented | CallState::IncomingAlerting
                ) =>
            {
                self.events
                    .push_back(CallEvent::SubsequentAddress { cic, message });
            }
            MessageType::ACM if matches!(state, CallState::AwaitingAddressComplete { .. }) => {
                self.stop_timer(cic, Timer::T7);
                self.start_timer(cic, Timer::T9, now_ms);
                self.set_state(cic, CallState::AwaitingAnswer, "ACM received");
                self.events.push_back(CallEvent::Alerting { cic, message });
            }
            MessageType::CPG
                if matches!(
                    state,
                    CallState::AwaitingAnswer
                        | CallState::Answered {
                            direction: Direction::Outgoing
                        }
                ) =>
            {
                self.events.push_back(CallEvent::Progress { cic, message });
            }
            MessageType::ANM | MessageType::CON
                if matches!(state, CallState::AwaitingAddressComplete { .. })
                    || (message.message_type == MessageType::ANM
                        && state == CallState::AwaitingAnswer) =>
            {
                self.stop_timer(cic, Timer::T7);
                self.stop_timer(cic, Timer::T9);
                let reason = format!("{} received", message.message_type.abbreviation());
                let answered = CallState::Answered {
                    direction: Direction::Outgoing,
                };
                self.set_state(cic, answered, reason);
                self.events.push_back(CallEvent::Answered { cic, message });
            }
            MessageType::REL => {
                let cause = match message.cause_indicators() {
                    Some(Ok(cause)) => cause,
                    _ => {
                        let error = "REL with unreadable cause indicators; released with #31";
                        self.protocol_error(Some(cic), error.into(), None);
                        local_cause(causes::NORMAL_UNSPECIFIED)
                    }
                };
                // Q.764 §2.11: an overloaded exchange puts its Automatic Congestion Level (Q.763 §3.4: 1 or 2) in
                // the REL it sends; the layer above reduces traffic toward it.
                let acl = crate::isup::codec::ParameterCode::AUTOMATIC_CONGESTION_LEVEL;
                if let Some(&level) = message.parameter(acl).and_then(<[u8]>::first) {
                    if level > 0 {
                        self.events
                            .push_back(CallEvent::CongestionReported { cic, level });
                    }
                }
                self.on_release(cic, &state, cause);
            }
            MessageType::RLC => self.on_release_complete(cic, &state, now_ms),
            MessageType::RSC => {
                self.on_reset_received(cic, &state, "RSC received");
                self.send(IsupMessage::rlc(cic));
            }
            MessageType::GRS => self.on_group_reset(&message),
            MessageType::BLO => {
                let _ = self.pool.set_remotely_blocked(cic, true);
                self.send(IsupMessage::bare(cic, MessageType::BLA));
                self.events.push_back(CallEvent::Message { cic, message });
            }
            MessageType::UBL => {
                let _ = self.pool.set_remotely_blocked(cic, false);
                self.send(IsupMessage::bare(cic, MessageType::UBA));
                self.events.push_back(CallEvent::Message { cic, message });
            }
            MessageType::UCIC => {
                // The peer has no such circuit: never offer it again until reset/unblocked.
                let _ = self.pool.set_remotely_blocked(cic, true);
                self.events.push_back(CallEvent::Message { cic, message });
            }
            MessageType::CFN => self.events.push_back(CallEvent::Confusion { cic, message }),
            MessageType::Unknown(code) => {
                let mut cause = local_cause(causes::MESSAGE_TYPE_NON_EXISTENT);
                cause.diagnostics = vec![code];
                self.send(IsupMessage::cfn(cic, &cause));
                let error = format!("unrecognized message type 0x{code:02X}; CFN sent");
                self.protocol_error(Some(cic), error, Some(causes::MESSAGE_TYPE_NON_EXISTENT));
            }
            MessageType::SAM
            | MessageType::ACM
            | MessageType::CPG
            | MessageType::ANM
            | MessageType::CON => self.on_unexpected(message, &state, now_ms),
            _ => self.events.push_back(CallEvent::Message { cic, message }),
        }
    }

    /// Fires every timer due at `now_ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let mut expired = Vec::new();
        let due: Vec<usize> = self
            .armed
            .iter()
            .take_while(|(deadline, _)| *deadline <= now_ms)
            .map(|(_, index)| *index)
            .collect();
        for index in due {
            let mut fired = Vec::new();
            self.update_timers(index, |timers| {
                while let Some(timer) = timers.take_expired(now_ms) {
                    fired.push(timer);
                }
            });
            expired.extend(fired.into_iter().map(|timer| (index, timer)));
        }
        let first = self.config.cic_first;
        for (index, timer) in expired {
            self.on_timer(Cic(first + index as u16), timer, now_ms);
        }
    }

    // ---- procedures -----------------------------------------------------------------

    pub(super) fn on_initial_address(
        &mut self,
        message: IsupMessage,
        state: &CallState,
        now_ms: u64,
    ) {
        let cic = message.cic;
        match state {
            CallState::Idle => match message.to_iam() {
                Ok(_) => {
                    self.set_state(cic, CallState::IncomingPresented, "IAM received");
                    self.events
                        .push_back(CallEvent::IncomingSetup { cic, iam: message });
                }
                Err(error) => self.refuse_initial_address(cic, &error, now_ms),
            },
            CallState::AwaitingAddressComplete { .. }
                if self.config.controlled_circuits.controls(cic) =>
            {
                let error = "dual seizure (Q.764 §2.9.1.4): we control this CIC; IAM ignored";
                self.protocol_error(Some(cic), error.into(), None);
            }
            CallState::AwaitingAddressComplete { iam } => {
                self.back_off(cic, iam.clone(), message, now_ms);
            }
            other => {
                let error = format!("IAM received in state {}; discarded", other.name());
                self.protocol_error(Some(cic), error, None);
            }
        }
    }

    /// Lost dual seizure (§2.9.1.4 b): give the circuit to the peer's call and repeat ours
    /// on another circuit of the group.
    fn back_off(
        &mut self,
        cic: Cic,
        mut our_iam: IsupMessage,
        their_iam: IsupMessage,
        now_ms: u64,
    ) {
        self.stop_all_timers(cic);
        self.set_state(
            cic,
            CallState::IncomingPresented,
            "dual seizure lost; IAM received",
        );
        let new_cic = self.pool.allocate().ok();
        if let Some(new_cic) = new_cic {
            our_iam.cic = new_cic;
            self.send_initial_address(our_iam, now_ms, "IAM repeated after dual seizure");
        }
        self.events
            .push_back(CallEvent::Reattempted { cic, new_cic });
        self.events.push_back(CallEvent::IncomingSetup {
            cic,
            iam: their_iam,
        });
    }

    pub(super) fn refuse_initial_address(&mut self, cic: Cic, error: &IsupError, now_ms: u64) {
        let mut cause = local_cause(error.cause());
        if let IsupError::InvalidParameter { parameter, .. } = error {
            cause.diagnostics = vec![parameter.0];
        }
        self.start_release(
            cic,
            cause,
            now_ms,
            "IAM with bad mandatory parameter refused",
        );
        let text = format!("IAM refused with REL: {error}");
        self.protocol_error(Some(cic), text, Some(error.cause()));
    }

    pub(super) fn handle_undecodable(&mut self, bytes: &[u8], error: &IsupError, now_ms: u64) {
        let cic = match bytes {
            [low, high, ..] => Some(Cic(u16::from_le_bytes([*low, *high]))),
            _ => None,
        };
        let state = cic.and_then(|cic| self.state(cic).cloned());
        let (Some(cic), Some(state)) = (cic, state) else {
            self.protocol_error(cic, format!("undecodable message discarded: {error}"), None);
            return;
        };
        let message_type = MessageType::from_code(bytes.get(2).copied().unwrap_or(0));
        match message_type {
            MessageType::IAM if state == CallState::Idle => {
                self.refuse_initial_address(cic, error, now_ms);
            }
            MessageType::REL => {
                self.protocol_error(
                    Some(cic),
                    format!("malformed REL treated as REL #31: {error}"),
                    None,
                );
                self.on_release(cic, &state, local_cause(causes::NORMAL_UNSPECIFIED));
            }
            MessageType::RLC => {
                self.protocol_error(
                    Some(cic),
                    format!("malformed RLC treated as RLC: {error}"),
                    None,
                );
                self.on_release_complete(cic, &state, now_ms);
            }
            MessageType::CFN => {
                self.protocol_error(Some(cic), format!("malformed CFN discarded: {error}"), None);
            }
            _ => {
                let mut cause = local_cause(error.cause());
                if let IsupError::InvalidParameter { parameter, .. } = error {
                    cause.diagnostics = vec![parameter.0];
                }
                self.send(IsupMessage::cfn(cic, &cause));
                let text = format!(
                    "malformed {} answered with CFN: {error}",
                    message_type.abbreviation()
                );
                self.protocol_error(Some(cic), text, Some(error.cause()));
            }
        }
    }

    /// Q.764 §2.9.5: a call message that does not fit the state. On an idle circuit the
    /// circuit is reset so both ends agree again; otherwise the message is discarded.
    pub(super) fn on_unexpected(&mut self, message: IsupMessage, state: &CallState, now_ms: u64) {
        let cic = message.cic;
        let name = message.message_type.abbreviation();
        if *state == CallState::Idle {
            self.start_reset(
                cic,
                now_ms,
                true,
                "unexpected message on idle circuit; RSC sent",
            );
            self.protocol_error(
                Some(cic),
                format!("unexpected {name} on idle circuit; circuit reset"),
                None,
            );
        } else {
            let error = format!("unexpected {name} in state {}; discarded", state.name());
            self.protocol_error(Some(cic), error, None);
        }
    }

    /// REL received (Q.764 §2.3.2): answer RLC and free the circuit.
    pub(super) fn on_release(&mut self, cic: Cic, state: &CallState, cause: CauseIndicators) {
        self.send(IsupMessage::rlc(cic));
        match state {
            CallState::Idle | CallState::AwaitingResetAcknowledgement => {}
            CallState::AwaitingReleaseComplete { .. } => {
                // Both ends released at once (§2.3.1): the peer's REL completes ours.
                self.clear(cic, "REL received while awaiting RLC (collision)");
                self.events.push_back(CallEvent::ReleaseComplete { cic });
            }
            _ => {
                self.clear(cic, "REL received; RLC sent");
                self.events.push_back(CallEvent::Released { cic, cause });
            }
        }
    }

    /// RLC received: completes our REL or RSC; ignored on an idle circuit (§2.9.5.1);
    /// during a call it means the ends disagree, so the call is released (cause #111).
    pub(super) fn on_release_complete(&mut self, cic: Cic, state: &CallState, now_ms: u64) {
        match state {
            CallState::Idle => {}
            CallState::AwaitingReleaseComplete { .. } => {
                self.clear(cic, "RLC received");
                self.events.push_back(CallEvent::ReleaseComplete { cic });
            }
            CallState::AwaitingResetAcknowledgement => {
                self.clear(cic, "RLC received (reset acknowledged)");
                self.events.push_back(CallEvent::ReleaseComplete { cic });
            }
            _ => {
                let cause = local_cause(causes::PROTOCOL_ERROR_UNSPECIFIED);
                self.start_release(
                    cic,
                    cause.clone(),
                    now_ms,
                    "unexpected RLC during call; REL sent",
                );
                self.events.push_back(CallEvent::Released { cic, cause });
            }
        }
    }

    /// RSC or GRS received for `cic` (§2.9.3.1): the circuit goes idle and remote blocking
    /// is cleared; a call on it is reported released.
    pub(super) fn on_reset_received(&mut self, cic: Cic, state: &CallState, reason: &str) {
        let _ = self.pool.set_remotely_blocked(cic, false);
        match state {
            CallState::Idle => {}
            CallState::AwaitingReleaseComplete { .. } | CallState::AwaitingResetAcknowledgement => {
                self.clear(cic, reason);
                self.events.push_back(CallEvent::ReleaseComplete { cic });
            }
            _ => {
                self.clear(cic, reason);
                let cause = local_cause(causes::NORMAL_UNSPECIFIED);
                self.events.push_back(CallEvent::Released { cic, cause });
            }
        }
    }

    /// GRS received (§2.9.3.2): reset every circuit of the range we own, answer GRA whose
    /// status bits mark the locally blocked ones. A range outside 1..=31 is discarded.
    pub(super) fn on_group_reset(&mut self, message: &IsupMessage) {
        let base = message.cic;
        let range = match message.range_and_status() {
            Some(Ok(RangeAndStatus { range, .. })) if (1..=31).contains(&range) => range,
            _ => {
                let error = "GRS with missing or out-of-range range and status; discarded";
                self.protocol_error(Some(base), error.into(), None);
                return;
            }
        };
        let mut status = vec![0u8; usize::from(range) / 8 + 1];
        for offset in 0..=range {
            let Some(cic) = base.0.checked_add(u16::from(offset)).map(Cic) else {
                break;
            };
            let Some(state) = self.state(cic).cloned() else {
                continue;
            };
            self.on_reset_received(cic, &state, "GRS received");
            let locally_blocked = self.pool.status(cic).is_some_and(|s| s.locally_blocked);
            if let Some(octet) = status.get_mut(usize::from(offset / 8)) {
                *octet |= u8::from(locally_blocked) << (offset % 8);
            }
        }
        self.send(IsupMessage::gra(base, &RangeAndStatus { range, status }));
    }

    pub(super) fn on_timer(&mut self, cic: Cic, timer: Timer, now_ms: u64) {
        let Some(state) = self.state(cic).cloned() else {
            return;
        };
        let mut cause = None;
        match (timer, state) {
            (Timer::T1, CallState::AwaitingReleaseComplete { release }) => {
                // §2.9.6: repeat REL until RLC or T5.
                self.send(release);
                self.start_timer(cic, Timer::T1, now_ms);
            }
            (Timer::T5, CallState::AwaitingReleaseComplete { .. }) => {
                // §2.9.6 / Annex A: send RSC, alert maintenance, stop T1, start T17.
                self.start_reset(cic, now_ms, false, "T5 expired; RSC sent");
            }
            (Timer::T7, CallState::AwaitingAddressComplete { .. }) => {
                let value = self.config.t7_expiry_cause;
                self.start_release(cic, local_cause(value), now_ms, "T7 expired; REL sent");
                cause = Some(value);
            }
            (Timer::T9, CallState::AwaitingAnswer) => {
                let value = self.config.t9_expiry_cause;
                self.start_release(cic, local_cause(value), now_ms, "T9 expired; REL sent");
                cause = Some(value);
            }
            (Timer::T16, CallState::AwaitingResetAcknowledgement) => {
                self.send(IsupMessage::rsc(cic));
                self.start_timer(cic, Timer::T16, now_ms);
            }
            (Timer::T17, CallState::AwaitingResetAcknowledgement) => {
                // §2.9.3.1: from now on repeat RSC every T17 and keep alerting maintenance.
                self.stop_timer(cic, Timer::T16);
                self.send(IsupMessage::rsc(cic));
                self.start_timer(cic, Timer::T17, now_ms);
            }
            // A timer left over from a state it no longer belongs to: nothing to do.
            _ => return,
        }
        self.events
            .push_back(CallEvent::TimerExpired { cic, timer, cause });
    }

    pub(super) fn start_release(
        &mut self,
        cic: Cic,
        cause: CauseIndicators,
        now_ms: u64,
        reason: &str,
    ) {
        self.stop_all_timers(cic);
        let release = IsupMessage::rel(cic, &cause);
        self.send(release.clone());
        self.start_timer(cic, Timer::T1, now_ms);
        self.start_timer(cic, Timer::T5, now_ms);
        self.set_state(cic, CallState::AwaitingReleaseComplete { release }, reason);
    }

    pub(super) fn start_reset(&mut self, cic: Cic, now_ms: u64, with_t16: bool, reason: &str) {
        self.stop_all_timers(cic);
        self.send(IsupMessage::rsc(cic));
        if with_t16 {
            self.start_timer(cic, Timer::T16, now_ms);
        }
        self.start_timer(cic, Timer::T17, now_ms);
        self.set_state(cic, CallState::AwaitingResetAcknowledgement, reason);
    }

    pub(super) fn clear(&mut self, cic: Cic, reason: &str) {
        self.stop_all_timers(cic);
        self.set_state(cic, CallState::Idle, reason);
    }
}
