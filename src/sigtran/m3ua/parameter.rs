//! M3UA parameters: tag-length-value with 4-byte padding (RFC 4666 §3.2,
//! common tags §3.2 table and M3UA-specific tags 0x0200–0x02ff).
//!
//! Owns the [`Parameter`] enum (typed values for every tag RFC 4666 defines,
//! raw bytes for unknown tags so they survive a decode/encode round trip),
//! [`ProtocolData`] (§3.3.1) and point-code entries with a mask (§3.4).

use super::codec::{padded, read_u16, read_u32};
use super::error::M3uaError;

/// Parameter tags of RFC 4666 §3.2 (common) and §3.3+ (M3UA-specific).
pub mod tag {
    /// INFO String.
    pub const INFO_STRING: u16 = 0x0004;
    /// Routing Context.
    pub const ROUTING_CONTEXT: u16 = 0x0006;
    /// Diagnostic Information.
    pub const DIAGNOSTIC_INFORMATION: u16 = 0x0007;
    /// Heartbeat Data.
    pub const HEARTBEAT_DATA: u16 = 0x0009;
    /// Traffic Mode Type.
    pub const TRAFFIC_MODE_TYPE: u16 = 0x000b;
    /// Error Code.
    pub const ERROR_CODE: u16 = 0x000c;
    /// Status.
    pub const STATUS: u16 = 0x000d;
    /// ASP Identifier.
    pub const ASP_IDENTIFIER: u16 = 0x0011;
    /// Affected Point Code.
    pub const AFFECTED_POINT_CODE: u16 = 0x0012;
    /// Correlation ID.
    pub const CORRELATION_ID: u16 = 0x0013;
    /// Network Appearance.
    pub const NETWORK_APPEARANCE: u16 = 0x0200;
    /// User/Cause.
    pub const USER_CAUSE: u16 = 0x0204;
    /// Congestion Indications.
    pub const CONGESTION_INDICATIONS: u16 = 0x0205;
    /// Concerned Destination.
    pub const CONCERNED_DESTINATION: u16 = 0x0206;
    /// Routing Key.
    pub const ROUTING_KEY: u16 = 0x0207;
    /// Registration Result.
    pub const REGISTRATION_RESULT: u16 = 0x0208;
    /// Deregistration Result.
    pub const DEREGISTRATION_RESULT: u16 = 0x0209;
    /// Local Routing Key Identifier.
    pub const LOCAL_ROUTING_KEY_IDENTIFIER: u16 = 0x020a;
    /// Destination Point Code.
    pub const DESTINATION_POINT_CODE: u16 = 0x020b;
    /// Service Indicators.
    pub const SERVICE_INDICATORS: u16 = 0x020c;
    /// Originating Point Code List.
    pub const ORIGINATING_POINT_CODE_LIST: u16 = 0x020e;
    /// Protocol Data.
    pub const PROTOCOL_DATA: u16 = 0x0210;
    /// Registration Status.
    pub const REGISTRATION_STATUS: u16 = 0x0212;
    /// Deregistration Status.
    pub const DEREGISTRATION_STATUS: u16 = 0x0213;
}

/// The MTP3 routing label and user data of a DATA message (RFC 4666 §3.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ProtocolData {
    /// Originating Point Code (32-bit field; ITU point codes use 14 bits).
    pub opc: u32,
    /// Destination Point Code.
    pub dpc: u32,
    /// Service Indicator (5 = ISUP).
    pub si: u8,
    /// Network Indicator (0 international, 2 national, …).
    pub ni: u8,
    /// Message Priority (ANSI; 0 for ITU).
    pub mp: u8,
    /// Signalling Link Selection code.
    pub sls: u8,
    /// The MTP3 user part message (for SI 5 an ISUP message starting with the CIC).
    pub user_data: Vec<u8>,
}

/// A point code with the wildcard mask of RFC 4666 §3.4.1 (Affected Point
/// Code, Destination Point Code, OPC list entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PointCodeEntry {
    /// Number of low-order bits of the point code that are wildcards.
    pub mask: u8,
    /// The point code (24 bits).
    pub point_code: u32,
}

impl PointCodeEntry {
    /// An exact point code (mask 0); bits above 24 are dropped.
    pub fn exact(point_code: u32) -> Self {
        Self {
            mask: 0,
            point_code: point_code & 0x00ff_ffff,
        }
    }

    fn from_u32(raw: u32) -> Self {
        Self {
            mask: (raw >> 24) as u8,
            point_code: raw & 0x00ff_ffff,
        }
    }

    fn to_u32(self) -> u32 {
        (u32::from(self.mask) << 24) | (self.point_code & 0x00ff_ffff)
    }
}

/// One M3UA parameter (RFC 4666 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parameter {
    /// INFO String (0x0004), free text for operators.
    InfoString(String),
    /// Routing Context (0x0006), one or more 32-bit values.
    RoutingContext(Vec<u32>),
    /// Diagnostic Information (0x0007), opaque (often the offending message).
    DiagnosticInformation(Vec<u8>),
    /// Heartbeat Data (0x0009), echoed unchanged in BEAT-ACK.
    HeartbeatData(Vec<u8>),
    /// Traffic Mode Type (0x000b): 1 override, 2 loadshare, 3 broadcast.
    TrafficModeType(u32),
    /// Error Code (0x000c), see [`super::error::error_code`].
    ErrorCode(u32),
    /// Status (0x000d) of a NTFY.
    Status {
        /// 1 = AS state change, 2 = other.
        status_type: u16,
        /// Meaning depends on `status_type` (RFC 4666 §3.8.2).
        status_info: u16,
    },
    /// ASP Identifier (0x0011).
    AspIdentifier(u32),
    /// Affected Point Code (0x0012), one or more masked point codes.
    AffectedPointCode(Vec<PointCodeEntry>),
    /// Correlation ID (0x0013).
    CorrelationId(u32),
    /// Network Appearance (0x0200).
    NetworkAppearance(u32),
    /// User/Cause (0x0204) of a DUPU.
    UserCause {
        /// Unavailability cause (0 unknown, 1 unequipped, 2 inaccessible).
        cause: u16,
        /// MTP3 user identity (service indicator).
        user: u16,
    },
    /// Congestion Indications (0x0205), kept as the raw 32-bit field
    /// (reserved bits included); the level is the low byte.
    CongestionIndications(u32),
    /// Concerned Destination (0x0206), raw 32-bit field; point code in the low 24 bits.
    ConcernedDestination(u32),
    /// Routing Key (0x0207), a nested parameter list.
    RoutingKey(Vec<Parameter>),
    /// Registration Result (0x0208), a nested parameter list.
    RegistrationResult(Vec<Parameter>),
    /// Deregistration Result (0x0209), a nested parameter list.
    DeregistrationResult(Vec<Parameter>),
    /// Local Routing Key Identifier (0x020a).
    LocalRoutingKeyIdentifier(u32),
    /// Destination Point Code (0x020b).
    DestinationPointCode(PointCodeEntry),
    /// Service Indicators (0x020c), one octet each.
    ServiceIndicators(Vec<u8>),
    /// Originating Point Code List (0x020e).
    OriginatingPointCodeList(Vec<PointCodeEntry>),
    /// Protocol Data (0x0210) of a DATA message.
    ProtocolData(ProtocolData),
    /// Registration Status (0x0212), 0 = successfully registered.
    RegistrationStatus(u32),
    /// Deregistration Status (0x0213), 0 = successfully deregistered.
    DeregistrationStatus(u32),
    /// A tag this codec does not know, kept verbatim.
    Unknown {
        /// The tag.
        tag: u16,
        /// The value (without padding).
        value: Vec<u8>,
    },
}

impl Parameter {
    /// The parameter's tag.
    pub fn tag(&self) -> u16 {
        match self {
            Parameter::InfoString(_) => tag::INFO_STRING,
            Parameter::RoutingContext(_) => tag::ROUTING_CONTEXT,
            Parameter::DiagnosticInformation(_) => tag::DIAGNOSTIC_INFORMATION,
            Parameter::HeartbeatData(_) => tag::HEARTBEAT_DATA,
            Parameter::TrafficModeType(_) => tag::TRAFFIC_MODE_TYPE,
            Parameter::ErrorCode(_) => tag::ERROR_CODE,
            Parameter::Status { .. } => tag::STATUS,
            Parameter::AspIdentifier(_) => tag::ASP_IDENTIFIER,
            Parameter::AffectedPointCode(_) => tag::AFFECTED_POINT_CODE,
            Parameter::CorrelationId(_) => tag::CORRELATION_ID,
            Parameter::NetworkAppearance(_) => tag::NETWORK_APPEARANCE,
            Parameter::UserCause { .. } => tag::USER_CAUSE,
            Parameter::CongestionIndications(_) => tag::CONGESTION_INDICATIONS,
            Parameter::ConcernedDestination(_) => tag::CONCERNED_DESTINATION,
            Parameter::RoutingKey(_) => tag::ROUTING_KEY,
            Parameter::RegistrationResult(_) => tag::REGISTRATION_RESULT,
            Parameter::DeregistrationResult(_) => tag::DEREGISTRATION_RESULT,
            Parameter::LocalRoutingKeyIdentifier(_) => tag::LOCAL_ROUTING_KEY_IDENTIFIER,
            Parameter::DestinationPointCode(_) => tag::DESTINATION_POINT_CODE,
            Parameter::ServiceIndicators(_) => tag::SERVICE_INDICATORS,
            Parameter::OriginatingPointCodeList(_) => tag::ORIGINATING_POINT_CODE_LIST,
            Parameter::ProtocolData(_) => tag::PROTOCOL_DATA,
            Parameter::RegistrationStatus(_) => tag::REGISTRATION_STATUS,
            Parameter::DeregistrationStatus(_) => tag::DEREGISTRATION_STATUS,
            Parameter::Unknown { tag, .. } => *tag,
        }
    }

    /// Appends tag, length, value and zero padding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.tag().to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        self.encode_value(out);
        let length = u16::try_from(out.len() - start).unwrap_or(u16::MAX);
        if let Some(field) = out.get_mut(start + 2..start + 4) {
            field.copy_from_slice(&length.to_be_bytes());
        }
        let end = start + padded(out.len() - start);
        out.resize(end, 0);
    }

    fn encode_value(&self, out: &mut Vec<u8>) {
        let put = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_be_bytes());
        match self {
            Parameter::InfoString(text) => out.extend_from_slice(text.as_bytes()),
            Parameter::RoutingContext(values) => values.iter().for_each(|v| put(out, *v)),
            Parameter::DiagnosticInformation(bytes)
            | Parameter::HeartbeatData(bytes)
            | Parameter::ServiceIndicators(bytes)
            | Parameter::Unknown { value: bytes, .. } => out.extend_from_slice(bytes),
            Parameter::TrafficModeType(v)
            | Parameter::ErrorCode(v)
            | Parameter::AspIdentifier(v)
            | Parameter::CorrelationId(v)
            | Parameter::NetworkAppearance(v)
            | Parameter::CongestionIndications(v)
            | Parameter::ConcernedDestination(v)
            | Parameter::LocalRoutingKeyIdentifier(v)
            | Parameter::RegistrationStatus(v)
            | Parameter::DeregistrationStatus(v) => put(out, *v),
            Parameter::Status {
                status_type,
                status_info,
            } => {
                out.extend_from_slice(&status_type.to_be_bytes());
                out.extend_from_slice(&status_info.to_be_bytes());
            }
            Parameter::UserCause { cause, user } => {
                out.extend_from_slice(&cause.to_be_bytes());
                out.extend_from_slice(&user.to_be_bytes());
            }
            Parameter::AffectedPointCode(entries)
            | Parameter::OriginatingPointCodeList(entries) => {
                entries.iter().for_each(|e| put(out, e.to_u32()))
            }
            Parameter::DestinationPointCode(entry) => put(out, entry.to_u32()),
            Parameter::RoutingKey(inner)
            | Parameter::RegistrationResult(inner)
            | Parameter::DeregistrationResult(inner) => {
                inner.iter().for_each(|p| p.encode_into(out))
            }
            Parameter::ProtocolData(data) => {
                put(out, data.opc);
                put(out, data.dpc);
                out.extend_from_slice(&[data.si, data.ni, data.mp, data.sls]);
                out.extend_from_slice(&data.user_data);
            }
        }
    }

    /// Bytes this parameter takes on the wire, padding included.
    pub fn encoded_len(&self) -> usize {
        let mut scratch = Vec::new();
        self.encode_into(&mut scratch);
        scratch.len()
    }
}

/// Decodes the parameters in `bytes[start..end]`; offsets in errors are
/// relative to `bytes` (the whole message).
pub(crate) fn decode_parameters(
    bytes: &[u8],
    start: usize,
    end: usize,
) -> Result<Vec<Parameter>, M3uaError> {
    let mut parameters = Vec::new();
    let mut offset = start;
    while offset < end {
        let tag = read_u16(bytes, offset)?;
        let length = read_u16(bytes, offset + 2)?;
        let value_end = offset + usize::from(length);
        if length < 4 {
            return Err(M3uaError::ParameterLength {
                tag,
                offset,
                length,
                reason: "shorter than its 4-byte header",
            });
        }
        let next = offset + padded(usize::from(length));
        if next > end {
            return Err(M3uaError::ParameterLength {
                tag,
                offset,
                length,
                reason: "runs past the end of its container (padding included)",
            });
        }
        let padding = bytes.get(value_end..next).unwrap_or_default();
        if padding.iter().any(|b| *b != 0) {
            return Err(M3uaError::PaddingNotZero { tag, offset });
        }
        let value = bytes.get(offset + 4..value_end).unwrap_or_default();
        parameters.push(decode_value(bytes, tag, offset, value)?);
        offset = next;
    }
    Ok(parameters)
}

fn decode_value(
    message: &[u8],
    tag: u16,
    offset: usize,
    value: &[u8],
) -> Result<Parameter, M3uaError> {
    let field_error = |reason| M3uaError::ParameterLength {
        tag,
        offset,
        length: u16::try_from(value.len() + 4).unwrap_or(u16::MAX),
        reason,
    };
    let single = || -> Result<u32, M3uaError> {
        if value.len() != 4 {
            return Err(field_error("value must be exactly 4 bytes"));
        }
        read_u32(value, 0)
    };
    let list = || -> Result<Vec<u32>, M3uaError> {
        if value.is_empty() || !value.len().is_multiple_of(4) {
            return Err(field_error(
                "value must be a non-empty list of 4-byte entries",
            ));
        }
        (0..value.len() / 4)
            .map(|i| read_u32(value, i * 4))
            .collect()
    };
    let nested = || decode_parameters(message, offset + 4, offset + 4 + value.len());
    let parameter = match tag {
        tag::INFO_STRING => match std::str::from_utf8(value) {
            Ok(text) => Parameter::InfoString(text.to_owned()),
            Err(_) => {
                return Err(M3uaError::InvalidParameterValue {
                    tag,
                    offset,
                    reason: "INFO String is not UTF-8",
                })
            }
        },
        tag::ROUTING_CONTEXT => Parameter::RoutingContext(list()?),
        tag::DIAGNOSTIC_INFORMATION => Parameter::DiagnosticInformation(value.to_vec()),
        tag::HEARTBEAT_DATA => Parameter::HeartbeatData(value.to_vec()),
        tag::TRAFFIC_MODE_TYPE => Parameter::TrafficModeType(single()?),
        tag::ERROR_CODE => Parameter::ErrorCode(single()?),
        tag::STATUS => {
            let raw = single()?;
            Parameter::Status {
                status_type: (raw >> 16) as u16,
                status_info: raw as u16,
            }
        }
        tag::ASP_IDENTIFIER => Parameter::AspIdentifier(single()?),
        tag::AFFECTED_POINT_CODE => Parameter::AffectedPointCode(
            list()?.into_iter().map(PointCodeEntry::from_u32).collect(),
        ),
        tag::CORRELATION_ID => Parameter::CorrelationId(single()?),
        tag::NETWORK_APPEARANCE => Parameter::NetworkAppearance(single()?),
        tag::USER_CAUSE => {
            let raw = single()?;
            Parameter::UserCause {
                cause: (raw >> 16) as u16,
                user: raw as u16,
            }
        }
        tag::CONGESTION_INDICATIONS => Parameter::CongestionIndications(single()?),
        tag::CONCERNED_DESTINATION => Parameter::ConcernedDestination(single()?),
        tag::ROUTING_KEY => Parameter::RoutingKey(nested()?),
        tag::REGISTRATION_RESULT => Parameter::RegistrationResult(nested()?),
        tag::DEREGISTRATION_RESULT => Parameter::DeregistrationResult(nested()?),
        tag::LOCAL_ROUTING_KEY_IDENTIFIER => Parameter::LocalRoutingKeyIdentifier(single()?),
        tag::DESTINATION_POINT_CODE => {
            Parameter::DestinationPointCode(PointCodeEntry::from_u32(single()?))
        }
        tag::SERVICE_INDICATORS => {
            if value.is_empty() {
                return Err(field_error("needs at least one service indicator"));
            }
            Parameter::ServiceIndicators(value.to_vec())
        }
        tag::ORIGINATING_POINT_CODE_LIST => Parameter::OriginatingPointCodeList(
            list()?.into_iter().map(PointCodeEntry::from_u32).collect(),
        ),
        tag::PROTOCOL_DATA => {
            let (Some(&[si, ni, mp, sls]), Some(user_data)) = (value.get(8..12), value.get(12..))
            else {
                return Err(field_error("Protocol Data needs at least 12 bytes"));
            };
            Parameter::ProtocolData(ProtocolData {
                opc: read_u32(value, 0)?,
                dpc: read_u32(value, 4)?,
                si,
                ni,
                mp,
                sls,
                user_data: user_data.to_vec(),
            })
        }
        tag::REGISTRATION_STATUS => Parameter::RegistrationStatus(single()?),
        tag::DEREGISTRATION_STATUS => Parameter::DeregistrationStatus(single()?),
        _ => Parameter::Unknown {
            tag,
            value: value.to_vec(),
        },
    };
    Ok(parameter)
}

/// Finds the first parameter in `parameters` that `pick` accepts.
pub(crate) fn find<'a, T>(
    parameters: &'a [Parameter],
    pick: impl Fn(&'a Parameter) -> Option<T>,
) -> Option<T> {
    parameters.iter().find_map(pick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_string_is_padded_and_length_excludes_padding() {
        let mut out = Vec::new();
        Parameter::InfoString("abcde".into()).encode_into(&mut out);
        assert_eq!(out, [0, 4, 0, 9, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]);
        let decoded = decode_parameters(&out, 0, out.len()).unwrap();
        assert_eq!(decoded, vec![Parameter::InfoString("abcde".into())]);
    }

    #[test]
    fn protocol_data_layout_matches_rfc_4666_3_3_1() {
        let data = ProtocolData {
            opc: 0x0102,
            dpc: 0x0304,
            si: 5,
            ni: 2,
            mp: 0,
            sls: 7,
            user_data: vec![0xaa],
        };
        let mut out = Vec::new();
        Parameter::ProtocolData(data).encode_into(&mut out);
        assert_eq!(
            out,
            [0x02, 0x10, 0, 17, 0, 0, 1, 2, 0, 0, 3, 4, 5, 2, 0, 7, 0xaa, 0, 0, 0]
        );
    }

    #[test]
    fn nonzero_padding_is_a_parameter_field_error() {
        let bytes = [0, 4, 0, 5, b'a', 1, 0, 0];
        let error = decode_parameters(&bytes, 0, bytes.len()).unwrap_err();
        assert_eq!(error, M3uaError::PaddingNotZero { tag: 4, offset: 0 });
        assert_eq!(error.error_code(), Some(0x12));
    }

    #[test]
    fn wrong_length_for_fixed_parameter_is_reported_with_offset() {
        let bytes = [0, 0x0c, 0, 6, 0, 1, 0, 0];
        let error = decode_parameters(&bytes, 0, bytes.len()).unwrap_err();
        assert!(matches!(
            error,
            M3uaError::ParameterLength {
                tag: 0x0c,
                offset: 0,
                ..
            }
        ));
    }

    #[test]
    fn unknown_tag_is_preserved() {
        let bytes = [0x7f, 0x01, 0, 6, 9, 8, 0, 0];
        let decoded = decode_parameters(&bytes, 0, bytes.len()).unwrap();
        assert_eq!(
            decoded,
            vec![Parameter::Unknown {
                tag: 0x7f01,
                value: vec![9, 8]
            }]
        );
        let mut out = Vec::new();
        decoded[0].encode_into(&mut out);
        assert_eq!(out, bytes);
    }
}
