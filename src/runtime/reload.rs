//! Hot reload of the dialplan: on SIGHUP (`tandem dialplan reload`) or when the script or one of its tables
//! changes on disk (checked every second when `[dialplan] watch` is on), the files are read and handed to the
//! core as an [`Input::DialplanReload`], so the log records the text the new calls were routed with and replay
//! sees the same reload at the same place. The core compiles it and keeps the old script when it is broken.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use super::Feed;
use crate::config::Config;
use crate::events::{Input, SourceText};

fn modified(paths: &[PathBuf]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

fn read(paths: &[PathBuf]) -> Result<Vec<SourceText>, String> {
    paths
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map(|text| SourceText {
                    name: path.display().to_string(),
                    text,
                })
                .map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect()
}

/// Watches the configured dialplan until the feed closes.
pub(crate) async fn watch(config: Config, feed: mpsc::UnboundedSender<Feed>) {
    let Some(script) = config.dialplan.path.clone() else {
        // The embedded dialplan cannot change.
        return;
    };
    let mut paths = vec![script];
    paths.extend(config.dialplan.tables.iter().cloned());
    let mut seen = modified(&paths);
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        #[cfg(unix)]
        let signalled = async {
            match hangup.as_mut() {
                Some(signal) => signal.recv().await.is_some(),
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<bool>();
        let requested = tokio::select! {
            got = signalled => got,
            _ = tick.tick() => false,
        };
        let now = modified(&paths);
        let changed = config.dialplan.watch && now != seen;
        if !(requested || changed) {
            continue;
        }
        seen = now;
        match read(&paths) {
            Ok(mut texts) => {
                let dialplan = texts.remove(0);
                tracing::info!(dialplan = %dialplan.name, "reloading dialplan");
                let input = Input::DialplanReload {
                    dialplan,
                    tables: texts,
                };
                if feed.send(Feed::Input(input)).is_err() {
                    return;
                }
            }
            Err(error) => tracing::error!(%error, "dialplan reload refused: cannot read"),
        }
    }
}
