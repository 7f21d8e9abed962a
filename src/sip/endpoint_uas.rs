//! Server side of the endpoint, request intake: RFC 3261 §8.2 UAS checks and dispatch of every
//! incoming request, answers from a fresh server transaction (`reject_in_tx`, `reply_in_tx`), §9.2
//! CANCEL, §12.2.2 in-dialog request matching and §15.1.2 BYE. A new INVITE, its answer (`respond`)
//! and the ACK of our 2xx live in `endpoint_uas_invite`.

use std::net::SocketAddr;

use super::dialog::DialogId;
use super::endpoint::{
    method_is_known, response_destination, salvaged_destination, Endpoint, LegState, Purpose,
    SipEvent, TxEntry,
};
use super::message::{self, default_reason, Method, Request};
use super::reliable;
use super::transaction::{Transaction, TxKey};
use super::{LegId, TransportKind};

pub(super) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, PRACK";
pub(super) const ACCEPT: &str = "application/sdp, application/isup, multipart/mixed";

/// A response for [`Endpoint::reply_in_tx`].
pub(super) struct Reply<'a> {
    pub(super) status: u16,
    pub(super) extra: &'a [(String, String)],
    pub(super) body: Option<(&'a str, &'a [u8])>,
    /// Our To-tag when the request has none; `None`: a fresh one (above 100).
    pub(super) to_tag: Option<&'a str>,
}

impl Endpoint {
    pub(super) fn handle_request(
        &mut self,
        transport: TransportKind,
        from: SocketAddr,
        request: Request,
        now_ms: u64,
    ) {
        let method = request.method();
        if !request.answerable() {
            let reason = "request lacks a readable Via, From, To, Call-ID or CSeq".to_string();
            if method != Method::Ack {
                if let Some((bytes, via)) =
                    message::salvage_bad_request(&request.to_bytes(), &reason)
                {
                    let to = salvaged_destination(transport, from, &via);
                    self.send(transport, to, bytes);
                }
            }
            self.events.push_back(SipEvent::Malformed { from, reason });
            return;
        }
        let response_to = response_destination(transport, from, request.top_via().as_ref());
        if let Some((status, finding)) = request.findings().into_iter().next() {
            if method != Method::Ack {
                let phrase = format!("{} ({finding})", default_reason(status));
                self.respond_stateless(transport, response_to, &request, status, &phrase, &[]);
            }
            self.events.push_back(SipEvent::Malformed {
                from,
                reason: format!("{} {finding}", method.as_str()),
            });
            return;
        }

        if let Some(id) = TxKey::of_request(&request).and_then(|k| self.server_index.get(&k)) {
            let id = *id;
            let Some(entry) = self.txs.get_mut(&id) else {
                return;
            };
            let out = entry.tx.on_request(&request, now_ms, &mut self.transitions);
            let leg = entry.leg;
            // RFC 6026 Accepted absorbs INVITE retransmissions; the 2xx they ask for is ours to
            // repeat (§13.3.1.4).
            if method == Method::Invite {
                if let Some(l) = leg.and_then(|leg| self.legs.get(&leg)) {
                    if l.state == LegState::Answered {
                        if let Some(data) = l.final_2xx.clone() {
                            let (t, to) = (l.transport, l.response_to);
                            self.send(t, to, data);
                        }
                    }
                }
            }
            self.dispatch(id, out, now_ms);
            return;
        }

        let to_tag = request.to().and_then(|t| t.tag);
        if method != Method::Ack && !request.request_uri_scheme_supported() {
            self.reject_in_tx(transport, response_to, &request, 416, &[], now_ms);
            return;
        }
        // RFC 3261 §8.2.2.3: a Require naming an extension we lack is refused, listing what we lack.
        if !matches!(method, Method::Ack | Method::Cancel) {
            let unsupported: Vec<String> = request
                .header_list()
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case("Require"))
                .flat_map(|(_, value)| {
                    value
                        .split(',')
                        .map(|o| o.trim().to_string())
                        .collect::<Vec<_>>()
                })
                .filter(|o| {
                    !reliable::SUPPORTED
                        .iter()
                        .any(|s| o.eq_ignore_ascii_case(s))
                })
                .collect();
            if !unsupported.is_empty() {
                let extra = vec![("Unsupported".to_string(), unsupported.join(", "))];
                self.reject_in_tx(transport, response_to, &request, 420, &extra, now_ms);
                return;
            }
        }
        match method {
            Method::Ack => self.on_unmatched_ack(&request, now_ms),
            Method::Cancel => self.on_cancel(transport, response_to, &request, now_ms),
            Method::Invite => {
                if to_tag.is_some() {
                    match self.dialog_of(&request) {
                        Some(leg) => {
                            self.on_reinvite(leg, transport, response_to, &request, now_ms)
                        }
                        None => {
                            self.reject_in_tx(transport, response_to, &request, 481, &[], now_ms)
                        }
                    }
                } else if self.authorize_invite(transport, from, response_to, &request, now_ms) {
                    self.on_invite(transport, from, response_to, request, now_ms);
                }
            }
            Method::Bye => self.on_bye(transport, response_to, &request, now_ms),
            Method::Options => {
                let extra = vec![
                    ("Allow".to_string(), self.allow()),
                    ("Accept".to_string(), ACCEPT.to_string()),
                ];
                self.reject_in_tx(transport, response_to, &request, 200, &extra, now_ms);
            }
            Method::Known(ref name) if name == "REGISTER" && self.registrar_enabled() => {
                self.on_register(transport, from, response_to, &request, now_ms)
            }
            Method::Known(ref name) if name == "PRACK" => {
                self.on_prack(transport, response_to, &request, now_ms)
            }
            Method::Known(ref name) if name == "UPDATE" || name == "INFO" => {
                let early = || (name == "UPDATE").then(|| self.early_uac_leg_of(&request));
                match self.dialog_of(&request).or_else(|| early().flatten()) {
                    Some(leg) => {
                        self.on_update_or_info(leg, transport, response_to, &request, now_ms)
                    }
                    None => self.reject_in_tx(transport, response_to, &request, 481, &[], now_ms),
                }
            }
            ref other => {
                let in_unknown_dialog = to_tag.is_some() && self.dialog_of(&request).is_none();
                let (status, extra) = if !method_is_known(other) {
                    (501, Vec::new())
                } else if in_unknown_dialog {
                    (481, Vec::new())
                } else {
                    (405, vec![("Allow".to_string(), self.allow())])
                };
                self.reject_in_tx(transport, response_to, &request, status, &extra, now_ms);
            }
        }
    }

    /// The leg whose dialog an incoming request belongs to (To-tag is ours, From-tag theirs).
    pub(super) fn dialog_of(&self, request: &Request) -> Option<LegId> {
        let id = DialogId {
            call_id: request.call_id()?,
            local_tag: request.to()?.tag?,
            remote_tag: request.from()?.tag.unwrap_or_default(),
        };
        self.dialogs.get(&id).copied()
    }

    fn respond_stateless(
        &mut self,
        transport: TransportKind,
        to: SocketAddr,
        request: &Request,
        status: u16,
        reason: &str,
        extra: &[(String, String)],
    ) {
        let tag = (status > 100).then(|| self.ids.token());
        if let Ok(response) =
            message::build_response(request, status, reason, tag.as_deref(), extra, None)
        {
            self.send(transport, to, response.to_bytes());
        }
    }

    /// Answer `request` from a new server transaction (so retransmissions are absorbed).
    pub(super) fn reject_in_tx(
        &mut self,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        status: u16,
        extra: &[(String, String)],
        now_ms: u64,
    ) {
        let reply = Reply {
            status,
            extra,
            body: None,
            to_tag: None,
        };
        self.reply_in_tx(transport, response_to, request, reply, now_ms);
    }

    /// Answer a request with a new server transaction that owns the response (retransmission
    /// absorption, Timer J/H). Returns the response sent.
    pub(super) fn reply_in_tx(
        &mut self,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        reply: Reply<'_>,
        now_ms: u64,
    ) -> Option<Vec<u8>> {
        let Reply {
            status,
            extra,
            body,
            to_tag,
        } = reply;
        let id = self.new_tx_id();
        let (mut tx, out) = Transaction::server(
            format!("tx-{id}"),
            request,
            transport,
            self.timers,
            now_ms,
            &mut self.transitions,
        )?;
        let tag = match to_tag {
            Some(tag) => Some(tag.to_string()),
            None => (status > 100).then(|| self.ids.token()),
        };
        let mut first = out;
        let sent = match message::build_response(
            request,
            status,
            default_reason(status),
            tag.as_deref(),
            extra,
            body,
        ) {
            Ok(response) => {
                let more = tx.send_response(&response, now_ms, &mut self.transitions);
                first.send.extend(more.send);
                first.terminated |= more.terminated;
                response.to_bytes()
            }
            Err(error) => {
                // Never keep a transaction that can never answer.
                self.events.push_back(SipEvent::Malformed {
                    from: response_to,
                    reason: format!("cannot answer {status}: {error}"),
                });
                return None;
            }
        };
        let entry = TxEntry {
            tx,
            leg: None,
            purpose: Purpose::Other,
            transport,
            destination: response_to,
            is_server: true,
        };
        self.insert_tx(id, entry, first, now_ms);
        Some(sent)
    }

    fn on_cancel(
        &mut self,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        now_ms: u64,
    ) {
        let invite = TxKey::of_cancelled_invite(request)
            .and_then(|k| self.server_index.get(&k))
            .and_then(|id| self.txs.get(id));
        let Some(invite) = invite else {
            self.reject_in_tx(transport, response_to, request, 481, &[], now_ms);
            return;
        };
        let pending = !invite.tx.server_final_sent();
        let leg = invite.leg;
        // RFC 3261 §9.2: the CANCEL's 200 carries the To-tag of the INVITE's responses, so a caller whose
        // CANCEL crossed our 2xx keeps addressing the right dialog.
        let tag = leg
            .and_then(|leg| self.legs.get(&leg))
            .map(|l| l.local_tag.clone());
        let reply = Reply {
            status: 200,
            extra: &[],
            body: None,
            to_tag: tag.as_deref(),
        };
        self.reply_in_tx(transport, response_to, request, reply, now_ms);
        if let (true, Some(leg)) = (pending, leg) {
            if self
                .legs
                .get(&leg)
                .is_some_and(|l| l.state == LegState::Proceeding)
            {
                self.events.push_back(SipEvent::Cancelled { leg });
            }
        }
    }

    fn on_bye(
        &mut self,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        now_ms: u64,
    ) {
        let Some(leg) = self.dialog_of(request) else {
            self.reject_in_tx(transport, response_to, request, 481, &[], now_ms);
            return;
        };
        self.reject_in_tx(transport, response_to, request, 200, &[], now_ms);
        self.drop_held(leg, now_ms);
        self.set_leg_state(leg, LegState::Terminated, "BYE received");
        self.events.push_back(SipEvent::ByeReceived { leg });
    }
}
