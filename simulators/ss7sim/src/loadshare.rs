//! `serve --max-asps N` (N > 1): the SGP side of one loadshare AS with several ASPs. Every
//! accepted association gets its own reader task and its own SGP machine in the
//! [`Exchange`]; the exchange shares DATA among the active ones by SLS. SIGUSR1 stops one
//! ASP of the AS: it aborts the oldest association that is up and serves one association
//! fewer from then on, so that ASP stays down (a test failing one ASP while calls are held).

use std::collections::BTreeMap;

use tandem::sigtran::m3ua::M3UA_PPID;
use tandem::sigtran::sctp::{AssocSender, Listener, Received};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::exchange::{log, Exchange};

/// One association the loop serves.
struct Served {
    sender: AssocSender,
    reader: JoinHandle<()>,
}

/// Serves up to `max_asps` associations at once until an error (or, in `call` mode, the
/// verdict).
pub async fn serve(
    exchange: &mut Exchange,
    listener: Listener,
    start: Instant,
    mut max_asps: usize,
) -> Result<bool, String> {
    let now_ms = |start: Instant| start.elapsed().as_millis() as u64;
    let (feed, mut inputs) = mpsc::unbounded_channel::<(u64, Option<Received>)>();
    let mut served: BTreeMap<u64, Served> = BTreeMap::new();
    let mut next_id = 1u64;
    let mut stop_one =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
            .map_err(|e| format!("SIGUSR1 handler: {e}"))?;
    loop {
        while let Some((id, transmit)) = exchange.poll_association_transmit() {
            if let Some(association) = served.get(&id) {
                if let Err(error) = association
                    .sender
                    .send(transmit.stream, M3UA_PPID, transmit.data)
                    .await
                {
                    log(format_args!("association {id}: send failed: {error}"));
                }
            }
        }
        if exchange.is_finished() {
            let summary = exchange.summary().unwrap_or_default();
            println!("{summary}");
            return Ok(summary.failed == 0 && summary.completed == summary.attempted);
        }
        let deadline = exchange
            .poll_timeout()
            .and_then(|at| start.checked_add(std::time::Duration::from_millis(at)));
        tokio::select! {
            accepted = listener.accept(), if served.len() < max_asps => match accepted {
                Ok(association) => {
                    let id = next_id;
                    next_id += 1;
                    log(format_args!("association {id} from {} up", association.peer()));
                    let (sender, mut receiver) = association.split();
                    let feed = feed.clone();
                    let reader = tokio::spawn(async move {
                        while let Some(message) = receiver.recv().await {
                            if feed.send((id, Some(message))).is_err() {
                                return;
                            }
                        }
                        log(format_args!("association {id} closed: {:?}", receiver.close_reason()));
                        let _ = feed.send((id, None));
                    });
                    served.insert(id, Served { sender, reader });
                    exchange.association_up(id, now_ms(start));
                }
                Err(error) => {
                    log(format_args!("accept failed: {error}"));
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            },
            Some((id, message)) = inputs.recv() => match message {
                Some(message) => {
                    if message.ppid != M3UA_PPID {
                        log(format_args!("association {id}: PPID {} (not M3UA)", message.ppid));
                    }
                    exchange.association_message(id, message.stream, &message.data, now_ms(start));
                }
                None => {
                    if served.remove(&id).is_some() {
                        exchange.association_down(id, now_ms(start));
                    }
                }
            },
            _ = stop_one.recv() => {
                if let Some((&id, _)) = served.iter().next() {
                    max_asps = max_asps.saturating_sub(1).max(1);
                    log(format_args!("SIGUSR1: aborting association {id}; serving at most {max_asps} from now on"));
                    if let Some(association) = served.remove(&id) {
                        // Dropping the receiver (with its task) and the sender closes the association.
                        association.reader.abort();
                        drop(association.sender);
                    }
                    exchange.association_down(id, now_ms(start));
                }
            },
            _ = crate::sleep_until_option(deadline) => exchange.handle_timeout(now_ms(start)),
        }
    }
}
