//! Tests for configuration loading: defaults, partial files, and errors naming file/line/key.

use super::*;

fn err(text: &str) -> ConfigError {
    Config::from_toml("t.toml", text).expect_err("config must be rejected")
}

#[test]
fn embedded_default_matches_rust_defaults() {
    let parsed =
        Config::from_toml(DEFAULT_CONFIG_NAME, DEFAULT_CONFIG_TOML).expect("default.toml parses");
    assert_eq!(parsed, Config::default());
    assert_eq!(Config::default_embedded(), Config::default());
    assert_eq!(Config::load(None).expect("zero-config"), Config::default());
    let trunk = Config::default().trunks[0].clone();
    assert_eq!(trunk.name, "pstn");
    assert_eq!((trunk.cic_first, trunk.cic_last), (1, 31));
    assert!(trunk.mapping_tables().is_ok());
    assert_eq!(trunk.routing_key_request(), None);
    let format = trunk.number_format();
    assert_eq!(
        (
            format.country_code.as_str(),
            format.national_prefix.as_str()
        ),
        ("49", "0")
    );
    assert!(!format.plain_numbers_international);
    assert_eq!(
        trunk.timers.isup_timers(),
        crate::isup::IsupTimers::default()
    );
}

#[test]
fn routing_key_from_trunk() {
    let config = Config::from_toml(
        "t.toml",
        "[[trunk]]\nname = \"x\"\nopc = 10\ndpc = 20\nregister_routing_key = true\nnetwork_appearance = 8\n",
    )
    .expect("valid");
    let key = config.trunks[0].routing_key_request().expect("requested");
    // osmo-stp supports DPC-only keys (it refuses SI and OPC with status 9).
    assert_eq!((key.dpc, key.opc, key.si), (10, None, None));
    assert_eq!(config.trunks[0].network_appearance, Some(8));
}

#[test]
fn routing_key_narrowed_to_si_and_opc_traffic_mode_and_beat() {
    let config = Config::from_toml(
        "t.toml",
        "[[trunk]]\nname = \"x\"\nopc = 10\ndpc = 20\nregister_routing_key = true\n\
         routing_key_si_opc = true\ntraffic_mode = \"override\"\nbeat_interval_ms = 3000\n",
    )
    .expect("valid");
    let trunk = &config.trunks[0];
    let key = trunk.routing_key_request().expect("requested");
    assert_eq!((key.dpc, key.opc, key.si), (10, Some(20), Some(5)));
    assert_eq!(
        trunk.traffic_mode.traffic_mode(),
        crate::sigtran::m3ua::TrafficMode::Override
    );
    assert_eq!(trunk.beat_interval_ms, Some(3000));
    let refused = Config::from_toml(
        "t.toml",
        "[[trunk]]\nname = \"x\"\ntraffic_mode = \"roundrobin\"\n",
    );
    assert!(refused.is_err());
}

#[test]
fn partial_file_keeps_other_defaults() {
    let config = Config::from_toml(
        "t.toml",
        "seed = 7\n[sip]\nlisten = \"0.0.0.0:5070\"\n\n[[trunk]]\nname = \"a\"\nopc = \"0.23.1\"\ndpc = 3\n\
         cic_first = 1\ncic_last = 10\n[trunk.timers]\nt7_ms = 5000\n\
         [[trunk.overrides.isup_to_sip]]\ncause = 21\nstatus = 603\n\n\
         [[trunk]]\nname = \"b\"\ndpc = 3\ncic_first = 11\ncic_last = 20\nprofile = \"q1912_5\"\n",
    )
    .expect("valid");
    assert_eq!(config.seed, Some(7));
    assert_eq!(config.sip.listen, "0.0.0.0:5070".parse().expect("addr"));
    assert_eq!(config.sip.t1_ms, 500);
    assert_eq!(config.trunks.len(), 2);
    let a = config.trunk("a").expect("trunk a");
    assert_eq!(a.opc, 23 << 3 | 1);
    assert_eq!(a.timers.t7_ms, 5000);
    assert_eq!(a.timers.t9_ms, 90_000);
    assert_eq!(
        a.mapping_tables()
            .expect("tables")
            .final_response_for_cause(21)
            .status,
        603
    );
    let b = config.trunk("b").expect("trunk b");
    assert_eq!(b.mapping_tables().expect("tables").profile(), "q1912_5");
}

#[test]
fn overrides_from_the_command_line() {
    let mut config = Config::default();
    config.apply_overrides(
        Some("10.0.0.1:5080".parse().expect("addr")),
        Some("x.db".into()),
    );
    assert_eq!(config.sip.listen.port(), 5080);
    assert_eq!(config.event_log.path, PathBuf::from("x.db"));
    config.apply_overrides(None, None);
    assert_eq!(config.sip.listen.port(), 5080);
}

#[test]
fn structural_errors_name_the_line() {
    let e = err("[sip]\nlisten = \"127.0.0.1:5060\"\ncolour = \"red\"\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("colour"), "{e}");
    assert!(e.to_string().starts_with("t.toml:3: "), "{e}");

    let e = err("[sip]\nlisten = \"not an address\"\n");
    assert_eq!(e.line, Some(2), "{e}");

    let e = err("[[trunk]]\nname = \"x\"\ntransport = \"carrier-pigeon\"\n");
    assert_eq!(e.line, Some(3), "{e}");

    let e = err("[[trunk]]\nname = \"x\"\nopc = 20000\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("14 bits"), "{e}");

    let e = err("[[trunk]]\nname = \"x\"\nopc = \"8.0.0\"\n");
    assert!(e.message.contains("3-8-3"), "{e}");

    let e = err("[media]\nrtp_port = 70000\n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn semantic_errors_name_file_line_and_key() {
    let e = err("[[trunk]]\nname = \"x\"\ncic_first = 10\ncic_last = 5\n");
    assert_eq!(
        e.to_string(),
        "t.toml:3: trunk[0].cic_first: empty CIC range 10..=5"
    );

    let e = err(
        "[[trunk]]\nname = \"a\"\ncic_first = 1\ncic_last = 10\n\n[[trunk]]\nname = \"b\"\ncic_first = 10\ncic_last = 20\n",
    );
    assert_eq!(e.key, "trunk[1].cic_first");
    assert_eq!(e.line, Some(8));
    assert!(e.message.contains("overlaps trunk[0] \"a\""), "{e}");

    // Same CICs toward another DPC are other circuits.
    assert!(Config::from_toml(
        "t.toml",
        "[[trunk]]\nname = \"a\"\n[[trunk]]\nname = \"b\"\ndpc = 3\n"
    )
    .is_ok());

    let e = err("[[trunk]]\nname = \"a\"\n[[trunk]]\nname = \"a\"\ndpc = 3\n");
    assert_eq!(e.key, "trunk[1].name");
    assert_eq!(e.line, Some(4));

    let e = err("[[trunk]]\nname = \"x\"\nprofile = \"rfc9999\"\n");
    assert_eq!(e.key, "trunk[0].profile");
    assert_eq!(e.line, Some(3));

    let e = err("[[trunk]]\nname = \"x\"\ncic_last = 5000\n");
    assert!(e.message.contains("12 bits"), "{e}");

    let e = err("[[trunk]]\nname = \"x\"\n[trunk.timers]\nt7_ms = 0\n");
    assert_eq!((e.key.as_str(), e.line), ("trunk[0].t7_ms", Some(4)));

    let e = err("[[trunk]]\nname = \"x\"\ncountry_code = \"+49\"\n");
    assert_eq!(e.key, "trunk[0].country_code");

    let e =
        err("[[trunk]]\nname = \"x\"\n[[trunk.overrides.sip_to_isup]]\nstatus = 180\ncause = 16\n");
    assert!(
        e.key
            .starts_with("trunk[0].overrides.sip_to_isup[0].status"),
        "{e}"
    );

    let e = err("[sip]\nt1_ms = 0\n");
    assert_eq!(e.to_string(), "t.toml:2: sip.t1_ms: must be above 0");

    let e = err("trunk = []\n");
    assert_eq!(e.key, "trunk");
}

#[test]
fn files_and_dialplans() {
    let dir = std::env::temp_dir().join(format!("tandem-cfg-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config_path = dir.join("tandem.toml");

    let e = Config::load(Some(&dir.join("missing.toml"))).expect_err("missing file");
    assert!(e.message.starts_with("cannot read"), "{e}");

    std::fs::write(&config_path, "[dialplan]\npath = \"plan.rhai\"\n").expect("write");
    let e = Config::load(Some(&config_path)).expect_err("dialplan missing");
    assert_eq!((e.key.as_str(), e.line), ("dialplan.path", Some(2)), "{e}");

    std::fs::write(
        dir.join("plan.rhai"),
        "fn route(view) { #{ action: \"reject\", cause: 1 } }",
    )
    .expect("write");
    let config = Config::load(Some(&config_path)).expect("loads");
    assert_eq!(config.dialplan.path, Some(dir.join("plan.rhai")));
    assert!(config.compile_dialplan().is_ok());

    std::fs::write(dir.join("plan.rhai"), "fn route(view) {").expect("write");
    let e = config.compile_dialplan().expect_err("syntax error");
    assert!(e.message.contains("syntax error"), "{e}");

    assert!(
        Config::default().compile_dialplan().is_ok(),
        "embedded dialplan"
    );
    // The users database is found beside the config file too.
    std::fs::write(&config_path, "[sip]\nusers_db = \"users.sqlite\"\n").expect("write");
    let config = Config::load(Some(&config_path)).expect("loads");
    assert_eq!(config.sip.users_db, Some(dir.join("users.sqlite")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn multihoming_and_association_parameters_reach_the_transport() {
    let config = Config::from_toml(
        "t.toml",
        "[[trunk]]\nname = \"x\"\nlocal = \"10.0.0.1:2905\"\nextra_local = [\"10.0.1.1\"]\n\
         extra_remote = [\"10.0.1.2\", \"10.0.2.2\"]\n[trunk.sctp]\nrto_min_ms = 100\n\
         heartbeat_interval_ms = 5000\npath_max_retrans = 2\n",
    )
    .expect("valid");
    let sctp = config.trunks[0].sctp_config();
    assert_eq!(
        sctp.extra_local,
        ["10.0.1.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(sctp.extra_remote.len(), 2);
    assert_eq!(sctp.params.rto_min_ms, Some(100));
    assert_eq!(sctp.params.heartbeat_interval_ms, Some(5000));
    assert_eq!(sctp.params.path_max_retrans, Some(2));
    assert_eq!(sctp.params.rto_max_ms, None);
    let unknown = Config::from_toml("t.toml", "[[trunk]]\nname = \"x\"\n[trunk.sctp]\nrto = 1\n");
    assert!(unknown.is_err());
}

#[test]
fn streams_reach_transport_and_asp_and_need_two() {
    let config =
        Config::from_toml("t.toml", "[[trunk]]\nname = \"x\"\nstreams = 5\n").expect("valid");
    assert_eq!(config.trunks[0].sctp_config().streams, 5);
    let refused = Config::from_toml("t.toml", "[[trunk]]\nname = \"x\"\nstreams = 1\n");
    let error = refused.expect_err("one stream is refused").to_string();
    assert!(error.contains("streams"), "{error}");
}

#[test]
fn dialplan_and_enum_settings() {
    let e = err("[dialplan]\nfailure_cause = 0\n");
    assert_eq!(
        (e.key.as_str(), e.line),
        ("dialplan.failure_cause", Some(2)),
        "{e}"
    );
    let e = err("[dialplan]\nmax_string_size = 0\n");
    assert_eq!(e.key, "dialplan.max_string_size", "{e}");
    let e = err("[enum]\nsuffixes = []\n");
    assert_eq!(e.key, "enum.suffixes", "{e}");
    let e = err("[enum]\nresolver = \"x\"\n");
    assert!(e.message.contains("resolver"), "{e}");
    let config = Config::from_toml(
        "t.toml",
        "[dialplan]\nmax_call_levels = 8\nmax_array_size = 10\nfailure_cause = 34\n[enum]\nservers = [\"127.0.0.1:5353\"]\nsuffixes = [\"e164.example\", \"e164.arpa\"]\n",
    )
    .expect("valid");
    let limits = config.dialplan.limits();
    assert_eq!(
        (
            limits.max_call_levels,
            limits.max_array_size,
            limits.max_map_size
        ),
        (8, 10, 10)
    );
    assert_eq!(config.dialplan.failure_cause, 34);
    assert_eq!(config.enum_lookup.suffixes, ["e164.example", "e164.arpa"]);
}

#[test]
fn a_trunk_without_associations_is_one_link_named_after_it() {
    let config = Config::from_toml(
        "t.toml",
        "[[trunk]]\nname = \"x\"\nremote = \"10.0.0.1:2905\"\nrouting_context = 4\ntraffic_mode = \"override\"\n",
    )
    .expect("config");
    let trunk = &config.trunks[0];
    let links = trunk.links();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].id, "x");
    assert_eq!(links[0].remote, trunk.remote);
    assert_eq!(links[0].routing_context, Some(4));
    assert_eq!(links[0].traffic_mode, TrafficModeName::Override);
    assert_eq!(trunk.link_sctp_config(&links[0]), trunk.sctp_config());
}

#[test]
fn associations_take_the_trunks_keys_unless_they_set_their_own() {
    let config = Config::from_toml(
        "t.toml",
        "[[trunk]]\nname = \"x\"\nremote = \"10.0.0.1:2905\"\nrouting_context = 4\ntransport = \"udp\"\n\
         [[trunk.association]]\nname = \"left\"\n\
         [[trunk.association]]\nremote = \"10.0.0.2:2906\"\nlocal = \"10.0.0.9:3000\"\nrouting_context = 5\n\
         transport = \"kernel\"\nregister_routing_key = true\npriority = 2\n",
    )
    .expect("config");
    let trunk = &config.trunks[0];
    let links = trunk.links();
    let ids: Vec<&str> = links.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["x/left", "x/2"]);
    assert_eq!(links[0].remote, trunk.remote);
    assert_eq!((links[0].routing_context, links[0].priority), (Some(4), 0));
    assert_eq!(links[1].remote.to_string(), "10.0.0.2:2906");
    assert_eq!(
        links[1].local.map(|l| l.to_string()).as_deref(),
        Some("10.0.0.9:3000")
    );
    assert_eq!((links[1].routing_context, links[1].priority), (Some(5), 2));
    assert!(links[1].register_routing_key && trunk.link_routing_key_request(&links[1]).is_some());
    assert_eq!(
        trunk.link_sctp_config(&links[0]).kind,
        crate::sigtran::sctp::TransportKind::Udp
    );
    assert_eq!(
        trunk.link_sctp_config(&links[1]).kind,
        crate::sigtran::sctp::TransportKind::Kernel
    );
}

#[test]
fn association_names_must_be_unique_and_plain() {
    let twice = err("[[trunk]]\nname = \"x\"\n[[trunk.association]]\nname = \"a\"\n[[trunk.association]]\nname = \"a\"\n");
    assert_eq!(twice.key, "trunk[0].association.name");
    assert!(twice.message.contains("duplicate"), "{twice}");
    // An unnamed second entry is "2": a first entry named "2" collides with it.
    let implicit = err(
        "[[trunk]]\nname = \"x\"\n[[trunk.association]]\nname = \"2\"\n[[trunk.association]]\n",
    );
    assert!(implicit.message.contains("duplicate"), "{implicit}");
    let slash = err("[[trunk]]\nname = \"x\"\n[[trunk.association]]\nname = \"a/b\"\n");
    assert!(slash.message.contains("no '/'"), "{slash}");
    let clash = err(
        "[[trunk]]\nname = \"x\"\ncic_last = 10\n[[trunk.association]]\nname = \"a\"\n\
         [[trunk]]\nname = \"x/a\"\ncic_first = 11\n",
    );
    assert_eq!(clash.key, "trunk[1].name");
    assert!(clash.message.contains("\"x/a\""), "{clash}");
}

#[test]
fn tls_and_websocket_listeners() {
    let e = err("[sip.tls]\nlisten = \"127.0.0.1:5061\"\ncert = \"c.pem\"\n");
    assert_eq!((e.key.as_str(), e.line), ("sip.tls.listen", Some(2)));
    let e = err("[http]\ntls_listen = \"[::1]:8443\"\n");
    assert_eq!(e.key, "http.tls_listen");
    let config = Config::from_toml(
        "t.toml",
        "[sip.tls]\nlisten = \"[::1]:5061\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n[http]\nlisten = \"127.0.0.1:8080\"\ntls_listen = \"127.0.0.1:8443\"\n",
    )
    .expect("valid");
    let https = config.https_files().expect("falls back to [sip.tls]");
    assert_eq!(https.cert, std::path::Path::new("c.pem"));
    assert_eq!(
        config.transport_addrs(),
        vec![
            (
                crate::sip::TransportKind::Tls,
                "[::1]:5061".parse().unwrap()
            ),
            (
                crate::sip::TransportKind::Ws,
                "127.0.0.1:8080".parse().unwrap()
            ),
            (
                crate::sip::TransportKind::Wss,
                "127.0.0.1:8443".parse().unwrap()
            ),
        ]
    );
    assert!(Config::default().transport_addrs().is_empty());
}

#[test]
fn sip_users_peers_and_trusted_sources() {
    let config = Config::from_toml(
        "t.toml",
        "[sip]\nrealm = \"r\"\ntrusted_peers = [\"10.0.0.0/8\", \"192.0.2.1:5060\"]\n\
         [[sip.user]]\nname = \"alice\"\npassword = \"pw\"\n\
         [[sip.user]]\nname = \"bob\"\nha1 = \"0123456789abcdef0123456789ABCDEF\"\nrealm = \"other\"\n\
         [[sip.peer]]\nname = \"pbx\"\nuri = \"sip:192.0.2.10:5070;transport=tcp\"\nkeepalive_interval_ms = 500\n\
         [[trunk]]\nname = \"x\"\n",
    )
    .expect("valid config");
    let users = config.sip.digest_users();
    assert_eq!(
        users[0],
        crate::sip::digest::User::with_password("alice", "r", "pw")
    );
    assert_eq!(users[1].realm, "other");
    assert_eq!(
        users[1].ha1_md5.as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
    assert_eq!(users[1].ha1_sha256, None);
    let peers = config.sip.keepalive_peers();
    assert_eq!(peers[0].destination, "192.0.2.10:5070".parse().unwrap());
    assert_eq!(peers[0].transport, crate::sip::TransportKind::Tcp);
    assert_eq!(
        (peers[0].interval_ms, peers[0].failures_before_down),
        (500, 3)
    );
    assert_eq!(config.sip.trusted_sources().len(), 2);

    let e = err("[sip]\ntrusted_peers = [\"somewhere\"]\n");
    assert_eq!(e.key, "sip.trusted_peers");
    let e = err("[[sip.user]]\nname = \"a\"\n");
    assert!(e.message.contains("password or ha1"), "{e}");
    let e = err("[[sip.user]]\nname = \"a\"\nha1 = \"xyz\"\n");
    assert!(e.message.contains("32 hex"), "{e}");
    let e = err("[[sip.peer]]\nname = \"p\"\nuri = \"sip:pbx.example.com\"\n");
    assert!(e.message.contains("IP-literal"), "{e}");
    let e = err("[sip]\ndigest_algorithms = [\"SHA-512\"]\n");
    assert_eq!(e.key, "sip.digest_algorithms");
}

#[test]
fn link_mode_and_congestion_keys() {
    let config = Config::from_toml(
        "t.toml",
        "[[trunk]]\nname = \"x\"\nmode = \"ipsp-de\"\n[trunk.congestion]\naccept_percent = [80, 40, 10]\n\
         abatement_ms = 700\n",
    )
    .expect("valid");
    let trunk = &config.trunks[0];
    assert_eq!(trunk.mode, LinkMode::IpspDouble);
    assert_eq!(
        trunk.mode.ipsp(),
        Some(crate::sigtran::m3ua::IpspExchange::Double)
    );
    assert_eq!(trunk.congestion.accept_percent, [80, 40, 10]);
    assert_eq!(trunk.congestion.abatement_ms, 700);
    assert_eq!(Config::default().trunks[0].mode.ipsp(), None);
    assert!(Config::from_toml("t.toml", "[[trunk]]\nname = \"x\"\nmode = \"ipsp\"\n").is_err());
    let e = err("[[trunk]]\nname = \"x\"\nmode = \"ipsp-se\"\nregister_routing_key = true\n");
    assert_eq!(e.key, "trunk[0].register_routing_key");
    let e = err("[[trunk]]\nname = \"x\"\n[trunk.congestion]\naccept_percent = [50, 101, 0]\n");
    assert_eq!(e.key, "trunk[0].congestion.accept_percent");
}
