//! Errors in the files operators edit (configuration, mapping tables): which file, which line, which dotted key,
//! and what is wrong — printed as `file:line: key: what is wrong`, the way editors and CI logs link to a place.

use std::fmt;

/// A place in an operator-edited file and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SourceError {
    /// File (or other origin, e.g. `embedded:rfc3398`) the text came from.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `trunk[1].cic_last` or `isup_to_sip[3].status` (empty when the parser did not say).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl SourceError {
    /// An error at `file`:`line`, key `key`.
    pub fn new(
        file: &str,
        line: Option<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> SourceError {
        SourceError {
            file: file.to_string(),
            line,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: ", self.file, line)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}
