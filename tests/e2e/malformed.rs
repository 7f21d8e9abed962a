//! Bad SIP never stops tandem: garbage and truncated requests get 400 or are dropped with a log line, and calls
//! keep working afterwards.

use std::net::UdpSocket;
use std::time::Duration;

use crate::harness::{Rig, RigOptions};

#[test]
fn garbage_and_truncated_sip_do_not_stop_the_gateway() {
    let mut rig = Rig::start(RigOptions::default());
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    socket
        .send_to(&[0xff, 0x00, 0x13, 0x37, b'\r', b'\n'], rig.sip)
        .unwrap();
    let truncated = format!(
        "INVITE sip:4930123@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-trunc\r\nFrom: <sip:a@{local}>;tag=1\r\nTo: <sip:4930123@{sip}>\r\nCall-ID: trunc-1\r\nCSeq: 1 INVITE\r\nContent-Length: 500\r\n\r\nv=0\r\n",
        sip = rig.sip,
        local = socket.local_addr().unwrap()
    );
    socket.send_to(truncated.as_bytes(), rig.sip).unwrap();
    let mut buffer = [0u8; 4096];
    // A truncated body gets 400 (RFC 3261 §18.3) — or nothing, if the gateway judged it unparseable.
    if let Ok((length, _)) = socket.recv_from(&mut buffer) {
        let reply = String::from_utf8_lossy(&buffer[..length]);
        assert!(
            reply.starts_with("SIP/2.0 400"),
            "unexpected reply to a truncated INVITE: {reply}"
        );
    }
    let output = rig.sipp("uac_basic.xml", "4930123456", 3, &[]);
    rig.assert_sipp_ok(&output, "calls after malformed input");
    rig.stop_and_replay();
    let log = std::fs::read_to_string(rig.dir.path().join("tandem.log")).unwrap_or_default();
    assert!(
        log.contains("malformed SIP"),
        "no log line for the malformed datagrams:\n{log}"
    );
}
