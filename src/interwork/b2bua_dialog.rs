//! Session modifications across a SIP→SIP call (issue 6): a re-INVITE or UPDATE with an offer, or an INFO, that
//! one party sends is held by the endpoint on its leg (`sip/endpoint_relay.rs`) and sent here as a new request
//! of the other leg's dialog; that leg's final answer (2xx with its SDP, or the error status such as 488 or
//! 491) goes back on the first leg. Only the body and the headers `[sip_outgoing] relay_headers` names cross,
//! as for the INVITE; Max-Forwards goes down by one. ACKs stay on their leg (the endpoint sends and absorbs
//! them). When the other leg cannot take the request now, the originator gets 491 (a modification is under
//! way there: glare, RFC 3261 §14.2) or 500 with Retry-After (the call is being set up or torn down).

use super::b2bua::{hops_left, response_headers};
use crate::events::LogLevel;
use crate::gateway::Gateway;
use crate::sip::{InDialogRequest, LegId, SipError};

impl Gateway {
    /// The peer on `leg` asks to modify the session (or sends an INFO): the same request on the other leg.
    pub(super) fn relay_modification(
        &mut self,
        number: u64,
        from_caller: bool,
        leg: LegId,
        method: &str,
        body: Option<(String, Vec<u8>)>,
        headers: &[(String, String)],
    ) {
        let other = self.calls.get(&number).and_then(|call| {
            if from_caller {
                call.out_leg.filter(|_| !call.out_done)
            } else {
                call.leg.filter(|_| !call.sip_done)
            }
        });
        let request = InDialogRequest {
            method: method.to_string(),
            body,
            headers: self.crossing_headers(headers),
            max_forwards: hops_left(headers),
        };
        let now = self.now;
        let refused = match other {
            Some(other) => match self.sip.modify(other, request, now) {
                Ok(()) => return,
                Err(error) => error,
            },
            None => SipError::UnknownLeg(leg),
        };
        let (status, extra) = match (&refused, method) {
            (SipError::RequestPending(_), "INVITE" | "UPDATE") => (491, Vec::new()),
            _ => (500, vec![("Retry-After".to_string(), "1".to_string())]),
        };
        self.log(
            LogLevel::Info,
            format!("{method} not relayed ({refused}): answered {status}"),
        );
        if let Err(error) = self.sip.answer_modification(leg, status, None, &extra, now) {
            self.log(LogLevel::Warn, format!("cannot answer {method}: {error}"));
        }
    }

    /// The other leg answered a relayed request: its status and body go back to the leg that asked.
    pub(super) fn relay_modification_answer(
        &mut self,
        number: u64,
        leg: LegId,
        status: u16,
        body: Option<(String, Vec<u8>)>,
        headers: &[(String, String)],
    ) {
        let asking = self.calls.get(&number).and_then(|call| {
            if call.out_leg == Some(leg) {
                call.leg
            } else {
                call.out_leg
            }
        });
        let Some(asking) = asking else {
            return;
        };
        let relayed = response_headers(headers);
        // A challenge is for tandem's credentials, a redirection names the other side's targets (as for the
        // INVITE's failures): the asking party gets a plain refusal instead.
        let status = match status {
            300..=399 | 401 | 407 => 500,
            other => other,
        };
        let now = self.now;
        if let Err(error) = self
            .sip
            .answer_modification(asking, status, body, &relayed, now)
        {
            // The asking leg is gone (BYE meanwhile), or the answer belongs to tandem's own refresh.
            self.log(
                LogLevel::Info,
                format!("answer {status} not relayed: {error}"),
            );
        }
    }
}
