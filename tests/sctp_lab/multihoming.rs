//! Kernel SCTP multi-homing and association parameters: a client bound to 127.0.0.1 and 127.0.0.2 connects to a
//! wildcard listener through both of its addresses, with its own heartbeat interval and retransmission limits.
//! `/proc/net/sctp/assocs` shows what the kernel made of it. 127.0.0.2 is added to the guest's `lo` first.

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use tandem::sigtran::sctp::{connect, listen, AssociationParams, SctpConfig, TransportKind};

/// The kernel's line for the association whose local port is `port`, split in fields.
fn assoc_line(port: u16) -> Option<Vec<String>> {
    let table = std::fs::read_to_string("/proc/net/sctp/assocs").ok()?;
    // Header: ASSOC SOCK STY SST ST HBKT ASSOC-ID TX_QUEUE RX_QUEUE UID INODE LPORT RPORT LADDRS <-> RADDRS
    // HBINT INS OUTS MAXRT ...
    table
        .lines()
        .skip(1)
        .map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|fields| fields.get(11).map(String::as_str) == Some(&port.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kernel_multihoming_and_association_parameters() {
    if !crate::plain_kernel_sctp() {
        return;
    }
    let added = Command::new("ip")
        .args(["addr", "add", "127.0.0.2/8", "dev", "lo"])
        .status();
    if !added.is_ok_and(|s| s.success()) {
        // Already there (a second run in the same guest) is fine; anything else shows below.
        eprintln!("ip addr add 127.0.0.2 did not succeed (already present?)");
    }
    let server_config = SctpConfig {
        kind: TransportKind::Kernel,
        ..SctpConfig::default()
    };
    let listener = listen(&server_config, "0.0.0.0:29920".parse().expect("address"))
        .await
        .expect("listen");
    let server = tokio::spawn(async move { listener.accept().await.expect("accept") });
    let second: IpAddr = "127.0.0.2".parse().expect("address");
    let client_config = SctpConfig {
        kind: TransportKind::Kernel,
        params: AssociationParams {
            rto_initial_ms: Some(500),
            rto_min_ms: Some(200),
            rto_max_ms: Some(2_000),
            heartbeat_interval_ms: Some(7_000),
            path_max_retrans: Some(3),
            association_max_retrans: Some(6),
        },
        extra_local: vec![second],
        extra_remote: vec![second],
        ..SctpConfig::default()
    };
    let local: SocketAddr = "127.0.0.1:29921".parse().expect("address");
    let remote: SocketAddr = "127.0.0.1:29920".parse().expect("address");
    let association = tokio::time::timeout(
        Duration::from_secs(10),
        connect(&client_config, Some(local), remote),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    let _server_side = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("accept in time")
        .expect("server task");
    let (sender, _receiver) = association.split();
    sender.send(1, 3, vec![1, 2, 3]).await.expect("send");
    let fields = assoc_line(29921).expect("the association in /proc/net/sctp/assocs");
    let line = fields.join(" ");
    let arrow = fields
        .iter()
        .position(|f| f == "<->")
        .expect("<-> in the line");
    let local_addresses = &fields[13..arrow];
    let remote_addresses: Vec<&String> = fields[arrow + 1..]
        .iter()
        .take_while(|f| f.contains('.'))
        .collect();
    assert!(
        local_addresses.iter().any(|a| a.contains("127.0.0.2")),
        "local addresses: {line}"
    );
    assert!(
        local_addresses.iter().any(|a| a.contains("127.0.0.1")),
        "local addresses: {line}"
    );
    assert_eq!(remote_addresses.len(), 2, "both remote addresses: {line}");
    // After the addresses: HBINT INS OUTS MAXRT.
    let after = arrow + 1 + remote_addresses.len();
    // HBINT is in jiffies: 7000 ms at HZ 100 (Debian's UML), 250, 300 or 1000 (the default, 30 s, differs).
    let hbint: u64 = fields
        .get(after)
        .and_then(|f| f.parse().ok())
        .expect("HBINT");
    assert!(
        [700, 1750, 2100, 7000].contains(&hbint),
        "HBINT {hbint}: {line}"
    );
    assert_eq!(
        fields.get(after + 3).map(String::as_str),
        Some("6"),
        "MAXRT: {line}"
    );
}
