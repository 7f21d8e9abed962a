//! SIP→SIP calls through tandem as a B2BUA (SIPp UAC → tandem → SIPp UAS), and the outgoing leg's extensions
//! (100rel/PRACK, RFC 4028 session timers, forked early dialogs) on SIP→SIP and ISUP→SIP calls. The SIPp
//! scenarios check topology hiding themselves: each side fails a call whose messages carry the other side's
//! tags, Call-ID, branch, Contact or private headers (`uac_b2bua.xml`, `uas_*.xml`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::wait_child;
use crate::harness::{free_port, repo, Exchange, Rig, RigOptions};

/// A dialplan sending SIP calls (and ISUP ones) to the SIPp UAS on `port`.
fn to_uas(port: u16) -> String {
    format!(
        r#"
fn route(view) {{
    #{{ action: "sip", uri: "sip:" + view.called + "@127.0.0.1:{port}" }}
}}
"#
    )
}

/// Starts a SIPp UAS with `scenario` for `calls` calls, writing its logs into the rig's directory.
fn start_uas(rig: &Rig, scenario: &str, port: u16, calls: u32) -> Child {
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(repo().join("tests/sipp").join(scenario))
        .arg("-i")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(port.to_string())
        .arg("-m")
        .arg(calls.to_string())
        .arg("-timeout")
        .arg("60s")
        .arg("-timeout_error")
        .arg("-mp")
        .arg(free_port(false).to_string())
        .arg("-nostdin")
        .arg("-trace_err")
        .current_dir(rig.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas");
    std::thread::sleep(Duration::from_millis(300));
    child
}

/// One SIP→SIP run: `calls` calls from `uac` (with `extra` SIPp options) to a UAS playing `uas`.
fn sip_to_sip(uas: &str, uac: &str, calls: u32, extra: &[&str], config_extra: &str) {
    let uas_port = free_port(false);
    let mut rig = Rig::start(RigOptions {
        dialplan: Some(to_uas(uas_port)),
        config_extra: config_extra.into(),
        ..RigOptions::default()
    });
    let mut callee = start_uas(&rig, uas, uas_port, calls);
    let output = rig.sipp(uac, "4930123456", calls, extra);
    let callee_ok = wait_child(&mut callee, Duration::from_secs(20));
    rig.assert_sipp_ok(&output, &format!("{uac} x{calls} against {uas}"));
    assert_eq!(
        callee_ok,
        Some(true),
        "SIPp UAS {uas} did not see {calls} clean calls\n{}",
        rig.logs()
    );
    let stats = rig.stats();
    assert_eq!(
        Rig::count(&stats, "received", "IAM"),
        0,
        "SIP→SIP calls must not touch the trunk: {stats}"
    );
    rig.stop_and_replay();
}

#[test]
fn sip_to_sip_calls_relay_both_dialogs_and_hide_each_legs_topology() {
    sip_to_sip("uas_b2bua.xml", "uac_b2bua.xml", 5, &["-d", "200"], "");
}

#[test]
fn forked_ringing_the_answering_early_dialog_wins() {
    sip_to_sip("uas_fork.xml", "uac_b2bua.xml", 3, &["-d", "200"], "");
}

#[test]
fn a_reliable_183_on_the_outgoing_leg_is_pracked() {
    sip_to_sip("uas_prack.xml", "uac_b2bua.xml", 3, &["-d", "200"], "");
}

#[test]
fn tandem_refreshes_the_outgoing_session_by_update() {
    // The UAS makes tandem the refresher of a 4 s session: an UPDATE must come after 2 s, before the caller's
    // BYE at 3 s.
    let config = "[sip_outgoing]\nsession_expires = 4\nmin_se = 2\n";
    sip_to_sip(
        "uas_session_refresh.xml",
        "uac_b2bua.xml",
        2,
        &["-d", "3000"],
        config,
    );
}

#[test]
fn an_unrefreshed_outgoing_session_ends_both_legs() {
    // The UAS refreshes (refresher=uas, 3 s) but never does: tandem sends BYE to it after 2 s and BYE to the
    // caller, whose scenario waits for it.
    let config = "[sip_outgoing]\nsession_expires = 3\nmin_se = 2\n";
    sip_to_sip(
        "uas_session_expiry.xml",
        "uac_remote_release.xml",
        2,
        &[],
        config,
    );
}

#[test]
fn a_hold_resume_and_info_of_the_caller_reach_the_callee_and_its_answers_come_back() {
    // uac_b2bua_hold.xml checks the callee's own answers (o=callee-hold, o=callee-resume) arrive;
    // uas_b2bua_hold.xml checks the re-INVITEs arrive in its dialog with the caller's SDP direction.
    sip_to_sip("uas_b2bua_hold.xml", "uac_b2bua_hold.xml", 3, &[], "");
}

#[test]
fn a_hold_by_the_callee_reaches_the_caller_and_its_answer_comes_back() {
    sip_to_sip(
        "uas_b2bua_hold_callee.xml",
        "uac_b2bua_held.xml",
        2,
        &[],
        "",
    );
}

#[test]
fn a_422_to_the_outgoing_invite_is_retried_with_its_min_se() {
    sip_to_sip("uas_422.xml", "uac_b2bua.xml", 2, &["-d", "200"], "");
}

#[test]
fn tandem_refreshes_by_reinvite_a_callee_that_does_not_allow_update() {
    // As `tandem_refreshes_the_outgoing_session_by_update`, but the callee's Allow lacks UPDATE.
    let config = "[sip_outgoing]\nsession_expires = 4\nmin_se = 2\n";
    sip_to_sip(
        "uas_session_refresh_reinvite.xml",
        "uac_b2bua.xml",
        2,
        &["-d", "3000"],
        config,
    );
}

/// ISUP→SIP: `ss7sim call` places `calls` calls (held `hold_ms`) to a SIPp UAS playing `uas`.
fn isup_to_sip(uas: &str, calls: u32, hold_ms: u64, config_extra: &str) -> Rig {
    let uas_port = free_port(false);
    let mut rig = Rig::start(RigOptions {
        exchange: Exchange::Call {
            to: "4930123456".into(),
            count: calls,
            hold_ms,
        },
        dialplan: Some(to_uas(uas_port)),
        config_extra: config_extra.into(),
        ..RigOptions::default()
    });
    let mut callee = start_uas(&rig, uas, uas_port, calls);
    let exchange_ok = rig.wait_exchange(Duration::from_secs(60));
    let stats = rig.stats();
    let callee_ok = wait_child(&mut callee, Duration::from_secs(20));
    assert!(exchange_ok, "ss7sim call failed: {stats}\n{}", rig.logs());
    assert_eq!(
        callee_ok,
        Some(true),
        "SIPp UAS {uas} failed\n{}",
        rig.logs()
    );
    assert_eq!(
        Rig::count(&stats, "received", "ANM") + Rig::count(&stats, "received", "CON"),
        u64::from(calls),
        "{stats}"
    );
    rig
}

#[test]
fn isup_to_sip_calls_prack_a_reliable_183() {
    let mut rig = isup_to_sip("uas_prack.xml", 3, 300, "");
    rig.stop_and_replay();
}

#[test]
fn isup_to_sip_calls_refresh_the_session_by_update() {
    let config = "[sip_outgoing]\nsession_expires = 4\nmin_se = 2\n";
    let mut rig = isup_to_sip("uas_session_refresh.xml", 2, 3000, config);
    rig.stop_and_replay();
}
