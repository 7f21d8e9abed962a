//! A borrowed, allocation-free view of one ISUP message (Q.763 §1): decoding checks the whole
//! layout (pointers, lengths, end of optional parameters) and records where each part lies, so
//! reading a parameter is a slice of the received octets. [`IsupMessage`] is the owned form for
//! building and changing messages; [`IsupView::to_message`] turns one into the other.

use super::message::{MessageBody, OptionalParameter, Parameters};
use super::parameters::{Parameter, ParameterCode};
use super::{Cic, IsupError, IsupMessage, Layout, MessageType, Variant};

/// The most mandatory variable parameters a Q.763 message has (CQR: range and status, circuit
/// state indicator).
pub const MAX_VARIABLE: usize = 2;

/// Offsets (from the CIC) of the parts of a message whose layout is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    layout: Layout,
    fixed: (usize, usize),
    variable: [(usize, usize); MAX_VARIABLE],
    /// Start and end of the optional parameters (end = the end-of-optional-parameters octet).
    optional: Option<(usize, usize)>,
    /// End of the message proper; octets after it are trailing.
    end: usize,
}

/// A decoded ISUP message borrowing the received octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsupView<'a> {
    bytes: &'a [u8],
    cic: Cic,
    message_type: MessageType,
    variant: Variant,
    parts: Option<Parts>,
}

/// The optional parameters of a message, in wire order: `(code, contents)`.
#[derive(Debug, Clone)]
pub struct OptionalParameters<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OptionalParameters<'a> {
    type Item = (ParameterCode, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // The layout was checked by decode; a short slice just ends the iteration.
        let [code, length, tail @ ..] = self.rest else {
            return None;
        };
        let value = tail.get(..usize::from(*length))?;
        self.rest = tail.get(usize::from(*length)..).unwrap_or_default();
        Some((ParameterCode(*code), value))
    }
}

fn truncated(message_type: MessageType, offset: usize, what: &'static str) -> IsupError {
    IsupError::Truncated {
        message_type,
        offset,
        what,
    }
}

impl<'a> IsupView<'a> {
    /// Decodes one ISUP message of `variant` starting at the CIC, without allocating.
    pub fn decode(bytes: &'a [u8], variant: Variant) -> Result<IsupView<'a>, IsupError> {
        let [low, high, type_code, ..] = bytes else {
            return Err(IsupError::TooShort {
                length: bytes.len(),
            });
        };
        let cic = Cic(u16::from_le_bytes([*low, *high]));
        let message_type = MessageType::from_code(*type_code);
        let mut view = IsupView {
            bytes,
            cic,
            message_type,
            variant,
            parts: None,
        };
        let Some(layout) = Layout::of(message_type, variant) else {
            return Ok(view);
        };
        let octet = |offset: usize, what| {
            bytes
                .get(offset)
                .copied()
                .ok_or(truncated(message_type, offset, what))
        };
        let fixed_end = 3 + layout.fixed_length();
        if bytes.len() < fixed_end {
            return Err(truncated(message_type, bytes.len(), "mandatory fixed part"));
        }
        let position = fixed_end;
        let pointer_count = layout.variable.len() + usize::from(layout.optional);
        let mut next = position + pointer_count;
        if bytes.len() < next {
            return Err(truncated(message_type, bytes.len(), "pointers"));
        }
        let mut variable = [(0, 0); MAX_VARIABLE];
        for (index, slot) in variable.iter_mut().enumerate().take(layout.variable.len()) {
            let pointer_offset = position + index;
            let pointer = octet(pointer_offset, "pointer")?;
            if pointer == 0 || pointer_offset + usize::from(pointer) != next {
                return Err(IsupError::BadPointer {
                    message_type,
                    offset: pointer_offset,
                    pointer,
                    what: "mandatory variable parameter",
                });
            }
            let length = usize::from(octet(next, "variable parameter length")?);
            if bytes.len() < next + 1 + length {
                return Err(truncated(message_type, bytes.len(), "variable parameter"));
            }
            *slot = (next + 1, next + 1 + length);
            next += 1 + length;
        }
        let mut optional = None;
        if layout.optional {
            let pointer_offset = position + layout.variable.len();
            let pointer = octet(pointer_offset, "optional part pointer")?;
            if pointer != 0 {
                if pointer_offset + usize::from(pointer) != next {
                    return Err(IsupError::BadPointer {
                        message_type,
                        offset: pointer_offset,
                        pointer,
                        what: "optional part",
                    });
                }
                let start = next;
                loop {
                    let code = octet(next, "optional parameter code")?;
                    if code == 0 {
                        break;
                    }
                    let length = usize::from(octet(next + 1, "optional parameter length")?);
                    if bytes.len() < next + 2 + length {
                        return Err(truncated(message_type, bytes.len(), "optional parameter"));
                    }
                    next += 2 + length;
                }
                optional = Some((start, next));
                next += 1;
            }
        }
        view.parts = Some(Parts {
            layout,
            fixed: (3, fixed_end),
            variable,
            optional,
            end: next,
        });
        Ok(view)
    }

    fn slice(&self, (start, end): (usize, usize)) -> &'a [u8] {
        self.bytes.get(start..end).unwrap_or_default()
    }

    /// Circuit identification code (all 16 bits as received).
    pub fn cic(&self) -> Cic {
        self.cic
    }

    /// Message type.
    pub fn message_type(&self) -> MessageType {
        self.message_type
    }

    /// The variant the message was decoded as.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The octets the view was decoded from.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The layout, unless the message type is unknown (then the body is raw).
    pub fn layout(&self) -> Option<Layout> {
        self.parts.map(|parts| parts.layout)
    }

    /// The mandatory fixed part (empty for a raw body).
    pub fn fixed(&self) -> &'a [u8] {
        self.parts
            .map(|parts| self.slice(parts.fixed))
            .unwrap_or_default()
    }

    /// Contents of the mandatory variable parameter `index` (layout order).
    pub fn variable(&self, index: usize) -> Option<&'a [u8]> {
        let parts = self.parts?;
        if index >= parts.layout.variable.len() {
            return None;
        }
        parts.variable.get(index).map(|range| self.slice(*range))
    }

    /// Whether the message has an optional part (its pointer is not 0).
    pub fn has_optional_part(&self) -> bool {
        self.parts.is_some_and(|parts| parts.optional.is_some())
    }

    /// The optional parameters in wire order (none for messages without an optional part).
    pub fn optional_parameters(&self) -> OptionalParameters<'a> {
        let rest = self
            .parts
            .and_then(|parts| parts.optional)
            .map(|range| self.slice(range))
            .unwrap_or_default();
        OptionalParameters { rest }
    }

    /// Octets after the end of the message proper (or, for unknown types, after the type).
    pub fn trailing(&self) -> &'a [u8] {
        match self.parts {
            Some(parts) => self.bytes.get(parts.end..).unwrap_or_default(),
            None => self.bytes.get(3..).unwrap_or_default(),
        }
    }

    /// Whether the message carries anything this codec has no name for: an unknown message type
    /// or an optional parameter whose code Q.763 Table 5 does not name.
    pub fn has_unknown_parts(&self) -> bool {
        self.parts.is_none()
            || self
                .optional_parameters()
                .any(|(code, _)| code.name().is_none())
    }

    /// Contents of parameter `code` wherever the layout puts it: mandatory fixed, mandatory
    /// variable, or the first optional parameter with that code.
    pub fn parameter(&self, code: ParameterCode) -> Option<&'a [u8]> {
        let parts = self.parts?;
        let mut offset = parts.fixed.0;
        for (fixed_code, length) in parts.layout.fixed {
            if *fixed_code == code {
                return self.bytes.get(offset..offset + length);
            }
            offset += length;
        }
        if let Some(index) = parts.layout.variable.iter().position(|c| *c == code) {
            return self.variable(index);
        }
        self.optional_parameters()
            .find(|(found, _)| *found == code)
            .map(|(_, value)| value)
    }

    /// Decodes parameter `P` if present.
    pub fn typed<P: Parameter>(&self) -> Option<Result<P, IsupError>> {
        self.parameter(P::CODE).map(P::decode)
    }

    /// The owned message (allocates).
    pub fn to_message(&self) -> IsupMessage {
        let body = match self.parts {
            None => MessageBody::Raw(self.trailing().to_vec()),
            Some(parts) => MessageBody::Parameters(Parameters {
                fixed: self.slice(parts.fixed).to_vec(),
                variable: (0..parts.layout.variable.len())
                    .filter_map(|index| self.variable(index).map(<[u8]>::to_vec))
                    .collect(),
                optional: parts.optional.map(|_| {
                    self.optional_parameters()
                        .map(|(code, value)| OptionalParameter {
                            code,
                            value: value.to_vec(),
                        })
                        .collect()
                }),
                trailing: self.trailing().to_vec(),
            }),
        };
        IsupMessage {
            cic: self.cic,
            message_type: self.message_type,
            body,
        }
    }
}
