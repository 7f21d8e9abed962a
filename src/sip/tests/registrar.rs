//! Digest authentication (RFC 7616 §3.9.1 vectors), the registrar (RFC 3261 §10.3), the INVITE challenge,
//! trusted sources and the OPTIONS keep-alive toward peers.

use super::*;
use crate::sip::digest::{self, Algorithm, Authenticator, Credentials, User, Verdict};
use crate::sip::peers::{PeerConfig, PeerStatus, TrustedSource};
use crate::sip::registrar::{RegisterRequest, Registrar, RegistrarConfig};

/// RFC 7616 §3.9.1: the example Authorization header with `algorithm=MD5` and the response it gives.
#[test]
fn rfc7616_vectors_md5_and_sha256() {
    let header =
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", \
        algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
        cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
        response=\"8ca523f5e9506fed4657c9700eebdbec\", \
        opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    let c = digest::parse_credentials(header).unwrap();
    assert_eq!(c.username, "Mufasa");
    assert_eq!(c.nc.as_deref(), Some("00000001"));
    let ha1_md5 = digest::ha1(
        Algorithm::Md5,
        "Mufasa",
        "http-auth@example.org",
        "Circle of Life",
    );
    assert_eq!(
        digest::response(Algorithm::Md5, &ha1_md5, "GET", &c),
        c.response
    );
    let ha1_sha = digest::ha1(
        Algorithm::Sha256,
        "Mufasa",
        "http-auth@example.org",
        "Circle of Life",
    );
    assert_eq!(
        digest::response(Algorithm::Sha256, &ha1_sha, "GET", &c),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    assert_eq!(Algorithm::from_token(None), Some(Algorithm::Md5));
    assert_eq!(
        Algorithm::from_token(Some("sha-256")),
        Some(Algorithm::Sha256)
    );
    assert_eq!(Algorithm::from_token(Some("SHA-512-256")), None);
    assert!(digest::parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").is_none());
}

/// The client's Authorization for `nonce` (what a UA computes after a challenge).
pub(super) fn authorization(
    algorithm: Algorithm,
    user: &str,
    password: &str,
    nonce: &str,
    method: &str,
    nc: u32,
) -> String {
    let c = Credentials {
        username: user.into(),
        realm: "tandem".into(),
        nonce: nonce.into(),
        uri: "sip:192.0.2.1".into(),
        response: String::new(),
        algorithm: Some(algorithm.token().into()),
        cnonce: Some("c0ffee".into()),
        nc: Some(format!("{nc:08x}")),
        qop: Some("auth".into()),
    };
    let ha1 = digest::ha1(algorithm, user, "tandem", password);
    let response = digest::response(algorithm, &ha1, method, &c);
    format!(
        "Digest username=\"{user}\", realm=\"tandem\", nonce=\"{nonce}\", uri=\"sip:192.0.2.1\", \
         response=\"{response}\", algorithm={}, cnonce=\"c0ffee\", nc={nc:08x}, qop=auth",
        algorithm.token()
    )
}

pub(super) fn nonce_of(challenge: &str) -> String {
    let start = challenge.find("nonce=\"").unwrap() + 7;
    let rest = &challenge[start..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[test]
fn authenticator_checks_response_nonce_age_and_count() {
    let users = vec![User::with_password("alice", "tandem", "secret")];
    let mut auth = Authenticator::new("tandem", users, 42, 10_000);
    let challenges = auth.challenges(1_000, false);
    assert_eq!(challenges.len(), 2);
    assert!(challenges[0].contains("algorithm=SHA-256") && challenges[0].contains("qop=\"auth\""));
    assert!(challenges[1].contains("algorithm=MD5"));
    let nonce = nonce_of(&challenges[0]);
    // The same seed and clock issue the same nonce (replay), another seed does not.
    assert_eq!(
        nonce,
        Authenticator::new("tandem", vec![], 42, 10_000).nonce(1_000)
    );
    assert_ne!(
        nonce,
        Authenticator::new("tandem", vec![], 43, 10_000).nonce(1_000)
    );

    for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
        let good = authorization(algorithm, "alice", "secret", &nonce, "REGISTER", 1);
        let mut fresh = auth.clone();
        assert_eq!(
            fresh.verify("REGISTER", std::slice::from_ref(&good), 2_000),
            Verdict::Authenticated("alice".into())
        );
        // The same nonce-count again is a replay.
        assert!(matches!(
            fresh.verify("REGISTER", &[good], 2_100),
            Verdict::Failed(_)
        ));
        let next = authorization(algorithm, "alice", "secret", &nonce, "REGISTER", 2);
        assert_eq!(
            fresh.verify("REGISTER", &[next], 2_200),
            Verdict::Authenticated("alice".into())
        );
    }
    let wrong = authorization(Algorithm::Sha256, "alice", "guess", &nonce, "REGISTER", 1);
    assert!(matches!(
        auth.verify("REGISTER", &[wrong], 2_000),
        Verdict::Failed(_)
    ));
    let method = authorization(Algorithm::Sha256, "alice", "secret", &nonce, "INVITE", 1);
    assert!(matches!(
        auth.verify("REGISTER", &[method], 2_000),
        Verdict::Failed(_)
    ));
    let forged = authorization(
        Algorithm::Sha256,
        "alice",
        "secret",
        "3e8.00000000",
        "REGISTER",
        1,
    );
    assert!(matches!(
        auth.verify("REGISTER", &[forged], 2_000),
        Verdict::Failed(_)
    ));
    let unknown = authorization(Algorithm::Sha256, "bob", "secret", &nonce, "REGISTER", 1);
    assert!(matches!(
        auth.verify("REGISTER", &[unknown], 2_000),
        Verdict::Failed(_)
    ));
    assert_eq!(auth.verify("REGISTER", &[], 2_000), Verdict::Missing);
    let late = authorization(Algorithm::Md5, "alice", "secret", &nonce, "REGISTER", 1);
    assert_eq!(auth.verify("REGISTER", &[late], 11_000), Verdict::Stale);
    assert!(auth.challenges(11_000, true)[0].ends_with("stale=true"));
}

#[test]
fn ha1_only_users_verify_with_their_algorithm() {
    let user = User {
        name: "bob".into(),
        realm: "tandem".into(),
        ha1_md5: None,
        ha1_sha256: Some(digest::ha1(Algorithm::Sha256, "bob", "tandem", "pw")),
    };
    let mut auth = Authenticator::new("tandem", vec![user], 1, 60_000);
    let nonce = auth.nonce(0);
    let sha = authorization(Algorithm::Sha256, "bob", "pw", &nonce, "REGISTER", 1);
    assert_eq!(
        auth.verify("REGISTER", &[sha], 5),
        Verdict::Authenticated("bob".into())
    );
    let md5 = authorization(Algorithm::Md5, "bob", "pw", &nonce, "REGISTER", 2);
    assert!(matches!(
        auth.verify("REGISTER", &[md5], 5),
        Verdict::Failed(_)
    ));
}

fn register(
    aor: &str,
    call_id: &str,
    cseq: u32,
    expires: Option<u32>,
    contacts: &[&str],
) -> RegisterRequest {
    RegisterRequest {
        outbound: true,
        aor: aor.into(),
        call_id: call_id.into(),
        cseq,
        expires,
        contact_values: contacts.iter().map(|c| c.to_string()).collect(),
        source: addr("192.0.2.50:5090"),
        transport: TransportKind::Udp,
    }
}

fn transitions(r: &mut Registrar) -> Vec<(String, String, String)> {
    std::iter::from_fn(|| r.poll_transition())
        .map(|t| (t.id, t.from, t.to))
        .collect()
}

#[test]
fn registrar_binds_refreshes_orders_and_expires() {
    let mut r = Registrar::new(RegistrarConfig::default());
    let ok = r
        .register(
            &register(
                "alice",
                "c1",
                1,
                Some(600),
                &["<sip:alice@192.0.2.50:5090>;q=0.5, <sip:alice@192.0.2.51>;expires=120;q=0.9"],
            ),
            0,
        )
        .unwrap();
    assert_eq!(ok.len(), 2);
    assert_eq!(
        ok[0].1, "<sip:alice@192.0.2.51>;expires=120;q=0.9",
        "highest q first, its own expiry"
    );
    assert_eq!(ok[1].1, "<sip:alice@192.0.2.50:5090>;expires=600;q=0.5");
    assert_eq!(transitions(&mut r).len(), 2);
    let found = r.lookup("alice", 1_000);
    assert_eq!(found[0].uri, "sip:alice@192.0.2.51");
    assert_eq!(found[0].source, addr("192.0.2.50:5090"));
    // §10.3 step 7: same Call-ID, CSeq not higher: aborted, nothing changes.
    let stale = r.register(
        &register(
            "alice",
            "c1",
            1,
            Some(600),
            &["<sip:alice@192.0.2.52>", "<sip:alice@192.0.2.51>"],
        ),
        1_000,
    );
    assert_eq!(stale.unwrap_err().status, 500);
    assert_eq!(r.lookup("alice", 1_000).len(), 2);
    assert!(transitions(&mut r).is_empty());
    // Expiry on the core's clock: the 120 s binding goes at 120 s.
    assert_eq!(r.next_expiry(), Some(120_000));
    r.expire(120_000);
    assert_eq!(
        transitions(&mut r),
        vec![(
            "alice sip:alice@192.0.2.51".into(),
            "Bound".into(),
            "Unbound".into()
        )]
    );
    assert_eq!(r.lookup("alice", 120_000).len(), 1);
    // A refresh from another Call-ID replaces the binding; expiries above the maximum are shortened.
    let ok = r
        .register(
            &register(
                "alice",
                "c2",
                1,
                Some(100_000),
                &["<sip:alice@192.0.2.50:5090>"],
            ),
            130_000,
        )
        .unwrap();
    assert_eq!(
        ok,
        vec![(
            "Contact".to_string(),
            "<sip:alice@192.0.2.50:5090>;expires=7200".to_string()
        )]
    );
    // Expires: 0 removes one contact; `*` removes all.
    r.register(
        &register(
            "alice",
            "c2",
            2,
            None,
            &["<sip:alice@192.0.2.53>;expires=300"],
        ),
        131_000,
    )
    .unwrap();
    let left = r
        .register(
            &register("alice", "c2", 3, Some(0), &["<sip:alice@192.0.2.53>"]),
            132_000,
        )
        .unwrap();
    assert_eq!(left.len(), 1);
    let star_bad = r.register(&register("alice", "c2", 4, Some(30), &["*"]), 133_000);
    assert_eq!(star_bad.unwrap_err().status, 400);
    assert!(r
        .register(&register("alice", "c2", 4, Some(0), &["*"]), 133_000)
        .unwrap()
        .is_empty());
    assert!(r.lookup("alice", 133_000).is_empty());
    // A REGISTER without Contact is a query: it lists, changes nothing.
    assert!(r
        .register(&register("alice", "c3", 1, None, &[]), 134_000)
        .unwrap()
        .is_empty());
}

#[test]
fn registrar_refuses_brief_intervals_bad_contacts_and_too_many() {
    let mut r = Registrar::new(RegistrarConfig {
        max_contacts: 2,
        ..RegistrarConfig::default()
    });
    let brief = r
        .register(
            &register("bob", "c", 1, Some(10), &["<sip:bob@192.0.2.9>"]),
            0,
        )
        .unwrap_err();
    assert_eq!(brief.status, 423);
    assert_eq!(
        brief.headers,
        vec![("Min-Expires".to_string(), "60".to_string())]
    );
    assert_eq!(
        r.register(
            &register("bob", "c", 2, None, &["<sip:bob@192.0.2.9>;q=1.5"]),
            0
        )
        .unwrap_err()
        .status,
        400
    );
    assert_eq!(
        r.register(&register("bob", "c", 3, None, &["<nonsense"]), 0)
            .unwrap_err()
            .status,
        400
    );
    let three = [
        "<sip:b@192.0.2.1>",
        "<sip:b@192.0.2.2>",
        "<sip:b@192.0.2.3>",
    ];
    assert_eq!(
        r.register(&register("bob", "c", 4, None, &three), 0)
            .unwrap_err()
            .status,
        403
    );
    assert!(
        r.lookup("bob", 0).is_empty(),
        "a refused REGISTER changes nothing"
    );
}

#[test]
fn registrar_matches_rfc5626_instance_and_reg_id() {
    let mut r = Registrar::new(RegistrarConfig::default());
    let first = "<sip:ws1@a.invalid;transport=ws>;+sip.instance=\"<urn:uuid:1>\";reg-id=1";
    r.register(&register("carol", "x", 1, None, &[first]), 0)
        .unwrap();
    // A new contact URI from the same instance and reg-id replaces the binding (a new flow).
    let second = "<sip:ws2@b.invalid;transport=ws>;+sip.instance=\"<urn:uuid:1>\";reg-id=1";
    let ok = r
        .register(&register("carol", "y", 1, None, &[second]), 1_000)
        .unwrap();
    assert_eq!(ok.len(), 1);
    assert!(ok[0].1.starts_with(
        "<sip:ws2@b.invalid;transport=ws>;expires=3600;+sip.instance=\"<urn:uuid:1>\";reg-id=1"
    ));
    let b = r.lookup("carol", 1_000);
    assert_eq!(
        (b[0].instance.as_deref(), b[0].reg_id),
        (Some("<urn:uuid:1>"), Some(1))
    );
}

pub(super) fn auth_endpoint() -> Endpoint {
    let mut cfg = EndpointConfig::new(addr(LOCAL));
    cfg.seed = 7;
    cfg.users = vec![User::with_password("1001", "tandem", "pw")];
    cfg.trusted_peers = vec![TrustedSource::parse("198.51.100.0/24").unwrap()];
    Endpoint::new(cfg)
}

fn register_msg(branch: &str, cseq: u32, auth: Option<&str>) -> Vec<u8> {
    let mut headers = vec![
        format!("Via: SIP/2.0/UDP 192.0.2.50:5090;branch={branch};rport"),
        "Max-Forwards: 70".to_string(),
        "From: <sip:1001@192.0.2.1>;tag=r1".to_string(),
        "To: <sip:1001@192.0.2.1>".to_string(),
        "Call-ID: reg-1@192.0.2.50".to_string(),
        format!("CSeq: {cseq} REGISTER"),
        "Contact: <sip:1001@192.0.2.50:5090>".to_string(),
        "Expires: 300".to_string(),
    ];
    if let Some(auth) = auth {
        headers.push(format!("Authorization: {auth}"));
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    msg("REGISTER sip:192.0.2.1 SIP/2.0", &headers, "")
}

#[test]
fn register_is_challenged_then_bound_on_the_core_clock() {
    let mut ep = auth_endpoint();
    let from = addr("192.0.2.50:5090");
    ep.handle_datagram(
        TransportKind::Udp,
        from,
        &register_msg("z9hG4bKr1", 1, None),
        1_000,
    );
    let sent = transmits(&mut ep);
    assert_eq!(sent.len(), 1);
    let challenge = response_of(&sent[0]);
    assert_eq!(challenge.status(), 401);
    let offered: Vec<String> = challenge
        .header_list()
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("WWW-Authenticate"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(offered.len(), 2);
    assert!(offered[0].contains("SHA-256") && offered[1].contains("MD5"));
    let nonce = nonce_of(&offered[0]);
    let auth = authorization(Algorithm::Sha256, "1001", "pw", &nonce, "REGISTER", 1);
    ep.handle_datagram(
        TransportKind::Udp,
        from,
        &register_msg("z9hG4bKr2", 2, Some(&auth)),
        2_000,
    );
    let sent = transmits(&mut ep);
    let ok = response_of(&sent[0]);
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.header("Contact").as_deref(),
        Some("<sip:1001@192.0.2.50:5090>;expires=300")
    );
    assert_eq!(sent[0].to, from, "rport: the response goes to the source");
    let bound = ep.bindings("1001", 3_000);
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].source, from);
    let recorded: Vec<_> = std::iter::from_fn(|| ep.poll_transition())
        .filter(|t| t.machine == "sip.binding")
        .collect();
    assert_eq!(recorded.len(), 1);
    // The binding expires on the core's clock: the endpoint asks to be woken and drops it then.
    assert!(ep.poll_timeout().is_some_and(|at| at <= 302_000));
    ep.handle_timeout(302_000);
    assert!(ep.bindings("1001", 302_000).is_empty());
    // Someone else's credentials cannot register 1001's AOR; wrong ones are challenged again.
    let wrong = authorization(Algorithm::Md5, "1001", "nope", &nonce, "REGISTER", 2);
    ep.handle_datagram(
        TransportKind::Udp,
        from,
        &register_msg("z9hG4bKr3", 3, Some(&wrong)),
        303_000,
    );
    assert_eq!(status_of(&transmits(&mut ep)[0]), 401);
    assert!(events(&mut ep)
        .iter()
        .any(|e| matches!(e, SipEvent::AuthFailed { .. })));
}

#[test]
fn reloaded_users_replace_the_old_ones() {
    let mut ep = auth_endpoint();
    let from = addr("192.0.2.50:5090");
    ep.set_users(vec![User::with_password("1001", "tandem", "new")]);
    ep.handle_datagram(
        TransportKind::Udp,
        from,
        &register_msg("z9hG4bKu1", 1, None),
        1_000,
    );
    let sent = transmits(&mut ep);
    let nonce = nonce_of(&response_of(&sent[0]).header("WWW-Authenticate").unwrap());
    // The password before the reload no longer works; the one after it does.
    let old = authorization(Algorithm::Sha256, "1001", "pw", &nonce, "REGISTER", 1);
    ep.handle_datagram(
        TransportKind::Udp,
        from,
        &register_msg("z9hG4bKu2", 2, Some(&old)),
        2_000,
    );
    assert_eq!(status_of(&transmits(&mut ep)[0]), 401);
    let new = authorization(Algorithm::Sha256, "1001", "new", &nonce, "REGISTER", 2);
    ep.handle_datagram(
        TransportKind::Udp,
        from,
        &register_msg("z9hG4bKu3", 3, Some(&new)),
        3_000,
    );
    assert_eq!(status_of(&transmits(&mut ep)[0]), 200);
}

#[test]
fn register_without_users_is_not_allowed() {
    let mut ep = endpoint();
    ep.handle_datagram(
        TransportKind::Udp,
        addr(PEER),
        &register_msg("z9hG4bKr1", 1, None),
        0,
    );
    let sent = transmits(&mut ep);
    assert_eq!(status_of(&sent[0]), 405);
    assert!(!response_of(&sent[0])
        .header("Allow")
        .unwrap()
        .contains("REGISTER"));
    assert!(auth_endpoint().allow().ends_with(", REGISTER"));
}

#[test]
fn invite_from_untrusted_source_gets_407_trusted_passes() {
    let mut ep = auth_endpoint();
    ep.handle_datagram(TransportKind::Udp, addr(PEER), &invite("z9hG4bKi1"), 0);
    let sent = transmits(&mut ep);
    let challenge = response_of(&sent[0]);
    assert_eq!(challenge.status(), 407);
    assert!(challenge.header("Proxy-Authenticate").is_some());
    assert!(
        events(&mut ep).is_empty(),
        "no call for an unauthenticated INVITE"
    );
    ep.handle_datagram(
        TransportKind::Udp,
        addr("198.51.100.7:5060"),
        &invite("z9hG4bKi2"),
        10,
    );
    assert_eq!(status_of(&transmits(&mut ep)[0]), 100);
    assert!(matches!(
        events(&mut ep).as_slice(),
        [SipEvent::IncomingInvite { .. }]
    ));
}

#[test]
fn trusted_sources_parse_cidr_and_ports() {
    let net = TrustedSource::parse("10.1.0.0/16").unwrap();
    assert!(net.contains(addr("10.1.200.3:5060")) && !net.contains(addr("10.2.0.1:5060")));
    let exact = TrustedSource::parse("192.0.2.7:5070").unwrap();
    assert!(exact.contains(addr("192.0.2.7:5070")) && !exact.contains(addr("192.0.2.7:5060")));
    let v6 = TrustedSource::parse("2001:db8::/32").unwrap();
    assert!(v6.contains(addr("[2001:db8::1]:5060")) && !v6.contains(addr("10.0.0.1:5060")));
    assert!(TrustedSource::parse("0.0.0.0/0")
        .unwrap()
        .contains(addr("203.0.113.1:1")));
    assert!(TrustedSource::parse("10.0.0.0/33").is_none());
    assert!(TrustedSource::parse("example.com").is_none());
}

#[test]
fn options_keepalive_marks_peer_down_then_up() {
    let mut cfg = EndpointConfig::new(addr(LOCAL));
    cfg.peers = vec![PeerConfig {
        name: "pbx".into(),
        uri: "sip:192.0.2.30:5060".into(),
        destination: addr("192.0.2.30:5060"),
        transport: TransportKind::Tcp,
        interval_ms: 1_000,
        failures_before_down: 2,
    }];
    let mut ep = Endpoint::new(cfg);
    assert_eq!(ep.poll_timeout(), Some(0));
    let mut pings = Vec::new();
    for now in [0, 1_000, 2_000] {
        ep.handle_timeout(now);
        let sent = transmits(&mut ep);
        assert_eq!(sent.len(), 1, "one OPTIONS per interval");
        assert_eq!(request_of(&sent[0]).method(), message::Method::Options);
        pings.push(request_of(&sent[0]));
    }
    assert_eq!(ep.peer_down(addr("192.0.2.30:5060")), Some("pbx"));
    assert!(events(&mut ep).iter().any(|e| matches!(
        e,
        SipEvent::PeerStatus {
            status: PeerStatus::Down,
            ..
        }
    )));
    ep.handle_datagram(
        TransportKind::Tcp,
        addr("192.0.2.30:5060"),
        &reply(&pings[2], 200, Some("p"), &[]),
        2_100,
    );
    assert_eq!(ep.peer_down(addr("192.0.2.30:5060")), None);
    assert_eq!(ep.peer_statuses(), vec![("pbx", PeerStatus::Up)]);
    let t: Vec<_> = std::iter::from_fn(|| ep.poll_transition())
        .filter(|t| t.machine == "sip.peer")
        .collect();
    assert_eq!(
        t.iter().map(|t| t.to.as_str()).collect::<Vec<_>>(),
        vec!["Down", "Up"]
    );
}
