//! Event plumbing of the gateway core: running every machine until none has anything left to hand over (SIP
//! transitions, events and transmits; per trunk the M3UA ASPs and ISUP call control), and recording what that
//! produces — transitions, outputs and operator log lines — attributed to the call they belong to, in the queue
//! [`Gateway::poll_event`] drains.

use super::{call_id, events_transport, Gateway};
use crate::events::{EventKind, LogLevel, Output, Payload, Transition};
use crate::sip::LegId;

impl Gateway {
    /// Runs every machine until none has anything left to hand over: SIP events drive calls, M3UA data drives
    /// ISUP call control, ISUP events drive calls, and every transmit becomes an output.
    pub(super) fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(transition) = self.sip.poll_transition() {
                let call = transition
                    .id
                    .parse::<u64>()
                    .ok()
                    .and_then(|leg| self.legs.get(&LegId(leg)).copied());
                self.push_call_event(call, EventKind::Transition(transition.into()));
                progressed = true;
            }
            while let Some(event) = self.sip.poll_event() {
                self.handle_sip_event(event);
                progressed = true;
            }
            while let Some(transmit) = self.sip.poll_transmit() {
                let output = Output::SipSend {
                    transport: events_transport(transmit.transport),
                    to: transmit.to,
                    data: Payload(transmit.data),
                };
                self.push_event(EventKind::Output(output));
                progressed = true;
            }
            for index in 0..self.trunks.len() {
                progressed |= self.pump_trunk(index);
            }
            if !progressed {
                break;
            }
        }
    }

    pub(super) fn pump_trunk(&mut self, index: usize) -> bool {
        let mut progressed = false;
        for link in 0..self.trunks[index].links.len() {
            while let Some(transition) = self.trunks[index].links[link].asp.poll_transition() {
                let event = EventKind::Transition(transition.into());
                self.pending.push_back((None, event));
                progressed = true;
            }
            while let Some(event) = self.trunks[index].links[link].asp.poll_event() {
                self.handle_asp_event(index, link, event);
                progressed = true;
            }
        }
        while let Some(transition) = self.trunks[index].isup.poll_transition() {
            let call = transition
                .id
                .parse::<u16>()
                .ok()
                .and_then(|cic| self.trunks[index].cics.get(&cic).copied());
            self.push_call_event(
                call,
                EventKind::Transition(
                    crate::machine::Transition {
                        id: format!("{}/{}", self.trunks[index].name, transition.id),
                        ..transition
                    }
                    .into(),
                ),
            );
            progressed = true;
        }
        while let Some(event) = self.trunks[index].isup.poll_event() {
            self.handle_isup_event(index, event);
            progressed = true;
        }
        while let Some(message) = self.trunks[index].isup.poll_transmit() {
            if let Err(error) = self.trunks[index].send_isup(&message) {
                let text = format!(
                    "trunk {}: cannot send ISUP {:?} on CIC {}: {error}",
                    self.trunks[index].name, message.message_type, message.cic
                );
                self.log(LogLevel::Error, text);
            }
            progressed = true;
        }
        for link in 0..self.trunks[index].links.len() {
            while let Some(transmit) = self.trunks[index].links[link].asp.poll_transmit() {
                let output = Output::M3uaSend {
                    trunk: self.trunks[index].links[link].config.id.clone(),
                    stream: transmit.stream,
                    data: Payload(transmit.data),
                };
                self.push_event(EventKind::Output(output));
                progressed = true;
            }
        }
        progressed
    }

    /// Records an event for the current call.
    pub(crate) fn push_event(&mut self, kind: EventKind) {
        self.push_call_event(self.current, kind);
    }

    pub(crate) fn push_call_event(&mut self, call: Option<u64>, kind: EventKind) {
        let id = call.map(call_id);
        if self.input_call.is_none() {
            self.input_call.clone_from(&id);
        }
        self.pending.push_back((id, kind));
    }

    /// Records a log line for the operator, attributed to the current call.
    pub(crate) fn log(&mut self, level: LogLevel, message: String) {
        // The runtime turns these into tracing lines as it carries them out; replay stays quiet.
        self.push_event(EventKind::Output(Output::Log { level, message }));
    }

    /// Records a call's state change.
    pub(crate) fn record_call_transition(
        &mut self,
        number: u64,
        from: &str,
        to: &str,
        reason: &str,
    ) {
        self.push_call_event(
            Some(number),
            EventKind::Transition(Transition {
                machine: "call".into(),
                id: call_id(number),
                from: from.into(),
                to: to.into(),
                reason: reason.into(),
            }),
        );
    }
}
