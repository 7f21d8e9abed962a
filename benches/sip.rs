//! SIP message throughput: parse and re-serialise a typical INVITE (with an SDP offer), and the same INVITE
//! taken through the whole UAS path of the sans-IO `Endpoint` (parse, validation, server transaction,
//! 100 Trying). `docs/benchmarks.md` records the numbers and the command.

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tandem::sip::message::{self, Message};
use tandem::sip::{Endpoint, EndpointConfig, TransportKind};

/// An INVITE as a SIP trunk or PBX sends it: 14 header fields and a G.711/telephone-event offer.
fn invite(n: u64) -> Vec<u8> {
    let sdp = "v=0\r\no=- 3724394400 3724394400 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";
    format!(
        "INVITE sip:+4930123456@192.0.2.1:5060;user=phone SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-{n:x}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice Example\" <sip:+4940999888@192.0.2.10;user=phone>;tag=a{n:x}\r\n\
To: <sip:+4930123456@192.0.2.1;user=phone>\r\n\
Call-ID: {n:x}-bench@192.0.2.10\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:+4940999888@192.0.2.10:5060;transport=udp>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK\r\n\
Supported: timer, 100rel\r\n\
Session-Expires: 1800\r\n\
P-Asserted-Identity: <sip:+4940999888@192.0.2.10;user=phone>\r\n\
User-Agent: bench/1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

fn parse_and_serialise(c: &mut Criterion) {
    let data = invite(1);
    let mut group = c.benchmark_group("sip");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse+serialise INVITE", |b| {
        b.iter(|| match message::parse(black_box(&data)) {
            Ok(Message::Request(request)) => black_box(request.to_bytes()),
            _ => unreachable!("the bench INVITE parses"),
        })
    });
    group.bench_function("parse INVITE", |b| {
        b.iter(|| message::parse(black_box(&data)).is_ok())
    });
    let from: SocketAddr = "192.0.2.10:5060".parse().unwrap_or_else(|_| unreachable!());
    let local: SocketAddr = "192.0.2.1:5060".parse().unwrap_or_else(|_| unreachable!());
    // Distinct INVITEs (a retransmission would be absorbed); the endpoint is renewed after each round so
    // its tables stay at the size of 10,000 calls in progress.
    let invites: Vec<Vec<u8>> = (0..10_000).map(invite).collect();
    group.bench_function("endpoint: INVITE in, 100 Trying out", |b| {
        let mut endpoint = Endpoint::new(EndpointConfig::new(local));
        let mut n = 0usize;
        b.iter(|| {
            if n == invites.len() {
                n = 0;
                endpoint = Endpoint::new(EndpointConfig::new(local));
            }
            let data = invites.get(n).unwrap_or_else(|| unreachable!());
            n += 1;
            endpoint.handle_datagram(TransportKind::Udp, from, data, n as u64);
            while let Some(t) = endpoint.poll_transmit() {
                black_box(t);
            }
            while endpoint.poll_event().is_some() {}
            while endpoint.poll_transition().is_some() {}
        })
    });
    group.finish();
}

criterion_group!(benches, parse_and_serialise);
criterion_main!(benches);
