//! Tests of the ASP state machine: an Asp and an Sgp wired back to back on
//! simulated time (no sockets).

use super::*;
use crate::sigtran::m3ua::error::error_code;

struct Pair {
    asp: Asp,
    sgp: Asp,
    now: u64,
    asp_events: Vec<AspEvent>,
    sgp_events: Vec<AspEvent>,
    /// Every (direction, message) exchanged, `true` = ASP → SGP.
    wire: Vec<(bool, u16, M3uaMessage)>,
}

impl Pair {
    fn new(asp_config: AspConfig, sgp_config: AspConfig) -> Self {
        Self {
            asp: Asp::new(asp_config),
            sgp: Asp::new(AspConfig {
                role: Role::Sgp,
                ..sgp_config
            }),
            now: 0,
            asp_events: Vec::new(),
            sgp_events: Vec::new(),
            wire: Vec::new(),
        }
    }

    fn up(&mut self) {
        self.sgp.handle_sctp_up(self.now);
        self.asp.handle_sctp_up(self.now);
        self.drive();
    }

    /// Moves messages both ways until both ends are quiet.
    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.asp.poll_transmit() {
                self.wire
                    .push((true, t.stream, M3uaMessage::decode(&t.data).unwrap()));
                self.sgp.handle_bytes(t.stream, &t.data, self.now);
                moved = true;
            }
            while let Some(t) = self.sgp.poll_transmit() {
                self.wire
                    .push((false, t.stream, M3uaMessage::decode(&t.data).unwrap()));
                self.asp.handle_bytes(t.stream, &t.data, self.now);
                moved = true;
            }
            self.asp_events
                .extend(std::iter::from_fn(|| self.asp.poll_event()));
            self.sgp_events
                .extend(std::iter::from_fn(|| self.sgp.poll_event()));
            if !moved {
                break;
            }
        }
    }

    fn names(&self) -> Vec<String> {
        self.wire
            .iter()
            .map(|(to_sgp, _, m)| {
                format!(
                    "{}{}",
                    if *to_sgp { ">" } else { "<" },
                    m.message_type.name()
                )
            })
            .collect()
    }
}

fn data(sls: u8) -> ProtocolData {
    ProtocolData {
        opc: 1,
        dpc: 2,
        si: 5,
        ni: 2,
        mp: 0,
        sls,
        user_data: vec![0x01, 0x00, 0x01],
    }
}

#[test]
fn handshake_without_registration_reaches_active() {
    let mut pair = Pair::new(
        AspConfig {
            routing_context: Some(7),
            asp_identifier: Some(42),
            ..AspConfig::default()
        },
        AspConfig {
            routing_context: Some(7),
            ..AspConfig::default()
        },
    );
    pair.up();
    assert_eq!(pair.asp.state(), AspState::Active);
    assert_eq!(pair.sgp.state(), AspState::Active);
    assert_eq!(
        pair.names(),
        [
            ">ASPUP",
            "<ASPUP-ACK",
            "<NTFY",
            ">ASPAC",
            "<ASPAC-ACK",
            "<NTFY"
        ]
    );
    assert_eq!(pair.wire[0].2.asp_identifier(), Some(42));
    assert_eq!(pair.wire[3].2.routing_context(), Some(&[7][..]));
    assert!(pair.asp_events.contains(&AspEvent::Notify {
        status_type: STATUS_TYPE_AS_STATE_CHANGE,
        status_info: STATUS_AS_ACTIVE
    }));
    let transitions: Vec<_> = std::iter::from_fn(|| pair.asp.poll_transition())
        .map(|t| (t.machine, t.from, t.to))
        .collect();
    assert_eq!(
        transitions,
        [
            ("m3ua_asp", "Down".into(), "UpPending".into()),
            ("m3ua_asp", "UpPending".into(), "Inactive".into()),
            ("m3ua_asp", "Inactive".into(), "ActivePending".into()),
            ("m3ua_asp", "ActivePending".into(), "Active".into()),
        ]
    );
}

#[test]
fn handshake_with_registration_uses_assigned_routing_context() {
    let mut pair = Pair::new(
        AspConfig {
            register_routing_key: Some(RoutingKeyRequest {
                local_rk_id: 1,
                dpc: 0x0102,
                si: Some(5),
                opc: Some(0x0304),
            }),
            network_appearance: Some(8),
            ..AspConfig::default()
        },
        AspConfig {
            routing_context: Some(100),
            ..AspConfig::default()
        },
    );
    pair.up();
    assert_eq!(pair.asp.state(), AspState::Active);
    assert_eq!(
        pair.names(),
        [
            ">ASPUP",
            "<ASPUP-ACK",
            "<NTFY",
            ">REG-REQ",
            "<REG-RSP",
            ">ASPAC",
            "<ASPAC-ACK",
            "<NTFY"
        ]
    );
    assert!(pair.asp_events.contains(&AspEvent::Registered {
        routing_context: 101
    }));
    assert_eq!(pair.wire[5].2.routing_context(), Some(&[101][..]));
    assert_eq!(pair.asp.active_routing_context(), Some(101));
    assert_eq!(pair.sgp.active_routing_context(), Some(101));
}

#[test]
fn data_flows_both_ways_on_sls_streams() {
    let mut pair = Pair::new(
        AspConfig {
            routing_context: Some(3),
            network_appearance: Some(2),
            outbound_streams: 4,
            ..AspConfig::default()
        },
        AspConfig {
            routing_context: Some(3),
            ..AspConfig::default()
        },
    );
    pair.up();
    pair.wire.clear();
    pair.asp.send_data(data(5)).unwrap();
    pair.sgp.send_data(data(9)).unwrap();
    pair.drive();
    assert_eq!(pair.wire[0].1, 1 + 5 % 3);
    assert_eq!(pair.wire[0].2.network_appearance(), Some(2));
    assert_eq!(pair.wire[0].2.routing_context(), Some(&[3][..]));
    assert!(pair.sgp_events.contains(&AspEvent::Data(data(5))));
    assert!(pair.asp_events.contains(&AspEvent::Data(data(9))));
}

#[test]
fn send_data_is_refused_until_active() {
    let mut asp = Asp::new(AspConfig::default());
    assert_eq!(
        asp.send_data(data(0)),
        Err(AspError::NotActive {
            state: AspState::Down
        })
    );
    asp.handle_sctp_up(0);
    assert!(asp.send_data(data(0)).is_err());
}

#[test]
fn aspup_is_retransmitted_until_acknowledged() {
    let mut asp = Asp::new(AspConfig {
        retry_ms: 500,
        ..AspConfig::default()
    });
    asp.handle_sctp_up(1000);
    assert!(asp.poll_transmit().is_some());
    assert_eq!(asp.poll_timeout(), Some(1500));
    asp.handle_timeout(1499);
    assert!(asp.poll_transmit().is_none());
    asp.handle_timeout(1500);
    let again = asp.poll_transmit().unwrap();
    assert_eq!(
        M3uaMessage::decode(&again.data).unwrap().message_type,
        MessageType::AspUp
    );
    assert_eq!(asp.state(), AspState::UpPending);
}

#[test]
fn beat_is_sent_periodically_and_echoed() {
    let mut pair = Pair::new(
        AspConfig {
            beat_interval_ms: Some(10_000),
            ..AspConfig::default()
        },
        AspConfig::default(),
    );
    pair.up();
    assert_eq!(pair.asp.poll_timeout(), Some(10_000));
    pair.wire.clear();
    pair.now = 10_000;
    pair.asp.handle_timeout(pair.now);
    pair.drive();
    assert_eq!(pair.names(), [">BEAT", "<BEAT-ACK"]);
    assert_eq!(
        pair.wire[0].2.heartbeat_data(),
        pair.wire[1].2.heartbeat_data()
    );
    assert!(pair.wire[0].2.heartbeat_data().is_some());
    assert!(!pair.asp.beat_outstanding);
}

#[test]
fn malformed_input_is_answered_with_err() {
    let mut sgp = Asp::new(AspConfig {
        role: Role::Sgp,
        ..AspConfig::default()
    });
    sgp.handle_sctp_up(0);
    let cases: [(&[u8], u32); 4] = [
        (&[2, 0, 3, 1, 0, 0, 0, 8], error_code::INVALID_VERSION),
        (
            &[1, 0, 7, 1, 0, 0, 0, 8],
            error_code::UNSUPPORTED_MESSAGE_CLASS,
        ),
        (&[1, 0, 1, 1, 0, 0, 0, 8], error_code::MISSING_PARAMETER),
        (
            &[1, 0, 3, 1, 0, 0, 0, 12, 0, 0x11, 0, 3],
            error_code::PARAMETER_FIELD_ERROR,
        ),
    ];
    for (bytes, code) in cases {
        sgp.handle_bytes(0, bytes, 0);
        let answer = M3uaMessage::decode(&sgp.poll_transmit().unwrap().data).unwrap();
        assert_eq!(answer.message_type, MessageType::Error);
        assert_eq!(answer.error_code(), Some(code), "{bytes:?}");
        assert!(matches!(sgp.poll_event(), Some(AspEvent::ProtocolError(_))));
    }
    // A malformed ERR is reported but never answered.
    sgp.handle_bytes(0, &[1, 0, 0, 0, 0, 0, 0, 8], 0);
    assert!(sgp.poll_transmit().is_none());
}

#[test]
fn aspac_before_aspup_is_unexpected() {
    let mut sgp = Asp::new(AspConfig {
        role: Role::Sgp,
        ..AspConfig::default()
    });
    sgp.handle_sctp_up(0);
    let aspac = M3uaMessage::new(MessageType::AspActive, vec![]).encode();
    sgp.handle_bytes(0, &aspac, 0);
    let answer = M3uaMessage::decode(&sgp.poll_transmit().unwrap().data).unwrap();
    assert_eq!(answer.error_code(), Some(error_code::UNEXPECTED_MESSAGE));
}

#[test]
fn peer_err_is_reported() {
    let mut asp = Asp::new(AspConfig::default());
    asp.handle_sctp_up(0);
    let err = M3uaMessage::new(MessageType::Error, vec![Parameter::ErrorCode(0x19)]).encode();
    asp.handle_bytes(0, &err, 0);
    let events: Vec<_> = std::iter::from_fn(|| asp.poll_event()).collect();
    assert!(events.contains(&AspEvent::PeerError { code: 0x19 }));
}

#[test]
fn unknown_routing_context_in_aspac_is_refused() {
    let mut pair = Pair::new(
        AspConfig {
            routing_context: Some(5),
            ..AspConfig::default()
        },
        AspConfig {
            routing_context: Some(6),
            ..AspConfig::default()
        },
    );
    pair.up();
    assert_eq!(pair.asp.state(), AspState::ActivePending);
    assert!(pair.asp_events.contains(&AspEvent::PeerError {
        code: error_code::INVALID_ROUTING_CONTEXT
    }));
}

#[test]
fn inactive_down_and_sctp_loss() {
    let mut pair = Pair::new(AspConfig::default(), AspConfig::default());
    pair.up();
    pair.asp.request_inactive(pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.asp.state(), AspState::Inactive);
    assert_eq!(pair.sgp.state(), AspState::Inactive);
    pair.asp.request_down(pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.asp.state(), AspState::Down);
    assert_eq!(pair.sgp.state(), AspState::Down);
    assert_eq!(pair.asp.poll_timeout(), None);

    let mut pair = Pair::new(AspConfig::default(), AspConfig::default());
    pair.up();
    pair.asp.handle_sctp_down(5);
    pair.sgp.handle_sctp_down(5);
    assert_eq!(pair.asp.state(), AspState::Down);
    assert_eq!(pair.sgp.state(), AspState::Down);
}

#[test]
fn unsolicited_aspdn_ack_makes_the_asp_come_back_up() {
    let mut pair = Pair::new(AspConfig::default(), AspConfig::default());
    pair.up();
    let ack = M3uaMessage::new(MessageType::AspDownAck, vec![]).encode();
    pair.asp.handle_bytes(0, &ack, 100);
    assert_eq!(pair.asp.state(), AspState::Down);
    pair.now = pair.asp.poll_timeout().unwrap();
    pair.asp.handle_timeout(pair.now);
    pair.drive();
    assert_eq!(pair.asp.state(), AspState::Active);
}

#[test]
fn sgp_answers_daud_with_dava() {
    let mut pair = Pair::new(AspConfig::default(), AspConfig::default());
    pair.up();
    pair.wire.clear();
    let daud = M3uaMessage::new(
        MessageType::DestinationStateAudit,
        vec![Parameter::AffectedPointCode(vec![PointCodeEntry::exact(9)])],
    );
    pair.sgp.handle_bytes(0, &daud.encode(), 0);
    pair.drive();
    assert_eq!(pair.names(), ["<DAVA"]);
    assert!(matches!(
        pair.asp_events.last(),
        Some(AspEvent::NetworkManagement(m)) if m.message_type == MessageType::DestinationAvailable
    ));
    // Told that the destination is congested, the SGP answers with SCON and the level.
    pair.sgp.set_audit_congestion(Some(2));
    pair.wire.clear();
    pair.sgp.handle_bytes(0, &daud.encode(), 0);
    pair.drive();
    assert_eq!(pair.names(), ["<SCON"]);
    assert!(pair.wire[0]
        .2
        .parameters
        .contains(&Parameter::CongestionIndications(2)));
}

#[test]
fn arbitrary_bytes_never_panic() {
    use proptest::prelude::*;
    proptest!(|(stream in 0u16..4, bytes in proptest::collection::vec(any::<u8>(), 0..64))| {
        for role in [Role::Asp, Role::Sgp] {
            let mut machine = Asp::new(AspConfig { role, ..AspConfig::default() });
            machine.handle_sctp_up(0);
            machine.handle_bytes(stream, &bytes, 1);
            let mut header = vec![1, 0, bytes.first().copied().unwrap_or(0) % 10, 1];
            header.extend_from_slice(&((bytes.len() + 8) as u32).to_be_bytes());
            header.extend_from_slice(&bytes);
            machine.handle_bytes(stream, &header, 2);
        }
    });
}

#[test]
fn sctp_restart_registers_the_routing_key_again() {
    let mut pair = Pair::new(
        AspConfig {
            register_routing_key: Some(RoutingKeyRequest {
                local_rk_id: 9,
                dpc: 0x0203,
                si: Some(5),
                opc: None,
            }),
            ..AspConfig::default()
        },
        AspConfig::default(),
    );
    pair.up();
    assert_eq!(pair.asp.active_routing_context(), Some(2));
    pair.asp.handle_sctp_down(1);
    pair.sgp.handle_sctp_down(1);
    pair.wire.clear();
    pair.up();
    assert_eq!(pair.asp.state(), AspState::Active);
    assert!(pair.names().contains(&">REG-REQ".to_owned()));
    assert_eq!(pair.asp.active_routing_context(), Some(2));
}

#[test]
fn aspup_while_active_is_acknowledged_with_err() {
    let mut pair = Pair::new(AspConfig::default(), AspConfig::default());
    pair.up();
    let aspup = M3uaMessage::new(MessageType::AspUp, vec![]).encode();
    pair.sgp.handle_bytes(0, &aspup, 0);
    let sent: Vec<_> = std::iter::from_fn(|| pair.sgp.poll_transmit())
        .map(|t| M3uaMessage::decode(&t.data).unwrap())
        .collect();
    assert_eq!(sent[0].error_code(), Some(error_code::UNEXPECTED_MESSAGE));
    assert_eq!(sent[1].message_type, MessageType::AspUpAck);
    assert_eq!(pair.sgp.state(), AspState::Inactive);
}

#[test]
fn unsupported_traffic_mode_is_refused() {
    let mut pair = Pair::new(AspConfig::default(), AspConfig::default());
    pair.up();
    let aspac =
        M3uaMessage::new(MessageType::AspActive, vec![Parameter::TrafficModeType(9)]).encode();
    pair.sgp.handle_bytes(0, &aspac, 0);
    let answer = M3uaMessage::decode(&pair.sgp.poll_transmit().unwrap().data).unwrap();
    assert_eq!(
        answer.error_code(),
        Some(error_code::UNSUPPORTED_TRAFFIC_MODE_TYPE)
    );
}

#[test]
fn reactivation_after_inactive() {
    let mut pair = Pair::new(AspConfig::default(), AspConfig::default());
    pair.up();
    pair.asp.request_inactive(0).unwrap();
    pair.asp.request_active(0).unwrap();
    pair.drive();
    assert_eq!(pair.asp.state(), AspState::Active);
    assert_eq!(pair.sgp.state(), AspState::Active);
    assert!(pair.sgp.request_down(0).is_err());
}

#[test]
fn same_inputs_give_same_outputs() {
    let run = || {
        let mut pair = Pair::new(
            AspConfig {
                beat_interval_ms: Some(100),
                routing_context: Some(1),
                ..AspConfig::default()
            },
            AspConfig {
                routing_context: Some(1),
                ..AspConfig::default()
            },
        );
        pair.up();
        pair.asp.handle_timeout(100);
        pair.asp.send_data(data(3)).unwrap();
        pair.drive();
        (pair.wire, pair.asp_events, pair.sgp_events)
    };
    assert_eq!(run(), run());
}

#[test]
fn alternate_asp_active_makes_the_asp_inactive() {
    let mut pair = Pair::new(AspConfig::default(), AspConfig::default());
    pair.up();
    let ntfy = M3uaMessage::new(
        MessageType::Notify,
        vec![Parameter::Status {
            status_type: STATUS_TYPE_OTHER,
            status_info: STATUS_OTHER_ALTERNATE_ASP_ACTIVE,
        }],
    )
    .encode();
    pair.asp.handle_bytes(0, &ntfy, 0);
    assert_eq!(pair.asp.state(), AspState::Inactive);
    assert!(pair.asp.poll_transmit().is_none());
    pair.asp.request_active(0).unwrap();
    pair.drive();
    assert_eq!(pair.asp.state(), AspState::Active);
}

mod ipsp;
mod states;
