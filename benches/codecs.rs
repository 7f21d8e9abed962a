//! Codec throughput (docs/benchmarks.md): decoding and re-encoding a typical IAM, and an M3UA
//! DATA message carrying a REL. Run with
//! `cargo bench --bench codecs -- --measurement-time 5`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tandem::isup::codec::{
    CalledPartyNumber, CallingPartyNumber, CauseIndicators, Digits, ForwardCallIndicators, Iam,
    IsupView, Variant,
};
use tandem::isup::{Cic, IsupMessage};
use tandem::sigtran::m3ua::{M3uaMessage, MessageType, Parameter as M3uaParameter, ProtocolData};

/// A typical IAM: national called number, calling number with presentation, ISUP all the way.
fn typical_iam() -> Vec<u8> {
    let iam = Iam {
        forward_call_indicators: ForwardCallIndicators {
            isdn_user_part: true,
            isdn_access: true,
            ..Default::default()
        },
        calling_partys_category: tandem::isup::codec::CallingPartysCategory::ORDINARY,
        called_party_number: CalledPartyNumber {
            nature_of_address: 3,
            numbering_plan: 1,
            digits: Digits::parse("30123456789").unwrap(),
            ..Default::default()
        },
        calling_party_number: Some(CallingPartyNumber {
            nature_of_address: 4,
            numbering_plan: 1,
            screening: 3,
            digits: Digits::parse("4940123456").unwrap(),
            ..Default::default()
        }),
        ..Default::default()
    };
    IsupMessage::iam(Cic(17), iam).encode()
}

fn data_with_rel() -> Vec<u8> {
    let rel = IsupMessage::rel(Cic(17), &CauseIndicators::new(16, 2)).encode();
    M3uaMessage::new(
        MessageType::Data,
        vec![
            M3uaParameter::RoutingContext(vec![1]),
            M3uaParameter::ProtocolData(ProtocolData {
                opc: 1,
                dpc: 2,
                si: 5,
                ni: 2,
                mp: 0,
                sls: 7,
                user_data: rel,
            }),
        ],
    )
    .encode()
}

fn codecs(c: &mut Criterion) {
    let iam = typical_iam();
    let data = data_with_rel();
    let mut group = c.benchmark_group("codecs");
    group.throughput(Throughput::Elements(1));
    group.bench_function("isup_iam_decode_view", |b| {
        b.iter(|| {
            let view = IsupView::decode(black_box(&iam), Variant::Itu).unwrap();
            let called = view.typed::<CalledPartyNumber>().unwrap().unwrap();
            let calling = view.typed::<CallingPartyNumber>().unwrap().unwrap();
            black_box((called.digits.len(), calling.digits.len()))
        })
    });
    group.bench_function("isup_iam_decode_owned_and_encode", |b| {
        let mut out = Vec::with_capacity(64);
        b.iter(|| {
            let message = IsupMessage::decode(black_box(&iam)).unwrap();
            out.clear();
            message.encode_into(&mut out);
            black_box(out.len())
        })
    });
    group.bench_function("m3ua_data_rel_decode_and_encode", |b| {
        b.iter(|| {
            let message = M3uaMessage::decode(black_box(&data)).unwrap();
            let user_data = &message.protocol_data().unwrap().user_data;
            let rel = IsupView::decode(user_data, Variant::Itu).unwrap();
            let cause = rel.typed::<CauseIndicators>().unwrap().unwrap();
            black_box((cause.cause_value, message.encode().len()))
        })
    });
    group.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);
