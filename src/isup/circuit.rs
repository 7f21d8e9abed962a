//! The circuits of one trunk group: which CICs are busy, locally blocked (we sent BLO) or
//! remotely blocked (we received BLO), and which one an outgoing call gets (Q.764 §2.8
//! blocking, §2.9.1 circuit selection).
//!
//! Selection policy: the lowest-numbered circuit that is idle and blocked in neither
//! direction. It is deterministic (replay gives the same CIC) and easy to reason about in
//! traces. Q.764 §2.9.1.3 suggests that the two exchanges select from opposite ends of the
//! group to make dual seizure rare; a configurable policy can be added here later.

use crate::isup::codec::Cic;

/// Errors of the circuit pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    /// Every circuit is busy or blocked (Q.850 cause 34 "no circuit/channel available").
    #[error("no idle unblocked circuit in CIC range {first}..={last}")]
    NoCircuitAvailable {
        /// First CIC of the group.
        first: u16,
        /// Last CIC of the group.
        last: u16,
    },
    /// The CIC does not belong to this trunk group.
    #[error("CIC {0} is not in this trunk group")]
    UnknownCircuit(Cic),
    /// The range is empty (last below first).
    #[error("empty CIC range {first}..={last}")]
    EmptyRange {
        /// First CIC asked for.
        first: u16,
        /// Last CIC asked for.
        last: u16,
    },
}

/// Status of one circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CircuitStatus {
    /// A call (or a release/reset procedure) occupies the circuit.
    pub busy: bool,
    /// We blocked the circuit for maintenance (BLO sent).
    pub locally_blocked: bool,
    /// The peer blocked the circuit (BLO received): no outgoing calls on it.
    pub remotely_blocked: bool,
}

/// The CIC range of one trunk group and each circuit's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitPool {
    first: u16,
    circuits: Vec<CircuitStatus>,
}

impl CircuitPool {
    /// A pool over `first ..= last`, every circuit idle and unblocked.
    pub fn new(first: u16, last: u16) -> Result<Self, CircuitError> {
        if last < first {
            return Err(CircuitError::EmptyRange { first, last });
        }
        Ok(CircuitPool {
            first,
            circuits: vec![CircuitStatus::default(); usize::from(last - first) + 1],
        })
    }

    /// First CIC of the group.
    pub fn first(&self) -> Cic {
        Cic(self.first)
    }

    /// Last CIC of the group.
    pub fn last(&self) -> Cic {
        Cic(self.first + (self.circuits.len() - 1) as u16)
    }

    /// Number of circuits in the group.
    pub fn len(&self) -> usize {
        self.circuits.len()
    }

    /// Whether the group has no circuits (never true for a constructed pool).
    pub fn is_empty(&self) -> bool {
        self.circuits.is_empty()
    }

    /// Whether `cic` belongs to the group.
    pub fn contains(&self, cic: Cic) -> bool {
        self.index(cic).is_some()
    }

    /// Every CIC of the group, ascending.
    pub fn cics(&self) -> impl Iterator<Item = Cic> + '_ {
        (0..self.circuits.len()).map(|index| Cic(self.first + index as u16))
    }

    fn index(&self, cic: Cic) -> Option<usize> {
        let index = usize::from(cic.0.checked_sub(self.first)?);
        (index < self.circuits.len()).then_some(index)
    }

    fn status_mut(&mut self, cic: Cic) -> Result<&mut CircuitStatus, CircuitError> {
        let index = self.index(cic).ok_or(CircuitError::UnknownCircuit(cic))?;
        self.circuits
            .get_mut(index)
            .ok_or(CircuitError::UnknownCircuit(cic))
    }

    /// Status of `cic`, if it belongs to the group.
    pub fn status(&self, cic: Cic) -> Option<CircuitStatus> {
        self.circuits.get(self.index(cic)?).copied()
    }

    /// Picks the lowest idle, unblocked circuit and marks it busy.
    pub fn allocate(&mut self) -> Result<Cic, CircuitError> {
        let first = self.first;
        let last = self.last().0;
        let (index, status) = self
            .circuits
            .iter_mut()
            .enumerate()
            .find(|(_, status)| !status.busy && !status.locally_blocked && !status.remotely_blocked)
            .ok_or(CircuitError::NoCircuitAvailable { first, last })?;
        status.busy = true;
        Ok(Cic(first + index as u16))
    }

    /// Marks `cic` busy (an incoming call seized it).
    pub fn mark_busy(&mut self, cic: Cic) -> Result<(), CircuitError> {
        self.status_mut(cic)?.busy = true;
        Ok(())
    }

    /// Marks `cic` idle again.
    pub fn mark_idle(&mut self, cic: Cic) -> Result<(), CircuitError> {
        self.status_mut(cic)?.busy = false;
        Ok(())
    }

    /// Sets or clears the local (maintenance) blocking of `cic`.
    pub fn set_locally_blocked(&mut self, cic: Cic, blocked: bool) -> Result<(), CircuitError> {
        self.status_mut(cic)?.locally_blocked = blocked;
        Ok(())
    }

    /// Sets or clears the remote blocking of `cic`.
    pub fn set_remotely_blocked(&mut self, cic: Cic, blocked: bool) -> Result<(), CircuitError> {
        self.status_mut(cic)?.remotely_blocked = blocked;
        Ok(())
    }

    /// Whether `cic` belongs to the group and carries no call.
    pub fn is_idle(&self, cic: Cic) -> bool {
        self.status(cic).is_some_and(|status| !status.busy)
    }

    /// Number of busy circuits.
    pub fn busy_count(&self) -> usize {
        self.circuits.iter().filter(|status| status.busy).count()
    }

    /// Number of circuits an outgoing call could seize now (neither busy nor blocked).
    pub fn idle_count(&self) -> usize {
        self.circuits
            .iter()
            .filter(|status| !status.busy && !status.locally_blocked && !status.remotely_blocked)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_lowest_free_unblocked() {
        let mut pool = CircuitPool::new(10, 13).unwrap();
        pool.set_remotely_blocked(Cic(10), true).unwrap();
        assert_eq!(pool.allocate(), Ok(Cic(11)));
        pool.mark_busy(Cic(12)).unwrap();
        assert_eq!(pool.allocate(), Ok(Cic(13)));
        assert_eq!(pool.busy_count(), 3);
        assert_eq!(pool.idle_count(), 0, "10 blocked, 11-13 busy");
        assert_eq!(
            pool.allocate(),
            Err(CircuitError::NoCircuitAvailable {
                first: 10,
                last: 13
            })
        );
        pool.mark_idle(Cic(11)).unwrap();
        assert!(pool.is_idle(Cic(11)));
        assert_eq!(pool.allocate(), Ok(Cic(11)));
        pool.set_remotely_blocked(Cic(10), false).unwrap();
        assert_eq!(pool.allocate(), Ok(Cic(10)));
    }

    #[test]
    fn rejects_foreign_cics_and_empty_ranges() {
        let mut pool = CircuitPool::new(1, 1).unwrap();
        assert_eq!(
            pool.mark_busy(Cic(2)),
            Err(CircuitError::UnknownCircuit(Cic(2)))
        );
        assert!(!pool.contains(Cic(0)) && pool.contains(Cic(1)));
        assert!(!pool.is_idle(Cic(0)));
        assert!(CircuitPool::new(5, 4).is_err());
        let full = CircuitPool::new(0, u16::MAX).unwrap();
        assert_eq!(full.last(), Cic(u16::MAX));
    }
}
