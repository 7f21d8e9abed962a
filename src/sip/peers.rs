//! Configured SIP peers: OPTIONS keep-alive with up/down tracking (RFC 3261 §11 used as a ping), and the
//! trusted-source list (`[sip] trusted_peers`, CIDR blocks with an optional port) that exempts INVITEs from
//! the digest challenge.
//!
//! Keep-alive: every `interval_ms` the endpoint sends OPTIONS to each peer from a client transaction. A ping
//! still unanswered when the next one is due counts as a failure; `failures_before_down` failures in a row
//! mark the peer `Down`, any final response marks it `Up`. Status changes go through [`Peer::set_status`],
//! which records a `sip.peer` transition; the gateway skips routes whose destination is a peer that is down.

use std::net::{IpAddr, SocketAddr};

use super::{Transition, TransportKind};

/// One `[[sip.peer]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Name used in logs and transitions.
    pub name: String,
    /// The URI pinged (Request-URI and To of the OPTIONS).
    pub uri: String,
    /// Where the OPTIONS go (the URI's IP literal and port).
    pub destination: SocketAddr,
    /// Transport.
    pub transport: TransportKind,
    /// Interval between pings; 0 disables the keep-alive for this peer.
    pub interval_ms: u64,
    /// Unanswered pings in a row before the peer is down.
    pub failures_before_down: u32,
}

/// A peer's reachability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerStatus {
    /// Not pinged yet (routes to it are used).
    Unknown,
    /// Answered the last ping.
    Up,
    /// Missed `failures_before_down` pings in a row (routes to it are skipped).
    Down,
}

/// A peer and its keep-alive state.
#[derive(Debug, Clone)]
pub(super) struct Peer {
    pub(super) cfg: PeerConfig,
    pub(super) status: PeerStatus,
    pub(super) failures: u32,
    pub(super) next_ping_at: u64,
    /// The last ping has had no final response yet.
    pub(super) outstanding: bool,
}

impl Peer {
    pub(super) fn new(cfg: PeerConfig) -> Self {
        Peer {
            cfg,
            status: PeerStatus::Unknown,
            failures: 0,
            // The first ping goes at the first timeout after start.
            next_ping_at: 0,
            outstanding: false,
        }
    }

    /// The one door for status changes; returns the transition when the status changed.
    pub(super) fn set_status(&mut self, to: PeerStatus, reason: &str) -> Option<Transition> {
        let from = self.status;
        if from == to {
            return None;
        }
        self.status = to;
        Some(Transition {
            machine: "sip.peer",
            id: self.cfg.name.clone(),
            from: format!("{from:?}"),
            to: format!("{to:?}"),
            reason: reason.to_string(),
        })
    }

    /// A ping is due: counts the previous one as failed if it went unanswered; returns a transition to
    /// `Down` when that was one failure too many.
    pub(super) fn ping_due(&mut self, now_ms: u64) -> Option<Transition> {
        self.next_ping_at = now_ms.saturating_add(self.cfg.interval_ms);
        let mut change = None;
        if self.outstanding {
            self.failures = self.failures.saturating_add(1);
            if self.failures >= self.cfg.failures_before_down.max(1) {
                let reason = format!("{} OPTIONS unanswered", self.failures);
                change = self.set_status(PeerStatus::Down, &reason);
            }
        }
        self.outstanding = true;
        change
    }

    /// A final response to a ping arrived.
    pub(super) fn answered(&mut self, status: u16) -> Option<Transition> {
        self.outstanding = false;
        self.failures = 0;
        self.set_status(PeerStatus::Up, &format!("OPTIONS answered {status}"))
    }
}

/// A CIDR block, optionally with a port: `10.0.0.0/8`, `127.0.0.1`, `192.0.2.7:5060`, `[::1]:5060`, `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedSource {
    network: IpAddr,
    prefix: u8,
    port: Option<u16>,
}

impl TrustedSource {
    /// Parses one entry of `trusted_peers`.
    pub fn parse(text: &str) -> Option<TrustedSource> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Some(TrustedSource {
                network: addr.ip(),
                prefix,
                port: Some(addr.port()),
            });
        }
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, prefix)) => (ip.parse::<IpAddr>().ok()?, Some(prefix.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(TrustedSource {
            network: ip,
            prefix,
            port: None,
        })
    }

    /// Whether `source` lies in the block (and has its port, when one is given).
    pub fn contains(&self, source: SocketAddr) -> bool {
        if self.port.is_some_and(|p| p != source.port()) {
            return false;
        }
        match (self.network, source.ip()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}
