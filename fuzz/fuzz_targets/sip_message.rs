//! Fuzz target for the SIP parser and everything a received message reaches: `sip::message::parse`
//! (re-serialising what parses), the TCP framer, and an `Endpoint` fed the bytes over UDP and TCP with its
//! timers run out. A panic anywhere is a finding: bad input must only ever become a 4xx or a log line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::sip::framing::StreamFramer;
use tandem::sip::message::{self, Message};
use tandem::sip::{Endpoint, EndpointConfig, TransportKind};

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = message::parse(data) {
        let bytes = match &parsed {
            Message::Request(request) => request.to_bytes(),
            Message::Response(response) => response.to_bytes(),
        };
        // What we serialise we must read back.
        let _ = message::parse(&bytes);
    }
    let local = std::net::SocketAddr::from(([192, 0, 2, 1], 5060));
    let peer = std::net::SocketAddr::from(([192, 0, 2, 10], 5060));
    let mut endpoint = Endpoint::new(EndpointConfig::new(local));
    endpoint.handle_datagram(TransportKind::Udp, peer, data, 0);
    let mut framer = StreamFramer::new(64 * 1024);
    if let Ok(messages) = framer.push(data) {
        for framed in messages {
            endpoint.handle_datagram(TransportKind::Tcp, peer, &framed, 1);
        }
    }
    endpoint.handle_timeout(200_000);
    while endpoint.poll_transmit().is_some() {}
    while endpoint.poll_event().is_some() {}
    while endpoint.poll_transition().is_some() {}
});
