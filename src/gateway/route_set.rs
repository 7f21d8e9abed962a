//! The route set of one destination point code: the trunk's associations (links) with their priorities, which of
//! them can carry traffic now, and which one carries a given SLS. Follows the MTP3 rules M3UA inherits (Q.704
//! §4.2 route set with priorities, §4.2.1 load sharing within a combined linkset by SLS; RFC 4666 §1.4.2 SLS
//! selection): the available links of the best (lowest) priority carry all traffic, shared by SLS; a lower
//! priority is used only while no better link is available, and traffic returns to the preferred links as soon
//! as one is available again.
//!
//! Within the chosen priority, SLS `s` goes to configured member `r(s) mod n` when that one is available, so a
//! circuit (its SLS derives from its CIC) stays on the same association while it is up; only the SLS values of a
//! failed member are spread over the survivors. `r` reverses the four SLS bits: a trunk group seizes mostly the
//! circuits it controls, all odd or all even (Q.764 §2.9.1.4), so the lowest SLS bit hardly varies, and with
//! `s mod 2` one of two links would carry everything. Sans-IO: availability is set by the gateway from ASP, NTFY and SSNM
//! state, and every change goes through [`RouteSet::set_available`].

/// One link's place in the route set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Member {
    priority: u8,
    available: bool,
}

/// The links toward one destination, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteSet {
    members: Vec<Member>,
}

impl RouteSet {
    /// A route set of links with these priorities, none available yet.
    pub(crate) fn new(priorities: &[u8]) -> Self {
        Self {
            members: priorities
                .iter()
                .map(|&priority| Member {
                    priority,
                    available: false,
                })
                .collect(),
        }
    }

    /// The one door for availability changes; `true` when the link's availability changed.
    pub(crate) fn set_available(&mut self, link: usize, available: bool) -> bool {
        match self.members.get_mut(link) {
            Some(member) if member.available != available => {
                member.available = available;
                true
            }
            _ => false,
        }
    }

    /// Whether the link is available.
    pub(crate) fn is_available(&self, link: usize) -> bool {
        self.members.get(link).is_some_and(|m| m.available)
    }

    /// The link that carries messages with this SLS now, if any link is available.
    pub(crate) fn select(&self, sls: u8) -> Option<usize> {
        let best = self
            .members
            .iter()
            .filter(|m| m.available)
            .map(|m| m.priority)
            .min()?;
        let group: Vec<usize> = (0..self.members.len())
            .filter(|&i| self.members.get(i).is_some_and(|m| m.priority == best))
            .collect();
        let sls = spread_key(sls);
        let preferred = *group.get(sls % group.len().max(1))?;
        if self.is_available(preferred) {
            return Some(preferred);
        }
        let survivors: Vec<usize> = group
            .into_iter()
            .filter(|&i| self.is_available(i))
            .collect();
        survivors.get(sls % survivors.len().max(1)).copied()
    }
}

/// The four ITU SLS bits in reverse order (see the module documentation).
pub(crate) fn spread_key(sls: u8) -> usize {
    usize::from((sls & 0x0f).reverse_bits() >> 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of the 16 ITU SLS values each link carries.
    fn spread(routes: &RouteSet, links: usize) -> Vec<usize> {
        let mut counts = vec![0; links];
        for sls in 0..16 {
            if let Some(link) = routes.select(sls) {
                counts[link] += 1;
            }
        }
        counts
    }

    #[test]
    fn nothing_available_selects_nothing() {
        let routes = RouteSet::new(&[0, 0]);
        assert_eq!(routes.select(3), None);
        assert_eq!(RouteSet::new(&[]).select(0), None);
    }

    #[test]
    fn equal_priorities_share_by_sls_and_keep_a_circuit_on_its_link() {
        let mut routes = RouteSet::new(&[0, 0]);
        assert!(routes.set_available(0, true));
        assert!(routes.set_available(1, true));
        assert!(!routes.set_available(1, true), "no change is not a change");
        assert_eq!(spread(&routes, 2), [8, 8]);
        // The same SLS always picks the same link.
        for sls in 0..16u8 {
            assert_eq!(routes.select(sls), Some(spread_key(sls) % 2));
        }
    }

    #[test]
    fn circuits_of_one_parity_still_use_both_links() {
        let mut routes = RouteSet::new(&[0, 0]);
        routes.set_available(0, true);
        routes.set_available(1, true);
        for parity in 0..2u8 {
            let mut counts = [0; 2];
            for sls in (parity..16).step_by(2) {
                counts[routes.select(sls).expect("available")] += 1;
            }
            assert_eq!(counts, [4, 4], "SLS values of parity {parity}");
        }
    }

    #[test]
    fn failover_moves_only_the_failed_links_sls_values() {
        let mut routes = RouteSet::new(&[0, 0, 0]);
        for link in 0..3 {
            routes.set_available(link, true);
        }
        let before: Vec<Option<usize>> = (0..16).map(|sls| routes.select(sls)).collect();
        routes.set_available(1, false);
        for sls in 0..16u8 {
            let now = routes.select(sls);
            assert_ne!(now, Some(1), "SLS {sls} still on the failed link");
            assert!(now.is_some());
            if before[usize::from(sls)] != Some(1) {
                assert_eq!(now, before[usize::from(sls)], "SLS {sls} moved needlessly");
            }
        }
        assert_eq!(spread(&routes, 3)[1], 0);
        // Link 1 back: the original mapping returns.
        routes.set_available(1, true);
        let after: Vec<Option<usize>> = (0..16).map(|sls| routes.select(sls)).collect();
        assert_eq!(after, before);
    }

    #[test]
    fn preferred_priority_carries_everything_and_lower_is_a_standby() {
        // Links 0 and 1 preferred (priority 1), link 2 standby (priority 5).
        let mut routes = RouteSet::new(&[1, 1, 5]);
        routes.set_available(2, true);
        assert_eq!(spread(&routes, 3), [0, 0, 16], "only the standby is up");
        routes.set_available(0, true);
        assert_eq!(
            spread(&routes, 3),
            [16, 0, 0],
            "back to the preferred route"
        );
        routes.set_available(1, true);
        assert_eq!(spread(&routes, 3), [8, 8, 0]);
        routes.set_available(0, false);
        routes.set_available(1, false);
        assert_eq!(spread(&routes, 3), [0, 0, 16], "both preferred down");
        routes.set_available(2, false);
        assert_eq!(spread(&routes, 3), [0, 0, 0]);
    }

    #[test]
    fn unknown_links_are_ignored() {
        let mut routes = RouteSet::new(&[0]);
        assert!(!routes.set_available(7, true));
        assert!(!routes.is_available(7));
    }
}
