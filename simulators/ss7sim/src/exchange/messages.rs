//! The exchange's ISUP traffic, message by message: DATA from M3UA decoded, logged, counted and fed to call
//! control; call control events handed to the scenario engine and the caller; scenario steps and caller commands
//! carried out on call control; ISUP sent as DATA on an active ASP chosen by SLS (RFC 4666 §4.3.4.3); and the
//! IAM `ss7sim call` originates (Q.763). The exchange's wiring, M3UA events and statistics file live in the
//! parent module.

use tandem::isup::call::CallEvent;
use tandem::isup::codec::{
    BackwardCallIndicators, CalledPartyNumber, CallingPartyNumber, CallingPartysCategory, Digits,
    EventInformation, ForwardCallIndicators, Iam, TransmissionMediumRequirement,
};
use tandem::isup::{Cic, IsupMessage, MessageType};
use tandem::sigtran::m3ua::{AspState, ProtocolData};

use crate::caller::CallerCommand;
use crate::scenario::{Action, Step, NORMAL_CALL_CLEARING};
use crate::stats::{Flow, SetupNumbers};

use super::{log, CallPlan, Exchange, SERVICE_INDICATOR_ISUP};

impl Exchange {
    pub(super) fn handle_data(&mut self, data: ProtocolData, now_ms: u64) {
        if data.si != SERVICE_INDICATOR_ISUP {
            log(format_args!(
                "<- DATA with SI {} (not ISUP), ignored",
                data.si
            ));
            return;
        }
        if data.dpc != self.config.opc || data.opc != self.config.dpc {
            log(format_args!(
                "<- DATA OPC {} DPC {} does not match ours (OPC {} DPC {}); processing anyway",
                data.opc, data.dpc, self.config.dpc, self.config.opc
            ));
        }
        match IsupMessage::decode(&data.user_data) {
            Ok(message) => self.record(Flow::Received, &message),
            Err(error) => log(format_args!(
                "<- undecodable ISUP ({error}); call control answers"
            )),
        }
        self.calls.handle_bytes(&data.user_data, now_ms);
    }

    pub(super) fn handle_call_event(&mut self, event: CallEvent, now_ms: u64) {
        match event {
            CallEvent::IncomingSetup { cic, iam } => {
                let called = iam
                    .called_party_number()
                    .and_then(Result::ok)
                    .map(|number| number.digits.to_string())
                    .unwrap_or_default();
                match self.engine.handle_incoming_setup(cic.0, &called, now_ms) {
                    Some(rule) => log(format_args!("cic={cic} called={called}: rule '{rule}'")),
                    None => log(format_args!(
                        "cic={cic} called={called}: no rule, refusing (cause 1)"
                    )),
                }
            }
            CallEvent::Answered { cic, .. } => {
                if let Some((caller, _)) = &mut self.caller {
                    caller.handle_answered(cic.0, now_ms);
                }
            }
            CallEvent::Released { cic, cause } => {
                self.engine.handle_call_ended(cic.0);
                if let Some((caller, _)) = &mut self.caller {
                    caller.handle_peer_released(cic.0, cause.cause_value);
                }
            }
            CallEvent::ReleaseComplete { cic } => {
                self.engine.handle_call_ended(cic.0);
                if let Some((caller, _)) = &mut self.caller {
                    caller.handle_release_complete(cic.0);
                }
            }
            CallEvent::TimerExpired { cic, timer, cause } => {
                log(format_args!(
                    "cic={cic}: timer {timer:?} expired (REL cause {cause:?})"
                ));
                self.engine.handle_call_ended(cic.0);
                if let Some((caller, _)) = &mut self.caller {
                    caller.handle_failure(cic.0, format!("CIC {cic}: timer {timer:?} expired"));
                }
            }
            CallEvent::ProtocolError { cic, error, cause } => {
                let cic = cic.map_or_else(|| "?".to_owned(), |c| c.to_string());
                log(format_args!(
                    "cic={cic}: ISUP protocol error: {error} (answered cause {cause:?})"
                ));
            }
            CallEvent::Alerting { .. } | CallEvent::Progress { .. } => {}
            other => log(format_args!("call control: {other:?}")),
        }
    }

    pub(super) fn perform(&mut self, action: Action, now_ms: u64) {
        let cic = Cic(action.cic);
        let result = match action.step {
            Step::AddressComplete => self.calls.alert(cic, subscriber_free(), Vec::new()),
            Step::Progress(event) => self.calls.progress(cic, EventInformation::new(event)),
            Step::Answer => self.calls.answer(cic),
            Step::Connect => self.calls.connect(cic, subscriber_free()),
            Step::Release(cause) => self.calls.release(cic, cause, now_ms),
        };
        match (result, action.step) {
            (Err(error), step) => log(format_args!(
                "scenario step {step:?} on cic={cic} refused: {error}"
            )),
            (Ok(()), Step::Answer | Step::Connect) => {
                self.engine.handle_answered(action.cic, now_ms)
            }
            (Ok(()), Step::Release(_)) => self.engine.handle_call_ended(action.cic),
            (Ok(()), _) => {}
        }
    }

    pub(super) fn perform_caller(&mut self, command: CallerCommand, now_ms: u64) {
        let Some((caller, plan)) = &mut self.caller else {
            return;
        };
        match command {
            CallerCommand::Setup { index } => match originating_iam(plan) {
                Ok(iam) => match self.calls.setup(iam, now_ms) {
                    Ok(cic) => caller.handle_setup_sent(cic.0, now_ms),
                    Err(error) => caller.handle_setup_failed(&format!("call {index}: {error}")),
                },
                Err(error) => caller.handle_setup_failed(&error),
            },
            CallerCommand::Release { cic } => {
                if let Err(error) = self.calls.release(Cic(cic), NORMAL_CALL_CLEARING, now_ms) {
                    caller.handle_failure(cic, format!("CIC {cic}: cannot release: {error}"));
                }
            }
        }
    }

    pub(super) fn send_isup(&mut self, message: IsupMessage) {
        let data = ProtocolData {
            opc: self.config.opc,
            dpc: self.config.dpc,
            si: SERVICE_INDICATOR_ISUP,
            ni: self.config.network_indicator,
            mp: 0,
            // Same SLS rule as tandem (CIC & 0x0f) so each circuit keeps one stream.
            sls: (message.cic.0 & 0x0f) as u8,
            user_data: message.encode(),
        };
        // Loadshare toward the AS: the SLS picks one of the active ASPs (RFC 4666 §4.3.4.3), its
        // bits reversed as tandem does, since one side's circuits are mostly all odd or all even.
        let active = self.active_asps();
        let spread = usize::from((data.sls & 0x0f).reverse_bits() >> 4);
        let chosen = active
            .get(spread % active.len().max(1))
            .copied()
            .or_else(|| self.asps.keys().next().copied());
        let result = match chosen.and_then(|id| self.asps.get_mut(&id).map(|asp| (id, asp))) {
            Some((id, asp)) => asp.send_data(data).map(|()| {
                *self.stats.data_sent_by_association.entry(id).or_default() += 1;
            }),
            None => Err(tandem::sigtran::m3ua::AspError::NotActive {
                state: AspState::Down,
            }),
        };
        // Recorded (and the statistics written) after the association's DATA count moved, so a
        // reader never sees the message without it.
        self.record(Flow::Sent, &message);
        if let Err(error) = result {
            log(format_args!(
                "cannot send {} cic={}: {error}",
                message.message_type.abbreviation(),
                message.cic
            ));
        }
    }

    pub(super) fn record(&mut self, flow: Flow, message: &IsupMessage) {
        let arrow = match flow {
            Flow::Received => "<-",
            Flow::Sent => "->",
        };
        let name = message.message_type.abbreviation();
        let mut line = format!("{arrow} {name} cic={}", message.cic);
        let numbers = (message.message_type == MessageType::IAM).then(|| SetupNumbers {
            called: message
                .called_party_number()
                .and_then(Result::ok)
                .map(|n| display_number(n.nature_of_address, &n.digits))
                .unwrap_or_default(),
            calling: message
                .calling_party_number()
                .and_then(Result::ok)
                .map(|n| display_number(n.nature_of_address, &n.digits))
                .unwrap_or_default(),
        });
        if let Some(numbers) = &numbers {
            line.push_str(&format!(
                " called={} calling={}",
                numbers.called, numbers.calling
            ));
        }
        let cause = message
            .cause_indicators()
            .and_then(Result::ok)
            .map(|cause| cause.cause_value);
        if let Some(cause) = cause {
            line.push_str(&format!(" cause={cause}"));
        }
        log(line);
        self.stats.record(flow, message.cic.0, name, numbers, cause);
        self.write_stats();
    }
}

/// Nature of address "international number" (Q.763 §3.9).
const NATURE_INTERNATIONAL: u8 = 4;
/// Nature of address "national (significant) number".
const NATURE_NATIONAL: u8 = 3;

fn display_number(nature_of_address: u8, digits: &Digits) -> String {
    if nature_of_address == NATURE_INTERNATIONAL {
        format!("+{digits}")
    } else {
        digits.to_string()
    }
}

/// Backward call indicators of the exchange's ACM/CON: charge, subscriber free, ordinary
/// subscriber, ISUP all the way (Q.763 §3.5).
fn subscriber_free() -> BackwardCallIndicators {
    BackwardCallIndicators {
        charge: 2,
        called_party_status: 1,
        called_party_category: 1,
        isdn_user_part: true,
        ..BackwardCallIndicators::default()
    }
}

fn split_number(text: &str) -> Result<(u8, Digits), String> {
    let (nature, digits) = match text.strip_prefix('+') {
        Some(rest) => (NATURE_INTERNATIONAL, rest),
        None => (NATURE_NATIONAL, text),
    };
    let digits = Digits::parse(digits).map_err(|error| format!("number '{text}': {error}"))?;
    Ok((nature, digits))
}

/// The IAM `ss7sim call` sends: NCI all zero, FCI ISUP all the way, CPC 10 (ordinary),
/// TMR 3 (3.1 kHz audio), E.164 numbers.
pub fn originating_iam(plan: &CallPlan) -> Result<Iam, String> {
    let (called_nature, called_digits) = split_number(&plan.to)?;
    let (calling_nature, calling_digits) = split_number(&plan.from)?;
    Ok(Iam {
        forward_call_indicators: ForwardCallIndicators {
            international_call: called_nature == NATURE_INTERNATIONAL,
            isdn_user_part: true,
            isdn_access: true,
            ..ForwardCallIndicators::default()
        },
        calling_partys_category: CallingPartysCategory::ORDINARY,
        transmission_medium_requirement: TransmissionMediumRequirement::AUDIO_3_1_KHZ,
        called_party_number: CalledPartyNumber {
            nature_of_address: called_nature,
            numbering_plan: 1,
            digits: called_digits,
            ..CalledPartyNumber::default()
        },
        calling_party_number: Some(CallingPartyNumber {
            nature_of_address: calling_nature,
            numbering_plan: 1,
            screening: 3,
            digits: calling_digits,
            ..CallingPartyNumber::default()
        }),
        ..Iam::default()
    })
}
