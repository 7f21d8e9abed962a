//! Session modifications carried across a B2BUA: on a leg marked for relay (the two legs of a SIP→SIP call), a
//! re-INVITE or UPDATE with an offer (RFC 3261 §14, RFC 3311) and an INFO (RFC 6086) are not answered here.
//! The endpoint keeps the request in a server transaction (a re-INVITE gets 100 Trying at once), reports
//! [`SipEvent::ModificationRequested`] and waits for [`Endpoint::answer_modification`]; the core meanwhile
//! sends the request on the other leg with [`Endpoint::modify`], a new request of that leg's dialog (its own
//! CSeq, Via, Contact), and gets its final answer as [`SipEvent::ModificationAnswered`].
//!
//! Each leg keeps its own transactions: the 2xx of a re-INVITE we answer is retransmitted until its ACK
//! (`endpoint_dialog.rs` machinery), and the 2xx of a re-INVITE we sent is ACKed here at once. One
//! modification at a time per leg and direction: an offer arriving while one is under way in either direction
//! gets 491 (RFC 3261 §14.2, RFC 3311 §5.2 glare); [`Endpoint::modify`] refuses with
//! [`SipError::RequestPending`] and the core answers the originator 491 likewise.
//!
//! Offerless re-INVITEs and UPDATEs without a body (a session refresh of that leg) stay local
//! (`endpoint_dialog.rs`), as does everything on legs not marked for relay (ISUP calls own their media).

use std::net::SocketAddr;

use super::endpoint::{Endpoint, LegState, Purpose, SipEvent, TxEntry};
use super::message::{self, default_reason, Method, Request, Response};
use super::transaction::Transaction;
use super::{LegId, SipError, TransportKind};

/// The relay state of a leg.
#[derive(Debug, Default)]
pub(super) struct RelayState {
    /// The leg's session modifications go to the other leg of its call.
    pub(super) enabled: bool,
    /// A request of the peer waiting for the other leg's answer (boxed: rare, and every leg carries the field).
    pub(super) incoming: Option<Box<Held>>,
    /// The CSeq of our own re-INVITE or UPDATE on this leg (relayed, or a session refresh) until its final
    /// response.
    pub(super) outgoing: Option<u32>,
    /// Our description as last offered on the leg by a relayed re-INVITE or UPDATE; `None`: the INVITE's (not
    /// copied, to keep the common call cheap).
    pub(super) last_offer: Option<(String, Vec<u8>)>,
}

#[derive(Debug)]
pub(super) struct Held {
    tx_id: u64,
    request: Request,
    transport: TransportKind,
    response_to: SocketAddr,
}

/// A request for [`Endpoint::modify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InDialogRequest {
    /// `INVITE`, `UPDATE` or `INFO`.
    pub method: String,
    /// The body with its Content-Type.
    pub body: Option<(String, Vec<u8>)>,
    /// Headers to add (already filtered by the caller: nothing of the other leg's topology).
    pub headers: Vec<(String, String)>,
    /// Max-Forwards, when lower than the configured one.
    pub max_forwards: Option<u8>,
}

/// The body of a message with its Content-Type, if it has one.
pub(super) fn body_of(content_type: Option<String>, body: &[u8]) -> Option<(String, Vec<u8>)> {
    if body.is_empty() {
        return None;
    }
    Some((
        content_type.unwrap_or_else(|| "application/sdp".to_string()),
        body.to_vec(),
    ))
}

fn is_offer_method(method: &str) -> bool {
    method == "INVITE" || method == "UPDATE"
}

impl Endpoint {
    /// Marks `leg` as one side of a SIP→SIP call: its session modifications are reported, not answered here.
    pub fn relay_in_dialog(&mut self, leg: LegId) -> Result<(), SipError> {
        let l = self.legs.get_mut(&leg).ok_or(SipError::UnknownLeg(leg))?;
        l.relay.enabled = true;
        Ok(())
    }

    /// Takes a request in the dialog of `leg` for relay when the leg relays and the request is one that
    /// crosses; returns false when the caller must answer it locally.
    pub(super) fn hold_for_relay(
        &mut self,
        leg: LegId,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        now_ms: u64,
    ) -> bool {
        let Some(l) = self.legs.get(&leg) else {
            return false;
        };
        let method = request.method().as_str().to_string();
        let crosses = match method.as_str() {
            "INVITE" | "UPDATE" => !request.body().is_empty(),
            "INFO" => true,
            _ => false,
        };
        if !l.relay.enabled || !crosses || l.state != LegState::Confirmed {
            return false;
        }
        let busy_offer = l.relay.outgoing.is_some() && is_offer_method(&method);
        if l.relay.incoming.is_some() || busy_offer {
            // Glare (RFC 3261 §14.2, RFC 3311 §5.2); an INFO behind another request is asked to come back.
            let (status, extra) = if is_offer_method(&method) {
                (491, Vec::new())
            } else {
                (500, vec![("Retry-After".to_string(), "1".to_string())])
            };
            self.reject_in_tx(transport, response_to, request, status, &extra, now_ms);
            return true;
        }
        let tx_id = self.new_tx_id();
        let Some((mut tx, mut out)) = Transaction::server(
            format!("tx-{tx_id}"),
            request,
            transport,
            self.timers,
            now_ms,
            &mut self.transitions,
        ) else {
            return false;
        };
        if method == "INVITE" {
            // RFC 3261 §17.2.1: the far side may take a while; stop the re-INVITE's retransmissions now.
            if let Ok(trying) = message::build_response(request, 100, "Trying", None, &[], None) {
                let more = tx.send_response(&trying, now_ms, &mut self.transitions);
                out.send.extend(more.send);
            }
        }
        let entry = TxEntry {
            tx,
            leg: Some(leg),
            purpose: Purpose::Held,
            transport,
            destination: response_to,
            is_server: true,
        };
        self.insert_tx(tx_id, entry, out, now_ms);
        if let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) {
            l.relay.incoming = Some(Box::new(Held {
                tx_id,
                request: request.clone(),
                transport,
                response_to,
            }));
        }
        let headers = request.header_list();
        let content_type = request.header("Content-Type");
        self.events.push_back(SipEvent::ModificationRequested {
            leg,
            method,
            body: body_of(content_type, request.body()),
            headers,
        });
        true
    }

    /// The leg is ending: a request still held on it gets 487 (RFC 3261 §15.1.2 has a UAS answer pending
    /// requests so when BYE ends the dialog), so its transaction does not wait forever.
    pub(super) fn drop_held(&mut self, leg: LegId, now_ms: u64) {
        if self
            .legs
            .get(&leg)
            .is_some_and(|l| l.relay.incoming.is_some())
        {
            let _ = self.answer_held(leg, 487, None, &[], now_ms);
        }
    }

    /// Answers the request held on `leg` (see [`SipEvent::ModificationRequested`]) with the other leg's final
    /// status and body. A 2xx to a re-INVITE is retransmitted until its ACK; a 2xx refreshes the leg's
    /// session timer (RFC 4028 §10).
    pub fn answer_modification(
        &mut self,
        leg: LegId,
        status: u16,
        body: Option<(String, Vec<u8>)>,
        headers: &[(String, String)],
        now_ms: u64,
    ) -> Result<(), SipError> {
        let result = self.answer_held(leg, status, body, headers, now_ms);
        self.refile_legs();
        result
    }

    fn answer_held(
        &mut self,
        leg: LegId,
        status: u16,
        body: Option<(String, Vec<u8>)>,
        headers: &[(String, String)],
        now_ms: u64,
    ) -> Result<(), SipError> {
        if !(200..=699).contains(&status) {
            return Err(SipError::InvalidStatus(status));
        }
        let held = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg)
            .ok_or(SipError::UnknownLeg(leg))?
            .relay
            .incoming
            .take()
            .ok_or_else(|| self.invalid_state(leg, "answer_modification"))?;
        let method = held.request.method();
        let success = (200..300).contains(&status);
        let mut extra = Vec::new();
        if success {
            extra.extend(self.dialog_response_headers(held.transport));
            if method != Method::Known("INFO".into()) {
                extra.extend(self.refresh_session(leg, &held.request, now_ms));
            }
        }
        extra.extend(headers.iter().cloned());
        let response = message::build_response(
            &held.request,
            status,
            default_reason(status),
            None,
            &extra,
            body.as_ref().map(|(t, b)| (t.as_str(), b.as_slice())),
        )
        .map_err(|e| SipError::InvalidHeader {
            name: "response".into(),
            reason: e.to_string(),
        })?;
        let out = match self.txs.get_mut(&held.tx_id) {
            Some(entry) => entry
                .tx
                .send_response(&response, now_ms, &mut self.transitions),
            None => return Err(self.invalid_state(leg, "answer_modification")),
        };
        self.dispatch(held.tx_id, out, now_ms);
        if !success || method == Method::Known("INFO".into()) {
            return Ok(());
        }
        let sent = response.to_bytes();
        let t1 = self.cfg.timer_t1_ms;
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return Ok(());
        };
        if method != Method::Invite {
            // The UPDATE's answer is our current description from now on (as in `endpoint_dialog.rs`).
            if l.final_2xx.is_some() {
                l.final_2xx = Some(sent);
            }
            return Ok(());
        }
        // RFC 3261 §13.3.1.4: retransmitted until the ACK with its CSeq.
        l.final_2xx = Some(sent);
        l.reinvite_pending = true;
        l.response_to = held.response_to;
        l.ack_deadline = Some(now_ms.saturating_add(t1.saturating_mul(64)));
        if held.transport == TransportKind::Udp {
            l.retransmit_interval = t1;
            l.retransmit_at = Some(now_ms.saturating_add(t1));
        }
        self.set_leg_state(leg, LegState::Answered, "relayed re-INVITE answered");
        Ok(())
    }

    /// Sends a re-INVITE, UPDATE or INFO in the confirmed dialog of `leg`; its final response comes back as
    /// [`SipEvent::ModificationAnswered`]. Refused with [`SipError::RequestPending`] while another
    /// modification is under way on the leg.
    pub fn modify(
        &mut self,
        leg: LegId,
        request: InDialogRequest,
        now_ms: u64,
    ) -> Result<(), SipError> {
        let result = self.send_modification(leg, request, now_ms);
        self.refile_legs();
        result
    }

    fn send_modification(
        &mut self,
        leg: LegId,
        request: InDialogRequest,
        now_ms: u64,
    ) -> Result<(), SipError> {
        let l = self.legs.get(&leg).ok_or(SipError::UnknownLeg(leg))?;
        if l.state != LegState::Confirmed || l.dialog.is_none() {
            return Err(self.invalid_state(leg, "modify"));
        }
        let offer = is_offer_method(&request.method);
        if l.relay.outgoing.is_some() || (offer && l.relay.incoming.is_some()) {
            return Err(SipError::RequestPending(leg));
        }
        let transport = l.transport;
        let mut extra = vec![("Contact".to_string(), self.contact(transport))];
        if offer {
            extra.extend(self.session_refresh_headers(leg));
        }
        extra.extend(request.headers.iter().cloned());
        let method = match request.method.as_str() {
            "INVITE" => Method::Invite,
            other => Method::Known(other.to_string()),
        };
        let via = self.new_via(transport);
        let max_forwards = request
            .max_forwards
            .map_or(self.cfg.max_forwards, |m| m.min(self.cfg.max_forwards));
        let user_agent = self.cfg.user_agent.clone();
        let l = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg)
            .ok_or(SipError::UnknownLeg(leg))?;
        let Some(dialog) = l.dialog.as_mut() else {
            return Err(SipError::UnknownLeg(leg));
        };
        dialog.local_cseq = dialog.local_cseq.saturating_add(1);
        let cseq = dialog.local_cseq;
        let built = dialog
            .request_full(
                &method,
                cseq,
                &via,
                max_forwards,
                &user_agent,
                &extra,
                request
                    .body
                    .as_ref()
                    .map(|(t, b)| (t.as_str(), b.as_slice())),
            )
            .map_err(|e| SipError::InvalidHeader {
                name: "request".into(),
                reason: e.to_string(),
            })?;
        let destination = dialog.destination;
        if offer {
            l.relay.outgoing = Some(cseq);
            if request.body.is_some() {
                l.relay.last_offer = request.body;
            }
        }
        self.start_client_tx(
            &built,
            Some(leg),
            Purpose::Relayed { offer },
            transport,
            destination,
            now_ms,
        );
        Ok(())
    }

    /// Session-Expires for a re-INVITE or UPDATE we send when the leg runs a session timer (RFC 4028 §7.4:
    /// without it the peer would take the timer as switched off); the refresher stays who it was.
    pub(super) fn session_refresh_headers(&self, leg: LegId) -> Vec<(String, String)> {
        let Some(l) = self.legs.get(&leg) else {
            return Vec::new();
        };
        let Some(interval) = l.session_interval_s else {
            return Vec::new();
        };
        let refresher = if l.uac.refresh_at.is_some() {
            "uac"
        } else {
            "uas"
        };
        vec![
            (
                "Session-Expires".to_string(),
                format!("{interval};refresher={refresher}"),
            ),
            ("Supported".to_string(), "timer".to_string()),
        ]
    }

    /// A final response (or `None`: the transaction timed out) to a request we sent with
    /// [`Endpoint::modify`].
    pub(super) fn modification_answered(
        &mut self,
        leg: LegId,
        is_offer: bool,
        response: Option<Response>,
        now_ms: u64,
    ) {
        let (status, method, cseq) = match &response {
            Some(r) => {
                let (cseq, method) = r.cseq().unwrap_or((0, Method::Known("INFO".into())));
                (r.status(), method, Some(cseq))
            }
            None => (408, Method::Known(String::new()), None),
        };
        if status < 200 {
            return;
        }
        let ours = self.legs.get(&leg).and_then(|l| l.relay.outgoing);
        if method == Method::Invite && (200..300).contains(&status) {
            self.ack_reinvite(leg, cseq.unwrap_or(0));
            if ours != cseq {
                // A retransmitted 2xx: ACKed again above, already reported.
                return;
            }
        }
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        if is_offer {
            l.relay.outgoing = None;
        }
        if (200..300).contains(&status) && is_offer {
            // RFC 4028 §10: a 2xx to a re-INVITE or UPDATE refreshes the session, whoever sent it.
            if let Some(interval) = l.session_interval_s {
                if l.uac.refresh_at.is_some() {
                    l.uac.refresh_at = Some(now_ms.saturating_add(u64::from(interval) * 500));
                } else if l.session_deadline.is_some() {
                    l.session_deadline = Some(super::session_timer::bye_at(now_ms, interval));
                }
            }
        }
        let (body, headers, method) = match response {
            Some(r) => (
                body_of(r.header("Content-Type"), r.body()),
                r.header_list(),
                method.as_str().to_string(),
            ),
            None => (None, Vec::new(), String::new()),
        };
        self.events.push_back(SipEvent::ModificationAnswered {
            leg,
            method,
            status,
            body,
            headers,
        });
    }

    /// RFC 3261 §13.2.2.4: the ACK of a 2xx to our re-INVITE `cseq`, kept for its retransmissions.
    pub(super) fn ack_reinvite(&mut self, leg: LegId, cseq: u32) {
        let via = match self.legs.get(&leg) {
            Some(l) => self.new_via(l.transport),
            None => return,
        };
        let (max_forwards, user_agent) = (self.cfg.max_forwards, self.cfg.user_agent.clone());
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        let Some(dialog) = l.dialog.as_ref() else {
            return;
        };
        let Ok(ack) = dialog.request(&Method::Ack, cseq, &via, max_forwards, &user_agent) else {
            return;
        };
        let bytes = ack.to_bytes();
        l.ack_2xx = Some(bytes.clone());
        let (transport, to) = (l.transport, dialog.destination);
        self.send(transport, to, bytes);
    }
}
