//! Dialplan tests for engineers (`tandem dialplan test`): run a script against a call described on the
//! command line or against a fixture file of cases with expected decisions, so operators can check their
//! dialplans in their own CI before deploying them. ENUM lookups are answered from zone files (the
//! embedded backend) and `trunk_available` from idle-circuit counts the fixture gives.
//!
//! A fixture file (TOML; paths relative to it):
//!
//! ```toml
//! dialplan = "lcr.rhai"
//! tables = ["lcr_rates.csv"]
//! enum_zones = ["../enum/e164.arpa.zone"]   # optional
//! enum_suffixes = ["e164.arpa"]             # optional, this is the default
//! trunks = { carrier_a = 30, carrier_b = 30 } # idle circuits
//!
//! [[case]]
//! name = "UK mobile goes to the cheapest carrier first"
//! called = "+447700900123"
//! calling = "+4930123456"
//! expect = "trunk:carrier_b | trunk:carrier_a"
//! ```
//!
//! A case may also give `source` ("sip"/"isup"), `trunk`, `noa`, `presentation`, `headers`, `time`
//! ("HH:MM"), `weekday` ("mon".."sun"), `trunks` (overrides), and instead of `expect` an `expect_error`
//! (a substring of the script error).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::dialplan::{Dialplan, DialplanError, DialplanLimits, Outcome, RouteEnv};
use super::enum_dns::{enum_domain, EnumAnswer, EnumResult};
use super::zone::ZoneSet;
use super::{CallSource, CallView, NatureOfAddress, RouteDecision};

/// Why a fixture run could not start.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The fixture file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The dialplan or a table does not load.
    #[error(transparent)]
    Dialplan(#[from] DialplanError),
    /// A zone file does not parse.
    #[error(transparent)]
    Zone(#[from] super::zone::ZoneError),
}

/// A fixture file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureFile {
    /// The script, relative to the fixture file.
    pub dialplan: PathBuf,
    /// Table files, relative to the fixture file.
    #[serde(default)]
    pub tables: Vec<PathBuf>,
    /// Zone files answering `enum_lookup`.
    #[serde(default)]
    pub enum_zones: Vec<PathBuf>,
    /// ENUM suffixes tried in order.
    #[serde(default)]
    pub enum_suffixes: Vec<String>,
    /// Idle circuits per trunk for `trunk_available`.
    #[serde(default)]
    pub trunks: BTreeMap<String, i64>,
    /// The cases.
    #[serde(default, rename = "case")]
    pub cases: Vec<Case>,
}

/// One case of a fixture file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Case {
    /// Shown in the report.
    pub name: String,
    /// Called number.
    pub called: String,
    /// Calling number.
    pub calling: String,
    /// "sip" (default) or "isup".
    pub source: Option<String>,
    /// Incoming trunk group.
    pub trunk: String,
    /// "international", "national" or "unknown"; default: international for '+', else national.
    pub noa: Option<String>,
    /// "allowed" (default) or "restricted".
    pub presentation: Option<String>,
    /// SIP headers.
    pub headers: BTreeMap<String, String>,
    /// Time of day, "HH:MM" (default 12:00).
    pub time: Option<String>,
    /// Weekday, "mon".."sun" (default mon).
    pub weekday: Option<String>,
    /// Idle-circuit overrides for this case.
    pub trunks: BTreeMap<String, i64>,
    /// Expected decision in the notation `tandem dialplan test` prints.
    pub expect: Option<String>,
    /// Expected failure: a substring of the error.
    pub expect_error: Option<String>,
}

/// A dialplan with what its tests need to answer lookups.
pub struct TestBench {
    /// The compiled script with its tables.
    pub plan: Dialplan,
    /// ENUM zones (may be empty: lookups then fail).
    pub zones: ZoneSet,
    /// ENUM suffixes.
    pub suffixes: Vec<String>,
    /// Idle circuits per trunk.
    pub trunks: BTreeMap<String, i64>,
}

fn read(path: &Path) -> Result<String, FixtureError> {
    std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Reads the named files as `(name, text)` pairs.
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<(String, String)>, FixtureError> {
    paths
        .iter()
        .map(|path| Ok((path.display().to_string(), read(path)?)))
        .collect()
}

/// Resolves a number through `suffixes` in order against `zones`: the first suffix whose answer is not
/// NXDOMAIN wins (RFC 6116 §5: private trees before or after e164.arpa, as configured).
pub fn resolve_in_zones(zones: &ZoneSet, suffixes: &[String], number: &str) -> EnumResult {
    let mut last = EnumAnswer::Failed {
        reason: "no ENUM suffix configured".into(),
    };
    for suffix in suffixes {
        let Some(domain) = enum_domain(number, suffix) else {
            return EnumResult::Failed(format!("{number:?} has no digits"));
        };
        last = zones.answer(&domain);
        if !matches!(last, EnumAnswer::NxDomain { .. }) {
            break;
        }
    }
    EnumResult::from_answer(&last, number)
}

/// The view of a case.
pub fn case_view(case: &Case) -> Result<CallView, String> {
    let source = CallSource::from(case.source.as_deref().unwrap_or("sip"));
    let noa = match &case.noa {
        Some(noa) => NatureOfAddress::from(noa.as_str()),
        None if case.called.starts_with('+') => NatureOfAddress::International,
        None => NatureOfAddress::National,
    };
    let (hour, minute) = match &case.time {
        None => (12, 0),
        Some(time) => time
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u64>().ok()?, m.parse::<u64>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60)
            .ok_or_else(|| format!("time {time:?} is not HH:MM"))?,
    };
    let weekday = match &case.weekday {
        None => 0,
        Some(day) => ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .position(|d| d.eq_ignore_ascii_case(day))
            .ok_or_else(|| format!("weekday {day:?} is not mon..sun"))? as u64,
    };
    // 1970-01-05 was a Monday: day 4 since the epoch.
    let time_ms = ((4 + weekday) * 86_400 + hour * 3600 + minute * 60) * 1000;
    Ok(CallView {
        call_id: "test".into(),
        called: case.called.clone(),
        calling: case.calling.clone(),
        called_noa: noa,
        presentation_restricted: case.presentation.as_deref() == Some("restricted"),
        source,
        trunk: case.trunk.clone(),
        from_uri: String::new(),
        headers: case
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        time_ms,
    })
}

impl TestBench {
    /// Loads a fixture file's dialplan, tables and zones.
    pub fn from_fixture(path: &Path) -> Result<(TestBench, Vec<Case>), FixtureError> {
        let text = read(path)?;
        let file: FixtureFile = toml::from_str(&text).map_err(|err| FixtureError::Invalid {
            path: path.display().to_string(),
            message: err.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let join = |paths: &[PathBuf]| paths.iter().map(|p| base.join(p)).collect::<Vec<_>>();
        let bench = TestBench::load(
            &base.join(&file.dialplan),
            &join(&file.tables),
            &join(&file.enum_zones),
            file.enum_suffixes,
            file.trunks,
            DialplanLimits::default(),
        )?;
        Ok((bench, file.cases))
    }

    /// Loads a script with its tables and zones.
    pub fn load(
        script: &Path,
        tables: &[PathBuf],
        zones: &[PathBuf],
        suffixes: Vec<String>,
        trunks: BTreeMap<String, i64>,
        limits: DialplanLimits,
    ) -> Result<TestBench, FixtureError> {
        let source = read(script)?;
        let plan = Dialplan::compile_with_tables(
            &script.display().to_string(),
            &source,
            &read_files(tables)?,
            limits,
        )?;
        let zones = ZoneSet::parse(&read_files(zones)?)?;
        let suffixes = if suffixes.is_empty() {
            vec!["e164.arpa".to_string()]
        } else {
            suffixes
        };
        Ok(TestBench {
            plan,
            zones,
            suffixes,
            trunks,
        })
    }

    /// Runs the dialplan for `view`, answering ENUM lookups from the zones, and returns the decision and
    /// the lines the script logged.
    pub fn decide(
        &self,
        view: &CallView,
        trunk_overrides: &BTreeMap<String, i64>,
    ) -> (Result<RouteDecision, DialplanError>, Vec<String>) {
        let mut idle: HashMap<String, i64> =
            self.trunks.iter().map(|(k, v)| (k.clone(), *v)).collect();
        idle.extend(trunk_overrides.iter().map(|(k, v)| (k.clone(), *v)));
        let mut env = RouteEnv {
            idle_circuits: idle,
            ..RouteEnv::default()
        };
        let mut logs = Vec::new();
        // Each round answers at least one new number; a script cannot ask for more than this many.
        for _ in 0..16 {
            let outcome = self.plan.run(view, &mut env);
            logs.append(&mut env.logs);
            match outcome {
                Err(error) => return (Err(error), logs),
                Ok(Outcome::Decided(decision)) => return (Ok(decision), logs),
                Ok(Outcome::Pending(numbers)) => {
                    for number in numbers {
                        let result = resolve_in_zones(&self.zones, &self.suffixes, &number);
                        env.enum_answers.insert(number, result);
                    }
                }
            }
        }
        (
            Err(DialplanError::Runtime {
                name: self.plan.name().to_string(),
                location: " ".into(),
                message: "too many ENUM lookups".into(),
            }),
            logs,
        )
    }

    /// Runs one case; `Ok(printed decision)` when it meets its expectation, `Err(explanation)` otherwise.
    pub fn check(&self, case: &Case) -> Result<String, String> {
        let view = case_view(case)?;
        let (result, _) = self.decide(&view, &case.trunks);
        match (result, &case.expect, &case.expect_error) {
            (Ok(decision), Some(expect), _) => {
                let got = decision.to_string();
                if normalise(&got) == normalise(expect) {
                    Ok(got)
                } else {
                    Err(format!("expected `{expect}`, got `{got}`"))
                }
            }
            (Err(error), _, Some(expected)) => {
                let text = error.to_string();
                if text.contains(expected.as_str()) {
                    Ok(text)
                } else {
                    Err(format!(
                        "expected an error containing {expected:?}, got: {text}"
                    ))
                }
            }
            (Ok(decision), None, Some(expected)) => Err(format!(
                "expected an error containing {expected:?}, got `{decision}`"
            )),
            (Err(error), _, None) => Err(format!("script failed: {error}")),
            (Ok(decision), None, None) => Err(format!(
                "case has neither `expect` nor `expect_error` (decision: `{decision}`)"
            )),
        }
    }
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_view_time_and_weekday() {
        let view = case_view(&Case {
            called: "+441234".into(),
            time: Some("22:30".into()),
            weekday: Some("sat".into()),
            ..Case::default()
        })
        .expect("view");
        assert_eq!(view.called_noa, NatureOfAddress::International);
        // Saturday 22:30 of the first full week of 1970 (Mon 5 Jan).
        assert_eq!(view.time_ms, ((9 * 86_400) + 22 * 3600 + 30 * 60) * 1000);
        assert!(case_view(&Case {
            time: Some("25:00".into()),
            ..Case::default()
        })
        .is_err());
    }
}
