//! Hot reload of the dialplan and of the SIP users database: on SIGHUP (`tandem dialplan reload`) or when the
//! script or one of its tables changes on disk (checked every second when `[dialplan] watch` is on), the files
//! are read and handed to the core as an [`Input::DialplanReload`], so the log records the text the new calls
//! were routed with and replay sees the same reload at the same place. The core compiles it and keeps the old
//! script when it is broken. Likewise `[sip] users_db`, on SIGHUP: its users, merged with `[[sip.user]]`,
//! reach the core as an [`Input::SipUsersReload`]; a database that cannot be read or has a bad row is refused
//! here (logged) and the users in force stay.

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

/// Watches the configured dialplan and users database until the feed closes.
pub(crate) async fn watch(config: Config, feed: mpsc::UnboundedSender<Feed>) {
    // The embedded dialplan cannot change.
    let mut dialplan: Vec<PathBuf> = config.dialplan.path.iter().cloned().collect();
    if !dialplan.is_empty() {
        dialplan.extend(config.dialplan.tables.iter().cloned());
    }
    let users_db = config.sip.users_db.is_some();
    if dialplan.is_empty() && !users_db {
        return;
    }
    let mut seen_dialplan = modified(&dialplan);
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
        let now = modified(&dialplan);
        let changed = config.dialplan.watch && now != seen_dialplan;
        if !dialplan.is_empty() && (requested || changed) {
            seen_dialplan = now;
            if let Some(input) = reload_dialplan(&dialplan) {
                if feed.send(Feed::Input(input)).is_err() {
                    return;
                }
            }
        }
        // SIGHUP only: SQLite changes a database's file at its own moments (journal, WAL checkpoints), so its
        // modification time does not say when a change is complete.
        if users_db && requested {
            if let Some(input) = reload_users(&config) {
                if feed.send(Feed::Input(input)).is_err() {
                    return;
                }
            }
        }
    }
}

/// The dialplan script and its tables read again; `None` (logged) when a file cannot be read.
fn reload_dialplan(paths: &[PathBuf]) -> Option<Input> {
    match read(paths) {
        Ok(mut texts) if !texts.is_empty() => {
            let dialplan = texts.remove(0);
            tracing::info!(dialplan = %dialplan.name, "reloading dialplan");
            Some(Input::DialplanReload {
                dialplan,
                tables: texts,
            })
        }
        Ok(_) => None,
        Err(error) => {
            tracing::error!(%error, "dialplan reload refused: cannot read");
            None
        }
    }
}

/// `[[sip.user]]` merged with the users database read again; `None` (logged, the users in force stay) when
/// the database cannot be read or has a bad row.
fn reload_users(config: &Config) -> Option<Input> {
    match super::users_db::merged_users(config) {
        Ok(users) => {
            tracing::info!(users = users.len(), "reloading SIP users");
            Some(Input::SipUsersReload { users })
        }
        Err(error) => {
            tracing::error!(%error, "SIP users reload refused; the users in force stay");
            None
        }
    }
}
