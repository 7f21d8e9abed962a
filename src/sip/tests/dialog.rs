//! In-dialog session modification answered locally: re-INVITE hold/resume (RFC 3261 §14.2, RFC 3264 §8),
//! UPDATE (RFC 3311), INFO, and their failure cases.

use super::*;
use crate::sip::endpoint_dialog::answer_modification;
use crate::sip::Sdp;

/// An established incoming call: answered with a real SDP answer and ACKed. Returns the leg and our To-tag.
pub(super) fn confirmed_call(ep: &mut Endpoint) -> (LegId, String) {
    let leg = incoming_leg(ep);
    let offer = Sdp::parse(SDP_OFFER.as_bytes()).unwrap();
    let answer = offer.answer(addr(LOCAL).ip(), 40000, 9).unwrap();
    let body = (
        "application/sdp".to_string(),
        answer.to_string().into_bytes(),
    );
    ep.respond(leg, 200, None, &[], Some(body), 10).unwrap();
    let tag = to_tag_of(&transmits(ep)[0]);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKack1", 1, &tag),
        20,
    );
    assert!(matches!(events(ep).as_slice(), [SipEvent::Acked { .. }]));
    (leg, tag)
}

pub(super) fn with_sdp(
    method: &str,
    branch: &str,
    cseq: u32,
    tag: &str,
    direction: &str,
) -> Vec<u8> {
    with_body(
        method,
        branch,
        cseq,
        tag,
        &format!("{SDP_OFFER}a={direction}\r\n"),
    )
}

pub(super) fn with_body(method: &str, branch: &str, cseq: u32, tag: &str, body: &str) -> Vec<u8> {
    msg(
        &format!("{method} sip:+4930123@192.0.2.1 SIP/2.0"),
        &[
            &format!("Via: SIP/2.0/UDP 192.0.2.10:5060;branch={branch}"),
            "Max-Forwards: 70",
            "From: \"Alice\" <sip:alice@192.0.2.10>;tag=a1",
            &format!("To: <sip:+4930123@192.0.2.1>;tag={tag}"),
            "Call-ID: call-1@192.0.2.10",
            &format!("CSeq: {cseq} {method}"),
            "Content-Type: application/sdp",
        ],
        body,
    )
}

fn sdp_of(t: &Transmit) -> Sdp {
    Sdp::parse(response_of(t).body()).unwrap()
}

#[test]
fn reinvite_hold_and_resume_are_answered_locally() {
    let mut ep = endpoint();
    let (leg, tag) = confirmed_call(&mut ep);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("INVITE", "z9hG4bKre1", 2, &tag, "sendonly"),
        100,
    );
    let sent = transmits(&mut ep);
    assert_eq!(sent.iter().map(status_of).collect::<Vec<_>>(), vec![200]);
    let held = sdp_of(&sent[0]);
    let audio = held.audio().unwrap();
    assert_eq!(
        audio.direction.as_deref(),
        Some("recvonly"),
        "RFC 3264 §6.1"
    );
    assert_eq!(
        (audio.port, held.session_version),
        (40000, 10),
        "same media, version + 1"
    );
    assert_eq!(to_tag_of(&sent[0]), tag);
    assert!(events(&mut ep).is_empty(), "the core is not involved");

    // The 2xx is retransmitted until the ACK, which raises no second Acked.
    ep.handle_timeout(600);
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![200]
    );
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKack2", 2, &tag),
        700,
    );
    assert!(events(&mut ep).is_empty());
    ep.handle_timeout(5000);
    assert!(transmits(&mut ep).iter().all(|t| status_of(t) != 200));

    // Resume.
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("INVITE", "z9hG4bKre2", 3, &tag, "sendrecv"),
        6000,
    );
    let sent = transmits(&mut ep);
    let resumed = sdp_of(&sent[0]);
    assert_eq!(
        resumed.audio().unwrap().direction.as_deref(),
        Some("sendrecv")
    );
    assert_eq!(resumed.session_version, 11);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKack3", 3, &tag),
        6100,
    );

    // The call is still up and can be cleared normally.
    ep.bye(leg, 7000).unwrap();
    assert_eq!(
        request_of(&transmits(&mut ep)[0]).method(),
        message::Method::Bye
    );
}

#[test]
fn update_info_and_refusals() {
    let mut ep = endpoint();
    let (_leg, tag) = confirmed_call(&mut ep);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("INFO", "z9hG4bKi1", 2, &tag),
        100,
    );
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![200]
    );
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("UPDATE", "z9hG4bKu1", 3, &tag, "inactive"),
        200,
    );
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 200);
    assert_eq!(
        sdp_of(&sent[0]).audio().unwrap().direction.as_deref(),
        Some("inactive")
    );
    // UPDATE and INFO outside any dialog.
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("UPDATE", "z9hG4bKu2", 4, "nosuch"),
        300,
    );
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![481]
    );
    // An offer without our codec: 488, the session unchanged.
    let g729 = with_body(
        "INVITE",
        "z9hG4bKre9",
        5,
        &tag,
        &SDP_OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 18 101"),
    );
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &g729, 400);
    let statuses: Vec<u16> = transmits(&mut ep).iter().map(status_of).collect();
    assert_eq!(statuses, vec![488]);
}

#[test]
fn reinvite_before_the_ack_confirms_the_dialog_and_a_late_ack_is_ignored() {
    let mut ep = endpoint();
    let leg = incoming_leg(&mut ep);
    let offer = Sdp::parse(SDP_OFFER.as_bytes()).unwrap();
    let answer = offer.answer(addr(LOCAL).ip(), 40000, 9).unwrap();
    let body = (
        "application/sdp".to_string(),
        answer.to_string().into_bytes(),
    );
    ep.respond(leg, 200, None, &[], Some(body), 10).unwrap();
    let tag = to_tag_of(&transmits(&mut ep)[0]);
    // The first ACK is lost; the re-INVITE arrives.
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("INVITE", "z9hG4bKre1", 2, &tag, "sendonly"),
        20,
    );
    let sent = transmits(&mut ep);
    assert_eq!(sent.iter().map(status_of).collect::<Vec<_>>(), vec![200]);
    assert!(matches!(
        events(&mut ep).as_slice(),
        [SipEvent::Acked { .. }]
    ));
    // The late ACK for CSeq 1 does not acknowledge the re-INVITE's 2xx: it is still retransmitted.
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKack1", 1, &tag),
        30,
    );
    ep.handle_timeout(600);
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![200]
    );
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKack2", 2, &tag),
        700,
    );
    ep.handle_timeout(5000);
    assert!(transmits(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
}

#[test]
fn unchanged_answer_keeps_its_version() {
    let offer = Sdp::parse(SDP_OFFER.as_bytes()).unwrap();
    let local = offer.answer(addr(LOCAL).ip(), 40000, 9).unwrap();
    let same = answer_modification(&local, &offer).unwrap();
    assert_eq!(same.session_version, local.session_version);
}

fn timed_invite(session_expires: &str) -> Vec<u8> {
    let text = String::from_utf8(invite("z9hG4bKst1")).unwrap();
    text.replacen(
        "CSeq:",
        &format!("Supported: timer\r\nSession-Expires: {session_expires}\r\nCSeq:"),
        1,
    )
    .into_bytes()
}

#[test]
fn session_timer_is_negotiated_refreshed_and_expires_with_bye() {
    let mut ep = endpoint();
    // Below Min-SE (90 s): 422 naming the minimum.
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &timed_invite("30"), 0);
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 422);
    assert!(String::from_utf8_lossy(&sent[0].data).contains("Min-SE: 90"));

    let mut ep = endpoint();
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &timed_invite("120;refresher=uac"),
        0,
    );
    transmits(&mut ep);
    let leg = match events(&mut ep).as_slice() {
        [SipEvent::IncomingInvite { leg, .. }] => *leg,
        other => panic!("{other:?}"),
    };
    let offer = Sdp::parse(SDP_OFFER.as_bytes()).unwrap();
    let answer = offer.answer(addr(LOCAL).ip(), 40000, 9).unwrap();
    let body = (
        "application/sdp".to_string(),
        answer.to_string().into_bytes(),
    );
    ep.respond(leg, 200, None, &[], Some(body), 10).unwrap();
    let sent = transmits(&mut ep);
    let text = String::from_utf8_lossy(&sent[0].data).into_owned();
    assert!(
        text.contains("Session-Expires: 120;refresher=uac"),
        "{text}"
    );
    assert!(text.contains("Require: timer"), "{text}");
    let tag = to_tag_of(&sent[0]);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKa", 1, &tag),
        20,
    );
    events(&mut ep);
    // The INVITE transaction's Timer L (64·T1) goes first; then BYE is due 32 s before expiry: 10 + 88 s.
    ep.handle_timeout(32_010);
    assert!(transmits(&mut ep).is_empty());
    assert_eq!(ep.poll_timeout(), Some(88_010));
    // A refresh by UPDATE at 60 s moves it to 60 + 88 s.
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("UPDATE", "z9hG4bKu", 2, &tag),
        60_000,
    );
    let sent = transmits(&mut ep);
    assert!(String::from_utf8_lossy(&sent[0].data).contains("Session-Expires: 120;refresher=uac"));
    ep.handle_timeout(100_000);
    assert!(transmits(&mut ep).is_empty());
    assert_eq!(ep.poll_timeout(), Some(148_000));
    ep.handle_timeout(148_000);
    let sent = transmits(&mut ep);
    assert_eq!(request_of(&sent[0]).method(), message::Method::Bye);
    assert!(matches!(
        events(&mut ep).as_slice(),
        [SipEvent::LegTerminated {
            reason: crate::sip::TerminationReason::SessionExpired,
            ..
        }]
    ));
}

#[test]
fn no_session_timer_without_supported_timer_or_with_refresher_uas() {
    for variant in ["supported", "uas"] {
        let text = String::from_utf8(timed_invite("120;refresher=uas")).unwrap();
        let text = if variant == "supported" {
            text.replace("Supported: timer\r\n", "")
                .replace("refresher=uas", "refresher=uac")
        } else {
            text
        };
        let mut ep = endpoint();
        ep.handle_datagram(TransportKind::Udp, addr(PEER), text.as_bytes(), 0);
        transmits(&mut ep);
        let leg = match events(&mut ep).as_slice() {
            [SipEvent::IncomingInvite { leg, .. }] => *leg,
            other => panic!("{other:?}"),
        };
        ep.respond(leg, 200, None, &[], None, 10).unwrap();
        let sent = transmits(&mut ep);
        assert!(!String::from_utf8_lossy(&sent[0].data).contains("Session-Expires"));
    }
}

fn with_header(data: Vec<u8>, header: &str) -> Vec<u8> {
    String::from_utf8(data)
        .unwrap()
        .replacen("CSeq:", &format!("{header}\r\nCSeq:"), 1)
        .into_bytes()
}

#[test]
fn reliable_provisionals_are_retransmitted_until_prack() {
    let mut ep = endpoint();
    let leg = {
        ep.handle_datagram(
            TransportKind::Udp,
            addr(PEER),
            &with_header(invite("z9hG4bKrel"), "Supported: 100rel, timer"),
            0,
        );
        transmits(&mut ep);
        match events(&mut ep).as_slice() {
            [SipEvent::IncomingInvite { leg, .. }] => *leg,
            other => panic!("{other:?}"),
        }
    };
    ep.respond(leg, 180, None, &[], None, 10).unwrap();
    let sent = transmits(&mut ep);
    let ringing = response_of(&sent[0]);
    let rseq: u32 = ringing.header("RSeq").unwrap().parse().unwrap();
    assert_eq!(ringing.header("Require").as_deref(), Some("100rel"));
    let tag = to_tag_of(&sent[0]);
    // A second provisional while the first is unacknowledged goes unreliably.
    ep.respond(leg, 183, None, &[], None, 20).unwrap();
    assert!(response_of(&transmits(&mut ep)[0]).header("RSeq").is_none());
    // Retransmitted at T1, then 2·T1.
    ep.handle_timeout(510);
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![180]
    );
    let prack = |rack: &str, branch: &str| {
        with_header(
            in_dialog("PRACK", branch, 2, &tag),
            &format!("RAck: {rack}"),
        )
    };
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &prack(&format!("{} 1 INVITE", rseq + 5), "z9hG4bKp0"),
        600,
    );
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![481]
    );
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &prack(&format!("{rseq} 1 INVITE"), "z9hG4bKp1"),
        700,
    );
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![200]
    );
    ep.handle_timeout(5_000);
    assert!(
        transmits(&mut ep).iter().all(|t| status_of(t) != 180),
        "no retransmission after PRACK"
    );
    // The next provisional is reliable again, with the next RSeq.
    ep.respond(leg, 183, None, &[], None, 5_100).unwrap();
    let next = response_of(&transmits(&mut ep)[0]);
    assert_eq!(next.header("RSeq"), Some((rseq + 1).to_string()));
}

#[test]
fn require_lists_only_what_is_unsupported() {
    let mut ep = endpoint();
    let data = with_header(invite("z9hG4bKreq"), "Require: 100rel, foo, timer");
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &data, 0);
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 420);
    assert_eq!(
        response_of(&sent[0]).header("Unsupported").as_deref(),
        Some("foo")
    );
    let mut ep = endpoint();
    let data = with_header(invite("z9hG4bKreq2"), "Require: 100rel");
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &data, 0);
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![100]
    );
}
