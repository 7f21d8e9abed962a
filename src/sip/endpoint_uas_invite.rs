//! Server side of the endpoint for a new INVITE (RFC 3261 §13.3, §17.2.1): the checks before a leg
//! is created (Max-Forwards, RFC 4028 Min-SE, Accept, body types), the leg and its `IncomingInvite`
//! event, answering it with `respond` (provisionals, RFC 3262 reliable ones, the 2xx that creates the
//! dialog), and the ACK of that 2xx or its §13.3.1.4 timeout. Request intake and dispatch live in
//! `endpoint_uas`.

use std::net::SocketAddr;

use super::body;
use super::dialog::{Dialog, DialogId};
use super::endpoint::{
    Endpoint, Leg, LegState, Purpose, Role, SipEvent, TerminationReason, TxEntry,
};
use super::endpoint_uas::{ACCEPT, ALLOW};
use super::message::{self, default_reason, Request};
use super::reliable::{self, Reliable};
use super::sdp::Sdp;
use super::session_timer;
use super::transaction::Transaction;
use super::{LegId, SipError, Transition, TransportKind};

impl Endpoint {
    pub(super) fn on_invite(
        &mut self,
        transport: TransportKind,
        from: SocketAddr,
        response_to: SocketAddr,
        request: Request,
        now_ms: u64,
    ) {
        if request.max_forwards() == Some(0) {
            self.reject_in_tx(transport, response_to, &request, 483, &[], now_ms);
            return;
        }
        // RFC 4028 §8.1: an interval below our minimum is refused, naming the minimum.
        if let Some(se) = session_timer::session_expires(&request) {
            if se.interval_s < self.cfg.min_session_expires_s {
                let extra = vec![(
                    "Min-SE".to_string(),
                    self.cfg.min_session_expires_s.to_string(),
                )];
                self.reject_in_tx(transport, response_to, &request, 422, &extra, now_ms);
                return;
            }
        }
        // RFC 3261 §21.4.7, RFC 4475 §3.3.15: our answer is SDP, so an Accept without it gets 406.
        if !request.accepts_sdp() {
            let extra = vec![("Accept".to_string(), "application/sdp".to_string())];
            self.reject_in_tx(transport, response_to, &request, 406, &extra, now_ms);
            return;
        }
        let parts = match request.content_type() {
            Some((media, params)) => {
                if !request.body().is_empty() && !body::understood(&media) {
                    let extra = vec![("Accept".to_string(), ACCEPT.to_string())];
                    self.reject_in_tx(transport, response_to, &request, 415, &extra, now_ms);
                    return;
                }
                body::split(&media, &params, request.body())
            }
            None => body::BodyParts::default(),
        };
        let tx_id = self.new_tx_id();
        let Some((tx, out)) = Transaction::server(
            format!("tx-{tx_id}"),
            &request,
            transport,
            self.timers,
            now_ms,
            &mut self.transitions,
        ) else {
            return;
        };
        let leg = LegId(self.next_leg);
        self.next_leg += 1;
        let local_tag = self.ids.token();
        let reliable =
            reliable::wanted(&request).then(|| Reliable::new(self.ids.next_u64() as u32));
        self.dirty_legs.push(leg);
        self.legs.insert(
            leg,
            Leg {
                role: Role::Uas,
                state: LegState::Proceeding,
                transport,
                peer: from,
                response_to,
                local_tag,
                invite_tx: tx_id,
                invite: request.clone(),
                dialog: None,
                trying_sent: false,
                final_2xx: None,
                retransmit_at: None,
                retransmit_interval: self.cfg.timer_t1_ms,
                ack_deadline: None,
                bye_after_ack: false,
                provisional_seen: false,
                cancel_sent: false,
                cancel_deadline: None,
                ack_2xx: None,
                reinvite_pending: false,
                session_interval_s: None,
                session_deadline: None,
                reliable,
                uac: Default::default(),
                relay: Default::default(),
            },
        );
        self.transitions.push_back(Transition {
            machine: "sip.leg",
            id: leg.to_string(),
            from: "None".into(),
            to: format!("{:?}", LegState::Proceeding),
            reason: "INVITE received".into(),
        });
        let entry = TxEntry {
            tx,
            leg: Some(leg),
            purpose: Purpose::Invite,
            transport,
            destination: response_to,
            is_server: true,
        };
        self.insert_tx(tx_id, entry, out, now_ms);
        // RFC 3261 §17.2.1: answer 100 at once so the caller stops retransmitting.
        let _ = self.respond(leg, 100, None, &[], None, now_ms);

        let sdp = parts.sdp.as_deref().and_then(|s| Sdp::parse(s).ok());
        let from_addr = request.from();
        let pai = request.p_asserted_identity();
        self.events.push_back(SipEvent::IncomingInvite {
            leg,
            request_uri: request.request_uri(),
            called_user: request.request_uri_user(),
            from_uri: from_addr
                .as_ref()
                .map(|f| f.uri.clone())
                .unwrap_or_default(),
            from_user: from_addr.as_ref().and_then(|f| f.user.clone()),
            from_display: from_addr.and_then(|f| f.display_name),
            p_asserted_identity: pai.as_ref().map(|p| p.uri.clone()),
            pai_user: pai.and_then(|p| p.user),
            privacy: request.header("Privacy"),
            call_id: request.call_id().unwrap_or_default(),
            sdp,
            isup_body: parts.isup,
            headers: request.header_list(),
        });
    }

    pub(super) fn on_unmatched_ack(&mut self, request: &Request, now_ms: u64) {
        if let Some(leg) = self.dialog_of(request) {
            // RFC 3261 §13.2.2.4: the ACK carries the CSeq number of the INVITE it acknowledges.
            let acked = request.cseq().map(|(n, _)| n);
            if acked.is_some() && acked == self.pending_2xx_cseq(leg) {
                self.ack_received(leg, now_ms);
            }
        }
    }

    pub(super) fn ack_received(&mut self, leg: LegId, now_ms: u64) {
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        if l.state != LegState::Answered {
            return;
        }
        l.retransmit_at = None;
        l.ack_deadline = None;
        let bye = l.bye_after_ack;
        let modification = std::mem::take(&mut l.reinvite_pending);
        self.set_leg_state(leg, LegState::Confirmed, "ACK received");
        // The call above saw the first ACK; a re-INVITE's ACK only ends the modification.
        if !modification {
            self.events.push_back(SipEvent::Acked { leg });
        }
        if bye {
            self.send_bye(leg, now_ms);
        }
    }

    pub(super) fn ack_timeout(&mut self, leg: LegId, now_ms: u64) {
        // RFC 3261 §13.3.1.4: no ACK within 64·T1 — confirm, then tear down with BYE.
        self.send_bye(leg, now_ms);
        self.terminate_leg(leg, TerminationReason::AckTimeout, "no ACK within 64*T1");
    }

    /// Answer an incoming INVITE. 100 is idempotent (it was already sent); 101–199 are plain
    /// provisionals with our To-tag and Contact; 2xx is retransmitted until ACK (RFC 3261
    /// §13.3.1.4, event `LegTerminated { AckTimeout }` after 64·T1); ≥300 ends the leg.
    pub fn respond(
        &mut self,
        leg: LegId,
        status: u16,
        reason: Option<&str>,
        extra_headers: &[(String, String)],
        body: Option<(String, Vec<u8>)>,
        now_ms: u64,
    ) -> Result<(), SipError> {
        let result = self.respond_leg(leg, status, reason, extra_headers, body, now_ms);
        self.refile_legs();
        result
    }

    fn respond_leg(
        &mut self,
        leg: LegId,
        status: u16,
        reason: Option<&str>,
        extra_headers: &[(String, String)],
        body: Option<(String, Vec<u8>)>,
        now_ms: u64,
    ) -> Result<(), SipError> {
        if !(100..=699).contains(&status) {
            return Err(SipError::InvalidStatus(status));
        }
        let l = self.legs.get(&leg).ok_or(SipError::UnknownLeg(leg))?;
        if l.role != Role::Uas || l.state != LegState::Proceeding {
            return Err(self.invalid_state(leg, "respond"));
        }
        if status == 100 && l.trying_sent {
            return Ok(());
        }
        let mut extra: Vec<(String, String)> = Vec::new();
        if (101..300).contains(&status) {
            extra.push(("Contact".into(), self.contact(l.transport)));
        }
        if status < 300 && status > 100 {
            extra.push(("Allow".into(), ALLOW.into()));
        }
        extra.push(("Server".into(), self.cfg.user_agent.clone()));
        let session = (200..300)
            .contains(&status)
            .then(|| session_timer::negotiated(&l.invite, self.cfg.min_session_expires_s))
            .flatten();
        if let Some(interval) = session {
            extra.extend(session_timer::response_headers(interval));
        }
        extra.extend(extra_headers.iter().cloned());
        let tag = (status > 100).then(|| l.local_tag.clone());
        let rseq = if (101..200).contains(&status) {
            super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg)
                .and_then(|l| l.reliable.as_mut())
                .and_then(Reliable::take_rseq)
        } else {
            None
        };
        if let Some(rseq) = rseq {
            extra.push(("Require".into(), "100rel".into()));
            extra.push(("RSeq".into(), rseq.to_string()));
        }
        let Some(l) = self.legs.get(&leg) else {
            return Err(SipError::UnknownLeg(leg));
        };
        let response = message::build_response(
            &l.invite,
            status,
            reason.unwrap_or(default_reason(status)),
            tag.as_deref(),
            &extra,
            body.as_ref().map(|(t, b)| (t.as_str(), b.as_slice())),
        )
        .map_err(|e| SipError::InvalidHeader {
            name: "response".into(),
            reason: e.to_string(),
        })?;
        let tx_id = l.invite_tx;
        let out = match self.txs.get_mut(&tx_id) {
            Some(entry) => entry
                .tx
                .send_response(&response, now_ms, &mut self.transitions),
            None => return Err(self.invalid_state(leg, "respond")),
        };
        self.dispatch(tx_id, out, now_ms);
        let t1 = self.cfg.timer_t1_ms;
        if let Some(r) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg)
            .and_then(|l| l.reliable.as_mut())
        {
            match rseq {
                Some(rseq) => r.sent(rseq, response.to_bytes(), now_ms, t1),
                None if status >= 200 => r.finish(),
                None => {}
            }
        }
        match status {
            100 => {
                if let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) {
                    l.trying_sent = true;
                }
            }
            101..=199 => {}
            200..=299 => {
                self.answered(leg, response.to_bytes(), now_ms);
                if let (Some(l), Some(interval)) = (
                    super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg),
                    session,
                ) {
                    l.session_interval_s = Some(interval);
                    l.session_deadline = Some(session_timer::bye_at(now_ms, interval));
                }
            }
            _ => self.set_leg_state(leg, LegState::Terminated, "final response sent"),
        }
        Ok(())
    }

    fn answered(&mut self, leg: LegId, response: Vec<u8>, now_ms: u64) {
        let t1 = self.cfg.timer_t1_ms;
        let first_cseq = (self.ids.next_u64() % 10_000) as u32 + 1;
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        let invite = &l.invite;
        let from = invite.from();
        let to = invite.to();
        let id = DialogId {
            call_id: invite.call_id().unwrap_or_default(),
            local_tag: l.local_tag.clone(),
            remote_tag: from
                .as_ref()
                .and_then(|f| f.tag.clone())
                .unwrap_or_default(),
        };
        let contacts = invite.contacts();
        let mut dialog = Dialog::new(
            id.clone(),
            to.map(|t| t.uri).unwrap_or_default(),
            from.map(|f| f.uri).unwrap_or_default(),
            contacts.first(),
            &invite.record_route(),
            first_cseq,
            l.peer,
        );
        let outbound = contacts
            .first()
            .is_some_and(|c| super::has_ob_param(&c.uri));
        if l.transport.reuses_flow() || (outbound && l.transport != TransportKind::Udp) {
            // The caller's Contact is not reachable (WebSocket) or not where it listens for TLS, or the caller
            // asked for its flow with `ob` (RFC 5626 §5.4, we are its first hop): our requests in this dialog
            // ride the connection the INVITE came on.
            dialog.destination = l.peer;
        }
        l.dialog = Some(dialog);
        l.final_2xx = Some(response);
        if l.transport == TransportKind::Udp {
            l.retransmit_interval = t1;
            l.retransmit_at = Some(now_ms.saturating_add(t1));
        }
        l.ack_deadline = Some(now_ms.saturating_add(t1.saturating_mul(64)));
        self.dialogs.insert(id, leg);
        self.set_leg_state(leg, LegState::Answered, "2xx sent");
    }
}
