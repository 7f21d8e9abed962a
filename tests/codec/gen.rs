//! Random valid ISUP messages of every type with a Q.763 layout, with random parameters, from a
//! seeded generator (so a failure names the seed that reproduces it). Contents stay within what
//! Q.763 allows, so Wireshark's dissector has no reason to call them malformed.

use tandem::isup::codec::{Layout, MessageType, OptionalParameter, ParameterCode as P, Variant};
use tandem::isup::{Cic, IsupMessage};

/// SplitMix64: small, seedable, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `low..=high`.
    pub fn range(&mut self, low: u32, high: u32) -> u32 {
        low + (self.next() % u64::from(high - low + 1)) as u32
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    pub fn bytes(&mut self, low: u32, high: u32) -> Vec<u8> {
        (0..self.range(low, high)).map(|_| self.byte()).collect()
    }
}

/// Every message type the codec lays out (the others are kept raw).
pub fn laid_out_types() -> Vec<MessageType> {
    (0..=255u8)
        .map(MessageType::from_code)
        .filter(|t| Layout::of(*t, Variant::Itu).is_some())
        .collect()
}

/// Decimal digits, packed with the odd/even indicator in `first` (bit 8).
fn digits(rng: &mut Rng, low: u32, high: u32) -> (bool, Vec<u8>) {
    let signals: Vec<u8> = (0..rng.range(low, high))
        .map(|_| rng.range(0, 9) as u8)
        .collect();
    let packed = signals
        .chunks(2)
        .map(|pair| pair[0] | (pair.get(1).copied().unwrap_or(0) << 4))
        .collect();
    (signals.len() % 2 == 1, packed)
}

fn called_like(rng: &mut Rng) -> Vec<u8> {
    let (odd, packed) = digits(rng, 1, 15);
    let mut out = vec![
        (u8::from(odd) << 7) | [1u8, 2, 3, 4][rng.range(0, 3) as usize],
        (u8::from(rng.bool()) << 7) | (1 << 4),
    ];
    out.extend(packed);
    out
}

fn calling_like(rng: &mut Rng) -> Vec<u8> {
    let (odd, packed) = digits(rng, 1, 15);
    let mut out = vec![
        (u8::from(odd) << 7) | [1u8, 3, 4][rng.range(0, 2) as usize],
        (1 << 4) | ((rng.range(0, 1) as u8) << 2) | rng.range(0, 3) as u8,
    ];
    out.extend(packed);
    out
}

/// Cause indicators: ITU coding, a location of Q.850, a cause value, sometimes diagnostics.
pub fn cause(rng: &mut Rng) -> Vec<u8> {
    let location = [0u8, 1, 2, 3, 4, 5, 7, 10][rng.range(0, 7) as usize];
    vec![0x80 | location, 0x80 | rng.range(1, 127) as u8]
}

fn fixed(rng: &mut Rng, code: P, length: usize) -> Vec<u8> {
    match code {
        P::CALLING_PARTYS_CATEGORY => {
            vec![[0u8, 1, 9, 10, 11, 12, 13, 15][rng.range(0, 7) as usize]]
        }
        P::TRANSMISSION_MEDIUM_REQUIREMENT => vec![[0u8, 2, 3][rng.range(0, 2) as usize]],
        P::NATURE_OF_CONNECTION_INDICATORS => vec![rng.range(0, 0x1F) as u8],
        P::FORWARD_CALL_INDICATORS => vec![rng.byte() & 0x7F, rng.byte() & 0x0F],
        P::BACKWARD_CALL_INDICATORS => vec![rng.byte(), rng.byte()],
        P::EVENT_INFORMATION => vec![rng.range(1, 6) as u8 | ((rng.range(0, 1) as u8) << 7)],
        P::CIRCUIT_GROUP_SUPERVISION_MESSAGE_TYPE => vec![rng.range(0, 1) as u8],
        P::SUSPEND_RESUME_INDICATORS | P::CONTINUITY_INDICATORS => vec![rng.range(0, 1) as u8],
        P::FACILITY_INDICATOR => vec![2],
        _ => rng.bytes(length as u32, length as u32),
    }
}

/// An optional parameter drawn from the ones tandem types, plus an unknown one.
fn optional(rng: &mut Rng) -> OptionalParameter {
    let (code, value) = match rng.range(0, 18) {
        0 => (P::CALLING_PARTY_NUMBER, calling_like(rng)),
        1 => (P::ORIGINAL_CALLED_NUMBER, calling_like(rng)),
        2 => (P::REDIRECTING_NUMBER, calling_like(rng)),
        3 => (P::REDIRECTION_NUMBER, called_like(rng)),
        4 => (
            P::REDIRECTION_INFORMATION,
            vec![
                rng.range(0, 6) as u8 | (rng.range(0, 3) as u8) << 4,
                rng.range(1, 5) as u8 | (rng.range(0, 3) as u8) << 4,
            ],
        ),
        5 => {
            let mut value = vec![[1u8, 6][rng.range(0, 1) as usize]];
            value.extend(calling_like(rng));
            (P::GENERIC_NUMBER, value)
        }
        6 => (P::LOCATION_NUMBER, calling_like(rng)),
        7 => (P::OPTIONAL_FORWARD_CALL_INDICATORS, vec![rng.byte() & 0x87]),
        8 => (
            P::OPTIONAL_BACKWARD_CALL_INDICATORS,
            vec![rng.byte() & 0x0F],
        ),
        9 => (
            P::TRANSMISSION_MEDIUM_USED,
            vec![[0u8, 2, 3][rng.range(0, 2) as usize]],
        ),
        10 => (P::HOP_COUNTER, vec![rng.range(1, 31) as u8]),
        11 => (P::CONNECTED_NUMBER, calling_like(rng)),
        12 => (
            P::GENERIC_NOTIFICATION_INDICATOR,
            vec![0x80 | rng.range(0, 6) as u8],
        ),
        13 => (P::AUTOMATIC_CONGESTION_LEVEL, vec![rng.range(1, 2) as u8]),
        14 => (P::CAUSE_INDICATORS, cause(rng)),
        15 => (P::USER_SERVICE_INFORMATION, vec![0x80, 0x90, 0xA3]),
        16 => (
            P::PARAMETER_COMPATIBILITY_INFORMATION,
            vec![0xC0, 0x80 | (rng.byte() & 0x1F)],
        ),
        17 => (
            P::MESSAGE_COMPATIBILITY_INFORMATION,
            vec![0x80 | (rng.byte() & 0x1F)],
        ),
        _ => (P(0xFA), rng.bytes(0, 6)),
    };
    OptionalParameter { code, value }
}

/// A random valid message of `message_type` (which must have a layout).
pub fn message_of(rng: &mut Rng, message_type: MessageType) -> IsupMessage {
    let layout = Layout::of(message_type, Variant::Itu).expect("laid out type");
    let cic = Cic(rng.range(0, 0x0FFF) as u16);
    let fixed_part: Vec<u8> = layout
        .fixed
        .iter()
        .flat_map(|(code, length)| fixed(rng, *code, *length))
        .collect();
    let range = rng.range(1, 31) as u8;
    let status_octets = usize::from(range) / 8 + 1;
    let variable = layout
        .variable
        .iter()
        .map(|code| match *code {
            P::CALLED_PARTY_NUMBER => called_like(rng),
            P::SUBSEQUENT_NUMBER => {
                let (odd, packed) = digits(rng, 1, 10);
                let mut out = vec![u8::from(odd) << 7];
                out.extend(packed);
                out
            }
            P::CAUSE_INDICATORS => cause(rng),
            P::RANGE_AND_STATUS => {
                let mut out = vec![range];
                if matches!(
                    message_type,
                    MessageType::GRA
                        | MessageType::CGB
                        | MessageType::CGU
                        | MessageType::CGBA
                        | MessageType::CGUA
                ) {
                    out.extend((0..status_octets).map(|_| rng.byte()));
                    // Status bits beyond the range are spare: keep them zero.
                    let bits = usize::from(range) + 1;
                    if let Some(last) = out.last_mut() {
                        if bits % 8 != 0 {
                            *last &= (1u8 << (bits % 8)) - 1;
                        }
                    }
                }
                out
            }
            P::CIRCUIT_STATE_INDICATOR => (0..=range).map(|_| rng.range(0, 3) as u8).collect(),
            _ => rng.bytes(1, 8),
        })
        .collect();
    let optional = if layout.optional {
        (0..rng.range(0, 4)).map(|_| optional(rng)).collect()
    } else {
        Vec::new()
    };
    IsupMessage::with_parameters(cic, message_type, fixed_part, variable, optional)
}
