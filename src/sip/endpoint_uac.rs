//! Client side of the endpoint: outgoing INVITE (RFC 3261 §13.2), ACK for 2xx with the route
//! set (§13.2.2.4, §12.1.2), CANCEL (§9.1), BYE (§15.1.1), transport errors reported by the
//! runtime (§17.1.4), and the handling of transaction events for every leg.

use std::net::SocketAddr;

use super::body;
use super::dialog::{Dialog, DialogId};
use super::endpoint::{
    Endpoint, Leg, LegState, OutgoingInvite, Purpose, Role, SipEvent, TerminationReason, TxEntry,
};
use super::message::{self, Method, RequestBuilder, Response};
use super::sdp::Sdp;
use super::transaction::{Transaction, TxEvent, TxKey};
use super::{LegId, SipError, Transition, TransportKind};

fn quote_display(display: &str) -> String {
    let escaped: String = display
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\" ")
}

fn header_error(e: message::BuildError) -> SipError {
    match e {
        message::BuildError::Uri { uri, reason } => SipError::InvalidUri { uri, reason },
        message::BuildError::Header { name, reason } => SipError::InvalidHeader { name, reason },
        message::BuildError::Status(s) => SipError::InvalidStatus(s),
    }
}

impl Endpoint {
    /// Send an INVITE toward a SIP target; returns the new leg. Timer A/B run in the client
    /// transaction; a 2xx is acknowledged automatically through the dialog's route set.
    pub fn invite(&mut self, req: OutgoingInvite, now_ms: u64) -> Result<LegId, SipError> {
        let result = self.start_invite(req, now_ms);
        self.refile_legs();
        result
    }

    fn start_invite(&mut self, req: OutgoingInvite, now_ms: u64) -> Result<LegId, SipError> {
        let call_id = format!("{}@{}", self.ids.token(), self.cfg.local_addr.ip());
        let local_tag = self.ids.token();
        let via = self.new_via(req.transport);
        // RFC 7332 / RFC 3261 §16.6 step 3: a B2BUA carries the caller's hop count on, never raising it.
        let max_forwards = req
            .max_forwards
            .map_or(self.cfg.max_forwards, |m| m.min(self.cfg.max_forwards));
        let display = req
            .from_display
            .as_deref()
            .map(quote_display)
            .unwrap_or_default();
        let mut builder = RequestBuilder::new(&Method::Invite, &req.request_uri)
            .and_then(|b| b.header("Via", &via))
            .and_then(|b| b.header("Max-Forwards", &max_forwards.to_string()))
            .and_then(|b| {
                b.header(
                    "From",
                    &format!("{display}<{}>;tag={local_tag}", req.from_uri),
                )
            })
            .and_then(|b| b.header("To", &format!("<{}>", req.to_uri)))
            .and_then(|b| b.header("Call-ID", &call_id))
            .and_then(|b| b.header("CSeq", "1 INVITE"))
            .and_then(|b| b.header("Contact", &self.contact(req.transport)))
            .and_then(|b| b.header("User-Agent", &self.cfg.user_agent))
            .and_then(|b| b.header("Allow", super::endpoint_uas::ALLOW))
            .map_err(header_error)?;
        let extensions = super::uac_extensions::invite_headers(
            self.cfg.uac_100rel,
            self.cfg.uac_session_expires_s,
            self.cfg.uac_min_se_s,
        );
        for (name, value) in extensions.iter().chain(&req.extra_headers) {
            builder = builder.header(name, value).map_err(header_error)?;
        }
        let request = builder
            .finish(req.body.as_ref().map(|(t, b)| (t.as_str(), b.as_slice())))
            .map_err(header_error)?;
        let tx_id = self.new_tx_id();
        let (tx, out) = Transaction::client(
            format!("tx-{tx_id}"),
            &request,
            req.transport,
            self.timers,
            now_ms,
            &mut self.transitions,
        )
        .ok_or_else(|| SipError::InvalidHeader {
            name: "Via".into(),
            reason: "no transaction key".into(),
        })?;
        let leg = LegId(self.next_leg);
        self.next_leg += 1;
        self.dirty_legs.push(leg);
        self.legs.insert(
            leg,
            Leg {
                role: Role::Uac,
                state: LegState::Calling,
                transport: req.transport,
                peer: req.destination,
                response_to: req.destination,
                local_tag,
                invite_tx: tx_id,
                invite: request,
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
                reliable: None,
                uac: Default::default(),
                relay: super::endpoint_relay::RelayState {
                    enabled: req.relay_in_dialog,
                    ..Default::default()
                },
            },
        );
        self.transitions.push_back(Transition {
            machine: "sip.leg",
            id: leg.to_string(),
            from: "None".into(),
            to: format!("{:?}", LegState::Calling),
            reason: "INVITE sent".into(),
        });
        let entry = TxEntry {
            tx,
            leg: Some(leg),
            purpose: Purpose::Invite,
            transport: req.transport,
            destination: req.destination,
            is_server: false,
        };
        self.insert_tx(tx_id, entry, out, now_ms);
        Ok(leg)
    }

    /// Cancel an outgoing INVITE that has no final response yet (RFC 3261 §9.1). The CANCEL
    /// waits for a provisional response if none arrived yet. The leg ends with
    /// `LegTerminated { Cancelled }` (487, or a 2xx that is then ACKed and released with BYE),
    /// or `TransactionTimeout` when nothing final arrives within 64·T1.
    pub fn cancel(&mut self, leg: LegId, now_ms: u64) -> Result<(), SipError> {
        let result = self.cancel_leg(leg, now_ms);
        self.refile_legs();
        result
    }

    fn cancel_leg(&mut self, leg: LegId, now_ms: u64) -> Result<(), SipError> {
        let l = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg)
            .ok_or(SipError::UnknownLeg(leg))?;
        match (l.role, l.state) {
            (Role::Uac, LegState::Cancelling) => return Ok(()),
            (Role::Uac, LegState::Calling | LegState::Proceeding) => {}
            _ => return Err(self.invalid_state(leg, "cancel")),
        }
        l.cancel_deadline = Some(now_ms.saturating_add(self.cfg.timer_t1_ms.saturating_mul(64)));
        let send_now = l.provisional_seen;
        self.set_leg_state(leg, LegState::Cancelling, "cancel requested");
        if send_now {
            self.send_cancel(leg, now_ms);
        }
        Ok(())
    }

    fn send_cancel(&mut self, leg: LegId, now_ms: u64) {
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        if l.cancel_sent {
            return;
        }
        l.cancel_sent = true;
        let invite = &l.invite;
        let cseq = invite.cseq().map(|(n, _)| n).unwrap_or(1);
        let mut builder = RequestBuilder::new(&Method::Cancel, &invite.request_uri());
        for name in ["Via", "From", "To", "Call-ID"] {
            let value = invite.header(name).unwrap_or_default();
            builder = builder.and_then(|b| b.header(name, &value));
        }
        let routes: Vec<String> = invite
            .header_list()
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Route"))
            .map(|(_, v)| v)
            .collect();
        for route in routes {
            builder = builder.and_then(|b| b.header("Route", &route));
        }
        let request = builder
            .and_then(|b| b.header("CSeq", &format!("{cseq} CANCEL")))
            .and_then(|b| b.header("Max-Forwards", &self.cfg.max_forwards.to_string()))
            .and_then(|b| b.finish(None));
        let (transport, destination) = (l.transport, l.peer);
        if let Ok(request) = request {
            self.start_client_tx(
                &request,
                None,
                Purpose::Cancel,
                transport,
                destination,
                now_ms,
            );
        }
    }

    /// Send BYE in a confirmed dialog (RFC 3261 §15.1.1, Timer E/F). On an outgoing leg still
    /// ringing this cancels instead; on an incoming leg answered but not yet ACKed the BYE is
    /// sent once the ACK arrives (or the ACK times out). The leg ends with
    /// `LegTerminated { ByeCompleted }`.
    pub fn bye(&mut self, leg: LegId, now_ms: u64) -> Result<(), SipError> {
        let result = self.bye_leg(leg, now_ms);
        self.refile_legs();
        result
    }

    fn bye_leg(&mut self, leg: LegId, now_ms: u64) -> Result<(), SipError> {
        let l = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg)
            .ok_or(SipError::UnknownLeg(leg))?;
        match (l.role, l.state) {
            (Role::Uac, LegState::Calling | LegState::Proceeding | LegState::Cancelling) => {
                self.cancel(leg, now_ms)
            }
            (_, LegState::Terminating) => Ok(()),
            (_, LegState::Answered) => {
                l.bye_after_ack = true;
                Ok(())
            }
            (_, LegState::Confirmed) => {
                self.send_bye(leg, now_ms);
                Ok(())
            }
            _ => Err(self.invalid_state(leg, "bye")),
        }
    }

    pub(super) fn send_bye(&mut self, leg: LegId, now_ms: u64) {
        self.drop_held(leg, now_ms);
        let via = match self.legs.get(&leg) {
            Some(l) => self.new_via(l.transport),
            None => return,
        };
        let (max_forwards, user_agent) = (self.cfg.max_forwards, self.cfg.user_agent.clone());
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        let Some(dialog) = l.dialog.as_mut() else {
            return;
        };
        dialog.local_cseq = dialog.local_cseq.saturating_add(1);
        let request = dialog.request(
            &Method::Bye,
            dialog.local_cseq,
            &via,
            max_forwards,
            &user_agent,
        );
        let (transport, destination) = (l.transport, dialog.destination);
        if let Ok(request) = request {
            self.set_leg_state(leg, LegState::Terminating, "BYE sent");
            self.start_client_tx(
                &request,
                Some(leg),
                Purpose::Bye,
                transport,
                destination,
                now_ms,
            );
        }
    }

    pub(super) fn start_client_tx(
        &mut self,
        request: &message::Request,
        leg: Option<LegId>,
        purpose: Purpose,
        transport: TransportKind,
        destination: std::net::SocketAddr,
        now_ms: u64,
    ) {
        let id = self.new_tx_id();
        if let Some((tx, out)) = Transaction::client(
            format!("tx-{id}"),
            request,
            transport,
            self.timers,
            now_ms,
            &mut self.transitions,
        ) {
            let entry = TxEntry {
                tx,
                leg,
                purpose,
                transport,
                destination,
                is_server: false,
            };
            self.insert_tx(id, entry, out, now_ms);
        }
    }

    pub(super) fn handle_response(
        &mut self,
        from: std::net::SocketAddr,
        response: Response,
        now_ms: u64,
    ) {
        let id = TxKey::of_response(&response).and_then(|k| self.client_index.get(&k).copied());
        let Some(id) = id else {
            self.unmatched_response(&response);
            let _ = from;
            return;
        };
        let Some(entry) = self.txs.get_mut(&id) else {
            return;
        };
        let out = entry
            .tx
            .on_response(response, now_ms, &mut self.transitions);
        self.dispatch(id, out, now_ms);
    }

    /// A 2xx retransmitted after its transaction ended still deserves our ACK (§13.2.2.4).
    fn unmatched_response(&mut self, response: &Response) {
        if !(200..300).contains(&response.status()) {
            return;
        }
        let id = DialogId {
            call_id: response.call_id().unwrap_or_default(),
            local_tag: response.from().and_then(|f| f.tag).unwrap_or_default(),
            remote_tag: response.to().and_then(|t| t.tag).unwrap_or_default(),
        };
        let Some(l) = self.dialogs.get(&id).and_then(|leg| self.legs.get(leg)) else {
            return;
        };
        if let (Some(ack), Some(d)) = (l.ack_2xx.clone(), l.dialog.as_ref()) {
            let (t, to) = (l.transport, d.destination);
            self.send(t, to, ack);
        }
    }

    /// The runtime could not deliver a message over `transport` to `to` (a refused or failed connection): every
    /// client transaction waiting on that destination ends with a transport error (RFC 3261 §17.1.4), so an
    /// INVITE fails over at once instead of after Timer B.
    pub fn transport_failed(&mut self, transport: TransportKind, to: SocketAddr, now_ms: u64) {
        let failed: Vec<u64> = self
            .txs
            .iter()
            .filter(|(_, e)| !e.is_server && e.transport == transport && e.destination == to)
            .map(|(id, _)| *id)
            .collect();
        for id in failed {
            let out = self
                .txs
                .get_mut(&id)
                .map(|e| e.tx.on_transport_error(now_ms, &mut self.transitions));
            if let Some(out) = out {
                self.dispatch(id, out, now_ms);
            }
        }
        self.refile_legs();
    }

    pub(super) fn handle_tx_event(
        &mut self,
        leg: Option<LegId>,
        purpose: Purpose,
        event: TxEvent,
        now_ms: u64,
    ) {
        if let Purpose::KeepAlive(index) = purpose {
            if let TxEvent::Response(r) = &event {
                if r.status() >= 200 {
                    self.ping_answered(index, r.status());
                }
            }
            return;
        }
        let Some(leg) = leg else {
            return;
        };
        let role = match self.legs.get(&leg) {
            Some(l) => l.role,
            None => return,
        };
        match (purpose, event, role) {
            (Purpose::Invite, TxEvent::TransportError, Role::Uac) => self.terminate_leg(
                leg,
                TerminationReason::TransportError,
                "INVITE could not be delivered",
            ),
            // Another request that cannot be delivered ends as if it had timed out (RFC 3261 §8.1.3.1).
            (purpose, TxEvent::TransportError, _) => {
                self.handle_tx_event(Some(leg), purpose, TxEvent::Timeout, now_ms)
            }
            (Purpose::Invite, TxEvent::Response(r), Role::Uac) => {
                self.invite_response(leg, r, now_ms)
            }
            (Purpose::Invite, TxEvent::Ack, Role::Uas) => self.ack_received(leg, now_ms),
            (Purpose::Invite, TxEvent::Timeout, Role::Uac) => self.terminate_leg(
                leg,
                TerminationReason::TransactionTimeout,
                "INVITE transaction timeout",
            ),
            (Purpose::Bye, TxEvent::Response(r), _) if r.status() >= 200 => {
                self.terminate_leg(leg, TerminationReason::ByeCompleted, "BYE answered")
            }
            (Purpose::Refresh, TxEvent::Response(r), _) if r.status() >= 200 => {
                self.refresh_response(leg, &r, now_ms)
            }
            (Purpose::Held, TxEvent::Ack, _) => self.ack_received(leg, now_ms),
            (Purpose::Relayed { offer }, TxEvent::Response(r), _) => {
                self.modification_answered(leg, offer, Some(r), now_ms)
            }
            (Purpose::Relayed { offer }, TxEvent::Timeout, _) => {
                self.modification_answered(leg, offer, None, now_ms)
            }
            (Purpose::Refresh, TxEvent::Timeout, _) => self.refresh_answered(leg, None, now_ms),
            (Purpose::Bye, TxEvent::Timeout, _) => {
                self.terminate_leg(leg, TerminationReason::ByeCompleted, "BYE timed out")
            }
            _ => {}
        }
    }

    fn invite_response(&mut self, leg: LegId, response: Response, now_ms: u64) {
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        let status = response.status();
        let parts = match response.content_type() {
            Some((media, params)) => body::split(&media, &params, response.body()),
            None => body::BodyParts::default(),
        };
        let sdp = parts.sdp.as_deref().and_then(|s| Sdp::parse(s).ok());
        match status {
            100..=199 => {
                l.provisional_seen = true;
                let state = l.state;
                if state == LegState::Cancelling {
                    self.send_cancel(leg, now_ms);
                    return;
                }
                if state == LegState::Calling {
                    self.set_leg_state(leg, LegState::Proceeding, "provisional received");
                }
                if status > 100 && self.early_response(leg, &response, now_ms) {
                    self.events.push_back(SipEvent::Provisional {
                        leg,
                        status,
                        reason: response.reason(),
                        sdp,
                        isup_body: parts.isup,
                    });
                }
            }
            200..=299 => self.invite_answered(leg, &response, sdp, parts.isup, now_ms),
            _ => {
                if l.state == LegState::Cancelling {
                    self.terminate_leg(leg, TerminationReason::Cancelled, "INVITE cancelled");
                    return;
                }
                if status == 422 && self.retry_after_422(leg, &response, now_ms) {
                    return;
                }
                self.set_leg_state(leg, LegState::Terminated, "final response received");
                self.events.push_back(SipEvent::Rejected {
                    leg,
                    status,
                    reason: response.reason(),
                    headers: response.header_list(),
                });
            }
        }
    }

    fn release_fork(
        &mut self,
        dialog: Dialog,
        ack: Result<message::Request, message::BuildError>,
        transport: TransportKind,
        now_ms: u64,
    ) {
        let destination = dialog.destination;
        if let Ok(ack) = ack {
            self.send(transport, destination, ack.to_bytes());
        }
        let via = self.new_via(transport);
        let bye = dialog.request(
            &Method::Bye,
            dialog.local_cseq.saturating_add(1),
            &via,
            self.cfg.max_forwards,
            &self.cfg.user_agent,
        );
        if let Ok(bye) = bye {
            self.start_client_tx(&bye, None, Purpose::Bye, transport, destination, now_ms);
        }
    }

    fn invite_answered(
        &mut self,
        leg: LegId,
        response: &Response,
        sdp: Option<Sdp>,
        isup_body: Option<Vec<u8>>,
        now_ms: u64,
    ) {
        let via = match self.legs.get(&leg) {
            Some(l) => self.new_via(l.transport),
            None => return,
        };
        let (max_forwards, user_agent) = (self.cfg.max_forwards, self.cfg.user_agent.clone());
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        let remote_tag = response.to().and_then(|t| t.tag).unwrap_or_default();
        let other_fork = match &l.dialog {
            Some(d) if d.id.remote_tag == remote_tag => {
                if let Some(ack) = l.ack_2xx.clone() {
                    let (t, to) = (l.transport, d.destination);
                    self.send(t, to, ack);
                }
                return;
            }
            Some(_) => true,
            None => false,
        };
        let cseq = l.invite.cseq().map(|(n, _)| n).unwrap_or(1);
        let local_cseq = self.confirmed_cseq(leg, &remote_tag, cseq);
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        let invite = &l.invite;
        let mut route_set = response.record_route();
        route_set.reverse();
        let id = DialogId {
            call_id: invite.call_id().unwrap_or_default(),
            local_tag: l.local_tag.clone(),
            remote_tag,
        };
        let dialog = Dialog::new(
            id.clone(),
            invite.from().map(|f| f.uri).unwrap_or_default(),
            invite.to().map(|t| t.uri).unwrap_or_default(),
            response.contacts().first(),
            &route_set,
            local_cseq,
            l.peer,
        );
        let ack = dialog.request(&Method::Ack, cseq, &via, max_forwards, &user_agent);
        if other_fork {
            // §13.2.2.4: a 2xx from a second fork branch is ACKed and released at once; its
            // dialog is not tracked.
            let transport = l.transport;
            self.release_fork(dialog, ack, transport, now_ms);
            return;
        }
        if let Ok(ack) = ack {
            let bytes = ack.to_bytes();
            l.ack_2xx = Some(bytes.clone());
            let (t, to) = (l.transport, dialog.destination);
            self.transmits.push_back(super::Transmit {
                transport: t,
                to,
                data: bytes,
            });
        }
        l.dialog = Some(dialog);
        l.cancel_deadline = None;
        let cancelling = l.state == LegState::Cancelling;
        self.dialogs.insert(id, leg);
        self.set_leg_state(leg, LegState::Confirmed, "2xx received");
        if cancelling {
            // The CANCEL lost the race with the answer: release the call at once.
            self.send_bye(leg, now_ms);
            self.terminate_leg(leg, TerminationReason::Cancelled, "answered after CANCEL");
            return;
        }
        self.start_uac_session_timer(leg, response, now_ms);
        self.events.push_back(SipEvent::Answered {
            leg,
            sdp,
            isup_body,
        });
    }
}
