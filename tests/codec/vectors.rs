//! The hand-checked vectors of `tests/data/` (see its README for where each comes from): each
//! `NAME.hex` decodes to exactly `NAME.json` and re-encodes to the same octets.

use std::path::Path;

use tandem::isup::codec::Variant;
use tandem::isup::IsupMessage;
use tandem::sigtran::m3ua::M3uaMessage;

#[test]
fn vectors_decode_to_their_hand_checked_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("hex") {
            continue;
        }
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ");
        let bytes = crate::hex_to_bytes(&text);
        let decoded = tandem::decode::decode_hex(&text, false, false, Variant::Itu).unwrap();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        assert_eq!(decoded, expected, "{}", path.display());
        if decoded.get("m3ua").is_some() {
            assert_eq!(M3uaMessage::decode(&bytes).unwrap().encode(), bytes);
        } else {
            assert_eq!(IsupMessage::decode(&bytes).unwrap().encode(), bytes);
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} vectors");
}
