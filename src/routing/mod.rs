//! Call routing: the dialplan that decides where a call goes (ARCHITECTURE.md rule 5).
//!
//! Owns the read-only view of a call handed to a dialplan script, the decision it returns (an ordered
//! route list or a rejection), the sandboxed Rhai engine that runs the script ([`dialplan`]), the lookup
//! tables scripts read ([`tables`]), ENUM (RFC 6116, [`enum_dns`]) with its embedded zone-file backend
//! ([`zone`]), and the fixture runner behind `tandem dialplan test` ([`fixtures`]). The default dialplan ships in
//! `dialplans/default.rhai` and is embedded so tandem routes calls with no files present.

mod decision;
pub mod dialplan;
pub mod enum_dns;
pub mod fixtures;
pub mod tables;
pub mod zone;

pub use dialplan::{Dialplan, DialplanError, DialplanLimits, Outcome, RouteEnv};

/// The dialplan shipped with tandem, used when the configuration names none.
pub const DEFAULT_DIALPLAN: &str = include_str!("../../dialplans/default.rhai");

/// Name under which [`DEFAULT_DIALPLAN`] appears in error messages.
pub const DEFAULT_DIALPLAN_NAME: &str = "dialplans/default.rhai";

/// Nature of address of the called party number (Q.763 §3.9), as the script sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatureOfAddress {
    /// International number ("+" form, E.164 with country code).
    International,
    /// National (significant) number.
    National,
    /// Anything else (subscriber number, unknown, network specific).
    Unknown,
}

impl NatureOfAddress {
    /// The string the script receives in `call.called_noa`.
    pub fn as_str(self) -> &'static str {
        match self {
            NatureOfAddress::International => "international",
            NatureOfAddress::National => "national",
            NatureOfAddress::Unknown => "unknown",
        }
    }
}

impl From<&str> for NatureOfAddress {
    /// Reads the script-facing names; anything else is [`NatureOfAddress::Unknown`].
    fn from(name: &str) -> Self {
        match name {
            "international" => NatureOfAddress::International,
            "national" => NatureOfAddress::National,
            _ => NatureOfAddress::Unknown,
        }
    }
}

/// Which side the call arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSource {
    /// An INVITE from the SIP side.
    Sip,
    /// An IAM from an ISUP trunk.
    Isup,
}

impl CallSource {
    /// The string the script receives in `call.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallSource::Sip => "sip",
            CallSource::Isup => "isup",
        }
    }
}

impl From<&str> for CallSource {
    /// Reads the script-facing names: "isup" is [`CallSource::Isup`], anything else SIP.
    fn from(name: &str) -> Self {
        if name.eq_ignore_ascii_case("isup") {
            CallSource::Isup
        } else {
            CallSource::Sip
        }
    }
}

/// What a dialplan sees of a call. Built by the interworking layer; never modified by scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    /// The call's id in the event log (`c1`, `c2`, ...).
    pub call_id: String,
    /// Called party number as received.
    pub called: String,
    /// Calling party number as received (empty when absent or withheld).
    pub calling: String,
    /// Nature of address of the called number.
    pub called_noa: NatureOfAddress,
    /// Presentation of the calling number: restricted (Privacy: id, or APRI restricted) or allowed.
    pub presentation_restricted: bool,
    /// Side the call arrived on.
    pub source: CallSource,
    /// Trunk group the call arrived on (empty for SIP).
    pub trunk: String,
    /// The From URI of the INVITE (empty for ISUP).
    pub from_uri: String,
    /// SIP header fields (name, value) in message order (empty for ISUP). The script sees a map
    /// keyed by lower-case name; repeated fields are joined with ", " (RFC 3261 §7.3.1).
    pub headers: Vec<(String, String)>,
    /// When the call arrived, in ms since the Unix epoch on the core's (recorded) clock, already shifted by
    /// the configured UTC offset. Time-of-day routing reads this, never a clock, so replay decides alike.
    pub time_ms: u64,
}

impl Default for CallView {
    fn default() -> Self {
        CallView {
            call_id: String::new(),
            called: String::new(),
            calling: String::new(),
            called_noa: NatureOfAddress::Unknown,
            presentation_restricted: false,
            source: CallSource::Sip,
            trunk: String::new(),
            from_uri: String::new(),
            headers: Vec::new(),
            time_ms: 0,
        }
    }
}

/// One route of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Send an IAM on a trunk group.
    Trunk {
        /// Trunk group name (as in the `[[trunk]]` config).
        trunk: String,
        /// Rewritten called number, if any.
        called: Option<String>,
        /// Rewritten calling number, if any.
        calling: Option<String>,
        /// The called number is the result of a number-portability translation (ENUM `npdi`/`rn`): set the
        /// IAM's ported number translation indicator (Q.763 §3.23 bit M) on trunks that want it.
        ported: bool,
    },
    /// Send an INVITE to a SIP URI.
    Sip {
        /// Target URI (`sip:`, `sips:` or `tel:`).
        uri: String,
        /// Rewritten called number, if any.
        called: Option<String>,
        /// Rewritten calling number, if any.
        calling: Option<String>,
    },
    /// Send an INVITE to the registered contact of a registrar user (highest q first); no binding → the
    /// release cause the tables give SIP 480.
    User {
        /// The user (address-of-record user part).
        user: String,
        /// Rewritten calling number, if any.
        calling: Option<String>,
    },
}

impl std::fmt::Display for Route {
    /// The fixture notation: `trunk:NAME`, `sip:URI`, with ` called=N` / ` calling=N` for rewrites.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (called, calling) = match self {
            Route::Trunk {
                trunk,
                called,
                calling,
                ported,
            } => {
                write!(f, "trunk:{trunk}")?;
                if *ported {
                    write!(f, " ported")?;
                }
                (called, calling)
            }
            Route::Sip {
                uri,
                called,
                calling,
            } => {
                write!(f, "{uri}")?;
                (called, calling)
            }
            Route::User { user, calling } => {
                write!(f, "user:{user}")?;
                (&None, calling)
            }
        };
        if let Some(called) = called {
            write!(f, " called={called}")?;
        }
        if let Some(calling) = calling {
            write!(f, " calling={calling}")?;
        }
        Ok(())
    }
}

/// Where a dialplan sends a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteDecision {
    /// Routes to try in order: the next is tried when one fails with a retryable cause.
    Routes(Vec<Route>),
    /// Release the call with a Q.850 cause.
    Reject {
        /// Cause value (1..=127).
        cause: u8,
    },
}

impl std::fmt::Display for RouteDecision {
    /// `reject:CAUSE`, or the routes joined by ` | `.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteDecision::Reject { cause } => write!(f, "reject:{cause}"),
            RouteDecision::Routes(routes) => {
                for (index, route) in routes.iter().enumerate() {
                    if index > 0 {
                        write!(f, " | ")?;
                    }
                    write!(f, "{route}")?;
                }
                Ok(())
            }
        }
    }
}

/// E.164 normalisation: `+<country code><national significant number>`.
///
/// A number starting with '+' is kept; one starting with the international prefix gets '+'; one starting
/// with the national prefix loses it and gains the country code; anything else is taken as a national
/// significant number. Non-digits (visual separators) are dropped.
pub fn e164(
    number: &str,
    country_code: &str,
    national_prefix: &str,
    international_prefix: &str,
) -> String {
    let plus = number.trim_start().starts_with('+');
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if plus {
        return format!("+{digits}");
    }
    // The international prefix is checked before the national one, which it usually starts with ("00"/"0").
    if !international_prefix.is_empty() {
        if let Some(rest) = digits.strip_prefix(international_prefix) {
            return format!("+{rest}");
        }
    }
    if !national_prefix.is_empty() {
        if let Some(rest) = digits.strip_prefix(national_prefix) {
            return format!("+{country_code}{rest}");
        }
    }
    format!("+{country_code}{digits}")
}

/// [`e164`] with the ITU-recommended international prefix "00" (E.164 Annex A).
pub fn normalize_e164(number: &str, country_code: &str, national_prefix: &str) -> String {
    e164(number, country_code, national_prefix, "00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_normalisation() {
        assert_eq!(normalize_e164("+49 30 1234", "49", "0"), "+49301234");
        assert_eq!(normalize_e164("0049301234", "49", "0"), "+49301234");
        assert_eq!(normalize_e164("0301234", "49", "0"), "+49301234");
        assert_eq!(normalize_e164("301234", "49", "0"), "+49301234");
        assert_eq!(normalize_e164("5551234", "1", ""), "+15551234");
        assert_eq!(e164("011442071234", "1", "1", "011"), "+442071234");
        assert_eq!(e164("12125551234", "1", "1", "011"), "+12125551234");
        assert_eq!(e164("(020) 7946-0000", "44", "0", "00"), "+442079460000");
    }

    #[test]
    fn script_names_convert() {
        assert_eq!(
            NatureOfAddress::from("international"),
            NatureOfAddress::International
        );
        assert_eq!(
            NatureOfAddress::from("subscriber"),
            NatureOfAddress::Unknown
        );
        assert_eq!(CallSource::from("isup"), CallSource::Isup);
        assert_eq!(CallSource::from("sip"), CallSource::Sip);
        for noa in [
            NatureOfAddress::International,
            NatureOfAddress::National,
            NatureOfAddress::Unknown,
        ] {
            assert_eq!(NatureOfAddress::from(noa.as_str()), noa);
        }
    }
}
