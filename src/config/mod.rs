//! tandem's configuration: TOML read with serde, defaults embedded, validated before use.
//!
//! Owns the `[sip]`, `[media]`, `[event_log]`, `[dialplan]` and `[[trunk]]` sections. The
//! built-in defaults are `src/config/default.toml` (embedded), so tandem starts with no file; a
//! file only lists what it changes. Unknown keys are rejected, and every error names the file,
//! the line where it can be found, the key and what is wrong ([`ConfigError`]).

mod association;
mod load;
mod sip_users;
mod transport;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::interwork::tables::{MappingTables, TableOverrides};
use crate::isup::IsupTimers;
use crate::routing::{Dialplan, DialplanLimits, DEFAULT_DIALPLAN, DEFAULT_DIALPLAN_NAME};
use crate::sigtran::m3ua::RoutingKeyRequest;

pub use association::{AssociationConfig, LinkConfig};
pub use load::ConfigError;
pub use sip_users::{SipPeer, SipUser};
pub use transport::{CertificateFiles, HttpConfig, SipTlsConfig};

/// The built-in defaults, as shipped in `src/config/default.toml`.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default.toml");

/// Name under which the embedded defaults appear in error messages.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded default.toml>";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Seed for the deterministic core; `None` lets the runtime pick (and log) one.
    pub seed: Option<u64>,
    /// SIP side.
    pub sip: SipConfig,
    /// Outgoing INVITE legs (SIP targets of ISUP and SIP calls): extensions offered, headers relayed.
    pub sip_outgoing: SipOutgoingConfig,
    /// Media (RTP) side.
    pub media: MediaConfig,
    /// Event log store.
    pub event_log: EventLogConfig,
    /// Routing script.
    pub dialplan: DialplanConfig,
    /// ENUM lookups.
    #[serde(rename = "enum")]
    pub enum_lookup: EnumConfig,
    /// The HTTP listener for SIP over WebSocket (`[http]`).
    pub http: HttpConfig,
    /// Trunk groups toward ISUP (`[[trunk]]`); at least one.
    #[serde(rename = "trunk")]
    pub trunks: Vec<TrunkConfig>,
}

/// `[sip]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Address listened on for UDP and TCP.
    pub listen: SocketAddr,
    /// User-Agent / Server header value.
    pub user_agent: String,
    /// RFC 3261 T1 in milliseconds.
    pub t1_ms: u64,
    /// Most header fields accepted in one received message.
    pub max_headers: usize,
    /// Largest single header field accepted, in bytes.
    pub max_header_bytes: usize,
    /// Largest message body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests per second accepted from one source IP; 0 means no limit.
    pub rate_limit_per_source: u32,
    /// RFC 4028 Min-SE in seconds: session intervals below it are refused with 422.
    pub min_session_expires: u32,
    /// A TCP, TLS or WebSocket connection idle this long (nothing received) is closed; 0: never.
    pub idle_timeout_ms: u64,
    /// Largest SIP message accepted on a stream or in one WebSocket message, in bytes; a peer sending more is
    /// cut off.
    pub max_message_bytes: usize,
    /// Receive buffer asked for the SIP UDP socket (`SO_RCVBUF`), in bytes; the kernel caps it at
    /// `net.core.rmem_max`. A large one absorbs bursts while the core loop is busy instead of dropping datagrams
    /// (which the peers would retransmit, adding load). 0: the system default.
    pub udp_receive_buffer_bytes: usize,
    /// SIP over TLS (`[sip.tls]`).
    pub tls: SipTlsConfig,
    /// Digest realm of 401/407 challenges.
    pub realm: String,
    /// Sources (CIDR, optionally with `:port`) whose INVITEs are not challenged.
    pub trusted_peers: Vec<String>,
    /// Nonce lifetime in milliseconds; older nonces get `stale=true`.
    pub nonce_lifetime_ms: u64,
    /// Digest algorithms offered in challenges, preferred first: "SHA-256", "MD5".
    pub digest_algorithms: Vec<String>,
    /// Registrar: shortest non-zero expiry accepted (s); shorter gets 423.
    pub min_expires: u32,
    /// Registrar: longest expiry granted (s).
    pub max_expires: u32,
    /// Registrar: expiry when the REGISTER gives none (s).
    pub default_expires: u32,
    /// Registrar: most contacts per address-of-record.
    pub max_contacts: usize,
    /// `[[sip.user]]`: users of the registrar and of digest authentication.
    pub user: Vec<SipUser>,
    /// `[[sip.peer]]`: peers pinged with OPTIONS.
    pub peer: Vec<SipPeer>,
    /// DNS servers for RFC 3263 target resolution; empty: the system resolver (`/etc/resolv.conf`).
    pub dns_servers: Vec<SocketAddr>,
    /// Time allowed for one RFC 3263 lookup, in milliseconds; a timeout is a failed answer.
    pub dns_timeout_ms: u64,
}

/// `[sip_outgoing]`: what tandem offers on the INVITEs it sends (RFC 3262, RFC 4028) and which headers of an
/// incoming INVITE a SIP→SIP call carries over (everything else stays on its leg: topology hiding).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipOutgoingConfig {
    /// Offer `Supported: 100rel` and PRACK reliable provisionals (RFC 3262 §4).
    pub prack: bool,
    /// RFC 4028 Session-Expires offered, in seconds; 0 offers no session timer.
    pub session_expires: u32,
    /// RFC 4028 Min-SE sent with the offer, in seconds.
    pub min_se: u32,
    /// Header names of an incoming INVITE copied onto the outgoing one in SIP→SIP calls (case-insensitive).
    pub relay_headers: Vec<String>,
}

impl Default for SipOutgoingConfig {
    fn default() -> Self {
        SipOutgoingConfig {
            prack: true,
            session_expires: 1800,
            min_se: 90,
            relay_headers: Vec::new(),
        }
    }
}

/// `[media]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Address RTP is sent from and advertised in SDP.
    pub rtp_address: IpAddr,
    /// RTP port (fixed for now).
    pub rtp_port: u16,
}

/// `[event_log]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventLogConfig {
    /// SQLite file.
    pub path: PathBuf,
    /// Events per write transaction.
    pub batch_size: usize,
    /// Longest wait before a partial batch is written.
    pub flush_interval_ms: u64,
}

/// `[dialplan]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialplanConfig {
    /// Script file (relative to the config file); `None` uses the embedded `dialplans/default.rhai`.
    pub path: Option<PathBuf>,
    /// Rhai operations allowed per routing decision: the deterministic per-call time budget.
    pub max_operations: u64,
    /// Deepest nesting of function calls (recursion) a script may reach.
    pub max_call_levels: usize,
    /// Longest string a script may build, in bytes.
    pub max_string_size: usize,
    /// Largest array (and map) a script may build.
    pub max_array_size: usize,
    /// Lookup tables (CSV or TOML, relative to the config file), each named after its file stem.
    pub tables: Vec<PathBuf>,
    /// Q.850 cause a call is released with when the script fails (error, limit, bad decision).
    pub failure_cause: u8,
    /// Causes (from a REL before ACM) after which the next route of the decision is tried.
    pub retry_causes: Vec<u8>,
    /// SIP final statuses after which the next route of the decision is tried.
    pub retry_statuses: Vec<u16>,
    /// Offset of local time from UTC in minutes, for `view.hour`, `view.time`, `view.weekday`.
    pub utc_offset_minutes: i32,
    /// Reload the script and tables when their files change (checked every second).
    pub watch: bool,
}

/// `[enum]`: ENUM (RFC 6116) lookups for `enum_lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnumConfig {
    /// Domain suffixes tried in order (e164.arpa, private trees); the first that does not answer NXDOMAIN wins.
    pub suffixes: Vec<String>,
    /// Zone files of the embedded backend (relative to the config file); used when `servers` is empty.
    pub zones: Vec<PathBuf>,
    /// DNS servers (`ip:port`) to query instead of the zone files.
    pub servers: Vec<SocketAddr>,
    /// Time a DNS query may take before the lookup counts as failed.
    pub timeout_ms: u64,
    /// Longest time any answer is cached, whatever its TTL.
    pub max_ttl_s: u64,
    /// How long a failed lookup (timeout, SERVFAIL) is remembered (0: not at all).
    pub failure_ttl_s: u64,
    /// Most cached domains.
    pub cache_size: usize,
}

impl Default for EnumConfig {
    fn default() -> Self {
        EnumConfig {
            suffixes: vec!["e164.arpa".to_string()],
            zones: Vec::new(),
            servers: Vec::new(),
            timeout_ms: 2000,
            max_ttl_s: 86_400,
            failure_ttl_s: 0,
            cache_size: 100_000,
        }
    }
}

impl DialplanConfig {
    /// Sandbox limits for the script.
    pub fn limits(&self) -> DialplanLimits {
        DialplanLimits {
            max_operations: self.max_operations,
            max_call_levels: self.max_call_levels,
            max_string_size: self.max_string_size,
            max_array_size: self.max_array_size,
            max_map_size: self
                .max_array_size
                .min(DialplanLimits::default().max_map_size),
        }
    }
}

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
    #[serde(deserialize_with = "load::point_code")]
    pub opc: u32,
    /// Adjacent signalling point code (ITU 14-bit).
    #[serde(deserialize_with = "load::point_code")]
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

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060),
            user_agent: "tandem".to_string(),
            t1_ms: 500,
            max_headers: 256,
            max_header_bytes: 8 * 1024,
            max_body_bytes: 64 * 1024,
            rate_limit_per_source: 0,
            min_session_expires: 90,
            idle_timeout_ms: 900_000,
            max_message_bytes: 256 * 1024,
            udp_receive_buffer_bytes: 4 * 1024 * 1024,
            tls: SipTlsConfig::default(),
            realm: "tandem".to_string(),
            trusted_peers: vec!["127.0.0.0/8".to_string(), "::1/128".to_string()],
            nonce_lifetime_ms: 300_000,
            digest_algorithms: vec!["SHA-256".to_string(), "MD5".to_string()],
            min_expires: 60,
            max_expires: 7200,
            default_expires: 3600,
            max_contacts: 10,
            user: Vec::new(),
            peer: Vec::new(),
            dns_servers: Vec::new(),
            dns_timeout_ms: 2_000,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            rtp_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtp_port: 40000,
        }
    }
}

impl Default for EventLogConfig {
    fn default() -> Self {
        EventLogConfig {
            path: PathBuf::from("tandem-events.sqlite"),
            batch_size: 256,
            flush_interval_ms: 20,
        }
    }
}

impl Default for DialplanConfig {
    fn default() -> Self {
        DialplanConfig {
            path: None,
            max_operations: 100_000,
            max_call_levels: 32,
            max_string_size: 4096,
            max_array_size: 1024,
            tables: Vec::new(),
            failure_cause: 41,
            retry_causes: vec![34, 38, 41, 42, 44, 47],
            retry_statuses: vec![408, 480, 500, 502, 503, 504],
            utc_offset_minutes: 0,
            watch: true,
        }
    }
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

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: None,
            sip: SipConfig::default(),
            sip_outgoing: SipOutgoingConfig::default(),
            media: MediaConfig::default(),
            event_log: EventLogConfig::default(),
            dialplan: DialplanConfig::default(),
            enum_lookup: EnumConfig::default(),
            http: HttpConfig::default(),
            trunks: vec![TrunkConfig::default()],
        }
    }
}

impl Config {
    /// Loads `path`, or the embedded defaults when `None`, and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Ok(Config::default_embedded()),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
                    file: path.display().to_string(),
                    line: None,
                    key: String::new(),
                    message: format!("cannot read: {err}"),
                })?;
                let file = path.display().to_string();
                let mut config = Config::from_toml(&file, &text)?;
                // A relative dialplan path is relative to the config file, not to the
                // directory tandem happens to be started from.
                if let Some(dialplan) = &config.dialplan.path {
                    let base = path.parent().unwrap_or(Path::new(""));
                    let resolved = base.join(dialplan);
                    if !resolved.is_file() {
                        return Err(ConfigError {
                            line: load::table_key_line(&text, "dialplan", "path"),
                            file,
                            key: "dialplan.path".to_string(),
                            message: format!("no dialplan file at {}", resolved.display()),
                        });
                    }
                    config.dialplan.path = Some(resolved);
                }
                let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
                for table in &mut config.dialplan.tables {
                    *table = base.join(&*table);
                }
                for zone in &mut config.enum_lookup.zones {
                    *zone = base.join(&*zone);
                }
                config.resolve_transport_paths(&base);
                Ok(config)
            }
        }
    }

    /// Parses and validates config text; `name` (the file) appears in every error.
    pub fn from_toml(name: &str, text: &str) -> Result<Config, ConfigError> {
        load::parse(name, text)
    }

    /// Same as [`Config::from_toml`] (the name the gateway's setup record uses).
    pub fn from_toml_str(name: &str, text: &str) -> Result<Config, ConfigError> {
        load::parse(name, text)
    }

    /// The embedded defaults (`src/config/default.toml`).
    pub fn default_embedded() -> Config {
        // The embedded file is checked by a test to parse to `Config::default()`, so the
        // fallback only guards against a broken build, never against user input.
        Config::from_toml(DEFAULT_CONFIG_NAME, DEFAULT_CONFIG_TOML).unwrap_or_default()
    }

    /// Applies command-line overrides (`--sip-listen`, `--event-log`).
    pub fn apply_overrides(&mut self, sip_listen: Option<SocketAddr>, event_log: Option<PathBuf>) {
        if let Some(listen) = sip_listen {
            self.sip.listen = listen;
        }
        if let Some(path) = event_log {
            self.event_log.path = path;
        }
    }

    /// The trunk group called `name`.
    pub fn trunk(&self, name: &str) -> Option<&TrunkConfig> {
        self.trunks.iter().find(|t| t.name == name)
    }

    /// The dialplan's name (for messages) and source: the configured file or the embedded one.
    pub fn dialplan_source(&self) -> Result<(String, String), ConfigError> {
        match &self.dialplan.path {
            None => Ok((
                DEFAULT_DIALPLAN_NAME.to_string(),
                DEFAULT_DIALPLAN.to_string(),
            )),
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
                    file: name.clone(),
                    line: None,
                    key: "dialplan.path".to_string(),
                    message: format!("cannot read dialplan: {err}"),
                })?;
                Ok((name, text))
            }
        }
    }

    /// The dialplan's tables as `(file name, text)`.
    pub fn dialplan_tables(&self) -> Result<Vec<(String, String)>, ConfigError> {
        self.dialplan
            .tables
            .iter()
            .map(|path| {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
                    file: name.clone(),
                    line: None,
                    key: "dialplan.tables".to_string(),
                    message: format!("cannot read table: {err}"),
                })?;
                Ok((name, text))
            })
            .collect()
    }

    /// Reads and compiles the configured dialplan with its tables.
    pub fn compile_dialplan(&self) -> Result<Dialplan, ConfigError> {
        let (name, source) = self.dialplan_source()?;
        let tables = self.dialplan_tables()?;
        Dialplan::compile_with_tables(&name, &source, &tables, self.dialplan.limits()).map_err(
            |err| ConfigError {
                file: name,
                line: None,
                key: "dialplan.path".to_string(),
                message: err.to_string(),
            },
        )
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

#[cfg(test)]
mod tests;
