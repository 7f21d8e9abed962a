//! The originating side of `ss7sim call`: places N calls towards the peer, one every
//! `interval_ms`, and judges each against the Q.764 §2.1 outgoing call sequence
//! (IAM → ACM or CON → ANM → hold → REL cause 16 → RLC). Sans-IO: the runtime performs the
//! [`CallerCommand`]s and reports what call control saw.

use std::collections::VecDeque;

/// Settings of a `call` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerConfig {
    /// Number of calls to place.
    pub count: u32,
    /// Time between two IAMs.
    pub interval_ms: u64,
    /// How long an answered call is held before REL.
    pub hold_ms: u64,
    /// A call not finished (RLC) this long after its IAM fails.
    pub release_timeout_ms: u64,
}

/// What the runtime must do for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerCommand {
    /// Send an IAM for call number `index` (0-based), then report the CIC with
    /// [`Caller::handle_setup_sent`] or the failure with [`Caller::handle_setup_failed`].
    Setup {
        /// Which call.
        index: u32,
    },
    /// Send REL cause 16 on this circuit.
    Release {
        /// The circuit.
        cic: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingAnswer,
    Holding { release_at: u64 },
    Releasing,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    cic: u16,
    deadline: u64,
    phase: Phase,
}

/// Outcome counters of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// IAMs sent (or attempted).
    pub attempted: u32,
    /// Calls that got ANM or CON.
    pub answered: u32,
    /// Calls that ended with our REL and the peer's RLC.
    pub completed: u32,
    /// Calls that went any other way.
    pub failed: u32,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "calls: {} attempted, {} answered, {} completed, {} failed",
            self.attempted, self.answered, self.completed, self.failed
        )
    }
}

/// Sans-IO driver of the outgoing calls of `ss7sim call`.
#[derive(Debug, Clone)]
pub struct Caller {
    config: CallerConfig,
    started_at: Option<u64>,
    next_index: u32,
    active: Vec<Active>,
    commands: VecDeque<CallerCommand>,
    failures: VecDeque<String>,
    summary: Summary,
}

impl Caller {
    /// A caller that waits for [`Caller::handle_asp_active`].
    pub fn new(config: CallerConfig) -> Self {
        Caller {
            config,
            started_at: None,
            next_index: 0,
            active: Vec::new(),
            commands: VecDeque::new(),
            failures: VecDeque::new(),
            summary: Summary::default(),
        }
    }

    /// The peer ASP became active: calls may start (only the first time counts).
    pub fn handle_asp_active(&mut self, now_ms: u64) {
        if self.started_at.is_none() {
            self.started_at = Some(now_ms);
            self.handle_timeout(now_ms);
        }
    }

    /// The IAM of call `index` went out on `cic` at `now_ms`.
    pub fn handle_setup_sent(&mut self, cic: u16, now_ms: u64) {
        self.active.push(Active {
            cic,
            deadline: now_ms.saturating_add(self.config.release_timeout_ms),
            phase: Phase::AwaitingAnswer,
        });
    }

    /// The IAM of a call could not be sent.
    pub fn handle_setup_failed(&mut self, reason: &str) {
        self.summary.failed += 1;
        self.failures.push_back(format!("setup failed: {reason}"));
    }

    /// ANM or CON arrived on `cic`.
    pub fn handle_answered(&mut self, cic: u16, now_ms: u64) {
        let hold = self.config.hold_ms;
        if let Some(call) = self.call_mut(cic) {
            if call.phase == Phase::AwaitingAnswer {
                call.phase = Phase::Holding {
                    release_at: now_ms.saturating_add(hold),
                };
                self.summary.answered += 1;
            }
        }
    }

    /// The peer released `cic` (REL received) with `cause`: the call failed.
    pub fn handle_peer_released(&mut self, cic: u16, cause: u8) {
        self.fail(cic, format!("CIC {cic}: peer released with cause {cause}"));
    }

    /// Our REL on `cic` was answered by RLC.
    pub fn handle_release_complete(&mut self, cic: u16) {
        if let Some(index) = self.active.iter().position(|call| call.cic == cic) {
            let call = self.active.swap_remove(index);
            if call.phase == Phase::Releasing {
                self.summary.completed += 1;
            } else {
                self.summary.failed += 1;
                self.failures
                    .push_back(format!("CIC {cic}: RLC before our REL"));
            }
        }
    }

    /// Something else went wrong on `cic` (timer expiry, reset, protocol error).
    pub fn handle_failure(&mut self, cic: u16, reason: String) {
        self.fail(cic, reason);
    }

    /// The association went down: every call in progress failed.
    pub fn handle_link_down(&mut self) {
        for call in std::mem::take(&mut self.active) {
            self.summary.failed += 1;
            self.failures
                .push_back(format!("CIC {}: SCTP association lost", call.cic));
        }
    }

    /// Starts due calls, releases held ones, fails overdue ones.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let Some(started_at) = self.started_at else {
            return;
        };
        while self.next_index < self.config.count
            && started_at
                .saturating_add(u64::from(self.next_index).saturating_mul(self.config.interval_ms))
                <= now_ms
        {
            self.commands.push_back(CallerCommand::Setup {
                index: self.next_index,
            });
            self.next_index += 1;
            self.summary.attempted += 1;
        }
        let mut overdue = Vec::new();
        for call in self.active.iter_mut() {
            if let Phase::Holding { release_at } = call.phase {
                if release_at <= now_ms {
                    call.phase = Phase::Releasing;
                    self.commands
                        .push_back(CallerCommand::Release { cic: call.cic });
                }
            }
            if call.deadline <= now_ms {
                overdue.push(call.cic);
            }
        }
        for cic in overdue {
            let reason = format!(
                "CIC {cic}: not finished {} ms after IAM",
                self.config.release_timeout_ms
            );
            self.fail(cic, reason);
        }
    }

    /// The next command for the runtime.
    pub fn poll_command(&mut self) -> Option<CallerCommand> {
        self.commands.pop_front()
    }

    /// The next failure description, for the log.
    pub fn poll_failure(&mut self) -> Option<String> {
        self.failures.pop_front()
    }

    /// When [`Caller::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let started_at = self.started_at?;
        let next_setup = (self.next_index < self.config.count).then(|| {
            started_at
                .saturating_add(u64::from(self.next_index).saturating_mul(self.config.interval_ms))
        });
        let per_call = self.active.iter().flat_map(|call| {
            let release = match call.phase {
                Phase::Holding { release_at } => Some(release_at),
                _ => None,
            };
            [Some(call.deadline), release]
        });
        next_setup.into_iter().chain(per_call.flatten()).min()
    }

    /// Whether every call has been placed and has finished one way or another.
    pub fn is_finished(&self) -> bool {
        self.started_at.is_some() && self.next_index >= self.config.count && self.active.is_empty()
    }

    /// The counters so far.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    fn call_mut(&mut self, cic: u16) -> Option<&mut Active> {
        self.active.iter_mut().find(|call| call.cic == cic)
    }

    fn fail(&mut self, cic: u16, reason: String) {
        if let Some(index) = self.active.iter().position(|call| call.cic == cic) {
            self.active.swap_remove(index);
            self.summary.failed += 1;
            self.failures.push_back(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(count: u32) -> CallerConfig {
        CallerConfig {
            count,
            interval_ms: 50,
            hold_ms: 500,
            release_timeout_ms: 10_000,
        }
    }

    #[test]
    fn waits_for_asp_then_paces_setups() {
        let mut caller = Caller::new(config(3));
        assert_eq!(caller.poll_timeout(), None);
        caller.handle_timeout(1000);
        assert_eq!(caller.poll_command(), None);
        caller.handle_asp_active(100);
        assert_eq!(
            caller.poll_command(),
            Some(CallerCommand::Setup { index: 0 })
        );
        assert_eq!(caller.poll_command(), None);
        assert_eq!(caller.poll_timeout(), Some(150));
        caller.handle_timeout(200);
        assert_eq!(
            caller.poll_command(),
            Some(CallerCommand::Setup { index: 1 })
        );
        assert_eq!(
            caller.poll_command(),
            Some(CallerCommand::Setup { index: 2 })
        );
        assert_eq!(caller.summary().attempted, 3);
    }

    #[test]
    fn clean_call_completes() {
        let mut caller = Caller::new(config(1));
        caller.handle_asp_active(0);
        assert_eq!(
            caller.poll_command(),
            Some(CallerCommand::Setup { index: 0 })
        );
        caller.handle_setup_sent(1, 0);
        caller.handle_answered(1, 100);
        assert_eq!(caller.poll_timeout(), Some(600));
        caller.handle_timeout(600);
        assert_eq!(
            caller.poll_command(),
            Some(CallerCommand::Release { cic: 1 })
        );
        assert!(!caller.is_finished());
        caller.handle_release_complete(1);
        assert!(caller.is_finished());
        assert_eq!(
            caller.summary().to_string(),
            "calls: 1 attempted, 1 answered, 1 completed, 0 failed"
        );
    }

    #[test]
    fn peer_release_and_timeout_fail() {
        let mut caller = Caller::new(config(2));
        caller.handle_asp_active(0);
        caller.handle_timeout(50);
        caller.handle_setup_sent(1, 0);
        caller.handle_setup_sent(2, 50);
        caller.handle_peer_released(1, 17);
        assert!(caller
            .poll_failure()
            .is_some_and(|f| f.contains("cause 17")));
        caller.handle_timeout(10_050);
        assert!(caller.is_finished());
        let summary = caller.summary();
        assert_eq!(
            (summary.attempted, summary.answered, summary.failed),
            (2, 0, 2)
        );
    }
}
