//! One trunk group as the core sees it: its links (SCTP associations, each with its own M3UA ASP and the
//! destination state SSNM reported on it), the route set choosing a link per SLS, its ISUP call control over its
//! CIC range, and the mapping tables its profile (and per-trunk overrides) give.

use std::collections::HashMap;

use super::congestion::Congestion;
use super::destination::{Destination, DestinationState};
use super::route_set::RouteSet;
use super::GatewayError;
use crate::config::{LinkConfig, TrunkConfig};
use crate::events::SourceText;
use crate::interwork::tables::MappingTables;
use crate::interwork::tables::ReleaseReason;
use crate::isup::call::ControlledCircuits;
use crate::isup::{CallControl, CallControlConfig, IsupMessage};
use crate::sigtran::m3ua::asp::{
    STATUS_AS_ACTIVE, STATUS_AS_INACTIVE, STATUS_AS_PENDING, STATUS_TYPE_AS_STATE_CHANGE,
};
use crate::sigtran::m3ua::{Asp, AspConfig, AspError, AspState, ProtocolData, Role};

/// Service indicator of ISUP in the M3UA protocol data (Q.704 §14.2.1).
const SI_ISUP: u8 = 5;

/// One association of a trunk: its ASP and what the peer told us on it.
pub(crate) struct Link {
    pub(crate) config: LinkConfig,
    pub(crate) asp: Asp,
    /// The trunk's destination as SSNM on this association reports it.
    pub(crate) destination: Destination,
    /// The peer notified AS-INACTIVE or AS-PENDING (RFC 4666 §4.3.4.5) since the ASP last changed state.
    pub(crate) as_down: bool,
    /// Whether the link could send DATA when its ASP last changed state (to see it come up).
    pub(crate) was_active: bool,
}

impl Link {
    /// Whether DATA can be sent: the ASP is active (and, between IPSPs in double exchange, the peer too).
    pub(crate) fn is_active(&self) -> bool {
        self.asp.can_send_data()
    }

    /// Whether the link can carry traffic for the destination: ASP active, AS not notified down, destination not
    /// reported unavailable on it.
    fn carries_traffic(&self) -> bool {
        self.is_active() && !self.as_down && self.destination.accepts_calls()
    }

    /// Applies an NTFY (status type 1 only; the others do not change the AS state).
    pub(crate) fn handle_notify(&mut self, status_type: u16, status_info: u16) {
        if status_type != STATUS_TYPE_AS_STATE_CHANGE {
            return;
        }
        match status_info {
            STATUS_AS_ACTIVE => self.as_down = false,
            STATUS_AS_INACTIVE | STATUS_AS_PENDING => self.as_down = true,
            _ => {}
        }
    }
}

/// A trunk group's machines and tables.
pub(crate) struct Trunk {
    pub(crate) name: String,
    pub(crate) config: TrunkConfig,
    pub(crate) tables: MappingTables,
    /// The associations toward the destination, in configuration order.
    pub(crate) links: Vec<Link>,
    /// Which links carry traffic now, by priority and SLS.
    pub(crate) routes: RouteSet,
    pub(crate) isup: CallControl,
    /// Which call owns each busy CIC.
    pub(crate) cics: HashMap<u16, u64>,
    /// The throttle SCON (or an ACL in a REL) sets for new calls toward the destination.
    pub(crate) congestion: Congestion,
}

impl Trunk {
    pub(crate) fn new(
        _index: usize,
        config: &TrunkConfig,
        mappings: &[SourceText],
        _seed: u64,
    ) -> Result<Trunk, GatewayError> {
        let source = mappings
            .iter()
            .find(|m| m.name == config.profile)
            .ok_or_else(|| {
                GatewayError::Mappings(format!(
                    "trunk {}: profile {:?} is not in the setup",
                    config.name, config.profile
                ))
            })?;
        let tables = MappingTables::from_toml(&source.name, &source.text)
            .and_then(|t| t.with_overrides(&config.overrides))
            .map_err(|e| GatewayError::Mappings(e.to_string()))?;
        let links: Vec<Link> = config
            .links()
            .into_iter()
            .map(|link| Link {
                asp: Asp::new(link_asp_config(config, &link)),
                destination: Destination::new(config.dpc),
                as_down: false,
                was_active: false,
                config: link,
            })
            .collect();
        let priorities: Vec<u8> = links.iter().map(|l| l.config.priority).collect();
        let mut isup_config = CallControlConfig::new(config.cic_first, config.cic_last);
        isup_config.timers = config.timers.isup_timers();
        // Q.764 §2.9.1.4: the exchange with the higher point code controls the even circuits.
        isup_config.controlled_circuits = if config.opc > config.dpc {
            ControlledCircuits::Even
        } else {
            ControlledCircuits::Odd
        };
        isup_config.t7_expiry_cause = tables.release_cause(ReleaseReason::NoAcmTimeout);
        isup_config.t9_expiry_cause = tables.release_cause(ReleaseReason::NoAnswerTimeout);
        isup_config.variant = config.variant.into();
        let isup = CallControl::new(isup_config)
            .map_err(|e| GatewayError::Config(format!("trunk {}: {e}", config.name)))?;
        Ok(Trunk {
            name: config.name.clone(),
            config: config.clone(),
            tables,
            routes: RouteSet::new(&priorities),
            links,
            isup,
            cics: HashMap::new(),
            congestion: Congestion::new(
                config.congestion.accept_percent,
                config.congestion.abatement_ms,
            ),
        })
    }

    /// The link with this id.
    pub(crate) fn link_index(&self, id: &str) -> Option<usize> {
        self.links.iter().position(|l| l.config.id == id)
    }

    pub(crate) fn handle_timeout(&mut self, now_ms: u64) {
        for link in &mut self.links {
            link.asp.handle_timeout(now_ms);
        }
        self.isup.handle_timeout(now_ms);
    }

    pub(crate) fn poll_timeout(&self) -> Option<u64> {
        self.links
            .iter()
            .map(|l| l.asp.poll_timeout())
            .chain([self.isup.poll_timeout(), self.congestion.poll_timeout()])
            .flatten()
            .min()
    }

    /// Whether ISUP can be sent now: some link's ASP is active.
    pub(crate) fn is_active(&self) -> bool {
        self.links.iter().any(Link::is_active)
    }

    /// Whether new calls may go to the destination: an active link on which SSNM does not report it (or its
    /// ISUP) unavailable.
    pub(crate) fn accepts_calls(&self) -> bool {
        self.links
            .iter()
            .any(|l| l.is_active() && l.destination.accepts_calls())
    }

    /// The destination's state for the log: the best any active link reports (the first link's if none is
    /// active).
    pub(crate) fn destination_state(&self) -> DestinationState {
        self.links
            .iter()
            .filter(|l| l.is_active())
            .map(|l| l.destination.state())
            .find(|state| !matches!(state, DestinationState::Unavailable))
            .or_else(|| self.links.first().map(|l| l.destination.state()))
            .unwrap_or(DestinationState::Unknown)
    }

    /// Recomputes which links carry traffic; returns the links whose availability changed, with the new value.
    pub(crate) fn refresh_routes(&mut self) -> Vec<(usize, bool)> {
        let mut changes = Vec::new();
        for (index, link) in self.links.iter().enumerate() {
            let available = link.carries_traffic();
            if self.routes.set_available(index, available) {
                changes.push((index, available));
            }
        }
        changes
    }

    /// The link that carries this SLS: the route set's choice, or, while no link carries traffic for the
    /// destination, any active one (the SG may still deliver, and a REL must not be held back).
    pub(crate) fn link_for_sls(&self, sls: u8) -> Option<usize> {
        self.routes.select(sls).or_else(|| {
            let active: Vec<usize> = (0..self.links.len())
                .filter(|&i| self.links.get(i).is_some_and(Link::is_active))
                .collect();
            active.get(usize::from(sls) % active.len().max(1)).copied()
        })
    }

    /// Wraps an ISUP message in M3UA protocol data for this trunk and hands it to the ASP of the link its SLS
    /// maps to.
    pub(crate) fn send_isup(&mut self, message: &IsupMessage) -> Result<(), AspError> {
        // ITU SLS is four bits; tying it to the CIC keeps one circuit's messages in sequence (Q.764 §2.1).
        let sls = (message.cic.0 & 0x0f) as u8;
        let Some(link) = self.link_for_sls(sls) else {
            let state = self.links.first().map_or(AspState::Down, |l| l.asp.state());
            return Err(AspError::NotActive { state });
        };
        let mut user_data = Vec::with_capacity(64);
        message.encode_variant_into(self.config.variant.into(), &mut user_data);
        let data = ProtocolData {
            opc: self.config.opc,
            dpc: self.config.dpc,
            si: SI_ISUP,
            ni: self.config.ni,
            mp: 0,
            sls,
            user_data,
        };
        match self.links.get_mut(link) {
            Some(link) => link.asp.send_data(data),
            None => Err(AspError::NotActive {
                state: AspState::Down,
            }),
        }
    }
}

/// The ASP configuration of one of the trunk's links.
fn link_asp_config(trunk: &TrunkConfig, link: &LinkConfig) -> AspConfig {
    AspConfig {
        role: Role::Asp,
        id: link.id.clone(),
        routing_context: link.routing_context,
        network_appearance: trunk.network_appearance,
        register_routing_key: trunk.link_routing_key_request(link),
        traffic_mode: link.traffic_mode.traffic_mode(),
        beat_interval_ms: trunk.beat_interval_ms,
        beat_loss_threshold: trunk.beat_loss_threshold,
        outbound_streams: trunk.streams,
        ipsp: trunk.mode.ipsp(),
        ..AspConfig::default()
    }
}
