//! M3UA decoder: never panics, and every accepted message re-encodes to the same octets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::sigtran::m3ua::M3uaMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = M3uaMessage::decode(data) {
        assert_eq!(message.encode(), data);
        let _ = tandem::decode::decode_m3ua(data, tandem::isup::Variant::Itu);
    }
});
