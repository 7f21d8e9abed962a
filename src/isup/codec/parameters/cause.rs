//! Cause indicators (Q.763 §3.12, coded as Q.850 §2.2), event information (§3.21) and range
//! and status (§3.43).

use super::{invalid, Parameter, ParameterCode};
use crate::isup::codec::IsupError;

/// Cause indicators (Q.763 §3.12 / Q.850 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CauseIndicators {
    /// Location, 4 bits (0 user, 1 private network serving local user, 2 public network serving
    /// local user, 3 transit network, …, 10 network beyond interworking point).
    pub location: u8,
    /// Coding standard, 2 bits (0 ITU-T, 2 national).
    pub coding_standard: u8,
    /// Octet 1a recommendation, present when the extension bit of octet 1 is 0.
    pub recommendation: Option<u8>,
    /// Cause value, 7 bits (Q.850 Table 1).
    pub cause_value: u8,
    /// Diagnostic octets, if any.
    pub diagnostics: Vec<u8>,
}

impl CauseIndicators {
    /// Location 2 "public network serving the local user", used for causes tandem originates.
    pub const LOCATION_PUBLIC_NETWORK_LOCAL_USER: u8 = 2;

    /// An ITU-coded cause with the given location and no diagnostics.
    pub fn new(cause_value: u8, location: u8) -> Self {
        CauseIndicators {
            location: location & 0x0F,
            coding_standard: 0,
            recommendation: None,
            cause_value: cause_value & 0x7F,
            diagnostics: Vec::new(),
        }
    }
}

impl Parameter for CauseIndicators {
    const CODE: ParameterCode = ParameterCode::CAUSE_INDICATORS;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let Some(&first) = contents.first() else {
            return Err(invalid::<Self>(0, "empty"));
        };
        let (recommendation, cause_offset) = if first & 0x80 == 0 {
            let recommendation = contents
                .get(1)
                .ok_or(invalid::<Self>(1, "octet 1a missing"))?;
            (Some(recommendation & 0x7F), 2)
        } else {
            (None, 1)
        };
        let cause = contents
            .get(cause_offset)
            .ok_or(invalid::<Self>(cause_offset, "cause value missing"))?;
        Ok(CauseIndicators {
            location: first & 0x0F,
            coding_standard: (first >> 5) & 0x03,
            recommendation,
            cause_value: cause & 0x7F,
            diagnostics: contents
                .get(cause_offset + 1..)
                .unwrap_or_default()
                .to_vec(),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        let extension = if self.recommendation.is_some() {
            0
        } else {
            0x80
        };
        out.push(extension | ((self.coding_standard & 0x03) << 5) | (self.location & 0x0F));
        if let Some(recommendation) = self.recommendation {
            out.push(0x80 | (recommendation & 0x7F));
        }
        out.push(0x80 | (self.cause_value & 0x7F));
        out.extend_from_slice(&self.diagnostics);
    }
}

/// Event information (Q.763 §3.21), the one fixed octet of CPG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventInformation {
    /// Event indicator, 7 bits (see the associated constants).
    pub event_indicator: u8,
    /// `true` = presentation restricted (for the call-forwarding events).
    pub presentation_restricted: bool,
}

impl EventInformation {
    /// Event 1: alerting.
    pub const ALERTING: u8 = 1;
    /// Event 2: progress.
    pub const PROGRESS: u8 = 2;
    /// Event 3: in-band information or an appropriate pattern is now available.
    pub const IN_BAND_INFORMATION: u8 = 3;
    /// Event 4: call forwarded on busy.
    pub const CALL_FORWARDED_ON_BUSY: u8 = 4;
    /// Event 5: call forwarded on no reply.
    pub const CALL_FORWARDED_ON_NO_REPLY: u8 = 5;
    /// Event 6: call forwarded unconditional.
    pub const CALL_FORWARDED_UNCONDITIONAL: u8 = 6;

    /// Event information with the given event and presentation allowed.
    pub fn new(event_indicator: u8) -> Self {
        EventInformation {
            event_indicator: event_indicator & 0x7F,
            presentation_restricted: false,
        }
    }
}

impl Parameter for EventInformation {
    const CODE: ParameterCode = ParameterCode::EVENT_INFORMATION;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [octet] = contents else {
            return Err(invalid::<Self>(contents.len(), "not one octet"));
        };
        Ok(EventInformation {
            event_indicator: octet & 0x7F,
            presentation_restricted: octet & 0x80 != 0,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(
            (self.event_indicator & 0x7F)
                | if self.presentation_restricted {
                    0x80
                } else {
                    0
                },
        );
    }
}

/// Range and status (Q.763 §3.43): the circuits `cic ..= cic + range` of a group message and,
/// in acknowledgements, one status bit per circuit (bit set = locally blocked for maintenance).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeAndStatus {
    /// Range: number of circuits affected minus one.
    pub range: u8,
    /// Status bits, least significant bit of the first octet for the first CIC (absent in GRS).
    pub status: Vec<u8>,
}

impl Parameter for RangeAndStatus {
    const CODE: ParameterCode = ParameterCode::RANGE_AND_STATUS;

    fn decode(contents: &[u8]) -> Result<Self, IsupError> {
        let [range, status @ ..] = contents else {
            return Err(invalid::<Self>(0, "empty"));
        };
        Ok(RangeAndStatus {
            range: *range,
            status: status.to_vec(),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.range);
        out.extend_from_slice(&self.status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cause_by_hand() {
        // ITU coding, location 2 (public network local user), cause 16 normal clearing.
        let cause = CauseIndicators::decode(&[0x82, 0x90]).unwrap();
        assert_eq!(cause, CauseIndicators::new(16, 2));
        assert_eq!(cause.to_bytes(), [0x82, 0x90]);
        let with_1a = CauseIndicators::decode(&[0x02, 0x80, 0x9F, 0x01]).unwrap();
        assert_eq!(with_1a.recommendation, Some(0));
        assert_eq!(with_1a.cause_value, 31);
        assert_eq!(with_1a.diagnostics, [0x01]);
        assert!(CauseIndicators::decode(&[0x82]).is_err());
        assert!(CauseIndicators::decode(&[0x02, 0x80]).is_err());
    }

    proptest! {
        #[test]
        fn cause_round_trip(location in 0u8..16, coding in 0u8..4, rec in proptest::option::of(0u8..128), value in 0u8..128, diagnostics in proptest::collection::vec(any::<u8>(), 0..8)) {
            let cause = CauseIndicators { location, coding_standard: coding, recommendation: rec, cause_value: value, diagnostics };
            prop_assert_eq!(CauseIndicators::decode(&cause.to_bytes()).unwrap(), cause);
        }

        #[test]
        fn event_information_is_lossless(octet: u8) {
            prop_assert_eq!(EventInformation::decode(&[octet]).unwrap().to_bytes(), vec![octet]);
        }
    }
}
