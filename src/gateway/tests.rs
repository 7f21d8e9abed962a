//! The gateway core wired to a simulated exchange (an M3UA SGP and ISUP call control for the far end of the
//! circuits) on simulated time, with SIP given as bytes: call flows and bad input without a socket.

use std::net::SocketAddr;

use super::Driver;
use crate::config::Config;
use crate::events::{Event, EventKind, Input, Output, Payload, SipTransport};
use crate::isup::codec::BackwardCallIndicators;
use crate::isup::{
    CallControl, CallControlConfig, CallEvent, IsupMessage, MessageType as IsupType,
};
use crate::runtime::build_setup;
use crate::sigtran::m3ua::{
    Asp, AspConfig, AspEvent, M3uaMessage, MessageType, ProtocolData, Role,
};

pub(super) const PEER: &str = "127.0.0.1:5099";

pub(super) struct Exchange {
    asp: Asp,
    isup: CallControl,
    /// Whether the exchange sends ACM for an incoming IAM (false: it stays silent, so T7 runs out).
    pub(super) alerts: bool,
    /// Called numbers (ISUP digits) starting with this prefix are released with this cause instead of alerted.
    pub(super) release: Option<(String, u8)>,
}

pub(super) struct Bench {
    pub(super) driver: Driver,
    pub(super) exchange: Exchange,
    pub(super) now: u64,
    /// Everything the gateway produced, in order.
    pub(super) log: Vec<Event>,
    /// SIP the gateway sent.
    pub(super) sip_out: Vec<String>,
    /// ISUP the exchange received.
    pub(super) isup_in: Vec<IsupMessage>,
}

impl Bench {
    pub(super) fn new() -> Bench {
        let config = Config::default_embedded();
        let setup = build_setup(&config, 7).expect("setup");
        Bench::with_setup(setup)
    }

    /// A bench whose gateway starts from `setup` (its one trunk must be "pstn").
    pub(super) fn with_setup(setup: crate::events::Setup) -> Bench {
        let (driver, log) = Driver::start(setup, 1_000).expect("driver");
        let asp_config = AspConfig {
            role: Role::Sgp,
            ..AspConfig::default()
        };
        let exchange = Exchange {
            asp: Asp::new(asp_config),
            isup: CallControl::new(CallControlConfig::new(1, 31)).expect("call control"),
            alerts: true,
            release: None,
        };
        let mut bench = Bench {
            driver,
            exchange,
            now: 1_000,
            log,
            sip_out: Vec::new(),
            isup_in: Vec::new(),
        };
        bench.exchange.asp.handle_sctp_up(bench.now);
        bench.feed(Input::SctpUp {
            trunk: "pstn".into(),
        });
        bench
    }

    /// Feeds one input and then shuttles M3UA between the gateway and the exchange until both are quiet.
    pub(super) fn feed(&mut self, input: Input) {
        let mut inputs = vec![input];
        while let Some(input) = inputs.pop() {
            let events = self.driver.feed(input, self.now);
            for event in &events {
                match &event.kind {
                    EventKind::Output(Output::M3uaSend { stream, data, .. }) => {
                        self.exchange.asp.handle_bytes(*stream, &data.0, self.now)
                    }
                    EventKind::Output(Output::SipSend { data, .. }) => self
                        .sip_out
                        .push(String::from_utf8_lossy(&data.0).into_owned()),
                    _ => {}
                }
            }
            self.log.extend(events);
            inputs.extend(self.exchange_turn().into_iter().rev());
        }
    }

    /// The exchange handles what it received; returns what it sends back as gateway inputs.
    fn exchange_turn(&mut self) -> Vec<Input> {
        loop {
            let mut progressed = false;
            while let Some(event) = self.exchange.asp.poll_event() {
                progressed = true;
                if let AspEvent::Data(data) = event {
                    if let Ok(message) = IsupMessage::decode(&data.user_data) {
                        self.isup_in.push(message);
                    }
                    self.exchange.isup.handle_bytes(&data.user_data, self.now);
                }
            }
            while let Some(event) = self.exchange.isup.poll_event() {
                progressed = true;
                if let CallEvent::IncomingSetup { cic, iam } = &event {
                    let digits = crate::interwork::iam::called_address(iam)
                        .map(|a| a.digits)
                        .unwrap_or_default();
                    if let Some((prefix, cause)) = &self.exchange.release {
                        if digits.starts_with(prefix.as_str()) {
                            let _ = self.exchange.isup.release(*cic, *cause, self.now);
                            continue;
                        }
                    }
                }
                if let (CallEvent::IncomingSetup { cic, .. }, true) = (event, self.exchange.alerts)
                {
                    // Called party status "subscriber free" (Q.763 §3.5 b): RFC 3398 maps it to 180.
                    let indicators = BackwardCallIndicators {
                        called_party_status: 1,
                        ..Default::default()
                    };
                    let _ = self.exchange.isup.alert(cic, indicators, Vec::new());
                }
            }
            while let Some(message) = self.exchange.isup.poll_transmit() {
                progressed = true;
                let data = ProtocolData {
                    opc: 2,
                    dpc: 1,
                    si: 5,
                    ni: 2,
                    mp: 0,
                    sls: 0,
                    user_data: message.encode(),
                };
                let _ = self.exchange.asp.send_data(data);
            }
            if !progressed {
                break;
            }
        }
        let mut inputs = Vec::new();
        while let Some(transmit) = self.exchange.asp.poll_transmit() {
            inputs.push(Input::M3uaReceived {
                trunk: "pstn".into(),
                stream: transmit.stream,
                data: Payload(transmit.data),
            });
        }
        inputs
    }

    /// The exchange sends an IAM for `called` (national number) toward the gateway.
    pub(super) fn exchange_calls(&mut self, called: &[u8]) -> crate::isup::Cic {
        let cic = self
            .exchange
            .isup
            .setup(national_iam(called), self.now)
            .expect("exchange IAM");
        // Any input lets the exchange's turn carry the IAM over.
        self.feed(Input::Timeout);
        cic
    }

    /// The exchange releases its call on `cic` (normal clearing).
    pub(super) fn exchange_releases(&mut self, cic: crate::isup::Cic) {
        self.exchange
            .isup
            .release(cic, 16, self.now)
            .expect("exchange REL");
        self.feed(Input::Timeout);
    }

    pub(super) fn sip(&mut self, text: &str) {
        self.sip_bytes(text.as_bytes());
    }

    fn sip_bytes(&mut self, bytes: &[u8]) {
        let from: SocketAddr = PEER.parse().unwrap();
        self.feed(Input::SipReceived {
            transport: SipTransport::Udp,
            from,
            data: Payload(bytes.to_vec()),
        });
    }

    /// Moves the clock on and lets every deadline that passed fire.
    pub(super) fn advance(&mut self, ms: u64) {
        let target = self.now + ms;
        while let Some(deadline) = self.driver.poll_timeout().filter(|d| *d <= target) {
            self.now = deadline.max(self.now);
            self.feed(Input::Timeout);
        }
        self.now = target;
    }

    fn gateway_m3ua_out(&self) -> Vec<M3uaMessage> {
        self.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Output(Output::M3uaSend { data, .. }) => {
                    M3uaMessage::decode(&data.0).ok()
                }
                _ => None,
            })
            .collect()
    }

    pub(super) fn logs(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Output(Output::Log { message, .. }) => Some(message.clone()),
                _ => None,
            })
            .collect()
    }
}

pub(super) fn invite(number: &str, branch: &str) -> String {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n";
    format!(
        "INVITE sip:{number}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {PEER};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:+4940555@127.0.0.1>;tag=a{branch}\r\nTo: <sip:{number}@127.0.0.1>\r\nCall-ID: {branch}@test\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{PEER}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

#[test]
fn invite_becomes_iam_and_acm_becomes_180() {
    let mut bench = Bench::new();
    bench.sip(&invite("+4930123456", "b1"));
    let iam = bench
        .isup_in
        .iter()
        .find(|m| m.message_type == IsupType::IAM)
        .expect("IAM sent");
    let called = iam.called_party_number().expect("called").expect("valid");
    assert_eq!(called.digits.to_string(), "4930123456");
    assert_eq!(called.nature_of_address, 4);
    let calling = iam.calling_party_number().expect("calling").expect("valid");
    assert_eq!(calling.digits.to_string(), "4940555");
    let fci = iam.forward_call_indicators().expect("fci").expect("valid");
    assert!(
        !fci.interworking,
        "rfc3398 profile: no interworking encountered"
    );
    assert!(fci.isdn_user_part, "rfc3398 profile: ISUP all the way");
    assert_eq!(
        iam.calling_partys_category()
            .expect("cpc")
            .expect("valid")
            .0,
        10
    );
    assert!(
        bench.sip_out.iter().any(|m| m.starts_with("SIP/2.0 100")),
        "{:?}",
        bench.sip_out
    );
    assert!(
        bench.sip_out.iter().any(|m| m.starts_with("SIP/2.0 180")),
        "{:?}",
        bench.sip_out
    );
}

#[test]
fn malformed_m3ua_gets_err_and_malformed_isup_gets_an_answer() {
    let mut bench = Bench::new();
    // M3UA version 9: RFC 4666 §3.8.1 error code 0x01 (invalid version).
    bench.feed(Input::M3uaReceived {
        trunk: "pstn".into(),
        stream: 0,
        data: Payload(vec![9, 0, 1, 1, 0, 0, 0, 8]),
    });
    let errors: Vec<_> = bench
        .gateway_m3ua_out()
        .into_iter()
        .filter(|m| m.message_type == MessageType::Error)
        .collect();
    assert_eq!(errors.len(), 1, "one ERR for the bad message");
    assert_eq!(errors[0].error_code(), Some(0x01));
    // An IAM cut short inside valid M3UA DATA: the gateway refuses it on its CIC (Q.764 §2.9.5).
    let mut iam = invite_iam_bytes();
    iam.truncate(7);
    let data = ProtocolData {
        opc: 2,
        dpc: 1,
        si: 5,
        ni: 2,
        mp: 0,
        sls: 0,
        user_data: iam,
    };
    bench.exchange.asp.send_data(data).expect("exchange active");
    let inputs = bench.exchange_turn();
    for input in inputs {
        bench.feed(input);
    }
    let answered = bench
        .isup_in
        .iter()
        .any(|m| m.cic.0 == 5 && matches!(m.message_type, IsupType::REL | IsupType::CFN));
    assert!(
        answered,
        "truncated IAM on CIC 5 answered with REL or CFN; exchange saw {:?}",
        bench.isup_in
    );
    assert!(
        bench.logs().iter().any(|l| l.contains("malformed M3UA")),
        "{:?}",
        bench.logs()
    );
    // The gateway still serves calls.
    bench.sip(&invite("+4930123456", "b2"));
    assert!(bench
        .isup_in
        .iter()
        .any(|m| m.message_type == IsupType::IAM));
}

#[test]
fn garbage_sip_is_logged_and_dialplan_rejection_gets_the_table_status() {
    let mut bench = Bench::new();
    bench.sip("\u{1}\u{2}garbage\r\n\r\n");
    assert!(
        bench.logs().iter().any(|l| l.contains("malformed SIP")),
        "{:?}",
        bench.logs()
    );
    // Letters cannot be ISUP digits: cause 28 (invalid number format) → 484 per RFC 3398.
    bench.sip(&invite("alice", "b3"));
    assert!(
        bench.sip_out.iter().any(|m| m.starts_with("SIP/2.0 484")),
        "{:?}",
        bench.sip_out
    );
    assert!(
        bench
            .sip_out
            .iter()
            .any(|m| m.contains("Reason: Q.850;cause=28")),
        "{:?}",
        bench.sip_out
    );
}

#[test]
fn the_same_inputs_give_the_same_events() {
    let run = || {
        let mut bench = Bench::new();
        bench.sip(&invite("+4930123456", "b4"));
        bench.log
    };
    assert_eq!(run(), run());
}

fn invite_iam_bytes() -> Vec<u8> {
    IsupMessage::iam(crate::isup::Cic(5), national_iam(&[3, 0, 1, 2, 3])).encode()
}

/// An IAM for a national called number, no calling number.
fn national_iam(called: &[u8]) -> crate::isup::codec::Iam {
    use crate::isup::codec::{CalledPartyNumber, Digits, Iam};
    Iam {
        nature_of_connection_indicators: Default::default(),
        forward_call_indicators: Default::default(),
        calling_partys_category: crate::isup::codec::CallingPartysCategory(10),
        transmission_medium_requirement: crate::isup::codec::TransmissionMediumRequirement(3),
        called_party_number: CalledPartyNumber {
            nature_of_address: 3,
            internal_network_number_not_allowed: false,
            numbering_plan: 1,
            spare: 0,
            digits: Digits::from_signals(called.iter().copied()),
        },
        calling_party_number: None,
        optional: Vec::new(),
    }
}

#[test]
fn no_acm_before_t7_releases_the_circuit_and_answers_sip_from_the_table() {
    let mut bench = Bench::new();
    bench.exchange.alerts = false;
    bench.sip(&invite("+4930123456", "b5"));
    assert!(bench
        .isup_in
        .iter()
        .any(|m| m.message_type == IsupType::IAM));
    // Default T7 is 25 s; T7 expiry releases with the table's no_acm_timeout cause (31 → 480 in rfc3398).
    bench.advance(26_000);
    let rel = bench
        .isup_in
        .iter()
        .find(|m| m.message_type == IsupType::REL)
        .expect("REL after T7");
    assert_eq!(
        rel.cause_indicators()
            .expect("cause")
            .expect("valid")
            .cause_value,
        31
    );
    assert!(
        bench.sip_out.iter().any(|m| m.starts_with("SIP/2.0 480")),
        "{:?}",
        bench.sip_out
    );
}

#[test]
fn encapsulated_iam_gives_numbers_and_category() {
    use crate::isup::codec::{CallingPartyNumber, CallingPartysCategory, Digits};
    let mut bench = Bench::new();
    let mut iam = IsupMessage::decode(&invite_iam_bytes())
        .expect("iam")
        .to_iam()
        .expect("iam");
    iam.calling_partys_category = CallingPartysCategory(15); // payphone
    iam.calling_party_number = Some(CallingPartyNumber {
        nature_of_address: 3,
        number_incomplete: false,
        numbering_plan: 1,
        address_presentation_restricted: 0,
        screening: 3,
        digits: Digits::from_signals([4, 0, 7, 7, 7]),
    });
    let isup = IsupMessage::iam(crate::isup::Cic(0), iam).encode();
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
    let mut body = format!("--b\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n--b\r\nContent-Type: application/ISUP;version=itu-t92+\r\nContent-Disposition: signal;handling=required\r\n\r\n").into_bytes();
    body.extend_from_slice(&isup);
    body.extend_from_slice(b"\r\n--b--\r\n");
    let head = format!(
        "INVITE sip:+4999999@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {PEER};branch=z9hG4bKsipi;rport\r\nMax-Forwards: 70\r\nFrom: <sip:+4940555@127.0.0.1>;tag=sipi\r\nTo: <sip:+4999999@127.0.0.1>\r\nCall-ID: sipi@test\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{PEER}>\r\nContent-Type: multipart/mixed;boundary=b\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut message = head.into_bytes();
    message.extend_from_slice(&body);
    bench.sip_bytes(&message);
    let sent = bench
        .isup_in
        .iter()
        .find(|m| m.message_type == IsupType::IAM)
        .expect("IAM sent");
    let called = sent.called_party_number().expect("called").expect("valid");
    assert_eq!(
        called.digits.to_string(),
        "30123",
        "called number from the encapsulated IAM"
    );
    assert_eq!(called.nature_of_address, 3);
    let calling = sent
        .calling_party_number()
        .expect("calling")
        .expect("valid");
    assert_eq!(
        calling.digits.to_string(),
        "40777",
        "calling number from the encapsulated IAM"
    );
    assert_eq!(
        sent.calling_partys_category()
            .expect("cpc")
            .expect("valid")
            .0,
        15
    );
}

/// RFC 4666 §4.5: the destination is audited when the ASP becomes active; DUNA makes new calls fail with the
/// table's cause for a lost signalling route (41 → 503) without touching the link; DAVA lets them through again.
#[test]
fn daud_at_activation_and_duna_dava_gate_new_calls() {
    use crate::sigtran::m3ua::{Parameter, PointCodeEntry};
    let mut bench = Bench::new();
    let audits: Vec<_> = bench
        .gateway_m3ua_out()
        .into_iter()
        .filter(|m| m.message_type == MessageType::DestinationStateAudit)
        .collect();
    assert_eq!(audits.len(), 1, "one DAUD after activation");
    assert_eq!(
        audits[0].affected_point_codes(),
        Some(&[PointCodeEntry::exact(2)][..])
    );
    // The simulated SGP answered DAVA.
    assert!(bench
        .logs()
        .iter()
        .any(|l| l == "trunk pstn: destination Unknown -> Available (DAVA received)"));
    let ssnm = |message_type| Input::M3uaReceived {
        trunk: "pstn".into(),
        stream: 0,
        data: Payload(
            M3uaMessage::new(
                message_type,
                vec![Parameter::AffectedPointCode(vec![PointCodeEntry::exact(2)])],
            )
            .encode(),
        ),
    };
    bench.feed(ssnm(MessageType::DestinationUnavailable));
    let iams_before = bench.isup_in.len();
    bench.sip(&invite("+4930123456", "d1"));
    assert_eq!(
        bench.isup_in.len(),
        iams_before,
        "no IAM toward an unavailable destination"
    );
    assert!(
        bench.sip_out.iter().any(|m| m.starts_with("SIP/2.0 503")),
        "{:?}",
        bench.sip_out
    );
    bench.feed(ssnm(MessageType::DestinationAvailable));
    bench.sip(&invite("+4930123456", "d2"));
    assert!(bench
        .isup_in
        .iter()
        .any(|m| m.message_type == IsupType::IAM));
    let transitions: Vec<String> = bench
        .log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Transition(t) if t.machine == "m3ua_destination" => {
                Some(format!("{}>{}", t.from, t.to))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        transitions,
        [
            "Unknown>Available",
            "Available>Unavailable",
            "Unavailable>Available"
        ]
    );
}
