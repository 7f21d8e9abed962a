//! Fuzz target for the SDP parser (RFC 4566 subset, `sip::Sdp::parse`) and the answer built from an offer
//! (RFC 3264): a panic on any body is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::sip::Sdp;

fuzz_target!(|data: &[u8]| {
    if let Ok(offer) = Sdp::parse(data) {
        let text = offer.to_string();
        let _ = Sdp::parse(text.as_bytes());
        let _ = offer.answer(std::net::IpAddr::from([192, 0, 2, 1]), 40_000, 1);
    }
});
