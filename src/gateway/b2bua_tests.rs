//! SIP→SIP calls through the whole core: two independent dialogs, responses relayed, failover on a retryable
//! status, clearing from either side, and topology hiding (nothing of one leg's Via, Contact, Record-Route,
//! Call-ID, tags, branches or unlisted headers appears on the other), replayed exactly.

use std::net::SocketAddr;

use super::tests::{Bench, PEER};
use crate::config::Config;
use crate::events::replay::replay;
use crate::events::{EventKind, Input, Output, Payload, SipTransport, SourceText};
use crate::runtime::build_setup;

pub(super) const TARGET: &str = "127.0.0.1:5098";
const SECOND: &str = "127.0.0.1:5097";

const TWO_TARGETS: &str = r#"
fn route(view) {
    [ #{ action: "sip", uri: "sip:" + view.called + "@127.0.0.1:5098" },
      #{ action: "sip", uri: "sip:" + view.called + "@127.0.0.1:5097" } ]
}"#;

pub(super) fn bench(relay: &[&str]) -> Bench {
    let mut config = Config::default_embedded();
    config.sip_outgoing.relay_headers = relay.iter().map(|s| s.to_string()).collect();
    let mut setup = build_setup(&config, 11).expect("setup");
    setup.dialplan = SourceText {
        name: "b2bua.rhai".into(),
        text: TWO_TARGETS.into(),
    };
    Bench::with_setup(setup)
}

/// The caller's INVITE, full of values that must stay on its leg.
pub(super) fn caller_invite(branch: &str) -> String {
    let sdp = "v=0\r\no=alice 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 31000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
    format!(
        "INVITE sip:+4930123@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {PEER};branch=z9hG4bKcaller{branch};rport\r\n\
         Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKinnerhop{branch}\r\n\
         Record-Route: <sip:edge.caller.example;lr>\r\n\
         Max-Forwards: 69\r\n\
         From: \"Alice\" <sip:+4940555@caller.example>;tag=callertag{branch}\r\n\
         To: <sip:+4930123@127.0.0.1>\r\n\
         Call-ID: callerid{branch}@caller.example\r\n\
         CSeq: 4711 INVITE\r\n\
         Contact: <sip:alice@{PEER}>\r\n\
         X-Caller-Secret: s3cr3t\r\n\
         X-Billing: 42\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// The value of the first header `name` in `message`.
pub(super) fn header(message: &str, name: &str) -> String {
    message
        .lines()
        .find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

impl Bench {
    /// SIP the gateway sent to `to`, in order.
    pub(super) fn sent_to(&self, to: &str) -> Vec<String> {
        let to: SocketAddr = to.parse().expect("address");
        self.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Output(Output::SipSend { to: dest, data, .. }) if *dest == to => {
                    Some(String::from_utf8_lossy(&data.0).into_owned())
                }
                _ => None,
            })
            .collect()
    }

    pub(super) fn sip_from(&mut self, from: &str, text: &str) {
        self.feed(Input::SipReceived {
            transport: SipTransport::Udp,
            from: from.parse().expect("address"),
            data: Payload(text.as_bytes().to_vec()),
        });
    }

    pub(super) fn call_released(&self) -> bool {
        self.log.iter().any(|e| {
            matches!(&e.kind, EventKind::Transition(t) if t.machine == "call" && t.to == "Released")
        })
    }
}

/// A response of the called side to `request`, with its own tag, Contact and Record-Route.
pub(super) fn callee_response(request: &str, status: &str, tag: &str, sdp: Option<&str>) -> String {
    let mut text = format!("SIP/2.0 {status}\r\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        text.push_str(&format!("{name}: {}\r\n", header(request, name)));
    }
    text.push_str(&format!("To: {};tag={tag}\r\n", header(request, "To")));
    text.push_str(
        "Contact: <sip:bob@10.7.7.7:5098>\r\nRecord-Route: <sip:core.callee.example;lr>\r\n",
    );
    text.push_str("X-Callee-Secret: hidden\r\nReason: Q.850;cause=17\r\n");
    match sdp {
        Some(sdp) => text.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        )),
        None => text.push_str("Content-Length: 0\r\n\r\n"),
    }
    text
}

pub(super) const CALLEE_SDP: &str = "v=0\r\no=bob 3 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 32000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

/// A request of the called side inside its dialog with tandem (To-tag = tandem's From-tag there).
pub(super) fn callee_request(method: &str, invite: &str, tag: &str, cseq: u32) -> String {
    format!(
        "{method} sip:tandem@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {TARGET};branch=z9hG4bKcallee{cseq};rport\r\n\
         Max-Forwards: 70\r\nFrom: {};tag={tag}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
        header(invite, "To"),
        header(invite, "From"),
        header(invite, "Call-ID"),
    )
}

pub(super) fn caller_request(method: &str, cseq: u32, to_tag: &str, branch: &str) -> String {
    format!(
        "{method} sip:tandem@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {PEER};branch=z9hG4bK{method}{branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Alice\" <sip:+4940555@caller.example>;tag=callertag{branch}\r\n\
         To: <sip:+4930123@127.0.0.1>;tag={to_tag}\r\nCall-ID: callerid{branch}@caller.example\r\n\
         CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    )
}

/// The To-tag tandem gave the caller in `response`.
pub(super) fn to_tag(response: &str) -> String {
    header(response, "To")
        .split(";tag=")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn sip_to_sip_relays_a_call_between_two_dialogs_and_hides_each_legs_topology() {
    let mut bench = bench(&["X-Billing"]);
    bench.sip(&caller_invite("t1"));
    let invite = bench
        .sent_to(TARGET)
        .into_iter()
        .next()
        .expect("INVITE to the target");
    assert!(
        invite.starts_with("INVITE sip:+4930123@127.0.0.1:5098 SIP/2.0"),
        "{invite}"
    );
    // Nothing of the caller's leg on the outgoing INVITE, except the whitelisted header and the offer.
    for leaked in [
        "callert1",
        "callerid",
        "z9hG4bKcaller",
        "innerhop",
        "10.1.1.1",
        "edge.caller.example",
        "5099",
        "X-Caller-Secret",
        "s3cr3t",
        "4711",
        "Alice",
        "caller.example",
        "Record-Route",
    ] {
        assert!(!invite.contains(leaked), "{leaked} leaked into {invite}");
    }
    assert_eq!(header(&invite, "X-Billing"), "42");
    assert!(
        invite.contains("m=audio 31000 RTP/AVP 8"),
        "the caller's offer: {invite}"
    );
    assert!(
        header(&invite, "From").contains("+4940555"),
        "calling number kept"
    );

    bench.sip_from(
        TARGET,
        &callee_response(&invite, "180 Ringing", "calleetag", None),
    );
    bench.sip_from(
        TARGET,
        &callee_response(&invite, "200 OK", "calleetag", Some(CALLEE_SDP)),
    );
    let to_caller = bench.sent_to("127.0.0.1:5099");
    let ringing = to_caller
        .iter()
        .find(|m| m.starts_with("SIP/2.0 180"))
        .expect("180 relayed");
    let ok = to_caller
        .iter()
        .find(|m| m.starts_with("SIP/2.0 200"))
        .expect("200 relayed");
    assert!(ok.contains("m=audio 32000"), "the callee's answer: {ok}");
    let callee_call_id = header(&invite, "Call-ID");
    let tandem_tag_out = header(&invite, "From")
        .split(";tag=")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    for response in [ringing, ok] {
        for leaked in [
            "calleetag",
            callee_call_id.as_str(),
            tandem_tag_out.as_str(),
            "10.7.7.7",
            "core.callee.example",
            "X-Callee-Secret",
            "5098",
            "Record-Route",
        ] {
            assert!(
                !response.contains(leaked),
                "{leaked} leaked into {response}"
            );
        }
        // The caller's own dialog values come back unchanged.
        assert!(response.contains("calleridt1@caller.example"));
    }
    // tandem acknowledged the callee's 200 in its own dialog.
    assert!(bench.sent_to(TARGET).iter().any(|m| m.starts_with("ACK ")));

    let tag = to_tag(ok);
    bench.sip(&caller_request("ACK", 4711, &tag, "t1"));
    bench.sip(&caller_request("BYE", 4712, &tag, "t1"));
    let bye = bench
        .sent_to(TARGET)
        .into_iter()
        .find(|m| m.starts_with("BYE "))
        .expect("BYE relayed");
    assert_eq!(header(&bye, "Call-ID"), callee_call_id);
    assert!(!bench.call_released(), "the callee's leg is still open");
    bench.sip_from(TARGET, &callee_response(&bye, "200 OK", "calleetag", None));
    assert!(bench.call_released());
    let report = replay(&bench.log).expect("replays");
    assert!(report.first.is_none(), "{:?}", report.first);
}

#[test]
fn a_retryable_status_takes_the_next_route_and_another_is_relayed_without_leg_headers() {
    let mut bench = bench(&[]);
    bench.sip(&caller_invite("t2"));
    let first = bench
        .sent_to(TARGET)
        .into_iter()
        .next()
        .expect("first INVITE");
    assert!(!first.contains("X-Billing"), "not whitelisted: {first}");
    bench.sip_from(
        TARGET,
        &callee_response(&first, "503 Service Unavailable", "x1", None),
    );
    let second = bench
        .sent_to(SECOND)
        .into_iter()
        .next()
        .expect("the next route");
    assert_ne!(header(&second, "Call-ID"), header(&first, "Call-ID"));
    bench.sip_from(
        SECOND,
        &callee_response(&second, "486 Busy Here", "x2", None),
    );
    let finals: Vec<String> = bench
        .sent_to("127.0.0.1:5099")
        .into_iter()
        .filter(|m| m.starts_with("SIP/2.0 ") && !m.starts_with("SIP/2.0 1"))
        .collect();
    assert_eq!(finals.len(), 1, "{finals:?}");
    assert!(finals[0].starts_with("SIP/2.0 486"), "{}", finals[0]);
    assert_eq!(header(&finals[0], "Reason"), "Q.850;cause=17");
    assert!(!finals[0].contains("X-Callee-Secret") && !finals[0].contains("10.7.7.7"));
    assert!(bench.call_released());
    assert!(replay(&bench.log).expect("replays").first.is_none());
}

#[test]
fn cancel_from_the_caller_cancels_the_called_leg_and_bye_from_the_callee_reaches_the_caller() {
    let mut bench = bench(&[]);
    bench.sip(&caller_invite("t3"));
    let invite = bench.sent_to(TARGET).into_iter().next().expect("INVITE");
    bench.sip_from(TARGET, &callee_response(&invite, "180 Ringing", "c3", None));
    let cancel = format!(
        "CANCEL sip:+4930123@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {PEER};branch=z9hG4bKcallert3;rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Alice\" <sip:+4940555@caller.example>;tag=callertagt3\r\n\
         To: <sip:+4930123@127.0.0.1>\r\nCall-ID: calleridt3@caller.example\r\nCSeq: 4711 CANCEL\r\nContent-Length: 0\r\n\r\n"
    );
    bench.sip(&cancel);
    assert!(bench
        .sent_to("127.0.0.1:5099")
        .iter()
        .any(|m| m.starts_with("SIP/2.0 487")));
    let cancel_out = bench
        .sent_to(TARGET)
        .into_iter()
        .find(|m| m.starts_with("CANCEL "))
        .expect("CANCEL relayed");
    bench.sip_from(TARGET, &callee_response(&cancel_out, "200 OK", "c3", None));
    bench.sip_from(
        TARGET,
        &callee_response(&invite, "487 Request Terminated", "c3", None),
    );
    assert!(bench.call_released());

    // A second call, answered, then cleared by the callee.
    bench.sip(&caller_invite("t4"));
    let invite = bench
        .sent_to(TARGET)
        .into_iter()
        .filter(|m| m.starts_with("INVITE "))
        .nth(1)
        .expect("INVITE");
    bench.sip_from(
        TARGET,
        &callee_response(&invite, "200 OK", "c4", Some(CALLEE_SDP)),
    );
    let ok = bench
        .sent_to("127.0.0.1:5099")
        .into_iter()
        .rev()
        .find(|m| m.starts_with("SIP/2.0 200") && m.contains("INVITE"))
        .expect("200");
    bench.sip(&caller_request("ACK", 4711, &to_tag(&ok), "t4"));
    bench.sip_from(TARGET, &callee_request("BYE", &invite, "c4", 9));
    let bye = bench
        .sent_to("127.0.0.1:5099")
        .into_iter()
        .find(|m| m.starts_with("BYE "))
        .expect("BYE to the caller");
    assert_eq!(header(&bye, "Call-ID"), "calleridt4@caller.example");
    assert!(!bye.contains("c4") || !header(&bye, "To").contains("c4"));
    let report = replay(&bench.log).expect("replays");
    assert!(report.first.is_none(), "{:?}", report.first);
}

/// `callee_response` with extra header lines inserted before the body.
fn with_headers(response: &str, lines: &str) -> String {
    response.replacen(
        "Reason: Q.850;cause=17\r\n",
        &format!("Reason: Q.850;cause=17\r\n{lines}"),
        1,
    )
}

#[test]
fn reliable_provisionals_are_pracked_in_their_early_dialog_and_a_late_fork_is_released() {
    let mut bench = bench(&[]);
    bench.sip(&caller_invite("t5"));
    let invite = bench.sent_to(TARGET).into_iter().next().expect("INVITE");
    assert!(header(&invite, "Supported").contains("100rel"), "{invite}");
    assert!(
        header(&invite, "Session-Expires").starts_with("1800"),
        "{invite}"
    );
    let reliable = with_headers(
        &callee_response(&invite, "183 Session Progress", "forkA", Some(CALLEE_SDP)),
        "Require: 100rel\r\nRSeq: 7\r\n",
    );
    bench.sip_from(TARGET, &reliable);
    // A retransmission is neither PRACKed again nor relayed again.
    bench.sip_from(TARGET, &reliable);
    let pracks: Vec<String> = bench
        .sent_to("127.0.0.1:5098")
        .into_iter()
        .filter(|m| m.starts_with("PRACK "))
        .collect();
    assert_eq!(pracks.len(), 1, "{:?}", bench.sent_to(TARGET));
    assert_eq!(header(&pracks[0], "RAck"), "7 1 INVITE");
    assert!(header(&pracks[0], "To").ends_with("tag=forkA"));
    assert!(
        pracks[0].starts_with("PRACK sip:bob@10.7.7.7:5098"),
        "to the early dialog's target: {}",
        pracks[0]
    );
    let relayed = bench
        .sent_to("127.0.0.1:5099")
        .into_iter()
        .filter(|m| m.starts_with("SIP/2.0 183"))
        .count();
    assert_eq!(relayed, 1);
    // The second fork rings, the first answers; then a late 200 from the second is ACKed and released.
    bench.sip_from(
        TARGET,
        &callee_response(&invite, "180 Ringing", "forkB", None),
    );
    bench.sip_from(
        TARGET,
        &callee_response(&invite, "200 OK", "forkA", Some(CALLEE_SDP)),
    );
    bench.sip_from(
        TARGET,
        &callee_response(&invite, "200 OK", "forkB", Some(CALLEE_SDP)),
    );
    let out = bench.sent_to(TARGET);
    let acks: Vec<&String> = out.iter().filter(|m| m.starts_with("ACK ")).collect();
    assert_eq!(acks.len(), 2, "{out:?}");
    assert!(header(acks[0], "CSeq") == "1 ACK" && header(acks[0], "To").ends_with("forkA"));
    let byes: Vec<&String> = out.iter().filter(|m| m.starts_with("BYE ")).collect();
    assert_eq!(byes.len(), 1, "{out:?}");
    assert!(header(byes[0], "To").ends_with("tag=forkB"), "{}", byes[0]);
    // The winning dialog's next request is above the PRACK's CSeq (2).
    let oks = bench
        .sent_to("127.0.0.1:5099")
        .into_iter()
        .filter(|m| m.starts_with("SIP/2.0 200") && m.contains("INVITE"))
        .count();
    assert_eq!(oks, 1, "one 200 relayed to the caller");
}

#[test]
fn an_update_in_an_early_dialog_of_the_outgoing_leg_is_answered() {
    let mut bench = bench(&[]);
    bench.sip(&caller_invite("t6"));
    let invite = bench.sent_to(TARGET).into_iter().next().expect("INVITE");
    bench.sip_from(
        TARGET,
        &callee_response(&invite, "180 Ringing", "early6", None),
    );
    let offer = CALLEE_SDP.replace(
        "a=rtpmap:8 PCMA/8000\r\n",
        "a=rtpmap:8 PCMA/8000\r\na=sendonly\r\n",
    );
    let update = callee_request("UPDATE", &invite, "early6", 5).replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{offer}",
            offer.len()
        ),
    );
    bench.sip_from(TARGET, &update);
    let answer = bench
        .sent_to(TARGET)
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 ") && header(m, "CSeq") == "5 UPDATE")
        .expect("the UPDATE answered");
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(answer.contains("a=recvonly"), "{answer}");
    // An UPDATE naming no dialog at all still gets 481.
    let stray = callee_request("UPDATE", &invite, "nosuchtag", 6);
    bench.sip_from(TARGET, &stray);
    assert!(bench
        .sent_to(TARGET)
        .iter()
        .any(|m| m.starts_with("SIP/2.0 481") && header(m, "CSeq") == "6 UPDATE"));
}

#[test]
fn finished_calls_leave_no_state_behind_once_their_transactions_end() {
    let mut bench = bench(&[]);
    for n in 0..3 {
        let branch = format!("leak{n}");
        bench.sip(&caller_invite(&branch));
        let invite = bench
            .sent_to(TARGET)
            .into_iter()
            .filter(|m| m.starts_with("INVITE "))
            .nth(n)
            .expect("INVITE to the target");
        let callee_tag = format!("calleetag{n}");
        bench.sip_from(
            TARGET,
            &callee_response(&invite, "180 Ringing", &callee_tag, None),
        );
        bench.sip_from(
            TARGET,
            &callee_response(&invite, "200 OK", &callee_tag, Some(CALLEE_SDP)),
        );
        let ok = bench
            .sent_to("127.0.0.1:5099")
            .into_iter()
            .rfind(|m| m.starts_with("SIP/2.0 200") && m.contains(&format!("calleridleak{n}")))
            .expect("200 relayed");
        let tag = to_tag(&ok);
        bench.sip(&caller_request("ACK", 4711, &tag, &branch));
        bench.sip(&caller_request("BYE", 4712, &tag, &branch));
        let bye = bench
            .sent_to(TARGET)
            .into_iter()
            .filter(|m| m.starts_with("BYE "))
            .nth(n)
            .expect("BYE relayed");
        bench.sip_from(TARGET, &callee_response(&bye, "200 OK", &callee_tag, None));
    }
    let gateway = bench.driver.gateway();
    assert_eq!(gateway.active_calls(), 0);
    let (load, _) = gateway.sip_load();
    assert!(
        load.transactions > 0,
        "ended transactions linger for retransmissions: {load:?}"
    );
    // Past 64*T1 every transaction has ended (Timers D, J, K, L, M) and nothing may remain.
    bench.advance(40_000);
    let (load, legs) = bench.driver.gateway().sip_load();
    assert_eq!(load, crate::sip::endpoint::EndpointLoad::default());
    assert_eq!(legs, 0);
}

#[test]
fn an_undeliverable_invite_takes_the_next_route_and_the_last_one_gives_the_caller_503() {
    let mut bench = bench(&[]);
    bench.sip(&caller_invite("t5"));
    assert_eq!(bench.sent_to(TARGET).len(), 1, "first INVITE");
    // The runtime could not deliver it (the core treats every transport alike): handled as a 503 from the
    // target (RFC 3261 §8.1.3.1), which is in retry_statuses, so the next route gets the call at once.
    bench.feed(Input::SipSendFailed {
        transport: SipTransport::Udp,
        to: TARGET.parse().expect("address"),
        reason: "Connection refused (os error 111)".into(),
    });
    assert_eq!(bench.sent_to(SECOND).len(), 1, "{:?}", bench.logs());
    bench.feed(Input::SipSendFailed {
        transport: SipTransport::Udp,
        to: SECOND.parse().expect("address"),
        reason: "Connection refused (os error 111)".into(),
    });
    let finals: Vec<String> = bench
        .sent_to("127.0.0.1:5099")
        .into_iter()
        .filter(|m| m.starts_with("SIP/2.0 ") && !m.starts_with("SIP/2.0 1"))
        .collect();
    assert_eq!(finals.len(), 1, "{finals:?}");
    assert!(finals[0].starts_with("SIP/2.0 503"), "{}", finals[0]);
    assert!(bench.call_released());
    assert!(replay(&bench.log).expect("replays").first.is_none());
}
