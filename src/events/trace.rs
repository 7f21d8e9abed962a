//! `tandem trace`: a call (or a whole log) as a text ladder — SIP peers on the left, tandem in the middle, the SS7
//! side on the right — with times relative to the first event shown. Messages are decoded for the summary line, so
//! the log itself stays raw bytes.

use std::fmt::Write as _;

use super::types::{Event, EventKind, Input, Output};
use crate::isup::IsupMessage;
use crate::sigtran::m3ua::{M3uaMessage, MessageType as M3uaType};

/// What to include in a ladder.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceOptions {
    /// Show state transitions between the messages.
    pub transitions: bool,
}

const SIP_WIDTH: usize = 44;
const SS7_WIDTH: usize = 44;

/// Renders `events` as a ladder.
pub fn render(events: &[Event], options: TraceOptions) -> String {
    let mut out = String::new();
    let start = events.first().map_or(0, |e| e.at_ms);
    let _ = writeln!(
        out,
        "{:>9}  {:<SIP_WIDTH$} tandem {:<SS7_WIDTH$}",
        "time(s)", "SIP", "ISUP/M3UA"
    );
    for event in events {
        let seconds = (event.at_ms.saturating_sub(start)) as f64 / 1000.0;
        let call = event.call.as_deref().unwrap_or("-");
        let mut peer = String::new();
        let line = match &event.kind {
            EventKind::Input(Input::SipReceived { from, data, .. }) => {
                peer = format!(" {from}");
                Some(left(&sip_summary(&data.0), true))
            }
            EventKind::Output(Output::SipSend { to, data, .. }) => {
                peer = format!(" {to}");
                Some(left(&sip_summary(&data.0), false))
            }
            EventKind::Input(Input::M3uaReceived { data, .. }) => {
                m3ua_summary(&data.0).map(|s| right(&s, false))
            }
            EventKind::Output(Output::M3uaSend { data, .. }) => {
                m3ua_summary(&data.0).map(|s| right(&s, true))
            }
            EventKind::Input(Input::SctpUp { trunk }) => {
                Some(right(&format!("SCTP up ({trunk})"), false))
            }
            EventKind::Input(Input::SctpDown { trunk, reason }) => {
                Some(right(&format!("SCTP down ({trunk}): {reason}"), false))
            }
            EventKind::Output(Output::Log { level, message }) => Some(format!(
                "{:w0$} ! {level:?}: {message}",
                "",
                w0 = SIP_WIDTH + 1
            )),
            EventKind::Transition(t) if options.transitions => Some(format!(
                "{:w0$} * {} {}: {} -> {} ({})",
                "",
                t.machine,
                t.id,
                t.from,
                t.to,
                t.reason,
                w0 = SIP_WIDTH + 1
            )),
            _ => None,
        };
        if let Some(line) = line {
            let _ = writeln!(
                out,
                "{seconds:>9.3}  {line}   [{call} #{}{peer}]",
                event.seq
            );
        }
    }
    out
}

fn left(label: &str, inbound: bool) -> String {
    let label = clip(label, SIP_WIDTH - 4);
    if inbound {
        format!("{label:-<w$}--> |", w = SIP_WIDTH - 2)
    } else {
        format!("<--{label:-<w$} |", w = SIP_WIDTH - 2)
    }
}

fn right(label: &str, outbound: bool) -> String {
    let label = clip(label, SS7_WIDTH - 4);
    if outbound {
        format!(
            "{:w0$} |--{label:-<w$}-->",
            "",
            w0 = SIP_WIDTH + 1,
            w = SS7_WIDTH - 4
        )
    } else {
        format!(
            "{:w0$} |<--{label:-<w$}",
            "",
            w0 = SIP_WIDTH + 1,
            w = SS7_WIDTH - 3
        )
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut clipped: String = text.chars().take(width.saturating_sub(1)).collect();
        clipped.push('~');
        clipped
    }
}

/// The start line of a SIP message, shortened: `INVITE sip:123@…` or `180 Ringing`.
pub fn sip_summary(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let first = text.lines().next().unwrap_or_default();
    match first.strip_prefix("SIP/2.0 ") {
        Some(status) => status.to_string(),
        None => first.trim_end_matches(" SIP/2.0").to_string(),
    }
}

/// A one-line description of an M3UA message and the ISUP it carries (`IAM cic=1 called=4930…`), or `None` for
/// the ASP management chatter a ladder does not need (heartbeats).
pub fn m3ua_summary(data: &[u8]) -> Option<String> {
    let message = match M3uaMessage::decode(data) {
        Ok(message) => message,
        Err(error) => return Some(format!("malformed M3UA: {error}")),
    };
    if message.message_type == M3uaType::Heartbeat || message.message_type == M3uaType::HeartbeatAck
    {
        return None;
    }
    let Some(protocol_data) = message.protocol_data() else {
        return Some(format!("M3UA {}", message.message_type.name()));
    };
    Some(match IsupMessage::decode(&protocol_data.user_data) {
        Ok(isup) => isup_summary(&isup),
        Err(error) => format!("malformed ISUP: {error}"),
    })
}

/// `IAM cic=1 called=… calling=…`, `REL cic=1 cause=16`, ...
pub fn isup_summary(message: &IsupMessage) -> String {
    let mut text = format!(
        "{} cic={}",
        message.message_type.abbreviation(),
        message.cic.0
    );
    if let Some(Ok(called)) = message.called_party_number() {
        let _ = write!(text, " called={}", called.digits);
    }
    if let Some(Ok(calling)) = message.calling_party_number() {
        let _ = write!(text, " calling={}", calling.digits);
    }
    if let Some(Ok(cause)) = message.cause_indicators() {
        let _ = write!(text, " cause={}", cause.cause_value);
    }
    if let Some(Ok(event)) = message.event_information() {
        let _ = write!(text, " event={}", event.event_indicator);
    }
    text
}
