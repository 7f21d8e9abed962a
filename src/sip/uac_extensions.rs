//! Extensions on the INVITEs tandem sends (ISUP→SIP and SIP→SIP calls): reliable provisionals as UAC
//! (RFC 3262 §4, PRACK with `RAck`), session timers as UAC (RFC 4028 §7, refresh by UPDATE when we are the
//! refresher, BYE when the peer's refresh does not come), and the early dialogs of a forked INVITE
//! (RFC 3261 §12.1.2, §13.2.2.4: each 18x with a new To-tag is an early dialog of its own, PRACKed in it).
//!
//! An UPDATE the callee sends inside one of these early dialogs (RFC 3311 §5.1) is answered like one in a
//! confirmed dialog (`endpoint_dialog.rs`).
//!
//! Offered per `[sip_outgoing]` (`prack`, `session_expires`, `min_se`). A 422 to our INVITE is retried once with
//! the interval raised to its Min-SE (RFC 4028 §7.4). The refresh is an UPDATE (RFC 4028 §9 prefers it), or a
//! re-INVITE with our last offer when the callee's 2xx lists its methods in Allow without UPDATE. Not done:
//! tandem sends no UPDATE of its own inside an early dialog.

use super::dialog::{Dialog, DialogId};
use super::endpoint::{Endpoint, LegState, Purpose, Role, TerminationReason, TxEntry};
use super::message::{self, Method, Request, RequestBuilder, Response};
use super::session_timer;
use super::transaction::Transaction;
use super::LegId;

/// One early dialog of an outgoing INVITE: the callee's To-tag, the last RSeq PRACKed in it and our CSeq.
#[derive(Debug, Clone)]
struct Early {
    remote_tag: String,
    last_rseq: Option<u32>,
    local_cseq: u32,
}

/// What an outgoing leg keeps for these extensions.
#[derive(Debug, Clone, Default)]
pub(super) struct UacExtensions {
    early: Vec<Early>,
    /// When we, the refresher, send the next UPDATE (RFC 4028 §10: half the interval).
    pub(super) refresh_at: Option<u64>,
    /// The callee's 2xx listed its methods in Allow without UPDATE: refreshes are re-INVITEs (RFC 4028 §9).
    refresh_by_invite: bool,
    /// Our INVITE was already sent again after a 422 (RFC 4028 §7.4: once).
    retried_422: bool,
}

/// The headers our INVITEs carry for the configured extensions.
pub(super) fn invite_headers(
    prack: bool,
    session_expires_s: u32,
    min_se_s: u32,
) -> Vec<(String, String)> {
    let mut supported = Vec::new();
    let mut headers = Vec::new();
    if prack {
        supported.push("100rel");
    }
    if session_expires_s > 0 {
        supported.push("timer");
        // §7.1: no refresher parameter, so the UAS may choose (we refresh when it says `uac`).
        headers.push(("Session-Expires".to_string(), session_expires_s.to_string()));
        headers.push(("Min-SE".to_string(), min_se_s.to_string()));
    }
    if !supported.is_empty() {
        headers.insert(0, ("Supported".to_string(), supported.join(", ")));
    }
    headers
}

/// Whether a 2xx lets us send UPDATE: it has no Allow (nothing said), or its Allow lists UPDATE.
fn allows_update(response: &Response) -> bool {
    let allow: Vec<(String, String)> = response
        .header_list()
        .into_iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Allow"))
        .collect();
    allow.is_empty()
        || allow.iter().any(|(_, value)| {
            value
                .split(',')
                .any(|m| m.trim().eq_ignore_ascii_case("UPDATE"))
        })
}

/// Our INVITE again after a 422: next CSeq, a new Via, Session-Expires and Min-SE set to `interval`.
fn reissue(invite: &Request, via: &str, interval: u32) -> Result<Request, message::BuildError> {
    let cseq = invite.cseq().map_or(1, |(n, _)| n).saturating_add(1);
    let mut builder = RequestBuilder::new(&Method::Invite, &invite.request_uri())?;
    let mut content_type = None;
    for (name, value) in invite.header_list() {
        let lower = name.to_ascii_lowercase();
        let value = match lower.as_str() {
            "via" | "v" => via.to_string(),
            "cseq" => format!("{cseq} INVITE"),
            "session-expires" | "x" => interval.to_string(),
            "min-se" => interval.to_string(),
            "content-length" | "l" => continue,
            "content-type" | "c" => {
                content_type = Some(value);
                continue;
            }
            _ => value,
        };
        builder = builder.header(&name, &value)?;
    }
    let body = invite.body();
    builder.finish(
        content_type
            .filter(|_| !body.is_empty())
            .map(|t| (t, body))
            .as_ref()
            .map(|(t, b)| (t.as_str(), *b)),
    )
}

fn requires_100rel(response: &Response) -> bool {
    response.header_list().iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("Require")
            && value
                .split(',')
                .any(|o| o.trim().eq_ignore_ascii_case("100rel"))
    })
}

impl Endpoint {
    /// A provisional response to our INVITE with a To-tag: files its early dialog and PRACKs it when it is
    /// reliable. Returns false when it is a retransmission of a reliable provisional already PRACKed, which
    /// RFC 3262 §4 says must not reach the core again.
    pub(super) fn early_response(&mut self, leg: LegId, response: &Response, now_ms: u64) -> bool {
        let Some(remote_tag) = response.to().and_then(|t| t.tag) else {
            return true;
        };
        let reliable = requires_100rel(response)
            .then(|| {
                response
                    .header("RSeq")
                    .and_then(|v| v.trim().parse::<u32>().ok())
            })
            .flatten();
        let via = match self.legs.get(&leg) {
            Some(l) => self.new_via(l.transport),
            None => return false,
        };
        let (max_forwards, user_agent) = (self.cfg.max_forwards, self.cfg.user_agent.clone());
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return false;
        };
        let invite_cseq = l.invite.cseq().map(|(n, _)| n).unwrap_or(1);
        let index = match l.uac.early.iter().position(|e| e.remote_tag == remote_tag) {
            Some(index) => index,
            None => {
                l.uac.early.push(Early {
                    remote_tag: remote_tag.clone(),
                    last_rseq: None,
                    local_cseq: invite_cseq,
                });
                l.uac.early.len() - 1
            }
        };
        let Some(rseq) = reliable else {
            return true;
        };
        let Some(early) = l.uac.early.get_mut(index) else {
            return true;
        };
        // §4: RSeq values go up by one; an older or equal one is a retransmission.
        if early.last_rseq.is_some_and(|last| rseq <= last) {
            return false;
        }
        early.last_rseq = Some(rseq);
        early.local_cseq = early.local_cseq.saturating_add(1);
        let cseq = early.local_cseq;
        let dialog = early_dialog(&l.invite, &l.local_tag, remote_tag, response, l.peer);
        let (transport, destination) = (l.transport, dialog.destination);
        let rack = vec![("RAck".to_string(), format!("{rseq} {invite_cseq} INVITE"))];
        let prack = dialog.request_with(
            &Method::Known("PRACK".into()),
            cseq,
            &via,
            max_forwards,
            &user_agent,
            &rack,
        );
        if let Ok(prack) = prack {
            self.start_client_tx(
                &prack,
                Some(leg),
                Purpose::Other,
                transport,
                destination,
                now_ms,
            );
        }
        true
    }

    /// The outgoing leg whose early dialog an incoming request names: our From-tag as its To-tag, and the
    /// To-tag of one of the leg's provisional responses as its From-tag.
    pub(super) fn early_uac_leg_of(&self, request: &Request) -> Option<LegId> {
        let call_id = request.call_id()?;
        let ours = request.to()?.tag?;
        let theirs = request.from()?.tag?;
        self.legs
            .iter()
            .find(|(_, l)| {
                l.role == Role::Uac
                    && l.dialog.is_none()
                    && l.local_tag == ours
                    && l.uac.early.iter().any(|e| e.remote_tag == theirs)
                    && l.invite.call_id().as_deref() == Some(call_id.as_str())
            })
            .map(|(id, _)| *id)
    }

    /// Our next CSeq in the dialog the 2xx confirms: above any PRACK sent in its early dialog.
    pub(super) fn confirmed_cseq(&self, leg: LegId, remote_tag: &str, invite_cseq: u32) -> u32 {
        self.legs
            .get(&leg)
            .and_then(|l| l.uac.early.iter().find(|e| e.remote_tag == remote_tag))
            .map_or(invite_cseq, |e| e.local_cseq.max(invite_cseq))
    }

    /// RFC 4028 §7.2 on the 2xx to our INVITE: the UAS's Session-Expires decides who refreshes. When we do,
    /// an UPDATE goes every half interval; when the peer does, its refreshes renew the interval
    /// (`endpoint_dialog.rs`) and a missing one ends the leg with BYE.
    pub(super) fn start_uac_session_timer(&mut self, leg: LegId, response: &Response, now_ms: u64) {
        if self.cfg.uac_session_expires_s == 0 {
            return;
        }
        let Some(se) = response
            .header("Session-Expires")
            .and_then(|v| session_timer::parse_session_expires(&v))
        else {
            return;
        };
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        l.uac.refresh_by_invite = !allows_update(response);
        let interval = se.interval_s.max(1);
        l.session_interval_s = Some(interval);
        if se.refresher.as_deref() == Some("uas") {
            l.session_deadline = Some(session_timer::bye_at(now_ms, interval));
        } else {
            l.uac.refresh_at = Some(now_ms.saturating_add(u64::from(interval) * 500));
        }
    }

    /// Our refresh is due: UPDATE with the interval and `refresher=uac` (we stay the refresher), or a re-INVITE
    /// with our last offer when the callee does not allow UPDATE. Skipped while a modification is under way on
    /// the leg: its 2xx refreshes the session too.
    pub(super) fn send_refresh(&mut self, leg: LegId, now_ms: u64) {
        let Some(transport) = self.legs.get(&leg).map(|l| l.transport) else {
            return;
        };
        let (via, contact) = (self.new_via(transport), self.contact(transport));
        let (max_forwards, user_agent) = (self.cfg.max_forwards, self.cfg.user_agent.clone());
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        let interval = l
            .session_interval_s
            .unwrap_or(self.cfg.uac_session_expires_s)
            .max(1);
        l.uac.refresh_at = Some(now_ms.saturating_add(u64::from(interval) * 500));
        if l.relay.outgoing.is_some() {
            return;
        }
        let by_invite = l.uac.refresh_by_invite;
        let offer = by_invite
            .then(|| {
                l.relay.last_offer.clone().or_else(|| {
                    super::endpoint_relay::body_of(l.invite.header("Content-Type"), l.invite.body())
                })
            })
            .flatten();
        let Some(dialog) = l.dialog.as_mut() else {
            return;
        };
        dialog.local_cseq = dialog.local_cseq.saturating_add(1);
        let mut extra = vec![
            (
                "Session-Expires".to_string(),
                format!("{interval};refresher=uac"),
            ),
            ("Supported".to_string(), "timer".to_string()),
        ];
        let method = if by_invite {
            extra.push(("Contact".to_string(), contact));
            Method::Invite
        } else {
            Method::Known("UPDATE".into())
        };
        let cseq = dialog.local_cseq;
        let refresh = dialog.request_full(
            &method,
            cseq,
            &via,
            max_forwards,
            &user_agent,
            &extra,
            offer.as_ref().map(|(t, b)| (t.as_str(), b.as_slice())),
        );
        let (transport, destination) = (l.transport, dialog.destination);
        if let Ok(refresh) = refresh {
            // Until its answer, an offer from the peer on this leg is glare (491).
            l.relay.outgoing = Some(cseq);
            self.start_client_tx(
                &refresh,
                Some(leg),
                Purpose::Refresh,
                transport,
                destination,
                now_ms,
            );
        }
    }

    /// A final response to our refresh: the 2xx of a re-INVITE is ACKed (again, when retransmitted).
    pub(super) fn refresh_response(&mut self, leg: LegId, response: &Response, now_ms: u64) {
        let (cseq, method) = response.cseq().unwrap_or((0, Method::Ack));
        if method == Method::Invite && (200..300).contains(&response.status()) {
            self.ack_reinvite(leg, cseq);
        }
        let ours = self.legs.get(&leg).and_then(|l| l.relay.outgoing);
        if ours != Some(cseq) {
            return;
        }
        if let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) {
            l.relay.outgoing = None;
        }
        self.refresh_answered(leg, Some(response.status()), now_ms);
    }

    /// RFC 4028 §7.4: a 422 to our INVITE names the smallest interval the callee accepts; the INVITE goes again
    /// once, with Session-Expires and Min-SE raised to it (same Call-ID and From-tag, next CSeq, new branch).
    /// Returns false when the 422 ends the leg like any failure (no usable Min-SE, already retried).
    pub(super) fn retry_after_422(&mut self, leg: LegId, response: &Response, now_ms: u64) -> bool {
        let Some(min_se) = response.header("Min-SE").and_then(|v| {
            v.split(';')
                .next()
                .and_then(|n| n.trim().parse::<u32>().ok())
        }) else {
            return false;
        };
        let via = match self.legs.get(&leg) {
            Some(l) if !l.uac.retried_422 && l.state != LegState::Cancelling => {
                self.new_via(l.transport)
            }
            _ => return false,
        };
        let Some(l) = self.legs.get(&leg) else {
            return false;
        };
        let offered = session_timer::session_expires(&l.invite).map_or(0, |se| se.interval_s);
        // No Session-Expires was offered, or the 422 asks for no more than it: another try would fail alike.
        if offered == 0 || min_se <= offered {
            return false;
        }
        let interval = min_se;
        let Ok(invite) = reissue(&l.invite, &via, interval) else {
            return false;
        };
        let (transport, destination) = (l.transport, l.peer);
        let tx_id = self.new_tx_id();
        let Some((tx, out)) = Transaction::client(
            format!("tx-{tx_id}"),
            &invite,
            transport,
            self.timers,
            now_ms,
            &mut self.transitions,
        ) else {
            return false;
        };
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return false;
        };
        l.uac.retried_422 = true;
        l.uac.early.clear();
        l.provisional_seen = false;
        l.invite = invite;
        l.invite_tx = tx_id;
        let entry = TxEntry {
            tx,
            leg: Some(leg),
            purpose: Purpose::Invite,
            transport,
            destination,
            is_server: false,
        };
        self.insert_tx(tx_id, entry, out, now_ms);
        true
    }

    /// The answer to our refresh: a failure or no answer ends the session (RFC 4028 §10 leaves the session
    /// to expire; tandem ends it at once rather than keep a call whose peer refuses refreshes).
    pub(super) fn refresh_answered(&mut self, leg: LegId, status: Option<u16>, now_ms: u64) {
        if let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) {
            l.relay.outgoing = None;
        }
        match status {
            Some(200..=299) | Some(100..=199) => {}
            // 491 (glare) and 500 with Retry-After are transient: the next refresh tries again.
            Some(491) | Some(500) => {}
            _ => {
                self.send_bye(leg, now_ms);
                self.terminate_leg(
                    leg,
                    TerminationReason::SessionExpired,
                    "session refresh failed",
                );
            }
        }
    }
}

fn early_dialog(
    invite: &message::Request,
    local_tag: &str,
    remote_tag: String,
    response: &Response,
    peer: std::net::SocketAddr,
) -> Dialog {
    let mut route_set = response.record_route();
    route_set.reverse();
    let id = DialogId {
        call_id: invite.call_id().unwrap_or_default(),
        local_tag: local_tag.to_string(),
        remote_tag,
    };
    Dialog::new(
        id,
        invite.from().map(|f| f.uri).unwrap_or_default(),
        invite.to().map(|t| t.uri).unwrap_or_default(),
        response.contacts().first(),
        &route_set,
        0,
        peer,
    )
}
