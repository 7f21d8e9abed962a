//! Requests inside a confirmed dialog that modify or accompany the session without involving the other
//! side of the B2BUA: re-INVITE (RFC 3261 §14.2), UPDATE (RFC 3311) and INFO (RFC 6086, legacy usage).
//! On the legs of a SIP→SIP call, offers and INFOs go to the other leg instead (`endpoint_relay.rs`).
//!
//! tandem owns the media toward the SIP peer (the circuit side has no SDP), so a session modification is
//! answered locally: the answer is our current description with the direction the offer calls for (RFC 3264
//! §6.1: `sendonly` ⇒ `recvonly`, `recvonly` ⇒ `sendonly`, `inactive` ⇒ `inactive`, else `sendrecv`), and the
//! `o=` version goes up by one only when the description changes (RFC 3264 §8). Hold and resume therefore
//! cost the call nothing: no ISUP message is sent. An offer without any of our codec is refused with 488 and
//! the session stays as it was. A re-INVITE's 2xx is retransmitted until its ACK like the first one
//! (RFC 3261 §13.3.1.4) and only the ACK with its CSeq confirms it; an offerless re-INVITE gets our description as the offer, and the ACK's answer is
//! not needed (our media does not change).

use std::net::SocketAddr;

use super::body;
use super::endpoint::{Endpoint, LegState};
use super::endpoint_uas::{Reply, ALLOW};
use super::message::{self, Message, Request};
use super::sdp::Sdp;
use super::session_timer;
use super::{LegId, TransportKind};

impl Endpoint {
    /// RFC 3261 §14.2: a re-INVITE in a confirmed dialog.
    pub(super) fn on_reinvite(
        &mut self,
        leg: LegId,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        now_ms: u64,
    ) {
        if self.legs.get(&leg).map(|l| l.state) == Some(LegState::Answered) {
            // A request with a higher CSeq in the dialog proves our 2xx arrived; its ACK was lost or is
            // late. Taking it as the ACK avoids refusing the modification (RFC 5407 §3.1.4 discusses the
            // race); a late ACK for the older CSeq is then ignored by its CSeq.
            self.ack_received(leg, now_ms);
        }
        let state = self.legs.get(&leg).map(|l| l.state);
        if state != Some(LegState::Confirmed) {
            // §14.2: our earlier 2xx still waits for its ACK (or the dialog is ending): try again later.
            let extra = vec![("Retry-After".to_string(), "1".to_string())];
            self.reject_in_tx(transport, response_to, request, 500, &extra, now_ms);
            return;
        }
        if self.hold_for_relay(leg, transport, response_to, request, now_ms) {
            return;
        }
        let Some(answer) = self.modified_sdp(leg, request) else {
            self.reject_in_tx(transport, response_to, request, 488, &[], now_ms);
            return;
        };
        let text = answer.to_string();
        let mut extra = self.dialog_response_headers(transport);
        extra.extend(self.refresh_session(leg, request, now_ms));
        let reply = Reply {
            status: 200,
            extra: &extra,
            body: Some(("application/sdp", text.as_bytes())),
            to_tag: None,
        };
        let sent = self.reply_in_tx(transport, response_to, request, reply, now_ms);
        let t1 = self.cfg.timer_t1_ms;
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return;
        };
        l.final_2xx = sent;
        l.reinvite_pending = true;
        l.response_to = response_to;
        l.ack_deadline = Some(now_ms.saturating_add(t1.saturating_mul(64)));
        if transport == TransportKind::Udp {
            l.retransmit_interval = t1;
            l.retransmit_at = Some(now_ms.saturating_add(t1));
        }
        self.set_leg_state(leg, LegState::Answered, "re-INVITE answered");
    }

    /// RFC 3311 UPDATE (with or without an offer) and INFO in a dialog: answered 200 at once.
    pub(super) fn on_update_or_info(
        &mut self,
        leg: LegId,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        now_ms: u64,
    ) {
        if self.hold_for_relay(leg, transport, response_to, request, now_ms) {
            return;
        }
        let is_update = request.method().as_str() == "UPDATE";
        let offer = is_update && !request.body().is_empty();
        let refresh = if is_update {
            self.refresh_session(leg, request, now_ms)
        } else {
            Vec::new()
        };
        if !offer {
            self.reject_in_tx(transport, response_to, request, 200, &refresh, now_ms);
            return;
        }
        let Some(answer) = self.modified_sdp(leg, request) else {
            self.reject_in_tx(transport, response_to, request, 488, &[], now_ms);
            return;
        };
        let text = answer.to_string();
        let mut extra = self.dialog_response_headers(transport);
        extra.extend(refresh);
        let reply = Reply {
            status: 200,
            extra: &extra,
            body: Some(("application/sdp", text.as_bytes())),
            to_tag: None,
        };
        let sent = self.reply_in_tx(transport, response_to, request, reply, now_ms);
        // The UPDATE's answer is our current description from now on.
        if let (Some(l), Some(sent)) = (
            super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg),
            sent,
        ) {
            if l.final_2xx.is_some() {
                l.final_2xx = Some(sent);
            }
        }
    }

    /// A re-INVITE or UPDATE about to be answered 2xx refreshes a running session timer (RFC 4028 §10),
    /// with the interval it asks for when that is acceptable; returns the headers for the 2xx.
    pub(super) fn refresh_session(
        &mut self,
        leg: LegId,
        request: &Request,
        now_ms: u64,
    ) -> Vec<(String, String)> {
        let min_se = self.cfg.min_session_expires_s;
        let Some(l) = super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg) else {
            return Vec::new();
        };
        let Some(current) = l.session_interval_s else {
            return Vec::new();
        };
        let interval = session_timer::negotiated(request, min_se).unwrap_or(current);
        l.session_interval_s = Some(interval);
        l.session_deadline = Some(session_timer::bye_at(now_ms, interval));
        session_timer::response_headers(interval)
    }

    pub(super) fn dialog_response_headers(
        &self,
        transport: TransportKind,
    ) -> Vec<(String, String)> {
        vec![
            ("Contact".to_string(), self.contact(transport)),
            ("Allow".to_string(), ALLOW.to_string()),
            ("Server".to_string(), self.cfg.user_agent.clone()),
        ]
    }

    /// The CSeq number of the 2xx awaiting its ACK, if any.
    pub(super) fn pending_2xx_cseq(&self, leg: LegId) -> Option<u32> {
        let l = self.legs.get(&leg)?;
        if l.state != LegState::Answered {
            return None;
        }
        match message::parse(l.final_2xx.as_deref()?) {
            Ok(Message::Response(response)) => response.cseq().map(|(n, _)| n),
            _ => None,
        }
    }

    /// Our description as it stands: from our latest 2xx (incoming legs, and any leg after a
    /// modification), else from the INVITE we sent.
    fn local_sdp(&self, leg: LegId) -> Option<Sdp> {
        let l = self.legs.get(&leg)?;
        let from_2xx = l
            .final_2xx
            .as_deref()
            .and_then(|data| match message::parse(data) {
                Ok(Message::Response(response)) => sdp_of_response(&response),
                _ => None,
            });
        from_2xx.or_else(|| sdp_of_request(&l.invite))
    }

    /// The description to answer `request` with; `None` when its offer shares no codec with ours.
    fn modified_sdp(&self, leg: LegId, request: &Request) -> Option<Sdp> {
        let local = self.local_sdp(leg)?;
        let Some(offer) = sdp_of_request(request) else {
            // Offerless re-INVITE: our 2xx carries the offer (RFC 3261 §14.2), unchanged.
            return Some(local);
        };
        answer_modification(&local, &offer)
    }
}

fn sdp_of_request(request: &Request) -> Option<Sdp> {
    let (media, params) = request.content_type()?;
    let parts = body::split(&media, &params, request.body());
    Sdp::parse(parts.sdp.as_deref()?).ok()
}

fn sdp_of_response(response: &message::Response) -> Option<Sdp> {
    let (media, params) = response.content_type()?;
    let parts = body::split(&media, &params, response.body());
    Sdp::parse(parts.sdp.as_deref()?).ok()
}

/// RFC 3264 §8: the answer to a modification offer, keeping our address, port and codec.
pub(super) fn answer_modification(local: &Sdp, offer: &Sdp) -> Option<Sdp> {
    let ours = local.audio_codec()?;
    let offered = offer.audio()?;
    let shared = offered.rtpmaps.iter().any(|r| {
        r.encoding.eq_ignore_ascii_case(&ours.encoding) && r.clock_rate == ours.clock_rate
    });
    // Port 0 removes the stream (RFC 3264 §8.2); the call keeps its media, so that is refused too.
    if !shared || offered.port == 0 {
        return None;
    }
    let direction = match offered.direction.as_deref() {
        Some("sendonly") => "recvonly",
        Some("recvonly") => "sendonly",
        Some("inactive") => "inactive",
        _ => "sendrecv",
    };
    let mut answer = local.clone();
    for media in &mut answer.media {
        media.direction = Some(direction.to_string());
    }
    if answer != *local {
        answer.session_version = answer.session_version.saturating_add(1);
    }
    Some(answer)
}
