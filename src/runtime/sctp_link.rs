//! Keeps one trunk's SCTP association up: connects, forwards received M3UA to the core loop, reports up/down as
//! inputs, and reconnects with exponential back-off (0.25 s doubling to 5 s, back to 0.25 s once an association
//! came up) when the association fails. Only state changes become inputs, so an unreachable peer does not flood
//! the event log.

use std::time::Duration;

use tokio::sync::mpsc;

use super::Feed;
use crate::config::TrunkConfig;
use crate::events::{Input, Payload};
use crate::sigtran::m3ua::M3UA_PPID;
use crate::sigtran::sctp;

/// Pause before the first reconnection attempt after a failure.
const RECONNECT_FIRST: Duration = Duration::from_millis(250);
/// Longest pause between two attempts.
const RECONNECT_MAX: Duration = Duration::from_secs(5);

pub(crate) async fn supervise(trunk: TrunkConfig, feed: mpsc::UnboundedSender<Feed>) {
    let config = trunk.sctp_config();
    let mut reported_down = false;
    let mut pause = RECONNECT_FIRST;
    loop {
        match sctp::connect(&config, trunk.local, trunk.remote).await {
            Ok(association) => {
                pause = RECONNECT_FIRST;
                tracing::info!(trunk = %trunk.name, peer = %association.peer(), kind = ?association.kind(), "SCTP association up");
                let (sender, mut receiver) = association.split();
                if feed
                    .send(Feed::SctpAttached {
                        trunk: trunk.name.clone(),
                        sender,
                    })
                    .is_err()
                {
                    return;
                }
                let _ = feed.send(Feed::Input(Input::SctpUp {
                    trunk: trunk.name.clone(),
                }));
                while let Some(message) = receiver.recv().await {
                    if message.ppid != M3UA_PPID {
                        tracing::warn!(trunk = %trunk.name, ppid = message.ppid, "SCTP message with a PPID other than M3UA's");
                    }
                    let input = Input::M3uaReceived {
                        trunk: trunk.name.clone(),
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
                    trunk: trunk.name.clone(),
                });
                let _ = feed.send(Feed::Input(Input::SctpDown {
                    trunk: trunk.name.clone(),
                    reason,
                }));
                reported_down = true;
            }
            Err(error) => {
                tracing::warn!(trunk = %trunk.name, %error, "SCTP connect failed");
                if !reported_down {
                    reported_down = true;
                    let _ = feed.send(Feed::Input(Input::SctpDown {
                        trunk: trunk.name.clone(),
                        reason: error.to_string(),
                    }));
                }
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RECONNECT_MAX);
    }
}
