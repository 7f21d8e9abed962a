//! End-to-end: `ss7sim serve` in a child process, and a tiny client in this process made of
//! tandem's M3UA `Asp` and ISUP `CallControl`, over userspace SCTP encapsulated in UDP on
//! 127.0.0.1 (usrsctp is one instance per process, hence the child). Against `serve`: one call
//! that is answered and one to a 990NNN number that the exchange refuses with cause NNN; then
//! against `call`: three calls originated by ss7sim, answered by the client, exit status 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tandem::isup::call::{CallControl, CallControlConfig, CallEvent};
use tandem::isup::codec::{
    BackwardCallIndicators, CalledPartyNumber, CallingPartyNumber, CallingPartysCategory, Digits,
    ForwardCallIndicators, Iam, TransmissionMediumRequirement,
};
use tandem::sigtran::m3ua::{Asp, AspConfig, AspEvent, AspState, ProtocolData, M3UA_PPID};
use tandem::sigtran::sctp::{self, AssocReceiver, AssocSender, SctpConfig, TransportKind};
use tokio::time::Instant;

/// Ports for this test process, chosen free at first use so parallel runs of the suite do not collide.
/// usrsctp is one stack per process, so both tests share the client port.
struct Ports {
    server_sctp: String,
    client_udp: u16,
    server_udp: u16,
}

fn ports() -> &'static Ports {
    static PORTS: std::sync::OnceLock<Ports> = std::sync::OnceLock::new();
    PORTS.get_or_init(|| {
        let free = || {
            std::net::UdpSocket::bind("127.0.0.1:0")
                .and_then(|socket| socket.local_addr())
                .map(|addr| addr.port())
                .expect("a free UDP port")
        };
        Ports {
            server_sctp: format!("127.0.0.1:{}", free()),
            client_udp: free(),
            server_udp: free(),
        }
    })
}

/// Kills the child exchange when the test ends, whatever the outcome.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Client {
    start: Instant,
    sender: AssocSender,
    receiver: AssocReceiver,
    asp: Asp,
    calls: CallControl,
    events: Vec<CallEvent>,
    answer_incoming: bool,
}

impl Client {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Runs IO until `done` holds for the collected events, or panics after `limit`.
    async fn run_until(&mut self, limit: Duration, done: impl Fn(&Client) -> bool) {
        let give_up = Instant::now() + limit;
        loop {
            while let Some(message) = self.calls.poll_transmit() {
                let data = ProtocolData {
                    opc: 1,
                    dpc: 2,
                    si: 5,
                    ni: 2,
                    mp: 0,
                    sls: (message.cic.0 & 0x0f) as u8,
                    user_data: message.encode(),
                };
                self.asp
                    .send_data(data)
                    .expect("client ASP active before sending ISUP");
            }
            while let Some(transmit) = self.asp.poll_transmit() {
                self.sender
                    .send(transmit.stream, M3UA_PPID, transmit.data)
                    .await
                    .expect("SCTP send");
            }
            if done(self) {
                return;
            }
            assert!(
                Instant::now() < give_up,
                "timed out; events so far: {:?}",
                self.events
            );
            let next = [self.asp.poll_timeout(), self.calls.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .map(|at| self.start + Duration::from_millis(at))
                .unwrap_or(give_up)
                .min(give_up);
            tokio::select! {
                received = self.receiver.recv() => {
                    let message = received.expect("association stays up");
                    let now = self.now();
                    self.asp.handle_bytes(message.stream, &message.data, now);
                }
                _ = tokio::time::sleep_until(next) => {
                    let now = self.now();
                    self.asp.handle_timeout(now);
                    self.calls.handle_timeout(now);
                }
            }
            let now = self.now();
            while let Some(event) = self.asp.poll_event() {
                if let AspEvent::Data(data) = event {
                    self.calls.handle_bytes(&data.user_data, now);
                }
            }
            while let Some(event) = self.calls.poll_event() {
                if let (true, CallEvent::IncomingSetup { cic, .. }) = (self.answer_incoming, &event)
                {
                    let indicators = BackwardCallIndicators {
                        called_party_status: 1,
                        ..BackwardCallIndicators::default()
                    };
                    self.calls.alert(*cic, indicators, Vec::new()).expect("ACM");
                    self.calls.answer(*cic).expect("ANM");
                }
                self.events.push(event);
            }
            while self.calls.poll_transition().is_some() {}
            while self.asp.poll_transition().is_some() {}
        }
    }
}

fn iam(called: &str) -> Iam {
    Iam {
        forward_call_indicators: ForwardCallIndicators {
            isdn_user_part: true,
            ..ForwardCallIndicators::default()
        },
        calling_partys_category: CallingPartysCategory::ORDINARY,
        transmission_medium_requirement: TransmissionMediumRequirement::AUDIO_3_1_KHZ,
        called_party_number: CalledPartyNumber {
            nature_of_address: 3,
            numbering_plan: 1,
            digits: Digits::parse(called).expect("digits"),
            ..CalledPartyNumber::default()
        },
        calling_party_number: Some(CallingPartyNumber {
            nature_of_address: 3,
            numbering_plan: 1,
            digits: Digits::parse("4940123").expect("digits"),
            ..CallingPartyNumber::default()
        }),
        ..Iam::default()
    }
}

async fn connect() -> (AssocSender, AssocReceiver) {
    let config = SctpConfig {
        kind: TransportKind::Udp,
        udp_local_port: ports().client_udp,
        udp_remote_port: ports().server_udp,
        ..SctpConfig::default()
    };
    let remote: SocketAddr = ports().server_sctp.parse().expect("address");
    let give_up = Instant::now() + Duration::from_secs(15);
    loop {
        match sctp::connect(&config, None, remote).await {
            Ok(association) => return association.split(),
            Err(error) if Instant::now() < give_up => {
                eprintln!("connect: {error}; retrying");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(error) => panic!("cannot reach ss7sim: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_call_over_udp_sctp() {
    let stats_path: PathBuf =
        std::env::temp_dir().join(format!("ss7sim-test-{}.json", std::process::id()));
    let child = Command::new(env!("CARGO_BIN_EXE_ss7sim"))
        .args([
            "serve",
            "--transport",
            "udp",
            "--listen",
            &ports().server_sctp,
        ])
        .args(["--udp-port", &ports().server_udp.to_string()])
        .args(["--udp-remote-port", &ports().client_udp.to_string()])
        .arg("--stats")
        .arg(&stats_path)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn ss7sim");
    let guard = ChildGuard(child);

    let (sender, receiver) = connect().await;
    let start = Instant::now();
    let mut client = Client {
        start,
        sender,
        receiver,
        asp: Asp::new(AspConfig::default()),
        calls: CallControl::new(CallControlConfig::new(1, 31)).expect("call control"),
        events: Vec::new(),
        answer_incoming: false,
    };
    client.asp.handle_sctp_up(0);
    client
        .run_until(Duration::from_secs(10), |c| {
            c.asp.state() == AspState::Active
        })
        .await;

    let now = client.now();
    let answered_cic = client.calls.setup(iam("4930123"), now).expect("IAM");
    client
        .run_until(Duration::from_secs(10), |c| {
            c.events
                .iter()
                .any(|e| matches!(e, CallEvent::Answered { .. }))
        })
        .await;
    let now = client.now();
    client.calls.release(answered_cic, 16, now).expect("REL");
    client
        .run_until(Duration::from_secs(10), |c| {
            c.events
                .iter()
                .any(|e| matches!(e, CallEvent::ReleaseComplete { .. }))
        })
        .await;

    let now = client.now();
    client.calls.setup(iam("990017"), now).expect("IAM");
    client
        .run_until(Duration::from_secs(10), |c| {
            c.events
                .iter()
                .any(|e| matches!(e, CallEvent::Released { .. }))
        })
        .await;
    let cause = client.events.iter().find_map(|event| match event {
        CallEvent::Released { cause, .. } => Some(cause.cause_value),
        _ => None,
    });
    assert_eq!(cause, Some(17));
    // The exchange rewrites the file after every message; wait until it has seen the RLC.
    let give_up = Instant::now() + Duration::from_secs(5);
    let stats = loop {
        let stats: serde_json::Value = std::fs::read_to_string(&stats_path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        if stats["received"]["RLC"] == 1 || Instant::now() > give_up {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = std::fs::remove_file(&stats_path);
    assert_eq!(stats["asp_active"], true, "{stats}");
    assert_eq!(stats["received"]["IAM"], 2, "{stats}");
    assert_eq!(stats["received"]["REL"], 1, "{stats}");
    assert_eq!(stats["sent"]["ANM"], 1, "{stats}");
    assert_eq!(stats["sent"]["REL"], 1, "{stats}");
    let calls = stats["calls"].as_array().expect("calls array");
    assert_eq!(calls.len(), 2, "{stats}");
    assert_eq!(calls[0]["called"], "4930123");
    assert_eq!(
        calls[0]["messages"],
        serde_json::json!(["IAM", "ACM", "ANM", "REL", "RLC"])
    );
    assert_eq!(calls[1]["release_cause"], 17);

    drop(client);
    drop(guard);
    call_mode_places_calls_and_exits_zero().await;
}

/// Second phase (same process, so the same usrsctp instance): `ss7sim call` originates three
/// calls, the client answers them, and the exchange releases each after the hold time.
async fn call_mode_places_calls_and_exits_zero() {
    let child = Command::new(env!("CARGO_BIN_EXE_ss7sim"))
        .args([
            "call",
            "--to",
            "4930123",
            "--count",
            "3",
            "--hold-ms",
            "200",
        ])
        .args(["--transport", "udp", "--listen", &ports().server_sctp])
        .args(["--udp-port", &ports().server_udp.to_string()])
        .args(["--udp-remote-port", &ports().client_udp.to_string()])
        .args(["--connect-timeout-ms", "20000"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn ss7sim call");
    let mut guard = ChildGuard(child);
    let (sender, receiver) = connect().await;
    let mut client = Client {
        start: Instant::now(),
        sender,
        receiver,
        asp: Asp::new(AspConfig::default()),
        calls: CallControl::new(CallControlConfig::new(1, 31)).expect("call control"),
        events: Vec::new(),
        answer_incoming: true,
    };
    client.asp.handle_sctp_up(0);
    client
        .run_until(Duration::from_secs(15), |c| {
            let released = c
                .events
                .iter()
                .filter(|e| matches!(e, CallEvent::Released { .. }));
            released.count() == 3
        })
        .await;
    let give_up = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("child status") {
            break status;
        }
        assert!(Instant::now() < give_up, "ss7sim call did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut summary = String::new();
    if let Some(stdout) = guard.0.stdout.as_mut() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut summary);
    }
    assert!(status.success(), "exit {status}: {summary}");
    assert_eq!(
        summary.trim(),
        "calls: 3 attempted, 3 answered, 3 completed, 0 failed"
    );
    let causes: Vec<u8> = client
        .events
        .iter()
        .filter_map(|event| match event {
            CallEvent::Released { cause, .. } => Some(cause.cause_value),
            _ => None,
        })
        .collect();
    assert_eq!(causes, [16, 16, 16]);
}
