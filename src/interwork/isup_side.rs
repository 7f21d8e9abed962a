//! What ISUP call control and the M3UA ASP report, turned into call progress: an IAM starts an ISUP-originated
//! call (routed by the dialplan, sent on as an INVITE), and ACM/CPG/ANM/CON/REL move calls on (RFC 3398 §7.2 for
//! calls from SIP, §8.2 for calls to SIP).

use super::call::{Call, CallState, Origin};
use super::numbers::{self, IsupAddress};
use super::tables::ReleaseReason;
use crate::events::LogLevel;
use crate::gateway::destination::DestinationState;
use crate::gateway::Gateway;
use crate::isup::{CallEvent, Cic, IsupMessage};
use crate::routing::CallView;
use crate::sigtran::m3ua::AspEvent;
use crate::sip::{OutgoingInvite, Sdp, TransportKind};

/// Service indicator of ISUP (Q.704 §14.2.1).
const SI_ISUP: u8 = 5;

impl Gateway {
    /// Dispatches one event of the M3UA ASP of one of a trunk's links.
    pub(crate) fn handle_asp_event(&mut self, trunk: usize, link: usize, event: AspEvent) {
        self.current = None;
        let name = self.trunks[trunk].links[link].config.id.clone();
        match event {
            AspEvent::Data(data) if data.si == SI_ISUP => {
                let now = self.now;
                self.trunks[trunk].isup.handle_bytes(&data.user_data, now);
            }
            AspEvent::Data(data) => self.log(
                LogLevel::Warn,
                format!("trunk {name}: dropped M3UA data for service indicator {} (only ISUP is served)", data.si),
            ),
            AspEvent::StateChanged { from, to } | AspEvent::PeerStateChanged { from, to } => {
                let whose = if matches!(event, AspEvent::PeerStateChanged { .. }) {
                    "peer IPSP"
                } else {
                    "ASP"
                };
                self.log(LogLevel::Info, format!("trunk {name}: {whose} {from:?} -> {to:?}"));
                // Whatever SSNM and NTFY said before is stale once the ASP changes state: unknown, and audited
                // (DAUD) as soon as the ASP is active (RFC 4666 §4.5.3).
                self.trunks[trunk].congestion.clear();
                self.trunks[trunk].links[link].as_down = false;
                let change = self.trunks[trunk].links[link]
                    .destination
                    .set(DestinationState::Unknown, &format!("ASP {to:?}"));
                self.record_destination_change(trunk, link, change);
                self.resend_resets_if_path_back(trunk, link);
                let ipsp = self.trunks[trunk].links[link].asp.config().ipsp.is_some();
                if self.trunks[trunk].links[link].is_active() && ipsp {
                    // RFC 4666 §4.3.2: no SSNM between IPSPs, so no audit; the peer is the destination.
                    let change = self.trunks[trunk].links[link]
                        .destination
                        .set(DestinationState::Available, "IPSP active");
                    self.record_destination_change(trunk, link, change);
                    self.refresh_routes(trunk);
                } else if self.trunks[trunk].links[link].is_active() {
                    let point_codes = self.trunks[trunk].links[link].destination.audit_point_codes();
                    if let Err(error) = self.trunks[trunk].links[link].asp.send_audit(point_codes) {
                        self.log(LogLevel::Warn, format!("trunk {name}: no DAUD: {error}"));
                    }
                    self.refresh_routes(trunk);
                } else {
                    // Traffic moves to the trunk's other links at once; only without any is the trunk lost.
                    self.refresh_routes(trunk);
                    if !self.trunks[trunk].is_active() {
                        self.trunk_lost(trunk);
                    }
                }
            }
            AspEvent::Notify { status_type, status_info } => {
                self.log(
                    LogLevel::Info,
                    format!("trunk {name}: NTFY status type {status_type}, info {status_info}"),
                );
                self.trunks[trunk].links[link].handle_notify(status_type, status_info);
                self.refresh_routes(trunk);
            }
            AspEvent::PeerError { code } => {
                self.log(LogLevel::Warn, format!("trunk {name}: peer sent M3UA ERR code {code}"))
            }
            AspEvent::ProtocolError(error) => {
                self.log(LogLevel::Warn, format!("trunk {name}: malformed M3UA: {error}"))
            }
            AspEvent::Registered { routing_context } => self.log(
                LogLevel::Info,
                format!("trunk {name}: routing key registered, routing context {routing_context}"),
            ),
            AspEvent::RegistrationFailed { status } => self.log(
                LogLevel::Error,
                format!("trunk {name}: routing key registration refused, status {status}"),
            ),
            AspEvent::Deregistered { routing_context } => self.log(
                LogLevel::Info,
                format!("trunk {name}: routing key deregistered, routing context {routing_context}"),
            ),
            AspEvent::DeregistrationFailed { status } => self.log(
                LogLevel::Warn,
                format!("trunk {name}: routing key deregistration refused, status {status}"),
            ),
            AspEvent::NetworkManagement(message) => {
                self.log(
                    LogLevel::Info,
                    format!("trunk {name}: network management {}", message.message_type.name()),
                );
                let change = self.trunks[trunk].links[link].destination.handle_ssnm(&message);
                self.record_destination_change(trunk, link, change);
                self.refresh_routes(trunk);
                self.follow_congestion(trunk, link, &message);
            }
        }
    }

    /// The trunk's signalling is gone: every call on it fails toward SIP, and its circuits are forgotten.
    pub(crate) fn trunk_lost(&mut self, trunk: usize) {
        // Answered calls keep their circuit: the speech path does not depend on the signalling link, and once the
        // link is back their ISUP (REL at the end) goes out on it; a REL attempted meanwhile is repeated by T1.
        // Calls still in set-up cannot complete without the link: they are cleared with the table's cause.
        let mut kept = Vec::new();
        let mut cleared = Vec::new();
        for call in self.calls.values() {
            if call.trunk != Some(trunk) || call.isup_done {
                continue;
            }
            if call.state.is_answered() {
                kept.push((call.number, call.cic));
            } else {
                cleared.push(call.number);
            }
        }
        // Circuits of cleared calls are in an unknown state at the far end: reset them (Q.764 §2.9.3.1); the RSC goes
        // out once the link is back (`resend_resets_if_path_back`). Taken before the calls are cleared: clearing a
        // call whose SIP side is done at once forgets its circuit.
        let kept_cics: Vec<u16> = kept.iter().filter_map(|(_, cic)| *cic).collect();
        let mut busy: Vec<u16> = self.trunks[trunk]
            .cics
            .keys()
            .copied()
            .filter(|cic| !kept_cics.contains(cic))
            .collect();
        // In CIC order: the map's order is not the same from run to replay.
        busy.sort_unstable();
        for &(number, _) in &kept {
            self.current = Some(number);
            self.log(
                LogLevel::Warn,
                "signalling link lost; answered call kept on its circuit".into(),
            );
        }
        for number in cleared {
            self.current = Some(number);
            if let Some(call) = self.calls.get_mut(&number) {
                call.isup_done = true;
            }
            self.log(LogLevel::Error, "signalling link lost; call cleared".into());
            let cause = self
                .tables_for(number)
                .release_cause(ReleaseReason::SignallingDown);
            self.clear_sip_side(number, cause);
        }
        let now = self.now;
        for cic in busy {
            let _ = self.trunks[trunk].isup.reset(Cic(cic), now);
            self.trunks[trunk].cics.remove(&cic);
        }
    }

    /// After a link's ASP changed state: when the link has just become able to carry DATA and no other link of
    /// the trunk could, the path to the exchange is back, and every RSC still awaiting its RLC goes out again now
    /// (those sent while it was down were lost; T16/T17 would repeat them only much later, and a restarted
    /// exchange would meanwhile take the circuit for idle).
    fn resend_resets_if_path_back(&mut self, trunk: usize, link: usize) {
        let Some(this) = self.trunks[trunk].links.get_mut(link) else {
            return;
        };
        let active = this.is_active();
        let came_up = active && !this.was_active;
        this.was_active = active;
        let others_active = self.trunks[trunk]
            .links
            .iter()
            .enumerate()
            .any(|(index, other)| index != link && other.is_active());
        if !came_up || others_active {
            return;
        }
        let now = self.now;
        let cics = self.trunks[trunk].isup.resend_pending_resets(now);
        if !cics.is_empty() {
            let list: Vec<String> = cics.iter().map(|cic| cic.0.to_string()).collect();
            let name = self.trunks[trunk].links[link].config.id.clone();
            self.log(
                LogLevel::Info,
                format!(
                    "trunk {name}: signalling path back; RSC sent again on CIC {} (Q.764 §2.9.3)",
                    list.join(", ")
                ),
            );
        }
    }

    /// Dispatches one event of a trunk's ISUP call control.
    pub(crate) fn handle_isup_event(&mut self, trunk: usize, event: CallEvent) {
        match event {
            CallEvent::IncomingSetup { cic, iam } => self.incoming_iam(trunk, cic, &iam),
            CallEvent::Alerting { cic, message } => self.isup_alerting(trunk, cic, &message),
            CallEvent::Progress { cic, message } => self.isup_progress(trunk, cic, &message),
            CallEvent::Answered { cic, .. } => self.isup_answered(trunk, cic),
            CallEvent::CongestionReported { level, .. } => self.congestion_reported(trunk, level),
            CallEvent::Released { cic, cause } => self.isup_released(trunk, cic, cause.cause_value),
            CallEvent::ReleaseComplete { cic } => {
                if let Some(number) = self.call_of_cic(trunk, cic) {
                    if let Some(call) = self.calls.get_mut(&number) {
                        call.isup_done = true;
                    }
                    self.finish_if_done(number);
                }
            }
            CallEvent::TimerExpired { cic, timer, cause } => {
                if let Some(number) = self.call_of_cic(trunk, cic) {
                    self.log(
                        LogLevel::Warn,
                        format!("ISUP timer {timer:?} expired on CIC {}", cic.0),
                    );
                    if let Some(cause) = cause {
                        self.set_call_state(
                            number,
                            CallState::Releasing,
                            &format!("timer {timer:?} expired"),
                        );
                        self.clear_sip_side(number, cause);
                    }
                } else {
                    self.current = None;
                    self.log(
                        LogLevel::Warn,
                        format!("ISUP timer {timer:?} expired on idle CIC {}", cic.0),
                    );
                }
            }
            CallEvent::Reattempted { cic, new_cic } => {
                // Q.764 §2.9.1.4: our IAM lost a dual seizure; call control repeated it on another circuit.
                let Some(number) = self.call_of_cic(trunk, cic) else {
                    return;
                };
                self.trunks[trunk].cics.remove(&cic.0);
                match new_cic {
                    Some(new_cic) => {
                        self.trunks[trunk].cics.insert(new_cic.0, number);
                        if let Some(call) = self.calls.get_mut(&number) {
                            call.cic = Some(new_cic.0);
                        }
                        self.log(
                            LogLevel::Info,
                            format!(
                                "dual seizure on CIC {}; IAM repeated on CIC {}",
                                cic.0, new_cic.0
                            ),
                        );
                    }
                    None => {
                        if let Some(call) = self.calls.get_mut(&number) {
                            call.cic = None;
                            call.isup_done = true;
                        }
                        self.log(
                            LogLevel::Error,
                            format!(
                                "dual seizure on CIC {} and no circuit to repeat the IAM on",
                                cic.0
                            ),
                        );
                        let cause = self
                            .tables_for(number)
                            .release_cause(ReleaseReason::NoCircuit);
                        self.clear_sip_side(number, cause);
                    }
                }
            }
            CallEvent::SubsequentAddress { cic, .. } => {
                self.call_of_cic(trunk, cic);
                self.log(
                    LogLevel::Warn,
                    format!(
                        "SAM on CIC {} ignored: tandem routes on the complete number of the IAM",
                        cic.0
                    ),
                );
            }
            CallEvent::Confusion { cic, .. } => {
                self.call_of_cic(trunk, cic);
                self.log(
                    LogLevel::Warn,
                    format!("peer sent CFN (confusion) on CIC {}", cic.0),
                );
            }
            CallEvent::Message { cic, message } => {
                self.call_of_cic(trunk, cic);
                self.log(
                    LogLevel::Info,
                    format!(
                        "{} on CIC {} passed over",
                        message.message_type.abbreviation(),
                        cic.0
                    ),
                );
            }
            CallEvent::ProtocolError { cic, error, .. } => {
                self.current = cic.and_then(|c| self.trunks[trunk].cics.get(&c.0).copied());
                let name = self.trunks[trunk].name.clone();
                self.log(
                    LogLevel::Warn,
                    format!("trunk {name}: ISUP protocol error: {error}"),
                );
            }
        }
    }

    fn call_of_cic(&mut self, trunk: usize, cic: Cic) -> Option<u64> {
        let number = self.trunks[trunk].cics.get(&cic.0).copied();
        self.current = number;
        number
    }

    /// Tells the SIP side the call is over with `cause`: a final response or CANCEL before answer, BYE after.
    pub(crate) fn clear_sip_side(&mut self, number: u64, cause: u8) {
        let Some(call) = self.calls.get(&number).cloned() else {
            return;
        };
        if call.sip_done {
            self.finish_if_done(number);
            return;
        }
        let Some(leg) = call.leg else {
            if let Some(c) = self.calls.get_mut(&number) {
                c.sip_done = true;
            }
            self.finish_if_done(number);
            return;
        };
        let now = self.now;
        let answered = call.state.is_answered() || call.was_answered;
        match call.origin {
            Origin::Sip if !answered => self.reject_sip_call_with_cause(number, cause),
            Origin::Isup if !answered => {
                self.set_call_state(number, CallState::Releasing, "released before answer");
                if let Err(error) = self.sip.cancel(leg, now) {
                    self.log(LogLevel::Error, format!("cannot send CANCEL: {error}"));
                }
            }
            _ => {
                self.set_call_state(
                    number,
                    CallState::Releasing,
                    &format!("released with cause {cause}"),
                );
                if let Err(error) = self.sip.bye(leg, now) {
                    self.log(LogLevel::Error, format!("cannot send BYE: {error}"));
                }
            }
        }
    }

    fn isup_alerting(&mut self, trunk: usize, cic: Cic, message: &IsupMessage) {
        let Some(number) = self.call_of_cic(trunk, cic) else {
            return;
        };
        let status = self.trunks[trunk]
            .tables
            .provisional_for_acm_message(message);
        self.send_provisional(number, status, "ACM received");
    }

    fn isup_progress(&mut self, trunk: usize, cic: Cic, message: &IsupMessage) {
        let Some(number) = self.call_of_cic(trunk, cic) else {
            return;
        };
        let status = self.trunks[trunk]
            .tables
            .provisional_for_cpg_message(message);
        self.send_provisional(number, status, "CPG received");
    }

    fn send_provisional(&mut self, number: u64, status: u16, why: &str) {
        let Some(leg) = self.calls.get(&number).and_then(|c| c.leg) else {
            return;
        };
        // 183 announces early media, which needs the session description.
        let body = if status == 183 {
            self.sdp_answer(number)
        } else {
            None
        };
        let now = self.now;
        if let Err(error) = self.sip.respond(leg, status, None, &[], body, now) {
            self.log(LogLevel::Error, format!("cannot send {status}: {error}"));
            return;
        }
        self.set_call_state(number, CallState::Alerting, why);
    }

    fn isup_answered(&mut self, trunk: usize, cic: Cic) {
        let Some(number) = self.call_of_cic(trunk, cic) else {
            return;
        };
        let Some(leg) = self.calls.get(&number).and_then(|c| c.leg) else {
            return;
        };
        let body = self.sdp_answer(number);
        if body.is_none() {
            self.log(
                LogLevel::Error,
                "no codec in common with the SIP offer".into(),
            );
            return self.release_circuit(number, ReleaseReason::NoCommonCodec, "no common codec");
        }
        let now = self.now;
        if let Err(error) = self.sip.respond(leg, 200, None, &[], body, now) {
            self.log(LogLevel::Error, format!("cannot send 200: {error}"));
            return;
        }
        self.set_call_state(number, CallState::Answered, "answer received");
    }

    fn isup_released(&mut self, trunk: usize, cic: Cic, cause: u8) {
        let Some(number) = self.call_of_cic(trunk, cic) else {
            return;
        };
        if self.retry_after_release(number, cause) {
            return;
        }
        // Call control answered the REL with RLC already.
        if let Some(call) = self.calls.get_mut(&number) {
            call.isup_done = true;
        }
        self.clear_sip_side(number, cause);
        self.finish_if_done(number);
    }

    fn incoming_iam(&mut self, trunk: usize, cic: Cic, iam: &IsupMessage) {
        let number = self.new_call_number();
        self.current = Some(number);
        let mut call = Call::new(number, Origin::Isup);
        call.trunk = Some(trunk);
        call.cic = Some(cic.0);
        call.isup_done = false;
        self.calls.insert(number, call);
        self.trunks[trunk].cics.insert(cic.0, number);
        self.record_call_transition(
            number,
            "Idle",
            CallState::Routing.name(),
            &format!("IAM received on CIC {}", cic.0),
        );

        let format = self.trunks[trunk].config.number_format();
        let Some(called) = super::iam::called_address(iam) else {
            self.log(
                LogLevel::Error,
                "IAM without a readable called party number".into(),
            );
            return self.release_circuit(number, ReleaseReason::InvalidNumber, "bad called number");
        };
        let calling = super::iam::calling_address(iam);
        let called_user = numbers::sip_user_from_isup(&called, &format);
        let calling_user = calling
            .as_ref()
            .map(|(address, _)| numbers::sip_user_from_isup(address, &format))
            .unwrap_or_default();
        let restricted = calling.as_ref().is_some_and(|(_, restricted)| *restricted);
        let view = CallView {
            call_id: crate::gateway::call_id(number),
            called: called_user,
            calling: calling_user,
            called_noa: noa_name(&called).into(),
            presentation_restricted: restricted,
            source: "isup".into(),
            trunk: self.trunks[trunk].name.clone(),
            from_uri: String::new(),
            headers: Vec::new(),
            time_ms: self.local_time_ms(),
        };
        self.start_routing(number, view);
    }

    /// Sends the INVITE for `uri` to one resolved target (see `sip_targets` for the choice) or to a registered
    /// binding's flow. A destination that is a configured peer found down by the keep-alive is skipped.
    /// ISUP-originated calls offer tandem's media (`relayed: None`); SIP→SIP calls carry the caller's offer and
    /// the whitelisted headers (`relayed`), and the new leg is the call's outgoing one.
    pub(crate) fn send_invite_to(
        &mut self,
        number: u64,
        uri: &str,
        (destination, transport): (std::net::SocketAddr, TransportKind),
        calling: &str,
        restricted: bool,
        relayed: Option<super::b2bua::Relayed>,
    ) {
        if let Some(peer) = self.sip.peer_down(destination) {
            self.log(
                LogLevel::Warn,
                format!("route {uri} skipped: SIP peer {peer} is down"),
            );
            return self.route_failed(number, ReleaseReason::NoRoute);
        }
        let local = self.config.sip.listen;
        let media = &self.config.media;
        let relay_in_dialog = relayed.is_some();
        let max_forwards = relayed.as_ref().and_then(|r| r.max_forwards);
        let (body, mut extra_headers) = match relayed {
            Some(relayed) => (relayed.body, relayed.headers),
            None => {
                let offer = Sdp::offer(media.rtp_address, media.rtp_port, number);
                let body = (
                    "application/sdp".to_string(),
                    offer.to_string().into_bytes(),
                );
                (Some(body), Vec::new())
            }
        };
        let from_uri = if restricted {
            extra_headers.push(("Privacy".to_string(), "id".to_string()));
            extra_headers.push((
                "P-Asserted-Identity".to_string(),
                format!("<sip:{calling}@{}>", local.ip()),
            ));
            "sip:anonymous@anonymous.invalid".to_string()
        } else if calling.is_empty() {
            "sip:anonymous@anonymous.invalid".to_string()
        } else {
            format!("sip:{calling}@{}", local.ip())
        };
        let request = OutgoingInvite {
            request_uri: uri.to_string(),
            destination,
            transport,
            from_uri,
            from_display: None,
            to_uri: uri.to_string(),
            extra_headers,
            body,
            max_forwards,
            relay_in_dialog,
        };
        let now = self.now;
        match self.sip.invite(request, now) {
            Ok(leg) => {
                self.legs.insert(leg, number);
                if let Some(call) = self.calls.get_mut(&number) {
                    if call.origin == Origin::Sip {
                        call.out_leg = Some(leg);
                        call.out_done = false;
                    } else {
                        call.leg = Some(leg);
                    }
                }
                self.set_call_state(
                    number,
                    CallState::Proceeding,
                    &format!("INVITE sent to {uri}"),
                );
            }
            Err(error) => {
                self.log(LogLevel::Error, format!("cannot send INVITE: {error}"));
                self.route_failed(number, ReleaseReason::NoRoute);
            }
        }
    }

    /// The mapping tables of the call's trunk, or of the first trunk before one is chosen.
    pub(crate) fn tables_for(&self, number: u64) -> &super::tables::MappingTables {
        let index = self.calls.get(&number).and_then(|c| c.trunk).unwrap_or(0);
        &self.trunks[index.min(self.trunks.len().saturating_sub(1))].tables
    }
}

fn noa_name(address: &IsupAddress) -> &'static str {
    match address.nature_of_address {
        numbers::nature_of_address::INTERNATIONAL => "international",
        numbers::nature_of_address::NATIONAL => "national",
        numbers::nature_of_address::SUBSCRIBER => "subscriber",
        _ => "unknown",
    }
}
