//! Tests for the mapping tables: shipped files load and say what RFC 3398 says; bad files give
//! errors naming file, line and key.

use super::*;

fn rfc() -> MappingTables {
    MappingTables::embedded("rfc3398").expect("shipped rfc3398 profile loads")
}

fn q1912() -> MappingTables {
    MappingTables::embedded("q1912_5").expect("shipped q1912_5 profile loads")
}

#[test]
fn every_embedded_profile_loads_and_names_itself() {
    for name in EMBEDDED_PROFILES {
        let tables = MappingTables::embedded(name).expect("loads");
        assert_eq!(tables.profile(), *name);
    }
    let err = MappingTables::embedded("nope").unwrap_err();
    assert!(
        err.to_string().contains("unknown profile \"nope\""),
        "{err}"
    );
}

#[test]
fn rfc3398_isup_to_sip_rows() {
    let t = rfc();
    let expect: &[(u8, u16)] = &[
        (1, 404),
        (2, 404),
        (3, 404),
        (17, 486),
        (18, 408),
        (19, 480),
        (20, 480),
        (21, 403),
        (22, 410),
        (23, 410),
        (26, 404),
        (27, 502),
        (28, 484),
        (29, 501),
        (31, 480),
        (34, 503),
        (38, 503),
        (41, 503),
        (42, 503),
        (47, 503),
        (55, 403),
        (57, 403),
        (58, 503),
        (65, 488),
        (70, 488),
        (79, 501),
        (87, 403),
        (88, 503),
        (102, 504),
        (111, 500),
        (127, 500),
    ];
    for (cause, status) in expect {
        let spec = t.sip_status_for_cause(*cause).expect("a response");
        assert_eq!(spec.status, *status, "cause {cause}");
    }
    assert_eq!(t.sip_status_for_cause(16), None, "16 clears with BYE");
    assert_eq!(t.final_response_for_cause(16).status, 500);
    // Unlisted cause → 500.
    assert_eq!(t.sip_status_for_cause(99).map(|s| s.status), Some(500));
    // Retry-After only for the resource-unavailable class.
    assert_eq!(
        t.sip_status_for_cause(34).and_then(|s| s.retry_after),
        Some(30)
    );
    assert_eq!(t.sip_status_for_cause(58).and_then(|s| s.retry_after), None);
}

#[test]
fn rfc3398_sip_to_isup_rows_and_fallbacks() {
    let t = rfc();
    let expect: &[(u16, u8)] = &[
        (400, 41),
        (401, 21),
        (402, 21),
        (403, 21),
        (404, 1),
        (405, 63),
        (406, 79),
        (407, 21),
        (408, 102),
        (410, 22),
        (413, 127),
        (414, 127),
        (415, 79),
        (416, 127),
        (420, 127),
        (421, 127),
        (423, 127),
        (480, 18),
        (481, 41),
        (482, 25),
        (483, 25),
        (484, 28),
        (485, 1),
        (486, 17),
        (488, 31),
        (500, 41),
        (501, 79),
        (502, 38),
        (503, 41),
        (504, 102),
        (505, 127),
        (513, 127),
        (600, 17),
        (603, 21),
        (604, 1),
        (606, 31),
    ];
    for (status, cause) in expect {
        assert_eq!(t.cause_for_sip_status(*status), *cause, "status {status}");
    }
    // Unlisted statuses use their class's x00 row.
    assert_eq!(t.cause_for_sip_status(499), 41);
    assert_eq!(t.cause_for_sip_status(580), 41);
    assert_eq!(t.cause_for_sip_status(699), 17);
    // No 3xx rows: the profile default.
    assert_eq!(t.cause_for_sip_status(302), 31);
}

#[test]
fn q1912_5_variant_rows_and_indicators() {
    let t = q1912();
    for (cause, status) in [
        (1, 410),
        (18, 480),
        (21, 603),
        (27, 404),
        (55, 603),
        (57, 503),
        (65, 501),
        (79, 501),
        (87, 503),
        (102, 408),
    ] {
        assert_eq!(
            t.final_response_for_cause(cause).status,
            status,
            "cause {cause}"
        );
    }
    assert_eq!(
        t.final_response_for_cause(17).status,
        486,
        "other rows from the RFC"
    );
    assert_eq!(t.iam_profile().interworking_indicator, 1);
    assert_eq!(t.iam_profile().isdn_user_part_indicator, 0);
    assert_eq!(rfc().iam_profile().interworking_indicator, 0);
    assert_eq!(rfc().iam_profile().isdn_user_part_indicator, 1);
    assert_eq!(t.release_cause(ReleaseReason::Cancel), 31);
}

#[test]
fn provisional_maps() {
    let t = rfc();
    assert_eq!(t.provisional_for_cpg_event(1), 180);
    assert_eq!(t.provisional_for_cpg_event(2), 183);
    assert_eq!(t.provisional_for_cpg_event(3), 183);
    for event in 4..=6 {
        assert_eq!(t.provisional_for_cpg_event(event), 181);
    }
    assert_eq!(t.provisional_for_cpg_event(0), 183);
    assert_eq!(
        t.provisional_for_cpg_event(0x81),
        180,
        "presentation bit ignored"
    );
    assert_eq!(t.provisional_for_acm(1, false), 180);
    assert_eq!(t.provisional_for_acm(0, false), 183);
    assert_eq!(t.provisional_for_acm(1, true), 183);
}

#[test]
fn release_causes_and_profiles() {
    let t = rfc();
    assert_eq!(t.release_cause(ReleaseReason::Bye), 16);
    assert_eq!(t.release_cause(ReleaseReason::Cancel), 16);
    assert_eq!(t.release_cause(ReleaseReason::NoAnswerTimeout), 19);
    assert_eq!(t.release_cause(ReleaseReason::NoRoute), 3);
    assert_eq!(t.release_cause(ReleaseReason::NoCircuit), 34);
    assert_eq!(t.release_cause(ReleaseReason::NoAcmTimeout), 31);
    assert_eq!(t.release_cause(ReleaseReason::SignallingDown), 41);
    assert_eq!(t.release_cause(ReleaseReason::InvalidNumber), 28);
    assert_eq!(t.cause_location(), 10);
    assert_eq!(t.cpg_event_for_provisional(180), Some(1));
    assert_eq!(t.cpg_event_for_provisional(183), Some(2));
    assert_eq!(t.cpg_event_for_provisional(181), None);
    assert_eq!(t.called_party_status_for_provisional(180), 1);
    assert_eq!(t.called_party_status_for_provisional(183), 0);
    assert_eq!(t.called_party_status_for_provisional(200), 0);
    let iam = t.iam_profile();
    assert_eq!(iam.calling_party_category, 10);
    assert_eq!(iam.transmission_medium_requirement, 3);
    assert_eq!(iam.national_international_call, CallScope::PerNumber);
    let backward = t.backward_profile();
    assert_eq!(backward.called_party_status_on_ringing, 1);
    assert_eq!(backward.interworking_indicator, 1);
}

#[test]
fn overrides_replace_rows() {
    let t = rfc();
    let overrides = TableOverrides {
        isup_to_sip: vec![IsupToSipRow {
            cause: 21,
            status: Some(603),
            reason: Some("Declined".into()),
            retry_after: None,
        }],
        sip_to_isup: vec![SipToIsupRow {
            status: 480,
            cause: 20,
        }],
    };
    let o = t.with_overrides(&overrides).expect("valid overrides");
    assert_eq!(o.final_response_for_cause(21).status, 603);
    assert_eq!(
        o.final_response_for_cause(21).reason.as_deref(),
        Some("Declined")
    );
    assert_eq!(o.cause_for_sip_status(480), 20);
    assert_eq!(o.cause_for_sip_status(486), 17, "other rows untouched");
    assert_eq!(t.cause_for_sip_status(480), 18, "original untouched");

    let bad = TableOverrides {
        isup_to_sip: vec![],
        sip_to_isup: vec![SipToIsupRow {
            status: 200,
            cause: 16,
        }],
    };
    let err = t.with_overrides(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "trunk.overrides: sip_to_isup[0].status: 200 is not a SIP final status (300..=699)"
    );
}

/// Replaces the first occurrence of `from` in the shipped file, returning the new text and the
/// 1-based line the replacement is on.
fn broken(from: &str, to: &str) -> (String, usize) {
    let text = RFC3398_TOML;
    let at = text.find(from).expect("pattern present in rfc3398.toml");
    let line = text[..at].matches('\n').count() + 1;
    (text.replacen(from, to, 1), line)
}

#[test]
fn bad_status_names_file_line_and_key() {
    let (text, line) = broken(
        "cause = 17    # user busy\nstatus = 486",
        "cause = 17\nstatus = 999",
    );
    let err = MappingTables::from_toml("mappings/x.toml", &text).unwrap_err();
    assert_eq!(err.line, Some(line + 1));
    assert_eq!(
        err.to_string(),
        format!(
            "mappings/x.toml:{}: isup_to_sip[4].status: 999 is not a SIP status (100..=699)",
            line + 1
        )
    );
}

#[test]
fn bad_cause_duplicate_and_missing_key() {
    let (text, line) = broken(
        "status = 404  # Not Found\ncause = 1",
        "status = 404\ncause = 128",
    );
    let err = MappingTables::from_toml("f.toml", &text).unwrap_err();
    assert_eq!(err.key, "sip_to_isup[4].cause");
    assert_eq!(err.line, Some(line + 1));
    assert!(err.message.contains("128 is not a Q.850 cause"), "{err}");

    let (text, line) = broken("cause = 2     # no route to network", "cause = 1");
    let err = MappingTables::from_toml("f.toml", &text).unwrap_err();
    assert_eq!(err.key, "isup_to_sip[1].cause");
    assert_eq!(err.line, Some(line));
    assert!(
        err.message.starts_with("duplicate cause 1 (first at line"),
        "{err}"
    );

    let (text, _) = broken("no_route = 3 ", "#no_route = 3 ");
    let err = MappingTables::from_toml("f.toml", &text).unwrap_err();
    assert_eq!(err.key, "release_causes.no_route");
    assert_eq!(err.message, "missing key");
    assert!(err.line.is_some());

    let (text, line) = broken(
        "event = 1   # alerting\nstatus = 180",
        "event = 1\nstatus = 200",
    );
    let err = MappingTables::from_toml("f.toml", &text).unwrap_err();
    assert_eq!(err.key, "cpg_events[0].status");
    assert_eq!(err.line, Some(line + 1));
}

#[test]
fn structural_errors_have_lines() {
    let (text, line) = broken(
        "cause = 3     # no route to destination",
        "cause = 3\ncolour = 1",
    );
    let err = MappingTables::from_toml("f.toml", &text).unwrap_err();
    assert_eq!(err.line, Some(line + 1), "{err}");
    assert!(err.message.contains("colour"), "{err}");

    let (text, line) = broken("satellite_indicator = 0", "satellite_indicator = 9");
    let err = MappingTables::from_toml("f.toml", &text).unwrap_err();
    assert_eq!(err.key, "iam.satellite_indicator");
    assert_eq!(err.line, Some(line));

    let (text, line) = broken("charge_indicator = 2", "charge_indicator = 2\nbogus = 1");
    let err = MappingTables::from_toml("f.toml", &text).unwrap_err();
    assert_eq!(err.key, "backward.bogus");
    assert_eq!(err.line, Some(line + 1));
    assert_eq!(err.message, "unknown key");

    let err = MappingTables::from_toml("f.toml", "profile = \"x\"\n").unwrap_err();
    assert!(err.message.contains("missing field"), "{err}");

    let err = MappingTables::from_toml("f.toml", "profile = \n").unwrap_err();
    assert_eq!(err.line, Some(1), "{err}");
}
