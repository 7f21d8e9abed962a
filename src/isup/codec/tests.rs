//! Codec tests: hand-built vectors and property round trips over whole messages.

use super::parameters::Parameter;
use super::*;
use proptest::prelude::*;

/// IAM on CIC 5: called 1234567 (national), calling 1234, plus an unknown optional parameter.
const IAM_BYTES: [u8; 26] = [
    0x05, 0x00, // CIC 5, least significant octet first
    0x01, // IAM
    0x00, // nature of connection indicators
    0x20, 0x01, // forward call indicators: ISUP all the way, originating access ISDN
    0x0A, // calling party's category: ordinary subscriber
    0x00, // transmission medium requirement: speech
    0x02, // pointer to called party number
    0x08, // pointer to optional part
    0x06, 0x83, 0x10, 0x21, 0x43, 0x65, 0x07, // called party number
    0x0A, 0x04, 0x03, 0x13, 0x21, 0x43, // calling party number
    0xFE, 0x00, // unknown parameter 0xFE, empty
    0x00, // end of optional parameters
];

#[test]
fn iam_by_hand() {
    let message = IsupMessage::decode(&IAM_BYTES).unwrap();
    assert_eq!(message.cic, Cic(5));
    assert_eq!(message.message_type, MessageType::IAM);
    let called = message.called_party_number().unwrap().unwrap();
    assert_eq!(called.nature_of_address, 3);
    assert_eq!(called.numbering_plan, 1);
    assert_eq!(called.digits.to_string(), "1234567");
    let calling = message.calling_party_number().unwrap().unwrap();
    assert_eq!(calling.digits.to_string(), "1234");
    assert_eq!(calling.screening, 3);
    let forward = message.forward_call_indicators().unwrap().unwrap();
    assert!(forward.isdn_user_part && forward.isdn_access && !forward.international_call);
    assert_eq!(
        message.calling_partys_category().unwrap().unwrap(),
        CallingPartysCategory::ORDINARY
    );
    assert_eq!(message.optional_parameters().len(), 2);
    assert_eq!(message.optional_parameters()[1].code, ParameterCode(0xFE));
    assert_eq!(message.encode(), IAM_BYTES);

    let iam = message.to_iam().unwrap();
    assert_eq!(iam.optional.len(), 1);
    assert_eq!(IsupMessage::iam(Cic(5), iam).encode(), IAM_BYTES);
}

#[test]
fn rel_rlc_and_cic_spare_bits_by_hand() {
    // REL on CIC 0x0123 with cause 16, no optional part.
    let rel = [0x23, 0x01, 0x0C, 0x02, 0x00, 0x02, 0x82, 0x90];
    let message = IsupMessage::decode(&rel).unwrap();
    assert_eq!(message.cic, Cic(0x123));
    assert_eq!(message.cause_indicators().unwrap().unwrap().cause_value, 16);
    assert_eq!(
        message,
        IsupMessage::rel(Cic(0x123), &CauseIndicators::new(16, 2))
    );
    assert_eq!(message.encode(), rel);
    // RLC with empty optional part pointer 0.
    assert_eq!(IsupMessage::rlc(Cic(1)).encode(), [0x01, 0x00, 0x10, 0x00]);
    // Spare CIC bits are kept.
    let rsc = [0xFF, 0xFF, 0x12];
    assert_eq!(IsupMessage::decode(&rsc).unwrap().encode(), rsc);
}

#[test]
fn malformed_messages_are_errors_with_causes() {
    assert_eq!(IsupMessage::decode(&[0x01, 0x00]).unwrap_err().cause(), 111);
    // IAM cut inside the fixed part.
    let error = IsupMessage::decode(&IAM_BYTES[..5]).unwrap_err();
    assert!(matches!(error, IsupError::Truncated { .. }), "{error}");
    // Pointer to the called party number not where Q.763 puts it.
    let mut bad = IAM_BYTES;
    bad[8] = 0x03;
    assert!(matches!(
        IsupMessage::decode(&bad),
        Err(IsupError::BadPointer { offset: 8, .. })
    ));
    // Optional part without end octet.
    let error = IsupMessage::decode(&IAM_BYTES[..25]).unwrap_err();
    assert!(matches!(error, IsupError::Truncated { .. }), "{error}");
    // Unknown message types are kept raw.
    let unknown = [0x01, 0x00, 0x0A, 0x01, 0x02];
    let message = IsupMessage::decode(&unknown).unwrap();
    assert_eq!(message.message_type, MessageType::Unknown(0x0A));
    assert_eq!(message.body, MessageBody::Raw(vec![0x01, 0x02]));
    assert_eq!(message.encode(), unknown);
}

#[test]
fn constructors_encode_as_q763_lays_out() {
    let acm = IsupMessage::acm(
        Cic(2),
        BackwardCallIndicators::decode(&[0x16, 0x14]).unwrap(),
        Vec::new(),
    );
    assert_eq!(acm.encode(), [0x02, 0x00, 0x06, 0x16, 0x14, 0x00]);
    let cpg = IsupMessage::cpg(Cic(2), EventInformation::new(EventInformation::ALERTING));
    assert_eq!(cpg.encode(), [0x02, 0x00, 0x2C, 0x01, 0x00]);
    let grs = IsupMessage::grs(Cic(1), 29);
    assert_eq!(grs.encode(), [0x01, 0x00, 0x17, 0x01, 0x01, 29]);
    let anm = IsupMessage::anm(Cic(3))
        .with_optional(ParameterCode::BACKWARD_CALL_INDICATORS, vec![0x16, 0x14]);
    assert_eq!(
        anm.encode(),
        [0x03, 0x00, 0x09, 0x01, 0x11, 0x02, 0x16, 0x14, 0x00]
    );
    assert_eq!(IsupMessage::decode(&anm.encode()).unwrap(), anm);
}

fn digits() -> impl Strategy<Value = Digits> {
    proptest::collection::vec(0u8..16, 0..20).prop_map(Digits::from_signals)
}

fn optional_parameters() -> impl Strategy<Value = Vec<OptionalParameter>> {
    proptest::collection::vec(
        (1u8..=255, proptest::collection::vec(any::<u8>(), 0..12)).prop_map(|(code, value)| {
            OptionalParameter {
                code: ParameterCode(code),
                value,
            }
        }),
        0..4,
    )
}

fn iam() -> impl Strategy<Value = Iam> {
    (
        any::<[u8; 5]>(),
        (0u8..128, any::<bool>(), 0u8..8, digits()),
        proptest::option::of((0u8..128, 0u8..8, 0u8..4, 0u8..4, digits())),
        optional_parameters(),
    )
        .prop_map(|(fixed, (noa, inn, plan, called), calling, optional)| Iam {
            nature_of_connection_indicators: NatureOfConnectionIndicators::decode(&fixed[..1])
                .unwrap_or_default(),
            forward_call_indicators: ForwardCallIndicators::decode(&fixed[1..3])
                .unwrap_or_default(),
            calling_partys_category: CallingPartysCategory(fixed[3]),
            transmission_medium_requirement: TransmissionMediumRequirement(fixed[4]),
            called_party_number: CalledPartyNumber {
                nature_of_address: noa,
                internal_network_number_not_allowed: inn,
                numbering_plan: plan,
                spare: 0,
                digits: called,
            },
            calling_party_number: calling.map(|(noa, plan, pres, screening, digits)| {
                CallingPartyNumber {
                    nature_of_address: noa,
                    number_incomplete: false,
                    numbering_plan: plan,
                    address_presentation_restricted: pres,
                    screening,
                    digits,
                }
            }),
            optional: optional
                .into_iter()
                .filter(|p| p.code != ParameterCode::CALLING_PARTY_NUMBER)
                .collect(),
        })
}

fn typed_message() -> impl Strategy<Value = IsupMessage> {
    let cic = any::<u16>().prop_map(Cic);
    let cause = (
        0u8..16,
        0u8..128,
        proptest::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(location, value, diagnostics)| CauseIndicators {
            diagnostics,
            ..CauseIndicators::new(value, location)
        });
    let bci = any::<[u8; 2]>().prop_map(|b| BackwardCallIndicators::decode(&b).unwrap_or_default());
    prop_oneof![
        (cic.clone(), iam()).prop_map(|(c, i)| IsupMessage::iam(c, i)),
        (cic.clone(), bci.clone(), optional_parameters())
            .prop_map(|(c, b, o)| IsupMessage::acm(c, b, o)),
        (cic.clone(), bci).prop_map(|(c, b)| IsupMessage::con(c, b)),
        (cic.clone(), any::<u8>()).prop_map(|(c, e)| IsupMessage::cpg(
            c,
            EventInformation::decode(&[e]).unwrap_or_default()
        )),
        cic.clone().prop_map(IsupMessage::anm),
        (cic.clone(), cause.clone()).prop_map(|(c, k)| IsupMessage::rel(c, &k)),
        (cic.clone(), cause).prop_map(|(c, k)| IsupMessage::cfn(c, &k)),
        cic.clone().prop_map(IsupMessage::rlc),
        cic.clone().prop_map(IsupMessage::rsc),
        (cic.clone(), any::<u8>()).prop_map(|(c, r)| IsupMessage::grs(c, r)),
        (
            cic.clone(),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..4)
        )
            .prop_map(|(c, range, status)| IsupMessage::gra(c, &RangeAndStatus { range, status })),
        (cic.clone(), digits())
            .prop_map(|(c, digits)| IsupMessage::sam(c, &SubsequentNumber { spare: 0, digits })),
        (cic, 0usize..6).prop_map(|(c, i)| IsupMessage::bare(
            c,
            [
                MessageType::BLO,
                MessageType::BLA,
                MessageType::UBL,
                MessageType::UBA,
                MessageType::UCIC,
                MessageType::CCR
            ][i]
        )),
    ]
}

proptest! {
    #[test]
    fn typed_messages_round_trip(message in typed_message()) {
        let bytes = message.encode();
        prop_assert_eq!(IsupMessage::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn iam_view_round_trips(c: u16, i in iam()) {
        let message = IsupMessage::iam(Cic(c), i.clone());
        prop_assert_eq!(IsupMessage::decode(&message.encode()).unwrap().to_iam().unwrap(), i);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reencode(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(message) = IsupMessage::decode(&bytes) {
            prop_assert_eq!(message.encode(), bytes);
            // Typed accessors must not panic either.
            let _ = message.called_party_number();
            let _ = message.cause_indicators();
            let _ = message.to_iam();
        }
    }

    #[test]
    fn known_types_with_arbitrary_tails_reencode(type_code in prop_oneof![Just(0x01u8), Just(0x06), Just(0x0C), Just(0x2C), Just(0x10), Just(0x17), Just(0x29), Just(0x02)], tail in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut bytes = vec![0x01, 0x00, type_code];
        bytes.extend(tail);
        if let Ok(message) = IsupMessage::decode(&bytes) {
            prop_assert_eq!(message.encode(), bytes);
        }
    }
}
