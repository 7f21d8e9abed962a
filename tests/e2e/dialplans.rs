//! Dialplans end to end: every shipped dialplan passes its fixtures through `tandem dialplan test --fixtures`;
//! `check` names file, line and column; an ENUM-routed call through the embedded zone backend replays; and a
//! dialplan replaced under SIPp load (once valid, once broken) fails no call.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{repo, tandem_bin, Rig, RigOptions};

fn tandem(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(tandem_bin())
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run tandem");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn every_shipped_dialplan_passes_its_fixtures() {
    let dir = repo().join("dialplans");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dialplans/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 7, "{scripts:?}");
    for script in scripts {
        let fixtures = script.with_extension("test.toml");
        assert!(fixtures.is_file(), "{} has no fixtures", script.display());
        let (code, text) = tandem(&["dialplan", "test", "--fixtures", fixtures.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{}: {text}", fixtures.display());
        let summary = text.lines().last().unwrap_or_default();
        assert!(
            summary.ends_with("passed, 0 failed") && !summary.starts_with("0 passed"),
            "{}: {text}",
            fixtures.display()
        );
    }
}

#[test]
fn a_failing_fixture_exits_1_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("f.test.toml");
    let script = repo().join("dialplans/barring.rhai");
    let table = repo().join("dialplans/barred_prefixes.csv");
    std::fs::write(
        &fixtures,
        format!(
            "dialplan = {:?}\ntables = [{:?}]\n[[case]]\nname = \"right\"\ncalled = \"0900123\"\nexpect = \"reject:21\"\n[[case]]\nname = \"wrong\"\ncalled = \"0301234\"\nexpect = \"reject:21\"\n",
            script.display().to_string(),
            table.display().to_string()
        ),
    )
    .unwrap();
    let (code, text) = tandem(&["dialplan", "test", "--fixtures", fixtures.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("FAIL wrong: expected `reject:21`, got `trunk:pstn`"),
        "{text}"
    );
    assert!(text.contains("1 passed, 1 failed"), "{text}");
}

#[test]
fn check_and_single_call_test() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.rhai");
    std::fs::write(&broken, "fn route(view) {\n  let x = ;\n}\n").unwrap();
    let (code, text) = tandem(&["dialplan", "check", broken.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("broken.rhai:2:11: syntax error"), "{text}");
    let (code, text) = tandem(&[
        "dialplan",
        "check",
        "dialplans/lcr.rhai",
        "--table",
        "dialplans/lcr_rates.csv",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("ok: dialplans/lcr.rhai (1 tables: lcr_rates)"),
        "{text}"
    );
    let (code, text) = tandem(&[
        "dialplan",
        "test",
        "--dialplan",
        "dialplans/lcr.rhai",
        "--table",
        "dialplans/lcr_rates.csv",
        "--called",
        "0301234567",
        "--idle",
        "carrier_a=5",
        "--idle",
        "carrier_c=0",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text.trim(), "trunk:carrier_a called=+49301234567");
}

#[test]
fn enum_routed_call_uses_the_zone_and_replays() {
    let zone = repo().join("enum/e164.arpa.zone");
    let mut rig = Rig::start(RigOptions {
        dialplan: Some(std::fs::read_to_string(repo().join("dialplans/portability.rhai")).unwrap()),
        config_extra: format!("[enum]\nzones = [{:?}]\n", zone.display().to_string()),
        ..RigOptions::default()
    });
    // Twice: the second call is answered from the cache.
    let output = rig.sipp("uac_basic.xml", "030123456", 2, &[]);
    rig.assert_sipp_ok(&output, "ported number x2");
    let stats = rig.wait_for(Duration::from_secs(10), "two calls", |s| {
        s["calls"].as_array().is_some_and(|c| c.len() >= 2)
    });
    for call in stats["calls"].as_array().unwrap() {
        assert_eq!(
            call["called"], "+4915199",
            "routed on the routing number: {stats}"
        );
    }
    let log = rig.stop();
    let connection = rusqlite::Connection::open(&log).unwrap();
    let queries: i64 = connection
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'output' AND body LIKE '%enum_query%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(queries, 1, "one lookup, then the cache");
    drop(connection);
    let (code, text) = tandem(&["replay", log.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(" 0 divergences"), "{text}");
}

#[test]
fn reload_under_load_fails_no_call() {
    let first = "fn route(view) { #{ action: \"trunk\", trunk: \"pstn\" } }\n";
    let mut rig = Rig::start(RigOptions {
        dialplan: Some(first.to_string()),
        ..RigOptions::default()
    });
    let script = rig.dir.path().join("dialplan.rhai");
    let sipp = {
        let rig_sip = rig.sip.to_string();
        let dir = rig.dir.path().to_path_buf();
        std::thread::spawn(move || {
            Command::new("sipp")
                .arg("-sf")
                .arg(repo().join("tests/sipp/uac_basic.xml"))
                .args(["-s", "4930123456", "-i", "127.0.0.1", "-p"])
                .arg(crate::harness::free_port(false).to_string())
                .arg("-mp")
                .arg(crate::harness::free_port(false).to_string())
                .args(["-m", "60", "-r", "15", "-l", "30", "-timeout", "60s"])
                .args(["-timeout_error", "-nostdin", "-trace_err", "-error_file"])
                .arg(dir.join("sipp-load-errors.log"))
                .arg(rig_sip)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .output()
                .expect("run sipp")
        })
    };
    std::thread::sleep(Duration::from_millis(1200));
    // A valid change, picked up by the file watch: 4930999… is now barred with cause 21.
    std::fs::write(
        &script,
        "fn route(view) {\n  if view.called.starts_with(\"4930999\") { return #{ action: \"reject\", cause: 21 }; }\n  #{ action: \"trunk\", trunk: \"pstn\" }\n}\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // A syntax error, pushed with `tandem dialplan reload` (and seen by the watch too): refused.
    std::fs::write(&script, "fn route(view) {\n  #{ action: \n}\n").unwrap();
    let pid = rig.tandem_pid().expect("tandem runs").to_string();
    let (code, text) = tandem(&["dialplan", "reload", "--pid", &pid]);
    assert_eq!(code, Some(0), "{text}");
    let output = sipp.join().expect("sipp thread");
    rig.assert_sipp_ok(&output, "60 calls across two reloads");
    let logs = std::fs::read_to_string(rig.dir.path().join("tandem.log")).unwrap();
    assert!(
        logs.contains("dialplan.rhai reloaded; new calls use it"),
        "{logs}"
    );
    assert!(
        logs.contains("dialplan reload refused, keeping")
            && logs.contains("dialplan.rhai:3:1: syntax error"),
        "{logs}"
    );
    // The valid change is in force, the broken one is not.
    let output = rig.sipp("uac_reject_403.xml", "4930999123", 1, &[]);
    rig.assert_sipp_ok(&output, "barred by the reloaded script");
    let output = rig.sipp("uac_basic.xml", "4930123456", 1, &[]);
    rig.assert_sipp_ok(&output, "ordinary call after the refused reload");
    let report = rig.stop_and_replay();
    assert!(report.contains(" 0 divergences"), "{report}");
}
