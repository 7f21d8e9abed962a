//! One trunk group as the core sees it: its M3UA ASP, its ISUP call control over its CIC range, and the mapping
//! tables its profile (and per-trunk overrides) give.

use std::collections::HashMap;

use super::congestion::Congestion;
use super::destination::Destination;
use super::GatewayError;
use crate::config::TrunkConfig;
use crate::events::SourceText;
use crate::interwork::tables::MappingTables;
use crate::interwork::tables::ReleaseReason;
use crate::isup::call::ControlledCircuits;
use crate::isup::{CallControl, CallControlConfig, IsupMessage};
use crate::sigtran::m3ua::{Asp, AspConfig, AspError, ProtocolData, Role};

/// Service indicator of ISUP in the M3UA protocol data (Q.704 §14.2.1).
const SI_ISUP: u8 = 5;

/// A trunk group's machines and tables.
pub(crate) struct Trunk {
    pub(crate) name: String,
    pub(crate) config: TrunkConfig,
    pub(crate) tables: MappingTables,
    pub(crate) asp: Asp,
    pub(crate) isup: CallControl,
    /// Which call owns each busy CIC.
    pub(crate) cics: HashMap<u16, u64>,
    /// The adjacent destination's state from SSNM.
    pub(crate) destination: Destination,
    /// The throttle SCON sets for new calls toward the destination.
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
        let asp = Asp::new(AspConfig {
            role: Role::Asp,
            id: config.name.clone(),
            routing_context: config.routing_context,
            network_appearance: config.network_appearance,
            register_routing_key: config.routing_key_request(),
            traffic_mode: config.traffic_mode.traffic_mode(),
            beat_interval_ms: config.beat_interval_ms,
            beat_loss_threshold: config.beat_loss_threshold,
            outbound_streams: config.streams,
            ipsp: config.mode.ipsp(),
            ..AspConfig::default()
        });
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
            asp,
            isup,
            cics: HashMap::new(),
            destination: Destination::new(config.dpc),
            congestion: Congestion::new(
                config.congestion.accept_percent,
                config.congestion.abatement_ms,
            ),
        })
    }

    pub(crate) fn handle_sctp_up(&mut self, now_ms: u64) {
        self.asp.handle_sctp_up(now_ms);
    }

    pub(crate) fn handle_sctp_down(&mut self, now_ms: u64) {
        self.asp.handle_sctp_down(now_ms);
    }

    pub(crate) fn handle_timeout(&mut self, now_ms: u64) {
        self.asp.handle_timeout(now_ms);
        self.isup.handle_timeout(now_ms);
    }

    pub(crate) fn poll_timeout(&self) -> Option<u64> {
        [
            self.asp.poll_timeout(),
            self.isup.poll_timeout(),
            self.congestion.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether ISUP can be sent now.
    pub(crate) fn is_active(&self) -> bool {
        self.asp.can_send_data()
    }

    /// Wraps an ISUP message in M3UA protocol data for this trunk and hands it to the ASP.
    pub(crate) fn send_isup(&mut self, message: &IsupMessage) -> Result<(), AspError> {
        // ITU SLS is four bits; tying it to the CIC keeps one circuit's messages in sequence (Q.764 §2.1).
        let sls = (message.cic.0 & 0x0f) as u8;
        let mut user_data = Vec::with_capacity(64);
        message.encode_variant_into(self.config.variant.into(), &mut user_data);
        self.asp.send_data(ProtocolData {
            opc: self.config.opc,
            dpc: self.config.dpc,
            si: SI_ISUP,
            ni: self.config.ni,
            mp: 0,
            sls,
            user_data,
        })
    }
}
