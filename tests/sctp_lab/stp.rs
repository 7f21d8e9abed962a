//! tandem and ss7sim both as M3UA ASPs of a real STP (osmo-stp), over kernel SCTP in the lab guest: with
//! dynamic routing keys (RKM REG-REQ) against the lab's osmo-stp on 127.0.0.1:2905, and with static routing
//! contexts against our own osmo-stp (`tests/data/osmo-stp-static.cfg`, started here). SIPp calls pass
//! through the STP; tshark on the capture of the dynamic case shows the registration, activation and DATA.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tandem::sigtran::sctp::{connect, kernel_sctp_available, SctpConfig, TransportKind};

use crate::harness::{repo, Rig, RigOptions, Stp, StpRouting, Transport};

/// ITU 3-8-3 point code z.aaa.s as an integer.
pub(crate) const fn pc(zone: u32, area: u32, sp: u32) -> u32 {
    (zone << 11) | (area << 3) | sp
}

/// Whether an SCTP association to `stp` can be set up now (an osmo-stp listens there).
fn stp_listening(stp: SocketAddr) -> bool {
    let config = SctpConfig {
        kind: TransportKind::Kernel,
        ..SctpConfig::default()
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    runtime.block_on(async {
        matches!(
            tokio::time::timeout(Duration::from_secs(5), connect(&config, None, stp)).await,
            Ok(Ok(_))
        )
    })
}

pub(crate) fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// tshark capturing `filter` on lo into `pcap`; returns once the capture runs.
fn start_capture(pcap: &Path, filter: &str) -> Child {
    let capture = Command::new("tshark")
        .args(["-i", "lo", "-f", filter, "-w"])
        .arg(pcap)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tshark");
    // The pcap header is written when the capture starts (seconds in the UML guest).
    let started = wait_until(Duration::from_secs(20), || {
        std::fs::metadata(pcap).is_ok_and(|m| m.len() > 0)
    });
    assert!(started, "tshark did not start capturing");
    std::thread::sleep(Duration::from_millis(300));
    capture
}

fn stop_capture(mut capture: Child) {
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(capture.id().to_string())
        .status();
    let _ = capture.wait();
}

/// One row per M3UA message: class, type, routing context, OPC, DPC, registration status, ISUP type.
fn m3ua_rows(pcap: &Path) -> Vec<Vec<String>> {
    let output = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "m3ua",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-E",
            "occurrence=f",
        ])
        .args(["-e", "m3ua.message_class", "-e", "m3ua.message_type"])
        .args(["-e", "m3ua.routing_context", "-e", "m3ua.protocol_data_opc"])
        .args([
            "-e",
            "m3ua.protocol_data_dpc",
            "-e",
            "m3ua.registration_status",
        ])
        .args([
            "-e",
            "isup.message_type",
            "-e",
            "sctp.data_payload_proto_id",
        ])
        .output()
        .expect("run tshark -r");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split('|').map(str::to_owned).collect())
        .collect()
}

/// Five basic calls through the STP; ss7sim saw and answered each.
fn five_calls(rig: &mut Rig) {
    let output = rig.sipp("uac_basic.xml", "4930123456", 5, &[]);
    rig.assert_sipp_ok(&output, "uac_basic x5 through osmo-stp");
    let stats = rig.wait_for(Duration::from_secs(10), "5 RLC sent", |s| {
        Rig::count(s, "sent", "RLC") >= 5
    });
    assert_eq!(Rig::count(&stats, "received", "IAM"), 5, "{stats}");
    assert_eq!(Rig::count(&stats, "sent", "ANM"), 5, "{stats}");
    rig.wait_for(Duration::from_secs(10), "all CICs idle", |s| {
        s["busy_cics"].as_u64() == Some(0)
    });
}

#[test]
fn calls_through_osmo_stp_with_dynamic_routing_keys() {
    let stp: SocketAddr = "127.0.0.1:2905".parse().expect("address");
    if !kernel_sctp_available() || !stp_listening(stp) {
        eprintln!("skipped: needs kernel SCTP and osmo-stp on {stp} (sctp-lab --osmo-stp)");
        return;
    }
    let (tandem_pc, exchange_pc) = (pc(0, 23, 2), pc(0, 23, 3));
    let capture_dir = tempfile::tempdir().expect("temp dir");
    let pcap = capture_dir.path().join("stp.pcap");
    let capture = start_capture(&pcap, "sctp port 2905");
    let mut rig = Rig::start(RigOptions {
        transport: Transport::Kernel,
        stp: Some(Stp {
            address: stp,
            tandem_pc,
            exchange_pc,
            routing: StpRouting::Dynamic,
        }),
        ..RigOptions::default()
    });
    rig.wait_for_tandem_log(Duration::from_secs(5), "routing key registered");
    five_calls(&mut rig);
    // The operator's view, from the live log.
    let links = Command::new(crate::harness::tandem_bin())
        .arg("links")
        .arg(&rig.log)
        .output()
        .expect("run tandem links");
    let links = String::from_utf8_lossy(&links.stdout);
    for expected in [
        "trunk pstn",
        "association     up",
        "ASP             Active",
        "AS (NTFY)       AS-ACTIVE",
        "dynamic routing key",
        // tandem audited its destination (DAUD) and osmo-stp answered DAVA.
        &format!("destination     DPC {exchange_pc}: Available"),
    ] {
        assert!(links.contains(expected), "{expected:?} in:\n{links}");
    }
    stop_capture(capture);
    let rows = m3ua_rows(&pcap);
    let dump = rows
        .iter()
        .map(|r| r.join("|"))
        .collect::<Vec<_>>()
        .join("\n");
    let has = |check: &dyn Fn(&[String]) -> bool| rows.iter().any(|row| check(row));
    // RKM (class 9) REG-RSP (type 2) with status 0 for each of the two ASPs.
    let registered = rows
        .iter()
        .filter(|r| r[0] == "9" && r[1] == "2" && r[5] == "0")
        .count();
    assert!(registered >= 2, "two successful REG-RSP:\n{dump}");
    // ASPTM (4) ASPAC (1) and ASPAC-ACK (3) carrying a routing context.
    assert!(
        has(&|r| r[0] == "4" && r[1] == "1" && !r[2].is_empty()),
        "ASPAC with RC:\n{dump}"
    );
    assert!(has(&|r| r[0] == "4" && r[1] == "3"), "ASPAC-ACK:\n{dump}");
    // Transfer (1) DATA (1), PPID 3: IAM from tandem's to ss7sim's point code (both legs: into and out of the
    // STP), ANM back.
    let iams = rows
        .iter()
        .filter(|r| r[0] == "1" && r[1] == "1" && r[6] == "1")
        .inspect(|r| {
            assert_eq!(
                r[3..5],
                [tandem_pc.to_string(), exchange_pc.to_string()],
                "IAM: {r:?}"
            );
            assert_eq!(r[7], "3", "PPID of {r:?}");
            assert!(!r[2].is_empty(), "DATA without routing context: {r:?}");
        })
        .count();
    assert_eq!(iams, 10, "5 IAMs into and 5 out of the STP:\n{dump}");
    assert!(
        has(&|r| r[6] == "9" && r[3] == exchange_pc.to_string() && r[4] == tandem_pc.to_string()),
        "ANM from ss7sim to tandem:\n{dump}"
    );
    rig.stop_and_replay();
}

/// Our own osmo-stp with configured ASes (the lab's listens on 2905 and its VTY on 127.0.0.1:4239; this one
/// uses 2915 and 127.0.0.2:4239, or what the configuration given to [`OwnStp::start_with`] says).
pub(crate) struct OwnStp {
    child: Child,
    dir: tempfile::TempDir,
    starts: u32,
    config: &'static str,
    address: SocketAddr,
}

impl OwnStp {
    /// Starts osmo-stp with tests/data/osmo-stp-static.cfg and waits until it listens; `None` outside the lab.
    fn start() -> Option<OwnStp> {
        Self::start_with("tests/data/osmo-stp-static.cfg", STATIC_STP)
    }

    /// Starts osmo-stp with `config` (relative to the repository) listening for M3UA on `address`.
    pub(crate) fn start_with(config: &'static str, address: SocketAddr) -> Option<OwnStp> {
        if !kernel_sctp_available() || Command::new("osmo-stp").arg("--version").output().is_err() {
            eprintln!("skipped: needs kernel SCTP and osmo-stp (run in the sctp lab)");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Self::spawn(dir.path(), config, 1);
        let stp = OwnStp {
            child,
            dir,
            starts: 1,
            config,
            address,
        };
        stp.wait_listening();
        Some(stp)
    }

    fn spawn(dir: &Path, config: &str, start: u32) -> Child {
        let log =
            std::fs::File::create(dir.join(format!("osmo-stp-{start}.log"))).expect("log file");
        Command::new("osmo-stp")
            .arg("-c")
            .arg(repo().join(config))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start osmo-stp")
    }

    /// The STP's log so far (of its current process).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(
            self.dir
                .path()
                .join(format!("osmo-stp-{}.log", self.starts)),
        )
        .unwrap_or_default()
    }

    fn wait_listening(&self) {
        assert!(
            wait_until(Duration::from_secs(10), || stp_listening(self.address)),
            "our osmo-stp did not listen: {}",
            std::fs::read_to_string(
                self.dir
                    .path()
                    .join(format!("osmo-stp-{}.log", self.starts))
            )
            .unwrap_or_default()
        );
    }

    /// SIGKILL (the kernel aborts every association), then a fresh process with the same configuration.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.starts += 1;
        self.child = Self::spawn(self.dir.path(), self.config, self.starts);
        self.wait_listening();
    }
}

impl Drop for OwnStp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const STATIC_STP: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 2915);

fn static_rig() -> Rig {
    Rig::start(RigOptions {
        transport: Transport::Kernel,
        stp: Some(Stp {
            address: STATIC_STP,
            tandem_pc: pc(0, 24, 2),
            exchange_pc: pc(0, 24, 3),
            routing: StpRouting::Static {
                tandem_rc: 21,
                tandem_port: 29212,
                exchange_rc: 22,
                exchange_port: 29213,
            },
        }),
        ..RigOptions::default()
    })
}

/// Static routing contexts; then the STP is killed and restarted with a call held up: tandem and ss7sim reconnect
/// by themselves (back-off), the held call survives and is released cleanly, and new calls pass again.
#[test]
fn calls_through_osmo_stp_with_static_routing_contexts_and_an_stp_restart() {
    let Some(mut stp) = OwnStp::start() else {
        return;
    };
    let mut rig = static_rig();
    five_calls(&mut rig);
    let held = rig
        .sipp_command("uac_basic.xml", "4930123456", 1, &["-d", "8000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sipp");
    rig.wait_for(Duration::from_secs(10), "the held call answered", |s| {
        Rig::count(s, "sent", "ANM") >= 6
    });
    // ss7sim counts the ANM when it sends it; let it cross the STP and tandem answer SIP before the STP dies
    // (a call whose ANM is lost is still in set-up, and is rightly cleared).
    std::thread::sleep(Duration::from_millis(1500));
    stp.restart();
    rig.wait_for_tandem_log(Duration::from_secs(10), "SCTP association down");
    // ss7sim's statistics count associations; the second one is up and its ASP active again.
    rig.wait_for(
        Duration::from_secs(20),
        "ss7sim back through the STP",
        |s| {
            s["associations"].as_u64() == Some(2)
                && s["asp_active"] == serde_json::Value::Bool(true)
        },
    );
    rig.wait_for_tandem_log_times(Duration::from_secs(20), "ASP ActivePending -> Active", 2);
    let held = held.wait_with_output().expect("sipp");
    rig.assert_sipp_ok(&held, "call held across the STP restart");
    let output = rig.sipp("uac_basic.xml", "4930123456", 2, &[]);
    rig.assert_sipp_ok(&output, "calls after the STP restart");
    rig.stop_and_replay();
}
