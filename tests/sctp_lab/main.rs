//! SCTP transport against Linux kernel SCTP, meant to run in the sctp-lab guest
//! (`/work/shared/tools/sctp-lab/run`). On a host without kernel SCTP every test prints why
//! and passes without doing anything, so a plain `cargo test` stays green.
//!
//! - `kernel_echo_*`: kernel SCTP client and listener in this process (plain `run --`);
//! - `udp_to_kernel_*`: usrsctp (RFC 6951) client against a kernel listener; needs
//!   `--sysctl net.sctp.udp_port=9899`;
//! - `*_osmo_stp_*`: ASPUP → ASPUP-ACK with osmo-stp over either stack; needs `--osmo-stp`;
//! - `kernel_to_udp_*`: kernel client against a usrsctp listener; needs also
//!   `--sysctl net.sctp.encap_port=9900`, which diverts every kernel association to UDP, so
//!   the plain kernel tests skip themselves in that guest: run it in a second guest.

#[path = "../e2e/harness.rs"]
mod harness;

mod call;
mod loadshare;
mod multihoming;
mod recovery;
mod stp;
mod udp_kernel_call;

use std::net::SocketAddr;
use std::time::Duration;

use tandem::sigtran::sctp::{
    connect, kernel_sctp_available, listen, Association, CloseReason, SctpConfig, TransportKind,
};

const WAIT: Duration = Duration::from_secs(10);

fn kernel_config() -> SctpConfig {
    SctpConfig {
        kind: TransportKind::Kernel,
        ..SctpConfig::default()
    }
}

fn kernel_udp_port() -> u16 {
    std::fs::read_to_string("/proc/sys/net/sctp/udp_port")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

async fn echo(association: Association) -> Option<CloseReason> {
    let (sender, mut receiver) = association.split();
    while let Some(message) = receiver.recv().await {
        if sender
            .send(message.stream, message.ppid, message.data)
            .await
            .is_err()
        {
            break;
        }
    }
    receiver.close_reason().cloned()
}

/// Listener of `server_cfg` on `address`, client of `client_cfg`: echo on several streams.
async fn echo_round_trip(server_cfg: SctpConfig, client_cfg: SctpConfig, address: SocketAddr) {
    let listener = listen(&server_cfg, address).await.expect("listen");
    let server = tokio::spawn(async move {
        let association = listener.accept().await.expect("accept");
        assert_eq!(association.kind(), TransportKind::Kernel);
        echo(association).await
    });
    let association = tokio::time::timeout(WAIT, connect(&client_cfg, None, address))
        .await
        .expect("connect in time")
        .expect("connect");
    assert_eq!(association.peer(), address);
    let (sender, mut receiver) = association.split();
    let messages: Vec<(u16, Vec<u8>)> = vec![
        (0, b"ASPUP".to_vec()),
        (1, vec![1, 0, 1, 1, 0, 0, 0, 8]),
        (16, (0..=255u8).collect()),
        (5, vec![0xa5; 3_000]),
    ];
    for (stream, data) in &messages {
        sender.send(*stream, 3, data.clone()).await.expect("send");
    }
    for (stream, data) in &messages {
        let received = tokio::time::timeout(WAIT, receiver.recv())
            .await
            .expect("echo in time")
            .expect("association open");
        assert_eq!((received.stream, received.ppid), (*stream, 3));
        assert_eq!(&received.data, data);
    }
    drop(sender);
    let server_reason = tokio::time::timeout(WAIT, server)
        .await
        .expect("server ends in time")
        .expect("server task");
    assert_eq!(server_reason, Some(CloseReason::Shutdown));
    let end = tokio::time::timeout(WAIT, receiver.recv())
        .await
        .expect("close in time");
    assert_eq!(end, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kernel_echo_round_trips_stream_ppid_and_data() {
    if !plain_kernel_sctp() {
        return;
    }
    let address: SocketAddr = "127.0.0.1:29905".parse().expect("address");
    echo_round_trip(kernel_config(), kernel_config(), address).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_to_kernel_echo_round_trips_stream_ppid_and_data() {
    let port = kernel_udp_port();
    if !kernel_sctp_available() || port == 0 {
        eprintln!("skipped: needs kernel SCTP with net.sctp.udp_port set (sctp-lab --sysctl)");
        return;
    }
    let client = SctpConfig {
        kind: TransportKind::Udp,
        udp_local_port: 9900,
        udp_remote_port: port,
        streams: 17,
        ..SctpConfig::default()
    };
    let address: SocketAddr = "127.0.0.1:29906".parse().expect("address");
    echo_round_trip(kernel_config(), client, address).await;
}

/// Kernel SCTP present and not forced into UDP encapsulation (`net.sctp.encap_port` sends
/// every kernel association to that UDP port, kernel-to-kernel ones included).
fn plain_kernel_sctp() -> bool {
    if !kernel_sctp_available() {
        eprintln!("skipped: no kernel SCTP here (run in the sctp-lab guest)");
        return false;
    }
    if kernel_encap_port() != 0 {
        eprintln!("skipped: net.sctp.encap_port is set, kernel associations go to usrsctp");
        return false;
    }
    true
}

fn kernel_encap_port() -> u16 {
    std::fs::read_to_string("/proc/sys/net/sctp/encap_port")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

/// Kernel client, usrsctp listener: the kernel encapsulates towards `net.sctp.encap_port`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kernel_to_udp_echo_round_trips_stream_ppid_and_data() {
    let encap_port = kernel_encap_port();
    if !kernel_sctp_available() || encap_port == 0 || kernel_udp_port() == 0 {
        eprintln!(
            "skipped: needs kernel SCTP with net.sctp.udp_port and net.sctp.encap_port set \
             (sctp-lab --sysctl)"
        );
        return;
    }
    let server = SctpConfig {
        kind: TransportKind::Udp,
        udp_local_port: encap_port,
        udp_remote_port: kernel_udp_port(),
        streams: 17,
        ..SctpConfig::default()
    };
    let address: SocketAddr = "127.0.0.1:29907".parse().expect("address");
    let listener = listen(&server, address).await.expect("listen");
    let echo_task = tokio::spawn(async move {
        let association = listener.accept().await.expect("accept");
        assert_eq!(association.kind(), TransportKind::Udp);
        echo(association).await
    });
    let association = tokio::time::timeout(WAIT, connect(&kernel_config(), None, address))
        .await
        .expect("connect in time")
        .expect("connect");
    assert_eq!(association.kind(), TransportKind::Kernel);
    let (sender, mut receiver) = association.split();
    for stream in [0u16, 9, 16] {
        sender
            .send(stream, 3, vec![stream as u8; 40])
            .await
            .expect("send");
        let received = tokio::time::timeout(WAIT, receiver.recv())
            .await
            .expect("echo in time")
            .expect("association open");
        assert_eq!((received.stream, received.ppid), (stream, 3));
        assert_eq!(received.data, vec![stream as u8; 40]);
    }
    drop(sender);
    let reason = tokio::time::timeout(WAIT, echo_task)
        .await
        .expect("server ends in time")
        .expect("server task");
    assert_eq!(reason, Some(CloseReason::Shutdown));
}

/// M3UA ASPUP (RFC 4666 §3.5.1), no parameters.
const ASPUP: [u8; 8] = [1, 0, 3, 1, 0, 0, 0, 8];

/// ASPUP to osmo-stp on 127.0.0.1:2905 over `cfg`; osmo-stp drops M3UA whose PPID is not 3
/// in network order, so an ASPUP-ACK proves the PPID encoding against a real peer.
async fn aspup_to_osmo_stp(cfg: SctpConfig) {
    let stp: SocketAddr = "127.0.0.1:2905".parse().expect("address");
    let association = match tokio::time::timeout(WAIT, connect(&cfg, None, stp)).await {
        Ok(Ok(association)) => association,
        Ok(Err(error)) => {
            eprintln!("skipped: no osmo-stp ({error}); run sctp-lab with --osmo-stp");
            return;
        }
        Err(_) => {
            eprintln!("skipped: no answer from {stp}; run sctp-lab with --osmo-stp");
            return;
        }
    };
    let (sender, mut receiver) = association.split();
    sender.send(0, 3, ASPUP.to_vec()).await.expect("send ASPUP");
    let reply = tokio::time::timeout(WAIT, receiver.recv())
        .await
        .expect("reply in time")
        .expect("association open");
    assert_eq!(reply.ppid, 3);
    // Version 1, class 3 (ASPSM), type 4 (ASPUP-ACK).
    assert_eq!(reply.data.get(..4), Some(&[1u8, 0, 3, 4][..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kernel_osmo_stp_answers_aspup() {
    if !plain_kernel_sctp() {
        return;
    }
    aspup_to_osmo_stp(kernel_config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_osmo_stp_answers_aspup() {
    let port = kernel_udp_port();
    if !kernel_sctp_available() || port == 0 {
        eprintln!("skipped: needs kernel SCTP with net.sctp.udp_port set (sctp-lab --sysctl)");
        return;
    }
    aspup_to_osmo_stp(SctpConfig {
        kind: TransportKind::Udp,
        udp_local_port: 9900,
        udp_remote_port: port,
        streams: 17,
        ..SctpConfig::default()
    })
    .await;
}

/// 2000 messages through a kernel echo, sent while reading: exercises full send buffers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kernel_burst_keeps_per_stream_order() {
    const COUNT: u32 = 2_000;
    if !plain_kernel_sctp() {
        return;
    }
    let address: SocketAddr = "127.0.0.1:29910".parse().expect("address");
    let listener = listen(&kernel_config(), address).await.expect("listen");
    let server = tokio::spawn(async move { echo(listener.accept().await.expect("accept")).await });
    let (sender, mut receiver) = connect(&kernel_config(), None, address)
        .await
        .expect("connect")
        .split();
    let writer = tokio::spawn(async move {
        for sequence in 0..COUNT {
            let mut data = sequence.to_be_bytes().to_vec();
            data.resize(1_000, 0xee);
            sender
                .send((sequence % 17) as u16, 3, data)
                .await
                .expect("send");
        }
        sender
    });
    let mut last_per_stream = [None::<u32>; 17];
    for _ in 0..COUNT {
        let message = tokio::time::timeout(WAIT, receiver.recv())
            .await
            .expect("echo in time")
            .expect("association open");
        let sequence = u32::from_be_bytes(
            message
                .data
                .get(..4)
                .and_then(|bytes| bytes.try_into().ok())
                .expect("sequence"),
        );
        assert_eq!(
            (u32::from(message.stream), message.ppid),
            (sequence % 17, 3)
        );
        let slot = &mut last_per_stream[usize::from(message.stream)];
        assert!(slot.is_none_or(|previous| previous < sequence));
        *slot = Some(sequence);
    }
    drop(writer.await.expect("writer"));
    let reason = tokio::time::timeout(WAIT, server)
        .await
        .expect("server ends in time")
        .expect("server task");
    assert_eq!(reason, Some(CloseReason::Shutdown));
}
