//! M3UA messages: classes and types of RFC 4666 §3.1.2 and the mandatory
//! parameters of §3.3–§3.8.
//!
//! Owns [`MessageClass`], [`MessageType`] and [`M3uaMessage`] (a type plus
//! its ordered parameter list) with typed accessors for the parameters the
//! ASP state machine reads.

use super::codec::{self, write_header, HEADER_LEN};
use super::error::M3uaError;
use super::parameter::{find, tag, Parameter, PointCodeEntry, ProtocolData};

/// Message classes of RFC 4666 §3.1.2 that M3UA uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageClass {
    /// Management (MGMT): ERR, NTFY.
    Management = 0,
    /// Transfer: DATA.
    Transfer = 1,
    /// SS7 Signalling Network Management (SSNM).
    SignallingNetworkManagement = 2,
    /// ASP State Maintenance (ASPSM).
    AspStateMaintenance = 3,
    /// ASP Traffic Maintenance (ASPTM).
    AspTrafficMaintenance = 4,
    /// Routing Key Management (RKM).
    RoutingKeyManagement = 9,
}

/// Every M3UA message type (RFC 4666 §3.1.2), named after the standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// ERR (MGMT 0).
    Error,
    /// NTFY (MGMT 1).
    Notify,
    /// DATA (Transfer 1).
    Data,
    /// DUNA (SSNM 1).
    DestinationUnavailable,
    /// DAVA (SSNM 2).
    DestinationAvailable,
    /// DAUD (SSNM 3).
    DestinationStateAudit,
    /// SCON (SSNM 4).
    SignallingCongestion,
    /// DUPU (SSNM 5).
    DestinationUserPartUnavailable,
    /// DRST (SSNM 6).
    DestinationRestricted,
    /// ASPUP (ASPSM 1).
    AspUp,
    /// ASPDN (ASPSM 2).
    AspDown,
    /// BEAT (ASPSM 3).
    Heartbeat,
    /// ASPUP-ACK (ASPSM 4).
    AspUpAck,
    /// ASPDN-ACK (ASPSM 5).
    AspDownAck,
    /// BEAT-ACK (ASPSM 6).
    HeartbeatAck,
    /// ASPAC (ASPTM 1).
    AspActive,
    /// ASPIA (ASPTM 2).
    AspInactive,
    /// ASPAC-ACK (ASPTM 3).
    AspActiveAck,
    /// ASPIA-ACK (ASPTM 4).
    AspInactiveAck,
    /// REG-REQ (RKM 1).
    RegistrationRequest,
    /// REG-RSP (RKM 2).
    RegistrationResponse,
    /// DEREG-REQ (RKM 3).
    DeregistrationRequest,
    /// DEREG-RSP (RKM 4).
    DeregistrationResponse,
}

use MessageClass as C;
use MessageType as T;

const TABLE: [(MessageType, MessageClass, u8, &str); 23] = [
    (T::Error, C::Management, 0, "ERR"),
    (T::Notify, C::Management, 1, "NTFY"),
    (T::Data, C::Transfer, 1, "DATA"),
    (
        T::DestinationUnavailable,
        C::SignallingNetworkManagement,
        1,
        "DUNA",
    ),
    (
        T::DestinationAvailable,
        C::SignallingNetworkManagement,
        2,
        "DAVA",
    ),
    (
        T::DestinationStateAudit,
        C::SignallingNetworkManagement,
        3,
        "DAUD",
    ),
    (
        T::SignallingCongestion,
        C::SignallingNetworkManagement,
        4,
        "SCON",
    ),
    (
        T::DestinationUserPartUnavailable,
        C::SignallingNetworkManagement,
        5,
        "DUPU",
    ),
    (
        T::DestinationRestricted,
        C::SignallingNetworkManagement,
        6,
        "DRST",
    ),
    (T::AspUp, C::AspStateMaintenance, 1, "ASPUP"),
    (T::AspDown, C::AspStateMaintenance, 2, "ASPDN"),
    (T::Heartbeat, C::AspStateMaintenance, 3, "BEAT"),
    (T::AspUpAck, C::AspStateMaintenance, 4, "ASPUP-ACK"),
    (T::AspDownAck, C::AspStateMaintenance, 5, "ASPDN-ACK"),
    (T::HeartbeatAck, C::AspStateMaintenance, 6, "BEAT-ACK"),
    (T::AspActive, C::AspTrafficMaintenance, 1, "ASPAC"),
    (T::AspInactive, C::AspTrafficMaintenance, 2, "ASPIA"),
    (T::AspActiveAck, C::AspTrafficMaintenance, 3, "ASPAC-ACK"),
    (T::AspInactiveAck, C::AspTrafficMaintenance, 4, "ASPIA-ACK"),
    (
        T::RegistrationRequest,
        C::RoutingKeyManagement,
        1,
        "REG-REQ",
    ),
    (
        T::RegistrationResponse,
        C::RoutingKeyManagement,
        2,
        "REG-RSP",
    ),
    (
        T::DeregistrationRequest,
        C::RoutingKeyManagement,
        3,
        "DEREG-REQ",
    ),
    (
        T::DeregistrationResponse,
        C::RoutingKeyManagement,
        4,
        "DEREG-RSP",
    ),
];

impl MessageType {
    /// All message types, in class/type order.
    pub const ALL: [MessageType; 23] = {
        let mut all = [T::Error; 23];
        let mut i = 0;
        while i < 23 {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    fn entry(self) -> (MessageType, MessageClass, u8, &'static str) {
        TABLE
            .iter()
            .copied()
            .find(|e| e.0 == self)
            .unwrap_or(TABLE[0])
    }

    /// The message class.
    pub fn class(self) -> MessageClass {
        self.entry().1
    }

    /// The message type code within its class (byte 3 of the header).
    pub fn code(self) -> u8 {
        self.entry().2
    }

    /// The RFC 4666 abbreviation (`"ASPUP-ACK"`).
    pub fn name(self) -> &'static str {
        self.entry().3
    }

    /// Looks up a class/type pair from the header.
    pub fn from_codes(class: u8, code: u8) -> Result<MessageType, M3uaError> {
        if !TABLE.iter().any(|e| e.1 as u8 == class) {
            return Err(M3uaError::UnsupportedMessageClass { class });
        }
        TABLE
            .iter()
            .find(|e| e.1 as u8 == class && e.2 == code)
            .map(|e| e.0)
            .ok_or(M3uaError::UnsupportedMessageType {
                class,
                message_type: code,
            })
    }

    /// Mandatory parameters (RFC 4666 §3.3–§3.8).
    pub(crate) fn mandatory(self) -> &'static [u16] {
        match self {
            T::Error => &[tag::ERROR_CODE],
            T::Notify => &[tag::STATUS],
            T::Data => &[tag::PROTOCOL_DATA],
            T::DestinationUnavailable
            | T::DestinationAvailable
            | T::DestinationStateAudit
            | T::SignallingCongestion
            | T::DestinationRestricted => &[tag::AFFECTED_POINT_CODE],
            T::DestinationUserPartUnavailable => &[tag::AFFECTED_POINT_CODE, tag::USER_CAUSE],
            T::Heartbeat | T::HeartbeatAck => &[],
            T::RegistrationRequest => &[tag::ROUTING_KEY],
            T::RegistrationResponse => &[tag::REGISTRATION_RESULT],
            T::DeregistrationRequest => &[tag::ROUTING_CONTEXT],
            T::DeregistrationResponse => &[tag::DEREGISTRATION_RESULT],
            _ => &[],
        }
    }

    /// Container parameters only one message type may carry; any other
    /// known parameter is tolerated, since peers add optional ones freely.
    fn owner_of(parameter_tag: u16) -> Option<MessageType> {
        match parameter_tag {
            tag::PROTOCOL_DATA => Some(T::Data),
            tag::ROUTING_KEY => Some(T::RegistrationRequest),
            tag::REGISTRATION_RESULT => Some(T::RegistrationResponse),
            tag::DEREGISTRATION_RESULT => Some(T::DeregistrationResponse),
            _ => None,
        }
    }
}

/// One M3UA message: its type and its parameters in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M3uaMessage {
    /// Class and type.
    pub message_type: MessageType,
    /// Parameters in the order they appear on the wire.
    pub parameters: Vec<Parameter>,
}

impl M3uaMessage {
    /// A message of `message_type` with `parameters`.
    pub fn new(message_type: MessageType, parameters: Vec<Parameter>) -> Self {
        Self {
            message_type,
            parameters,
        }
    }

    /// Decodes one message; see [`codec::decode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, M3uaError> {
        codec::decode(bytes)
    }

    /// Encodes the message with its common header.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(64);
        for parameter in &self.parameters {
            parameter.encode_into(&mut body);
        }
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        write_header(&mut out, self.message_type, body.len());
        out.extend_from_slice(&body);
        out
    }

    /// Checks mandatory and misplaced parameters of a decoded message.
    pub(crate) fn validated(
        message_type: MessageType,
        parameters: Vec<Parameter>,
    ) -> Result<Self, M3uaError> {
        let mut offset = HEADER_LEN;
        for parameter in &parameters {
            let parameter_tag = parameter.tag();
            if let Some(owner) = MessageType::owner_of(parameter_tag) {
                if owner != message_type {
                    return Err(M3uaError::UnexpectedParameter {
                        tag: parameter_tag,
                        offset,
                        message: message_type.name(),
                    });
                }
            }
            offset += parameter.encoded_len();
        }
        for required in message_type.mandatory() {
            if !parameters.iter().any(|p| p.tag() == *required) {
                return Err(M3uaError::MissingParameter {
                    tag: *required,
                    message: message_type.name(),
                });
            }
        }
        Ok(Self::new(message_type, parameters))
    }

    /// First Routing Context list, if present.
    pub fn routing_context(&self) -> Option<&[u32]> {
        find(&self.parameters, |p| match p {
            Parameter::RoutingContext(values) => Some(values.as_slice()),
            _ => None,
        })
    }

    /// Network Appearance, if present.
    pub fn network_appearance(&self) -> Option<u32> {
        find(&self.parameters, |p| match p {
            Parameter::NetworkAppearance(v) => Some(*v),
            _ => None,
        })
    }

    /// Protocol Data of a DATA message.
    pub fn protocol_data(&self) -> Option<&ProtocolData> {
        find(&self.parameters, |p| match p {
            Parameter::ProtocolData(data) => Some(data),
            _ => None,
        })
    }

    /// Error Code of an ERR message.
    pub fn error_code(&self) -> Option<u32> {
        find(&self.parameters, |p| match p {
            Parameter::ErrorCode(v) => Some(*v),
            _ => None,
        })
    }

    /// Status (type, info) of a NTFY message.
    pub fn status(&self) -> Option<(u16, u16)> {
        find(&self.parameters, |p| match p {
            Parameter::Status {
                status_type,
                status_info,
            } => Some((*status_type, *status_info)),
            _ => None,
        })
    }

    /// Heartbeat Data of a BEAT or BEAT-ACK.
    pub fn heartbeat_data(&self) -> Option<&[u8]> {
        find(&self.parameters, |p| match p {
            Parameter::HeartbeatData(data) => Some(data.as_slice()),
            _ => None,
        })
    }

    /// ASP Identifier, if present.
    pub fn asp_identifier(&self) -> Option<u32> {
        find(&self.parameters, |p| match p {
            Parameter::AspIdentifier(v) => Some(*v),
            _ => None,
        })
    }

    /// Traffic Mode Type, if present.
    pub fn traffic_mode_type(&self) -> Option<u32> {
        find(&self.parameters, |p| match p {
            Parameter::TrafficModeType(v) => Some(*v),
            _ => None,
        })
    }

    /// INFO String, if present.
    pub fn info_string(&self) -> Option<&str> {
        find(&self.parameters, |p| match p {
            Parameter::InfoString(text) => Some(text.as_str()),
            _ => None,
        })
    }

    /// Affected Point Codes of an SSNM message.
    pub fn affected_point_codes(&self) -> Option<&[PointCodeEntry]> {
        find(&self.parameters, |p| match p {
            Parameter::AffectedPointCode(entries) => Some(entries.as_slice()),
            _ => None,
        })
    }

    /// Nested parameter lists of every parameter with `container_tag`
    /// (Routing Key, Registration Result, Deregistration Result).
    pub fn nested(&self, container_tag: u16) -> impl Iterator<Item = &[Parameter]> {
        self.parameters.iter().filter_map(move |p| match p {
            Parameter::RoutingKey(inner)
            | Parameter::RegistrationResult(inner)
            | Parameter::DeregistrationResult(inner)
                if p.tag() == container_tag =>
            {
                Some(inner.as_slice())
            }
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigtran::m3ua::parameter::tag;

    #[test]
    fn aspup_encodes_to_the_rfc_header() {
        let bytes = M3uaMessage::new(MessageType::AspUp, vec![]).encode();
        assert_eq!(bytes, [1, 0, 3, 1, 0, 0, 0, 8]);
        assert_eq!(
            M3uaMessage::decode(&bytes).unwrap().message_type,
            MessageType::AspUp
        );
    }

    #[test]
    fn every_type_round_trips_through_its_codes() {
        for message_type in MessageType::ALL {
            let found =
                MessageType::from_codes(message_type.class() as u8, message_type.code()).unwrap();
            assert_eq!(found, message_type);
        }
    }

    #[test]
    fn header_errors_map_to_rfc_error_codes() {
        let cases: [(&[u8], u32); 5] = [
            (&[2, 0, 3, 1, 0, 0, 0, 8], 0x01),
            (&[1, 0, 5, 1, 0, 0, 0, 8], 0x03),
            (&[1, 0, 3, 9, 0, 0, 0, 8], 0x04),
            (&[1, 0, 3, 1, 0, 0, 0, 12], 0x07),
            (&[1, 0, 3], 0x07),
        ];
        for (bytes, code) in cases {
            let error = M3uaMessage::decode(bytes).unwrap_err();
            assert_eq!(error.error_code(), Some(code), "{error}");
        }
    }

    #[test]
    fn data_without_protocol_data_is_missing_parameter() {
        let bytes =
            M3uaMessage::new(MessageType::Data, vec![Parameter::RoutingContext(vec![1])]).encode();
        let error = M3uaMessage::decode(&bytes).unwrap_err();
        assert_eq!(
            error,
            M3uaError::MissingParameter {
                tag: tag::PROTOCOL_DATA,
                message: "DATA"
            }
        );
        assert_eq!(error.error_code(), Some(0x16));
    }

    #[test]
    fn protocol_data_outside_data_is_unexpected_parameter() {
        let bytes = M3uaMessage::new(
            MessageType::AspUp,
            vec![
                Parameter::AspIdentifier(1),
                Parameter::ProtocolData(ProtocolData::default()),
            ],
        )
        .encode();
        let error = M3uaMessage::decode(&bytes).unwrap_err();
        assert_eq!(
            error,
            M3uaError::UnexpectedParameter {
                tag: tag::PROTOCOL_DATA,
                offset: 16,
                message: "ASPUP"
            }
        );
        assert_eq!(error.error_code(), Some(0x13));
    }
}
