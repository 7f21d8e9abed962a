//! The end-to-end rig: a real `tandem` process and a real `ss7sim` process talking M3UA over SCTP (userspace,
//! UDP-encapsulated on this host; kernel SCTP in the sctp-lab target), with SIPp playing the SIP side. Every
//! test gets its own ports, directory and event log, and every log is replayed when the test stops.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hickory_resolver::proto::op::{Edns, Message, Query, DEFAULT_MAX_PAYLOAD_LEN};
use hickory_resolver::proto::rr::{Name, RecordType};
use serde_json::Value;

/// Where the binaries under test are.
pub fn tandem_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tandem"))
}

/// `ss7sim` is built by the same workspace test run, next to `tandem`.
pub fn ss7sim_bin() -> PathBuf {
    tandem_bin().with_file_name("ss7sim")
}

/// The repository root (for scenarios and dialplans).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An ss7sim scenario that rings 50 ms after the IAM and answers `answer_after_ms` after it, in a temporary
/// directory that lives as long as the returned guard. Tests whose SIP side must see ringing before the answer
/// use it: under load (or across an STP that shares traffic round-robin) the default 150 ms between ACM and ANM
/// is not always enough.
pub fn late_answer_scenario(answer_after_ms: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("scenario dir");
    let path = dir.path().join("late_answer.toml");
    std::fs::write(
        &path,
        format!(
            "[[rule]]\nname = \"late answer\"\nprefix = \"\"\nacm_after_ms = 50\nanswer_after_ms = {answer_after_ms}\n"
        ),
    )
    .expect("scenario file");
    (dir, path)
}

/// A UDP port that is free now (and the same TCP port, for SIP which listens on both).
pub fn free_port(need_tcp: bool) -> u16 {
    for _ in 0..100 {
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else { continue };
        if need_tcp && TcpListener::bind(addr).is_err() {
            continue;
        }
        return addr.port();
    }
    panic!("no free port on 127.0.0.1");
}

/// Which transport the rig uses (the sctp-lab target uses kernel SCTP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Userspace SCTP over UDP.
    Udp,
    /// Linux kernel SCTP.
    Kernel,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Kernel => "kernel",
        }
    }
}

/// How to start the exchange simulator.
pub enum Exchange {
    /// `ss7sim serve` with the given scenario (None: the bundled default).
    Serve { scenario: Option<PathBuf> },
    /// `ss7sim call`, originating calls toward tandem.
    Call {
        to: String,
        count: u32,
        hold_ms: u64,
    },
}

/// How tandem and ss7sim find each other through an STP (both connect to it as M3UA ASPs).
#[derive(Clone, Debug)]
pub struct Stp {
    /// The STP's M3UA address.
    pub address: SocketAddr,
    /// tandem's point code (its routing key).
    pub tandem_pc: u32,
    /// ss7sim's point code (its routing key).
    pub exchange_pc: u32,
    /// Dynamic routing keys, or static routing contexts and local ports the STP knows.
    pub routing: StpRouting,
}

/// How each side gets its Application Server at the STP.
#[derive(Clone, Debug)]
pub enum StpRouting {
    /// RKM REG-REQ for the own point code.
    Dynamic,
    /// Configured ASes: routing contexts, and the local SCTP ports the STP expects.
    Static {
        tandem_rc: u32,
        tandem_port: u16,
        exchange_rc: u32,
        exchange_port: u16,
    },
}

/// Options for a rig.
pub struct RigOptions {
    /// The exchange's role.
    pub exchange: Exchange,
    /// Transport for M3UA.
    pub transport: Transport,
    /// Dialplan source (None: the embedded default).
    pub dialplan: Option<String>,
    /// Extra TOML appended to the trunk section.
    pub trunk_extra: String,
    /// Through an STP instead of tandem connecting to ss7sim directly.
    pub stp: Option<Stp>,
    /// Extra TOML appended to the `[sip]` section.
    pub sip_extra: String,
    /// Extra TOML lines in the `[dialplan]` section.
    pub dialplan_extra: String,
    /// Extra TOML sections (e.g. `[enum]`) placed before the trunk.
    pub config_extra: String,
    /// Extra arguments for ss7sim (e.g. `--max-asps 2`, `--mode ipsp-se`).
    pub exchange_extra: Vec<String>,
    /// The address tandem's SIP listens on (None: 127.0.0.1), e.g. `::1`.
    pub sip_ip: Option<std::net::IpAddr>,
    /// Network namespaces to run tandem (and SIPp) and ss7sim in, and the address ss7sim listens on
    /// there (tandem connects to it): `(tandem_netns, exchange_netns, exchange_ip)`.
    pub netns: Option<(String, String, String)>,
    /// ss7sim's transport when it differs from tandem's (`transport`), e.g. kernel SCTP facing tandem's
    /// userspace SCTP.
    pub exchange_transport: Option<Transport>,
    /// tandem's `udp_remote_port` when the peer's UDP encapsulation port is not ss7sim's usrsctp (e.g. a
    /// kernel's `net.sctp.udp_port`).
    pub udp_remote_port: Option<u16>,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            exchange: Exchange::Serve { scenario: None },
            transport: Transport::Udp,
            dialplan: None,
            trunk_extra: String::new(),
            stp: None,
            sip_extra: String::new(),
            dialplan_extra: String::new(),
            config_extra: String::new(),
            exchange_extra: Vec::new(),
            sip_ip: None,
            netns: None,
            exchange_transport: None,
            udp_remote_port: None,
        }
    }
}

/// A running tandem + ss7sim pair.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub sip: SocketAddr,
    pub stats: PathBuf,
    pub log: PathBuf,
    pub udp_ports: (u16, u16),
    tandem: Option<Child>,
    exchange: Option<Child>,
    /// ss7sim's command line, to start it again.
    exchange_args: Vec<std::ffi::OsString>,
    exchange_starts: u32,
    /// Namespaces of tandem (and SIPp) and of ss7sim, if any.
    tandem_netns: Option<String>,
    exchange_netns: Option<String>,
}

/// `program`, run inside network namespace `netns` when one is given (`ip netns exec` execs it, so the child's
/// pid is the program's).
pub fn command_in(netns: Option<&str>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match netns {
        Some(netns) => {
            let mut command = Command::new("ip");
            command.arg("netns").arg("exec").arg(netns).arg(program);
            command
        }
        None => Command::new(program),
    }
}

impl Rig {
    /// Starts both processes and waits until tandem's ASP is active at the exchange.
    pub fn start(options: RigOptions) -> Rig {
        let dir = tempfile::tempdir().expect("temp dir");
        let sip_port = free_port(true);
        let sctp_port = free_port(false);
        let udp_tandem = free_port(false);
        let udp_exchange = free_port(false);
        let sip_ip = options
            .sip_ip
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        let sip = SocketAddr::new(sip_ip, sip_port);
        let stats = dir.path().join("ss7sim-stats.json");
        let log = dir.path().join("events.sqlite");
        let dialplan_line = match &options.dialplan {
            Some(source) => {
                let path = dir.path().join("dialplan.rhai");
                std::fs::write(&path, source).expect("write dialplan");
                format!("path = {:?}\n", path.display().to_string())
            }
            None => String::new(),
        };
        let exchange_ip = options
            .netns
            .as_ref()
            .map_or("127.0.0.1".to_owned(), |(_, _, ip)| ip.clone());
        let (remote, opc, dpc, m3ua_lines) = match &options.stp {
            None => (format!("{exchange_ip}:{sctp_port}"), 1, 2, String::new()),
            Some(stp) => {
                let lines = match stp.routing {
                    StpRouting::Dynamic => "register_routing_key = true\n".to_owned(),
                    StpRouting::Static {
                        tandem_rc,
                        tandem_port,
                        ..
                    } => format!(
                        "routing_context = {tandem_rc}\nlocal = \"127.0.0.1:{tandem_port}\"\n"
                    ),
                };
                (
                    stp.address.to_string(),
                    stp.tandem_pc,
                    stp.exchange_pc,
                    lines,
                )
            }
        };
        let config = format!(
            r#"
[sip]
listen = "{sip}"
{sip_extra}

[event_log]
path = {log:?}

[dialplan]
{dialplan_line}{dialplan_extra}
{config_extra}
[[trunk]]
name = "pstn"
transport = "{transport}"
remote = "{remote}"
udp_local_port = {udp_tandem}
udp_remote_port = {udp_remote}
opc = {opc}
dpc = {dpc}
cic_first = 1
cic_last = 31
{m3ua_lines}{extra}
"#,
            log = log.display().to_string(),
            transport = options.transport.name(),
            udp_remote = options.udp_remote_port.unwrap_or(udp_exchange),
            extra = options.trunk_extra,
            sip_extra = options.sip_extra,
            dialplan_extra = options.dialplan_extra,
            config_extra = options.config_extra,
        );
        let config_path = dir.path().join("tandem.toml");
        std::fs::write(&config_path, config).expect("write config");

        let mut exchange = Command::new(ss7sim_bin());
        match &options.exchange {
            Exchange::Serve { scenario } => {
                exchange.arg("serve");
                if let Some(scenario) = scenario {
                    exchange.arg("--scenario").arg(scenario);
                }
            }
            Exchange::Call { to, count, hold_ms } => {
                exchange
                    .arg("call")
                    .arg("--to")
                    .arg(to)
                    .arg("--count")
                    .arg(count.to_string())
                    .arg("--hold-ms")
                    .arg(hold_ms.to_string());
            }
        }
        exchange.args(&options.exchange_extra);
        exchange
            .arg("--listen")
            .arg(format!("{exchange_ip}:{sctp_port}"))
            .arg("--transport")
            .arg(
                options
                    .exchange_transport
                    .unwrap_or(options.transport)
                    .name(),
            )
            .arg("--udp-port")
            .arg(udp_exchange.to_string())
            .arg("--stats")
            .arg(&stats);
        if let Some(stp) = &options.stp {
            exchange
                .arg("--connect")
                .arg(stp.address.to_string())
                .arg("--opc")
                .arg(stp.exchange_pc.to_string())
                .arg("--dpc")
                .arg(stp.tandem_pc.to_string());
            match stp.routing {
                StpRouting::Dynamic => {
                    exchange.arg("--register-routing-key");
                }
                StpRouting::Static {
                    exchange_rc,
                    exchange_port,
                    ..
                } => {
                    exchange
                        .arg("--routing-context")
                        .arg(exchange_rc.to_string())
                        .arg("--local")
                        .arg(format!("127.0.0.1:{exchange_port}"));
                }
            }
        }
        let exchange_args: Vec<std::ffi::OsString> =
            exchange.get_args().map(ToOwned::to_owned).collect();
        let tandem_netns = options.netns.as_ref().map(|(t, _, _)| t.clone());
        let exchange_netns = options.netns.as_ref().map(|(_, e, _)| e.clone());
        let exchange = command_in(exchange_netns.as_deref(), ss7sim_bin())
            .args(&exchange_args)
            .stdout(Stdio::null())
            .stderr(log_file(dir.path(), "ss7sim.log"))
            .spawn()
            .expect("start ss7sim");
        // Let the exchange listen before tandem's first connect (tandem retries anyway).
        std::thread::sleep(Duration::from_millis(200));
        let tandem = command_in(tandem_netns.as_deref(), tandem_bin())
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .arg("--seed")
            .arg("42")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file(dir.path(), "tandem.log"))
            .spawn()
            .expect("start tandem");
        let rig = Rig {
            dir,
            sip,
            stats,
            log,
            udp_ports: (udp_tandem, udp_exchange),
            tandem: Some(tandem),
            exchange: Some(exchange),
            exchange_args,
            exchange_starts: 1,
            tandem_netns,
            exchange_netns,
        };
        rig.wait_for(
            Duration::from_secs(20),
            "tandem's ASP active at ss7sim (through an STP: ss7sim's own ASP active)",
            |stats| stats["asp_active"] == Value::Bool(true),
        );
        if options.stp.is_some() {
            rig.wait_for_tandem_log(Duration::from_secs(20), "ASP ActivePending -> Active");
        }
        rig
    }

    /// Waits until tandem's log (RUST_LOG=info) has a line containing `text`.
    pub fn wait_for_tandem_log(&self, timeout: Duration, text: &str) {
        self.wait_for_tandem_log_times(timeout, text, 1);
    }

    /// Waits until tandem's log has `times` lines containing `text`.
    pub fn wait_for_tandem_log_times(&self, timeout: Duration, text: &str, times: usize) {
        let deadline = Instant::now() + timeout;
        let path = self.dir.path().join("tandem.log");
        while !std::fs::read_to_string(&path).is_ok_and(|log| log.matches(text).count() >= times) {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {text:?} in tandem's log\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Process id of the running tandem.
    pub fn tandem_pid(&self) -> Option<u32> {
        self.tandem.as_ref().map(Child::id)
    }

    /// The exchange's process id, while it runs.
    pub fn exchange_pid(&self) -> Option<u32> {
        self.exchange.as_ref().map(Child::id)
    }

    /// The exchange's statistics file, parsed.
    pub fn stats(&self) -> Value {
        std::fs::read_to_string(&self.stats)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null)
    }

    /// Waits until `check` holds for the exchange's statistics; fails the test with the logs otherwise.
    pub fn wait_for(&self, timeout: Duration, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if check(&stats) {
                return stats;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; stats: {stats}\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many `kind` messages ss7sim received (`received`) or sent (`sent`).
    pub fn count(stats: &Value, direction: &str, kind: &str) -> u64 {
        stats[direction][kind].as_u64().unwrap_or(0)
    }

    /// Runs a SIPp scenario from tests/sipp against tandem; returns its output.
    pub fn sipp(&self, scenario: &str, service: &str, calls: u32, extra: &[&str]) -> Output {
        self.sipp_command(scenario, service, calls, extra)
            .output()
            .expect("run sipp (is sip-tester installed?)")
    }

    /// The SIPp command line of [`Rig::sipp`], to start it in the background.
    pub fn sipp_command(
        &self,
        scenario: &str,
        service: &str,
        calls: u32,
        extra: &[&str],
    ) -> Command {
        self.sipp_command_to(self.sip, scenario, service, calls, extra)
    }

    /// [`Rig::sipp_command`] sending to `target` (a relay in front of tandem) instead of tandem itself.
    pub fn sipp_command_to(
        &self,
        target: SocketAddr,
        scenario: &str,
        service: &str,
        calls: u32,
        extra: &[&str],
    ) -> Command {
        let local_port = free_port(false);
        let mut command = command_in(self.tandem_netns.as_deref(), "sipp");
        command
            .arg("-sf")
            .arg(repo().join("tests/sipp").join(scenario))
            .arg("-s")
            .arg(service)
            .arg("-i")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(local_port.to_string())
            // SIPp's RTP echo socket defaults to port 6000 for every instance; tests run in parallel.
            .arg("-mp")
            .arg(free_port(false).to_string())
            .arg("-m")
            .arg(calls.to_string())
            .arg("-r")
            .arg("10")
            .arg("-l")
            .arg("20")
            .arg("-timeout")
            .arg("60s")
            .arg("-timeout_error")
            .arg("-nostdin")
            .arg("-trace_err")
            .arg("-error_file")
            .arg(self.dir.path().join(format!("sipp-{scenario}-errors.log")))
            .args(extra)
            .arg(target.to_string())
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }

    /// Starts one SIPp call that is answered and held `hold_ms` before its BYE, and one to 992… that the default
    /// scenario lets ring unanswered (it must end with 503); returns (held, ringing) once ss7sim has answered the one
    /// and alerted both.
    pub fn hold_one_ring_one(&self, hold_ms: u64) -> (Child, Child) {
        let held = self
            .sipp_command(
                "uac_basic.xml",
                "4930123456",
                1,
                &["-d", &hold_ms.to_string()],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sipp");
        let ringing = self
            .sipp_command("uac_reject_503.xml", "9920001", 1, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sipp");
        self.wait_for(
            Duration::from_secs(10),
            "one call answered, one ringing",
            |s| Rig::count(s, "sent", "ANM") >= 1 && Rig::count(s, "sent", "ACM") >= 2,
        );
        (held, ringing)
    }

    /// Asserts a SIPp run succeeded, showing everything useful when it did not.
    pub fn assert_sipp_ok(&self, output: &Output, what: &str) {
        if !output.status.success() {
            panic!(
                "SIPp {what} failed: {:?}\nstdout:\n{}\nstderr:\n{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                self.logs()
            );
        }
    }

    /// Both processes' logs and SIPp's error files, for failure messages.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                let path = entry.path();
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                if name.ends_with(".log") {
                    let content = std::fs::read_to_string(&path).unwrap_or_default();
                    let tail: Vec<&str> = content.lines().rev().take(60).collect();
                    text.push_str(&format!("---- {name} (last lines) ----\n"));
                    for line in tail.into_iter().rev() {
                        text.push_str(line);
                        text.push('\n');
                    }
                }
            }
        }
        text
    }

    /// Waits for the exchange process to exit (for `ss7sim call`), returning its success.
    pub fn wait_exchange(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Some(child) = self.exchange.as_mut() else {
            return false;
        };
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.exchange = None;
                return status.success();
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the exchange process outright (SIGKILL: its SCTP stack aborts the association).
    pub fn kill_exchange(&mut self) {
        if let Some(mut exchange) = self.exchange.take() {
            let _ = exchange.kill();
            let _ = exchange.wait();
        }
    }

    /// Starts the exchange again with the same command line (a fresh process: no calls, no state); its
    /// statistics file starts over and its log goes to `ss7sim-N.log`.
    pub fn restart_exchange(&mut self) {
        self.kill_exchange();
        let _ = std::fs::remove_file(&self.stats);
        self.exchange_starts += 1;
        let log = format!("ss7sim-{}.log", self.exchange_starts);
        let child = command_in(self.exchange_netns.as_deref(), ss7sim_bin())
            .args(&self.exchange_args)
            .stdout(Stdio::null())
            .stderr(log_file(self.dir.path(), &log))
            .spawn()
            .expect("restart ss7sim");
        self.exchange = Some(child);
    }

    /// Replaces a serving exchange with `ss7sim call` on the same ports (for tests that must prepare the SIP
    /// side before the first IAM, e.g. register a user); tandem's association is re-established first.
    pub fn start_exchange_call(&mut self, to: &str, count: u32, hold_ms: u64) {
        self.kill_exchange();
        let _ = std::fs::remove_file(&self.stats);
        self.exchange_starts += 1;
        let log = format!("ss7sim-{}.log", self.exchange_starts);
        let serve_args = self
            .exchange_args
            .iter()
            .skip_while(|a| !a.to_string_lossy().starts_with("--listen"));
        let child = Command::new(ss7sim_bin())
            .arg("call")
            .arg("--to")
            .arg(to)
            .arg("--count")
            .arg(count.to_string())
            .arg("--hold-ms")
            .arg(hold_ms.to_string())
            .args(serve_args)
            .stdout(Stdio::null())
            .stderr(log_file(self.dir.path(), &log))
            .spawn()
            .expect("start ss7sim call");
        self.exchange = Some(child);
    }

    /// Stops tandem (SIGTERM, so it flushes its log) and the exchange; returns the log path.
    pub fn stop(&mut self) -> PathBuf {
        if let Some(mut tandem) = self.tandem.take() {
            terminate(&mut tandem);
        }
        if let Some(mut exchange) = self.exchange.take() {
            terminate(&mut exchange);
        }
        self.log.clone()
    }

    /// Stops the rig and checks that its log replays with no divergence.
    pub fn stop_and_replay(&mut self) -> String {
        let log = self.stop();
        let output = Command::new(tandem_bin())
            .arg("replay")
            .arg(&log)
            .output()
            .expect("run tandem replay");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success() && stdout.contains(" 0 divergences"),
            "replay of {} failed: {stdout}{}\n{}",
            log.display(),
            String::from_utf8_lossy(&output.stderr),
            self.logs()
        );
        stdout
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop();
    }
}

fn terminate(child: &mut Child) {
    // SIGTERM first so the process can flush; then make sure it is gone.
    unsafe_kill(child.id());
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

fn log_file(dir: &Path, name: &str) -> Stdio {
    match std::fs::File::create(dir.join(name)) {
        Ok(file) => Stdio::from(file),
        Err(_) => Stdio::null(),
    }
}

/// Waits for a child; `Some(success)` if it exited in time, `None` (after killing it) otherwise.
pub fn wait_child(child: &mut std::process::Child, timeout: Duration) -> Option<bool> {
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

/// NSD serving zones on a loopback port (UDP and TCP); stopped on drop.
pub struct ZoneServer {
    child: Child,
    /// The UDP and TCP port it answers on.
    pub port: u16,
}

impl Drop for ZoneServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts NSD serving one zone (zone-file text) for `origin`, with its files in `dir`; returns once it answers.
pub fn serve_zone(dir: &Path, origin: &str, zone: &str) -> ZoneServer {
    serve_zones(dir, &[(origin, Some(zone))])
}

/// NSD on a free loopback port serving `zones`: (origin, zone file text); `None` names a zone whose file is
/// missing, which NSD answers with SERVFAIL.
pub fn serve_zones(dir: &Path, zones: &[(&str, Option<&str>)]) -> ZoneServer {
    let port = free_port(true);
    let d = dir.display();
    let mut config = format!(
        "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  zonelistfile: \"{d}/zone.list\"\n  logfile: \"{d}/nsd.log\"\n  server-count: 1\n  verbosity: 2\nremote-control:\n  control-enable: no\n"
    );
    for (origin, text) in zones {
        let file = dir.join(format!("{origin}.zone"));
        if let Some(text) = text {
            std::fs::write(&file, text).expect("zone file");
        }
        config.push_str(&format!(
            "zone:\n  name: {origin}\n  zonefile: \"{}\"\n",
            file.display()
        ));
    }
    let config_path = dir.join("nsd.conf");
    std::fs::write(&config_path, config).expect("nsd.conf");
    let child = Command::new("nsd")
        .arg("-d")
        .arg("-c")
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nsd (is the nsd package installed?)");
    let nsd = ZoneServer { child, port };
    // Ready when it answers anything (SERVFAIL included) for the first zone.
    let deadline = Instant::now() + Duration::from_secs(10);
    while dns_udp_query(port, zones[0].0).is_none() {
        assert!(
            Instant::now() < deadline,
            "nsd did not answer: {}",
            std::fs::read_to_string(dir.join("nsd.log")).unwrap_or_default()
        );
    }
    nsd
}

/// One NAPTR query over UDP offering the EDNS0 payload size hickory-resolver offers (1232 octets); the
/// response, if one came within 100 ms.
pub fn dns_udp_query(port: u16, domain: &str) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .ok()?;
    let mut query = Message::query();
    query.add_query(Query::query(
        Name::from_ascii(domain).ok()?,
        RecordType::NAPTR,
    ));
    let mut edns = Edns::new();
    edns.set_max_payload(DEFAULT_MAX_PAYLOAD_LEN);
    query.edns = Some(edns);
    socket
        .send_to(&query.to_vec().ok()?, ("127.0.0.1", port))
        .ok()?;
    let mut buffer = [0u8; 4096];
    let length = socket.recv(&mut buffer).ok()?;
    Message::from_vec(buffer.get(..length)?).ok()
}
