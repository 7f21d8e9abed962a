//! The driver wraps the gateway core with what the event log needs: sequence numbers and the grouping of every
//! input with the transitions and outputs it caused. The runtime and `tandem replay` use the same driver, which is
//! what makes replay exact.

use super::{Gateway, GatewayError};
use crate::events::{Event, EventKind, Input, Setup};

/// Feeds inputs to a [`Gateway`] and turns what it produces into numbered [`Event`]s.
pub struct Driver {
    gateway: Gateway,
    seq: u64,
}

impl Driver {
    /// Builds the gateway from `setup` and returns the start event with whatever the gateway did on start.
    pub fn start(setup: Setup, at_ms: u64) -> Result<(Driver, Vec<Event>), GatewayError> {
        let gateway = Gateway::new(&setup)?;
        let mut driver = Driver { gateway, seq: 0 };
        let mut events =
            vec![driver.number(at_ms, None, EventKind::Input(Input::Start(Box::new(setup))))];
        driver.gateway.handle(&Input::Timeout, at_ms);
        driver.gateway.take_input_call();
        driver.drain(at_ms, &mut events);
        Ok((driver, events))
    }

    /// Feeds one input; returns the input's own event followed by everything it caused, in order.
    pub fn feed(&mut self, input: Input, at_ms: u64) -> Vec<Event> {
        self.gateway.handle(&input, at_ms);
        let call = self.gateway.take_input_call();
        let mut events = vec![self.number(at_ms, call, EventKind::Input(input))];
        self.drain(at_ms, &mut events);
        events
    }

    /// The gateway's next deadline: feed [`Input::Timeout`] once the clock reaches it.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.gateway.poll_timeout()
    }

    /// Read access to the gateway (for status and tests).
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    fn drain(&mut self, at_ms: u64, events: &mut Vec<Event>) {
        while let Some((call, kind)) = self.gateway.poll_event() {
            let event = self.number(at_ms, call, kind);
            events.push(event);
        }
    }

    fn number(&mut self, at_ms: u64, call: Option<String>, kind: EventKind) -> Event {
        self.seq += 1;
        Event {
            seq: self.seq,
            at_ms,
            call,
            kind,
        }
    }
}
