//! Codec tests as one binary: property round trips for every ISUP message type, the differential
//! test against tshark, the hand-checked vectors of `tests/data/`, the allocation count of an
//! IAM decode and the `tandem decode` command.

mod alloc;
mod decode_cli;
mod gen;
mod roundtrip;
mod tshark;
mod vectors;

/// Bytes of a hex string with spaces.
pub fn hex_to_bytes(text: &str) -> Vec<u8> {
    tandem::hex::decode(text).expect("test hex")
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
