//! Routing key management on the client side (RFC 4666 §4.4): the REG-RSP that completes a dynamic
//! registration, and deregistration (DEREG-REQ / DEREG-RSP, §4.4.3) of the registered key.

use super::{Asp, AspError, AspEvent, AspState};
use crate::sigtran::m3ua::message::{M3uaMessage, MessageType};
use crate::sigtran::m3ua::parameter::{tag, Parameter};

impl Asp {
    /// Deregisters the dynamically registered routing key (DEREG-REQ, RFC 4666 §4.4.3). The ASP
    /// must be inactive for it (ASPIA first): an SGP refuses to deregister a key an ASP is active
    /// for. The outcome arrives as [`AspEvent::Deregistered`] or
    /// [`AspEvent::DeregistrationFailed`].
    pub fn request_deregistration(&mut self) -> Result<(), AspError> {
        self.require_client("DEREG-REQ")?;
        let Some(routing_context) = self.registered_routing_context else {
            return Err(AspError::InvalidState {
                request: "DEREG-REQ (no registered routing key)",
                state: self.state,
            });
        };
        if self.state != AspState::Inactive {
            return Err(AspError::InvalidState {
                request: "DEREG-REQ",
                state: self.state,
            });
        }
        self.deregistering = true;
        self.send(
            MessageType::DeregistrationRequest,
            vec![Parameter::RoutingContext(vec![routing_context])],
        );
        Ok(())
    }

    pub(super) fn handle_deregistration_response(&mut self, message: &M3uaMessage) {
        self.deregistering = false;
        let ours = self.registered_routing_context;
        let status = message
            .nested(tag::DEREGISTRATION_RESULT)
            .map(deregistration_outcome)
            .find(|(rc, _)| *rc == ours)
            .and_then(|(_, status)| status);
        match (status, ours) {
            (Some(0), Some(routing_context)) => {
                self.registered_routing_context = None;
                self.active_routing_context = None;
                self.events
                    .push_back(AspEvent::Deregistered { routing_context });
            }
            (status, _) => self.events.push_back(AspEvent::DeregistrationFailed {
                // No result for our Routing Context: "Error - Unknown" (RFC 4666 §3.6.4).
                status: status.unwrap_or(1),
            }),
        }
    }

    pub(super) fn handle_registration_response(&mut self, message: &M3uaMessage, now_ms: u64) {
        let wanted = self
            .config
            .register_routing_key
            .as_ref()
            .map(|k| k.local_rk_id);
        let outcome = message
            .nested(tag::REGISTRATION_RESULT)
            .map(registration_outcome)
            .find(|(rk, _, _)| *rk == wanted);
        self.retry_at = None;
        match outcome {
            Some((_, Some(0), Some(routing_context))) => {
                self.registered_routing_context = Some(routing_context);
                self.events
                    .push_back(AspEvent::Registered { routing_context });
                self.set_state(AspState::Inactive, "routing key registered", now_ms);
                self.send_step(now_ms, "registered, activating");
            }
            other => {
                let status = other.and_then(|(_, s, _)| s).unwrap_or(1);
                self.events
                    .push_back(AspEvent::RegistrationFailed { status });
                self.set_state(
                    AspState::Inactive,
                    "routing key registration refused",
                    now_ms,
                );
            }
        }
    }
}

/// (Local RK Identifier, Registration Status, first Routing Context) of a
/// Registration Result.
fn registration_outcome(inner: &[Parameter]) -> (Option<u32>, Option<u32>, Option<u32>) {
    let mut outcome = (None, None, None);
    for parameter in inner {
        match parameter {
            Parameter::LocalRoutingKeyIdentifier(v) => outcome.0 = Some(*v),
            Parameter::RegistrationStatus(v) => outcome.1 = Some(*v),
            Parameter::RoutingContext(v) => outcome.2 = v.first().copied(),
            _ => {}
        }
    }
    outcome
}

/// (Routing Context, Deregistration Status) of a Deregistration Result.
fn deregistration_outcome(inner: &[Parameter]) -> (Option<u32>, Option<u32>) {
    let mut outcome = (None, None);
    for parameter in inner {
        match parameter {
            Parameter::RoutingContext(v) => outcome.0 = v.first().copied(),
            Parameter::DeregistrationStatus(v) => outcome.1 = Some(*v),
            _ => {}
        }
    }
    outcome
}
