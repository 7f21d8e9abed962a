//! Reliable provisional responses (RFC 3262, 100rel/PRACK) on incoming calls.
//!
//! When the caller lists `100rel` in Supported or Require, tandem sends its 101–199 responses reliably: with
//! `Require: 100rel` and an `RSeq` (§3, starting from a seeded random value below 2^31), retransmitted at T1
//! doubling until the matching PRACK arrives, for at most 64·T1. Only one reliable provisional is outstanding
//! at a time (§3); a provisional sent while one is unacknowledged goes unreliably. A PRACK whose `RAck`
//! (RSeq, CSeq number and method of the INVITE, §7.2) matches is answered 200 and stops the retransmissions;
//! any other PRACK gets 481 (§3). The final response ends all retransmissions.

use std::net::SocketAddr;

use super::endpoint::{Endpoint, LegState, Role};
use super::message::Request;
use super::{LegId, TransportKind};

/// The reliable-provisional state of one incoming leg that uses 100rel.
#[derive(Debug, Clone)]
pub(crate) struct Reliable {
    /// The RSeq of the next reliable provisional.
    next_rseq: u32,
    /// The unacknowledged one, if any.
    pending: Option<Pending>,
    /// The RSeq values already acknowledged (a retransmitted PRACK is answered 200 again).
    acked: Vec<u32>,
}

#[derive(Debug, Clone)]
struct Pending {
    rseq: u32,
    data: Vec<u8>,
    retransmit_at: u64,
    interval: u64,
    give_up_at: u64,
}

/// Whether the request asks for or offers 100rel (Require or Supported, compact `k` included).
pub(crate) fn wanted(request: &Request) -> bool {
    request.header_list().iter().any(|(name, value)| {
        ["Require", "Supported", "k"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
            && value
                .split(',')
                .any(|o| o.trim().eq_ignore_ascii_case("100rel"))
    })
}

/// Option tags tandem supports in Require (RFC 3261 §8.2.2.3): the others are answered 420.
pub(crate) const SUPPORTED: &[&str] = &["100rel", "timer"];

impl Reliable {
    /// A fresh state whose first RSeq is `first` (kept within 1..2^31, §7.1).
    pub(crate) fn new(first: u32) -> Self {
        Self {
            next_rseq: first % (1 << 31) + 1,
            pending: None,
            acked: Vec::new(),
        }
    }

    /// The RSeq for a provisional about to be sent reliably, or `None` if one is still unacknowledged.
    pub(crate) fn take_rseq(&mut self) -> Option<u32> {
        if self.pending.is_some() {
            return None;
        }
        let rseq = self.next_rseq;
        self.next_rseq = self.next_rseq.wrapping_add(1);
        Some(rseq)
    }

    /// Record the reliable provisional just sent.
    pub(crate) fn sent(&mut self, rseq: u32, data: Vec<u8>, now_ms: u64, t1: u64) {
        self.pending = Some(Pending {
            rseq,
            data,
            retransmit_at: now_ms.saturating_add(t1),
            interval: t1,
            give_up_at: now_ms.saturating_add(t1.saturating_mul(64)),
        });
    }

    /// The final response went out: nothing is retransmitted any more.
    pub(crate) fn finish(&mut self) {
        self.pending = None;
    }

    /// When the next retransmission is due.
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.retransmit_at)
    }

    /// Due work at `now_ms`: the bytes to retransmit, if any (the provisional is dropped after 64·T1).
    pub(crate) fn on_timer(&mut self, now_ms: u64) -> Option<Vec<u8>> {
        let pending = self.pending.as_mut()?;
        if pending.retransmit_at > now_ms {
            return None;
        }
        if now_ms >= pending.give_up_at {
            self.pending = None;
            return None;
        }
        pending.interval = pending.interval.saturating_mul(2);
        pending.retransmit_at = now_ms.saturating_add(pending.interval);
        Some(pending.data.clone())
    }

    /// A PRACK acknowledging `rseq`: true when it matches the outstanding or an acknowledged one.
    pub(crate) fn prack(&mut self, rseq: u32) -> bool {
        if self.pending.as_ref().is_some_and(|p| p.rseq == rseq) {
            self.pending = None;
            self.acked.push(rseq);
            return true;
        }
        self.acked.contains(&rseq)
    }
}

impl Endpoint {
    /// RFC 3262 §3: a PRACK in the early dialog of an incoming call.
    pub(super) fn on_prack(
        &mut self,
        transport: TransportKind,
        response_to: SocketAddr,
        request: &Request,
        now_ms: u64,
    ) {
        let rack = request.header("RAck").and_then(|value| {
            let mut parts = value.split_whitespace();
            let rseq: u32 = parts.next()?.parse().ok()?;
            let cseq: u32 = parts.next()?.parse().ok()?;
            Some((rseq, cseq, parts.next()?.to_ascii_uppercase()))
        });
        let leg = self.early_leg_of(request);
        let matched = match (leg, rack) {
            (Some(leg), Some((rseq, cseq, method))) => {
                super::endpoint::touch(&mut self.dirty_legs, &mut self.legs, leg).is_some_and(|l| {
                    l.invite.cseq().map(|(n, _)| n) == Some(cseq)
                        && method == "INVITE"
                        && l.reliable.as_mut().is_some_and(|r| r.prack(rseq))
                })
            }
            _ => false,
        };
        let status = if matched { 200 } else { 481 };
        self.reject_in_tx(transport, response_to, request, status, &[], now_ms);
    }

    /// The incoming leg whose early (or confirmed) dialog the request names: its Call-ID and our To-tag.
    fn early_leg_of(&self, request: &Request) -> Option<LegId> {
        let call_id = request.call_id()?;
        let tag = request.to()?.tag?;
        self.legs
            .iter()
            .find(|(_, l)| {
                l.role == Role::Uas
                    && l.state != LegState::Terminated
                    && l.local_tag == tag
                    && l.invite.call_id().as_deref() == Some(call_id.as_str())
            })
            .map(|(id, _)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_outstanding_retransmitted_doubling_until_prack_or_64_t1() {
        let mut r = Reliable::new(41);
        let rseq = r.take_rseq().unwrap();
        assert_eq!(rseq, 42);
        r.sent(rseq, b"180".to_vec(), 0, 500);
        assert_eq!(r.take_rseq(), None, "one at a time");
        assert_eq!(r.on_timer(499), None);
        assert_eq!(r.on_timer(500).as_deref(), Some(&b"180"[..]));
        assert_eq!(r.deadline(), Some(1500));
        assert!(!r.prack(41));
        assert!(r.prack(42));
        assert!(r.prack(42), "a retransmitted PRACK is acknowledged again");
        assert_eq!(r.deadline(), None);
        assert_eq!(r.take_rseq(), Some(43));
        r.sent(43, b"183".to_vec(), 10_000, 500);
        assert_eq!(r.on_timer(10_000 + 32_000), None, "given up after 64*T1");
        assert_eq!(r.deadline(), None);
    }
}
