//! RFC 3261 §17 transactions (as amended by RFC 6026), wrapping the external crate's state
//! machines with absolute-millisecond timers and transition recording.
//!
//! The external machines speak relative `Duration`s and report their state only on request; this
//! wrapper turns `SetTimer` into deadlines on tandem's injected clock and compares the state
//! before and after every input so each change is reported once as a [`Transition`].

use std::collections::VecDeque;
use std::time::Duration;

use sipx::transaction::{ClientTransaction, Output, Reliability, ServerTransaction, Timer, Timers};
use sipx::TransactionKey;
use sipx_sip as sipx;

/// RFC 3261 timer constants (T1, T2, T4).
pub(crate) type TxTimers = Timers;

use super::lingering::Lingering;
use super::message::{Method, Request, Response};
use super::{Transition, TransportKind};

/// Matching key of a transaction (RFC 3261 §17.1.3, §17.2.3), opaque outside this module.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TxKey(TransactionKey);

impl TxKey {
    /// Key of the server transaction an incoming request belongs to (ACK folded to INVITE).
    pub(crate) fn of_request(request: &Request) -> Option<Self> {
        TransactionKey::from_request(&request.inner).map(Self)
    }

    /// Key of the INVITE a CANCEL refers to (RFC 3261 §9.2).
    pub(crate) fn of_cancelled_invite(request: &Request) -> Option<Self> {
        TransactionKey::for_cancelled_invite(&request.inner).map(Self)
    }

    /// Key of the client transaction a response belongs to.
    pub(crate) fn of_response(response: &Response) -> Option<Self> {
        TransactionKey::from_response(&response.inner).map(Self)
    }

    fn of_sent(request: &Request) -> Option<Self> {
        TransactionKey::from_sent_request(&request.inner).map(Self)
    }
}

/// What a transaction asks of the endpoint after an input.
#[derive(Debug, Default)]
pub(crate) struct TxOutput {
    /// Messages to transmit, in order.
    pub(crate) send: Vec<Vec<u8>>,
    /// Events for the transaction user.
    pub(crate) events: Vec<TxEvent>,
    /// The transaction is over and can be dropped.
    pub(crate) terminated: bool,
}

/// Transaction-user events (RFC 3261 §17 "TU").
#[derive(Debug)]
pub(crate) enum TxEvent {
    /// A response for a client transaction.
    Response(Response),
    /// An ACK for a 2xx that matched an INVITE server transaction (RFC 6026 Accepted).
    Ack,
    /// Timer B/F/H fired.
    Timeout,
    /// The transport could not deliver the request (RFC 3261 §17.1.4): a refused or failed connection.
    TransportError,
}

enum Machine {
    /// Boxed, like the client: the machines are several hundred bytes each, [`Machine::Lingering`] a few dozen.
    Server(Box<ServerTransaction>),
    Client(Box<ClientTransaction>),
    /// After the final response: absorbing retransmissions until the last timer, without the machine's copies
    /// of the messages.
    Lingering(Lingering),
}

/// One transaction with its deadlines on the injected clock.
pub(crate) struct Transaction {
    pub(crate) id: String,
    pub(crate) key: TxKey,
    machine: Machine,
    deadlines: Vec<(Timer, u64)>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.id)
            .field("state", &self.state())
            .field("deadlines", &self.deadlines)
            .finish()
    }
}

pub(crate) fn timers(t1_ms: u64) -> Timers {
    Timers {
        t1: Duration::from_millis(t1_ms.max(1)),
        ..Timers::default()
    }
}

fn reliability(transport: TransportKind) -> Reliability {
    match transport {
        TransportKind::Udp => Reliability::Unreliable,
        TransportKind::Tcp | TransportKind::Tls | TransportKind::Ws | TransportKind::Wss => {
            Reliability::Reliable
        }
    }
}

/// The state of either machine, compared without formatting it: most inputs (retransmissions, timers that re-arm)
/// change nothing, and naming the state as text on every one of them was measurable under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Server(sipx::transaction::ServerState),
    Client(sipx::transaction::ClientState),
}

impl State {
    fn name(self) -> String {
        match self {
            State::Server(state) => format!("{state:?}"),
            State::Client(state) => format!("{state:?}"),
        }
    }
}

/// What an input did: outputs of the full machine still to apply, or a lingering transaction's finished result.
enum Step {
    Machine(Vec<Output>),
    Done(TxOutput),
}

fn machine_name(state: State) -> &'static str {
    match state {
        State::Server(_) => "sip.server_transaction",
        State::Client(_) => "sip.client_transaction",
    }
}

impl Transaction {
    /// A server transaction for a new request; returns `None` when no key can be derived.
    pub(crate) fn server(
        id: String,
        request: &Request,
        transport: TransportKind,
        timers: Timers,
        now_ms: u64,
        transitions: &mut VecDeque<Transition>,
    ) -> Option<(Self, TxOutput)> {
        let key = TxKey::of_request(request)?;
        let (machine, outputs) =
            ServerTransaction::new(request.inner.clone(), reliability(transport), timers);
        let mut tx = Self {
            id,
            key,
            machine: Machine::Server(Box::new(machine)),
            deadlines: Vec::new(),
        };
        tx.record(transitions, None, || "request received".into());
        let out = tx.apply(outputs, now_ms);
        Some((tx, out))
    }

    /// A client transaction sending `request`; returns `None` when no key can be derived.
    pub(crate) fn client(
        id: String,
        request: &Request,
        transport: TransportKind,
        timers: Timers,
        now_ms: u64,
        transitions: &mut VecDeque<Transition>,
    ) -> Option<(Self, TxOutput)> {
        let key = TxKey::of_sent(request)?;
        let (machine, outputs) =
            ClientTransaction::new(request.inner.clone(), reliability(transport), timers);
        let mut tx = Self {
            id,
            key,
            machine: Machine::Client(Box::new(machine)),
            deadlines: Vec::new(),
        };
        tx.record(transitions, None, || "request sent".into());
        let out = tx.apply(outputs, now_ms);
        Some((tx, out))
    }

    /// The state name (for logs and transitions).
    pub(crate) fn state(&self) -> String {
        self.current().name()
    }

    fn current(&self) -> State {
        match &self.machine {
            Machine::Server(m) => State::Server(m.state()),
            Machine::Client(m) => State::Client(m.state()),
            Machine::Lingering(l) => l.state(),
        }
    }

    /// Whether this is a server transaction that has sent a final response.
    pub(crate) fn server_final_sent(&self) -> bool {
        match self.current() {
            State::Server(state) => !matches!(
                state,
                sipx::transaction::ServerState::Trying | sipx::transaction::ServerState::Proceeding
            ),
            State::Client(_) => false,
        }
    }

    /// Whether the machine has been swapped for its absorbing form.
    #[cfg(test)]
    pub(crate) fn is_lingering(&self) -> bool {
        matches!(self.machine, Machine::Lingering(_))
    }

    /// Whether the transaction is over.
    pub(crate) fn is_terminated(&self) -> bool {
        match self.current() {
            State::Server(state) => state.is_terminated(),
            State::Client(state) => state.is_terminated(),
        }
    }

    /// Records a change from `before` (`None`: the transaction is new); `reason` is only built for a change.
    fn record(
        &self,
        transitions: &mut VecDeque<Transition>,
        before: Option<State>,
        reason: impl FnOnce() -> String,
    ) {
        let now = self.current();
        if before != Some(now) {
            transitions.push_back(Transition {
                machine: machine_name(now),
                id: self.id.clone(),
                from: before.map_or_else(|| "None".to_string(), State::name),
                to: now.name(),
                reason: reason(),
            });
        }
    }

    /// A request matched this (server) transaction: a retransmission or an ACK.
    pub(crate) fn on_request(
        &mut self,
        request: &Request,
        now_ms: u64,
        transitions: &mut VecDeque<Transition>,
    ) -> TxOutput {
        let before = self.current();
        let out = match &mut self.machine {
            Machine::Server(m) => Step::Machine(m.on_request(&request.inner)),
            Machine::Client(_) => Step::Done(TxOutput::default()),
            Machine::Lingering(l) => Step::Done(l.on_request(request.method() == Method::Ack)),
        };
        let out = self.finish(out, now_ms);
        self.record(transitions, Some(before), || {
            format!("{} received", request.method().as_str())
        });
        out
    }

    /// The TU sends a response through this (server) transaction.
    pub(crate) fn send_response(
        &mut self,
        response: &Response,
        now_ms: u64,
        transitions: &mut VecDeque<Transition>,
    ) -> TxOutput {
        let before = self.current();
        let out = match &mut self.machine {
            Machine::Server(m) => Step::Machine(m.on_tu_response(response.inner.clone())),
            Machine::Client(_) => Step::Done(TxOutput::default()),
            Machine::Lingering(l) => Step::Done(l.on_tu_response(response)),
        };
        let out = self.finish(out, now_ms);
        self.record(transitions, Some(before), || {
            format!("{} sent", response.status())
        });
        out
    }

    /// A response matched this (client) transaction.
    pub(crate) fn on_response(
        &mut self,
        response: Response,
        now_ms: u64,
        transitions: &mut VecDeque<Transition>,
    ) -> TxOutput {
        let before = self.current();
        let status = response.status();
        let out = match &mut self.machine {
            Machine::Client(m) => Step::Machine(m.on_response(response.inner)),
            Machine::Server(_) => Step::Done(TxOutput::default()),
            Machine::Lingering(l) => Step::Done(l.on_response(response)),
        };
        let out = self.finish(out, now_ms);
        self.record(transitions, Some(before), || format!("{status} received"));
        out
    }

    /// Earliest deadline of this transaction.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.deadlines.iter().map(|(_, at)| *at).min()
    }

    /// Fire the earliest timer due at `now_ms`, if any.
    pub(crate) fn fire_due(
        &mut self,
        now_ms: u64,
        transitions: &mut VecDeque<Transition>,
    ) -> Option<TxOutput> {
        let (index, timer) = self
            .deadlines
            .iter()
            .enumerate()
            .filter(|(_, (_, at))| *at <= now_ms)
            .min_by_key(|(_, (_, at))| *at)
            .map(|(i, (t, _))| (i, *t))?;
        self.deadlines.remove(index);
        let before = self.current();
        let out = match &mut self.machine {
            Machine::Server(m) => Step::Machine(m.on_timer(timer)),
            Machine::Client(m) => Step::Machine(m.on_timer(timer)),
            Machine::Lingering(l) => Step::Done(l.on_timer(timer)),
        };
        let out = self.finish(out, now_ms);
        self.record(transitions, Some(before), || {
            format!("timer {timer:?} fired")
        });
        Some(out)
    }

    /// The runtime could not deliver this (client) transaction's request (RFC 3261 §17.1.4): the transaction
    /// ends at once and tells its user; a server transaction is unaffected (its peer retransmits).
    pub(crate) fn on_transport_error(
        &mut self,
        now_ms: u64,
        transitions: &mut VecDeque<Transition>,
    ) -> TxOutput {
        let before = self.current();
        let out = match &mut self.machine {
            Machine::Client(m) => Step::Machine(m.on_transport_error()),
            Machine::Server(_) => Step::Done(TxOutput::default()),
            Machine::Lingering(l) => Step::Done(l.on_transport_error()),
        };
        let out = self.finish(out, now_ms);
        self.record(transitions, Some(before), || "transport error".into());
        out
    }

    fn apply(&mut self, outputs: Vec<Output>, now_ms: u64) -> TxOutput {
        let mut out = TxOutput::default();
        for output in outputs {
            match output {
                Output::Send(message) => out.send.push(message.to_bytes().to_vec()),
                Output::SetTimer { timer, after } => {
                    let after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                    self.deadlines.retain(|(t, _)| *t != timer);
                    self.deadlines
                        .push((timer, now_ms.saturating_add(after_ms)));
                }
                Output::ClearTimer(timer) => self.deadlines.retain(|(t, _)| *t != timer),
                Output::ToTu(event) => match *event {
                    sipx::TuEvent::Response(r) => {
                        out.events.push(TxEvent::Response(Response { inner: *r }))
                    }
                    sipx::TuEvent::Ack(_) => out.events.push(TxEvent::Ack),
                    sipx::TuEvent::Timeout => out.events.push(TxEvent::Timeout),
                    sipx::TuEvent::TransportError => out.events.push(TxEvent::TransportError),
                    // The server machine hands the creating request up; the endpoint already
                    // has it, so it is dropped here.
                    _ => {}
                },
                Output::Terminated(_) => {
                    out.terminated = true;
                    self.deadlines.clear();
                }
                _ => {}
            }
        }
        if self.is_terminated() {
            out.terminated = true;
            self.deadlines.clear();
        } else {
            self.linger(out.send.last());
        }
        out
    }

    /// Applies what an input made of the machine: the full machine's outputs, or a lingering one's result
    /// (which has nothing left to time once it has ended).
    fn finish(&mut self, step: Step, now_ms: u64) -> TxOutput {
        match step {
            Step::Machine(outputs) => self.apply(outputs, now_ms),
            Step::Done(out) => {
                if out.terminated {
                    self.deadlines.clear();
                }
                out
            }
        }
    }

    /// Swaps the machine for its [`Lingering`] form once it is in an absorbing state; `sent` is the last
    /// message of the input that got it there (a non-INVITE server's final response).
    fn linger(&mut self, sent: Option<&Vec<u8>>) {
        let lingering = match &self.machine {
            Machine::Server(m) => {
                let invite = m.request().method == sipx::Method::Invite;
                Lingering::server(m.state(), invite, sent)
            }
            Machine::Client(m) => {
                Lingering::client(m.state(), m.request().method == sipx::Method::Invite)
            }
            Machine::Lingering(_) => None,
        };
        if let Some(lingering) = lingering {
            self.machine = Machine::Lingering(lingering);
        }
    }
}
