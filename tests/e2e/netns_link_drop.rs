//! Association loss by dropping the link, not by killing a process: tandem (with SIPp) and ss7sim run in two
//! network namespaces joined by a veth pair, M3UA over userspace SCTP (UDP-encapsulated) across it. With one call
//! answered and one ringing, the veth goes down: M3UA BEAT loss makes tandem's ASP start over, the ringing call fails
//! with the table's cause for a lost signalling link (41 → 503), the answered call stays up on the SIP side. When
//! the veth comes back, the ASP comes back by itself, the held call is released cleanly on it, a new call passes,
//! and the log replays. The namespaces are removed even when the test fails.

use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::{Rig, RigOptions, Transport};

/// Two namespaces and the veth pair between them; removed on drop.
struct Namespaces {
    tandem: String,
    exchange: String,
    /// The exchange side of the veth pair (the one the test takes down).
    exchange_link: String,
    /// tandem's side.
    tandem_link: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

impl Namespaces {
    /// tandem at 10.77.0.1, the exchange at 10.77.0.2 (private to the two namespaces).
    fn create() -> Result<Namespaces, String> {
        let id = std::process::id();
        let namespaces = Namespaces {
            tandem: format!("tdm{id}t"),
            exchange: format!("tdm{id}x"),
            exchange_link: format!("vx{id}"),
            tandem_link: format!("vt{id}"),
        };
        let tandem_link = namespaces.tandem_link.clone();
        ip(&["netns", "add", &namespaces.tandem])?;
        ip(&["netns", "add", &namespaces.exchange])?;
        ip(&[
            "link",
            "add",
            &tandem_link,
            "type",
            "veth",
            "peer",
            "name",
            &namespaces.exchange_link,
        ])?;
        ip(&["link", "set", &tandem_link, "netns", &namespaces.tandem])?;
        ip(&[
            "link",
            "set",
            &namespaces.exchange_link,
            "netns",
            &namespaces.exchange,
        ])?;
        for (netns, link, address) in [
            (&namespaces.tandem, &tandem_link, "10.77.0.1/24"),
            (
                &namespaces.exchange,
                &namespaces.exchange_link,
                "10.77.0.2/24",
            ),
        ] {
            ip(&["-n", netns, "addr", "add", address, "dev", link])?;
            ip(&["-n", netns, "link", "set", link, "up"])?;
            ip(&["-n", netns, "link", "set", "lo", "up"])?;
        }
        Ok(namespaces)
    }

    fn set_exchange_link(&self, state: &str) {
        ip(&[
            "-n",
            &self.exchange,
            "link",
            "set",
            &self.exchange_link,
            state,
        ])
        .expect("veth state");
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it (and so its peer); a pair that never left the
        // root namespace (set-up failed half-way) is deleted by name.
        let _ = ip(&["netns", "del", &self.tandem]);
        let _ = ip(&["netns", "del", &self.exchange]);
        let _ = ip(&["link", "del", &self.tandem_link]);
    }
}

#[test]
fn link_dropped_in_a_network_namespace_clears_setup_keeps_answered_calls_and_recovers() {
    let namespaces = match Namespaces::create() {
        Ok(namespaces) => namespaces,
        Err(reason) => {
            eprintln!("skipped: cannot create network namespaces here: {reason}");
            return;
        }
    };
    let mut rig = Rig::start(RigOptions {
        transport: Transport::Udp,
        // usrsctp would take minutes to give the association up; M3UA BEAT notices the silent peer in ~1.2 s.
        trunk_extra: "beat_interval_ms = 400\nbeat_loss_threshold = 3\n".into(),
        netns: Some((
            namespaces.tandem.clone(),
            namespaces.exchange.clone(),
            "10.77.0.2".into(),
        )),
        ..RigOptions::default()
    });
    // Answered, then held for 12 s before the BYE; and one that rings, which the lost link must end with 503.
    let (held, ringing) = rig.hold_one_ring_one(12_000);
    namespaces.set_exchange_link("down");
    rig.wait_for_tandem_log(Duration::from_secs(10), "ASP Active -> Down");
    let ringing: Output = ringing.wait_with_output().expect("sipp");
    rig.assert_sipp_ok(
        &ringing,
        "ringing call ended with 503 when the link went down",
    );
    let log = std::fs::read_to_string(rig.dir.path().join("tandem.log")).unwrap_or_default();
    assert!(
        log.contains("answered call kept on its circuit"),
        "the answered call is kept:\n{log}"
    );
    namespaces.set_exchange_link("up");
    rig.wait_for_tandem_log_times(Duration::from_secs(30), "ASP ActivePending -> Active", 2);
    let held: Output = held.wait_with_output().expect("sipp");
    rig.assert_sipp_ok(
        &held,
        "answered call held across the outage, released after it",
    );
    rig.wait_for(Duration::from_secs(20), "REL of the held call", |s| {
        Rig::count(s, "received", "REL") >= 1
    });
    let output = rig.sipp("uac_basic.xml", "4930123456", 2, &[]);
    rig.assert_sipp_ok(&output, "calls after the link came back");
    rig.wait_for(Duration::from_secs(10), "2 more calls answered", |s| {
        Rig::count(s, "sent", "ANM") >= 3
    });
    rig.stop_and_replay();
    drop(rig);
    drop(namespaces);
}
