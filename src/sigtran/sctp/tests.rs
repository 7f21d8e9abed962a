//! Tests of the SCTP transport: config parsing, kind resolution, and an echo over the
//! userspace (UDP, RFC 6951) stack within this process. Kernel SCTP tests live in
//! `tests/sctp_lab/` and run in the sctp-lab guest.

use super::*;

/// One usrsctp stack per process: every test here uses this port, the process talks to itself.
const TEST_UDP_PORT: u16 = 29_911;

fn udp_config() -> SctpConfig {
    SctpConfig {
        kind: TransportKind::Udp,
        udp_local_port: TEST_UDP_PORT,
        udp_remote_port: TEST_UDP_PORT,
        streams: 17,
        ..SctpConfig::default()
    }
}

#[test]
fn transport_kind_deserializes_from_lowercase_names() {
    for (text, kind) in [
        ("\"auto\"", TransportKind::Auto),
        ("\"kernel\"", TransportKind::Kernel),
        ("\"udp\"", TransportKind::Udp),
    ] {
        assert_eq!(serde_json::from_str::<TransportKind>(text).ok(), Some(kind));
    }
    assert!(serde_json::from_str::<TransportKind>("\"tcp\"").is_err());
}

#[test]
fn config_defaults_fill_missing_fields() {
    let cfg: SctpConfig = serde_json::from_str(r#"{"kind":"udp"}"#).expect("valid config");
    assert_eq!(cfg.kind, TransportKind::Udp);
    assert_eq!(cfg.udp_local_port, 9900);
    assert_eq!(cfg.udp_remote_port, 9899);
    assert_eq!(cfg.streams, 17);
}

#[test]
fn auto_resolves_to_what_the_host_offers() {
    let expected = if kernel_sctp_available() {
        TransportKind::Kernel
    } else {
        TransportKind::Udp
    };
    assert_eq!(resolve_kind(TransportKind::Auto), expected);
    assert_eq!(resolve_kind(TransportKind::Udp), TransportKind::Udp);
}

#[tokio::test]
async fn kernel_kind_without_kernel_sctp_says_so() {
    if kernel_sctp_available() {
        return;
    }
    let cfg = SctpConfig {
        kind: TransportKind::Kernel,
        ..SctpConfig::default()
    };
    let error = listen(&cfg, "127.0.0.1:0".parse().expect("address"))
        .await
        .err()
        .expect("no kernel SCTP");
    assert!(matches!(error, SctpError::KernelUnavailable));
    assert!(error.to_string().contains("use transport = \"udp\""));
}

#[tokio::test]
async fn udp_port_differing_from_the_running_stack_is_refused() {
    let cfg = udp_config();
    let _listener = listen(&cfg, "127.0.0.1:29912".parse().expect("address")).await;
    let other = SctpConfig {
        udp_local_port: TEST_UDP_PORT + 1,
        ..cfg
    };
    let error = listen(&other, "127.0.0.1:29913".parse().expect("address"))
        .await
        .err()
        .expect("port mismatch");
    assert!(matches!(error, SctpError::UdpPortMismatch { .. }));
}

/// Echo server: returns every message on the stream and with the PPID it came with.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_echo_round_trips_stream_ppid_and_data() {
    let cfg = udp_config();
    let address: SocketAddr = "127.0.0.1:29905".parse().expect("address");
    let listener = listen(&cfg, address).await.expect("listen");
    let server = tokio::spawn(async move {
        let association = listener.accept().await.expect("accept");
        assert_eq!(association.kind(), TransportKind::Udp);
        echo(association).await
    });

    let association = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        connect(&cfg, None, address),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    assert_eq!(association.peer(), address);
    assert_eq!(association.kind(), TransportKind::Udp);
    let (sender, mut receiver) = association.split();

    // Several streams, including the last one, and a message larger than one read chunk.
    let messages: Vec<(u16, Vec<u8>)> = vec![
        (0, b"ASPUP".to_vec()),
        (1, vec![1, 0, 1, 1, 0, 0, 0, 8]),
        (7, (0..=255u8).collect()),
        (16, vec![0x5a; 100_000]),
        (3, b"last".to_vec()),
    ];
    for (stream, data) in &messages {
        sender.send(*stream, 3, data.clone()).await.expect("send");
    }
    for (stream, data) in &messages {
        let received = tokio::time::timeout(std::time::Duration::from_secs(10), receiver.recv())
            .await
            .expect("echo in time")
            .expect("association open");
        assert_eq!(received.stream, *stream);
        assert_eq!(received.ppid, 3);
        assert_eq!(&received.data, data);
    }

    let error = sender
        .send(17, 3, b"x".to_vec())
        .await
        .expect_err("stream 17");
    assert!(matches!(
        error,
        SctpError::StreamOutOfRange {
            stream: 17,
            streams: 17
        }
    ));

    // Dropping the sender shuts down: the echo server sees the peer's SHUTDOWN, and so do we.
    drop(sender);
    let server_reason = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("server ends in time")
        .expect("server task");
    assert_eq!(server_reason, Some(CloseReason::Shutdown));
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), receiver.recv())
        .await
        .expect("close in time");
    assert_eq!(end, None);
    assert!(receiver.close_reason().is_some());
}

#[tokio::test]
async fn udp_connect_to_nobody_fails() {
    let cfg = udp_config();
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        connect(&cfg, None, "127.0.0.1:29999".parse().expect("address")),
    )
    .await
    .expect("connect gives up in time");
    assert!(matches!(result, Err(SctpError::Connect { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_dropping_the_receiver_closes_the_association_for_the_peer() {
    let cfg = udp_config();
    let address: SocketAddr = "127.0.0.1:29908".parse().expect("address");
    let listener = listen(&cfg, address).await.expect("listen");
    let server = tokio::spawn(async move {
        let (_sender, mut receiver) = listener.accept().await.expect("accept").split();
        let first = receiver.recv().await;
        let end = receiver.recv().await;
        (first, end, receiver.close_reason().cloned())
    });
    let (sender, receiver) = connect(&cfg, None, address).await.expect("connect").split();
    sender.send(2, 3, b"hello".to_vec()).await.expect("send");
    drop(receiver);
    let (first, end, reason) = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("server ends in time")
        .expect("server task");
    assert_eq!(
        first,
        Some(Received {
            stream: 2,
            ppid: 3,
            data: b"hello".to_vec()
        })
    );
    assert_eq!(end, None);
    assert!(reason.is_some());
    // The sender outlives the association: sending now fails instead of hanging.
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sender.send(2, 3, b"late".to_vec()),
    )
    .await
    .expect("send returns in time");
    assert!(result.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_burst_keeps_per_stream_order() {
    const COUNT: u32 = 2_000;
    let cfg = udp_config();
    let address: SocketAddr = "127.0.0.1:29909".parse().expect("address");
    let listener = listen(&cfg, address).await.expect("listen");
    let server = tokio::spawn(async move { echo(listener.accept().await.expect("accept")).await });
    let (sender, mut receiver) = connect(&cfg, None, address).await.expect("connect").split();
    let writer = tokio::spawn(async move {
        for sequence in 0..COUNT {
            let mut data = sequence.to_be_bytes().to_vec();
            data.resize(300, 0xee);
            let stream = (sequence % 17) as u16;
            sender.send(stream, 3, data).await.expect("send");
        }
        sender
    });
    let mut last_per_stream = [None::<u32>; 17];
    for _ in 0..COUNT {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), receiver.recv())
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
        assert_eq!(u32::from(message.stream), sequence % 17);
        let slot = &mut last_per_stream[usize::from(message.stream)];
        assert!(slot.is_none_or(|previous| previous < sequence));
        *slot = Some(sequence);
    }
    drop(writer.await.expect("writer"));
    let reason = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("server ends in time")
        .expect("server task");
    assert_eq!(reason, Some(CloseReason::Shutdown));
}
