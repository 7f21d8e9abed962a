//! The exchange wired to a client ASP (tandem's side: M3UA ASP + ISUP call control) on
//! simulated time, without sockets.

use tandem::isup::call::{CallControl, CallControlConfig, CallEvent};
use tandem::isup::codec::BackwardCallIndicators;
use tandem::isup::Cic;
use tandem::sigtran::m3ua::{Asp, AspConfig, AspEvent, AspState, ProtocolData};

use super::*;
use crate::caller::{Caller, CallerConfig};

struct Pair {
    exchange: Exchange,
    asp: Asp,
    calls: CallControl,
    now: u64,
    events: Vec<CallEvent>,
    answer_incoming: bool,
}

impl Pair {
    fn new(caller: Option<(Caller, CallPlan)>) -> Pair {
        let answer_incoming = caller.is_some();
        let config = ExchangeConfig {
            opc: 2,
            dpc: 1,
            network_indicator: 2,
            cic_first: 1,
            cic_last: 31,
            routing_context: None,
            role: Role::Sgp,
            register_routing_key: false,
            ipsp: None,
            congestion: None,
            stats_path: None,
        };
        let exchange =
            Exchange::new(config, Scenario::default_scenario(), caller).expect("exchange");
        let mut pair = Pair {
            exchange,
            asp: Asp::new(AspConfig::default()),
            calls: CallControl::new(CallControlConfig::new(1, 31)).expect("call control"),
            now: 0,
            events: Vec::new(),
            answer_incoming,
        };
        pair.exchange.handle_sctp_up(0);
        pair.asp.handle_sctp_up(0);
        pair.settle();
        assert_eq!(pair.asp.state(), AspState::Active);
        assert!(pair.exchange.stats().asp_active);
        pair
    }

    /// Moves messages both ways until nothing is left to move.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            while let Some(transmit) = self.exchange.poll_transmit() {
                moved = true;
                self.asp
                    .handle_bytes(transmit.stream, &transmit.data, self.now);
            }
            while let Some(event) = self.asp.poll_event() {
                if let AspEvent::Data(data) = event {
                    self.calls.handle_bytes(&data.user_data, self.now);
                }
            }
            while let Some(event) = self.calls.poll_event() {
                if let (true, CallEvent::IncomingSetup { cic, .. }) = (self.answer_incoming, &event)
                {
                    self.calls
                        .alert(*cic, BackwardCallIndicators::default(), Vec::new())
                        .expect("ACM");
                    self.calls.answer(*cic).expect("ANM");
                }
                self.events.push(event);
            }
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
                self.asp.send_data(data).expect("client ASP active");
            }
            while let Some(transmit) = self.asp.poll_transmit() {
                moved = true;
                self.exchange
                    .handle_sctp_message(transmit.stream, &transmit.data, self.now);
            }
            if !moved {
                break;
            }
        }
    }

    /// Runs timers and traffic until `until_ms`.
    fn run_until(&mut self, until_ms: u64) {
        loop {
            self.settle();
            let next = [
                self.exchange.poll_timeout(),
                self.asp.poll_timeout(),
                self.calls.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= until_ms => {
                    self.now = self.now.max(at);
                    self.exchange.handle_timeout(self.now);
                    self.asp.handle_timeout(self.now);
                    self.calls.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = until_ms;
        self.settle();
    }

    fn place_call(&mut self, called: &str) -> Cic {
        let plan = CallPlan {
            to: called.to_owned(),
            from: "4940".to_owned(),
        };
        let iam = originating_iam(&plan).expect("valid numbers");
        let cic = self.calls.setup(iam, self.now).expect("setup");
        self.settle();
        cic
    }
}

#[test]
fn ordinary_call_is_answered_and_released_by_the_caller() {
    let mut pair = Pair::new(None);
    let cic = pair.place_call("4930123");
    pair.run_until(300);
    assert!(matches!(
        pair.events.as_slice(),
        [CallEvent::Alerting { .. }, CallEvent::Answered { .. }]
    ));
    pair.calls.release(cic, 16, pair.now).expect("REL");
    pair.run_until(400);
    assert!(matches!(
        pair.events.last(),
        Some(CallEvent::ReleaseComplete { .. })
    ));
    let stats = pair.exchange.stats();
    assert_eq!(stats.calls[0].messages, ["IAM", "ACM", "ANM", "REL", "RLC"]);
    assert_eq!(stats.calls[0].called, "4930123");
    assert_eq!(stats.calls[0].calling, "4940");
    assert_eq!(stats.calls[0].release_cause, Some(16));
    assert_eq!(stats.busy_cics, 0);
}

#[test]
fn cause_number_is_refused_with_that_cause() {
    let mut pair = Pair::new(None);
    pair.place_call("990017");
    pair.run_until(1000);
    let released = pair.events.iter().find_map(|event| match event {
        CallEvent::Released { cause, .. } => Some(cause.cause_value),
        _ => None,
    });
    assert_eq!(released, Some(17));
    let stats = pair.exchange.stats();
    assert_eq!(stats.calls[0].messages, ["IAM", "ACM", "REL", "RLC"]);
    assert_eq!(stats.calls[0].released_by, Some("exchange"));
    assert_eq!(stats.sent.get("REL"), Some(&1));
}

#[test]
fn exchange_hangs_up_991_numbers_after_answer() {
    let mut pair = Pair::new(None);
    pair.place_call("9915");
    pair.run_until(1100);
    assert!(!pair
        .events
        .iter()
        .any(|e| matches!(e, CallEvent::Released { .. })));
    pair.run_until(1300);
    let released = pair.events.iter().find_map(|event| match event {
        CallEvent::Released { cause, .. } => Some(cause.cause_value),
        _ => None,
    });
    assert_eq!(released, Some(16));
}

#[test]
fn call_mode_places_and_completes_calls() {
    let caller = Caller::new(CallerConfig {
        count: 3,
        interval_ms: 50,
        hold_ms: 500,
        release_timeout_ms: 10_000,
    });
    let plan = CallPlan {
        to: "+4930123".to_owned(),
        from: "4940".to_owned(),
    };
    let mut pair = Pair::new(Some((caller, plan)));
    pair.run_until(5000);
    assert!(pair.exchange.is_finished());
    assert_eq!(
        pair.exchange.summary().map(|s| s.to_string()).as_deref(),
        Some("calls: 3 attempted, 3 answered, 3 completed, 0 failed")
    );
    let stats = pair.exchange.stats();
    assert_eq!(stats.calls[0].called, "+4930123");
    assert_eq!(stats.calls[0].direction, "outgoing");
    assert_eq!(stats.sent.get("IAM"), Some(&3));
    assert_eq!(stats.received.get("RLC"), Some(&3));
}

#[test]
fn garbage_from_the_peer_does_not_stop_the_exchange() {
    let mut pair = Pair::new(None);
    pair.exchange
        .handle_sctp_message(1, &[1, 0, 1, 1, 0, 0, 0, 4], pair.now);
    pair.exchange.handle_sctp_message(1, &[0xff; 3], pair.now);
    let data = ProtocolData {
        opc: 1,
        dpc: 2,
        si: 5,
        ni: 2,
        mp: 0,
        sls: 1,
        user_data: vec![1, 0, 0x01, 0xff],
    };
    pair.asp.send_data(data).expect("active");
    pair.settle();
    pair.place_call("4930123");
    pair.run_until(300);
    assert!(pair
        .events
        .iter()
        .any(|e| matches!(e, CallEvent::Answered { .. })));
}
