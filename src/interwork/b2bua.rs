//! SIP→SIP calls: tandem as a back-to-back user agent (RFC 3261 §6 "B2BUA", RFC 7092 §3.1 for what it may
//! change). A SIP-originated call that the dialplan routes to a SIP target gets a second, independent leg: its
//! own Call-ID, tags, branches, Via, Contact and CSeq, built by the endpoint exactly as for ISUP→SIP calls.
//! Only the session description and the called/calling identities cross from one leg to the other, plus the
//! header names an operator lists in `[sip_outgoing] relay_headers`; Via, Route, Record-Route, Contact,
//! Call-ID, tags and every other header stay on their leg (topology hiding, issue 6).
//!
//! Provisional responses (with their SDP) and the 2xx are relayed to the caller; a failure takes the next
//! route when its status is retryable (`[dialplan] retry_statuses`), as a REL's cause does for trunk routes,
//! else its status is relayed. BYE, CANCEL and leg failures on either side end the other. Session
//! modifications (re-INVITE and UPDATE with an offer) and INFO are relayed to the other leg as new requests of
//! its dialog and their final answers come back (`b2bua_dialog.rs`, `sip/endpoint_relay.rs`): hold and resume
//! reach the other party. Offerless re-INVITEs and bodiless UPDATEs (a refresh of one leg's session timer)
//! stay answered on their leg (`sip/endpoint_dialog.rs`), as everything in the dialogs of ISUP calls.
//!
//! Max-Forwards: the outgoing INVITE (and every relayed request) carries the incoming value less one, never
//! more than the 70 tandem's own requests start with (RFC 3261 §16.6 step 3 for proxies, which RFC 7332 asks
//! B2BUAs to follow so that a loop through tandem still ends). An INVITE arriving with 0 is answered 483 by
//! the endpoint; one arriving with 1 leaves with 0 and the next hop decides (a proxy answers 483, which is
//! relayed back like any final status).

use super::call::CallState;
use super::sip_side::IncomingInvite;
use crate::events::LogLevel;
use crate::gateway::Gateway;
use crate::sip::{Sdp, SipEvent, TerminationReason};

/// Headers that belong to one leg whatever `relay_headers` says: copying them would leak the caller's
/// topology or break the outgoing dialog (RFC 3261 §8.1.1, §12.1).
const LEG_HEADERS: &[&str] = &[
    "via",
    "v",
    "route",
    "record-route",
    "contact",
    "m",
    "call-id",
    "i",
    "from",
    "f",
    "to",
    "t",
    "cseq",
    "max-forwards",
    "content-type",
    "c",
    "content-length",
    "l",
    "content-encoding",
    "e",
    "supported",
    "k",
    "require",
    "session-expires",
    "x",
    "min-se",
    "allow",
    "user-agent",
];

/// Headers of a final response that carry over to the caller: the cause and when to try again.
const RESPONSE_HEADERS: &[&str] = &["reason", "retry-after"];

/// The headers of a final response that cross to the other leg ([`RESPONSE_HEADERS`]), for the INVITE's
/// failure and for an in-dialog request's answer alike.
pub(super) fn response_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            RESPONSE_HEADERS
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
        })
        .cloned()
        .collect()
}

/// What a SIP→SIP call carries from the incoming INVITE to the outgoing one.
#[derive(Debug, Clone)]
pub(crate) struct Relayed {
    /// The caller's offer, re-serialised (its `o=` line and attributes as parsed, nothing else).
    pub(crate) body: Option<(String, Vec<u8>)>,
    /// The whitelisted headers.
    pub(crate) headers: Vec<(String, String)>,
    /// The caller's Max-Forwards less one (RFC 7332), when it had one.
    pub(crate) max_forwards: Option<u8>,
}

/// Which leg of a SIP→SIP call an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Incoming,
    Outgoing,
}

impl Gateway {
    /// Places the outgoing leg of a SIP-originated call routed to `uri`.
    pub(crate) fn start_b2bua(
        &mut self,
        number: u64,
        uri: &str,
        calling: &str,
        invite: &IncomingInvite,
    ) {
        let headers = self.crossing_headers(&invite.headers);
        let max_forwards = hops_left(&invite.headers);
        // Modifications of the caller's dialog go to the called side from now on (`b2bua_dialog.rs`).
        if let Some(leg) = self.calls.get(&number).and_then(|c| c.leg) {
            if let Err(error) = self.sip.relay_in_dialog(leg) {
                self.log(
                    LogLevel::Warn,
                    format!("cannot relay in the dialog: {error}"),
                );
            }
        }
        let body = invite.sdp.as_ref().map(sdp_body);
        let restricted = self
            .calls
            .get(&number)
            .and_then(|c| c.view.as_ref())
            .is_some_and(|v| v.presentation_restricted);
        self.send_invite(
            number,
            uri,
            calling,
            restricted,
            Some(Relayed {
                body,
                headers,
                max_forwards,
            }),
        );
    }

    /// The headers of a request that may cross to the other leg: those `[sip_outgoing] relay_headers` names,
    /// never one of [`LEG_HEADERS`].
    pub(super) fn crossing_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        let wanted = &self.config.sip_outgoing.relay_headers;
        headers
            .iter()
            .filter(|(name, _)| {
                let lower = name.to_ascii_lowercase();
                !LEG_HEADERS.contains(&lower.as_str())
                    && wanted.iter().any(|w| w.eq_ignore_ascii_case(name))
            })
            .cloned()
            .collect()
    }

    /// Handles an event of a leg that belongs to a SIP→SIP call; returns the event when it is not one.
    pub(crate) fn b2bua_event(&mut self, event: SipEvent) -> Option<SipEvent> {
        let leg = match &event {
            SipEvent::Cancelled { leg }
            | SipEvent::Acked { leg }
            | SipEvent::ByeReceived { leg }
            | SipEvent::Provisional { leg, .. }
            | SipEvent::Answered { leg, .. }
            | SipEvent::Rejected { leg, .. }
            | SipEvent::LegTerminated { leg, .. }
            | SipEvent::ModificationRequested { leg, .. }
            | SipEvent::ModificationAnswered { leg, .. } => *leg,
            _ => return Some(event),
        };
        let Some(number) = self.legs.get(&leg).copied() else {
            return Some(event);
        };
        let Some(call) = self.calls.get(&number) else {
            return Some(event);
        };
        let side = match call.out_leg {
            Some(out) if out == leg => Side::Outgoing,
            Some(_) if call.leg == Some(leg) => Side::Incoming,
            _ => return Some(event),
        };
        self.current = Some(number);
        match (side, event) {
            (Side::Outgoing, SipEvent::Provisional { status, sdp, .. }) => {
                self.relay_provisional(number, status, sdp)
            }
            (Side::Outgoing, SipEvent::Answered { sdp, .. }) => self.relay_answer(number, sdp),
            (
                Side::Outgoing,
                SipEvent::Rejected {
                    status, headers, ..
                },
            ) => self.outgoing_failed(number, status, &headers),
            (Side::Outgoing, SipEvent::LegTerminated { reason, .. }) => {
                self.outgoing_ended(number, reason)
            }
            (Side::Outgoing, SipEvent::ByeReceived { .. }) => {
                self.set_out_done(number);
                self.clear_incoming(number, "BYE from the called side");
            }
            (Side::Incoming, SipEvent::Acked { .. }) => {
                self.set_call_state(number, CallState::Active, "ACK received");
            }
            (Side::Incoming, SipEvent::Cancelled { leg }) => {
                let now = self.now;
                if let Err(error) = self.sip.respond(leg, 487, None, &[], None, now) {
                    self.log(LogLevel::Error, format!("cannot send 487: {error}"));
                }
                self.set_sip_done(number);
                self.clear_outgoing(number, "CANCEL received");
            }
            (Side::Incoming, SipEvent::ByeReceived { .. }) => {
                self.set_sip_done(number);
                self.clear_outgoing(number, "BYE from the calling side");
            }
            (Side::Incoming, SipEvent::LegTerminated { reason, .. }) => {
                let releasing = self.call_state(number) == Some(CallState::Releasing);
                self.set_sip_done(number);
                if !releasing {
                    self.log(LogLevel::Warn, format!("calling leg ended: {reason:?}"));
                }
                self.clear_outgoing(number, &format!("calling leg ended: {reason:?}"));
            }
            (
                _,
                SipEvent::ModificationRequested {
                    leg,
                    method,
                    body,
                    headers,
                },
            ) => self.relay_modification(
                number,
                side == Side::Incoming,
                leg,
                &method,
                body,
                &headers,
            ),
            (
                _,
                SipEvent::ModificationAnswered {
                    leg,
                    status,
                    body,
                    headers,
                    ..
                },
            ) => self.relay_modification_answer(number, leg, status, body, &headers),
            (_, other) => {
                self.log(
                    LogLevel::Warn,
                    format!("{side:?} leg: unexpected {other:?}"),
                );
            }
        }
        None
    }

    fn call_state(&self, number: u64) -> Option<CallState> {
        self.calls.get(&number).map(|c| c.state)
    }

    fn set_sip_done(&mut self, number: u64) {
        if let Some(call) = self.calls.get_mut(&number) {
            call.sip_done = true;
        }
    }

    fn set_out_done(&mut self, number: u64) {
        if let Some(call) = self.calls.get_mut(&number) {
            call.out_done = true;
        }
    }

    fn relay_provisional(&mut self, number: u64, status: u16, sdp: Option<Sdp>) {
        let Some(leg) = self.calls.get(&number).and_then(|c| c.leg) else {
            return;
        };
        let now = self.now;
        let body = sdp.as_ref().map(sdp_body);
        if let Err(error) = self.sip.respond(leg, status, None, &[], body, now) {
            self.log(LogLevel::Warn, format!("cannot relay {status}: {error}"));
            return;
        }
        self.set_call_state(number, CallState::Alerting, &format!("{status} relayed"));
    }

    fn relay_answer(&mut self, number: u64, sdp: Option<Sdp>) {
        let Some(leg) = self.calls.get(&number).and_then(|c| c.leg) else {
            return;
        };
        let now = self.now;
        let body = sdp.as_ref().map(sdp_body);
        if let Err(error) = self.sip.respond(leg, 200, None, &[], body, now) {
            // The caller went away meanwhile (its CANCEL is being handled): end the answered leg.
            self.log(LogLevel::Warn, format!("cannot relay 200: {error}"));
            return self.clear_outgoing(number, "answered after the caller left");
        }
        self.set_call_state(number, CallState::Answered, "200 relayed");
    }

    /// A final error on the outgoing INVITE: the next route when the status is retryable, else the caller
    /// gets it.
    fn outgoing_failed(&mut self, number: u64, status: u16, headers: &[(String, String)]) {
        self.set_out_done(number);
        // RFC 3263 §4.3: a 503 or a timeout (408) from one target sends the INVITE to the next one first.
        if matches!(status, 408 | 503) && self.fail_over(number) {
            return;
        }
        if self.retry_after_rejection(number, status) {
            return;
        }
        let relayed = response_headers(headers);
        self.reject_incoming(number, relayed_status(status), &relayed);
    }

    fn outgoing_ended(&mut self, number: u64, reason: TerminationReason) {
        let answered = self.call_state(number).is_some_and(CallState::is_answered);
        let releasing = self.call_state(number) == Some(CallState::Releasing);
        self.set_out_done(number);
        if releasing {
            return self.finish_if_done(number);
        }
        if reason == TerminationReason::TransactionTimeout && !answered {
            // RFC 3261 §8.1.3.1: a timeout is handled as a 408 response, retryable like one.
            return self.outgoing_failed(number, 408, &[]);
        }
        if reason == TerminationReason::TransportError && !answered {
            // RFC 3261 §8.1.3.1: a transport error is handled as a 503 response, retryable like one.
            return self.outgoing_failed(number, 503, &[]);
        }
        self.log(LogLevel::Warn, format!("called leg ended: {reason:?}"));
        self.clear_incoming(number, &format!("called leg ended: {reason:?}"));
    }

    /// Ends the incoming leg: BYE once answered, else the final `status`.
    fn reject_incoming(&mut self, number: u64, status: u16, headers: &[(String, String)]) {
        let Some(leg) = self.calls.get(&number).and_then(|c| c.leg) else {
            return;
        };
        let now = self.now;
        if let Err(error) = self.sip.respond(leg, status, None, headers, None, now) {
            self.log(LogLevel::Warn, format!("cannot send {status}: {error}"));
        }
        self.set_sip_done(number);
        self.set_call_state(number, CallState::Releasing, &format!("{status} relayed"));
        self.finish_if_done(number);
    }

    /// The outgoing side is over: end the incoming leg (BYE when answered, 480 when not yet).
    fn clear_incoming(&mut self, number: u64, why: &str) {
        let Some(call) = self.calls.get(&number) else {
            return;
        };
        if call.sip_done {
            self.set_call_state(number, CallState::Releasing, why);
            return self.finish_if_done(number);
        }
        let Some(leg) = call.leg else {
            return;
        };
        if !call.state.is_answered() {
            return self.reject_incoming(number, 480, &[]);
        }
        self.set_call_state(number, CallState::Releasing, why);
        let now = self.now;
        if let Err(error) = self.sip.bye(leg, now) {
            // The leg is already gone: nothing left to clear on it.
            self.log(LogLevel::Warn, format!("cannot send BYE: {error}"));
            self.set_sip_done(number);
        }
        self.finish_if_done(number);
    }

    /// The incoming side is over: end the outgoing leg (CANCEL while it rings, BYE once answered).
    fn clear_outgoing(&mut self, number: u64, why: &str) {
        self.set_call_state(number, CallState::Releasing, why);
        let Some(call) = self.calls.get(&number) else {
            return;
        };
        if let (Some(leg), false) = (call.out_leg, call.out_done) {
            let now = self.now;
            if let Err(error) = self.sip.bye(leg, now) {
                self.log(
                    LogLevel::Warn,
                    format!("cannot end the called leg: {error}"),
                );
                self.set_out_done(number);
            }
        }
        self.finish_if_done(number);
    }
}

/// The status the caller gets for a final error of the called side: redirections are not followed (their
/// Contact names the other side's targets) and a challenge is for tandem's credentials, not the caller's.
fn relayed_status(status: u16) -> u16 {
    match status {
        300..=399 => 480,
        401 | 407 => 403,
        other => other,
    }
}

/// The Max-Forwards of the outgoing leg: the caller's less one, as a proxy does (RFC 3261 §16.6 step 3; RFC 7332
/// asks the same of a B2BUA so that loops through it still end). An INVITE arriving with 0 was answered 483
/// by the endpoint; one arriving with 1 leaves with 0, and the next hop answers it (483 from a proxy).
pub(super) fn hops_left(headers: &[(String, String)]) -> Option<u8> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Max-Forwards"))
        .and_then(|(_, value)| value.trim().parse::<u8>().ok())
        .map(|hops| hops.saturating_sub(1))
}

pub(super) fn sdp_body(sdp: &Sdp) -> (String, Vec<u8>) {
    ("application/sdp".to_string(), sdp.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::hops_left;

    fn mf(value: &str) -> Vec<(String, String)> {
        vec![("Max-Forwards".to_string(), value.to_string())]
    }

    #[test]
    fn the_outgoing_leg_gets_one_hop_less_than_the_caller_had() {
        assert_eq!(hops_left(&mf("70")), Some(69));
        assert_eq!(hops_left(&mf(" 1")), Some(0));
        assert_eq!(hops_left(&mf("0")), Some(0));
        assert_eq!(
            hops_left(&mf("300")),
            None,
            "not a Max-Forwards we can carry"
        );
        assert_eq!(hops_left(&[]), None);
    }
}
