//! Parsing and validation of the configuration file, with errors that say where.
//!
//! Structural errors (syntax, unknown key, wrong type) carry the TOML parser's span; semantic
//! checks (ranges, overlapping CIC ranges, unknown profiles) find their line by looking for the
//! key inside the section or the n-th `[[trunk]]` it belongs to.

use serde::{Deserialize, Deserializer};

use super::Config;
use crate::interwork::tables::{MappingTables, EMBEDDED_PROFILES};

/// A configuration that cannot be used: file, line (when known), key and what is wrong.
pub type ConfigError = crate::source_error::SourceError;

/// ITU-T Q.704 signalling point codes are 14 bits.
const MAX_POINT_CODE: u32 = 0x3fff;

#[derive(Deserialize)]
#[serde(untagged)]
enum PointCodeForm {
    Integer(i64),
    Text(String),
}

/// Reads a point code written as an integer or as "zone.area.signalling-point" (3-8-3 bits).
pub(super) fn point_code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    use serde::de::Error;
    let value = match PointCodeForm::deserialize(deserializer)? {
        PointCodeForm::Integer(i) => {
            u32::try_from(i).map_err(|_| Error::custom(format!("point code {i} is negative")))?
        }
        PointCodeForm::Text(text) => parse_3_8_3(&text).ok_or_else(|| {
            Error::custom(format!(
                "point code {text:?} is not an integer or \"z.aaa.s\" (3-8-3: 0..=7, 0..=255, 0..=7)"
            ))
        })?,
    };
    if value > MAX_POINT_CODE {
        return Err(Error::custom(format!(
            "point code {value} does not fit in 14 bits (0..={MAX_POINT_CODE})"
        )));
    }
    Ok(value)
}

fn parse_3_8_3(text: &str) -> Option<u32> {
    let mut parts = text.trim().split('.');
    let zone: u32 = parts.next()?.parse().ok()?;
    let area: u32 = parts.next()?.parse().ok()?;
    let point: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || zone > 7 || area > 255 || point > 7 {
        return None;
    }
    Some(zone << 11 | area << 3 | point)
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Where a semantic error points to.
enum Section<'a> {
    /// `[name]` (or `[a.b]`).
    Table(&'a str),
    /// The n-th (0-based) `[[trunk]]`.
    Trunk(usize),
}

/// Finds the line of `key` (last segment) inside `section`, or of the section header itself.
fn locate(text: &str, section: Section<'_>, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let header_index = match section {
        Section::Table(name) => {
            let header = format!("[{name}]");
            lines
                .iter()
                .position(|l| l.trim_start().starts_with(&header))?
        }
        Section::Trunk(n) => lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[trunk]]"))
            .nth(n)
            .map(|(i, _)| i)?,
    };
    let found = lines
        .iter()
        .enumerate()
        .skip(header_index + 1)
        .take_while(|(_, l)| !l.trim_start().starts_with("[["))
        .find(|(_, l)| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(i, _)| i);
    Some(found.unwrap_or(header_index) + 1)
}

/// Line of `key` in `[table]` (or of the header when the key is absent).
pub(super) fn table_key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    locate(text, Section::Table(table), key)
}

struct Validator<'a> {
    file: &'a str,
    text: &'a str,
}

impl Validator<'_> {
    fn error(&self, section: Section<'_>, key: &str, message: String) -> ConfigError {
        let full_key = match section {
            Section::Table(name) => format!("{name}.{key}"),
            Section::Trunk(n) => format!("trunk[{n}].{key}"),
        };
        ConfigError {
            file: self.file.to_string(),
            line: locate(self.text, section, key),
            key: full_key,
            message,
        }
    }
}

pub(super) fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|err| ConfigError {
        file: file.to_string(),
        line: err.span().map(|s| line_of(text, s.start)),
        key: String::new(),
        message: err.message().trim_end().to_string(),
    })?;
    validate(&Validator { file, text }, &config)?;
    Ok(config)
}

/// Trusted sources, users and peers of `[sip]` (registrar, digest authentication, keep-alive).
fn validate_sip_users(v: &Validator<'_>, sip: &super::SipConfig) -> Result<(), ConfigError> {
    use Section::Table;
    if let Some(bad) = sip
        .trusted_peers
        .iter()
        .find(|t| crate::sip::peers::TrustedSource::parse(t).is_none())
    {
        return Err(v.error(
            Table("sip"),
            "trusted_peers",
            format!("{bad:?} is not an IP address, CIDR block or ip:port"),
        ));
    }
    if sip.digest_algorithms.is_empty()
        || sip
            .digest_algorithms
            .iter()
            .any(|a| crate::sip::digest::Algorithm::from_token(Some(a)).is_none())
    {
        return Err(v.error(
            Table("sip"),
            "digest_algorithms",
            "must list one or more of \"SHA-256\", \"MD5\"".into(),
        ));
    }
    if sip.min_expires > sip.max_expires {
        return Err(v.error(
            Table("sip"),
            "min_expires",
            "must not exceed max_expires".into(),
        ));
    }
    for user in &sip.user {
        if let Some(message) = user.problem() {
            let message = message.replace("a user needs", "a [[sip.user]] needs");
            return Err(v.error(Table("sip.user"), "name", message));
        }
    }
    for peer in &sip.peer {
        if crate::sip::socket_addr_of_uri(&peer.uri).is_none() {
            return Err(v.error(
                Table("sip.peer"),
                "uri",
                format!(
                    "peer {:?}: {:?} needs an IP-literal host",
                    peer.name, peer.uri
                ),
            ));
        }
    }
    Ok(())
}

fn validate(v: &Validator<'_>, config: &Config) -> Result<(), ConfigError> {
    use Section::{Table, Trunk};
    if config.sip.t1_ms == 0 {
        return Err(v.error(Table("sip"), "t1_ms", "must be above 0".into()));
    }
    for (key, value) in [
        ("max_headers", config.sip.max_headers),
        ("max_header_bytes", config.sip.max_header_bytes),
        ("max_body_bytes", config.sip.max_body_bytes),
        (
            "min_session_expires",
            config.sip.min_session_expires as usize,
        ),
    ] {
        if value == 0 {
            return Err(v.error(Table("sip"), key, "must be above 0".into()));
        }
    }
    if config.sip.max_message_bytes == 0 {
        return Err(v.error(Table("sip"), "max_message_bytes", "must be above 0".into()));
    }
    if config.sip.tls.listen.is_some() && config.sip_tls_files().is_none() {
        return Err(v.error(
            Table("sip.tls"),
            "listen",
            "TLS needs both `cert` and `key`".into(),
        ));
    }
    if config.http.tls_listen.is_some() && config.https_files().is_none() {
        return Err(v.error(
            Table("http"),
            "tls_listen",
            "WSS needs `cert` and `key` here or in [sip.tls]".into(),
        ));
    }
    validate_sip_users(v, &config.sip)?;
    let outgoing = &config.sip_outgoing;
    // RFC 4028 §4 says at least 90; smaller values are allowed so that tests need not wait minutes.
    if outgoing.min_se == 0 {
        let why = "must be above 0".into();
        return Err(v.error(Table("sip_outgoing"), "min_se", why));
    }
    if outgoing.session_expires != 0 && outgoing.session_expires < outgoing.min_se {
        let why = "0 (off) or at least min_se".into();
        return Err(v.error(Table("sip_outgoing"), "session_expires", why));
    }
    if config.event_log.batch_size == 0 {
        return Err(v.error(Table("event_log"), "batch_size", "must be above 0".into()));
    }
    if !(1..=127).contains(&config.dialplan.failure_cause) {
        return Err(v.error(
            Table("dialplan"),
            "failure_cause",
            "must be a Q.850 cause, 1..=127".into(),
        ));
    }
    for (key, value) in [
        ("max_call_levels", config.dialplan.max_call_levels),
        ("max_string_size", config.dialplan.max_string_size),
        ("max_array_size", config.dialplan.max_array_size),
    ] {
        if value == 0 {
            return Err(v.error(Table("dialplan"), key, "must be above 0".into()));
        }
    }
    if config.enum_lookup.suffixes.is_empty() {
        return Err(v.error(
            Table("enum"),
            "suffixes",
            "needs at least one suffix".into(),
        ));
    }
    if config.dialplan.max_operations == 0 {
        return Err(v.error(
            Table("dialplan"),
            "max_operations",
            "must be above 0".into(),
        ));
    }
    if config.trunks.is_empty() {
        return Err(ConfigError {
            file: v.file.to_string(),
            line: None,
            key: "trunk".into(),
            message: "at least one [[trunk]] is needed".into(),
        });
    }
    for (index, trunk) in config.trunks.iter().enumerate() {
        let at = || Trunk(index);
        if trunk.name.trim().is_empty() {
            return Err(v.error(at(), "name", "must not be empty".into()));
        }
        if let Some(first) = config.trunks[..index]
            .iter()
            .position(|t| t.name == trunk.name)
        {
            return Err(v.error(
                at(),
                "name",
                format!(
                    "duplicate trunk name {:?} (also trunk[{first}])",
                    trunk.name
                ),
            ));
        }
        if trunk.ni > 3 {
            return Err(v.error(
                at(),
                "ni",
                format!("{} is not a network indicator (0..=3)", trunk.ni),
            ));
        }
        if trunk.si > 15 {
            return Err(v.error(
                at(),
                "si",
                format!("{} is not a service indicator (0..=15)", trunk.si),
            ));
        }
        if trunk.opc == trunk.dpc {
            return Err(v.error(at(), "dpc", format!("equals opc ({})", trunk.opc)));
        }
        if trunk.congestion.accept_percent.iter().any(|p| *p > 100) {
            return Err(v.error(
                at(),
                "congestion.accept_percent",
                "each level's share is a percentage, 0..=100".into(),
            ));
        }
        // Between IPSPs the routing key is the association itself: no RKM (RFC 4666 §4.3.2).
        if trunk.register_routing_key && trunk.mode != super::LinkMode::Asp {
            return Err(v.error(
                at(),
                "register_routing_key",
                "routing keys are registered with an SG; an IPSP mode has none".into(),
            ));
        }
        // Stream 0 is M3UA management only (RFC 4666 §1.4.7): DATA needs at least one more.
        if trunk.streams < 2 {
            return Err(v.error(
                at(),
                "streams",
                format!("{} leaves no stream for DATA (at least 2)", trunk.streams),
            ));
        }
        // Q.763 §1.2: the CIC field is 12 bits in ITU ISUP.
        if trunk.cic_last > 4095 {
            return Err(v.error(
                at(),
                "cic_last",
                format!("{} does not fit in 12 bits (0..=4095)", trunk.cic_last),
            ));
        }
        if trunk.cic_first > trunk.cic_last {
            return Err(v.error(
                at(),
                "cic_first",
                format!("empty CIC range {}..={}", trunk.cic_first, trunk.cic_last),
            ));
        }
        // Circuits are identified by (OPC, DPC, CIC): two groups toward the same exchange
        // must not claim the same circuit.
        for (other_index, other) in config.trunks[..index].iter().enumerate() {
            let same_route = other.opc == trunk.opc && other.dpc == trunk.dpc;
            let overlap = trunk.cic_first <= other.cic_last && other.cic_first <= trunk.cic_last;
            if same_route && overlap {
                return Err(v.error(
                    at(),
                    "cic_first",
                    format!(
                        "CIC range {}..={} overlaps trunk[{other_index}] {:?} ({}..={}) on the same OPC/DPC",
                        trunk.cic_first, trunk.cic_last, other.name, other.cic_first, other.cic_last
                    ),
                ));
            }
        }
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(&trunk.country_code) || trunk.country_code.len() > 3 {
            return Err(v.error(
                at(),
                "country_code",
                format!("{:?} is not 1 to 3 digits", trunk.country_code),
            ));
        }
        if !trunk.national_prefix.is_empty() && !digits(&trunk.national_prefix) {
            return Err(v.error(
                at(),
                "national_prefix",
                format!("{:?} is not digits", trunk.national_prefix),
            ));
        }
        if !EMBEDDED_PROFILES.contains(&trunk.profile.as_str()) {
            return Err(v.error(
                at(),
                "profile",
                format!(
                    "unknown mapping profile {:?} (known: {})",
                    trunk.profile,
                    EMBEDDED_PROFILES.join(", ")
                ),
            ));
        }
        // Link ids (`trunk/name`) name inputs, outputs and the runtime's associations: names are unique within the
        // trunk and hold no '/'; across trunks see below.
        for (position, entry) in trunk.association.iter().enumerate() {
            let name = super::association::association_name(position, entry);
            if name.trim().is_empty() || name.contains('/') {
                return Err(v.error(
                    at(),
                    "association.name",
                    format!("{name:?} is not an association name (not empty, no '/')"),
                ));
            }
            let repeated = trunk.association[..position]
                .iter()
                .enumerate()
                .any(|(other, e)| super::association::association_name(other, e) == name);
            if repeated {
                return Err(v.error(
                    at(),
                    "association.name",
                    format!("duplicate association name {name:?}"),
                ));
            }
        }
        // A trunk named "pstn/a" would take the link id of association "a" of trunk "pstn".
        let ids = trunk.links();
        for (other_index, other) in config.trunks[..index].iter().enumerate() {
            if let Some(link) = other
                .links()
                .iter()
                .find(|l| ids.iter().any(|i| i.id == l.id))
            {
                return Err(v.error(
                    at(),
                    "name",
                    format!(
                        "link id {:?} is also one of trunk[{other_index}]'s",
                        link.id
                    ),
                ));
            }
        }
        let timers = &trunk.timers;
        for (key, value) in [
            ("t1_ms", timers.t1_ms),
            ("t5_ms", timers.t5_ms),
            ("t7_ms", timers.t7_ms),
            ("t9_ms", timers.t9_ms),
            ("t16_ms", timers.t16_ms),
            ("t17_ms", timers.t17_ms),
        ] {
            if value == 0 {
                return Err(v.error(at(), key, "timer must be above 0".into()));
            }
        }
        let tables = MappingTables::embedded(&trunk.profile)
            .and_then(|t| t.with_overrides(&trunk.overrides));
        if let Err(err) = tables {
            return Err(ConfigError {
                file: v.file.to_string(),
                line: locate(v.text, Section::Trunk(index), "cause")
                    .or_else(|| locate(v.text, Section::Trunk(index), "name")),
                key: format!("trunk[{index}].overrides.{}", err.key),
                message: err.message,
            });
        }
    }
    Ok(())
}
