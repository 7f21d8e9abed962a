//! Interworking mapping tables: the data the SIP ⇄ ISUP call logic consults.
//!
//! Owns the ISUP cause → SIP status table (RFC 3398 §7.2.4.1), the SIP status → ISUP cause table
//! (RFC 3398 §8.2.6.1), the causes tandem uses for its own releases, the CPG event and ACM →
//! SIP provisional maps, and the IAM / backward call indicator profiles (RFC 3398 §7.1.1, Q.763).
//! The tables are TOML files in `mappings/` (shipped ones are embedded), validated at load with
//! errors naming file, line and key, and overridable row by row per trunk.

mod isup;
mod load;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use load::TableError;

/// Names of the profiles embedded in the binary.
pub const EMBEDDED_PROFILES: &[&str] = &["rfc3398", "q1912_5"];

const RFC3398_TOML: &str = include_str!("../../../mappings/rfc3398.toml");
const Q1912_5_TOML: &str = include_str!("../../../mappings/q1912_5.toml");

/// The SIP final response to send for an ISUP release cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipResponseSpec {
    /// SIP status code (100..=699).
    pub status: u16,
    /// Reason phrase to use instead of the status code's standard one.
    pub reason: Option<String>,
    /// Seconds for a Retry-After header field, when the table asks for one.
    pub retry_after: Option<u32>,
}

/// Local events for which tandem itself chooses the cause of the REL it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseReason {
    /// BYE received from the SIP side after answer.
    Bye,
    /// CANCEL received from the SIP side before answer.
    Cancel,
    /// Q.764 timer T9 expired (no answer after alerting).
    NoAnswerTimeout,
    /// Q.764 timer T7 expired (no ACM after the IAM).
    NoAcmTimeout,
    /// An RFC 3261 transaction timed out toward the SIP side.
    SipTimeout,
    /// The dialplan failed or returned an unusable decision.
    DialplanError,
    /// The dialplan found no route.
    NoRoute,
    /// No idle circuit on the chosen trunk.
    NoCircuit,
    /// The signalling link (M3UA/SCTP) toward the trunk went down.
    SignallingDown,
    /// The destination is congested (M3UA SCON) and the throttle refused the call.
    Congestion,
    /// The two sides have no codec in common.
    NoCommonCodec,
    /// The called number cannot be used (empty, not digits, too long).
    InvalidNumber,
}

/// How the national/international call indicator of the forward call indicators is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallScope {
    /// Always "national call".
    National,
    /// Always "international call".
    International,
    /// Chosen by the gateway from the called party number.
    PerNumber,
}

/// Indicators of an IAM built from a plain SIP INVITE (RFC 3398 §7.1.1; codes from Q.763).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamProfile {
    /// Nature of connection indicators: satellite indicator (Q.763 §3.35).
    pub satellite_indicator: u8,
    /// Nature of connection indicators: continuity check indicator.
    pub continuity_check_indicator: u8,
    /// Nature of connection indicators: echo control device indicator.
    pub echo_control_device_indicator: u8,
    /// Forward call indicators bit A (Q.763 §3.23): how it is chosen.
    pub national_international_call: CallScope,
    /// Forward call indicators: end-to-end method indicator.
    pub end_to_end_method_indicator: u8,
    /// Forward call indicators: interworking indicator.
    pub interworking_indicator: u8,
    /// Forward call indicators: end-to-end information indicator.
    pub end_to_end_information_indicator: u8,
    /// Forward call indicators: ISDN user part indicator.
    pub isdn_user_part_indicator: u8,
    /// Forward call indicators: ISDN user part preference indicator.
    pub isdn_user_part_preference_indicator: u8,
    /// Forward call indicators: ISDN access indicator.
    pub isdn_access_indicator: u8,
    /// Forward call indicators: SCCP method indicator.
    pub sccp_method_indicator: u8,
    /// Calling party's category (Q.763 §3.11).
    pub calling_party_category: u8,
    /// Transmission medium requirement (Q.763 §3.54).
    pub transmission_medium_requirement: u8,
    /// Numbering plan indicator for called and calling numbers.
    pub numbering_plan_indicator: u8,
    /// Nature of address used when the number itself gives no hint.
    pub unknown_nature_of_address: u8,
    /// Calling party number screening indicator.
    pub calling_screening_indicator: u8,
    /// Address presentation restricted indicator for an identified caller.
    pub calling_presentation: u8,
    /// Address presentation restricted indicator when the caller asked for privacy.
    pub anonymous_presentation: u8,
}

/// Backward call indicators (Q.763 §3.5) tandem sends toward ISUP when SIP answers 18x/200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackwardProfile {
    /// Charge indicator.
    pub charge_indicator: u8,
    /// Called party's status indicator sent for a 180 Ringing.
    pub called_party_status_on_ringing: u8,
    /// Called party's status indicator sent for a 183 Session Progress.
    pub called_party_status_on_progress: u8,
    /// Called party's category indicator.
    pub called_party_category_indicator: u8,
    /// End-to-end method indicator.
    pub end_to_end_method_indicator: u8,
    /// Interworking indicator.
    pub interworking_indicator: u8,
    /// End-to-end information indicator.
    pub end_to_end_information_indicator: u8,
    /// ISDN user part indicator.
    pub isdn_user_part_indicator: u8,
    /// Holding indicator.
    pub holding_indicator: u8,
    /// ISDN access indicator.
    pub isdn_access_indicator: u8,
    /// Echo control device indicator.
    pub echo_control_device_indicator: u8,
    /// SCCP method indicator.
    pub sccp_method_indicator: u8,
}

/// ACM → SIP provisional map, keyed by the called party's status indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmMap {
    /// Provisional for "no indication" (0).
    pub no_indication: u16,
    /// Provisional for "subscriber free" (1).
    pub subscriber_free: u16,
    /// Provisional for "connect when free" (2).
    pub connect_when_free: u16,
    /// Provisional when in-band information is available (takes precedence).
    pub in_band_information: u16,
}

/// Causes for the releases tandem originates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseCauses {
    /// See [`ReleaseReason::Bye`].
    pub bye: u8,
    /// See [`ReleaseReason::Cancel`].
    pub cancel: u8,
    /// See [`ReleaseReason::NoAnswerTimeout`].
    pub no_answer_timeout: u8,
    /// See [`ReleaseReason::NoAcmTimeout`].
    pub no_acm_timeout: u8,
    /// See [`ReleaseReason::SipTimeout`].
    pub sip_timeout: u8,
    /// See [`ReleaseReason::DialplanError`].
    pub dialplan_error: u8,
    /// See [`ReleaseReason::NoRoute`].
    pub no_route: u8,
    /// See [`ReleaseReason::NoCircuit`].
    pub no_circuit: u8,
    /// See [`ReleaseReason::SignallingDown`].
    pub signalling_down: u8,
    /// See [`ReleaseReason::Congestion`].
    pub congestion: u8,
    /// See [`ReleaseReason::NoCommonCodec`].
    pub no_common_codec: u8,
    /// See [`ReleaseReason::InvalidNumber`].
    pub invalid_number: u8,
}

/// One ISUP cause → SIP row; `status: None` means "clear with BYE/CANCEL, no response code".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IsupToSipRow {
    /// Q.850 cause value (0..=127).
    pub cause: u8,
    /// SIP status, absent for "no response" (cause 16).
    #[serde(default)]
    pub status: Option<u16>,
    /// Reason phrase override.
    #[serde(default)]
    pub reason: Option<String>,
    /// Retry-After seconds.
    #[serde(default)]
    pub retry_after: Option<u32>,
}

/// One SIP status → ISUP cause row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SipToIsupRow {
    /// SIP final status (300..=699).
    pub status: u16,
    /// Q.850 cause value (0..=127).
    pub cause: u8,
}

/// Per-trunk replacements for individual rows (`[trunk.overrides]` in the config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableOverrides {
    /// Rows replacing (or adding to) the ISUP → SIP table.
    #[serde(default)]
    pub isup_to_sip: Vec<IsupToSipRow>,
    /// Rows replacing (or adding to) the SIP → ISUP table.
    #[serde(default)]
    pub sip_to_isup: Vec<SipToIsupRow>,
}

impl TableOverrides {
    /// Checks ranges and duplicates; `origin` names where the overrides came from in errors.
    pub fn validate(&self, origin: &str) -> Result<(), TableError> {
        load::validate_overrides(self, origin)
    }
}

/// A loaded, validated interworking profile.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingTables {
    pub(crate) profile: String,
    pub(crate) description: String,
    pub(crate) status_for_unlisted_cause: u16,
    pub(crate) status_class_fallback: bool,
    pub(crate) cause_for_unlisted_status: u8,
    pub(crate) cpg_event_status: u16,
    pub(crate) cause_location: u8,
    pub(crate) provisional_to_cpg: BTreeMap<u16, u8>,
    pub(crate) isup_to_sip: BTreeMap<u8, IsupToSipRow>,
    pub(crate) sip_to_isup: BTreeMap<u16, u8>,
    pub(crate) release_causes: ReleaseCauses,
    pub(crate) cpg_events: BTreeMap<u8, u16>,
    pub(crate) acm: AcmMap,
    pub(crate) iam: IamProfile,
    pub(crate) backward: BackwardProfile,
}

impl MappingTables {
    /// Parses and validates a table file; `name` (the file name) appears in every error.
    pub fn from_toml(name: &str, text: &str) -> Result<MappingTables, TableError> {
        load::parse(name, text)
    }

    /// Loads one of the profiles embedded in the binary ([`EMBEDDED_PROFILES`]).
    pub fn embedded_source(profile: &str) -> Option<&'static str> {
        match profile {
            "rfc3398" => Some(RFC3398_TOML),
            "q1912_5" => Some(Q1912_5_TOML),
            _ => None,
        }
    }

    /// Loads one of the profiles shipped in `mappings/` (see [`EMBEDDED_PROFILES`]).
    pub fn embedded(profile: &str) -> Result<MappingTables, TableError> {
        match profile {
            "rfc3398" => Self::from_toml("mappings/rfc3398.toml", RFC3398_TOML),
            "q1912_5" => Self::from_toml("mappings/q1912_5.toml", Q1912_5_TOML),
            other => Err(TableError::new(
                "mappings",
                None,
                "profile",
                format!(
                    "unknown profile {other:?} (embedded: {})",
                    EMBEDDED_PROFILES.join(", ")
                ),
            )),
        }
    }

    /// A copy with the trunk's override rows replacing the profile's rows of the same key.
    pub fn with_overrides(&self, overrides: &TableOverrides) -> Result<MappingTables, TableError> {
        overrides.validate("trunk.overrides")?;
        let mut tables = self.clone();
        for row in &overrides.isup_to_sip {
            tables.isup_to_sip.insert(row.cause, row.clone());
        }
        for row in &overrides.sip_to_isup {
            tables.sip_to_isup.insert(row.status, row.cause);
        }
        Ok(tables)
    }

    /// The profile's name (`profile = ...` in the file).
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// The profile's one-line description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// SIP response for a REL cause received before answer (RFC 3398 §7.2.4.1).
    ///
    /// `None` means the table says "no response code" (cause 16): the SIP side is cleared with
    /// BYE or CANCEL. Unlisted causes give the profile's default status (500 in RFC 3398).
    pub fn sip_status_for_cause(&self, cause: u8) -> Option<SipResponseSpec> {
        match self.isup_to_sip.get(&cause) {
            Some(row) => row.status.map(|status| SipResponseSpec {
                status,
                reason: row.reason.clone(),
                retry_after: row.retry_after,
            }),
            None => Some(self.default_response()),
        }
    }

    /// Like [`Self::sip_status_for_cause`], but always a response: for a cause whose row means
    /// "BYE" while an INVITE still needs its final answer, the default status is used.
    pub fn final_response_for_cause(&self, cause: u8) -> SipResponseSpec {
        self.sip_status_for_cause(cause)
            .unwrap_or_else(|| self.default_response())
    }

    fn default_response(&self) -> SipResponseSpec {
        SipResponseSpec {
            status: self.status_for_unlisted_cause,
            reason: None,
            retry_after: None,
        }
    }

    /// REL cause for a SIP final response (RFC 3398 §8.2.6.1); unlisted statuses fall back to
    /// their class's x00 row (RFC 3261 §8.1.3.2) when the profile says so, then to the default.
    pub fn cause_for_sip_status(&self, status: u16) -> u8 {
        if let Some(cause) = self.sip_to_isup.get(&status) {
            return *cause;
        }
        if self.status_class_fallback {
            if let Some(cause) = self.sip_to_isup.get(&(status / 100 * 100)) {
                return *cause;
            }
        }
        self.cause_for_unlisted_status
    }

    /// SIP provisional status for a CPG event indicator (Q.763 §3.21, 7-bit event value).
    pub fn provisional_for_cpg_event(&self, event: u8) -> u16 {
        self.cpg_events
            .get(&(event & 0x7f))
            .copied()
            .unwrap_or(self.cpg_event_status)
    }

    /// SIP provisional status for an ACM, from its called party's status indicator and whether
    /// the optional backward call indicators say in-band information is available.
    pub fn provisional_for_acm(&self, called_party_status: u8, in_band: bool) -> u16 {
        if in_band {
            return self.acm.in_band_information;
        }
        match called_party_status {
            1 => self.acm.subscriber_free,
            2 => self.acm.connect_when_free,
            _ => self.acm.no_indication,
        }
    }

    /// CPG event indicator to send for a SIP provisional once the ACM has gone out; `None`
    /// means no CPG is sent for that status.
    pub fn cpg_event_for_provisional(&self, status: u16) -> Option<u8> {
        self.provisional_to_cpg.get(&status).copied()
    }

    /// Called party's status indicator for the ACM (or CON, status 200) built from a SIP
    /// response: "subscriber free" style value for 180, the "no indication" one otherwise.
    pub fn called_party_status_for_provisional(&self, status: u16) -> u8 {
        if status == 180 {
            self.backward.called_party_status_on_ringing
        } else {
            self.backward.called_party_status_on_progress
        }
    }

    /// Location (Q.850 §2.2.6) for the cause indicators of the RELs tandem sends.
    pub fn cause_location(&self) -> u8 {
        self.cause_location
    }

    /// Cause tandem puts in a REL it originates for `reason`.
    pub fn release_cause(&self, reason: ReleaseReason) -> u8 {
        let causes = &self.release_causes;
        match reason {
            ReleaseReason::Bye => causes.bye,
            ReleaseReason::Cancel => causes.cancel,
            ReleaseReason::NoAnswerTimeout => causes.no_answer_timeout,
            ReleaseReason::NoAcmTimeout => causes.no_acm_timeout,
            ReleaseReason::SipTimeout => causes.sip_timeout,
            ReleaseReason::DialplanError => causes.dialplan_error,
            ReleaseReason::NoRoute => causes.no_route,
            ReleaseReason::NoCircuit => causes.no_circuit,
            ReleaseReason::SignallingDown => causes.signalling_down,
            ReleaseReason::Congestion => causes.congestion,
            ReleaseReason::NoCommonCodec => causes.no_common_codec,
            ReleaseReason::InvalidNumber => causes.invalid_number,
        }
    }

    /// Indicators for an IAM built from a plain SIP INVITE.
    pub fn iam_profile(&self) -> &IamProfile {
        &self.iam
    }

    /// Backward call indicators for ACM/CPG/ANM built from SIP responses.
    pub fn backward_profile(&self) -> &BackwardProfile {
        &self.backward
    }

    /// The ACM → provisional map.
    pub fn acm_map(&self) -> &AcmMap {
        &self.acm
    }
}

#[cfg(test)]
mod tests;
