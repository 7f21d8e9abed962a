//! IPSP mode of the ASP state machine (RFC 4666 §4.3.2, message flows of §5.5.2): two IP Server
//! Processes joined directly by one association, with no Signalling Gateway between them.
//!
//! - **Single exchange** (IPSP-SE): one IPSP ([`Role::Asp`]) sends ASPUP, ASPAC, ASPIA, ASPDN; the
//!   other ([`Role::Sgp`]) only acknowledges. The machines are the ASP and SGP ones, less NTFY.
//! - **Double exchange** (IPSP-DE): both IPSPs send the requests and both acknowledge the peer's.
//!   The machine is the requesting one plus a boxed acknowledging half (`Asp::peer`) that follows
//!   the peer IPSP's state; DATA may be sent once both are ASP-ACTIVE.
//!
//! Neither model uses SSNM (there is no network behind the peer to report on) or routing key
//! management (the routing key is implicit in the point-to-point association): such messages are
//! answered with ERR "Unsupported Message Class" (RFC 4666 §3.8.1).

use super::{Asp, AspConfig, AspEvent, AspState, IpspExchange, Role};
use crate::sigtran::m3ua::error::error_code;
use crate::sigtran::m3ua::message::{M3uaMessage, MessageClass, MessageType};

/// The acknowledging half a double-exchange IPSP carries, if `config` asks for one.
pub(super) fn peer_half(config: &AspConfig) -> Option<Asp> {
    (config.ipsp == Some(IpspExchange::Double)).then(|| {
        Asp::new(AspConfig {
            role: Role::Sgp,
            ipsp: Some(IpspExchange::Single),
            // One BEAT stream per association is enough: the requesting half sends it.
            beat_interval_ms: None,
            register_routing_key: None,
            ..config.clone()
        })
    })
}

impl Asp {
    /// Whether DATA may be sent now: the ASP (for an SGP, the peer ASP) is active, and in
    /// IPSP double exchange the peer IPSP is active too.
    pub fn can_send_data(&self) -> bool {
        self.state == AspState::Active
            && self
                .peer
                .as_ref()
                .is_none_or(|peer| peer.state == AspState::Active)
    }

    /// The peer IPSP's state as its requests moved it (double exchange only).
    pub fn peer_state(&self) -> Option<AspState> {
        self.peer.as_ref().map(|peer| peer.state)
    }

    /// IPSP-specific handling of a decoded message; `true` when it was dealt with here.
    pub(super) fn handle_ipsp(
        &mut self,
        message: &M3uaMessage,
        stream: u16,
        data: &[u8],
        now_ms: u64,
    ) -> bool {
        let class = message.message_type.class();
        if matches!(
            class,
            MessageClass::SignallingNetworkManagement | MessageClass::RoutingKeyManagement
        ) {
            self.send_error(error_code::UNSUPPORTED_MESSAGE_CLASS, None);
            self.events.push_back(AspEvent::ProtocolError(format!(
                "{} is not used between IPSPs",
                message.message_type.name()
            )));
            return true;
        }
        let request = matches!(
            message.message_type,
            MessageType::AspUp
                | MessageType::AspDown
                | MessageType::AspActive
                | MessageType::AspInactive
        );
        match &mut self.peer {
            Some(peer) if request => {
                peer.handle_bytes(stream, data, now_ms);
                self.absorb_peer();
                true
            }
            _ => false,
        }
    }

    /// Moves what the acknowledging half produced into this machine's queues; its state changes
    /// become [`AspEvent::PeerStateChanged`].
    pub(super) fn absorb_peer(&mut self) {
        let Some(peer) = &mut self.peer else {
            return;
        };
        self.transmits.extend(peer.transmits.drain(..));
        self.transitions.extend(peer.transitions.drain(..));
        for event in peer.events.drain(..) {
            self.events.push_back(match event {
                AspEvent::StateChanged { from, to } => AspEvent::PeerStateChanged { from, to },
                other => other,
            });
        }
    }
}
