//! `[[trunk.association]]`: the SCTP associations (M3UA ASPs, RFC 4666 §1.4) one trunk group uses toward its
//! destination point code, each with a route priority. A trunk without association entries has one association
//! made of its own keys (`remote`, `local`, `transport`, `routing_context`, ...), so single-link configurations
//! keep their meaning; its link id is the trunk's name. With entries, every entry is one link whose id is
//! `trunk/name`, and any key an entry leaves out is taken from the trunk.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

use super::{TrafficModeName, Transport, TrunkConfig};
use crate::sigtran::m3ua::RoutingKeyRequest;

/// One `[[trunk.association]]` entry; absent keys fall back to the trunk's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssociationConfig {
    /// Name within the trunk (the link id is `trunk/name`); default: the entry's position, from 1.
    pub name: Option<String>,
    /// SCTP flavour.
    pub transport: Option<Transport>,
    /// M3UA peer address.
    pub remote: Option<SocketAddr>,
    /// Local SCTP address to bind.
    pub local: Option<SocketAddr>,
    /// Further local addresses (kernel SCTP multi-homing).
    pub extra_local: Option<Vec<IpAddr>>,
    /// Further addresses of the peer (kernel SCTP multi-homing).
    pub extra_remote: Option<Vec<IpAddr>>,
    /// Static routing context of this ASP's AS.
    pub routing_context: Option<u32>,
    /// Register a routing key on this association.
    pub register_routing_key: Option<bool>,
    /// Traffic mode requested in ASPAC.
    pub traffic_mode: Option<TrafficModeName>,
    /// Route priority: traffic uses the available associations of the lowest value; equal values share the
    /// traffic by SLS (a combined linkset).
    pub priority: u8,
}

/// One association of a trunk with every key resolved: what the runtime connects and the core's ASP serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// Link id: the trunk's name for the single-association shorthand, else `trunk/name`. Inputs, outputs,
    /// ASP transitions and log lines name the link by it.
    pub id: String,
    /// SCTP flavour.
    pub transport: Transport,
    /// M3UA peer.
    pub remote: SocketAddr,
    /// Local address to bind.
    pub local: Option<SocketAddr>,
    /// Further local addresses.
    pub extra_local: Vec<IpAddr>,
    /// Further peer addresses.
    pub extra_remote: Vec<IpAddr>,
    /// Static routing context.
    pub routing_context: Option<u32>,
    /// Register a routing key before ASPAC.
    pub register_routing_key: bool,
    /// Traffic mode in ASPAC and the routing key.
    pub traffic_mode: TrafficModeName,
    /// Route priority (lower is preferred).
    pub priority: u8,
}

impl TrunkConfig {
    /// The trunk's associations, resolved: one made of the trunk's keys when it has no
    /// `[[trunk.association]]`, else one per entry.
    pub fn links(&self) -> Vec<LinkConfig> {
        if self.association.is_empty() {
            return vec![LinkConfig {
                id: self.name.clone(),
                transport: self.transport,
                remote: self.remote,
                local: self.local,
                extra_local: self.extra_local.clone(),
                extra_remote: self.extra_remote.clone(),
                routing_context: self.routing_context,
                register_routing_key: self.register_routing_key,
                traffic_mode: self.traffic_mode,
                priority: 0,
            }];
        }
        self.association
            .iter()
            .enumerate()
            .map(|(index, entry)| LinkConfig {
                id: format!("{}/{}", self.name, association_name(index, entry)),
                transport: entry.transport.unwrap_or(self.transport),
                remote: entry.remote.unwrap_or(self.remote),
                local: entry.local.or(self.local),
                extra_local: entry
                    .extra_local
                    .clone()
                    .unwrap_or_else(|| self.extra_local.clone()),
                extra_remote: entry
                    .extra_remote
                    .clone()
                    .unwrap_or_else(|| self.extra_remote.clone()),
                routing_context: entry.routing_context.or(self.routing_context),
                register_routing_key: entry
                    .register_routing_key
                    .unwrap_or(self.register_routing_key),
                traffic_mode: entry.traffic_mode.unwrap_or(self.traffic_mode),
                priority: entry.priority,
            })
            .collect()
    }

    /// The SCTP transport settings of one of this trunk's links (streams, UDP ports and `[trunk.sctp]` are the
    /// trunk's).
    pub fn link_sctp_config(&self, link: &LinkConfig) -> crate::sigtran::sctp::SctpConfig {
        let mut config = self.sctp_config();
        config.kind = link.transport.kind();
        config.extra_local.clone_from(&link.extra_local);
        config.extra_remote.clone_from(&link.extra_remote);
        config
    }

    /// The routing key a link registers, when it registers one (see [`TrunkConfig::routing_key_request`]).
    pub fn link_routing_key_request(&self, link: &LinkConfig) -> Option<RoutingKeyRequest> {
        link.register_routing_key.then_some(RoutingKeyRequest {
            local_rk_id: 1,
            dpc: self.opc,
            si: self.routing_key_si_opc.then_some(self.si),
            opc: self.routing_key_si_opc.then_some(self.dpc),
        })
    }
}

/// An entry's name: its `name`, or its position counted from 1.
pub(crate) fn association_name(index: usize, entry: &AssociationConfig) -> String {
    entry
        .name
        .clone()
        .unwrap_or_else(|| (index + 1).to_string())
}

impl Transport {
    /// The SCTP layer's value.
    pub fn kind(self) -> crate::sigtran::sctp::TransportKind {
        match self {
            Transport::Auto => crate::sigtran::sctp::TransportKind::Auto,
            Transport::Kernel => crate::sigtran::sctp::TransportKind::Kernel,
            Transport::Udp => crate::sigtran::sctp::TransportKind::Udp,
        }
    }
}
