//! Session modifications relayed across the B2BUA (`endpoint_relay.rs`), the outgoing INVITE's retry after 422,
//! the refresh by re-INVITE and the outgoing Max-Forwards (`uac_extensions.rs`).

use super::dialog::{confirmed_call, with_body, with_sdp};
use super::*;
use crate::sip::endpoint::TerminationReason;
use crate::sip::InDialogRequest;
use crate::sip::SipError;

const SERVER: &str = "192.0.2.20:5060";

fn sdp(direction: &str) -> (String, Vec<u8>) {
    (
        "application/sdp".to_string(),
        format!("{SDP_OFFER}a={direction}\r\n").into_bytes(),
    )
}

/// A response to `req` with a body.
fn reply_with(
    req: &message::Request,
    status: u16,
    extra: &[(&str, &str)],
    body: Option<&(String, Vec<u8>)>,
) -> Vec<u8> {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    message::build_response(
        req,
        status,
        message::default_reason(status),
        Some("b1"),
        &extra,
        body.map(|(t, b)| (t.as_str(), b.as_slice())),
    )
    .unwrap()
    .to_bytes()
}

/// An answered outgoing leg; returns it and the INVITE sent.
fn answered_outgoing(
    ep: &mut Endpoint,
    invite: OutgoingInvite,
    ok_extra: &[(&str, &str)],
) -> LegId {
    let leg = ep.invite(invite, 0).unwrap();
    let inv = request_of(&transmits(ep)[0]);
    let mut extra = vec![("Contact", "<sip:bob@192.0.2.20:5060>")];
    extra.extend_from_slice(ok_extra);
    let ok = reply_with(&inv, 200, &extra, Some(&sdp("sendrecv")));
    ep.handle_datagram(TransportKind::Udp, addr(SERVER), &ok, 10);
    assert!(matches!(events(ep).as_slice(), [SipEvent::Answered { .. }]));
    assert_eq!(request_of(&transmits(ep)[0]).method(), message::Method::Ack);
    leg
}

fn modification(method: &str, body: Option<(String, Vec<u8>)>) -> InDialogRequest {
    InDialogRequest {
        method: method.into(),
        body,
        headers: Vec::new(),
        max_forwards: Some(68),
    }
}

#[test]
fn a_relayed_reinvite_is_held_then_answered_with_the_far_sides_answer() {
    let mut ep = endpoint();
    let (leg, tag) = confirmed_call(&mut ep);
    ep.relay_in_dialog(leg).unwrap();
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("INVITE", "z9hG4bKre2", 2, &tag, "sendonly"),
        100,
    );
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 1, "only 100 Trying until the far side answers");
    assert_eq!(status_of(&sent[0]), 100);
    match events(&mut ep).as_slice() {
        [SipEvent::ModificationRequested {
            leg: l,
            method,
            body: Some((content_type, body)),
            ..
        }] => {
            assert_eq!(*l, leg);
            assert_eq!(method, "INVITE");
            assert_eq!(content_type, "application/sdp");
            assert!(String::from_utf8_lossy(body).contains("a=sendonly"));
        }
        other => panic!("{other:?}"),
    }
    // Glare: another offer while this one waits.
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("UPDATE", "z9hG4bKup3", 3, &tag, "inactive"),
        110,
    );
    assert_eq!(status_of(&transmits(&mut ep)[0]), 491);

    ep.answer_modification(leg, 200, Some(sdp("recvonly")), &[], 200)
        .unwrap();
    let sent = transmits(&mut ep);
    let ok = response_of(&sent[0]);
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.cseq().unwrap().0, 2);
    assert!(String::from_utf8_lossy(ok.body()).contains("a=recvonly"));
    // Retransmitted until the ACK, which stays on this leg (no event).
    ep.handle_timeout(200 + 500);
    assert_eq!(status_of(&transmits(&mut ep)[0]), 200);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("ACK", "z9hG4bKack2", 2, &tag),
        800,
    );
    assert!(events(&mut ep).is_empty());
    ep.handle_timeout(5_000);
    assert!(transmits(&mut ep).is_empty(), "ACKed: no more 200s");
    assert!(
        ep.answer_modification(leg, 200, None, &[], 5_000).is_err(),
        "nothing is held any more"
    );
}

#[test]
fn a_relayed_error_and_an_info_go_back_as_they_came() {
    let mut ep = endpoint();
    let (leg, tag) = confirmed_call(&mut ep);
    ep.relay_in_dialog(leg).unwrap();
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("INVITE", "z9hG4bKre2", 2, &tag, "sendonly"),
        100,
    );
    transmits(&mut ep);
    events(&mut ep);
    ep.answer_modification(leg, 488, None, &[], 200).unwrap();
    assert_eq!(status_of(&transmits(&mut ep)[0]), 488);

    let dtmf = "Signal=5\r\nDuration=160\r\n";
    let mut info = with_body("INFO", "z9hG4bKinfo3", 3, &tag, dtmf);
    let text = String::from_utf8(info).unwrap().replace(
        "Content-Type: application/sdp",
        "Content-Type: application/dtmf-relay",
    );
    info = text.into_bytes();
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &info, 300);
    assert!(transmits(&mut ep).is_empty(), "INFO waits for the far side");
    match events(&mut ep).as_slice() {
        [SipEvent::ModificationRequested {
            method,
            body: Some((content_type, body)),
            ..
        }] => {
            assert_eq!(method, "INFO");
            assert_eq!(content_type, "application/dtmf-relay");
            assert_eq!(body, dtmf.as_bytes());
        }
        other => panic!("{other:?}"),
    }
    ep.answer_modification(leg, 200, None, &[], 400).unwrap();
    assert_eq!(status_of(&transmits(&mut ep)[0]), 200);
    // The 488 was never ACKed: its transaction gives up (Timer H) without reporting anything.
    ep.handle_timeout(40_000);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn a_leg_not_marked_for_relay_answers_locally() {
    let mut ep = endpoint();
    let (_, tag) = confirmed_call(&mut ep);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("INVITE", "z9hG4bKre2", 2, &tag, "sendonly"),
        100,
    );
    let sent = transmits(&mut ep);
    assert_eq!(status_of(sent.last().unwrap()), 200);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn modify_sends_a_reinvite_in_the_dialog_and_acks_its_2xx() {
    let mut ep = endpoint();
    let mut invite = outgoing(TransportKind::Udp);
    invite.relay_in_dialog = true;
    let leg = answered_outgoing(&mut ep, invite, &[]);
    ep.modify(leg, modification("INVITE", Some(sdp("sendonly"))), 1_000)
        .unwrap();
    let sent = transmits(&mut ep);
    assert_eq!(sent[0].to, addr(SERVER));
    let reinvite = request_of(&sent[0]);
    assert_eq!(reinvite.method(), message::Method::Invite);
    assert_eq!(reinvite.cseq().unwrap().0, 2);
    assert_eq!(reinvite.max_forwards(), Some(68));
    assert_eq!(reinvite.to().unwrap().tag.as_deref(), Some("b1"));
    assert!(reinvite.header("Contact").is_some());
    assert!(String::from_utf8_lossy(reinvite.body()).contains("a=sendonly"));
    assert!(matches!(
        ep.modify(leg, modification("UPDATE", Some(sdp("inactive"))), 1_010),
        Err(SipError::RequestPending(_))
    ));

    let ok = reply_with(&reinvite, 200, &[], Some(&sdp("recvonly")));
    ep.handle_datagram(TransportKind::Udp, addr(SERVER), &ok, 1_100);
    let ack = request_of(&transmits(&mut ep)[0]);
    assert_eq!(ack.method(), message::Method::Ack);
    assert_eq!(ack.cseq().unwrap().0, 2);
    match events(&mut ep).as_slice() {
        [SipEvent::ModificationAnswered {
            status: 200,
            body: Some((_, body)),
            ..
        }] => assert!(String::from_utf8_lossy(body).contains("a=recvonly")),
        other => panic!("{other:?}"),
    }
    // The retransmitted 2xx is ACKed again, not reported again.
    ep.handle_datagram(TransportKind::Udp, addr(SERVER), &ok, 1_600);
    assert_eq!(
        request_of(&transmits(&mut ep)[0]).method(),
        message::Method::Ack
    );
    assert!(events(&mut ep).is_empty());

    // A refused UPDATE: its status comes back; the leg takes the next modification.
    ep.modify(leg, modification("UPDATE", Some(sdp("inactive"))), 2_000)
        .unwrap();
    let update = request_of(&transmits(&mut ep)[0]);
    assert_eq!(update.cseq().unwrap().0, 3);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(SERVER),
        &reply_with(&update, 491, &[], None),
        2_100,
    );
    assert!(matches!(
        events(&mut ep).as_slice(),
        [SipEvent::ModificationAnswered { status: 491, .. }]
    ));
    ep.modify(leg, modification("INVITE", Some(sdp("sendrecv"))), 3_000)
        .unwrap();
}

#[test]
fn a_422_to_our_invite_is_retried_once_with_its_min_se() {
    let mut cfg = EndpointConfig::new(addr(LOCAL));
    cfg.uac_session_expires_s = 90;
    cfg.uac_min_se_s = 90;
    let mut ep = Endpoint::new(cfg);
    let leg = ep.invite(outgoing(TransportKind::Udp), 0).unwrap();
    let first = request_of(&transmits(&mut ep)[0]);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(SERVER),
        &reply_with(&first, 422, &[("Min-SE", "300")], None),
        10,
    );
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 2, "the 422's ACK and the INVITE again");
    assert_eq!(request_of(&sent[0]).method(), message::Method::Ack);
    let second = request_of(&sent[1]);
    assert_eq!(second.method(), message::Method::Invite);
    assert_eq!(second.cseq().unwrap().0, 2);
    assert_eq!(second.call_id(), first.call_id());
    assert_eq!(second.from().unwrap().tag, first.from().unwrap().tag);
    assert_ne!(
        second.top_via().unwrap().branch,
        first.top_via().unwrap().branch
    );
    assert_eq!(second.header("Session-Expires").as_deref(), Some("300"));
    assert_eq!(second.header("Min-SE").as_deref(), Some("300"));
    assert_eq!(second.body(), first.body());
    assert!(events(&mut ep).is_empty(), "the 422 is not a failure yet");

    // Once only: a second 422 fails the leg.
    ep.handle_datagram(
        TransportKind::Udp,
        addr(SERVER),
        &reply_with(&second, 422, &[("Min-SE", "600")], None),
        20,
    );
    match events(&mut ep).as_slice() {
        [SipEvent::Rejected {
            leg: l,
            status: 422,
            ..
        }] => assert_eq!(*l, leg),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tandem_refreshes_by_reinvite_when_the_callee_does_not_allow_update() {
    let mut cfg = EndpointConfig::new(addr(LOCAL));
    cfg.uac_session_expires_s = 4;
    cfg.uac_min_se_s = 2;
    let mut ep = Endpoint::new(cfg);
    let leg = answered_outgoing(
        &mut ep,
        outgoing(TransportKind::Udp),
        &[
            ("Session-Expires", "4;refresher=uac"),
            ("Require", "timer"),
            ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"),
        ],
    );
    ep.handle_timeout(2_010);
    let refresh = request_of(&transmits(&mut ep)[0]);
    assert_eq!(refresh.method(), message::Method::Invite);
    assert_eq!(refresh.cseq().unwrap().0, 2);
    assert_eq!(
        refresh.header("Session-Expires").as_deref(),
        Some("4;refresher=uac")
    );
    assert_eq!(refresh.body(), SDP_OFFER.as_bytes(), "our last offer again");
    ep.handle_datagram(
        TransportKind::Udp,
        addr(SERVER),
        &reply_with(
            &refresh,
            200,
            &[("Session-Expires", "4;refresher=uac")],
            Some(&sdp("sendrecv")),
        ),
        2_100,
    );
    let ack = request_of(&transmits(&mut ep)[0]);
    assert_eq!(ack.method(), message::Method::Ack);
    assert_eq!(ack.cseq().unwrap().0, 2);
    assert!(events(&mut ep).is_empty(), "a refresh is not reported");
    // The next one two seconds later, the leg still up.
    ep.handle_timeout(4_200);
    assert_eq!(request_of(&transmits(&mut ep)[0]).cseq().unwrap().0, 3);
    assert!(!events(&mut ep).iter().any(|e| matches!(
        e,
        SipEvent::LegTerminated {
            reason: TerminationReason::SessionExpired,
            ..
        }
    )));
    let _ = leg;
}

#[test]
fn the_refresh_stays_an_update_when_the_callee_allows_it_or_says_nothing() {
    for allow in [Some("INVITE, ACK, BYE, UPDATE"), None] {
        let mut cfg = EndpointConfig::new(addr(LOCAL));
        cfg.uac_session_expires_s = 4;
        cfg.uac_min_se_s = 2;
        let mut ep = Endpoint::new(cfg);
        let mut extra = vec![("Session-Expires", "4;refresher=uac")];
        if let Some(allow) = allow {
            extra.push(("Allow", allow));
        }
        answered_outgoing(&mut ep, outgoing(TransportKind::Udp), &extra);
        ep.handle_timeout(2_010);
        let refresh = request_of(&transmits(&mut ep)[0]);
        assert_eq!(refresh.method().as_str(), "UPDATE", "Allow {allow:?}");
    }
}

#[test]
fn the_outgoing_max_forwards_is_the_given_one_never_above_the_configured() {
    for (given, expected) in [(Some(5), 5), (Some(0), 0), (Some(200), 70), (None, 70)] {
        let mut ep = endpoint();
        let mut invite = outgoing(TransportKind::Udp);
        invite.max_forwards = given;
        ep.invite(invite, 0).unwrap();
        let sent = request_of(&transmits(&mut ep)[0]);
        assert_eq!(sent.max_forwards(), Some(expected), "given {given:?}");
    }
}

#[test]
fn a_bye_answers_a_held_reinvite_487() {
    let mut ep = endpoint();
    let (leg, tag) = confirmed_call(&mut ep);
    ep.relay_in_dialog(leg).unwrap();
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &with_sdp("INVITE", "z9hG4bKre2", 2, &tag, "sendonly"),
        100,
    );
    transmits(&mut ep);
    events(&mut ep);
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &in_dialog("BYE", "z9hG4bKbye3", 3, &tag),
        200,
    );
    let answers: Vec<(u16, String)> = transmits(&mut ep)
        .iter()
        .map(|t| {
            let r = response_of(t);
            (r.status(), r.cseq().unwrap().1.as_str().to_string())
        })
        .collect();
    assert!(answers.contains(&(200, "BYE".into())), "{answers:?}");
    assert!(answers.contains(&(487, "INVITE".into())), "{answers:?}");
}

#[test]
fn an_unanswered_relayed_reinvite_comes_back_408_and_frees_the_leg() {
    let mut ep = endpoint();
    let mut invite = outgoing(TransportKind::Udp);
    invite.relay_in_dialog = true;
    let leg = answered_outgoing(&mut ep, invite, &[]);
    ep.modify(leg, modification("INFO", None), 1_000).unwrap();
    ep.modify(leg, modification("INVITE", Some(sdp("sendonly"))), 1_000)
        .unwrap();
    transmits(&mut ep);
    // Timer F and Timer B (64·T1): both come back 408, and the leg takes the next offer.
    ep.handle_timeout(40_000);
    let statuses: Vec<u16> = events(&mut ep)
        .iter()
        .filter_map(|e| match e {
            SipEvent::ModificationAnswered { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![408, 408]);
    ep.modify(leg, modification("INVITE", Some(sdp("sendrecv"))), 40_000)
        .unwrap();
}
