//! ISUP-originated calls: the exchange sends IAMs, tandem routes them by dialplan to a SIPp UAS.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{free_port, repo, Exchange, Rig, RigOptions};

#[test]
fn twenty_calls_from_the_exchange_to_a_sip_uas() {
    let uas_port = free_port(false);
    let mut uas = Command::new("sipp")
        .arg("-sf")
        .arg(repo().join("tests/sipp/uas_basic.xml"))
        .arg("-i")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(uas_port.to_string())
        .arg("-m")
        .arg("20")
        .arg("-timeout")
        .arg("60s")
        .arg("-timeout_error")
        .arg("-mp")
        .arg(free_port(false).to_string())
        .arg("-nostdin")
        .arg("-trace_err")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas");
    std::thread::sleep(Duration::from_millis(300));
    let dialplan = format!(
        r#"
fn route(view) {{
    if view.source == "isup" {{
        return #{{ action: "sip", uri: "sip:" + view.called + "@127.0.0.1:{uas_port}" }};
    }}
    #{{ action: "trunk", trunk: "pstn" }}
}}
"#
    );
    let mut rig = Rig::start(RigOptions {
        exchange: Exchange::Call {
            to: "4930123456".into(),
            count: 20,
            hold_ms: 300,
        },
        dialplan: Some(dialplan),
        ..RigOptions::default()
    });
    let ok = rig.wait_exchange(Duration::from_secs(60));
    let stats = rig.stats();
    let uas_done = wait_child(&mut uas, Duration::from_secs(10));
    assert!(
        ok,
        "ss7sim call did not complete all 20 calls cleanly; stats: {stats}\n{}",
        rig.logs()
    );
    assert_eq!(Rig::count(&stats, "sent", "IAM"), 20, "{stats}");
    assert_eq!(
        Rig::count(&stats, "received", "ANM") + Rig::count(&stats, "received", "CON"),
        20,
        "{stats}"
    );
    assert_eq!(Rig::count(&stats, "received", "RLC"), 20, "{stats}");
    assert_eq!(
        uas_done,
        Some(true),
        "SIPp UAS did not see 20 clean calls\n{}",
        rig.logs()
    );
    rig.stop_and_replay();
}

/// Waits for a child; `Some(success)` if it exited in time, `None` (after killing it) otherwise.
pub(crate) fn wait_child(child: &mut std::process::Child, timeout: Duration) -> Option<bool> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status.success());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
