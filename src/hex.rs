//! Hex encoding for logs and the `decode` command; tolerant of the separators trace tools print.

use thiserror::Error;

/// A hex string that is not a whole number of bytes or holds a non-hex character.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HexError {
    /// A character that is neither a hex digit nor an accepted separator.
    #[error("invalid hex character {found:?} at position {position}")]
    InvalidCharacter {
        /// The character.
        found: char,
        /// Its position in the input.
        position: usize,
    },
    /// An odd number of hex digits.
    #[error("odd number of hex digits ({0})")]
    OddLength(usize),
}

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    out
}

/// Bytes from hex; white space, `:` and `-` between digits are ignored, as are `0x` prefixes, because hex dumps
/// copied from analysers and traces come in all those forms.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let cleaned = text.replace("0x", " ").replace("0X", " ");
    let mut digits = Vec::with_capacity(cleaned.len());
    for (position, c) in cleaned.char_indices() {
        if c.is_whitespace() || c == ':' || c == '-' || c == ',' {
            continue;
        }
        let value = c
            .to_digit(16)
            .ok_or(HexError::InvalidCharacter { found: c, position })?;
        digits.push(value as u8);
    }
    if !digits.len().is_multiple_of(2) {
        return Err(HexError::OddLength(digits.len()));
    }
    Ok(digits
        .chunks(2)
        .map(|pair| (pair[0] << 4) | pair[1])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_separators() {
        assert_eq!(encode(&[0x01, 0xab]), "01ab");
        assert_eq!(decode("01 AB").unwrap(), vec![0x01, 0xab]);
        assert_eq!(decode("0x01:0xab").unwrap(), vec![0x01, 0xab]);
        assert_eq!(
            decode("0g"),
            Err(HexError::InvalidCharacter {
                found: 'g',
                position: 1
            })
        );
        assert_eq!(decode("abc"), Err(HexError::OddLength(3)));
    }
}
