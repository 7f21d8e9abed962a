//! Throttling of new calls toward a congested destination (RFC 4666 §3.4.4 SCON, with the congestion levels of
//! the Q.704 §3.8 national option) and its abatement.
//!
//! SCON gives a level 1..=3. While a level is in force, new calls toward the destination are admitted at the
//! configured percentage for that level (`[trunk.congestion] accept_percent`), spread evenly by a counter so that
//! the decision is deterministic and replays exactly (no randomness in the core). Congestion abates like Q.704's
//! T30: every `abatement_ms` without a fresh SCON the level drops by one, and after level 1 the destination is
//! uncongested again. A SCON restarts the timer (and sets the level it names).

/// Whether a new call may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Not congested, or admitted at the level's rate.
    Accept,
    /// Refused by the throttle at this congestion level.
    Throttled(u8),
}

/// The throttle of one destination.
#[derive(Debug, Clone)]
pub(crate) struct Congestion {
    /// Percent of new calls admitted at levels 1, 2, 3.
    accept_percent: [u8; 3],
    abatement_ms: u64,
    level: u8,
    abate_at: Option<u64>,
    /// New calls offered since the level was last set, for the even spreading.
    offered: u64,
}

impl Congestion {
    pub(crate) fn new(accept_percent: [u8; 3], abatement_ms: u64) -> Self {
        Self {
            accept_percent,
            abatement_ms: abatement_ms.max(1),
            level: 0,
            abate_at: None,
            offered: 0,
        }
    }

    /// The level in force (0: none).
    #[cfg(test)]
    pub(crate) fn level(&self) -> u8 {
        self.level
    }

    /// SCON named `level` (0 clears at once); the abatement timer restarts.
    pub(crate) fn handle_scon(&mut self, level: u8, now_ms: u64) {
        let level = level.min(3);
        if level != self.level {
            self.offered = 0;
        }
        self.level = level;
        self.abate_at = (level > 0).then(|| now_ms.saturating_add(self.abatement_ms));
    }

    /// Anything that says the destination is no longer congested (DAVA, DUNA, the ASP changing state).
    pub(crate) fn clear(&mut self) {
        self.level = 0;
        self.abate_at = None;
        self.offered = 0;
    }

    pub(crate) fn poll_timeout(&self) -> Option<u64> {
        self.abate_at
    }

    /// Lowers the level when the abatement time passed; returns the new level if it changed.
    pub(crate) fn handle_timeout(&mut self, now_ms: u64) -> Option<u8> {
        let due = self.abate_at.filter(|at| *at <= now_ms)?;
        self.level = self.level.saturating_sub(1);
        self.offered = 0;
        self.abate_at = (self.level > 0).then(|| due.saturating_add(self.abatement_ms));
        Some(self.level)
    }

    /// Decides on one new call.
    pub(crate) fn admit(&mut self) -> Admission {
        let Some(&percent) = usize::from(self.level)
            .checked_sub(1)
            .and_then(|i| self.accept_percent.get(i))
        else {
            return Admission::Accept;
        };
        let percent = u64::from(percent.min(100));
        let before = self.offered * percent / 100;
        self.offered += 1;
        let after = self.offered * percent / 100;
        // Call n is admitted when the admitted count floor(n * p / 100) steps up: p of every 100, evenly spread.
        if after > before {
            Admission::Accept
        } else {
            Admission::Throttled(self.level)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(congestion: &mut Congestion, calls: usize) -> usize {
        (0..calls)
            .filter(|_| congestion.admit() == Admission::Accept)
            .count()
    }

    #[test]
    fn each_level_admits_its_share_evenly() {
        let mut congestion = Congestion::new([50, 25, 0], 1_000);
        assert_eq!(admitted(&mut congestion, 10), 10, "not congested");
        congestion.handle_scon(1, 0);
        let pattern: Vec<bool> = (0..4)
            .map(|_| congestion.admit() == Admission::Accept)
            .collect();
        assert_eq!(pattern, [false, true, false, true], "every other call");
        congestion.handle_scon(2, 10);
        assert_eq!(admitted(&mut congestion, 100), 25);
        congestion.handle_scon(3, 20);
        assert_eq!(congestion.admit(), Admission::Throttled(3));
        assert_eq!(admitted(&mut congestion, 100), 0);
        congestion.handle_scon(0, 30);
        assert_eq!(congestion.level(), 0);
        assert_eq!(congestion.poll_timeout(), None);
        assert_eq!(admitted(&mut congestion, 5), 5);
    }

    #[test]
    fn congestion_abates_one_level_per_quiet_period_and_scon_restarts_the_timer() {
        let mut congestion = Congestion::new([50, 25, 0], 1_000);
        congestion.handle_scon(3, 0);
        assert_eq!(congestion.poll_timeout(), Some(1_000));
        assert_eq!(congestion.handle_timeout(999), None);
        // A fresh SCON at 900 ms pushes abatement to 1 900 ms.
        congestion.handle_scon(3, 900);
        assert_eq!(congestion.handle_timeout(1_000), None);
        assert_eq!(congestion.handle_timeout(1_900), Some(2));
        assert_eq!(congestion.poll_timeout(), Some(2_900));
        assert_eq!(congestion.handle_timeout(2_900), Some(1));
        assert_eq!(congestion.admit(), Admission::Throttled(1));
        assert_eq!(congestion.handle_timeout(3_900), Some(0));
        assert_eq!(congestion.poll_timeout(), None);
        assert_eq!(congestion.admit(), Admission::Accept);
        // DAVA or an ASP change clears at once.
        congestion.handle_scon(2, 5_000);
        congestion.clear();
        assert_eq!((congestion.level(), congestion.poll_timeout()), (0, None));
    }
}
