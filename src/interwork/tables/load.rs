//! Parsing and validation of mapping table files (`mappings/*.toml`).
//!
//! Every numeric field is read with its byte span so that a range or duplicate error can name
//! the line; structural errors (syntax, unknown or missing keys) come from the TOML parser, whose
//! span is turned into a line as well. Errors read `file:line: key: what is wrong`.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde::Deserialize;
use toml::Spanned;

use super::{
    AcmMap, BackwardProfile, CallScope, IamProfile, IsupToSipRow, MappingTables, ReleaseCauses,
    TableOverrides,
};

/// A mapping table that could not be loaded: where (file, line, key) and what is wrong.
pub type TableError = crate::source_error::SourceError;

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

type Num = Spanned<i64>;
type Section = BTreeMap<String, Spanned<toml::Value>>;

/// A number with the byte offset it was read at.
#[derive(Clone, Copy)]
struct At {
    value: i64,
    start: usize,
}

impl From<&Num> for At {
    fn from(n: &Num) -> At {
        At {
            value: *n.get_ref(),
            start: n.span().start,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    profile: Spanned<String>,
    #[serde(default)]
    description: String,
    defaults: RawDefaults,
    isup_to_sip: Vec<RawIsupToSip>,
    sip_to_isup: Vec<RawSipToIsup>,
    release_causes: Section,
    cpg_events: Vec<RawCpg>,
    provisional_to_cpg: Vec<RawCpg>,
    acm: Section,
    iam: Section,
    backward: Section,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    status_for_unlisted_cause: Num,
    status_class_fallback: bool,
    cause_for_unlisted_status: Num,
    cpg_event_status: Num,
    cause_location: Num,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIsupToSip {
    cause: Num,
    status: Option<Num>,
    reason: Option<String>,
    retry_after: Option<Num>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSipToIsup {
    status: Num,
    cause: Num,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCpg {
    event: Num,
    status: Num,
}

const CAUSE: RangeInclusive<i64> = 0..=127;
const STATUS: RangeInclusive<i64> = 100..=699;
const FINAL_STATUS: RangeInclusive<i64> = 300..=699;
const PROVISIONAL: RangeInclusive<i64> = 101..=199;

/// Reads spanned numbers with the file's name and text at hand for error messages.
struct Checker<'a> {
    file: &'a str,
    text: &'a str,
}

impl Checker<'_> {
    /// Reads a section whose rows are keyed by one number (`field` of each row): `read` turns a row and its key
    /// path into the key, the offset the key was read at, and the value. A key that repeats is an error naming
    /// the line of its first row.
    fn keyed_rows<R, K: Ord + Copy + std::fmt::Display, V>(
        &self,
        section: &str,
        rows: &[R],
        field: &str,
        mut read: impl FnMut(&str, &R) -> Result<(K, usize, V), TableError>,
    ) -> Result<BTreeMap<K, V>, TableError> {
        let mut values = BTreeMap::new();
        let mut first_line = BTreeMap::new();
        for (index, row) in rows.iter().enumerate() {
            let key = format!("{section}[{index}]");
            let (k, start, value) = read(&key, row)?;
            if let Some(first) = first_line.insert(k, line_of(self.text, start)) {
                return Err(self.error(
                    Some(start),
                    &format!("{key}.{field}"),
                    format!("duplicate {field} {k} (first at line {first})"),
                ));
            }
            values.insert(k, value);
        }
        Ok(values)
    }

    fn error(&self, span_start: Option<usize>, key: &str, message: String) -> TableError {
        TableError::new(
            self.file,
            span_start.map(|s| line_of(self.text, s)),
            key,
            message,
        )
    }

    fn number<T: TryFrom<i64>>(
        &self,
        value: impl Into<At>,
        key: &str,
        range: RangeInclusive<i64>,
        what: &str,
    ) -> Result<T, TableError> {
        let at: At = value.into();
        let raw = at.value;
        if !range.contains(&raw) {
            return Err(self.error(
                Some(at.start),
                key,
                format!("{raw} is not {what} ({}..={})", range.start(), range.end()),
            ));
        }
        T::try_from(raw)
            .map_err(|_| self.error(Some(at.start), key, format!("{raw} is out of range")))
    }

    fn cause(&self, value: impl Into<At>, key: &str) -> Result<u8, TableError> {
        self.number(value, key, CAUSE, "a Q.850 cause")
    }

    fn status(&self, value: impl Into<At>, key: &str) -> Result<u16, TableError> {
        self.number(value, key, STATUS, "a SIP status")
    }

    fn provisional(&self, value: impl Into<At>, key: &str) -> Result<u16, TableError> {
        self.number(value, key, PROVISIONAL, "a SIP provisional status")
    }

    /// Takes a required key out of a section map; leftovers are reported by [`Self::no_extra`].
    fn take_value(
        &self,
        section: &str,
        map: &mut Section,
        key: &str,
    ) -> Result<Spanned<toml::Value>, TableError> {
        map.remove(key).ok_or_else(|| {
            let line = find_section_line(self.text, section);
            self.error(line, &format!("{section}.{key}"), "missing key".to_string())
        })
    }

    /// Takes a required integer key out of a section; leftovers are reported by [`Self::no_extra`].
    fn take(&self, section: &str, map: &mut Section, key: &str) -> Result<At, TableError> {
        let value = self.take_value(section, map, key)?;
        let start = value.span().start;
        match value.get_ref() {
            toml::Value::Integer(i) => Ok(At { value: *i, start }),
            other => Err(self.error(
                Some(start),
                &format!("{section}.{key}"),
                format!("expected an integer, found {}", other.type_str()),
            )),
        }
    }

    fn no_extra(&self, section: &str, map: &Section) -> Result<(), TableError> {
        match map.iter().next() {
            Some((key, value)) => Err(self.error(
                Some(value.span().start),
                &format!("{section}.{key}"),
                "unknown key".to_string(),
            )),
            None => Ok(()),
        }
    }

    fn indicator(
        &self,
        section: &str,
        map: &mut Section,
        key: &str,
        max: i64,
    ) -> Result<u8, TableError> {
        let value = self.take(section, map, key)?;
        self.number(
            value,
            &format!("{section}.{key}"),
            0..=max,
            "a valid indicator",
        )
    }
}

/// Byte offset of a `[section]` header, for "missing key" errors.
fn find_section_line(text: &str, section: &str) -> Option<usize> {
    let header = format!("[{section}]");
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(&header) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

pub(super) fn parse(file: &str, text: &str) -> Result<MappingTables, TableError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        TableError::new(file, line, "", e.message().trim_end().to_string())
    })?;
    let check = Checker { file, text };

    if raw.profile.get_ref().trim().is_empty() {
        return Err(check.error(
            Some(raw.profile.span().start),
            "profile",
            "must not be empty".into(),
        ));
    }

    let defaults = &raw.defaults;
    let status_for_unlisted_cause = check.status(
        &defaults.status_for_unlisted_cause,
        "defaults.status_for_unlisted_cause",
    )?;
    let cause_for_unlisted_status = check.cause(
        &defaults.cause_for_unlisted_status,
        "defaults.cause_for_unlisted_status",
    )?;
    let cpg_event_status =
        check.provisional(&defaults.cpg_event_status, "defaults.cpg_event_status")?;
    let cause_location: u8 = check.number(
        &defaults.cause_location,
        "defaults.cause_location",
        0..=15,
        "a Q.850 location",
    )?;

    let isup_to_sip = check.keyed_rows("isup_to_sip", &raw.isup_to_sip, "cause", |key, row| {
        let cause: u8 = check.cause(&row.cause, &format!("{key}.cause"))?;
        let status = match &row.status {
            Some(s) => Some(check.status(s, &format!("{key}.status"))?),
            None => None,
        };
        let retry_after = match &row.retry_after {
            Some(r) => Some(check.number(
                r,
                &format!("{key}.retry_after"),
                0..=86_400,
                "a Retry-After in seconds",
            )?),
            None => None,
        };
        if retry_after.is_some() && status.is_none() {
            return Err(check.error(
                row.retry_after.as_ref().map(|r| r.span().start),
                &format!("{key}.retry_after"),
                "retry_after needs a status".into(),
            ));
        }
        let value = IsupToSipRow {
            cause,
            status,
            reason: row.reason.clone(),
            retry_after,
        };
        Ok((cause, row.cause.span().start, value))
    })?;
    let sip_to_isup = check.keyed_rows("sip_to_isup", &raw.sip_to_isup, "status", |key, row| {
        let status: u16 = check.number(
            &row.status,
            &format!("{key}.status"),
            FINAL_STATUS,
            "a SIP final status",
        )?;
        let cause = check.cause(&row.cause, &format!("{key}.cause"))?;
        Ok((status, row.status.span().start, cause))
    })?;
    let cpg_events = check.keyed_rows("cpg_events", &raw.cpg_events, "event", |key, row| {
        let event: u8 = check.number(
            &row.event,
            &format!("{key}.event"),
            0..=127,
            "a CPG event indicator",
        )?;
        let status = check.provisional(&row.status, &format!("{key}.status"))?;
        Ok((event, row.event.span().start, status))
    })?;
    let provisional_to_cpg = check.keyed_rows(
        "provisional_to_cpg",
        &raw.provisional_to_cpg,
        "status",
        |key, row| {
            let status = check.provisional(&row.status, &format!("{key}.status"))?;
            let event: u8 = check.number(
                &row.event,
                &format!("{key}.event"),
                1..=127,
                "a CPG event indicator",
            )?;
            Ok((status, row.status.span().start, event))
        },
    )?;

    let mut section = raw.release_causes;
    let mut release_cause = |name: &str| -> Result<u8, TableError> {
        let value = check.take("release_causes", &mut section, name)?;
        check.cause(value, &format!("release_causes.{name}"))
    };
    let release_causes = ReleaseCauses {
        bye: release_cause("bye")?,
        cancel: release_cause("cancel")?,
        no_answer_timeout: release_cause("no_answer_timeout")?,
        no_acm_timeout: release_cause("no_acm_timeout")?,
        sip_timeout: release_cause("sip_timeout")?,
        dialplan_error: release_cause("dialplan_error")?,
        no_route: release_cause("no_route")?,
        no_circuit: release_cause("no_circuit")?,
        signalling_down: release_cause("signalling_down")?,
        congestion: release_cause("congestion")?,
        no_common_codec: release_cause("no_common_codec")?,
        invalid_number: release_cause("invalid_number")?,
    };
    check.no_extra("release_causes", &section)?;

    let mut section = raw.acm;
    let mut provisional = |name: &str| -> Result<u16, TableError> {
        let value = check.take("acm", &mut section, name)?;
        check.provisional(value, &format!("acm.{name}"))
    };
    let acm = AcmMap {
        no_indication: provisional("no_indication")?,
        subscriber_free: provisional("subscriber_free")?,
        connect_when_free: provisional("connect_when_free")?,
        in_band_information: provisional("in_band_information")?,
    };
    check.no_extra("acm", &section)?;

    let iam = parse_iam(&check, raw.iam)?;
    let backward = parse_backward(&check, raw.backward)?;

    Ok(MappingTables {
        profile: raw.profile.into_inner(),
        description: raw.description,
        status_for_unlisted_cause,
        status_class_fallback: defaults.status_class_fallback,
        cause_for_unlisted_status,
        cpg_event_status,
        cause_location,
        provisional_to_cpg,
        isup_to_sip,
        sip_to_isup,
        release_causes,
        cpg_events,
        acm,
        iam,
        backward,
    })
}

fn parse_iam(check: &Checker<'_>, mut map: Section) -> Result<IamProfile, TableError> {
    let scope = check.take_value("iam", &mut map, "national_international_call")?;
    let national_international_call = match scope.get_ref().as_str() {
        Some("national") => CallScope::National,
        Some("international") => CallScope::International,
        Some("per_number") => CallScope::PerNumber,
        _ => {
            return Err(check.error(
                Some(scope.span().start),
                "iam.national_international_call",
                "expected \"national\", \"international\" or \"per_number\"".into(),
            ))
        }
    };
    let mut field = |name: &str, max: i64| check.indicator("iam", &mut map, name, max);
    let iam = IamProfile {
        satellite_indicator: field("satellite_indicator", 3)?,
        continuity_check_indicator: field("continuity_check_indicator", 3)?,
        echo_control_device_indicator: field("echo_control_device_indicator", 1)?,
        national_international_call,
        end_to_end_method_indicator: field("end_to_end_method_indicator", 3)?,
        interworking_indicator: field("interworking_indicator", 1)?,
        end_to_end_information_indicator: field("end_to_end_information_indicator", 1)?,
        isdn_user_part_indicator: field("isdn_user_part_indicator", 1)?,
        isdn_user_part_preference_indicator: field("isdn_user_part_preference_indicator", 3)?,
        isdn_access_indicator: field("isdn_access_indicator", 1)?,
        sccp_method_indicator: field("sccp_method_indicator", 3)?,
        calling_party_category: field("calling_party_category", 255)?,
        transmission_medium_requirement: field("transmission_medium_requirement", 255)?,
        numbering_plan_indicator: field("numbering_plan_indicator", 7)?,
        unknown_nature_of_address: field("unknown_nature_of_address", 127)?,
        calling_screening_indicator: field("calling_screening_indicator", 3)?,
        calling_presentation: field("calling_presentation", 3)?,
        anonymous_presentation: field("anonymous_presentation", 3)?,
    };
    check.no_extra("iam", &map)?;
    Ok(iam)
}

fn parse_backward(check: &Checker<'_>, mut map: Section) -> Result<BackwardProfile, TableError> {
    let mut field = |name: &str, max: i64| check.indicator("backward", &mut map, name, max);
    let backward = BackwardProfile {
        charge_indicator: field("charge_indicator", 3)?,
        called_party_status_on_ringing: field("called_party_status_on_ringing", 3)?,
        called_party_status_on_progress: field("called_party_status_on_progress", 3)?,
        called_party_category_indicator: field("called_party_category_indicator", 3)?,
        end_to_end_method_indicator: field("end_to_end_method_indicator", 3)?,
        interworking_indicator: field("interworking_indicator", 1)?,
        end_to_end_information_indicator: field("end_to_end_information_indicator", 1)?,
        isdn_user_part_indicator: field("isdn_user_part_indicator", 1)?,
        holding_indicator: field("holding_indicator", 1)?,
        isdn_access_indicator: field("isdn_access_indicator", 1)?,
        echo_control_device_indicator: field("echo_control_device_indicator", 1)?,
        sccp_method_indicator: field("sccp_method_indicator", 3)?,
    };
    check.no_extra("backward", &map)?;
    Ok(backward)
}

/// Range and duplicate checks for per-trunk override rows (which carry no spans).
pub(super) fn validate_overrides(
    overrides: &TableOverrides,
    origin: &str,
) -> Result<(), TableError> {
    let mut seen = std::collections::BTreeSet::new();
    for (index, row) in overrides.isup_to_sip.iter().enumerate() {
        let key = format!("isup_to_sip[{index}]");
        if !CAUSE.contains(&i64::from(row.cause)) {
            return Err(TableError::new(
                origin,
                None,
                format!("{key}.cause"),
                format!("{} is not a Q.850 cause (0..=127)", row.cause),
            ));
        }
        if let Some(status) = row.status {
            if !STATUS.contains(&i64::from(status)) {
                return Err(TableError::new(
                    origin,
                    None,
                    format!("{key}.status"),
                    format!("{status} is not a SIP status (100..=699)"),
                ));
            }
        }
        if !seen.insert(row.cause) {
            return Err(TableError::new(
                origin,
                None,
                format!("{key}.cause"),
                format!("duplicate cause {}", row.cause),
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, row) in overrides.sip_to_isup.iter().enumerate() {
        let key = format!("sip_to_isup[{index}]");
        if !FINAL_STATUS.contains(&i64::from(row.status)) {
            return Err(TableError::new(
                origin,
                None,
                format!("{key}.status"),
                format!("{} is not a SIP final status (300..=699)", row.status),
            ));
        }
        if !CAUSE.contains(&i64::from(row.cause)) {
            return Err(TableError::new(
                origin,
                None,
                format!("{key}.cause"),
                format!("{} is not a Q.850 cause (0..=127)", row.cause),
            ));
        }
        if !seen.insert(row.status) {
            return Err(TableError::new(
                origin,
                None,
                format!("{key}.status"),
                format!("duplicate status {}", row.status),
            ));
        }
    }
    Ok(())
}
