//! Registrar, digest authentication and OPTIONS keep-alive against real SIPp peers: a user registers with
//! digest (SIPp `[authentication]`), then the exchange calls its number and tandem routes the IAM to the
//! binding; a user known only from the SQLite users database registers, and one added to it while tandem runs
//! registers after SIGHUP; a peer answering OPTIONS goes down when SIPp stops, and the route to it is skipped.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{free_port, repo, wait_child, Rig, RigOptions};

/// A SIPp on 127.0.0.1:`port` running `scenario` (as UAS, or as UAC toward `target`).
fn sipp(
    scenario: &str,
    port: u16,
    calls: u32,
    target: Option<&str>,
    extra: &[&str],
    dir: &std::path::Path,
) -> Command {
    let mut command = Command::new("sipp");
    command
        .arg("-sf")
        .arg(repo().join("tests/sipp").join(scenario))
        .arg("-i")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(port.to_string())
        .arg("-mp")
        .arg(free_port(false).to_string())
        .arg("-m")
        .arg(calls.to_string())
        .arg("-timeout")
        .arg("60s")
        .arg("-timeout_error")
        .arg("-nostdin")
        .arg("-trace_err")
        .arg("-error_file")
        .arg(dir.join(format!("sipp-{scenario}-{port}-errors.log")))
        .args(extra)
        .args(target)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Calls from the exchange go to the user named by the national number.
pub(crate) const ROUTE_TO_USER: &str = r#"
fn route(view) {
    if view.source == "isup" {
        // Users register with their national number; the view's called number is E.164.
        let user = view.called;
        user.replace("+49", "");
        return #{ action: "user", user: user };
    }
    #{ action: "trunk", trunk: "pstn" }
}
"#;

#[test]
fn register_with_digest_then_the_exchange_calls_the_user() {
    let mut rig = Rig::start(RigOptions {
        dialplan: Some(ROUTE_TO_USER.into()),
        // SIPp 3.6 computes MD5 only and reads the first challenge: offer MD5 first here (SHA-256 is
        // covered by the unit tests with the RFC 7616 vectors).
        sip_extra: r#"digest_algorithms = ["MD5", "SHA-256"]
[[sip.user]]
name = "1001"
password = "s3cret"
"#
        .into(),
        ..RigOptions::default()
    });
    let port = free_port(false);
    let target = rig.sip.to_string();
    let dir = rig.dir.path().to_path_buf();
    let mut register = sipp(
        "uac_register.xml",
        port,
        1,
        Some(&target),
        &["-s", "1001", "-au", "1001", "-ap", "s3cret"],
        &dir,
    )
    .spawn()
    .expect("start sipp (is sip-tester installed?)");
    assert_eq!(
        wait_child(&mut register, Duration::from_secs(30)),
        Some(true),
        "SIPp REGISTER with digest failed\n{}",
        rig.logs()
    );
    // The UAS takes over the registered contact's port.
    let mut uas = sipp("uas_basic.xml", port, 1, None, &[], &dir)
        .spawn()
        .expect("start sipp uas");
    std::thread::sleep(Duration::from_millis(300));
    rig.start_exchange_call("1001", 1, 300);
    let ok = rig.wait_exchange(Duration::from_secs(60));
    let stats = rig.stats();
    let uas_done = wait_child(&mut uas, Duration::from_secs(15));
    assert!(
        ok,
        "the call to the registered user failed; stats: {stats}\n{}",
        rig.logs()
    );
    assert_eq!(
        Rig::count(&stats, "received", "ANM") + Rig::count(&stats, "received", "CON"),
        1,
        "{stats}"
    );
    assert_eq!(
        uas_done,
        Some(true),
        "SIPp UAS did not see a clean call\n{}",
        rig.logs()
    );
    rig.wait_for_tandem_log(
        Duration::from_secs(5),
        "user 1001 is registered at sip:1001@127.0.0.1",
    );
    assert_call_to_user_refused(&mut rig, "1002");
    rig.stop_and_replay();
}

/// Runs SIPp's REGISTER with digest as `user`/`password` and says whether it got its 200.
fn sipp_register(rig: &Rig, user: &str, password: &str) -> Option<bool> {
    let dir = rig.dir.path().to_path_buf();
    let target = rig.sip.to_string();
    let mut register = sipp(
        "uac_register.xml",
        free_port(false),
        1,
        Some(&target),
        &["-s", user, "-au", user, "-ap", password],
        &dir,
    )
    .spawn()
    .expect("start sipp (is sip-tester installed?)");
    wait_child(&mut register, Duration::from_secs(30))
}

#[test]
fn users_from_the_sqlite_database_register_and_a_reload_adds_new_ones() {
    let db_dir = tempfile::tempdir().expect("temp dir");
    let db = db_dir.path().join("users.sqlite");
    let connection = rusqlite::Connection::open(&db).unwrap();
    connection
        .execute_batch(
            "CREATE TABLE users (name TEXT PRIMARY KEY, password TEXT, ha1 TEXT, ha1_sha256 TEXT, realm TEXT);
             INSERT INTO users (name, password) VALUES ('2002', 'from-db');",
        )
        .unwrap();
    let mut rig = Rig::start(RigOptions {
        // SIPp 3.6 computes MD5 only (see above).
        sip_extra: format!(
            r#"digest_algorithms = ["MD5", "SHA-256"]
users_db = {db:?}
[[sip.user]]
name = "1001"
password = "s3cret"
"#
        ),
        ..RigOptions::default()
    });
    assert_eq!(
        sipp_register(&rig, "2002", "from-db"),
        Some(true),
        "the database's user could not register\n{}",
        rig.logs()
    );
    // A user added while tandem runs is unknown until SIGHUP (recorded as a users reload).
    connection
        .execute_batch("INSERT INTO users (name, password) VALUES ('2003', 'added');")
        .unwrap();
    assert_ne!(
        sipp_register(&rig, "2003", "added"),
        Some(true),
        "a user added to the database registered before the reload"
    );
    let pid = rig.tandem_pid().expect("tandem runs").to_string();
    let status = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(status.success());
    rig.wait_for_tandem_log(Duration::from_secs(10), "SIP users reloaded: 3 users");
    assert_eq!(
        sipp_register(&rig, "2003", "added"),
        Some(true),
        "the user added to the database could not register after the reload\n{}",
        rig.logs()
    );
    rig.stop_and_replay();
}

/// The exchange calls `user`, who has no (reachable) binding: refused with the cause the tables give 480 (the
/// last call of a test: ss7sim exits right after its RLC, which may not reach tandem before the association goes).
pub(crate) fn assert_call_to_user_refused(rig: &mut Rig, user: &str) {
    rig.start_exchange_call(user, 1, 300);
    let refused_ok = rig.wait_exchange(Duration::from_secs(60));
    let stats = rig.stats();
    assert!(
        !refused_ok,
        "a call to a user without a reachable binding must fail; stats: {stats}"
    );
    rig.wait_for_tandem_log(
        Duration::from_secs(10),
        &format!("user {user} is not registered"),
    );
    assert_eq!(
        stats["calls"][0]["release_cause"].as_u64(),
        Some(18),
        "the rfc3398 table maps 480 to cause 18; stats: {stats}"
    );
}

#[test]
fn options_keepalive_marks_a_stopped_peer_down_and_its_route_is_skipped() {
    let peer_port = free_port(false);
    let uas_port = free_port(false);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut peer = sipp("uas_options.xml", peer_port, 100_000, None, &[], dir.path())
        .spawn()
        .expect("start sipp (is sip-tester installed?)");
    let mut uas = sipp("uas_basic.xml", uas_port, 1, None, &[], dir.path())
        .spawn()
        .expect("start sipp uas");
    std::thread::sleep(Duration::from_millis(300));
    let dialplan = format!(
        r#"
fn route(view) {{
    if view.source == "isup" {{
        return [
            #{{ action: "sip", uri: "sip:" + view.called + "@127.0.0.1:{peer_port}" }},
            #{{ action: "sip", uri: "sip:" + view.called + "@127.0.0.1:{uas_port}" }},
        ];
    }}
    #{{ action: "trunk", trunk: "pstn" }}
}}
"#
    );
    let mut rig = Rig::start(RigOptions {
        dialplan: Some(dialplan),
        sip_extra: format!(
            r#"[[sip.peer]]
name = "pbx"
uri = "sip:127.0.0.1:{peer_port}"
keepalive_interval_ms = 200
keepalive_failures = 2
"#
        ),
        ..RigOptions::default()
    });
    rig.wait_for_tandem_log(Duration::from_secs(10), "SIP peer pbx is Up");
    let _ = peer.kill();
    let _ = peer.wait();
    rig.wait_for_tandem_log(Duration::from_secs(10), "SIP peer pbx is Down");
    rig.start_exchange_call("4930123456", 1, 300);
    let ok = rig.wait_exchange(Duration::from_secs(60));
    let stats = rig.stats();
    let uas_done = wait_child(&mut uas, Duration::from_secs(15));
    assert!(
        ok,
        "the call did not complete on the second route; stats: {stats}\n{}",
        rig.logs()
    );
    assert_eq!(
        uas_done,
        Some(true),
        "the second route's UAS did not see a clean call\n{}",
        rig.logs()
    );
    rig.wait_for_tandem_log(Duration::from_secs(5), "skipped: SIP peer pbx is down");
    rig.stop_and_replay();
}

#[test]
fn invite_from_an_untrusted_source_is_challenged_then_connects() {
    let mut rig = Rig::start(RigOptions {
        // Nothing trusted, not even loopback: SIPp's INVITE must authenticate (MD5: SIPp 3.6).
        sip_extra: r#"trusted_peers = []
digest_algorithms = ["MD5"]
[[sip.user]]
name = "1001"
password = "s3cret"
"#
        .into(),
        ..RigOptions::default()
    });
    let output = rig.sipp(
        "uac_auth.xml",
        "4930123456",
        1,
        &["-au", "1001", "-ap", "s3cret", "-d", "200"],
    );
    rig.assert_sipp_ok(&output, "uac_auth x1 (407, then INVITE with credentials)");
    // Without the password the INVITE stays refused.
    let output = rig.sipp(
        "uac_auth.xml",
        "4930123456",
        1,
        &["-au", "1001", "-ap", "wrong", "-d", "200"],
    );
    assert!(
        !output.status.success(),
        "an INVITE with a wrong password must not connect"
    );
    rig.wait_for_tandem_log(Duration::from_secs(5), "refused: wrong digest response");
    rig.stop_and_replay();
}
