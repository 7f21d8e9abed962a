//! Address signals packed two per octet (Q.763 §3.9 and friends): the BCD digit strings of
//! called, calling and subsequent numbers, with the odd/even indicator of the first octet.
//!
//! Character mapping (one character per 4-bit address signal, upper-case hex):
//! `0`–`9` are the digits; `A` is 1010 (spare); `B` is 1011 "code 11" (often shown as `*`);
//! `C` is 1100 "code 12" (often `#`); `D`, `E` are 1101/1110 (spare); `F` is 1111 "ST"
//! (end of pulsing). Keeping all sixteen values makes the mapping total and lossless.

use super::IsupError;

/// A string of address signals, each a value 0–15.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Digits(Vec<u8>);

impl Digits {
    /// Parses `0-9`, `A-F` (either case) into address signals; see the module doc for meaning.
    pub fn parse(text: &str) -> Result<Self, IsupError> {
        let mut signals = Vec::with_capacity(text.len());
        for (position, character) in text.chars().enumerate() {
            let value = character.to_digit(16).ok_or(IsupError::InvalidDigit {
                character,
                position,
            })?;
            signals.push(value as u8);
        }
        Ok(Digits(signals))
    }

    /// Builds from raw address-signal values; each value is masked to 4 bits.
    pub fn from_signals(signals: impl IntoIterator<Item = u8>) -> Self {
        Digits(signals.into_iter().map(|s| s & 0x0F).collect())
    }

    /// The address signals, each 0–15.
    pub fn signals(&self) -> &[u8] {
        &self.0
    }

    /// Number of address signals.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no address signals.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the count is odd (the odd/even indicator of Q.763).
    pub fn is_odd(&self) -> bool {
        self.0.len() % 2 == 1
    }

    /// Unpacks `octets` (low nibble first); `odd` drops the filler nibble of the last octet.
    pub fn unpack(octets: &[u8], odd: bool) -> Self {
        let mut signals = Vec::with_capacity(octets.len() * 2);
        for octet in octets {
            signals.push(octet & 0x0F);
            signals.push(octet >> 4);
        }
        if odd && !signals.is_empty() {
            signals.pop();
        }
        Digits(signals)
    }

    /// Packs two signals per octet, low nibble first, filler 0 after an odd count.
    pub fn pack_into(&self, out: &mut Vec<u8>) {
        for pair in self.0.chunks(2) {
            let low = pair.first().copied().unwrap_or(0) & 0x0F;
            let high = pair.get(1).copied().unwrap_or(0) & 0x0F;
            out.push(low | (high << 4));
        }
    }
}

impl std::fmt::Display for Digits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for signal in &self.0 {
            let character = char::from_digit(u32::from(*signal), 16)
                .unwrap_or('?')
                .to_ascii_uppercase();
            write!(f, "{character}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Digits {
    type Err = IsupError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Digits::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packs_low_nibble_first_with_filler() {
        let digits = Digits::parse("12345").unwrap();
        let mut out = Vec::new();
        digits.pack_into(&mut out);
        assert_eq!(out, [0x21, 0x43, 0x05]);
        assert_eq!(Digits::unpack(&out, true), digits);
        assert_eq!(Digits::parse("1bCf").unwrap().to_string(), "1BCF");
        assert!(Digits::parse("12x").is_err());
    }

    proptest! {
        #[test]
        fn pack_unpack_round_trip(signals in proptest::collection::vec(0u8..16, 0..40)) {
            let digits = Digits::from_signals(signals);
            let mut out = Vec::new();
            digits.pack_into(&mut out);
            prop_assert_eq!(Digits::unpack(&out, digits.is_odd()), digits.clone());
            prop_assert_eq!(Digits::parse(&digits.to_string()).unwrap(), digits);
        }
    }
}
