//! Codec tests as one binary: property round trips for every ISUP message type, the differential
//! test against tshark, the hand-checked vectors of `tests/data/`, the allocation count of an
//! IAM decode and the `tandem decode` command.

mod gen;
mod tshark;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
