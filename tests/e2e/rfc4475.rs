//! The RFC 4475 torture messages sent to a running tandem over real UDP and TCP sockets, each checked against
//! the verdict table in `tests/data/rfc4475/verdicts.toml`. `run_corpus` also serves the RFC 5118 (IPv6) run.
//!
//! The messages name foreign hosts (Via, Contact, Route), so the test re-runs itself inside a private network
//! namespace (`unshare -n`, loopback up) where nothing can leave the machine. Responses over UDP must reach the
//! address RFC 3261 §18.2.2 gives: the packet's source IP (the implied `received`) with the Via sent-by port, or
//! the source port when the Via has `rport` (RFC 3581) — never a name from the message. The test listens on
//! those loopback ports and asserts where each response arrived.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{repo, Rig, RigOptions};

const IN_NETNS: &str = "TANDEM_TEST_IN_NETNS";
/// RFC 3261 T1 of the tandem under test, in milliseconds.
const T1_MS: u64 = 5;

#[derive(Debug, serde::Deserialize)]
struct Case {
    file: String,
    section: String,
    udp: String,
    tcp: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Verdicts {
    case: Vec<Case>,
}

#[test]
fn rfc4475_messages_over_udp_and_tcp_in_a_private_namespace() {
    if rerun_in_namespace("rfc4475::rfc4475_messages_over_udp_and_tcp_in_a_private_namespace") {
        return;
    }
    run_corpus("rfc4475", 49, IpAddr::from([127, 0, 0, 1]));
}

/// Outside the namespace: runs the test `name` again inside a private network namespace (loopback up) and
/// checks it passed there; returns true. Inside: returns false, and the caller runs the test.
pub(crate) fn rerun_in_namespace(name: &str) -> bool {
    if std::env::var_os(IN_NETNS).is_some() {
        return false;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let output = Command::new("unshare")
        .args(["--net", "--map-root-user", "--", "sh", "-c"])
        .arg("ip link set lo up && exec \"$0\" \"$@\"")
        .arg(exe)
        .args(["--exact", name, "--nocapture"])
        .env(IN_NETNS, "1")
        .output()
        .expect("run unshare (util-linux)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && text.contains("1 passed"),
        "the test inside the namespace failed:\n{text}"
    );
    true
}

/// Sends every message of `tests/data/{rfc}` to a tandem listening on `ip` over UDP and TCP and checks each
/// first response against the corpus's verdict table, and where each UDP response went.
pub(crate) fn run_corpus(rfc: &str, count: usize, ip: IpAddr) {
    let dir = repo().join("tests/data").join(rfc);
    let table = std::fs::read_to_string(dir.join("verdicts.toml")).unwrap();
    let cases = toml::from_str::<Verdicts>(&table).unwrap().case;
    assert_eq!(cases.len(), count);
    // RFC 4475 reuses branch values across messages (unkscm and novelsc, cparam01 and cparam02, ...), and
    // the same bytes go over UDP and then TCP: a message sent while the server transaction of an earlier
    // one with the same key lives is a retransmission (RFC 3261 §17.2.3). A short T1 makes Timers H and J
    // (64·T1) end those transactions quickly, and the test waits them out between such messages.
    let mut rig = Rig::start(RigOptions {
        sip_extra: format!("t1_ms = {T1_MS}\n"),
        sip_ip: Some(ip),
        ..RigOptions::default()
    });
    let mut listeners = Listeners {
        ip,
        by_port: BTreeMap::new(),
    };
    let mut wrong = Vec::new();
    let mut last_sent: BTreeMap<String, Instant> = BTreeMap::new();
    let mut wait_out = |data: &[u8]| {
        let key = transaction_key(data);
        if let Some(at) = last_sent.get(&key) {
            let until = *at + Duration::from_millis(64 * T1_MS + 200);
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
        }
        last_sent.insert(key, Instant::now());
    };
    for case in &cases {
        let data = std::fs::read(dir.join(&case.file)).unwrap();
        wait_out(&data);
        let udp = udp_verdict(&mut listeners, rig.sip, &data);
        wait_out(&data);
        if udp != case.udp {
            wrong.push(format!(
                "{} (§{}) over UDP: {udp}, want {}",
                case.file, case.section, case.udp
            ));
        }
        let tcp = tcp_verdict(rig.sip, &data);
        let want = case.tcp.as_deref().unwrap_or(&case.udp);
        if tcp != want {
            wrong.push(format!(
                "{} (§{}) over TCP: {tcp}, want {want}",
                case.file, case.section
            ));
        }
        eprintln!("{:14} §{:9} udp {udp:5} tcp {tcp}", case.file, case.section);
    }
    assert!(
        wrong.is_empty(),
        "{rfc} verdicts differ:\n{}\n{}",
        wrong.join("\n"),
        rig.logs()
    );
    rig.stop_and_replay();
}

/// UDP sockets bound to the Via sent-by ports the messages name, on loopback.
struct Listeners {
    ip: IpAddr,
    by_port: BTreeMap<u16, UdpSocket>,
}

impl Listeners {
    fn on(&mut self, port: u16) -> &UdpSocket {
        self.by_port.entry(port).or_insert_with(|| {
            let socket = UdpSocket::bind((self.ip, port)).expect("bind a Via port");
            socket.set_nonblocking(true).unwrap();
            socket
        })
    }
}

/// The top Via of a raw message: its sent-by port (5060 when absent) and whether it has `rport`.
fn top_via(data: &[u8]) -> (u16, bool) {
    let text = String::from_utf8_lossy(data);
    let mut value = String::new();
    let mut inside = false;
    for line in text.split("\r\n").skip(1) {
        if line.is_empty() {
            break;
        }
        if inside && line.starts_with([' ', '\t']) {
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        if inside {
            break;
        }
        if let Some((name, rest)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("via") || name.eq_ignore_ascii_case("v") {
                inside = true;
                value = rest.trim().to_string();
            }
        }
    }
    let first = value.split(',').next().unwrap_or_default();
    let sent_by = first
        .split(';')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .last()
        .unwrap_or_default();
    let port = sent_by
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or(5060);
    (port, first.to_ascii_lowercase().contains(";rport"))
}

/// The top Via's branch and sent-by, which with the method key a server transaction (RFC 3261 §17.2.3).
fn transaction_key(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let branch = head
        .split("branch=")
        .nth(1)
        .and_then(|b| b.split([';', ',', '\r', ' ']).next())
        .unwrap_or_default();
    format!("{branch} {:?}", top_via(data))
}

/// What identifies this message's responses among others arriving on a shared port: its Call-ID, else its
/// top Via branch.
fn cseq_of(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("cseq"))
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default()
}

fn key_of(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("call-id") || name.eq_ignore_ascii_case("i") {
                return value.trim().to_string();
            }
        }
    }
    head.split("branch=")
        .nth(1)
        .and_then(|b| b.split([';', ',', '\r', ' ']).next())
        .unwrap_or_default()
        .to_string()
}

fn status_of(text: &str) -> Option<String> {
    let line = text.strip_prefix("SIP/2.0 ")?;
    Some(line.get(..3)?.to_string())
}

/// Sends the message as one datagram; returns the first response status, or "none".
fn udp_verdict(listeners: &mut Listeners, tandem: SocketAddr, data: &[u8]) -> String {
    let sender = UdpSocket::bind((listeners.ip, 0)).unwrap();
    sender.set_nonblocking(true).unwrap();
    let sender_port = sender.local_addr().unwrap().port();
    let (via_port, rport) = top_via(data);
    let expected_port = if rport { sender_port } else { via_port };
    listeners.on(via_port);
    let key = key_of(data);
    // RFC 5118 reuses one Call-ID in several messages: a late final response to an earlier INVITE must not
    // count for the next message, so the CSeq must match too.
    let cseq = cseq_of(data);
    sender.send_to(data, tandem).unwrap();
    // A response arrives within milliseconds on loopback; "none" needs a quiet period to be believed.
    let deadline = Instant::now() + Duration::from_millis(700);
    let mut buffer = vec![0u8; 65_536];
    while Instant::now() < deadline {
        let mut sockets: Vec<(u16, &UdpSocket)> = vec![(sender_port, &sender)];
        sockets.extend(listeners.by_port.iter().map(|(port, s)| (*port, s)));
        for (port, socket) in sockets {
            while let Ok((length, from)) = socket.recv_from(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..length]).to_string();
                let Some(status) = status_of(&text) else {
                    continue;
                };
                if !key.is_empty() && !text.contains(&key)
                    || !cseq.is_empty() && !text.contains(&cseq)
                {
                    continue;
                }
                assert_eq!(from, tandem, "response not from tandem's socket");
                assert_eq!(
                    port, expected_port,
                    "RFC 3261 §18.2.2: response to port {port}, want {expected_port}:\n{text}"
                );
                return status;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    "none".to_string()
}

/// Writes the message on a new TCP connection; returns the first response status, "none" when the
/// connection stays open and silent, or "close" when tandem closes it without a response.
fn tcp_verdict(tandem: SocketAddr, data: &[u8]) -> String {
    let mut stream = TcpStream::connect(tandem).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    stream.write_all(data).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => {
                return status_of(&String::from_utf8_lossy(&received))
                    .unwrap_or_else(|| "close".to_string())
            }
            Ok(length) => {
                received.extend_from_slice(&buffer[..length]);
                let text = String::from_utf8_lossy(&received);
                if text.contains("\r\n\r\n") {
                    return status_of(&text).unwrap_or_else(|| format!("garbage {text:?}"));
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return status_of(&String::from_utf8_lossy(&received))
                    .unwrap_or_else(|| "none".to_string())
            }
            Err(e) => return format!("error {e}"),
        }
    }
}
