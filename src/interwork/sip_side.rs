//! What the SIP endpoint reports, turned into call progress: an INVITE starts a SIP-originated call (routed by
//! the dialplan, sent on as an IAM), and every later SIP event moves its call on (RFC 3398 §7 for calls from SIP,
//! §8 for calls to SIP).

use super::call::{Call, CallState, Origin};
use super::numbers::{self, IsupAddress};
use super::tables::ReleaseReason;
use crate::events::LogLevel;
use crate::gateway::congestion::Admission;
use crate::gateway::Gateway;
use crate::isup::codec::EventInformation;
use crate::isup::{IsupMessage, MessageType as IsupType};
use crate::routing::CallView;
use crate::sip::{LegId, Sdp, SipEvent};

/// The numbers routing settled on, and whether they are still the ones of an encapsulated IAM (whose
/// parameters then go out unchanged).
pub(crate) struct ChosenNumbers {
    pub(crate) called: String,
    pub(crate) calling: String,
    pub(crate) keep_encapsulated_called: bool,
    pub(crate) keep_encapsulated_calling: bool,
    /// The called number is the routing number of this dialled number, from a number-portability lookup.
    pub(crate) ported_from: Option<String>,
}

/// The parts of an incoming INVITE the call logic reads.
#[derive(Debug, Clone)]
pub(crate) struct IncomingInvite {
    leg: LegId,
    from_uri: String,
    request_uri: String,
    called_user: Option<String>,
    from_user: Option<String>,
    pai_user: Option<String>,
    privacy: Option<String>,
    pub(crate) sdp: Option<Sdp>,
    isup_body: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, String)>,
    /// The called number came from an encapsulated IAM (SIP-I).
    pub(crate) encapsulated_called: bool,
    /// The calling number came from an encapsulated IAM (SIP-I).
    pub(crate) encapsulated_calling: bool,
}

impl IncomingInvite {
    fn from_event(event: SipEvent) -> IncomingInvite {
        match event {
            SipEvent::IncomingInvite {
                leg,
                from_uri,
                request_uri,
                called_user,
                from_user,
                pai_user,
                privacy,
                sdp,
                isup_body,
                headers,
                ..
            } => IncomingInvite {
                leg,
                from_uri,
                request_uri,
                called_user,
                from_user,
                pai_user,
                privacy,
                sdp,
                isup_body,
                headers,
                encapsulated_called: false,
                encapsulated_calling: false,
            },
            // Only called with the IncomingInvite variant; an empty invite routes nowhere and is rejected.
            _ => IncomingInvite {
                leg: LegId(0),
                from_uri: String::new(),
                request_uri: String::new(),
                called_user: None,
                from_user: None,
                pai_user: None,
                privacy: None,
                sdp: None,
                isup_body: None,
                headers: Vec::new(),
                encapsulated_called: false,
                encapsulated_calling: false,
            },
        }
    }
}

impl Gateway {
    /// Dispatches one event of the SIP endpoint.
    pub(crate) fn handle_sip_event(&mut self, event: SipEvent) {
        let Some(event) = self.b2bua_event(event) else {
            return;
        };
        match event {
            invite @ SipEvent::IncomingInvite { .. } => {
                self.incoming_invite(IncomingInvite::from_event(invite))
            }
            SipEvent::Cancelled { leg } => self.sip_cancelled(leg),
            SipEvent::Acked { leg } => {
                if let Some(number) = self.call_of_leg(leg) {
                    self.set_call_state(number, CallState::Active, "ACK received");
                }
            }
            SipEvent::ByeReceived { leg } => self.sip_bye(leg),
            SipEvent::Provisional {
                leg, status, sdp, ..
            } => self.sip_provisional(leg, status, sdp),
            SipEvent::Answered { leg, .. } => self.sip_answered(leg),
            SipEvent::Rejected {
                leg,
                status,
                reason,
                ..
            } => self.sip_rejected(leg, status, &reason),
            SipEvent::LegTerminated { leg, reason } => {
                // RFC 3261 §8.1.3.1: an INVITE that could not be delivered counts as a 503 from its target, so
                // it tries the next target, then the dialplan's next route, else releases with 503's cause.
                if reason == crate::sip::TerminationReason::TransportError
                    && self.unanswered_call_of_leg(leg).is_some()
                {
                    return self.sip_rejected(leg, 503, "transport error");
                }
                // RFC 3263 §4.3: a target that never answered gives way to the next one.
                if reason == crate::sip::TerminationReason::TransactionTimeout {
                    if let Some(number) = self.unanswered_call_of_leg(leg) {
                        if self.fail_over(number) {
                            return;
                        }
                    }
                }
                self.sip_leg_terminated(leg, &format!("{reason:?}"))
            }
            SipEvent::AuthFailed {
                from,
                method,
                reason,
            } => {
                self.current = None;
                self.log(
                    LogLevel::Warn,
                    format!("{method} from {from} refused: {reason}"),
                );
            }
            SipEvent::PeerStatus {
                peer,
                status,
                reason,
            } => {
                self.current = None;
                let level = match status {
                    crate::sip::peers::PeerStatus::Down => LogLevel::Warn,
                    _ => LogLevel::Info,
                };
                self.log(level, format!("SIP peer {peer} is {status:?}: {reason}"));
            }
            SipEvent::BindingUnreachable { aor, uri, reason } => {
                self.current = None;
                self.log(
                    LogLevel::Info,
                    format!("user {aor}'s binding {uri} is unreachable: {reason}"),
                );
            }
            SipEvent::ModificationRequested { leg, method, .. } => {
                // Only the legs of a SIP→SIP call relay; one whose call is gone refuses the request.
                self.call_of_leg(leg);
                let now = self.now;
                if let Err(error) = self.sip.answer_modification(leg, 481, None, &[], now) {
                    self.log(LogLevel::Warn, format!("cannot answer {method}: {error}"));
                }
            }
            SipEvent::ModificationAnswered { leg, status, .. } => {
                self.call_of_leg(leg);
                self.log(
                    LogLevel::Info,
                    format!("answer {status} on {leg} belongs to no call"),
                );
            }
            SipEvent::Malformed { from, reason } => {
                self.current = None;
                self.log(
                    LogLevel::Warn,
                    format!("malformed SIP from {from}: {reason}"),
                );
            }
        }
    }

    /// The call of an outgoing leg that has not been answered yet.
    fn unanswered_call_of_leg(&self, leg: LegId) -> Option<u64> {
        let number = *self.legs.get(&leg)?;
        let call = self.calls.get(&number)?;
        matches!(call.state, CallState::Routing | CallState::Proceeding).then_some(number)
    }

    pub(crate) fn call_of_leg(&mut self, leg: LegId) -> Option<u64> {
        let number = self.legs.get(&leg).copied();
        self.current = number;
        number
    }

    fn incoming_invite(&mut self, mut invite: IncomingInvite) {
        let number = self.new_call_number();
        self.current = Some(number);
        let mut call = Call::new(number, Origin::Sip);
        call.leg = Some(invite.leg);
        call.offer = invite.sdp.clone();
        self.calls.insert(number, call);
        self.legs.insert(invite.leg, number);
        self.record_call_transition(number, "Idle", CallState::Routing.name(), "INVITE received");

        // SIP-I/SIP-T (RFC 3204): an encapsulated IAM gives the numbers; the Request-URI is the fallback.
        let encapsulated = invite
            .isup_body
            .as_deref()
            .and_then(|bytes| IsupMessage::decode(bytes).ok())
            .filter(|message| message.message_type == IsupType::IAM);
        let format = self.trunks.first().map(|t| t.config.number_format());
        let encapsulated_called = encapsulated
            .as_ref()
            .and_then(super::iam::called_address)
            .zip(format.as_ref())
            .map(|(address, format)| numbers::sip_user_from_isup(&address, format));
        let encapsulated_calling = encapsulated
            .as_ref()
            .and_then(super::iam::calling_address)
            .zip(format.as_ref())
            .map(|((address, _), format)| numbers::sip_user_from_isup(&address, format));
        let Some(called) = encapsulated_called
            .clone()
            .or_else(|| invite.called_user.clone())
        else {
            self.log(
                LogLevel::Error,
                format!(
                    "INVITE {} has no user part in its Request-URI",
                    invite.request_uri
                ),
            );
            return self.reject_sip_call(number, ReleaseReason::NoRoute);
        };
        let calling = encapsulated_calling
            .clone()
            .or_else(|| invite.pai_user.clone())
            .or_else(|| invite.from_user.clone())
            .unwrap_or_default();
        let restricted = invite
            .privacy
            .as_deref()
            .is_some_and(|p| p.contains("id") || p.contains("user"))
            || invite
                .from_user
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case("anonymous"));
        let view = CallView {
            call_id: crate::gateway::call_id(number),
            called_noa: if called.starts_with('+') {
                "international"
            } else {
                "national"
            }
            .into(),
            called,
            calling,
            presentation_restricted: restricted,
            source: "sip".into(),
            trunk: String::new(),
            from_uri: invite.from_uri.clone(),
            headers: invite.headers.clone(),
            time_ms: self.local_time_ms(),
        };
        invite.encapsulated_called = encapsulated_called.is_some();
        invite.encapsulated_calling = encapsulated_calling.is_some();
        if let Some(call) = self.calls.get_mut(&number) {
            call.invite = Some(Box::new(invite));
        }
        self.start_routing(number, view);
    }

    pub(crate) fn send_iam(
        &mut self,
        number: u64,
        trunk_name: &str,
        chosen: &ChosenNumbers,
        invite: &IncomingInvite,
    ) {
        let (called, calling) = (chosen.called.as_str(), chosen.calling.as_str());
        let Some(index) = self.trunks.iter().position(|t| t.name == trunk_name) else {
            self.log(
                LogLevel::Error,
                format!("dialplan chose trunk {trunk_name:?}, which is not configured"),
            );
            return self.route_failed(number, ReleaseReason::NoRoute);
        };
        if let Some(call) = self.calls.get_mut(&number) {
            call.trunk = Some(index);
        }
        if !self.trunks[index].is_active() {
            self.log(
                LogLevel::Error,
                format!("trunk {trunk_name}: signalling link not active"),
            );
            return self.route_failed(number, ReleaseReason::SignallingDown);
        }
        if !self.trunks[index].accepts_calls() {
            let state = self.trunks[index].destination_state().name();
            self.log(
                LogLevel::Error,
                format!("trunk {trunk_name}: destination {state} (SSNM)"),
            );
            return self.reject_sip_call(number, ReleaseReason::SignallingDown);
        }
        if let Admission::Throttled(level) = self.trunks[index].congestion.admit() {
            self.log(
                LogLevel::Warn,
                format!(
                    "trunk {trunk_name}: destination congested (level {level}), call throttled"
                ),
            );
            return self.reject_sip_call(number, ReleaseReason::Congestion);
        }
        let format = self.trunks[index].config.number_format();
        let called_address = match numbers::isup_address_from_sip(called, &format) {
            Ok(address) => address,
            Err(error) => {
                self.log(LogLevel::Error, format!("called number: {error}"));
                return self.route_failed(number, ReleaseReason::InvalidNumber);
            }
        };
        let calling_address: Option<IsupAddress> =
            numbers::isup_address_from_sip(calling, &format).ok();
        let restricted = self
            .calls
            .get(&number)
            .and_then(|c| c.view.as_ref())
            .is_some_and(|v| v.presentation_restricted);
        let international = numbers::is_international(&called_address, &format);
        // A dialled number that is not a usable ISUP number cannot go into the IAM; the routing number still does.
        let dialled = chosen
            .ported_from
            .as_deref()
            .and_then(|dialled| numbers::isup_address_from_sip(dialled, &format).ok());
        let trunk = &self.trunks[index];
        let iam = super::iam::build_iam(
            trunk.tables.iam_profile(),
            &super::iam::IamRequest {
                called: &called_address,
                calling: calling_address.as_ref(),
                restricted,
                international,
                encapsulated: invite.isup_body.as_deref(),
                keep_encapsulated_called: chosen.keep_encapsulated_called,
                keep_encapsulated_calling: chosen.keep_encapsulated_calling,
                ported_number_translation: chosen.ported_from.is_some()
                    && trunk.config.ported_number_indicator,
                ported: dialled.as_ref().map(|dialled| super::iam::PortedNumber {
                    dialled,
                    format: trunk.config.ported_number_format,
                    country_code: &trunk.config.country_code,
                }),
            },
        );
        let now = self.now;
        match self.trunks[index].isup.setup(iam, now) {
            Ok(cic) => {
                self.trunks[index].cics.insert(cic.0, number);
                if let Some(call) = self.calls.get_mut(&number) {
                    call.cic = Some(cic.0);
                    call.isup_done = false;
                }
                self.set_call_state(
                    number,
                    CallState::Proceeding,
                    &format!("IAM sent on CIC {}", cic.0),
                );
            }
            Err(error) => {
                self.log(LogLevel::Error, format!("trunk {trunk_name}: {error}"));
                self.route_failed(number, ReleaseReason::NoCircuit);
            }
        }
    }

    /// Rejects a SIP-originated call that has no circuit (yet) for a gateway reason.
    pub(crate) fn reject_sip_call(&mut self, number: u64, reason: ReleaseReason) {
        let cause = self.tables_for(number).release_cause(reason);
        self.reject_sip_call_with_cause(number, cause);
    }

    /// Sends the final response the cause maps to and marks the SIP side done.
    pub(crate) fn reject_sip_call_with_cause(&mut self, number: u64, cause: u8) {
        let Some(leg) = self.calls.get(&number).and_then(|c| c.leg) else {
            return;
        };
        let spec = self.tables_for(number).final_response_for_cause(cause);
        let status = spec.status;
        let mut headers = vec![("Reason".to_string(), format!("Q.850;cause={cause}"))];
        if let Some(seconds) = spec.retry_after {
            headers.push(("Retry-After".to_string(), seconds.to_string()));
        }
        let now = self.now;
        if let Err(error) =
            self.sip
                .respond(leg, status, spec.reason.as_deref(), &headers, None, now)
        {
            self.log(LogLevel::Error, format!("cannot send {status}: {error}"));
        }
        if let Some(call) = self.calls.get_mut(&number) {
            call.sip_done = true;
        }
        self.set_call_state(
            number,
            CallState::Releasing,
            &format!("{status} sent for cause {cause}"),
        );
        self.finish_if_done(number);
    }

    /// Our SDP answer to the call's offer (or a fresh offer-shaped description when the INVITE had none).
    pub(crate) fn sdp_answer(&self, number: u64) -> Option<(String, Vec<u8>)> {
        let media = &self.config.media;
        // The session id only has to be unique per gateway; the call number is.
        let sdp = match self.calls.get(&number).and_then(|c| c.offer.as_ref()) {
            Some(offer) => offer
                .answer(media.rtp_address, media.rtp_port, number)
                .ok()?,
            None => Sdp::offer(media.rtp_address, media.rtp_port, number),
        };
        Some(("application/sdp".to_string(), sdp.to_string().into_bytes()))
    }

    fn sip_cancelled(&mut self, leg: LegId) {
        let Some(number) = self.call_of_leg(leg) else {
            return;
        };
        let now = self.now;
        if let Err(error) = self.sip.respond(leg, 487, None, &[], None, now) {
            self.log(LogLevel::Error, format!("cannot send 487: {error}"));
        }
        if let Some(call) = self.calls.get_mut(&number) {
            call.sip_done = true;
        }
        self.release_circuit(number, ReleaseReason::Cancel, "CANCEL received");
    }

    fn sip_bye(&mut self, leg: LegId) {
        let Some(number) = self.call_of_leg(leg) else {
            return;
        };
        if let Some(call) = self.calls.get_mut(&number) {
            call.sip_done = true;
        }
        self.release_circuit(number, ReleaseReason::Bye, "BYE received");
    }

    fn sip_leg_terminated(&mut self, leg: LegId, reason: &str) {
        let Some(number) = self.call_of_leg(leg) else {
            return;
        };
        let already_releasing = self
            .calls
            .get(&number)
            .is_some_and(|c| c.state == CallState::Releasing);
        if let Some(call) = self.calls.get_mut(&number) {
            call.sip_done = true;
        }
        if already_releasing {
            self.finish_if_done(number);
        } else {
            self.log(LogLevel::Warn, format!("SIP leg ended: {reason}"));
            self.release_circuit(number, ReleaseReason::SipTimeout, reason);
        }
    }

    /// Releases the call's circuit (REL) with the cause the tables give for `reason`, or finishes the call when
    /// it has no circuit or the circuit is already clearing.
    pub(crate) fn release_circuit(&mut self, number: u64, reason: ReleaseReason, why: &str) {
        let cause = self.tables_for(number).release_cause(reason);
        self.release_circuit_with_cause(number, cause, why);
    }

    /// As [`Gateway::release_circuit`], with an explicit cause value.
    pub(crate) fn release_circuit_with_cause(&mut self, number: u64, cause: u8, why: &str) {
        let Some(call) = self.calls.get(&number) else {
            return;
        };
        let releasing = call.state == CallState::Releasing;
        let target = (call.trunk, call.cic, call.isup_done);
        self.set_call_state(number, CallState::Releasing, why);
        if let (Some(trunk), Some(cic), false) = target {
            if !releasing {
                let now = self.now;
                if let Err(error) =
                    self.trunks[trunk]
                        .isup
                        .release(crate::isup::Cic(cic), cause, now)
                {
                    self.log(
                        LogLevel::Error,
                        format!("cannot release CIC {cic}: {error}"),
                    );
                }
            }
        }
        self.finish_if_done(number);
    }

    fn sip_provisional(&mut self, leg: LegId, status: u16, sdp: Option<Sdp>) {
        let Some(number) = self.call_of_leg(leg) else {
            return;
        };
        let Some((trunk, cic, acm_sent)) = self
            .calls
            .get(&number)
            .and_then(|c| Some((c.trunk?, c.cic?, c.acm_sent)))
        else {
            return;
        };
        let _ = sdp;
        let cic = crate::isup::Cic(cic);
        let result = if acm_sent {
            match self.trunks[trunk].tables.cpg_event_for_provisional(status) {
                Some(event) => self.trunks[trunk].isup.progress(
                    cic,
                    EventInformation {
                        event_indicator: event,
                        presentation_restricted: false,
                    },
                ),
                None => Ok(()),
            }
        } else {
            let indicators = self.trunks[trunk]
                .tables
                .backward_call_indicators_for_provisional(status);
            self.trunks[trunk].isup.alert(cic, indicators, Vec::new())
        };
        if let Err(error) = result {
            self.log(
                LogLevel::Error,
                format!("cannot send progress on CIC {}: {error}", cic.0),
            );
            return;
        }
        if let Some(call) = self.calls.get_mut(&number) {
            call.acm_sent = true;
        }
        self.set_call_state(number, CallState::Alerting, &format!("{status} received"));
    }

    fn sip_answered(&mut self, leg: LegId) {
        let Some(number) = self.call_of_leg(leg) else {
            return;
        };
        let Some((trunk, cic, acm_sent)) = self
            .calls
            .get(&number)
            .and_then(|c| Some((c.trunk?, c.cic?, c.acm_sent)))
        else {
            return;
        };
        let cic = crate::isup::Cic(cic);
        // Q.764 §2.1.7: answer without a prior address complete goes out as CON.
        let result = if acm_sent {
            self.trunks[trunk].isup.answer(cic)
        } else {
            let indicators = self.trunks[trunk]
                .tables
                .backward_call_indicators_for_provisional(200);
            self.trunks[trunk].isup.connect(cic, indicators)
        };
        if let Err(error) = result {
            self.log(
                LogLevel::Error,
                format!("cannot send answer on CIC {}: {error}", cic.0),
            );
            return;
        }
        self.set_call_state(number, CallState::Active, "200 OK received, ACK sent");
    }

    fn sip_rejected(&mut self, leg: LegId, status: u16, reason: &str) {
        let Some(number) = self.call_of_leg(leg) else {
            return;
        };
        // RFC 3263 §4.3: a 503 from one target sends the request to the next.
        if status == 503 && self.fail_over(number) {
            return;
        }
        if self.retry_after_rejection(number, status) {
            return;
        }
        if let Some(call) = self.calls.get_mut(&number) {
            call.sip_done = true;
        }
        let cause = self.tables_for(number).cause_for_sip_status(status);
        self.release_circuit_with_cause(number, cause, &format!("{status} {reason} received"));
    }
}
