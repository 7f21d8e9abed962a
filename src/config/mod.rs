//! tandem's configuration: TOML read with serde, defaults embedded, validated before use.
//!
//! Owns the `[sip]`, `[media]`, `[event_log]`, `[dialplan]` and `[enum]` sections (`[[trunk]]` is `trunk.rs`). The
//! built-in defaults are `src/config/default.toml` (embedded), so tandem starts with no file; a
//! file only lists what it changes. Unknown keys are rejected, and every error names the file,
//! the line where it can be found, the key and what is wrong ([`ConfigError`]).

mod association;
mod load;
mod sip_users;
mod transport;
mod trunk;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::routing::{Dialplan, DialplanLimits, DEFAULT_DIALPLAN, DEFAULT_DIALPLAN_NAME};

pub use association::{AssociationConfig, LinkConfig};
pub use load::ConfigError;
pub use sip_users::{SipPeer, SipUser};
pub use transport::{CertificateFiles, HttpConfig, SipTlsConfig};
pub use trunk::{
    CongestionConfig, LinkMode, NumberFormat, PortedNumberFormat, TrafficModeName, Transport,
    TrunkConfig, TrunkTimers, Variant,
};

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
    /// RFC 5626 §5.4 `Flow-Timer` (s) in the 200 to an outbound REGISTER: how often the client sends keep-alives.
    pub flow_timer: u32,
    /// `[[sip.user]]`: users of the registrar and of digest authentication.
    pub user: Vec<SipUser>,
    /// An SQLite file with more users (table `users`, the columns of `[[sip.user]]`; relative to the config
    /// file), read at start and on SIGHUP; `[[sip.user]]` entries win over rows of the same name.
    pub users_db: Option<std::path::PathBuf>,
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
    /// Nice value of the writer thread (Linux, 0–19; 0 leaves it at the process's priority). Call handling
    /// goes first when the two share a CPU; the writer catches up in the gaps.
    pub writer_nice: i32,
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
            flow_timer: 120,
            user: Vec::new(),
            users_db: None,
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
            writer_nice: 10,
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
                if let Some(users_db) = &mut config.sip.users_db {
                    *users_db = base.join(&*users_db);
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

#[cfg(test)]
mod tests;
