//! The exchange's behaviour towards incoming calls: the scenario file (TOML) and the sans-IO
//! engine that turns "an IAM arrived for this number at this time" into timed Q.764 actions
//! (ACM, CPG, ANM, CON, REL) for the terminating side of ISUP basic call control (Q.764 §2.1).
//!
//! The file format is documented at the top of `scenarios/default.toml`. The engine never
//! touches a clock: the runtime feeds `now_ms`, arms a timer from [`ScenarioEngine::poll_timeout`]
//! and drains [`ScenarioEngine::poll_action`] after every input.

use std::collections::VecDeque;

use serde::Deserialize;

/// The scenario bundled with the binary (`scenarios/default.toml`).
pub const DEFAULT_SCENARIO: &str = include_str!("../scenarios/default.toml");

/// Q.850 cause #1, sent when no rule matches the called number.
const UNALLOCATED_NUMBER: u8 = 1;
/// Q.850 cause #16, sent when the exchange hangs up an answered call.
pub const NORMAL_CALL_CLEARING: u8 = 16;
/// Q.850 cause #31, the fallback when a `cause_from_number` number carries no usable cause.
const NORMAL_UNSPECIFIED: u8 = 31;

/// Errors loading a scenario; each names the file and the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("scenario {file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The TOML did not parse or has a wrong or unknown key (the message names it).
    #[error("scenario {file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// What the TOML parser said, including the key.
        message: String,
    },
    /// A rule is well-formed TOML but makes no sense.
    #[error("scenario {file}: rule[{index}].{key}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// Index of the rule in the `[[rule]]` array.
        index: usize,
        /// The key at fault.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

/// How a rule decides what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Follow the timings of the rule.
    #[default]
    Script,
    /// ACM, then REL with the cause taken from the three digits after the prefix.
    CauseFromNumber,
}

/// Event indicator of a CPG (Q.763 §3.21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpgEvent {
    /// Alerting (1).
    Alerting,
    /// Progress (2).
    Progress,
    /// In-band information or an appropriate pattern is now available (3).
    InBandInformation,
    /// Call forwarded on busy (4).
    CallForwardedOnBusy,
    /// Call forwarded on no reply (5).
    CallForwardedOnNoReply,
    /// Call forwarded unconditional (6).
    CallForwardedUnconditional,
}

impl CpgEvent {
    /// The event indicator value of Q.763 §3.21.
    pub fn event_indicator(self) -> u8 {
        match self {
            CpgEvent::Alerting => 1,
            CpgEvent::Progress => 2,
            CpgEvent::InBandInformation => 3,
            CpgEvent::CallForwardedOnBusy => 4,
            CpgEvent::CallForwardedOnNoReply => 5,
            CpgEvent::CallForwardedUnconditional => 6,
        }
    }
}

/// One `[[rule]]` of a scenario. Times are milliseconds after the IAM arrived, except
/// `hangup_after_ms`, which counts from the answer (ANM or CON).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Name shown in the log.
    #[serde(default)]
    pub name: String,
    /// Called-number prefix this rule applies to (`""` matches every number).
    #[serde(default)]
    pub prefix: String,
    /// How the rule decides.
    #[serde(default)]
    pub kind: RuleKind,
    /// Send ACM (called party status: subscriber free) this long after the IAM.
    pub acm_after_ms: Option<u64>,
    /// Send CPG with this event after ACM.
    pub cpg_event: Option<CpgEvent>,
    /// When to send the CPG.
    pub cpg_after_ms: Option<u64>,
    /// Send ANM (after ACM).
    pub answer_after_ms: Option<u64>,
    /// Send CON instead of ACM + ANM.
    pub con_after_ms: Option<u64>,
    /// Release (REL) instead of answering.
    pub release_after_ms: Option<u64>,
    /// Cause of that REL (Q.850, 1–127).
    pub release_cause: Option<u8>,
    /// After the answer, the exchange releases first (REL cause 16) after this long.
    pub hangup_after_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// A parsed and checked scenario: rules in file order, first match wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The rules.
    pub rules: Vec<Rule>,
}

impl Scenario {
    /// Parses and validates scenario text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let parsed: ScenarioFile = toml::from_str(text).map_err(|error| ScenarioError::Syntax {
            file: file.to_owned(),
            message: error.to_string().trim().replace('\n', " "),
        })?;
        if parsed.rule.is_empty() {
            return Err(ScenarioError::Syntax {
                file: file.to_owned(),
                message: "no [[rule]] defined (key `rule`)".to_owned(),
            });
        }
        for (index, rule) in parsed.rule.iter().enumerate() {
            validate(rule).map_err(|(key, reason)| ScenarioError::Invalid {
                file: file.to_owned(),
                index,
                key,
                reason,
            })?;
        }
        Ok(Scenario { rules: parsed.rule })
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: file.clone(),
            source,
        })?;
        Scenario::parse(&file, &text)
    }

    /// The bundled default scenario.
    pub fn default_scenario() -> Scenario {
        // The bundled file is checked by a unit test; an empty scenario (every call refused
        // with cause 1) is the harmless fallback should that ever fail.
        Scenario::parse("scenarios/default.toml", DEFAULT_SCENARIO)
            .unwrap_or(Scenario { rules: Vec::new() })
    }

    /// The first rule whose prefix starts `called`.
    pub fn matching_rule(&self, called: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|rule| called.starts_with(&rule.prefix))
    }
}

fn validate(rule: &Rule) -> Result<(), (&'static str, String)> {
    if let Some(cause) = rule.release_cause {
        if !(1..=127).contains(&cause) {
            return Err((
                "release_cause",
                format!("{cause} is not a Q.850 cause (1-127)"),
            ));
        }
    }
    if rule.cpg_event.is_some() != rule.cpg_after_ms.is_some() {
        return Err((
            "cpg_event",
            "cpg_event and cpg_after_ms go together".to_owned(),
        ));
    }
    if rule.kind == RuleKind::CauseFromNumber {
        if rule.answer_after_ms.is_some() || rule.con_after_ms.is_some() {
            return Err((
                "kind",
                "cause_from_number rules release; drop answer_after_ms/con_after_ms".to_owned(),
            ));
        }
        return Ok(());
    }
    let endings = [
        rule.answer_after_ms,
        rule.con_after_ms,
        rule.release_after_ms,
    ];
    match endings.iter().filter(|ending| ending.is_some()).count() {
        0 => Err((
            "answer_after_ms",
            "a rule needs one of answer_after_ms, con_after_ms, release_after_ms".to_owned(),
        )),
        1 => {
            if rule.con_after_ms.is_some() && rule.acm_after_ms.is_some() {
                return Err((
                    "con_after_ms",
                    "CON is sent instead of ACM; drop acm_after_ms".to_owned(),
                ));
            }
            if rule.answer_after_ms.is_some() && rule.acm_after_ms.is_none() {
                return Err((
                    "acm_after_ms",
                    "ANM needs a prior ACM (or use con_after_ms)".to_owned(),
                ));
            }
            if rule.release_after_ms.is_some() && rule.hangup_after_ms.is_some() {
                return Err((
                    "hangup_after_ms",
                    "a released call is never answered".to_owned(),
                ));
            }
            Ok(())
        }
        _ => Err((
            "release_after_ms",
            "answer_after_ms, con_after_ms and release_after_ms exclude each other".to_owned(),
        )),
    }
}

/// The cause encoded in a `cause_from_number` number: the three digits after `prefix`
/// (`990017…` → 17). `None` when they are missing, not digits, or not 1–127.
pub fn cause_from_number(called: &str, prefix: &str) -> Option<u8> {
    let digits = called.strip_prefix(prefix)?.get(..3)?;
    let value: u16 = digits.parse().ok()?;
    u8::try_from(value)
        .ok()
        .filter(|cause| (1..=127).contains(cause))
}

/// One thing the exchange does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send ACM (called party status: subscriber free).
    AddressComplete,
    /// Send CPG with this event indicator.
    Progress(u8),
    /// Send ANM.
    Answer,
    /// Send CON.
    Connect,
    /// Send REL with this cause.
    Release(u8),
}

/// A step due now on one circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// The circuit.
    pub cic: u16,
    /// What to do.
    pub step: Step,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    due_ms: u64,
    sequence: u64,
    action: Action,
}

/// Sans-IO scenario engine: schedules the steps of the matching rule for every incoming call.
///
/// Feed [`ScenarioEngine::handle_incoming_setup`], [`ScenarioEngine::handle_answered`],
/// [`ScenarioEngine::handle_call_ended`] and [`ScenarioEngine::handle_timeout`]; then drain
/// [`ScenarioEngine::poll_action`] and re-arm from [`ScenarioEngine::poll_timeout`].
#[derive(Debug, Clone)]
pub struct ScenarioEngine {
    scenario: Scenario,
    pending: Vec<Pending>,
    hangups: Vec<(u16, u64)>,
    due: VecDeque<Action>,
    sequence: u64,
}

impl ScenarioEngine {
    /// An engine following `scenario`.
    pub fn new(scenario: Scenario) -> Self {
        ScenarioEngine {
            scenario,
            pending: Vec::new(),
            hangups: Vec::new(),
            due: VecDeque::new(),
            sequence: 0,
        }
    }

    /// An IAM for `called` seized `cic` at `now_ms`: schedules the matching rule's steps and
    /// returns the rule's name (`None` when no rule matched and the call is refused with
    /// cause 1).
    pub fn handle_incoming_setup(&mut self, cic: u16, called: &str, now_ms: u64) -> Option<String> {
        self.handle_call_ended(cic);
        let Some(rule) = self.scenario.matching_rule(called).cloned() else {
            self.schedule(cic, now_ms, Step::Release(UNALLOCATED_NUMBER));
            return None;
        };
        if let Some(at) = rule.acm_after_ms {
            self.schedule(cic, now_ms.saturating_add(at), Step::AddressComplete);
        }
        if let (Some(event), Some(at)) = (rule.cpg_event, rule.cpg_after_ms) {
            self.schedule(
                cic,
                now_ms.saturating_add(at),
                Step::Progress(event.event_indicator()),
            );
        }
        match rule.kind {
            RuleKind::CauseFromNumber => {
                let cause = cause_from_number(called, &rule.prefix)
                    .or(rule.release_cause)
                    .unwrap_or(NORMAL_UNSPECIFIED);
                let at = rule.release_after_ms.or(rule.acm_after_ms).unwrap_or(0);
                self.schedule(cic, now_ms.saturating_add(at), Step::Release(cause));
            }
            RuleKind::Script => {
                if let Some(at) = rule.answer_after_ms {
                    self.schedule(cic, now_ms.saturating_add(at), Step::Answer);
                }
                if let Some(at) = rule.con_after_ms {
                    self.schedule(cic, now_ms.saturating_add(at), Step::Connect);
                }
                if let Some(at) = rule.release_after_ms {
                    let cause = rule.release_cause.unwrap_or(NORMAL_UNSPECIFIED);
                    self.schedule(cic, now_ms.saturating_add(at), Step::Release(cause));
                }
                if let Some(hold) = rule.hangup_after_ms {
                    self.hangups.push((cic, hold));
                }
            }
        }
        Some(if rule.name.is_empty() {
            format!("prefix '{}'", rule.prefix)
        } else {
            rule.name
        })
    }

    /// The call on `cic` was answered (ANM or CON sent) at `now_ms`: starts the hang-up
    /// timer if the rule has one.
    pub fn handle_answered(&mut self, cic: u16, now_ms: u64) {
        if let Some(index) = self.hangups.iter().position(|(c, _)| *c == cic) {
            let (_, hold) = self.hangups.swap_remove(index);
            self.schedule(
                cic,
                now_ms.saturating_add(hold),
                Step::Release(NORMAL_CALL_CLEARING),
            );
        }
    }

    /// The call on `cic` is over (released by either side, reset): forgets its steps.
    pub fn handle_call_ended(&mut self, cic: u16) {
        self.pending.retain(|p| p.action.cic != cic);
        self.hangups.retain(|(c, _)| *c != cic);
        self.due.retain(|action| action.cic != cic);
    }

    /// Moves every step due at `now_ms` to the output, in schedule order.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let mut ready: Vec<Pending> = Vec::new();
        self.pending.retain(|p| {
            if p.due_ms <= now_ms {
                ready.push(*p);
                false
            } else {
                true
            }
        });
        ready.sort_by_key(|p| (p.due_ms, p.sequence));
        self.due.extend(ready.into_iter().map(|p| p.action));
    }

    /// The next action to carry out.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.due.pop_front()
    }

    /// When [`ScenarioEngine::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.pending.iter().map(|p| p.due_ms).min()
    }

    fn schedule(&mut self, cic: u16, due_ms: u64, step: Step) {
        self.sequence += 1;
        self.pending.push(Pending {
            due_ms,
            sequence: self.sequence,
            action: Action { cic, step },
        });
    }
}

#[cfg(test)]
mod tests;
