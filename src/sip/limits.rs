//! Hardening of the SIP edge against floods: a per-source request rate limit (a token bucket per source
//! IP address) applied before a request is parsed. No standard prescribes it; RFC 3261 §26.1.5 names
//! denial of service as the threat and leaves the defence to the implementation.
//!
//! The limiter is sans-IO like the rest of the endpoint: time is the `now_ms` of the input, so a replayed
//! log refuses exactly the requests the live run refused.

use std::collections::HashMap;
use std::net::IpAddr;

/// Above this many tracked sources, sources whose bucket has refilled are forgotten.
const PRUNE_ABOVE: usize = 4096;

/// Per-source token buckets; one token per request, `rate` tokens a second, at most `rate` stored (one
/// second of burst).
#[derive(Debug, Clone, Default)]
pub(crate) struct RateLimiter {
    /// Requests per second per source IP; 0 disables the limiter.
    rate: u32,
    buckets: HashMap<IpAddr, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens in thousandths, so refilling by `elapsed_ms * rate` stays in integers.
    milli_tokens: u64,
    updated_ms: u64,
    /// Whether the last request was refused (the event is reported once per episode).
    limited: bool,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the rate.
    Allow,
    /// Over the rate; the first refusal of an episode (report it).
    RefuseFirst,
    /// Over the rate again (drop silently).
    Refuse,
}

impl RateLimiter {
    /// A limiter allowing `rate` requests a second per source (0: no limit).
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            rate,
            buckets: HashMap::new(),
        }
    }

    /// Take one token for a request from `source` at `now_ms`.
    pub(crate) fn check(&mut self, source: IpAddr, now_ms: u64) -> Verdict {
        if self.rate == 0 {
            return Verdict::Allow;
        }
        let capacity = u64::from(self.rate) * 1000;
        let rate = u64::from(self.rate);
        if self.buckets.len() > PRUNE_ABOVE {
            // A bucket untouched for a second is full again: forgetting it changes no decision.
            self.buckets
                .retain(|_, b| now_ms.saturating_sub(b.updated_ms) < 1000);
        }
        let bucket = self.buckets.entry(source).or_insert(Bucket {
            milli_tokens: capacity,
            updated_ms: now_ms,
            limited: false,
        });
        let elapsed = now_ms.saturating_sub(bucket.updated_ms);
        bucket.milli_tokens = bucket
            .milli_tokens
            .saturating_add(elapsed.saturating_mul(rate))
            .min(capacity);
        bucket.updated_ms = bucket.updated_ms.max(now_ms);
        if bucket.milli_tokens >= 1000 {
            bucket.milli_tokens -= 1000;
            bucket.limited = false;
            Verdict::Allow
        } else if bucket.limited {
            Verdict::Refuse
        } else {
            bucket.limited = true;
            Verdict::RefuseFirst
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_burst_of_one_second_then_the_rate() {
        let mut limiter = RateLimiter::new(10);
        let allowed = (0..25)
            .filter(|_| limiter.check(ip(1), 0) == Verdict::Allow)
            .count();
        assert_eq!(allowed, 10, "one second of burst");
        // 100 ms refill one token at 10/s.
        assert_eq!(limiter.check(ip(1), 100), Verdict::Allow);
        assert_eq!(limiter.check(ip(1), 100), Verdict::RefuseFirst);
        assert_eq!(limiter.check(ip(1), 100), Verdict::Refuse);
        // Another source is not affected.
        assert_eq!(limiter.check(ip(2), 100), Verdict::Allow);
    }

    #[test]
    fn zero_disables() {
        let mut limiter = RateLimiter::new(0);
        assert!((0..10_000).all(|_| limiter.check(ip(1), 0) == Verdict::Allow));
    }

    #[test]
    fn many_sources_are_pruned_without_changing_decisions() {
        let mut limiter = RateLimiter::new(1);
        for n in 0..5000u32 {
            let source = IpAddr::from(n.to_be_bytes());
            assert_eq!(limiter.check(source, u64::from(n)), Verdict::Allow);
        }
        assert!(limiter.buckets.len() <= PRUNE_ABOVE + 1);
        // The pruned first source gets a full bucket again, as it would have by now anyway.
        assert_eq!(
            limiter.check(IpAddr::from([0, 0, 0, 0]), 6000),
            Verdict::Allow
        );
    }
}
