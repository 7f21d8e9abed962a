//! The tables applied to decoded ISUP messages and parameters (Q.763 §3.5, §3.21).
//!
//! Thin adapters so the call logic can hand an ACM/CPG over as it came in, and get the backward
//! call indicators to send as a ready parameter. Missing or undecodable parameters fall back to
//! "no indication", never to an error: a peer's odd ACM must not stop the call.

use super::MappingTables;
use crate::isup::codec::BackwardCallIndicators;
use crate::isup::IsupMessage;

impl MappingTables {
    /// SIP provisional for a received ACM, from its backward call indicators.
    pub fn provisional_for_acm_message(&self, message: &IsupMessage) -> u16 {
        let called_party_status = message
            .backward_call_indicators()
            .and_then(Result::ok)
            .map_or(0, |indicators| indicators.called_party_status);
        // The optional backward call indicators (in-band information) are not decoded yet.
        self.provisional_for_acm(called_party_status, false)
    }

    /// SIP provisional for a received CPG, from its event information.
    pub fn provisional_for_cpg_message(&self, message: &IsupMessage) -> u16 {
        let event = message
            .event_information()
            .and_then(Result::ok)
            .map_or(0, |information| information.event_indicator);
        self.provisional_for_cpg_event(event)
    }

    /// Backward call indicators for the ACM (or CON when `status` is 200) sent toward ISUP when
    /// the SIP side answers `status`.
    pub fn backward_call_indicators_for_provisional(&self, status: u16) -> BackwardCallIndicators {
        let profile = &self.backward;
        BackwardCallIndicators {
            charge: profile.charge_indicator,
            called_party_status: self.called_party_status_for_provisional(status),
            called_party_category: profile.called_party_category_indicator,
            end_to_end_method: profile.end_to_end_method_indicator,
            interworking: profile.interworking_indicator == 1,
            end_to_end_information: profile.end_to_end_information_indicator == 1,
            isdn_user_part: profile.isdn_user_part_indicator == 1,
            holding: profile.holding_indicator == 1,
            isdn_access: profile.isdn_access_indicator == 1,
            echo_control_device: profile.echo_control_device_indicator == 1,
            sccp_method: profile.sccp_method_indicator,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::interwork::tables::MappingTables;
    use crate::isup::codec::{BackwardCallIndicators, EventInformation};
    use crate::isup::{Cic, IsupMessage};

    #[test]
    fn acm_and_cpg_messages_map_to_provisionals() {
        let tables = MappingTables::embedded("rfc3398").expect("loads");
        let acm = |called_party_status| {
            let indicators = BackwardCallIndicators {
                called_party_status,
                ..BackwardCallIndicators::default()
            };
            tables.provisional_for_acm_message(&IsupMessage::acm(Cic(1), indicators, Vec::new()))
        };
        assert_eq!(acm(1), 180);
        assert_eq!(acm(0), 183);
        let cpg = |event_indicator| {
            let information = EventInformation {
                event_indicator,
                presentation_restricted: false,
            };
            tables.provisional_for_cpg_message(&IsupMessage::cpg(Cic(1), information))
        };
        assert_eq!(cpg(EventInformation::ALERTING), 180);
        assert_eq!(cpg(EventInformation::PROGRESS), 183);
        assert_eq!(cpg(6), 181);
        // A message without the parameter (an ANM here) gives the "no indication" answer.
        assert_eq!(
            tables.provisional_for_acm_message(&IsupMessage::anm(Cic(1))),
            183
        );
    }

    #[test]
    fn backward_indicators_follow_the_profile() {
        let tables = MappingTables::embedded("rfc3398").expect("loads");
        let ringing = tables.backward_call_indicators_for_provisional(180);
        assert_eq!(ringing.called_party_status, 1);
        assert_eq!(ringing.charge, 2);
        assert_eq!(ringing.called_party_category, 1);
        assert!(ringing.interworking);
        assert!(!ringing.isdn_user_part);
        assert!(!ringing.isdn_access);
        let answer = tables.backward_call_indicators_for_provisional(200);
        assert_eq!(answer.called_party_status, 0);
    }
}
