//! Per-message-type parameter layout from the message tables of Q.763 §4:
//! mandatory fixed parameters and their lengths, mandatory variable parameters in pointer
//! order, and whether an optional part (with its pointer) follows.

use super::{MessageType, ParameterCode as P, Variant};

/// How the parameters of one message type are laid out on the wire (Q.763 §1.5–§1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Mandatory fixed part: parameter codes with their fixed length in octets, in order.
    pub fixed: &'static [(P, usize)],
    /// Mandatory variable part: parameter codes in pointer order.
    pub variable: &'static [P],
    /// Whether the message has a pointer to an optional part.
    pub optional: bool,
}

impl Layout {
    /// Total length of the mandatory fixed part.
    pub fn fixed_length(&self) -> usize {
        self.fixed.iter().map(|(_, length)| length).sum()
    }

    /// The layout of `message_type`, or `None` when the codec keeps that type as raw octets:
    /// unknown codes, the reserved 1984/1988 types (CMR, CMC, CMRJ, FAD, FAI, CSVQ, CSVR, DRS),
    /// PAM (its contents are another message, passed along untouched) and CRG (national format).
    pub fn of(message_type: MessageType, variant: Variant) -> Option<Layout> {
        // ETSI EN 300 356 keeps every Q.763 layout; ANSI would get its own table here.
        match variant {
            Variant::Itu | Variant::Etsi => Self::itu(message_type),
        }
    }

    fn itu(message_type: MessageType) -> Option<Layout> {
        use MessageType as M;
        const fn l(fixed: &'static [(P, usize)], variable: &'static [P], optional: bool) -> Layout {
            Layout {
                fixed,
                variable,
                optional,
            }
        }
        const NONE: Layout = l(&[], &[], false);
        const OPTIONAL_ONLY: Layout = l(&[], &[], true);
        let layout = match message_type {
            M::IAM => l(
                &[
                    (P::NATURE_OF_CONNECTION_INDICATORS, 1),
                    (P::FORWARD_CALL_INDICATORS, 2),
                    (P::CALLING_PARTYS_CATEGORY, 1),
                    (P::TRANSMISSION_MEDIUM_REQUIREMENT, 1),
                ],
                &[P::CALLED_PARTY_NUMBER],
                true,
            ),
            M::SAM => l(&[], &[P::SUBSEQUENT_NUMBER], true),
            M::INR => l(&[(P::INFORMATION_REQUEST_INDICATORS, 2)], &[], true),
            M::INF => l(&[(P::INFORMATION_INDICATORS, 2)], &[], true),
            M::COT => l(&[(P::CONTINUITY_INDICATORS, 1)], &[], false),
            M::ACM | M::CON => l(&[(P::BACKWARD_CALL_INDICATORS, 2)], &[], true),
            M::SUS | M::RES => l(&[(P::SUSPEND_RESUME_INDICATORS, 1)], &[], true),
            M::CPG => l(&[(P::EVENT_INFORMATION, 1)], &[], true),
            M::REL | M::CFN => l(&[], &[P::CAUSE_INDICATORS], true),
            M::FOT
            | M::ANM
            | M::RLC
            | M::FAC
            | M::APM
            | M::SGM
            | M::IDR
            | M::IRS
            | M::NRM
            | M::UPT
            | M::UPA
            | M::LOP
            | M::PRI
            | M::SDN => OPTIONAL_ONLY,
            M::CCR | M::RSC | M::BLO | M::UBL | M::BLA | M::UBA | M::UCIC | M::LPA | M::OLM => NONE,
            M::FAR | M::FAA => l(&[(P::FACILITY_INDICATOR, 1)], &[], true),
            M::FRJ => l(&[(P::FACILITY_INDICATOR, 1)], &[P::CAUSE_INDICATORS], true),
            M::GRS | M::GRA | M::CQM => l(&[], &[P::RANGE_AND_STATUS], false),
            M::CGB | M::CGU | M::CGBA | M::CGUA => l(
                &[(P::CIRCUIT_GROUP_SUPERVISION_MESSAGE_TYPE, 1)],
                &[P::RANGE_AND_STATUS],
                false,
            ),
            M::CQR => l(
                &[],
                &[P::RANGE_AND_STATUS, P::CIRCUIT_STATE_INDICATOR],
                false,
            ),
            M::USR => l(&[], &[P::USER_TO_USER_INFORMATION], true),
            _ => return None,
        };
        Some(layout)
    }
}
