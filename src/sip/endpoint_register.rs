//! The endpoint's registrar, authentication and keep-alive duties: REGISTER (RFC 3261 §10.3) with digest
//! authentication (RFC 3261 §22, RFC 8760), the 407 challenge of INVITEs from untrusted sources, and the
//! OPTIONS pings toward configured peers (`peers.rs`).

use std::net::SocketAddr;

use super::digest::Verdict;
use super::endpoint::{Endpoint, Purpose, SipEvent};
use super::message::{self, Method, Request};
use super::peers::PeerStatus;
use super::registrar::{Binding, RegisterRequest};
use super::TransportKind;

/// The values of every header named `name` (case-insensitive).
fn header_values(request: &Request, name: &str) -> Vec<String> {
    request
        .header_list()
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

impl Endpoint {
    /// Whether REGISTER is served and INVITEs may be challenged: only when users are configured.
    pub(super) fn registrar_enabled(&self) -> bool {
        self.auth.has_users()
    }

    /// The methods we answer (RFC 3261 §20.5), REGISTER included when the registrar serves.
    pub(super) fn allow(&self) -> String {
        if self.registrar_enabled() {
            format!("{}, REGISTER", super::endpoint_uas::ALLOW)
        } else {
            super::endpoint_uas::ALLOW.to_string()
        }
    }

    /// The live bindings of `user`, highest q first.
    pub fn bindings(&self, user: &str, now_ms: u64) -> Vec<&Binding> {
        self.registrar.lookup(user, now_ms)
    }

    /// Whether `destination` is a configured peer that the keep-alive found down.
    pub fn peer_down(&self, destination: SocketAddr) -> Option<&str> {
        self.peers
            .iter()
            .find(|p| p.cfg.destination == destination && p.status == PeerStatus::Down)
            .map(|p| p.cfg.name.as_str())
    }

    /// The status of every configured peer, by name.
    pub fn peer_statuses(&self) -> Vec<(&str, PeerStatus)> {
        self.peers
            .iter()
            .map(|p| (p.cfg.name.as_str(), p.status))
            .collect()
    }

    fn challenge(
        &mut self,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        proxy: bool,
        stale: bool,
        now_ms: u64,
    ) {
        let (status, name) = if proxy {
            (407, "Proxy-Authenticate")
        } else {
            (401, "WWW-Authenticate")
        };
        let extra: Vec<(String, String)> = self
            .auth
            .challenges(now_ms, stale)
            .into_iter()
            .map(|value| (name.to_string(), value))
            .collect();
        self.reject_in_tx(transport, response_to, request, status, &extra, now_ms);
    }

    fn auth_failed(&mut self, from: SocketAddr, method: &str, reason: String) {
        self.events.push_back(SipEvent::AuthFailed {
            from,
            method: method.to_string(),
            reason,
        });
    }

    /// RFC 3261 §22.3: an INVITE from a source outside `trusted_peers` must carry valid
    /// Proxy-Authorization; otherwise it is answered 407 here. Returns whether the INVITE may go on.
    pub(super) fn authorize_invite(
        &mut self,
        transport: TransportKind,
        from: SocketAddr,
        response_to: SocketAddr,
        request: &Request,
        now_ms: u64,
    ) -> bool {
        if !self.registrar_enabled() || self.cfg.trusted_peers.iter().any(|t| t.contains(from)) {
            return true;
        }
        let values = header_values(request, "Proxy-Authorization");
        match self.auth.verify("INVITE", &values, now_ms) {
            Verdict::Authenticated(_) => return true,
            Verdict::Missing => {
                self.challenge(transport, response_to, request, true, false, now_ms)
            }
            Verdict::Stale => self.challenge(transport, response_to, request, true, true, now_ms),
            Verdict::Failed(reason) => {
                self.auth_failed(from, "INVITE", reason);
                self.challenge(transport, response_to, request, true, false, now_ms);
            }
        }
        false
    }

    /// REGISTER: authenticate (always), then let the registrar apply it (RFC 3261 §10.3).
    pub(super) fn on_register(
        &mut self,
        transport: TransportKind,
        from: SocketAddr,
        response_to: SocketAddr,
        request: &Request,
        now_ms: u64,
    ) {
        let values = header_values(request, "Authorization");
        let user = match self.auth.verify("REGISTER", &values, now_ms) {
            Verdict::Authenticated(user) => user,
            Verdict::Missing => {
                return self.challenge(transport, response_to, request, false, false, now_ms)
            }
            Verdict::Stale => {
                return self.challenge(transport, response_to, request, false, true, now_ms)
            }
            Verdict::Failed(reason) => {
                self.auth_failed(from, "REGISTER", reason);
                return self.challenge(transport, response_to, request, false, false, now_ms);
            }
        };
        // §10.3 step 5: the authenticated user may only change its own address-of-record.
        let aor = request.to().and_then(|to| to.user).unwrap_or_default();
        if aor != user {
            self.auth_failed(
                from,
                "REGISTER",
                format!("user {user:?} may not register {aor:?}"),
            );
            return self.reject_in_tx(transport, response_to, request, 403, &[], now_ms);
        }
        let expires = request.header("Expires").map(|v| v.trim().parse::<u32>());
        let expires = match expires {
            None => None,
            Some(Ok(value)) => Some(value),
            Some(Err(_)) => {
                return self.reject_in_tx(transport, response_to, request, 400, &[], now_ms)
            }
        };
        let mut contact_values = header_values(request, "Contact");
        contact_values.extend(header_values(request, "m"));
        let register = RegisterRequest {
            aor,
            call_id: request.call_id().unwrap_or_default(),
            cseq: request.cseq().map_or(0, |(n, _)| n),
            expires,
            contact_values,
            source: from,
            transport,
            outbound: header_values(request, "Supported")
                .iter()
                .chain(header_values(request, "k").iter())
                .flat_map(|v| v.split(','))
                .any(|tag| tag.trim().eq_ignore_ascii_case("outbound")),
        };
        match self.registrar.register(&register, now_ms) {
            Ok(mut headers) => {
                headers.extend(self.registrar.outbound_headers(&register));
                self.reject_in_tx(transport, response_to, request, 200, &headers, now_ms)
            }
            Err(refusal) => {
                self.auth_failed(from, "REGISTER", refusal.reason);
                self.reject_in_tx(
                    transport,
                    response_to,
                    request,
                    refusal.status,
                    &refusal.headers,
                    now_ms,
                );
            }
        }
    }

    /// Replaces the users of the registrar and of digest authentication (`[sip] users_db` reloaded). Bindings of
    /// users that are gone stay until they expire; their next REGISTER is refused.
    pub fn set_users(&mut self, users: Vec<super::digest::User>) {
        self.auth.set_users(users);
    }

    /// A connection-oriented flow (TCP, TLS, WS, WSS) closed: bindings reachable only on it become
    /// unreachable (RFC 5626 §5.3), so calls to their users try the next binding or route.
    pub fn flow_closed(&mut self, transport: TransportKind, peer: SocketAddr) {
        for (aor, uri) in self.registrar.flow_closed(transport, peer) {
            self.events.push_back(SipEvent::BindingUnreachable {
                aor,
                uri,
                reason: format!("{} flow from {peer} closed", transport.via_token()),
            });
        }
    }

    /// Sends the OPTIONS pings that are due and expires bindings; part of `handle_timeout`.
    pub(super) fn registrar_and_peer_timers(&mut self, now_ms: u64) {
        if self.registrar.next_expiry().is_some_and(|at| at <= now_ms) {
            self.registrar.expire(now_ms);
        }
        for index in 0..self.peers.len() {
            let due = self
                .peers
                .get(index)
                .is_some_and(|p| p.cfg.interval_ms > 0 && p.next_ping_at <= now_ms);
            if due {
                self.send_ping(index, now_ms);
            }
        }
    }

    /// The earliest registrar or keep-alive deadline.
    pub(super) fn registrar_and_peer_deadline(&self) -> Option<u64> {
        let ping = self
            .peers
            .iter()
            .filter(|p| p.cfg.interval_ms > 0)
            .map(|p| p.next_ping_at)
            .min();
        [ping, self.registrar.next_expiry()]
            .into_iter()
            .flatten()
            .min()
    }

    fn send_ping(&mut self, index: usize, now_ms: u64) {
        let Some(peer) = self.peers.get_mut(index) else {
            return;
        };
        let change = peer.ping_due(now_ms);
        let (uri, transport, destination) = (
            peer.cfg.uri.clone(),
            peer.cfg.transport,
            peer.cfg.destination,
        );
        self.peer_changed(index, change);
        let via = self.new_via(transport);
        let tag = self.ids.token();
        let call_id = format!("{}@tandem", self.ids.token());
        let from = format!("<sip:tandem@{}>;tag={tag}", self.cfg.local_addr);
        let request = message::RequestBuilder::new(&Method::Options, &uri)
            .and_then(|b| b.header("Via", &via))
            .and_then(|b| b.header("Max-Forwards", &self.cfg.max_forwards.to_string()))
            .and_then(|b| b.header("From", &from))
            .and_then(|b| b.header("To", &format!("<{uri}>")))
            .and_then(|b| b.header("Call-ID", &call_id))
            .and_then(|b| b.header("CSeq", "1 OPTIONS"))
            .and_then(|b| b.header("User-Agent", &self.cfg.user_agent))
            .and_then(|b| b.finish(None));
        if let Ok(request) = request {
            self.start_client_tx(
                &request,
                None,
                Purpose::KeepAlive(index),
                transport,
                destination,
                now_ms,
            );
        }
    }

    /// A final response to peer `index`'s ping.
    pub(super) fn ping_answered(&mut self, index: usize, status: u16) {
        let change = self.peers.get_mut(index).and_then(|p| p.answered(status));
        self.peer_changed(index, change);
    }

    fn peer_changed(&mut self, index: usize, change: Option<super::Transition>) {
        let (Some(transition), Some(peer)) = (change, self.peers.get(index)) else {
            return;
        };
        self.events.push_back(SipEvent::PeerStatus {
            peer: peer.cfg.name.clone(),
            status: peer.status,
            reason: transition.reason.clone(),
        });
        self.transitions.push_back(transition);
    }
}
