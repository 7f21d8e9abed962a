//! Session modifications across a SIP→SIP call through the whole core (`interwork/b2bua_dialog.rs`): a hold
//! re-INVITE of the caller reaches the callee as a request of the callee's dialog and the callee's answer comes
//! back; a modification of the callee reaches the caller; glare gets 491; replayed exactly.

use super::b2bua_tests::{
    bench, callee_request, callee_response, caller_invite, caller_request, header, to_tag,
    CALLEE_SDP, TARGET,
};
use crate::events::replay::replay;

const CALLER: &str = "127.0.0.1:5099";

/// `request` with an SDP body whose direction is `direction`.
fn with_offer(request: &str, direction: &str) -> String {
    let sdp = format!("{CALLEE_SDP}a={direction}\r\n");
    request.replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        ),
    )
}

/// An answered and acknowledged SIP→SIP call; returns the outgoing INVITE and the caller's To-tag.
fn answered(bench: &mut super::tests::Bench, branch: &str) -> (String, String) {
    bench.sip(&caller_invite(branch));
    let invite = bench.sent_to(TARGET).into_iter().next().expect("INVITE");
    bench.sip_from(
        TARGET,
        &callee_response(&invite, "200 OK", "calleetag", Some(CALLEE_SDP)),
    );
    let ok = bench
        .sent_to(CALLER)
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 200"))
        .expect("200 relayed");
    let tag = to_tag(&ok);
    bench.sip(&caller_request("ACK", 4711, &tag, branch));
    (invite, tag)
}

#[test]
fn a_hold_reinvite_of_the_caller_is_answered_by_the_callee() {
    let mut bench = bench(&["X-Billing"]);
    let (invite, tag) = answered(&mut bench, "d1");
    let mut hold = with_offer(&caller_request("INVITE", 4712, &tag, "d1"), "sendonly");
    hold = hold.replace(
        "Max-Forwards: 70",
        "Max-Forwards: 9\r\nX-Caller-Secret: s3cr3t\r\nX-Billing: 43",
    );
    bench.sip(&hold);
    let to_caller = bench.sent_to(CALLER);
    assert!(
        to_caller
            .iter()
            .any(|m| m.starts_with("SIP/2.0 100") && header(m, "CSeq") == "4712 INVITE"),
        "100 Trying while the callee decides"
    );
    assert!(
        !to_caller
            .iter()
            .any(|m| m.starts_with("SIP/2.0 200") && header(m, "CSeq") == "4712 INVITE"),
        "not answered by tandem itself"
    );
    let reinvite = bench
        .sent_to(TARGET)
        .into_iter()
        .find(|m| m.starts_with("INVITE ") && header(m, "To").contains("calleetag"))
        .expect("the re-INVITE on the callee's dialog");
    assert!(
        reinvite.starts_with("INVITE sip:bob@10.7.7.7:5098"),
        "{reinvite}"
    );
    assert_eq!(header(&reinvite, "Call-ID"), header(&invite, "Call-ID"));
    assert_eq!(header(&reinvite, "CSeq"), "2 INVITE", "tandem's own CSeq");
    assert_eq!(header(&reinvite, "Max-Forwards"), "8");
    assert_eq!(header(&reinvite, "X-Billing"), "43");
    assert!(reinvite.contains("a=sendonly"), "{reinvite}");
    for leaked in [
        "callertag",
        "callerid",
        "z9hG4bKINVITE",
        "X-Caller-Secret",
        "4712",
    ] {
        assert!(
            !reinvite.contains(leaked),
            "{leaked} leaked into {reinvite}"
        );
    }
    let answer = CALLEE_SDP.to_string() + "a=recvonly\r\n";
    bench.sip_from(
        TARGET,
        &callee_response(&reinvite, "200 OK", "calleetag", Some(&answer)),
    );
    assert!(
        bench
            .sent_to(TARGET)
            .iter()
            .any(|m| m.starts_with("ACK ") && header(m, "CSeq") == "2 ACK"),
        "tandem ACKs the callee's 2xx in its dialog"
    );
    let ok = bench
        .sent_to(CALLER)
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 200") && header(m, "CSeq") == "4712 INVITE")
        .expect("the callee's answer relayed");
    assert!(ok.contains("a=recvonly"), "{ok}");
    for leaked in [
        "calleetag",
        "10.7.7.7",
        "X-Callee-Secret",
        "core.callee.example",
    ] {
        assert!(!ok.contains(leaked), "{leaked} leaked into {ok}");
    }
    bench.sip(&caller_request("ACK", 4712, &tag, "d1"));
    assert!(replay(&bench.log).expect("replays").first.is_none());
}

#[test]
fn the_callees_update_reaches_the_caller_and_glare_gets_491() {
    let mut bench = bench(&[]);
    let (invite, tag) = answered(&mut bench, "d2");
    let update = with_offer(
        &callee_request("UPDATE", &invite, "calleetag", 9),
        "inactive",
    );
    bench.sip_from(TARGET, &update);
    let relayed = bench
        .sent_to(CALLER)
        .into_iter()
        .find(|m| m.starts_with("UPDATE "))
        .expect("UPDATE in the caller's dialog");
    assert!(relayed.contains("a=inactive"));
    assert_eq!(header(&relayed, "Call-ID"), "calleridd2@caller.example");
    // Meanwhile the caller offers too: glare on its leg.
    bench.sip(&with_offer(
        &caller_request("INVITE", 4712, &tag, "d2"),
        "sendonly",
    ));
    assert!(bench
        .sent_to(CALLER)
        .iter()
        .any(|m| m.starts_with("SIP/2.0 491") && header(m, "CSeq") == "4712 INVITE"));
    // The caller refuses the UPDATE: the callee gets the same status.
    let refusal = format!(
        "SIP/2.0 488 Not Acceptable Here\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
        header(&relayed, "Via"),
        header(&relayed, "From"),
        header(&relayed, "To"),
        header(&relayed, "Call-ID"),
        header(&relayed, "CSeq"),
    );
    bench.sip_from(CALLER, &refusal);
    assert!(bench
        .sent_to(TARGET)
        .iter()
        .any(|m| m.starts_with("SIP/2.0 488") && header(m, "CSeq") == "9 UPDATE"));
    assert!(replay(&bench.log).expect("replays").first.is_none());
}
