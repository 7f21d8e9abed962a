//! The `[[trunk]]` section: one ISUP trunk group toward a destination point code, its M3UA/SCTP link
//! settings (transport, addresses, routing context, IPSP mode, associations), ISUP variant and timers, number
//! formats, congestion throttle and per-trunk mapping overrides.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::Deserialize;

use super::{AssociationConfig, ConfigError};
use crate::interwork::tables::{MappingTables, TableOverrides};
use crate::isup::IsupTimers;
use crate::sigtran::m3ua::RoutingKeyRequest;

/// How M3UA's SCTP association is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Kernel SCTP when available, otherwise SCTP over UDP.
    Auto,
    /// Linux kernel SCTP.
    Kernel,
    /// SCTP over UDP encapsulation (RFC 6951).
    Udp,
}

/// ISUP variant spoken on the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// ITU-T Q.761–Q.764.
    Itu,
    /// ETSI EN 300 356 (European national ISUP).
    Etsi,
}

impl From<Variant> for crate::isup::Variant {
    fn from(variant: Variant) -> Self {
        match variant {
            Variant::Itu => crate::isup::Variant::Itu,
            Variant::Etsi => crate::isup::Variant::Etsi,
        }
    }
}

/// M3UA Traffic Mode Type of the AS (RFC 4666 §3.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficModeName {
    /// One ASP of the AS carries the traffic; another one taking over displaces it.
    Override,
    /// Traffic shared among the active ASPs (by SLS at the SG).
    Loadshare,
    /// Every active ASP receives all traffic.
    Broadcast,
}

impl TrafficModeName {
    /// The machine's value.
    pub fn traffic_mode(self) -> crate::sigtran::m3ua::TrafficMode {
        use crate::sigtran::m3ua::TrafficMode;
        match self {
            TrafficModeName::Override => TrafficMode::Override,
            TrafficModeName::Loadshare => TrafficMode::Loadshare,
            TrafficModeName::Broadcast => TrafficMode::Broadcast,
        }
    }
}

/// How the trunk's M3UA end takes part in the association (RFC 4666 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum LinkMode {
    /// ASP toward an SG/STP (or an exchange acting as one): tandem requests, the peer acknowledges.
    #[serde(rename = "asp")]
    Asp,
    /// IPSP single exchange (RFC 4666 §4.3.2): point-to-point with an exchange; tandem requests,
    /// the peer IPSP only acknowledges.
    #[serde(rename = "ipsp-se")]
    IpspSingle,
    /// IPSP double exchange: both IPSPs request and both acknowledge.
    #[serde(rename = "ipsp-de")]
    IpspDouble,
}

impl LinkMode {
    /// The machine's IPSP setting.
    pub fn ipsp(self) -> Option<crate::sigtran::m3ua::IpspExchange> {
        use crate::sigtran::m3ua::IpspExchange;
        match self {
            LinkMode::Asp => None,
            LinkMode::IpspSingle => Some(IpspExchange::Single),
            LinkMode::IpspDouble => Some(IpspExchange::Double),
        }
    }
}

/// How a called number without '+' is sent on the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberFormat {
    /// As a national (significant) number.
    National,
    /// As an international number (country code prepended).
    International,
}

/// How an IAM for a ported number (a route with `ported: true`, its `called` the routing number) carries the
/// routing number and the dialled number (Q.769.1 number portability, ETSI practice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortedNumberFormat {
    /// The called party number is the routing number alone.
    RnOnly,
    /// The called party number is the routing number followed by the dialled number (concatenated
    /// addressing), both as national significant numbers when they are of the trunk's country.
    RnPrefix,
    /// Separate directory number addressing: the called party number is the routing number, the dialled
    /// number goes in the called directory number (Q.763 §3.86), and number portability forward information
    /// (§3.101) says "query done, ported called subscriber".
    Cdn,
}

/// `[trunk.timers]`: Q.764 timers in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrunkTimers {
    /// T1: waiting for RLC after REL.
    pub t1_ms: u64,
    /// T5: waiting for RLC after the first REL (then reset).
    pub t5_ms: u64,
    /// T7: waiting for ACM/CON after IAM.
    pub t7_ms: u64,
    /// T9: waiting for ANM after ACM.
    pub t9_ms: u64,
    /// T16: waiting for RLC after RSC.
    pub t16_ms: u64,
    /// T17: waiting for RLC after the first RSC (repeat interval).
    pub t17_ms: u64,
}

impl TrunkTimers {
    /// The durations in the form ISUP call control takes.
    pub fn isup_timers(&self) -> IsupTimers {
        IsupTimers {
            t1_ms: self.t1_ms,
            t5_ms: self.t5_ms,
            t7_ms: self.t7_ms,
            t9_ms: self.t9_ms,
            t16_ms: self.t16_ms,
            t17_ms: self.t17_ms,
        }
    }
}

/// `[trunk.congestion]`: how new calls are throttled toward a destination SCON reports congested.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CongestionConfig {
    /// Percent of new calls admitted at congestion levels 1, 2 and 3 (0..=100 each).
    pub accept_percent: [u8; 3],
    /// Without a fresh SCON for this long the level drops by one (Q.704 T30-like abatement).
    pub abatement_ms: u64,
}

impl Default for CongestionConfig {
    fn default() -> Self {
        Self {
            accept_percent: [50, 25, 0],
            abatement_ms: 5_000,
        }
    }
}

/// One `[[trunk]]`: a trunk group toward one adjacent exchange over M3UA.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrunkConfig {
    /// Name used by dialplans (`#{ action: "trunk", trunk: "pstn" }`).
    pub name: String,
    /// SCTP flavour.
    pub transport: Transport,
    /// M3UA peer address.
    pub remote: SocketAddr,
    /// Local SCTP address to bind, if any.
    pub local: Option<SocketAddr>,
    /// Further local addresses to bind (kernel SCTP multi-homing; needs `local`).
    pub extra_local: Vec<std::net::IpAddr>,
    /// Further addresses of the peer (kernel SCTP multi-homing; same port as `remote`).
    pub extra_remote: Vec<std::net::IpAddr>,
    /// SCTP streams requested in each direction: stream 0 carries M3UA management, DATA goes on
    /// stream 1 + SLS mod (streams - 1) (RFC 4666 §1.4.7); at least 2.
    pub streams: u16,
    /// `[trunk.sctp]`: SCTP association parameters (kernel SCTP).
    pub sctp: crate::sigtran::sctp::AssociationParams,
    /// Local UDP port for SCTP over UDP.
    pub udp_local_port: u16,
    /// Remote UDP port for SCTP over UDP.
    pub udp_remote_port: u16,
    /// Own signalling point code (ITU 14-bit).
    #[serde(deserialize_with = "super::load::point_code")]
    pub opc: u32,
    /// Adjacent signalling point code (ITU 14-bit).
    #[serde(deserialize_with = "super::load::point_code")]
    pub dpc: u32,
    /// MTP3 network indicator (0..=3).
    pub ni: u8,
    /// MTP3 service indicator (5 = ISUP).
    pub si: u8,
    /// M3UA routing context, if the peer uses one.
    pub routing_context: Option<u32>,
    /// M3UA network appearance, if the peer uses one.
    pub network_appearance: Option<u32>,
    /// Register a routing key (RFC 4666 §3.6.2) before activating.
    pub register_routing_key: bool,
    /// Restrict the registered routing key to SI and OPC as well as our point code. osmo-stp
    /// refuses such keys (Registration Status 9, unsupported routing key parameter field), so by
    /// default the key is the DPC alone.
    pub routing_key_si_opc: bool,
    /// M3UA traffic mode requested in ASPAC and the routing key (RFC 4666 §3.8.1).
    pub traffic_mode: TrafficModeName,
    /// ASP toward an SG, or IPSP (single or double exchange) toward an exchange.
    pub mode: LinkMode,
    /// `[trunk.congestion]`: throttling of new calls while SCON reports the destination congested.
    pub congestion: CongestionConfig,
    /// Send M3UA BEAT this often while the ASP is up (RFC 4666 §4.3.4.6); an unanswered BEAT
    /// before the next one is reported. Absent: no BEAT (SCTP heartbeats still run).
    pub beat_interval_ms: Option<u64>,
    /// After this many unacknowledged BEATs in a row the ASP starts over with ASPUP (0: only log).
    pub beat_loss_threshold: u32,
    /// First CIC of the group.
    pub cic_first: u16,
    /// Last CIC of the group (inclusive).
    pub cic_last: u16,
    /// ISUP variant.
    pub variant: Variant,
    /// Mapping profile name (see [`crate::interwork::tables::EMBEDDED_PROFILES`]).
    pub profile: String,
    /// Format of called numbers sent without '+'.
    pub number_format: NumberFormat,
    /// Whether IAMs for ported numbers (a route with `ported: true`) carry the ported number translation
    /// indicator (Q.763 §3.23 bit M); networks that route on a routing-number prefix may not want it.
    pub ported_number_indicator: bool,
    /// How IAMs for ported numbers carry the routing number and the dialled number.
    pub ported_number_format: PortedNumberFormat,
    /// National (trunk) prefix, e.g. "0".
    pub national_prefix: String,
    /// Country code, e.g. "49".
    pub country_code: String,
    /// Q.764 timers.
    pub timers: TrunkTimers,
    /// Per-trunk mapping table rows.
    pub overrides: TableOverrides,
    /// `[[trunk.association]]`: several associations (ASPs) toward the destination, with route priorities;
    /// empty: one association made of the keys above (see [`TrunkConfig::links`]).
    pub association: Vec<AssociationConfig>,
}

impl Default for TrunkTimers {
    fn default() -> Self {
        TrunkTimers {
            t1_ms: 15_000,
            t5_ms: 300_000,
            t7_ms: 25_000,
            t9_ms: 90_000,
            t16_ms: 30_000,
            t17_ms: 300_000,
        }
    }
}

impl Default for TrunkConfig {
    fn default() -> Self {
        TrunkConfig {
            name: "pstn".to_string(),
            transport: Transport::Auto,
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2905),
            local: None,
            extra_local: Vec::new(),
            extra_remote: Vec::new(),
            sctp: crate::sigtran::sctp::AssociationParams::default(),
            // 16, the ASP's stream mapping before the key existed: older logs replay unchanged.
            streams: 16,
            udp_local_port: 9900,
            udp_remote_port: 9899,
            opc: 1,
            dpc: 2,
            ni: 2,
            si: 5,
            routing_context: None,
            network_appearance: None,
            register_routing_key: false,
            routing_key_si_opc: false,
            traffic_mode: TrafficModeName::Loadshare,
            mode: LinkMode::Asp,
            congestion: CongestionConfig::default(),
            beat_interval_ms: None,
            beat_loss_threshold: 3,
            cic_first: 1,
            cic_last: 31,
            variant: Variant::Itu,
            profile: "rfc3398".to_string(),
            number_format: NumberFormat::National,
            ported_number_indicator: true,
            ported_number_format: PortedNumberFormat::RnOnly,
            national_prefix: "0".to_string(),
            country_code: "49".to_string(),
            timers: TrunkTimers::default(),
            overrides: TableOverrides::default(),
            association: Vec::new(),
        }
    }
}

impl TrunkConfig {
    /// The SCTP transport settings of this trunk.
    pub fn sctp_config(&self) -> crate::sigtran::sctp::SctpConfig {
        crate::sigtran::sctp::SctpConfig {
            kind: self.transport.kind(),
            udp_local_port: self.udp_local_port,
            udp_remote_port: self.udp_remote_port,
            params: self.sctp,
            streams: self.streams,
            extra_local: self.extra_local.clone(),
            extra_remote: self.extra_remote.clone(),
        }
    }

    /// The transport as written in the configuration (`auto`, `kernel`, `udp`), resolved: `auto` becomes what
    /// this host offers.
    pub fn resolved_transport_name(&self) -> &'static str {
        match crate::sigtran::sctp::resolve_kind(self.sctp_config().kind) {
            crate::sigtran::sctp::TransportKind::Kernel => "kernel",
            _ => "udp",
        }
    }

    /// The number conversion settings of this trunk, for [`crate::interwork::numbers`].
    pub fn number_format(&self) -> crate::interwork::numbers::NumberFormat {
        crate::interwork::numbers::NumberFormat {
            country_code: self.country_code.clone(),
            national_prefix: self.national_prefix.clone(),
            plain_numbers_international: self.number_format == NumberFormat::International,
        }
    }

    /// The routing key to register (RFC 4666 §3.6.1) when `register_routing_key` is set: traffic
    /// for our point code (with `routing_key_si_opc`: only ISUP from the adjacent exchange).
    pub fn routing_key_request(&self) -> Option<RoutingKeyRequest> {
        self.register_routing_key.then_some(RoutingKeyRequest {
            local_rk_id: 1,
            dpc: self.opc,
            si: self.routing_key_si_opc.then_some(self.si),
            opc: self.routing_key_si_opc.then_some(self.dpc),
        })
    }

    /// The trunk's mapping profile with its overrides applied.
    pub fn mapping_tables(&self) -> Result<MappingTables, ConfigError> {
        let origin = format!("trunk \"{}\"", self.name);
        let with_origin = |err: crate::interwork::tables::TableError| ConfigError {
            file: err.file.clone(),
            line: err.line,
            key: err.key.clone(),
            message: format!("{origin}: {}", err.message),
        };
        MappingTables::embedded(&self.profile)
            .map_err(with_origin)?
            .with_overrides(&self.overrides)
            .map_err(with_origin)
    }
}
