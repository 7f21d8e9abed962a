//! Server-side flows: INVITE answering, retransmissions, CANCEL, ACK timeout, BYE, OPTIONS.

use super::*;
use crate::sip::endpoint::TerminationReason;

#[test]
fn uas_invite_ringing_answer_ack_bye() {
    let mut ep = endpoint();
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &invite("z9hG4bKinv1"), 0);
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 100);
    let leg = match events(&mut ep).pop() {
        Some(SipEvent::IncomingInvite {
            leg,
            called_user,
            from_user,
            from_display,
            p_asserted_identity,
            pai_user,
            privacy,
            sdp,
            isup_body,
            ..
        }) => {
            assert_eq!(called_user.as_deref(), Some("+4930123"));
            assert_eq!(from_user.as_deref(), Some("alice"));
            assert_eq!(from_display.as_deref(), Some("Alice"));
            assert_eq!(p_asserted_identity.as_deref(), Some("tel:+4940999"));
            assert_eq!(pai_user.as_deref(), Some("+4940999"));
            assert_eq!(privacy.as_deref(), Some("id"));
            assert_eq!(sdp.unwrap().audio().unwrap().port, 4000);
            assert!(isup_body.is_none());
            leg
        }
        other => panic!("unexpected {other:?}"),
    };
    // The core's own 100 is idempotent.
    ep.respond(leg, 100, None, &[], None, 10).unwrap();
    assert!(transmits(&mut ep).is_empty());

    ep.respond(leg, 180, None, &[], None, 20).unwrap();
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 180);
    let tag = to_tag_of(&sent[0]);
    assert!(String::from_utf8_lossy(&sent[0].data).contains("Contact: <sip:192.0.2.1:5060>"));

    let answer = ("application/sdp".to_string(), b"v=0\r\n".to_vec());
    ep.respond(leg, 200, None, &[], Some(answer), 30).unwrap();
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 200);
    assert_eq!(to_tag_of(&sent[0]), tag, "same To-tag on every response");
    assert_eq!(sent[0].to, addr(PEER));
    let text = String::from_utf8_lossy(&sent[0].data).into_owned();
    assert!(text.contains("Content-Length: 5\r\n"), "{text}");

    // §13.3.1.4: the 2xx is retransmitted until the ACK arrives.
    assert_eq!(ep.poll_timeout(), Some(530));
    ep.handle_timeout(530);
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 1);
    assert_eq!(status_of(&sent[0]), 200);

    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKack", 1, &tag),
        600,
    );
    assert_eq!(events(&mut ep), vec![SipEvent::Acked { leg }]);
    ep.handle_timeout(5_000);
    assert!(
        transmits(&mut ep).is_empty(),
        "no 2xx retransmission after ACK"
    );

    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("BYE", "z9hG4bKbye", 2, &tag),
        6_000,
    );
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 1);
    assert_eq!(status_of(&sent[0]), 200);
    assert_eq!(response_of(&sent[0]).cseq().unwrap().0, 2);
    assert_eq!(events(&mut ep), vec![SipEvent::ByeReceived { leg }]);
    assert_eq!(ep.leg_count(), 0);

    let legs: Vec<(String, String)> = std::iter::from_fn(|| ep.poll_transition())
        .filter(|t| t.machine == "sip.leg")
        .map(|t| (t.from, t.to))
        .collect();
    let path: Vec<&str> = legs.iter().map(|(_, to)| to.as_str()).collect();
    assert_eq!(
        path,
        vec!["Proceeding", "Answered", "Confirmed", "Terminated"]
    );

    // A retransmitted BYE is answered again by its transaction, not by a 481.
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("BYE", "z9hG4bKbye", 2, &tag),
        6_100,
    );
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 200);
}

#[test]
fn invite_retransmission_is_absorbed_and_last_response_resent() {
    let mut ep = endpoint();
    let leg = incoming_leg(&mut ep);
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &invite("z9hG4bKinv1"), 500);
    let sent = transmits(&mut ep);
    assert_eq!(sent.iter().map(status_of).collect::<Vec<_>>(), vec![100]);
    assert!(events(&mut ep).is_empty(), "no second IncomingInvite");

    ep.respond(leg, 183, Some("Session Progress"), &[], None, 600)
        .unwrap();
    transmits(&mut ep);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &invite("z9hG4bKinv1"),
        1_000,
    );
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![183]
    );

    ep.respond(leg, 200, None, &[], None, 1_100).unwrap();
    transmits(&mut ep);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &invite("z9hG4bKinv1"),
        1_200,
    );
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![200]
    );
    assert!(events(&mut ep).is_empty());
}

#[test]
fn cancel_gets_200_then_487_and_its_ack_is_absorbed() {
    let mut ep = endpoint();
    let leg = incoming_leg(&mut ep);
    let cancel = msg(
        "CANCEL sip:+4930123@192.0.2.1 SIP/2.0",
        &[
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1",
            "Max-Forwards: 70",
            "From: \"Alice\" <sip:alice@192.0.2.10>;tag=a1",
            "To: <sip:+4930123@192.0.2.1>",
            "Call-ID: call-1@192.0.2.10",
            "CSeq: 1 CANCEL",
        ],
        "",
    );
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &cancel, 100);
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 1);
    let ok = response_of(&sent[0]);
    assert_eq!(
        (ok.status(), ok.cseq().unwrap().1.as_str().to_string()),
        (200, "CANCEL".into())
    );
    assert_eq!(events(&mut ep), vec![SipEvent::Cancelled { leg }]);

    ep.respond(leg, 487, None, &[], None, 110).unwrap();
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 487);
    let tag = to_tag_of(&sent[0]);
    // RFC 3261 §9.2: the CANCEL's 200 and the INVITE's responses carry the same To-tag.
    assert_eq!(ok.to().and_then(|t| t.tag), Some(tag.clone()));
    assert_eq!(ep.leg_count(), 0);

    // Timer G retransmits the 487 until the ACK.
    ep.handle_timeout(610);
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![487]
    );
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKinv1", 1, &tag),
        700,
    );
    assert!(transmits(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
    ep.handle_timeout(40_000);
    assert!(transmits(&mut ep).is_empty(), "no retransmission after ACK");
    assert_eq!(ep.transaction_count(), 0, "everything cleaned up");

    // A CANCEL matching nothing gets 481.
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &cancel, 50_000);
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![481]
    );
}

#[test]
fn missing_ack_times_out_with_bye() {
    let mut ep = endpoint();
    let leg = incoming_leg(&mut ep);
    ep.respond(leg, 200, None, &[], None, 0).unwrap();
    transmits(&mut ep);
    let mut now = 0;
    while let Some(at) = ep.poll_timeout() {
        if at > 40_000 {
            break;
        }
        now = at;
        ep.handle_timeout(now);
        if !events(&mut ep).is_empty() {
            break;
        }
        transmits(&mut ep);
    }
    assert_eq!(now, 32_000);
    let sent = transmits(&mut ep);
    let bye = sent
        .iter()
        .map(request_of)
        .find(|r| r.method() == message::Method::Bye);
    let bye = bye.expect("BYE after ACK timeout");
    assert_eq!(bye.request_uri(), "sip:alice@192.0.2.10:5062");
    assert_eq!(sent.last().unwrap().to, addr("192.0.2.10:5062"));
}

#[test]
fn options_unknown_methods_and_unknown_dialogs() {
    let mut ep = endpoint();
    let options = in_dialog("OPTIONS", "z9hG4bKo", 1, "x");
    // OPTIONS with a To-tag is still just a ping for us.
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &options, 0);
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 200);
    assert!(String::from_utf8_lossy(&sent[0].data).contains("Allow: INVITE"));

    let cases = [
        ("BYE", "tagless-dialog", 481),
        ("INFO", "nope", 481),
        ("FOO", "nope", 501),
    ];
    for (i, (method, tag, status)) in cases.into_iter().enumerate() {
        let m = in_dialog(method, &format!("z9hG4bK{i}"), 1, tag);
        ep.handle_datagram(TransportKind::Udp, addr(PEER), &m, 10);
        assert_eq!(
            transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
            vec![status],
            "{method}"
        );
    }
    let register = msg(
        "REGISTER sip:192.0.2.1 SIP/2.0",
        &[
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKreg",
            "Max-Forwards: 70",
            "From: <sip:alice@192.0.2.10>;tag=r",
            "To: <sip:alice@192.0.2.10>",
            "Call-ID: reg",
            "CSeq: 1 REGISTER",
        ],
        "",
    );
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &register, 20);
    assert_eq!(
        transmits(&mut ep).iter().map(status_of).collect::<Vec<_>>(),
        vec![405]
    );
}

#[test]
fn responses_follow_via_rport_and_sent_by_port() {
    let mut ep = endpoint();
    let natted = addr("203.0.113.5:40000");
    let with_port = invite("z9hG4bKp");
    let text = String::from_utf8(with_port)
        .unwrap()
        .replace("192.0.2.10:5060;branch", "10.0.0.5:5070;branch");
    ep.handle_datagram(TransportKind::Udp, natted, text.as_bytes(), 0);
    assert_eq!(transmits(&mut ep)[0].to, addr("203.0.113.5:5070"));

    let text = text
        .replace("z9hG4bKp", "z9hG4bKq;rport")
        .replace("call-1", "call-2");
    ep.handle_datagram(TransportKind::Udp, natted, text.as_bytes(), 0);
    assert_eq!(transmits(&mut ep)[0].to, natted);
}

#[test]
fn sip_i_invite_exposes_sdp_and_isup() {
    let body = format!(
        "--b1\r\nContent-Type: application/sdp\r\n\r\n{SDP_OFFER}\r\n--b1\r\n\
Content-Type: application/ISUP;version=itu-t92+\r\n\r\n\u{1}\u{0}\r\n--b1--\r\n"
    );
    let data = msg(
        "INVITE tel:+4930123 SIP/2.0",
        &[
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKsipi",
            "Max-Forwards: 70",
            "From: <sip:+4940999@192.0.2.10;user=phone>;tag=a1",
            "To: <tel:+4930123>",
            "Call-ID: sipi",
            "CSeq: 1 INVITE",
            "Contact: <sip:192.0.2.10>",
            "Content-Type: multipart/mixed;boundary=b1",
        ],
        &body,
    );
    let mut ep = endpoint();
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &data, 0);
    match events(&mut ep).as_slice() {
        [SipEvent::IncomingInvite {
            called_user,
            from_user,
            sdp,
            isup_body,
            ..
        }] => {
            assert_eq!(called_user.as_deref(), Some("+4930123"));
            assert_eq!(from_user.as_deref(), Some("+4940999"));
            assert_eq!(sdp.as_ref().unwrap().audio().unwrap().port, 4000);
            assert_eq!(isup_body.as_deref(), Some(&[1u8, 0][..]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn core_initiated_bye_on_incoming_call() {
    let mut ep = endpoint();
    let leg = incoming_leg(&mut ep);
    ep.respond(leg, 200, None, &[], None, 0).unwrap();
    let tag = to_tag_of(&transmits(&mut ep)[0]);
    // BYE before the ACK waits for it (RFC 3261 §15).
    ep.bye(leg, 10).unwrap();
    assert!(transmits(&mut ep).is_empty());
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKa", 1, &tag),
        20,
    );
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 1);
    let bye = request_of(&sent[0]);
    assert_eq!(bye.method(), message::Method::Bye);
    assert_eq!(bye.request_uri(), "sip:alice@192.0.2.10:5062");
    assert_eq!(bye.from().unwrap().tag.as_deref(), Some(tag.as_str()));
    assert_eq!(bye.to().unwrap().tag.as_deref(), Some("a1"));
    assert_eq!(sent[0].to, addr("192.0.2.10:5062"));
    assert_eq!(events(&mut ep), vec![SipEvent::Acked { leg }]);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &reply(&bye, 200, None, &[]),
        30,
    );
    assert_eq!(
        events(&mut ep),
        vec![SipEvent::LegTerminated {
            leg,
            reason: TerminationReason::ByeCompleted
        }]
    );
    // Errors name the problem.
    assert_eq!(ep.bye(leg, 40), Err(crate::sip::SipError::UnknownLeg(leg)));
}
