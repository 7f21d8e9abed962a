//! ISUP decoder: never panics; every accepted message re-encodes to the same octets; the owned
//! and borrowed decoders agree; every typed parameter view decodes without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::decode::decode_isup;
use tandem::isup::codec::*;

fuzz_target!(|data: &[u8]| {
    for variant in [Variant::Itu, Variant::Etsi] {
        let Ok(view) = IsupView::decode(data, variant) else {
            assert!(IsupMessage::decode_variant(data, variant).is_err());
            continue;
        };
        let message = view.to_message();
        let mut out = Vec::new();
        message.encode_variant_into(variant, &mut out);
        assert_eq!(out, data);
        let _ = message.to_iam();
        let _ = view.typed::<CalledPartyNumber>();
        let _ = view.typed::<CallingPartyNumber>();
        let _ = view.typed::<GenericNumber>();
        let _ = view.typed::<ParameterCompatibilityInformation>();
        let _ = view.typed::<CauseIndicators>();
        let _ = decode_isup(data, variant);
    }
});
