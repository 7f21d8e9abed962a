//! `tandem decode`: an M3UA or ISUP message given as hex, printed as an indented breakdown or as JSON, the way an
//! engineer reads a message copied out of a trace.

use std::io::Read;
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::isup::Variant;

mod isup;
mod m3ua;

pub use isup::decode_isup;
pub use m3ua::decode_m3ua;

/// Runs the command: `hex` pieces are joined (`-` reads stdin). Errors name what failed to decode;
/// the caller prints them on stderr and exits with status 1.
pub fn run(
    m3ua: bool,
    isup: bool,
    variant: Variant,
    as_json: bool,
    hex: &[String],
) -> Result<ExitCode, String> {
    let text = if hex.len() == 1 && hex[0] == "-" {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        input
    } else {
        hex.join(" ")
    };
    let value = decode_hex(&text, m3ua, isup, variant)?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", render_tree(&value));
    }
    Ok(ExitCode::SUCCESS)
}

/// Decodes a hex dump (whitespace, `:` and a `0x` prefix allowed as [`crate::hex::decode`] allows)
/// as M3UA or ISUP; with neither flag, M3UA when it starts like a common header (version 1,
/// reserved 0, at least 8 octets), ISUP otherwise.
pub fn decode_hex(text: &str, m3ua: bool, isup: bool, variant: Variant) -> Result<Value, String> {
    let bytes = crate::hex::decode(text).map_err(|e| format!("bad hex: {e}"))?;
    let is_m3ua = m3ua || (!isup && bytes.len() >= 8 && bytes.starts_with(&[1, 0]));
    if is_m3ua {
        decode_m3ua(&bytes, variant)
    } else {
        Ok(json!({ "isup": decode_isup(&bytes, variant)? }))
    }
}

/// The indented, protocol-analyser style breakdown of a decoded message.
pub fn render_tree(value: &Value) -> String {
    let mut out = String::new();
    tree(value, 0, &mut out);
    out
}

fn tree(value: &Value, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let mut line = |key: &str, value: &Value| match value {
        Value::Object(_) | Value::Array(_) => {
            out.push_str(&format!("{indent}{key}:\n"));
            tree(value, depth + 1, out);
        }
        other => out.push_str(&format!("{indent}{key}: {}\n", scalar(other))),
    };
    match value {
        Value::Object(map) => map.iter().for_each(|(key, value)| line(key, value)),
        Value::Array(list) => list
            .iter()
            .enumerate()
            .for_each(|(index, value)| line(&format!("[{index}]"), value)),
        other => out.push_str(&format!("{indent}{}\n", scalar(other))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
