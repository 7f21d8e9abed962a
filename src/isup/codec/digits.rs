//! Address signals packed two per octet (Q.763 §3.9 and friends): the BCD digit strings of
//! called, calling and subsequent numbers, with the odd/even indicator of the first octet.
//!
//! Character mapping (one character per 4-bit address signal, upper-case hex):
//! `0`–`9` are the digits; `A` is 1010 (spare); `B` is 1011 "code 11" (often shown as `*`);
//! `C` is 1100 "code 12" (often `#`); `D`, `E` are 1101/1110 (spare); `F` is 1111 "ST"
//! (end of pulsing). Keeping all sixteen values makes the mapping total and lossless.
//!
//! The signals live inline (no heap allocation), at most [`Digits::MAX`] of them: E.164 numbers
//! have at most 15 digits, and with prefixes and `ST` every real number fits. Longer strings are
//! an [`IsupError::TooManyDigits`]; the message itself still keeps the raw octets.

use super::IsupError;

/// A string of address signals, each a value 0–15.
///
/// Unused slots are always zero, so the derived equality and hash see only the signals.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Digits {
    length: u8,
    signals: [u8; Digits::MAX],
}

impl Digits {
    /// The most address signals a [`Digits`] holds (16 octets of a number parameter).
    pub const MAX: usize = 32;

    /// Parses `0-9`, `A-F` (either case) into address signals; see the module doc for meaning.
    pub fn parse(text: &str) -> Result<Self, IsupError> {
        let mut digits = Digits::default();
        for (position, character) in text.chars().enumerate() {
            let value = character.to_digit(16).ok_or(IsupError::InvalidDigit {
                character,
                position,
            })?;
            digits.push(value as u8)?;
        }
        Ok(digits)
    }

    /// Builds from raw address-signal values; each value is masked to 4 bits and signals past
    /// [`Digits::MAX`] are dropped.
    pub fn from_signals(signals: impl IntoIterator<Item = u8>) -> Self {
        let mut digits = Digits::default();
        for signal in signals.into_iter().take(Self::MAX) {
            let _ = digits.push(signal);
        }
        digits
    }

    fn push(&mut self, signal: u8) -> Result<(), IsupError> {
        let slot = self
            .signals
            .get_mut(usize::from(self.length))
            .ok_or(IsupError::TooManyDigits { max: Self::MAX })?;
        *slot = signal & 0x0F;
        self.length += 1;
        Ok(())
    }

    /// The address signals, each 0–15.
    pub fn signals(&self) -> &[u8] {
        self.signals
            .get(..usize::from(self.length))
            .unwrap_or_default()
    }

    /// Number of address signals.
    pub fn len(&self) -> usize {
        usize::from(self.length)
    }

    /// Whether there are no address signals.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Whether the count is odd (the odd/even indicator of Q.763).
    pub fn is_odd(&self) -> bool {
        self.length % 2 == 1
    }

    /// Unpacks `octets` (low nibble first); `odd` drops the filler nibble of the last octet.
    /// More than [`Digits::MAX`] signals is an error.
    pub fn unpack(octets: &[u8], odd: bool) -> Result<Self, IsupError> {
        let count = (octets.len() * 2).saturating_sub(usize::from(odd && !octets.is_empty()));
        if count > Self::MAX {
            return Err(IsupError::TooManyDigits { max: Self::MAX });
        }
        let mut digits = Digits::default();
        for (index, slot) in digits.signals.iter_mut().take(count).enumerate() {
            let octet = octets.get(index / 2).copied().unwrap_or(0);
            *slot = if index % 2 == 0 {
                octet & 0x0F
            } else {
                octet >> 4
            };
        }
        digits.length = count as u8;
        Ok(digits)
    }

    /// Packs two signals per octet, low nibble first, filler 0 after an odd count.
    pub fn pack_into(&self, out: &mut Vec<u8>) {
        for pair in self.signals().chunks(2) {
            let low = pair.first().copied().unwrap_or(0) & 0x0F;
            let high = pair.get(1).copied().unwrap_or(0) & 0x0F;
            out.push(low | (high << 4));
        }
    }
}

impl std::fmt::Display for Digits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for signal in self.signals() {
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
        assert_eq!(Digits::unpack(&out, true).unwrap(), digits);
        assert!(Digits::unpack(&[0x11; 17], false).is_err());
        assert_eq!(Digits::unpack(&[0x11; 16], false).unwrap().len(), 32);
        assert!(Digits::parse(&"1".repeat(33)).is_err());
        assert_eq!(Digits::parse("1bCf").unwrap().to_string(), "1BCF");
        assert!(Digits::parse("12x").is_err());
    }

    proptest! {
        #[test]
        fn pack_unpack_round_trip(signals in proptest::collection::vec(0u8..16, 0..=32)) {
            let digits = Digits::from_signals(signals);
            let mut out = Vec::new();
            digits.pack_into(&mut out);
            prop_assert_eq!(Digits::unpack(&out, digits.is_odd()).unwrap(), digits.clone());
            prop_assert_eq!(Digits::parse(&digits.to_string()).unwrap(), digits);
        }
    }
}
