//! Property tests over whole messages of every type: `decode(encode(m)) == m` for generated
//! messages of each laid-out type, `encode(decode(b)) == b` for every accepted byte string, the
//! borrowed and owned decoders agree, and arbitrary bytes never panic.

use proptest::prelude::*;
use tandem::isup::codec::{IsupView, Layout, MessageBody, MessageType, Variant};
use tandem::isup::IsupMessage;

use crate::gen::{laid_out_types, message_of, Rng};

#[test]
fn every_table_4_type_is_laid_out_or_kept_raw_on_purpose() {
    let raw = [
        MessageType::CMR,
        MessageType::CMC,
        MessageType::CMRJ,
        MessageType::FAD,
        MessageType::FAI,
        MessageType::CSVQ,
        MessageType::CSVR,
        MessageType::DRS,
        MessageType::PAM,
        MessageType::CRG,
    ];
    for code in 0..=255u8 {
        let message_type = MessageType::from_code(code);
        let laid_out = Layout::of(message_type, Variant::Itu).is_some();
        let known = !matches!(message_type, MessageType::Unknown(_));
        assert_eq!(
            laid_out,
            known && !raw.contains(&message_type),
            "{message_type:?}"
        );
        assert_eq!(
            Layout::of(message_type, Variant::Etsi),
            Layout::of(message_type, Variant::Itu)
        );
    }
    assert_eq!(laid_out_types().len(), 47);
}

fn variant() -> impl Strategy<Value = Variant> {
    prop_oneof![Just(Variant::Itu), Just(Variant::Etsi)]
}

proptest! {
    #[test]
    fn every_type_round_trips(seed: u64, index in 0usize..47, variant in variant()) {
        let message_type = laid_out_types()[index];
        let message = message_of(&mut Rng(seed), message_type);
        let mut bytes = Vec::new();
        message.encode_variant_into(variant, &mut bytes);
        let decoded = IsupMessage::decode_variant(&bytes, variant).unwrap();
        prop_assert_eq!(&decoded, &message);
        let view = IsupView::decode(&bytes, variant).unwrap();
        prop_assert_eq!(view.to_message(), message);
        prop_assert!(!view.has_unknown_parts() || view.optional_parameters().any(|(c, _)| c.name().is_none()));
    }

    #[test]
    fn raw_types_round_trip(code in prop_oneof![Just(0x1Cu8), Just(0x22), Just(0x28), Just(0x31), Just(0x0A), Just(0xFF)], cic: u16, tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut bytes = cic.to_le_bytes().to_vec();
        bytes.push(code);
        bytes.extend(&tail);
        let message = IsupMessage::decode(&bytes).unwrap();
        prop_assert_eq!(&message.body, &MessageBody::Raw(tail));
        prop_assert_eq!(message.encode(), bytes);
    }

    #[test]
    fn accepted_mutations_re_encode(seed: u64, index in 0usize..47, position: usize, value: u8) {
        let message = message_of(&mut Rng(seed), laid_out_types()[index]);
        let mut bytes = message.encode();
        let position = position % bytes.len();
        bytes[position] = value;
        match IsupView::decode(&bytes, Variant::Itu) {
            Ok(view) => {
                let owned = view.to_message();
                prop_assert_eq!(owned.encode(), bytes.clone());
                prop_assert_eq!(IsupMessage::decode(&bytes).unwrap(), owned);
            }
            Err(error) => {
                prop_assert_eq!(IsupMessage::decode(&bytes).unwrap_err(), error.clone());
                prop_assert!(error.cause() == 100 || error.cause() == 111);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80), variant in variant()) {
        if let Ok(view) = IsupView::decode(&bytes, variant) {
            let mut out = Vec::new();
            view.to_message().encode_variant_into(variant, &mut out);
            prop_assert_eq!(out, bytes.clone());
            let _ = tandem::decode::decode_isup(&bytes, variant);
        }
    }
}
