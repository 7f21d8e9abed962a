//! The SGP end of the ASP state machine (RFC 4666 §4.3.4, §4.4): answers
//! ASPSM/ASPTM requests, assigns Routing Contexts on registration and
//! tracks the peer ASP's state, as the SS7 exchange simulator needs.

use super::{Asp, AspError, AspState, TrafficMode, STATUS_AS_ACTIVE, STATUS_AS_INACTIVE};
use crate::sigtran::m3ua::error::error_code;
use crate::sigtran::m3ua::message::{M3uaMessage, MessageType};
use crate::sigtran::m3ua::parameter::{tag, Parameter};

impl Asp {
    /// An SGP reports the state of destinations behind it (SSNM, RFC 4666 §3.4: DUNA, DAVA, SCON, DUPU,
    /// DRST) with `parameters` (Affected Point Code and the like); the Routing Context is added.
    pub fn send_network_management(
        &mut self,
        message_type: MessageType,
        parameters: Vec<Parameter>,
    ) -> Result<(), AspError> {
        if self.config.role != super::Role::Sgp || self.config.ipsp.is_some() || !self.state.is_up()
        {
            return Err(AspError::InvalidState {
                request: message_type.name(),
                state: self.state,
            });
        }
        let mut all = self.routing_context_parameter();
        all.extend(parameters);
        self.send(message_type, all);
        Ok(())
    }

    /// How an SGP answers DAUD from now on: SCON with this congestion level, or (`None`) DAVA.
    pub fn set_audit_congestion(&mut self, level: Option<u8>) {
        self.audit_congestion = level;
    }

    pub(super) fn handle_as_sgp(&mut self, message: &M3uaMessage, now_ms: u64) {
        use AspState as S;
        use MessageType as T;
        match (message.message_type, self.state) {
            (T::AspUp, S::Active) => {
                // RFC 4666 §4.3.4.1: acknowledge, flag the surprise, and
                // treat the ASP as inactive again.
                self.send_error(error_code::UNEXPECTED_MESSAGE, None);
                self.send(T::AspUpAck, self.asp_identifier_parameter());
                self.set_state(S::Inactive, "ASPUP received while active", now_ms);
                self.notify(STATUS_AS_INACTIVE);
            }
            (T::AspUp, state) => {
                self.send(T::AspUpAck, self.asp_identifier_parameter());
                if state != S::Inactive {
                    self.set_state(S::Inactive, "ASPUP received", now_ms);
                    // RFC 4666 §4.3.4.5: tell the ASP the AS state after ASPUP-ACK.
                    self.notify(STATUS_AS_INACTIVE);
                }
            }
            (T::AspDown, _) => {
                self.send(T::AspDownAck, vec![]);
                self.set_state(S::Down, "ASPDN received", now_ms);
            }
            (T::AspActive, S::Inactive | S::Active) => self.handle_aspac(message, now_ms),
            (T::AspInactive, S::Inactive | S::Active) => {
                let parameters = self.routing_context_parameter();
                self.send(T::AspInactiveAck, parameters);
                if self.state == S::Active {
                    self.set_state(S::Inactive, "ASPIA received", now_ms);
                    // Simplification: a one-ASP AS skips AS-PENDING's T(r).
                    self.notify(STATUS_AS_INACTIVE);
                }
            }
            (T::RegistrationRequest, state) if state.is_up() => self.handle_registration(message),
            (T::DeregistrationRequest, state) if state.is_up() => {
                self.handle_deregistration(message)
            }
            (T::Data, S::Active) => self.deliver_data(message),
            (T::DestinationStateAudit, state) if state.is_up() => {
                // The simulator knows no network: every audited destination is available, or congested
                // when told so (RFC 4666 §4.5.3: the answer reflects the current state).
                let mut parameters = self.routing_context_parameter();
                if let Some(entries) = message.affected_point_codes() {
                    parameters.push(Parameter::AffectedPointCode(entries.to_vec()));
                }
                match self.audit_congestion {
                    Some(level) => {
                        parameters.push(Parameter::CongestionIndications(u32::from(level)));
                        self.send(T::SignallingCongestion, parameters);
                    }
                    None => self.send(T::DestinationAvailable, parameters),
                }
            }
            (t, state) => self.unexpected(t, state),
        }
    }

    pub(super) fn handle_aspac(&mut self, message: &M3uaMessage, now_ms: u64) {
        let known = |rc: &u32| {
            self.config.routing_context == Some(*rc) || self.assigned_routing_contexts.contains(rc)
        };
        let supported = [
            TrafficMode::Override,
            TrafficMode::Loadshare,
            TrafficMode::Broadcast,
        ]
        .map(|mode| mode as u32);
        if let Some(mode) = message.traffic_mode_type() {
            if !supported.contains(&mode) {
                self.send_error(error_code::UNSUPPORTED_TRAFFIC_MODE_TYPE, None);
                return;
            }
        }
        let requested = message.routing_context().map(<[u32]>::to_vec);
        if let Some(contexts) = &requested {
            if !contexts.iter().all(known) {
                self.send_error(error_code::INVALID_ROUTING_CONTEXT, None);
                return;
            }
        }
        self.active_routing_context = requested
            .and_then(|c| c.first().copied())
            .or(self.config.routing_context)
            .or(self.assigned_routing_contexts.first().copied());
        let mut parameters = vec![Parameter::TrafficModeType(
            message
                .traffic_mode_type()
                .unwrap_or(self.config.traffic_mode as u32),
        )];
        parameters.extend(self.routing_context_parameter());
        self.send(MessageType::AspActiveAck, parameters);
        if self.state != AspState::Active {
            self.set_state(AspState::Active, "ASPAC received", now_ms);
            self.notify(STATUS_AS_ACTIVE);
        }
    }

    pub(super) fn handle_registration(&mut self, message: &M3uaMessage) {
        let mut results = Vec::new();
        for key in message.nested(tag::ROUTING_KEY) {
            let local_rk_id = key.iter().find_map(|p| match p {
                Parameter::LocalRoutingKeyIdentifier(v) => Some(*v),
                _ => None,
            });
            let has_dpc = key.iter().any(|p| p.tag() == tag::DESTINATION_POINT_CODE);
            let (status, routing_context) = match (local_rk_id, has_dpc) {
                (Some(_), true) => {
                    let next = self
                        .config
                        .routing_context
                        .unwrap_or(1)
                        .wrapping_add(self.assigned_routing_contexts.len() as u32 + 1);
                    self.assigned_routing_contexts.push(next);
                    (0, next)
                }
                (_, false) => (2, 0),   // Error - Invalid DPC
                (None, true) => (4, 0), // Error - Invalid Routing Key
            };
            results.push(Parameter::RegistrationResult(vec![
                Parameter::LocalRoutingKeyIdentifier(local_rk_id.unwrap_or_default()),
                Parameter::RegistrationStatus(status),
                Parameter::RoutingContext(vec![routing_context]),
            ]));
        }
        self.send(MessageType::RegistrationResponse, results);
    }

    pub(super) fn handle_deregistration(&mut self, message: &M3uaMessage) {
        let contexts = message.routing_context().unwrap_or_default().to_vec();
        let mut results = Vec::new();
        for rc in contexts {
            let status = if self.state == AspState::Active
                && self.active_routing_context == Some(rc)
            {
                5 // Error - ASP Currently Active for Routing Context
            } else if let Some(index) = self.assigned_routing_contexts.iter().position(|c| *c == rc)
            {
                self.assigned_routing_contexts.remove(index);
                0
            } else {
                4 // Error - Not Registered
            };
            results.push(Parameter::DeregistrationResult(vec![
                Parameter::RoutingContext(vec![rc]),
                Parameter::DeregistrationStatus(status),
            ]));
        }
        self.send(MessageType::DeregistrationResponse, results);
    }
}
