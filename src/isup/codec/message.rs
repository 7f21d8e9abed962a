//! The ISUP message (Q.763 §1): routing label excluded, it starts with the circuit
//! identification code, then the message type, the mandatory fixed part, the pointers and
//! mandatory variable parameters, and the optional part ended by an end-of-optional-parameters
//! octet. Decoding keeps every octet so that `encode(decode(b)) == b`.
//!
//! Accepted layouts are the ones Q.763 §1.6–§1.8 describe: variable parameters in pointer
//! order, each directly after the previous one, and the optional part right after them.
//! Octets after the end of the message proper are kept in [`Parameters::trailing`].

use super::parameters::{
    BackwardCallIndicators, CalledPartyNumber, CallingPartyNumber, CallingPartysCategory,
    CauseIndicators, EventInformation, ForwardCallIndicators, NatureOfConnectionIndicators,
    Parameter, ParameterCode, RangeAndStatus, SubsequentNumber, TransmissionMediumRequirement,
};
use super::{Cic, IsupError, IsupView, Layout, MessageType, Variant};

/// One optional parameter as received: name code and contents (without the length octet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionalParameter {
    /// Parameter name code; unknown codes are kept.
    pub code: ParameterCode,
    /// Contents; at most 255 octets are encoded.
    pub value: Vec<u8>,
}

/// The parameters of a message whose layout the codec knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parameters {
    /// The mandatory fixed part, all fixed parameters concatenated in layout order; its length
    /// must equal [`Layout::fixed_length`] for the message to encode correctly.
    pub fixed: Vec<u8>,
    /// Contents of the mandatory variable parameters, in layout order (at most 255 octets each).
    pub variable: Vec<Vec<u8>>,
    /// Optional part: `None` when the optional-part pointer is 0 (or the type has no optional
    /// part), `Some` when it points at a (possibly empty) list ended by the end octet.
    /// Ignored by [`IsupMessage::encode`] for types without an optional part.
    pub optional: Option<Vec<OptionalParameter>>,
    /// Octets after the end of the message proper, kept for lossless re-encoding.
    pub trailing: Vec<u8>,
}

/// What follows the message type octet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageBody {
    /// The layout is known (see [`Layout::of`]) and the parameters are split out.
    Parameters(Parameters),
    /// Unknown or not described message type: every octet after the type, untouched.
    Raw(Vec<u8>),
}

/// A decoded ISUP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsupMessage {
    /// Circuit identification code.
    pub cic: Cic,
    /// Message type.
    pub message_type: MessageType,
    /// Parameters or raw octets.
    pub body: MessageBody,
}

/// The parameters of an initial address message, for [`IsupMessage::iam`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Iam {
    /// Nature of connection indicators (mandatory fixed).
    pub nature_of_connection_indicators: NatureOfConnectionIndicators,
    /// Forward call indicators (mandatory fixed).
    pub forward_call_indicators: ForwardCallIndicators,
    /// Calling party's category (mandatory fixed).
    pub calling_partys_category: CallingPartysCategory,
    /// Transmission medium requirement (mandatory fixed).
    pub transmission_medium_requirement: TransmissionMediumRequirement,
    /// Called party number (mandatory variable).
    pub called_party_number: CalledPartyNumber,
    /// Calling party number (optional); encoded as the first optional parameter.
    pub calling_party_number: Option<CallingPartyNumber>,
    /// Further optional parameters, passed through in order.
    pub optional: Vec<OptionalParameter>,
}

impl IsupMessage {
    /// Decodes one ISUP message (ITU variant) starting at the CIC.
    pub fn decode(bytes: &[u8]) -> Result<IsupMessage, IsupError> {
        Self::decode_variant(bytes, Variant::Itu)
    }

    /// Decodes one ISUP message of the given variant starting at the CIC; see
    /// [`IsupView::decode`] for the allocation-free form.
    pub fn decode_variant(bytes: &[u8], variant: Variant) -> Result<IsupMessage, IsupError> {
        IsupView::decode(bytes, variant).map(|view| view.to_message())
    }

    /// Encodes the message (from the CIC on). Contents longer than a length octet allows are
    /// cut at 255 octets; a message whose mandatory part pushes the optional part beyond a
    /// one-octet pointer cannot be represented and gets a wrong pointer.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoded message to `out`; see [`IsupMessage::encode`].
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.encode_variant_into(Variant::Itu, out);
    }

    /// Appends the message encoded per `variant`'s layouts to `out`.
    pub fn encode_variant_into(&self, variant: Variant, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cic.0.to_le_bytes());
        out.push(self.message_type.code());
        let parameters = match &self.body {
            MessageBody::Raw(raw) => {
                out.extend_from_slice(raw);
                return;
            }
            MessageBody::Parameters(parameters) => parameters,
        };
        let has_optional_pointer = Layout::of(self.message_type, variant)
            .map(|layout| layout.optional)
            .unwrap_or(false);
        out.extend_from_slice(&parameters.fixed);
        let pointer_base = out.len();
        let pointer_count = parameters.variable.len() + usize::from(has_optional_pointer);
        out.resize(pointer_base + pointer_count, 0);
        for (index, value) in parameters.variable.iter().enumerate() {
            let pointer = out.len() - (pointer_base + index);
            if let Some(slot) = out.get_mut(pointer_base + index) {
                *slot = u8::try_from(pointer).unwrap_or(u8::MAX);
            }
            push_with_length(out, value);
        }
        if has_optional_pointer {
            if let Some(list) = &parameters.optional {
                let index = parameters.variable.len();
                let pointer = out.len() - (pointer_base + index);
                if let Some(slot) = out.get_mut(pointer_base + index) {
                    *slot = u8::try_from(pointer).unwrap_or(u8::MAX);
                }
                for parameter in list {
                    out.push(parameter.code.0);
                    push_with_length(out, &parameter.value);
                }
                out.push(ParameterCode::END_OF_OPTIONAL_PARAMETERS.0);
            }
        }
        out.extend_from_slice(&parameters.trailing);
    }

    /// A message of `message_type` with the given parts and no trailing octets.
    pub fn with_parameters(
        cic: Cic,
        message_type: MessageType,
        fixed: Vec<u8>,
        variable: Vec<Vec<u8>>,
        optional: Vec<OptionalParameter>,
    ) -> IsupMessage {
        IsupMessage {
            cic,
            message_type,
            body: MessageBody::Parameters(Parameters {
                fixed,
                variable,
                optional: if optional.is_empty() {
                    None
                } else {
                    Some(optional)
                },
                trailing: Vec::new(),
            }),
        }
    }

    /// Adds an optional parameter at the end of the optional part (ignored for raw bodies and
    /// for message types without an optional part).
    pub fn with_optional(mut self, code: ParameterCode, value: Vec<u8>) -> IsupMessage {
        let allowed =
            Layout::of(self.message_type, Variant::Itu).is_some_and(|layout| layout.optional);
        if let (true, MessageBody::Parameters(parameters)) = (allowed, &mut self.body) {
            parameters
                .optional
                .get_or_insert_with(Vec::new)
                .push(OptionalParameter { code, value });
        }
        self
    }

    /// Initial address message (Q.763 Table 32).
    pub fn iam(cic: Cic, iam: Iam) -> IsupMessage {
        let mut fixed = Vec::with_capacity(5);
        iam.nature_of_connection_indicators.encode_into(&mut fixed);
        iam.forward_call_indicators.encode_into(&mut fixed);
        iam.calling_partys_category.encode_into(&mut fixed);
        iam.transmission_medium_requirement.encode_into(&mut fixed);
        let mut optional = Vec::with_capacity(iam.optional.len() + 1);
        if let Some(calling) = &iam.calling_party_number {
            optional.push(OptionalParameter {
                code: ParameterCode::CALLING_PARTY_NUMBER,
                value: calling.to_bytes(),
            });
        }
        optional.extend(iam.optional);
        Self::with_parameters(
            cic,
            MessageType::IAM,
            fixed,
            vec![iam.called_party_number.to_bytes()],
            optional,
        )
    }

    /// Subsequent address message carrying more digits in overlap sending.
    pub fn sam(cic: Cic, subsequent_number: &SubsequentNumber) -> IsupMessage {
        Self::with_parameters(
            cic,
            MessageType::SAM,
            Vec::new(),
            vec![subsequent_number.to_bytes()],
            Vec::new(),
        )
    }

    /// Address complete message with the given optional parameters.
    pub fn acm(
        cic: Cic,
        backward_call_indicators: BackwardCallIndicators,
        optional: Vec<OptionalParameter>,
    ) -> IsupMessage {
        Self::with_parameters(
            cic,
            MessageType::ACM,
            backward_call_indicators.to_bytes(),
            Vec::new(),
            optional,
        )
    }

    /// Connect message (answer without a prior ACM).
    pub fn con(cic: Cic, backward_call_indicators: BackwardCallIndicators) -> IsupMessage {
        Self::with_parameters(
            cic,
            MessageType::CON,
            backward_call_indicators.to_bytes(),
            Vec::new(),
            Vec::new(),
        )
    }

    /// Call progress message.
    pub fn cpg(cic: Cic, event_information: EventInformation) -> IsupMessage {
        Self::with_parameters(
            cic,
            MessageType::CPG,
            event_information.to_bytes(),
            Vec::new(),
            Vec::new(),
        )
    }

    /// Answer message.
    pub fn anm(cic: Cic) -> IsupMessage {
        Self::with_parameters(cic, MessageType::ANM, Vec::new(), Vec::new(), Vec::new())
    }

    /// Release message.
    pub fn rel(cic: Cic, cause: &CauseIndicators) -> IsupMessage {
        Self::with_parameters(
            cic,
            MessageType::REL,
            Vec::new(),
            vec![cause.to_bytes()],
            Vec::new(),
        )
    }

    /// Release complete message.
    pub fn rlc(cic: Cic) -> IsupMessage {
        Self::with_parameters(cic, MessageType::RLC, Vec::new(), Vec::new(), Vec::new())
    }

    /// Confusion message (Q.764 §2.9.5) with the cause explaining what was not understood.
    pub fn cfn(cic: Cic, cause: &CauseIndicators) -> IsupMessage {
        Self::with_parameters(
            cic,
            MessageType::CFN,
            Vec::new(),
            vec![cause.to_bytes()],
            Vec::new(),
        )
    }

    /// A message without parameters: RSC, BLO, UBL, BLA, UBA, UCIC, CCR or LPA.
    pub fn bare(cic: Cic, message_type: MessageType) -> IsupMessage {
        Self::with_parameters(cic, message_type, Vec::new(), Vec::new(), Vec::new())
    }

    /// Reset circuit message.
    pub fn rsc(cic: Cic) -> IsupMessage {
        Self::bare(cic, MessageType::RSC)
    }

    /// Circuit group reset (`range` + 1 circuits from `cic`); GRS carries no status bits.
    pub fn grs(cic: Cic, range: u8) -> IsupMessage {
        let range_and_status = RangeAndStatus {
            range,
            status: Vec::new(),
        };
        Self::with_parameters(
            cic,
            MessageType::GRS,
            Vec::new(),
            vec![range_and_status.to_bytes()],
            Vec::new(),
        )
    }

    /// Circuit group reset acknowledgement.
    pub fn gra(cic: Cic, range_and_status: &RangeAndStatus) -> IsupMessage {
        Self::with_parameters(
            cic,
            MessageType::GRA,
            Vec::new(),
            vec![range_and_status.to_bytes()],
            Vec::new(),
        )
    }

    /// The split-out parameters, unless the body is raw.
    pub fn parameters(&self) -> Option<&Parameters> {
        match &self.body {
            MessageBody::Parameters(parameters) => Some(parameters),
            MessageBody::Raw(_) => None,
        }
    }

    /// Contents of the parameter `code` wherever the layout puts it: mandatory fixed,
    /// mandatory variable, or the first optional parameter with that code.
    pub fn parameter(&self, code: ParameterCode) -> Option<&[u8]> {
        let parameters = self.parameters()?;
        let layout = Layout::of(self.message_type, Variant::Itu)?;
        let mut offset = 0;
        for (fixed_code, length) in layout.fixed {
            if *fixed_code == code {
                return parameters.fixed.get(offset..offset + length);
            }
            offset += length;
        }
        if let Some(index) = layout.variable.iter().position(|c| *c == code) {
            return parameters.variable.get(index).map(Vec::as_slice);
        }
        parameters
            .optional
            .as_ref()?
            .iter()
            .find(|parameter| parameter.code == code)
            .map(|parameter| parameter.value.as_slice())
    }

    /// The optional parameters in order (empty when there is no optional part).
    pub fn optional_parameters(&self) -> &[OptionalParameter] {
        self.parameters()
            .and_then(|parameters| parameters.optional.as_deref())
            .unwrap_or_default()
    }

    /// Decodes parameter `P` if present.
    pub fn typed<P: Parameter>(&self) -> Option<Result<P, IsupError>> {
        self.parameter(P::CODE).map(P::decode)
    }

    /// Called party number (IAM).
    pub fn called_party_number(&self) -> Option<Result<CalledPartyNumber, IsupError>> {
        self.typed()
    }

    /// Calling party number (IAM, optional).
    pub fn calling_party_number(&self) -> Option<Result<CallingPartyNumber, IsupError>> {
        self.typed()
    }

    /// Subsequent number (SAM).
    pub fn subsequent_number(&self) -> Option<Result<SubsequentNumber, IsupError>> {
        self.typed()
    }

    /// Cause indicators (REL, CFN, optional in RLC/ACM/CPG).
    pub fn cause_indicators(&self) -> Option<Result<CauseIndicators, IsupError>> {
        self.typed()
    }

    /// Event information (CPG).
    pub fn event_information(&self) -> Option<Result<EventInformation, IsupError>> {
        self.typed()
    }

    /// Backward call indicators (ACM, CON; optional in CPG).
    pub fn backward_call_indicators(&self) -> Option<Result<BackwardCallIndicators, IsupError>> {
        self.typed()
    }

    /// Forward call indicators (IAM).
    pub fn forward_call_indicators(&self) -> Option<Result<ForwardCallIndicators, IsupError>> {
        self.typed()
    }

    /// Nature of connection indicators (IAM).
    pub fn nature_of_connection_indicators(
        &self,
    ) -> Option<Result<NatureOfConnectionIndicators, IsupError>> {
        self.typed()
    }

    /// Calling party's category (IAM).
    pub fn calling_partys_category(&self) -> Option<Result<CallingPartysCategory, IsupError>> {
        self.typed()
    }

    /// Transmission medium requirement (IAM).
    pub fn transmission_medium_requirement(
        &self,
    ) -> Option<Result<TransmissionMediumRequirement, IsupError>> {
        self.typed()
    }

    /// Range and status (GRS, GRA, CGB, …).
    pub fn range_and_status(&self) -> Option<Result<RangeAndStatus, IsupError>> {
        self.typed()
    }

    /// The typed IAM view: mandatory parameters decoded, the calling party number taken out of
    /// the optional part, every other optional parameter kept in order.
    pub fn to_iam(&self) -> Result<Iam, IsupError> {
        fn required<P: Parameter>(value: Option<Result<P, IsupError>>) -> Result<P, IsupError> {
            value.unwrap_or(Err(IsupError::InvalidParameter {
                parameter: P::CODE,
                offset: 0,
                reason: "mandatory parameter missing",
            }))
        }
        let mut optional = Vec::new();
        let mut calling_party_number = None;
        for parameter in self.optional_parameters() {
            if parameter.code == ParameterCode::CALLING_PARTY_NUMBER
                && calling_party_number.is_none()
            {
                calling_party_number = Some(CallingPartyNumber::decode(&parameter.value)?);
            } else {
                optional.push(parameter.clone());
            }
        }
        Ok(Iam {
            nature_of_connection_indicators: required(self.nature_of_connection_indicators())?,
            forward_call_indicators: required(self.forward_call_indicators())?,
            calling_partys_category: required(self.calling_partys_category())?,
            transmission_medium_requirement: required(self.transmission_medium_requirement())?,
            called_party_number: required(self.called_party_number())?,
            calling_party_number,
            optional,
        })
    }
}

fn push_with_length(out: &mut Vec<u8>, value: &[u8]) {
    let value = value.get(..255).unwrap_or(value);
    out.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(value);
}
