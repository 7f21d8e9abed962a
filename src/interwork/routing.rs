//! Running the dialplan for a call and carrying out its decision: the script runs when the call arrives; when
//! it asks for an ENUM answer the gateway does not have, the call waits in `Routing` (other calls go on), the
//! query leaves as [`Output::EnumQuery`], and the script runs again with the call's answers once the
//! [`Input::EnumAnswer`](crate::events::Input::EnumAnswer)s are in (ARCHITECTURE.md rule 6). Answers are cached
//! on the core's clock, so a cache hit replays as one. A decision's routes are tried in order; the next is
//! taken when one cannot be used or fails with a retryable cause (`[dialplan] retry_causes`,
//! `retry_statuses`).

use std::sync::Arc;

use super::call::{CallState, Origin};
use super::sip_side::ChosenNumbers;
use super::tables::ReleaseReason;
use crate::events::{EventKind, LogLevel, Output};
use crate::gateway::Gateway;
use crate::routing::enum_dns::{enum_domain, EnumAnswer, EnumResult};
use crate::routing::{CallView, Dialplan, Outcome, Route, RouteDecision, RouteEnv};

/// A dialplan run waiting for ENUM answers. It keeps the script it started with: a reload meanwhile does not
/// change the decision of a call already being routed.
#[derive(Debug)]
pub(crate) struct PendingRouting {
    plan: Arc<Dialplan>,
    env: RouteEnv,
    /// Numbers asked for and not answered yet.
    waiting: usize,
}

impl Clone for PendingRouting {
    fn clone(&self) -> Self {
        PendingRouting {
            plan: self.plan.clone(),
            env: self.env.clone(),
            waiting: self.waiting,
        }
    }
}

/// An ENUM query in flight.
#[derive(Debug, Clone)]
pub(crate) struct EnumQuery {
    call: u64,
    number: String,
    suffix: usize,
}

impl Gateway {
    /// Starts routing a call whose view is set: runs the dialplan.
    pub(crate) fn start_routing(&mut self, number: u64, view: CallView) {
        let plan = self.dialplan.clone();
        if let Some(call) = self.calls.get_mut(&number) {
            call.view = Some(Box::new(view));
            call.routing = Some(Box::new(PendingRouting {
                plan,
                env: RouteEnv::default(),
                waiting: 0,
            }));
        }
        self.run_dialplan(number);
    }

    fn run_dialplan(&mut self, number: u64) {
        let Some(call) = self.calls.get_mut(&number) else {
            return;
        };
        let (Some(mut pending), Some(view)) = (call.routing.take(), call.view.clone()) else {
            return;
        };
        pending.env.idle_circuits = self
            .trunks
            .iter()
            .map(|t| {
                let idle = if t.is_active() {
                    t.isup.pool().idle_count()
                } else {
                    0
                };
                (t.name.clone(), i64::try_from(idle).unwrap_or(i64::MAX))
            })
            .collect();
        // Cache hits are answered at once and the script runs again; each round answers at least one number.
        let outcome = loop {
            let outcome = pending.plan.run(&view, &mut pending.env);
            let script = pending.plan.name().to_string();
            for line in std::mem::take(&mut pending.env.logs) {
                self.log(LogLevel::Info, format!("{script}: {line}"));
            }
            let Ok(Outcome::Pending(numbers)) = &outcome else {
                break outcome;
            };
            let mut asked = 0;
            for wanted in numbers {
                match self.cached_enum(wanted) {
                    Some(result) => {
                        pending.env.enum_answers.insert(wanted.clone(), result);
                    }
                    None => {
                        self.send_enum_query(number, wanted, 0);
                        asked += 1;
                    }
                }
            }
            if asked > 0 {
                pending.waiting = asked;
                if let Some(call) = self.calls.get_mut(&number) {
                    call.routing = Some(pending);
                }
                return;
            }
        };
        match outcome {
            Err(error) => {
                let cause = self.config.dialplan.failure_cause;
                self.log(LogLevel::Error, format!("dialplan failed: {error}"));
                self.end_call_with_cause(number, cause, "dialplan error");
            }
            Ok(Outcome::Pending(_)) => {}
            Ok(Outcome::Decided(RouteDecision::Reject { cause })) => {
                self.log(
                    LogLevel::Info,
                    format!("dialplan rejected the call with cause {cause}"),
                );
                self.end_call_with_cause(number, cause, "dialplan rejected");
            }
            Ok(Outcome::Decided(decision @ RouteDecision::Routes(_))) => {
                self.log(LogLevel::Info, format!("dialplan decided: {decision}"));
                if let (Some(call), RouteDecision::Routes(routes)) =
                    (self.calls.get_mut(&number), decision)
                {
                    call.routes = routes.into();
                }
                self.try_next_route(number);
            }
        }
    }

    /// The ENUM result for `number` from the cache (first suffix that is not NXDOMAIN, as a lookup would).
    fn cached_enum(&self, number: &str) -> Option<EnumResult> {
        let suffixes = &self.config.enum_lookup.suffixes;
        for (index, suffix) in suffixes.iter().enumerate() {
            let domain = enum_domain(number, suffix)?;
            let result = self.enum_cache.result(&domain, number, self.now)?;
            let last = index + 1 == suffixes.len();
            if result != EnumResult::NotFound || last {
                return Some(result);
            }
        }
        None
    }

    fn send_enum_query(&mut self, call: u64, number: &str, suffix: usize) {
        let domain = self
            .config
            .enum_lookup
            .suffixes
            .get(suffix)
            .and_then(|s| enum_domain(number, s));
        let Some(domain) = domain else {
            // No digits: answer at once so the script sees a failed lookup rather than waiting forever.
            return self.enum_answered(
                call,
                number.to_string(),
                EnumResult::Failed(format!("{number:?} is not an E.164 number")),
            );
        };
        self.next_query += 1;
        let id = self.next_query;
        self.enum_queries.insert(
            id,
            EnumQuery {
                call,
                number: number.to_string(),
                suffix,
            },
        );
        self.push_call_event(
            Some(call),
            EventKind::Output(Output::EnumQuery { id, domain }),
        );
    }

    /// Takes the answer to ENUM query `id`.
    pub(crate) fn handle_enum_answer(&mut self, id: u64, domain: &str, answer: &EnumAnswer) {
        let Some(query) = self.enum_queries.remove(&id) else {
            self.log(
                LogLevel::Warn,
                format!("ENUM answer for unknown query {id} ({domain})"),
            );
            return;
        };
        self.current = Some(query.call);
        self.enum_cache
            .insert(domain, answer, &query.number, self.now);
        let more_suffixes = query.suffix + 1 < self.config.enum_lookup.suffixes.len();
        if matches!(answer, EnumAnswer::NxDomain { .. }) && more_suffixes {
            return self.send_enum_query(query.call, &query.number, query.suffix + 1);
        }
        if let EnumAnswer::Failed { reason } = answer {
            self.log(
                LogLevel::Warn,
                format!("ENUM lookup of {domain} failed: {reason}"),
            );
        }
        let result = EnumResult::from_answer(answer, &query.number);
        self.enum_answered(query.call, query.number, result);
    }

    fn enum_answered(&mut self, call: u64, number: String, result: EnumResult) {
        let Some(pending) = self.calls.get_mut(&call).and_then(|c| c.routing.as_mut()) else {
            // The call went away (CANCEL) while the lookup was out: the answer is only cached.
            return;
        };
        pending.env.enum_answers.insert(number, result);
        pending.waiting = pending.waiting.saturating_sub(1);
        if pending.waiting == 0 {
            self.run_dialplan(call);
        }
    }

    /// Tries the call's next route; ends the call when none is left.
    pub(crate) fn try_next_route(&mut self, number: u64) {
        let Some(call) = self.calls.get_mut(&number) else {
            return;
        };
        let Some(route) = call.routes.pop_front() else {
            return self.end_call(number, ReleaseReason::NoRoute, "no route left");
        };
        let origin = call.origin;
        let view = call.view.clone().unwrap_or_default();
        let invite = call.invite.clone();
        match (origin, route) {
            (
                Origin::Sip,
                Route::Trunk {
                    trunk,
                    called,
                    calling,
                    ported,
                },
            ) => {
                let Some(invite) = invite else {
                    return self.end_call(number, ReleaseReason::NoRoute, "no INVITE");
                };
                let chosen = ChosenNumbers {
                    keep_encapsulated_called: called.is_none() && invite.encapsulated_called,
                    keep_encapsulated_calling: calling.is_none() && invite.encapsulated_calling,
                    ported_from: ported.then(|| view.called.clone()),
                    called: called.unwrap_or(view.called),
                    calling: calling.unwrap_or(view.calling),
                };
                self.send_iam(number, &trunk, &chosen, &invite);
            }
            (Origin::Sip, Route::Sip { uri, calling, .. }) => {
                let Some(invite) = invite else {
                    return self.end_call(number, ReleaseReason::NoRoute, "no INVITE");
                };
                let calling = calling.unwrap_or(view.calling);
                self.start_b2bua(number, &uri, &calling, &invite);
            }
            (
                Origin::Isup,
                // The target URI carries the called party; a `called` rewrite only matters for trunk routes.
                Route::Sip { uri, calling, .. },
            ) => {
                let calling = calling.unwrap_or(view.calling);
                self.send_invite(number, &uri, &calling, view.presentation_restricted, None);
            }
            (Origin::Isup, Route::User { user, calling }) => {
                let calling = calling.unwrap_or(view.calling);
                let now = self.now;
                let binding = self
                    .sip
                    .bindings(&user, now)
                    .first()
                    .map(|b| (b.uri.clone(), b.source, b.transport));
                match binding {
                    Some((uri, source, transport)) => {
                        self.log(
                            LogLevel::Info,
                            format!("user {user} is registered at {uri} (via {source})"),
                        );
                        self.send_invite_to(
                            number,
                            &uri,
                            (source, transport),
                            &calling,
                            view.presentation_restricted,
                            None,
                        );
                    }
                    None => self.user_not_registered(number, &user),
                }
            }
            (Origin::Sip, Route::User { user, .. }) => {
                self.log(LogLevel::Error, format!("dialplan routed a SIP call to user {user}; tandem routes SIP calls to trunks only"));
                self.route_failed(number, ReleaseReason::NoRoute);
            }
            (Origin::Isup, Route::Trunk { trunk, .. }) => {
                self.log(
                    LogLevel::Error,
                    format!(
                        "dialplan routed an ISUP call to trunk {trunk}; transit is not supported"
                    ),
                );
                self.route_failed(number, ReleaseReason::NoRoute);
            }
        }
    }

    /// A `user` route whose user has no binding: the next route, or the cause the tables give SIP 480
    /// (Temporarily Unavailable, RFC 3261 §21.4.18: "currently unavailable (e.g., is not logged in)").
    fn user_not_registered(&mut self, number: u64, user: &str) {
        let left = self.calls.get(&number).map_or(0, |c| c.routes.len());
        self.log(LogLevel::Info, format!("user {user} is not registered"));
        if left > 0 {
            self.try_next_route(number);
        } else {
            let cause = self.tables_for(number).cause_for_sip_status(480);
            self.end_call_with_cause(number, cause, "user not registered");
        }
    }

    /// A route could not be used: try the next one, or end the call for `reason`.
    pub(crate) fn route_failed(&mut self, number: u64, reason: ReleaseReason) {
        let left = self.calls.get(&number).map_or(0, |c| c.routes.len());
        if left > 0 {
            self.log(
                LogLevel::Info,
                format!("route failed ({reason:?}); trying the next of {left}"),
            );
            self.try_next_route(number);
        } else {
            self.end_call(number, reason, "no usable route");
        }
    }

    fn end_call(&mut self, number: u64, reason: ReleaseReason, why: &str) {
        let cause = self.tables_for(number).release_cause(reason);
        self.end_call_with_cause(number, cause, why);
    }

    fn end_call_with_cause(&mut self, number: u64, cause: u8, why: &str) {
        match self.calls.get(&number).map(|c| c.origin) {
            Some(Origin::Sip) => self.reject_sip_call_with_cause(number, cause),
            Some(Origin::Isup) => self.release_circuit_with_cause(number, cause, why),
            None => {}
        }
    }

    /// After a REL before address complete on a SIP-originated call: whether the next route was taken.
    pub(crate) fn retry_after_release(&mut self, number: u64, cause: u8) -> bool {
        let Some(call) = self.calls.get_mut(&number) else {
            return false;
        };
        let retryable = call.origin == Origin::Sip
            && call.state == CallState::Proceeding
            && !call.routes.is_empty()
            && self.config.dialplan.retry_causes.contains(&cause);
        if !retryable {
            return false;
        }
        // Call control answered the REL with RLC: the circuit is idle, the call no longer holds it.
        if let (Some(trunk), Some(cic)) = (call.trunk.take(), call.cic.take()) {
            call.isup_done = true;
            if let Some(trunk) = self.trunks.get_mut(trunk) {
                trunk.cics.remove(&cic);
            }
        }
        self.log(
            LogLevel::Info,
            format!("released with cause {cause} before address complete; trying the next route"),
        );
        self.set_call_state(
            number,
            CallState::Routing,
            &format!("cause {cause}: next route"),
        );
        self.try_next_route(number);
        true
    }

    /// After a final SIP error from a call's SIP target (ISUP→SIP, or the outgoing leg of SIP→SIP): whether the
    /// next route was taken.
    pub(crate) fn retry_after_rejection(&mut self, number: u64, status: u16) -> bool {
        let Some(call) = self.calls.get_mut(&number) else {
            return false;
        };
        // A SIP→SIP call whose caller has gone has no one to retry for.
        let caller_waits = call.origin == Origin::Isup || !call.sip_done;
        let retryable = caller_waits
            && matches!(call.state, CallState::Proceeding | CallState::Alerting)
            && !call.routes.is_empty()
            && self.config.dialplan.retry_statuses.contains(&status);
        if !retryable {
            return false;
        }
        if let Some(leg) = call.take_outgoing_leg() {
            self.legs.remove(&leg);
        }
        self.log(
            LogLevel::Info,
            format!("SIP target answered {status}; trying the next route"),
        );
        self.set_call_state(number, CallState::Routing, &format!("{status}: next route"));
        self.try_next_route(number);
        true
    }

    /// Takes a new dialplan for new calls; a script that does not compile is refused and the old one stays.
    pub(crate) fn reload_dialplan(
        &mut self,
        dialplan: &crate::events::SourceText,
        tables: &[crate::events::SourceText],
    ) {
        let tables: Vec<(String, String)> = tables
            .iter()
            .map(|t| (t.name.clone(), t.text.clone()))
            .collect();
        match Dialplan::compile_with_tables(
            &dialplan.name,
            &dialplan.text,
            &tables,
            self.config.dialplan.limits(),
        ) {
            Ok(plan) => {
                self.dialplan = Arc::new(plan);
                self.log(
                    LogLevel::Info,
                    format!("dialplan {} reloaded; new calls use it", dialplan.name),
                );
            }
            Err(error) => self.log(
                LogLevel::Error,
                format!(
                    "dialplan reload refused, keeping {}: {error}",
                    self.dialplan.name()
                ),
            ),
        }
    }
}
