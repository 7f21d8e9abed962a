//! Call routing: the dialplan that decides where a call goes (ARCHITECTURE.md rule 5).
//!
//! Owns the read-only view of a call handed to a dialplan script, the decision it returns, and
//! the sandboxed Rhai engine that runs the script ([`dialplan`]). The default dialplan ships in
//! `dialplans/default.rhai` and is embedded so tandem routes calls with no files present.

pub mod dialplan;

pub use dialplan::{Dialplan, DialplanError, DialplanLimits};

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
    /// Called party number as received.
    pub called: String,
    /// Calling party number as received (empty when absent or withheld).
    pub calling: String,
    /// Nature of address of the called number.
    pub called_noa: NatureOfAddress,
    /// Side the call arrived on.
    pub source: CallSource,
    /// Trunk group the call arrived on (empty for SIP).
    pub trunk: String,
    /// SIP header fields (name, value) in message order (empty for ISUP). The script sees a map
    /// keyed by lower-case name; repeated fields are joined with ", " (RFC 3261 §7.3.1).
    pub headers: Vec<(String, String)>,
}

/// Where a dialplan sends a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteDecision {
    /// Send an IAM on a trunk group.
    Trunk {
        /// Trunk group name (as in the `[[trunk]]` config).
        trunk: String,
        /// Rewritten called number, if any.
        called: Option<String>,
        /// Rewritten calling number, if any.
        calling: Option<String>,
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
    /// Release the call with a Q.850 cause.
    Reject {
        /// Cause value (1..=127).
        cause: u8,
    },
}

/// E.164 normalisation: `+<country code><national significant number>`.
///
/// A number starting with '+' is kept; one starting with the international prefix "00" gets '+';
/// one starting with the national prefix loses it and gains the country code; anything else is
/// taken as a national significant number. Non-digits (visual separators) are dropped.
pub fn normalize_e164(number: &str, country_code: &str, national_prefix: &str) -> String {
    let plus = number.trim_start().starts_with('+');
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if plus {
        return format!("+{digits}");
    }
    if let Some(rest) = digits.strip_prefix("00") {
        // "00" is the ITU-recommended international prefix (E.164 Annex A); it is checked before
        // a national prefix of "0", which it would otherwise match.
        return format!("+{rest}");
    }
    if !national_prefix.is_empty() {
        if let Some(rest) = digits.strip_prefix(national_prefix) {
            return format!("+{country_code}{rest}");
        }
    }
    format!("+{country_code}{digits}")
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
