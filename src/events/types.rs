//! The event vocabulary of tandem's log: inputs fed to the core, state transitions inside it, and outputs it
//! produced. The encoding is JSON with a version number in the start event, so logs written by one release can be
//! read (and rejected with a clear error) by another.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Version of the event encoding; bumped on any incompatible change to the types in this module.
pub const EVENT_FORMAT_VERSION: u32 = 1;

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Monotonic sequence number, assigned by the runtime in the order the core produced the entries.
    pub seq: u64,
    /// The core's clock when the entry was produced, in milliseconds.
    pub at_ms: u64,
    /// The tandem call the entry belongs to, when it belongs to one.
    pub call: Option<String>,
    /// What happened.
    pub kind: EventKind,
}

/// What an [`Event`] records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// Something the world gave the core.
    Input(Input),
    /// A state machine inside the core changed state.
    Transition(Transition),
    /// Something the core asked the world to do.
    Output(Output),
}

impl EventKind {
    /// The message bytes the event carries (a SIP or M3UA message received or sent), if it carries any. The store
    /// keeps them in a column of their own rather than inside the JSON body.
    pub fn payload_mut(&mut self) -> Option<&mut Payload> {
        match self {
            EventKind::Input(Input::SipReceived { data, .. })
            | EventKind::Input(Input::M3uaReceived { data, .. })
            | EventKind::Output(Output::SipSend { data, .. })
            | EventKind::Output(Output::M3uaSend { data, .. }) => Some(data),
            _ => None,
        }
    }

    /// Short name of the kind, as stored in the `kind` column.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Input(_) => "input",
            EventKind::Transition(_) => "transition",
            EventKind::Output(_) => "output",
        }
    }
}

/// A SIP transport, as far as the core needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SipTransport {
    /// Datagrams.
    Udp,
    /// A stream connection, one framed message per input.
    Tcp,
    /// A TLS connection, framed like TCP.
    Tls,
    /// A WebSocket connection (RFC 7118), one message per frame.
    Ws,
    /// A WebSocket over TLS.
    Wss,
}

/// Everything needed to build a core exactly as the runtime built it; the first input of every log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// [`EVENT_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Seed of the core's deterministic generator (tags, branches, Call-IDs).
    pub seed: u64,
    /// The resolved configuration, as TOML.
    pub config: String,
    /// The dialplan script in force.
    pub dialplan: SourceText,
    /// The dialplan's lookup tables (CSV/TOML), named by file.
    #[serde(default)]
    pub dialplan_tables: Vec<SourceText>,
    /// Every mapping profile the trunks use.
    pub mappings: Vec<SourceText>,
}

/// A named text (a script or a table) recorded verbatim so replay needs no file but the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceText {
    /// Where it came from (file path, or `embedded:NAME`).
    pub name: String,
    /// The text itself.
    pub text: String,
}

/// An input to the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum Input {
    /// The core was built from this setup.
    Start(Box<Setup>),
    /// A SIP message arrived (a datagram, or one message framed from a stream).
    SipReceived {
        /// Transport it came over.
        transport: SipTransport,
        /// The peer's address.
        from: SocketAddr,
        /// The bytes as received.
        #[serde(default, skip_serializing_if = "Payload::is_empty")]
        data: Payload,
    },
    /// The SCTP association of a trunk came up.
    SctpUp {
        /// Trunk group name.
        trunk: String,
    },
    /// The SCTP association of a trunk went down (or could not be set up).
    SctpDown {
        /// Trunk group name.
        trunk: String,
        /// Why, as the transport reported it.
        reason: String,
    },
    /// An M3UA message arrived on a trunk's association.
    M3uaReceived {
        /// Trunk group name.
        trunk: String,
        /// SCTP stream it came on.
        stream: u16,
        /// The bytes as received.
        #[serde(default, skip_serializing_if = "Payload::is_empty")]
        data: Payload,
    },
    /// The runtime woke the core because the deadline it asked for has passed.
    Timeout,
    /// The answer to an [`Output::EnumQuery`] (or a timeout, as a failed answer).
    EnumAnswer {
        /// The query's id.
        id: u64,
        /// The domain asked for.
        domain: String,
        /// What the backend said.
        answer: crate::routing::enum_dns::EnumAnswer,
    },
    /// The answer to an [`Output::SipDnsQuery`] (RFC 3263 target resolution; a timeout is a failed answer).
    SipDnsAnswer {
        /// The query's id.
        id: u64,
        /// The name asked for.
        name: String,
        /// The record type asked for.
        rtype: crate::sip::rfc3263::RecordType,
        /// What the resolver said.
        answer: crate::sip::rfc3263::DnsAnswer,
    },
    /// A SIP connection (TCP, TLS, WS, WSS) closed: the flow it carried is gone (RFC 5626 §5.3). Recorded because
    /// it changes routing: bindings reachable only on that flow are skipped from then on.
    SipFlowClosed {
        /// Transport of the connection.
        transport: SipTransport,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// The runtime could not deliver a SIP message: the TCP or TLS connection to `to` was refused, failed or
    /// timed out, or the flow it had to use is gone. Recorded because the core acts on it: client transactions
    /// toward `to` end with a transport error (RFC 3261 §17.1.4), and an INVITE tries the next RFC 3263 target
    /// (§4.3) at once instead of after Timer B.
    SipSendFailed {
        /// Transport the message was to leave on.
        transport: SipTransport,
        /// Where it was going.
        to: SocketAddr,
        /// Why, as the operating system or the TLS layer said it.
        reason: String,
    },
    /// The SIP users in force from now on (`[[sip.user]]` merged with `[sip] users_db`, read again on SIGHUP).
    /// Recorded with the users themselves so replay needs no database.
    SipUsersReload {
        /// Every user, as in `[[sip.user]]`.
        users: Vec<crate::config::SipUser>,
    },
    /// A new dialplan to use for new calls (file change, `tandem dialplan reload`). The core compiles it and
    /// refuses it, keeping the old one, when it does not compile.
    DialplanReload {
        /// The script.
        dialplan: SourceText,
        /// Its tables.
        tables: Vec<SourceText>,
    },
}

/// A state change inside the core: the one door every machine goes through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Which kind of machine (`sip-leg`, `isup-call`, `m3ua-asp`, `call`, ...).
    pub machine: String,
    /// Which instance (a leg id, a CIC, a trunk name, a call id).
    pub id: String,
    /// State before.
    pub from: String,
    /// State after.
    pub to: String,
    /// Why it changed.
    pub reason: String,
}

/// Severity of an [`Output::Log`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Normal operation worth recording.
    Info,
    /// Something unusual that did not fail a call.
    Warn,
    /// A call or message failed.
    Error,
}

/// An output of the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum Output {
    /// Send a SIP message.
    SipSend {
        /// Transport to send it over.
        transport: SipTransport,
        /// Destination.
        to: SocketAddr,
        /// The bytes.
        #[serde(default, skip_serializing_if = "Payload::is_empty")]
        data: Payload,
    },
    /// Send an M3UA message on a trunk's association.
    M3uaSend {
        /// Trunk group name.
        trunk: String,
        /// SCTP stream.
        stream: u16,
        /// The bytes.
        #[serde(default, skip_serializing_if = "Payload::is_empty")]
        data: Payload,
    },
    /// The core's next deadline changed (`None`: nothing pending).
    Timer {
        /// Deadline on the core's clock.
        at_ms: Option<u64>,
    },
    /// Look up the NAPTR records of an ENUM domain (RFC 6116); answer with [`Input::EnumAnswer`].
    EnumQuery {
        /// Id to quote in the answer.
        id: u64,
        /// The domain (`4.3.2.1.e164.arpa`).
        domain: String,
    },
    /// Look up DNS records to locate a SIP target (RFC 3263 §4); answer with [`Input::SipDnsAnswer`].
    SipDnsQuery {
        /// Id to quote in the answer.
        id: u64,
        /// The name (no trailing dot).
        name: String,
        /// NAPTR, SRV, A or AAAA.
        rtype: crate::sip::rfc3263::RecordType,
    },
    /// A line for the operator: why a call failed, what was malformed.
    Log {
        /// Severity.
        level: LogLevel,
        /// The text.
        message: String,
    },
}

/// Bytes of a message. The event store keeps them raw in the `data` column (see [`crate::events::store`]); in JSON
/// (older logs, `--json` output) they are text when printable (SIP) and hex otherwise (M3UA), and an empty payload
/// is left out of the JSON altogether.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Payload(pub Vec<u8>);

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} bytes)", self.0.len())
    }
}

impl Payload {
    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn is_printable(&self) -> bool {
        std::str::from_utf8(&self.0).is_ok_and(|s| {
            s.chars()
                .all(|c| !c.is_control() || c == '\r' || c == '\n' || c == '\t')
        })
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_printable() {
            // Printable by the check above, so this conversion cannot fail; fall back to hex regardless.
            if let Ok(text) = std::str::from_utf8(&self.0) {
                return serializer.serialize_str(&format!("t:{text}"));
            }
        }
        serializer.serialize_str(&format!("x:{}", crate::hex::encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if let Some(rest) = text.strip_prefix("t:") {
            Ok(Payload(rest.as_bytes().to_vec()))
        } else if let Some(rest) = text.strip_prefix("x:") {
            crate::hex::decode(rest)
                .map(Payload)
                .map_err(serde::de::Error::custom)
        } else {
            Err(serde::de::Error::custom(
                "payload must start with 't:' (text) or 'x:' (hex)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_text_and_binary() {
        for bytes in [
            b"INVITE sip:1@h SIP/2.0\r\n\r\n".to_vec(),
            vec![1, 0, 1, 1, 0, 0, 0, 8],
            Vec::new(),
        ] {
            let json = serde_json::to_string(&Payload(bytes.clone())).unwrap();
            let back: Payload = serde_json::from_str(&json).unwrap();
            assert_eq!(back.0, bytes);
        }
        let json = serde_json::to_string(&Payload(vec![0xff, 0x00])).unwrap();
        assert_eq!(json, "\"x:ff00\"");
    }

    #[test]
    fn event_round_trips() {
        let event = Event {
            seq: 7,
            at_ms: 1000,
            call: Some("c1".into()),
            kind: EventKind::Output(Output::M3uaSend {
                trunk: "pstn".into(),
                stream: 1,
                data: Payload(vec![1, 2, 3]),
            }),
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
}
