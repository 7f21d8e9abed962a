//! Keeps one SCTP association of a trunk up (one supervisor per `[[trunk.association]]`, or one for a trunk
//! without them; inputs and outputs name it by its link id): connects, forwards received M3UA to the core loop, reports up/down as
//! inputs, and reconnects with exponential back-off (0.25 s doubling to 5 s, back to 0.25 s once an association
//! came up) when the association fails. Only state changes become inputs, so an unreachable peer does not flood
//! the event log.

use std::time::Duration;

use tokio::sync::mpsc;

use super::Feed;
use crate::config::LinkConfig;
use crate::events::{Input, Payload};
use crate::sigtran::m3ua::M3UA_PPID;
use crate::sigtran::sctp;

/// Pause before the first reconnection attempt after a failure.
const RECONNECT_FIRST: Duration = Duration::from_millis(250);
/// Longest pause between two attempts.
const RECONNECT_MAX: Duration = Duration::from_secs(5);

pub(crate) async fn supervise(
    config: sctp::SctpConfig,
    link: LinkConfig,
    feed: mpsc::UnboundedSender<Feed>,
) {
    let mut reported_down = false;
    let mut pause = RECONNECT_FIRST;
    loop {
        match sctp::connect(&config, link.local, link.remote).await {
            Ok(association) => {
                pause = RECONNECT_FIRST;
                tracing::info!(trunk = %link.id, peer = %association.peer(), kind = ?association.kind(), "SCTP association up");
                let (sender, mut receiver) = association.split();
                if feed
                    .send(Feed::SctpAttached {
                        trunk: link.id.clone(),
                        sender,
                    })
                    .is_err()
                {
                    return;
                }
                let _ = feed.send(Feed::Input(Input::SctpUp {
                    trunk: link.id.clone(),
                }));
                while let Some(message) = receiver.recv().await {
                    if message.ppid != M3UA_PPID {
                        tracing::warn!(trunk = %link.id, ppid = message.ppid, "SCTP message with a PPID other than M3UA's");
                    }
                    let input = Input::M3uaReceived {
                        trunk: link.id.clone(),
                        stream: message.stream,
                        data: Payload(message.data),
                    };
                    if feed.send(Feed::Input(input)).is_err() {
                        return;
                    }
                }
                let reason = receiver
                    .close_reason()
                    .map_or_else(|| "closed".to_string(), |r| format!("{r:?}"));
                let _ = feed.send(Feed::SctpDetached {
                    trunk: link.id.clone(),
                });
                let _ = feed.send(Feed::Input(Input::SctpDown {
                    trunk: link.id.clone(),
                    reason,
                }));
                reported_down = true;
            }
            Err(error) => {
                tracing::warn!(trunk = %link.id, %error, "SCTP connect failed");
                if !reported_down {
                    reported_down = true;
                    let _ = feed.send(Feed::Input(Input::SctpDown {
                        trunk: link.id.clone(),
                        reason: error.to_string(),
                    }));
                }
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RECONNECT_MAX);
    }
}
