//! Q.764 call-control timers (Annex A, Table A.1) and the per-circuit timer table.
//!
//! Only the timers basic call control and circuit reset need are here; the table is a fixed
//! array indexed by [`Timer`], so arming and polling never allocate.

/// A Q.764 timer (Annex A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// T1: started on sending REL, stopped by RLC; on expiry REL is repeated (Q.764 §2.9.6).
    T1,
    /// T5: started with T1 on the first REL; on expiry RSC is sent and maintenance alerted
    /// (Q.764 §2.9.6, Annex A).
    T5,
    /// T7: awaiting address complete, started on the latest address message (IAM/SAM); on
    /// expiry the call is released (Q.764 Annex A).
    T7,
    /// T9: awaiting answer, started on receiving ACM; on expiry the call is released
    /// (Q.764 Annex A, duration from Q.118).
    T9,
    /// T16: awaiting RLC after sending RSC; on expiry RSC is repeated (Q.764 §2.9.3.1).
    T16,
    /// T17: started on the first RSC repetition; on expiry RSC is repeated and maintenance
    /// alerted again (Q.764 §2.9.3.1).
    T17,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 6] = [
        Timer::T1,
        Timer::T5,
        Timer::T7,
        Timer::T9,
        Timer::T16,
        Timer::T17,
    ];

    fn index(self) -> usize {
        match self {
            Timer::T1 => 0,
            Timer::T5 => 1,
            Timer::T7 => 2,
            Timer::T9 => 3,
            Timer::T16 => 4,
            Timer::T17 => 5,
        }
    }
}

/// Timer durations in milliseconds. Defaults lie inside the Q.764 Annex A ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsupTimers {
    /// T1, 15–60 s (default 15 s).
    pub t1_ms: u64,
    /// T5, 5–15 min (default 5 min).
    pub t5_ms: u64,
    /// T7, 20–30 s (default 25 s).
    pub t7_ms: u64,
    /// T9, 90–180 s (default 90 s).
    pub t9_ms: u64,
    /// T16, 15–60 s (default 30 s).
    pub t16_ms: u64,
    /// T17, 5–15 min (default 5 min).
    pub t17_ms: u64,
}

impl Default for IsupTimers {
    fn default() -> Self {
        IsupTimers {
            t1_ms: 15_000,
            t5_ms: 300_000,
            t7_ms: 25_000,
            t9_ms: 90_000,
            t16_ms: 30_000,
            t17_ms: 300_000,
        }
    }
}

impl IsupTimers {
    /// The configured duration of `timer`.
    pub fn duration(&self, timer: Timer) -> u64 {
        match timer {
            Timer::T1 => self.t1_ms,
            Timer::T5 => self.t5_ms,
            Timer::T7 => self.t7_ms,
            Timer::T9 => self.t9_ms,
            Timer::T16 => self.t16_ms,
            Timer::T17 => self.t17_ms,
        }
    }
}

/// Deadlines of the running timers of one circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimerTable {
    deadlines: [Option<u64>; 6],
}

impl TimerTable {
    /// Arms `timer` to fire at `deadline_ms` (restarting it if running).
    pub fn set(&mut self, timer: Timer, deadline_ms: u64) {
        self.deadlines[timer.index()] = Some(deadline_ms);
    }

    /// Stops `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    /// Stops every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; 6];
    }

    /// Whether `timer` is running.
    pub fn is_running(&self, timer: Timer) -> bool {
        self.deadlines[timer.index()].is_some()
    }

    /// The earliest deadline of any running timer.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Stops and returns the earliest timer that has expired at `now_ms` (ties in table order).
    pub fn take_expired(&mut self, now_ms: u64) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .filter_map(|timer| self.deadlines[timer.index()].map(|deadline| (deadline, timer)))
            .filter(|(deadline, _)| *deadline <= now_ms)
            .min()?
            .1;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_earliest_first() {
        let mut table = TimerTable::default();
        table.set(Timer::T5, 300);
        table.set(Timer::T1, 100);
        assert_eq!(table.next_deadline(), Some(100));
        assert_eq!(table.take_expired(99), None);
        assert_eq!(table.take_expired(400), Some(Timer::T1));
        assert_eq!(table.take_expired(400), Some(Timer::T5));
        assert_eq!(table.take_expired(400), None);
        assert!(!table.is_running(Timer::T5));
    }
}
