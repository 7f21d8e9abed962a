//! M3UA common header and byte-level helpers (RFC 4666 §3.1, §3.2).
//!
//! Owns the 8-byte common header (version, reserved, message class, message
//! type, message length) and the top-level [`decode`] entry point; the
//! parameter TLVs live in [`super::parameter`], message semantics in
//! [`super::message`].

use super::error::M3uaError;
use super::message::{M3uaMessage, MessageType};
use super::parameter::decode_parameters;

/// The only M3UA version defined (RFC 4666 §3.1.1).
pub const VERSION: u8 = 1;
/// Size of the common header in bytes.
pub const HEADER_LEN: usize = 8;

/// Rounds `length` up to the next multiple of 4 (RFC 4666 §3.2 padding).
pub(crate) fn padded(length: usize) -> usize {
    length.div_ceil(4) * 4
}

/// Reads a big-endian u16 at `offset`, or reports truncation.
pub(crate) fn read_u16(bytes: &[u8], offset: usize) -> Result<u16, M3uaError> {
    match bytes.get(offset..offset + 2) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(truncated(bytes, offset, 2)),
    }
}

/// Reads a big-endian u32 at `offset`, or reports truncation.
pub(crate) fn read_u32(bytes: &[u8], offset: usize) -> Result<u32, M3uaError> {
    match bytes.get(offset..offset + 4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(truncated(bytes, offset, 4)),
    }
}

fn truncated(bytes: &[u8], offset: usize, needed: usize) -> M3uaError {
    M3uaError::Truncated {
        offset,
        needed,
        available: bytes.len().saturating_sub(offset),
    }
}

/// Decodes one M3UA message (one SCTP user message, PPID 3).
///
/// Decoding is strict so that `encode(decode(b)) == b` holds for every
/// accepted `b`: reserved bytes and padding must be zero and the header
/// length must equal the bytes given.
pub fn decode(bytes: &[u8]) -> Result<M3uaMessage, M3uaError> {
    if bytes.len() < HEADER_LEN {
        return Err(truncated(bytes, 0, HEADER_LEN));
    }
    let version = bytes.first().copied().unwrap_or_default();
    if version != VERSION {
        return Err(M3uaError::InvalidVersion { version });
    }
    let reserved = bytes.get(1).copied().unwrap_or_default();
    if reserved != 0 {
        return Err(M3uaError::ReservedNotZero { value: reserved });
    }
    let class = bytes.get(2).copied().unwrap_or_default();
    let type_code = bytes.get(3).copied().unwrap_or_default();
    let length = read_u32(bytes, 4)?;
    if usize::try_from(length).ok() != Some(bytes.len()) || !length.is_multiple_of(4) {
        return Err(M3uaError::LengthMismatch {
            length,
            received: bytes.len(),
        });
    }
    let message_type = MessageType::from_codes(class, type_code)?;
    let parameters = decode_parameters(bytes, HEADER_LEN, bytes.len())?;
    M3uaMessage::validated(message_type, parameters)
}

/// Writes the common header for a message whose parameters take `body_len`
/// bytes (already padded).
pub(crate) fn write_header(out: &mut Vec<u8>, message_type: MessageType, body_len: usize) {
    let total = u32::try_from(HEADER_LEN + body_len).unwrap_or(u32::MAX);
    out.push(VERSION);
    out.push(0);
    out.push(message_type.class() as u8);
    out.push(message_type.code());
    out.extend_from_slice(&total.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigtran::m3ua::parameter::{tag, Parameter, PointCodeEntry, ProtocolData};
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn point_code() -> impl Strategy<Value = PointCodeEntry> {
        (any::<u8>(), 0u32..0x0100_0000)
            .prop_map(|(mask, point_code)| PointCodeEntry { mask, point_code })
    }

    fn leaf() -> impl Strategy<Value = Parameter> {
        prop_oneof![
            "[a-z ]{0,12}".prop_map(Parameter::InfoString),
            vec(any::<u32>(), 1..4).prop_map(Parameter::RoutingContext),
            vec(any::<u8>(), 0..10).prop_map(Parameter::DiagnosticInformation),
            vec(any::<u8>(), 0..10).prop_map(Parameter::HeartbeatData),
            any::<u32>().prop_map(Parameter::TrafficModeType),
            any::<u32>().prop_map(Parameter::ErrorCode),
            (any::<u16>(), any::<u16>()).prop_map(|(status_type, status_info)| {
                Parameter::Status {
                    status_type,
                    status_info,
                }
            }),
            any::<u32>().prop_map(Parameter::AspIdentifier),
            vec(point_code(), 1..3).prop_map(Parameter::AffectedPointCode),
            any::<u32>().prop_map(Parameter::CorrelationId),
            any::<u32>().prop_map(Parameter::NetworkAppearance),
            (any::<u16>(), any::<u16>())
                .prop_map(|(cause, user)| Parameter::UserCause { cause, user }),
            any::<u32>().prop_map(Parameter::CongestionIndications),
            any::<u32>().prop_map(Parameter::ConcernedDestination),
            any::<u32>().prop_map(Parameter::LocalRoutingKeyIdentifier),
            point_code().prop_map(Parameter::DestinationPointCode),
            vec(any::<u8>(), 1..6).prop_map(Parameter::ServiceIndicators),
            vec(point_code(), 1..3).prop_map(Parameter::OriginatingPointCodeList),
            any::<u32>().prop_map(Parameter::RegistrationStatus),
            any::<u32>().prop_map(Parameter::DeregistrationStatus),
            (0x0300u16..0xffff, vec(any::<u8>(), 0..9))
                .prop_map(|(tag, value)| Parameter::Unknown { tag, value }),
        ]
    }

    fn protocol_data() -> impl Strategy<Value = ProtocolData> {
        (
            any::<u32>(),
            any::<u32>(),
            any::<[u8; 4]>(),
            vec(any::<u8>(), 0..40),
        )
            .prop_map(|(opc, dpc, [si, ni, mp, sls], user_data)| ProtocolData {
                opc,
                dpc,
                si,
                ni,
                mp,
                sls,
                user_data,
            })
    }

    /// A message that obeys the mandatory/container rules of its type.
    fn message() -> impl Strategy<Value = M3uaMessage> {
        (
            proptest::sample::select(MessageType::ALL.to_vec()),
            vec(leaf(), 0..5),
            vec(leaf(), 1..4),
            protocol_data(),
        )
            .prop_map(|(message_type, mut parameters, nested, data)| {
                let container = match message_type {
                    MessageType::Data => Some(Parameter::ProtocolData(data)),
                    MessageType::RegistrationRequest => Some(Parameter::RoutingKey(nested)),
                    MessageType::RegistrationResponse => {
                        Some(Parameter::RegistrationResult(nested))
                    }
                    MessageType::DeregistrationResponse => {
                        Some(Parameter::DeregistrationResult(nested))
                    }
                    _ => None,
                };
                parameters.extend(container);
                for required in [
                    (tag::ERROR_CODE, Parameter::ErrorCode(1)),
                    (
                        tag::STATUS,
                        Parameter::Status {
                            status_type: 1,
                            status_info: 3,
                        },
                    ),
                    (
                        tag::AFFECTED_POINT_CODE,
                        Parameter::AffectedPointCode(vec![PointCodeEntry::exact(1)]),
                    ),
                    (tag::USER_CAUSE, Parameter::UserCause { cause: 2, user: 5 }),
                    (tag::ROUTING_CONTEXT, Parameter::RoutingContext(vec![1])),
                ] {
                    if message_type.mandatory().contains(&required.0)
                        && !parameters.iter().any(|p| p.tag() == required.0)
                    {
                        parameters.push(required.1);
                    }
                }
                M3uaMessage::new(message_type, parameters)
            })
    }

    proptest! {
        #[test]
        fn valid_messages_round_trip(message in message()) {
            let bytes = message.encode();
            prop_assert_eq!(bytes.len() % 4, 0);
            let decoded = decode(&bytes).unwrap();
            prop_assert_eq!(&decoded, &message);
            prop_assert_eq!(decoded.encode(), bytes);
        }

        #[test]
        fn accepted_mutations_re_encode_identically(
            message in message(),
            position in any::<proptest::sample::Index>(),
            value in any::<u8>(),
        ) {
            let mut bytes = message.encode();
            let index = position.index(bytes.len());
            bytes[index] = value;
            if let Ok(decoded) = decode(&bytes) {
                prop_assert_eq!(decoded.encode(), bytes);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..80)) {
            if let Ok(decoded) = decode(&bytes) {
                prop_assert_eq!(decoded.encode(), bytes);
            }
        }

        #[test]
        fn truncation_is_an_error_with_an_error_code(message in message(), cut in 1usize..12) {
            let bytes = message.encode();
            let short = &bytes[..bytes.len().saturating_sub(cut)];
            let error = decode(short).unwrap_err();
            prop_assert!(error.error_code().is_some());
        }
    }
}
