//! A trunk with two associations to one SG (two ASPs of a loadshare AS), on simulated time: ISUP is shared between
//! them by SLS, losing one moves every circuit's messages to the other at once without clearing answered calls,
//! and traffic returns to the preferred association when it is back; a reset that could not leave while both were
//! down goes out as soon as one is back.

use std::net::SocketAddr;

use super::tests::{invite, PEER};
use super::Driver;
use crate::config::Config;
use crate::events::{EventKind, Input, Output, Payload, SipTransport};
use crate::isup::codec::BackwardCallIndicators;
use crate::isup::MessageType as IsupType;
use crate::isup::{CallControl, CallControlConfig, CallEvent, Cic, IsupMessage};
use crate::runtime::build_setup;
use crate::sigtran::m3ua::{Asp, AspConfig, AspEvent, AspState, ProtocolData, Role};

const LINKS: [&str; 2] = ["pstn/a", "pstn/b"];

/// The gateway and an SG with one SGP machine per association, sharing the exchange's call control.
struct TwoLinks {
    driver: Driver,
    sgp: [Asp; 2],
    exchange: CallControl,
    now: u64,
    /// ISUP the exchange received, with the index of the association it came on.
    received: Vec<(usize, IsupMessage)>,
    sip_out: Vec<String>,
    logs: Vec<String>,
    /// CICs of calls the exchange saw set up.
    setups: Vec<Cic>,
}

impl TwoLinks {
    fn new(priorities: [u8; 2]) -> TwoLinks {
        let text = format!(
            "[[trunk]]\nname = \"pstn\"\n\
             [[trunk.association]]\nname = \"a\"\npriority = {}\n\
             [[trunk.association]]\nname = \"b\"\npriority = {}\n",
            priorities[0], priorities[1]
        );
        let config = Config::from_toml_str("test", &text).expect("config");
        let setup = build_setup(&config, 7).expect("setup");
        let (driver, _) = Driver::start(setup, 1_000).expect("driver");
        let sgp = || {
            Asp::new(AspConfig {
                role: Role::Sgp,
                ..AspConfig::default()
            })
        };
        let mut bench = TwoLinks {
            driver,
            sgp: [sgp(), sgp()],
            exchange: CallControl::new(CallControlConfig::new(1, 31)).expect("call control"),
            now: 1_000,
            received: Vec::new(),
            sip_out: Vec::new(),
            logs: Vec::new(),
            setups: Vec::new(),
        };
        for link in 0..2 {
            bench.link_up(link);
        }
        bench
    }

    fn link_up(&mut self, link: usize) {
        self.sgp[link] = Asp::new(AspConfig {
            role: Role::Sgp,
            ..AspConfig::default()
        });
        self.sgp[link].handle_sctp_up(self.now);
        self.feed(Input::SctpUp {
            trunk: LINKS[link].into(),
        });
    }

    fn link_down(&mut self, link: usize) {
        self.sgp[link].handle_sctp_down(self.now);
        self.feed(Input::SctpDown {
            trunk: LINKS[link].into(),
            reason: "Aborted".into(),
        });
    }

    fn feed(&mut self, input: Input) {
        // First in, first out: M3UA management on stream 0 arrives in order (NTFY AS-INACTIVE after ASPUP-ACK
        // must not overtake NTFY AS-ACTIVE after ASPAC-ACK).
        let mut inputs = std::collections::VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            for event in self.driver.feed(input, self.now) {
                match event.kind {
                    EventKind::Output(Output::M3uaSend {
                        trunk,
                        stream,
                        data,
                    }) => {
                        let link = LINKS.iter().position(|l| *l == trunk).expect("known link");
                        self.sgp[link].handle_bytes(stream, &data.0, self.now);
                    }
                    EventKind::Output(Output::SipSend { data, .. }) => self
                        .sip_out
                        .push(String::from_utf8_lossy(&data.0).into_owned()),
                    EventKind::Output(Output::Log { message, .. }) => self.logs.push(message),
                    _ => {}
                }
            }
            inputs.extend(self.exchange_turn());
        }
    }

    /// The SG side: ISUP to the exchange's call control, which alerts every call; its ISUP goes back on the
    /// association of the same SLS.
    fn exchange_turn(&mut self) -> Vec<Input> {
        loop {
            let mut progressed = false;
            for link in 0..2 {
                while let Some(event) = self.sgp[link].poll_event() {
                    progressed = true;
                    if let AspEvent::Data(data) = event {
                        if let Ok(message) = IsupMessage::decode(&data.user_data) {
                            self.received.push((link, message));
                        }
                        self.exchange.handle_bytes(&data.user_data, self.now);
                    }
                }
            }
            while let Some(event) = self.exchange.poll_event() {
                progressed = true;
                if let CallEvent::IncomingSetup { cic, .. } = event {
                    self.setups.push(cic);
                    let indicators = BackwardCallIndicators {
                        called_party_status: 1,
                        ..Default::default()
                    };
                    let _ = self.exchange.alert(cic, indicators, Vec::new());
                }
            }
            while let Some(message) = self.exchange.poll_transmit() {
                progressed = true;
                let sls = (message.cic.0 & 0x0f) as u8;
                let active: Vec<usize> = (0..2)
                    .filter(|&l| self.sgp[l].state() == AspState::Active)
                    .collect();
                let Some(&link) = active.get(usize::from(sls) % active.len().max(1)) else {
                    continue;
                };
                let data = ProtocolData {
                    opc: 2,
                    dpc: 1,
                    si: 5,
                    ni: 2,
                    mp: 0,
                    sls,
                    user_data: message.encode(),
                };
                let _ = self.sgp[link].send_data(data);
            }
            if !progressed {
                break;
            }
        }
        let mut inputs = Vec::new();
        for (sgp, id) in self.sgp.iter_mut().zip(LINKS) {
            while let Some(transmit) = sgp.poll_transmit() {
                inputs.push(Input::M3uaReceived {
                    trunk: id.into(),
                    stream: transmit.stream,
                    data: Payload(transmit.data),
                });
            }
        }
        inputs
    }

    fn sip(&mut self, text: &str) {
        let from: SocketAddr = PEER.parse().expect("peer");
        self.feed(Input::SipReceived {
            transport: SipTransport::Udp,
            from,
            data: Payload(text.as_bytes().to_vec()),
        });
    }

    /// Sets up and answers `count` calls from SIP.
    fn answered_calls(&mut self, count: usize, tag: &str) -> Vec<Cic> {
        let first = self.setups.len();
        for n in 0..count {
            self.sip(&invite("+4930123456", &format!("{tag}{n}")));
        }
        let cics: Vec<Cic> = self.setups[first..].to_vec();
        assert_eq!(cics.len(), count, "every INVITE became an IAM");
        for &cic in &cics {
            self.exchange.answer(cic).expect("answer");
            self.feed(Input::Timeout);
        }
        cics
    }

    /// Links the received messages of `kind` came on.
    fn links_of(&self, kind: IsupType) -> Vec<usize> {
        self.received
            .iter()
            .filter(|(_, m)| m.message_type == kind)
            .map(|(link, _)| *link)
            .collect()
    }
}

#[test]
fn loadshare_by_sls_and_failover_keeps_answered_calls() {
    let mut bench = TwoLinks::new([0, 0]);
    let cics = bench.answered_calls(8, "ls");
    let iam_links = bench.links_of(IsupType::IAM);
    assert!(
        iam_links.contains(&0) && iam_links.contains(&1),
        "IAMs shared by SLS over both associations: {iam_links:?}"
    );
    // A circuit's messages keep to one association while it is up.
    for &cic in &cics {
        let links: Vec<usize> = bench
            .received
            .iter()
            .filter(|(_, m)| m.cic == cic)
            .map(|(l, _)| *l)
            .collect();
        assert!(
            links.windows(2).all(|w| w[0] == w[1]),
            "CIC {cic}: {links:?}"
        );
    }
    let sip_before = bench.sip_out.len();

    bench.link_down(0);
    assert!(
        bench
            .logs
            .iter()
            .any(|l| l.contains("route to DPC 2 unavailable; traffic on pstn/b")),
        "{:#?}",
        bench.logs
    );
    // No answered call was cleared: nothing went to SIP.
    assert!(
        !bench.sip_out[sip_before..]
            .iter()
            .any(|m| m.starts_with("BYE")),
        "{:?}",
        &bench.sip_out[sip_before..]
    );
    assert!(!bench.logs.iter().any(|l| l.contains("call cleared")));

    // The exchange hangs up every call: each REL is answered by an RLC on the surviving association, at once.
    let received_before = bench.received.len();
    for &cic in &cics {
        bench.exchange.release(cic, 16, bench.now).expect("release");
        bench.feed(Input::Timeout);
    }
    let rlc_links: Vec<usize> = bench.received[received_before..]
        .iter()
        .filter(|(_, m)| m.message_type == IsupType::RLC)
        .map(|(l, _)| *l)
        .collect();
    assert_eq!(rlc_links, vec![1; cics.len()], "every RLC on pstn/b");
    assert_eq!(bench.driver.gateway().busy_circuits(), [("pstn".into(), 0)]);

    // Association a back: new calls are shared again.
    bench.link_up(0);
    let received_before = bench.received.len();
    bench.answered_calls(8, "back");
    let links: Vec<usize> = bench.received[received_before..]
        .iter()
        .filter(|(_, m)| m.message_type == IsupType::IAM)
        .map(|(l, _)| *l)
        .collect();
    assert!(links.contains(&0) && links.contains(&1), "{links:?}");
}

#[test]
fn standby_association_carries_traffic_only_while_the_preferred_one_is_down() {
    let mut bench = TwoLinks::new([0, 1]);
    bench.answered_calls(4, "p");
    assert_eq!(
        bench.links_of(IsupType::IAM),
        [0, 0, 0, 0],
        "preferred route only"
    );
    bench.link_down(0);
    let before = bench.received.len();
    bench.answered_calls(4, "s");
    assert!(
        bench.received[before..].iter().all(|(l, _)| *l == 1),
        "standby carries everything while the preferred association is down"
    );
    bench.link_up(0);
    let before = bench.received.len();
    bench.answered_calls(2, "r");
    assert!(
        bench.received[before..].iter().all(|(l, _)| *l == 0),
        "traffic back on the preferred association"
    );
}

#[test]
fn pending_resets_go_out_again_as_soon_as_an_association_is_back() {
    let mut bench = TwoLinks::new([0, 0]);
    bench.sip(&invite("+4930123456", "rsc"));
    let cic = *bench.setups.last().expect("the INVITE became an IAM");
    // Both associations go: the call in set-up is cleared and its circuit reset, but the RSC cannot leave.
    bench.link_down(0);
    bench.link_down(1);
    assert!(bench.logs.iter().any(|l| l.contains("call cleared")));
    let rsc_sent = |bench: &TwoLinks| {
        bench
            .received
            .iter()
            .filter(|(_, m)| m.message_type == IsupType::RSC && m.cic == cic)
            .count()
    };
    assert_eq!(rsc_sent(&bench), 0);
    // The exchange comes back as a new process that knows nothing of the call.
    bench.exchange = CallControl::new(CallControlConfig::new(1, 31)).expect("call control");
    bench.now += 1_000;

    // The first association back carries the RSC at once, long before T16 (30 s) would repeat it; the RLC
    // makes the circuit idle on both sides.
    bench.link_up(0);
    assert_eq!(rsc_sent(&bench), 1, "{:#?}", bench.logs);
    assert!(
        bench
            .logs
            .iter()
            .any(|l| l.contains("RSC sent again on CIC")),
        "{:#?}",
        bench.logs
    );
    assert_eq!(bench.driver.gateway().busy_circuits(), [("pstn".into(), 0)]);
    // The second association coming back sends nothing more.
    bench.link_up(1);
    assert_eq!(rsc_sent(&bench), 1);
}
