//! Replay catches tampering: a log with one recorded input changed no longer reproduces.

use std::process::Command;

use crate::harness::{tandem_bin, Rig, RigOptions};

#[test]
fn a_corrupted_input_is_reported_as_a_divergence() {
    let mut rig = Rig::start(RigOptions::default());
    let output = rig.sipp("uac_basic.xml", "4930123456", 2, &[]);
    rig.assert_sipp_ok(&output, "uac_basic x2");
    let log = rig.stop();
    let replayed = Command::new(tandem_bin())
        .arg("replay")
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        replayed.status.success(),
        "clean log must replay: {}",
        String::from_utf8_lossy(&replayed.stdout)
    );

    let corrupted = rig.dir.path().join("corrupted.sqlite");
    std::fs::copy(&log, &corrupted).unwrap();
    let connection = rusqlite::Connection::open(&corrupted).unwrap();
    // Change the dialled number in the first INVITE the gateway received.
    // The message bytes are in the `data` column, beside the JSON body.
    let (seq, body): (i64, String) = connection
        .query_row(
            "SELECT seq, CAST(data AS TEXT) FROM events WHERE kind = 'input' AND CAST(data AS TEXT) LIKE '%INVITE sip:4930123456%' ORDER BY seq LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let tampered = body.replacen("INVITE sip:4930123456", "INVITE sip:4930999999", 1);
    connection
        .execute(
            "UPDATE events SET data = ?1 WHERE seq = ?2",
            rusqlite::params![tampered.into_bytes(), seq],
        )
        .unwrap();
    drop(connection);
    let replayed = Command::new(tandem_bin())
        .arg("replay")
        .arg(&corrupted)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&replayed.stdout);
    assert_eq!(
        replayed.status.code(),
        Some(1),
        "tampered log must fail replay: {stdout}"
    );
    assert!(
        stdout.contains("first at event"),
        "replay must name the diverging event: {stdout}"
    );
}
