//! Ended transactions that only absorb retransmissions until their last timer (RFC 3261 §17 Timers I, J, K;
//! RFC 6026 Timers L, M).
//!
//! After its final response a transaction has nothing left to decide, but it must stay up to 32 s over UDP: a
//! server re-sends its final response to a retransmitted request (Completed) or passes a late ACK up (Accepted),
//! a client passes a retransmitted 2xx up (Accepted). The external crate's machines keep their whole request and
//! last response for that time; at thousands of calls per second those copies were most of the gateway's memory
//! and a good part of its CPU (the kernel zeroing pages as the heap grew). A [`Lingering`] transaction keeps
//! only what these states use — the state, the timer that ends it, and for a non-INVITE server the bytes of its
//! final response — and behaves exactly as the machine it replaces would.

use sipx::transaction::{ClientState, ServerState, Timer};
use sipx_sip as sipx;

use super::message::Response;
use super::transaction::{State, TxEvent, TxOutput};

/// An ended transaction in one of the absorbing states.
#[derive(Debug)]
pub(crate) struct Lingering {
    state: State,
    ends_on: Timer,
    /// A non-INVITE server in Completed: its final response, sent again for each retransmitted request.
    resend: Option<Vec<u8>>,
}

impl Lingering {
    /// The absorbing form of a server transaction in `state`, when the state absorbs: a non-INVITE in Completed
    /// (given the final response it sent), an INVITE in Accepted or Confirmed. `None` otherwise (an INVITE in
    /// Completed still retransmits its non-2xx on Timer G and waits for the ACK).
    pub(crate) fn server(
        state: ServerState,
        invite: bool,
        final_response: Option<&Vec<u8>>,
    ) -> Option<Self> {
        let (ends_on, resend) = match (state, invite) {
            (ServerState::Completed, false) => (Timer::J, Some(final_response?.clone())),
            (ServerState::Accepted, true) => (Timer::L, None),
            (ServerState::Confirmed, true) => (Timer::I, None),
            _ => return None,
        };
        Some(Self {
            state: State::Server(state),
            ends_on,
            resend,
        })
    }

    /// The absorbing form of a client transaction in `state`: an INVITE in Accepted, a non-INVITE in Completed.
    /// `None` otherwise (an INVITE in Completed re-sends its ACK for a retransmitted final response).
    pub(crate) fn client(state: ClientState, invite: bool) -> Option<Self> {
        let ends_on = match (state, invite) {
            (ClientState::Accepted, true) => Timer::M,
            (ClientState::Completed, false) => Timer::K,
            _ => return None,
        };
        Some(Self {
            state: State::Client(state),
            ends_on,
            resend: None,
        })
    }

    /// The state it lingers in (or Terminated).
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// A request matched (server side): a retransmission is answered with the stored final response; the ACK
    /// for an accepted INVITE goes up (RFC 6026 §8.7); anything else is absorbed.
    pub(crate) fn on_request(&self, is_ack: bool) -> TxOutput {
        let mut out = TxOutput::default();
        match self.state {
            State::Server(ServerState::Completed) if !is_ack => {
                out.send.extend(self.resend.clone());
            }
            State::Server(ServerState::Accepted) if is_ack => out.events.push(TxEvent::Ack),
            _ => {}
        }
        out
    }

    /// The user sends a response (server side): only a 2xx retransmission in Accepted leaves.
    pub(crate) fn on_tu_response(&self, response: &Response) -> TxOutput {
        let mut out = TxOutput::default();
        if self.state == State::Server(ServerState::Accepted)
            && (200..300).contains(&response.status())
        {
            out.send.push(response.to_bytes());
        }
        out
    }

    /// A response matched (client side): a further 2xx to an accepted INVITE goes up (forking, retransmission);
    /// anything else is absorbed.
    pub(crate) fn on_response(&self, response: Response) -> TxOutput {
        let mut out = TxOutput::default();
        if self.state == State::Client(ClientState::Accepted)
            && (200..300).contains(&response.status())
        {
            out.events.push(TxEvent::Response(response));
        }
        out
    }

    /// A timer fired: the one it lingers for ends it.
    pub(crate) fn on_timer(&mut self, timer: Timer) -> TxOutput {
        let mut out = TxOutput::default();
        if timer == self.ends_on {
            self.terminate();
            out.terminated = true;
        }
        out
    }

    /// The transport failed toward the peer (client side): the transaction ends and tells its user, as the
    /// full machine does in any state but Terminated.
    pub(crate) fn on_transport_error(&mut self) -> TxOutput {
        let mut out = TxOutput::default();
        if let State::Client(state) = self.state {
            if !state.is_terminated() {
                self.terminate();
                out.events.push(TxEvent::TransportError);
                out.terminated = true;
            }
        }
        out
    }

    fn terminate(&mut self) {
        self.state = match self.state {
            State::Server(_) => State::Server(ServerState::Terminated),
            State::Client(_) => State::Client(ClientState::Terminated),
        };
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::super::message::{build_response, parse, Message, Request, Response};
    use super::super::transaction::{timers, Transaction, TxEvent};
    use super::super::TransportKind;

    fn request(method: &str) -> Request {
        let text = format!(
            "{method} sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKl{method}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a\r\nTo: <sip:bob@127.0.0.1>;tag=b\r\n\
             Call-ID: linger@127.0.0.1\r\nCSeq: 2 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes()) {
            Ok(Message::Request(request)) => request,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn response(to: &Request, status: u16) -> Response {
        build_response(to, status, "OK", None, &[], None).expect("response")
    }

    #[test]
    fn a_completed_non_invite_server_resends_its_final_response_until_timer_j() {
        let mut transitions = VecDeque::new();
        let bye = request("BYE");
        let (mut tx, _) = Transaction::server(
            "tx-1".into(),
            &bye,
            TransportKind::Udp,
            timers(500),
            0,
            &mut transitions,
        )
        .expect("server transaction");
        let ok = response(&bye, 200);
        let sent = tx.send_response(&ok, 10, &mut transitions);
        assert_eq!(sent.send, vec![ok.to_bytes()]);
        assert_eq!(tx.state(), "Completed");
        assert!(tx.is_lingering());
        // A retransmitted BYE gets the same bytes again, with no event for the user.
        let again = tx.on_request(&bye, 1_000, &mut transitions);
        assert_eq!(again.send, vec![ok.to_bytes()]);
        assert!(again.events.is_empty() && !again.terminated);
        assert_eq!(tx.next_deadline(), Some(10 + 32_000), "Timer J = 64*T1");
        assert!(tx.fire_due(32_009, &mut transitions).is_none());
        let ended = tx.fire_due(32_010, &mut transitions).expect("Timer J");
        assert!(ended.terminated && tx.is_terminated());
        assert_eq!(tx.next_deadline(), None);
        let last = transitions.back().expect("transition");
        assert_eq!(
            (last.from.as_str(), last.to.as_str()),
            ("Completed", "Terminated")
        );
    }

    #[test]
    fn an_accepted_invite_server_passes_acks_up_and_absorbs_retransmitted_invites() {
        let mut transitions = VecDeque::new();
        let invite = request("INVITE");
        let (mut tx, _) = Transaction::server(
            "tx-2".into(),
            &invite,
            TransportKind::Udp,
            timers(500),
            0,
            &mut transitions,
        )
        .expect("server transaction");
        let ok = response(&invite, 200);
        tx.send_response(&ok, 5, &mut transitions);
        assert_eq!(tx.state(), "Accepted");
        assert!(tx.is_lingering());
        let absorbed = tx.on_request(&invite, 600, &mut transitions);
        assert!(absorbed.send.is_empty() && absorbed.events.is_empty());
        // The user's own 2xx retransmission still leaves through the transaction.
        assert_eq!(
            tx.send_response(&ok, 700, &mut transitions).send,
            vec![ok.to_bytes()]
        );
        let ack = tx.on_request(&request("ACK"), 800, &mut transitions);
        assert!(matches!(ack.events.as_slice(), [TxEvent::Ack]));
        let ended = tx.fire_due(32_005, &mut transitions).expect("Timer L");
        assert!(ended.terminated);
    }

    #[test]
    fn an_accepted_invite_client_passes_further_2xx_up_until_timer_m() {
        let mut transitions = VecDeque::new();
        let invite = request("INVITE");
        let (mut tx, _) = Transaction::client(
            "tx-3".into(),
            &invite,
            TransportKind::Udp,
            timers(500),
            0,
            &mut transitions,
        )
        .expect("client transaction");
        let first = tx.on_response(response(&invite, 200), 50, &mut transitions);
        assert!(matches!(first.events.as_slice(), [TxEvent::Response(_)]));
        assert_eq!(tx.state(), "Accepted");
        assert!(tx.is_lingering());
        let again = tx.on_response(response(&invite, 200), 550, &mut transitions);
        assert!(matches!(again.events.as_slice(), [TxEvent::Response(r)] if r.status() == 200));
        let provisional = tx.on_response(response(&invite, 180), 560, &mut transitions);
        assert!(provisional.events.is_empty());
        let ended = tx.fire_due(32_050, &mut transitions).expect("Timer M");
        assert!(ended.terminated && tx.is_terminated());
    }

    #[test]
    fn a_completed_non_invite_client_absorbs_responses_and_a_transport_error_ends_it() {
        let mut transitions = VecDeque::new();
        let bye = request("BYE");
        let (mut tx, _) = Transaction::client(
            "tx-4".into(),
            &bye,
            TransportKind::Udp,
            timers(500),
            0,
            &mut transitions,
        )
        .expect("client transaction");
        let ok = tx.on_response(response(&bye, 200), 40, &mut transitions);
        assert!(matches!(ok.events.as_slice(), [TxEvent::Response(_)]));
        assert_eq!(tx.state(), "Completed");
        assert!(tx.is_lingering());
        let repeat = tx.on_response(response(&bye, 200), 60, &mut transitions);
        assert!(repeat.events.is_empty() && repeat.send.is_empty());
        let failed = tx.on_transport_error(70, &mut transitions);
        assert!(matches!(
            failed.events.as_slice(),
            [TxEvent::TransportError]
        ));
        assert!(failed.terminated && tx.is_terminated());
        assert_eq!(tx.next_deadline(), None);
    }
}
