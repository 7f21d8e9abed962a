//! The SQLite event store: an append-only `events` table keyed by sequence number, written by one background thread
//! in batched transactions (group commit) so the call path never waits on the disk, plus a small `calls` table
//! (call id → first/last sequence) that makes per-call reads cheap without a secondary index on the hot table.
//!
//! A row's `body` is the event as JSON without its message bytes; the bytes of a SIP or M3UA message (the event's
//! payload) are in the `data` BLOB column, raw, so the hot path neither escapes SIP text into JSON nor hex-encodes
//! M3UA. SIP stays readable with `sqlite3`: `SELECT CAST(data AS TEXT) FROM events WHERE …`. Logs written before
//! the column existed (payload inside the body as `t:`/`x:` text) are still read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use thiserror::Error;

use super::types::{Event, EventKind};

/// Failures of the event store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("event log {path}: {source}")]
    Sqlite {
        /// The log file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A stored event could not be decoded.
    #[error("event log {path}: event {seq} is not a valid tandem event: {source}")]
    Decode {
        /// The log file.
        path: PathBuf,
        /// Sequence number of the bad row.
        seq: u64,
        /// What was wrong.
        source: serde_json::Error,
    },
    /// The writer thread has stopped (it logged why).
    #[error("event log writer has stopped")]
    WriterGone,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    call  TEXT,
    kind  TEXT NOT NULL,
    body  TEXT NOT NULL,
    data  BLOB
);
CREATE TABLE IF NOT EXISTS calls (
    first_seq INTEGER PRIMARY KEY,
    call      TEXT NOT NULL,
    last_seq  INTEGER NOT NULL
);
";

/// Tuning of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Most events committed in one transaction.
    pub batch_size: usize,
    /// How long the writer waits for more events before committing a partial batch.
    pub flush_interval: Duration,
    /// Nice value for the writer thread (0: unchanged).
    pub nice: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            batch_size: 256,
            flush_interval: Duration::from_millis(20),
            nice: 0,
        }
    }
}

enum Command {
    Append(Event),
    /// Several events in log order: one channel send for all the events of a core-loop turn.
    AppendAll(Vec<Event>),
    Flush(mpsc::Sender<()>),
}

/// Handle to the background writer. Dropping it (or calling [`EventWriter::close`]) commits what is pending.
pub struct EventWriter {
    sender: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<Result<(), StoreError>>>,
    path: PathBuf,
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path).map_err(sqlite(path))?;
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(sqlite(path))?;
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(sqlite(path))?;
    connection.execute_batch(SCHEMA).map_err(sqlite(path))?;
    Ok(connection)
}

impl EventWriter {
    /// Creates (or truncates) the log at `path` and starts the writer thread.
    pub fn create(path: &Path, options: WriterOptions) -> Result<EventWriter, StoreError> {
        let connection = open_connection(path)?;
        // A log describes one run; mixing runs would make replay meaningless. Dropping (rather than emptying) the
        // tables also replaces a table laid out by an older release.
        connection
            .execute_batch("DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS calls;")
            .and_then(|()| connection.execute_batch(SCHEMA))
            .map_err(sqlite(path))?;
        let (sender, receiver) = mpsc::channel();
        let thread_path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("event-log".into())
            .spawn(move || {
                lower_priority(options.nice);
                write_loop(connection, &thread_path, receiver, options)
            })
            .map_err(|e| StoreError::Sqlite {
                path: path.to_path_buf(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        Ok(EventWriter {
            sender: Some(sender),
            thread: Some(thread),
            path: path.to_path_buf(),
        })
    }

    /// Queues an event; it is committed with the next batch.
    pub fn append(&self, event: Event) -> Result<(), StoreError> {
        self.sender
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(Command::Append(event))
            .map_err(|_| StoreError::WriterGone)
    }

    /// Queues several events, in order, with one hand-off to the writer thread (the core loop's per-turn batch).
    pub fn append_all(&self, events: Vec<Event>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.sender
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(Command::AppendAll(events))
            .map_err(|_| StoreError::WriterGone)
    }

    /// Blocks until everything appended so far is committed.
    pub fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = mpsc::channel();
        self.sender
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(Command::Flush(done))
            .map_err(|_| StoreError::WriterGone)?;
        wait.recv().map_err(|_| StoreError::WriterGone)
    }

    /// Commits what is pending and stops the writer, reporting any error it met.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.shutdown()
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn shutdown(&mut self) -> Result<(), StoreError> {
        drop(self.sender.take());
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| StoreError::WriterGone)?,
            None => Ok(()),
        }
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            tracing::error!(%error, "event log writer failed");
        }
    }
}

/// Lowers the calling thread's priority to `nice`. Under load the writer and the core loop share a CPU; at equal
/// priority a writer with a backlog takes half of it from call handling, which then falls behind, is sent
/// retransmissions and produces more events still. Niced, it writes in the core loop's gaps and catches up as
/// soon as the load allows. Failing to change the priority is not an error: the log is written either way.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take and return plain integers; a thread id names this thread only.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
        };
        if result != 0 {
            tracing::warn!(
                nice,
                error = %std::io::Error::last_os_error(),
                "event log writer: could not lower its priority"
            );
        }
    }
}

/// How often the writer looks for more events while it gathers a batch.
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(2);

fn write_loop(
    mut connection: Connection,
    path: &Path,
    receiver: mpsc::Receiver<Command>,
    options: WriterOptions,
) -> Result<(), StoreError> {
    let mut calls: HashMap<String, CallRange> = HashMap::new();
    let mut batch = Vec::with_capacity(options.batch_size);
    let mut waiters = Vec::new();
    loop {
        // Block for the first command, then gather more until the batch is full or the interval passes.
        let first = match receiver.recv() {
            Ok(command) => command,
            Err(_) => return Ok(()),
        };
        let mut closed = false;
        let mut next = Some(first);
        let deadline = std::time::Instant::now() + options.flush_interval;
        loop {
            match next.take() {
                Some(Command::Append(event)) => batch.push(event),
                Some(Command::AppendAll(events)) => batch.extend(events),
                Some(Command::Flush(done)) => {
                    waiters.push(done);
                    break;
                }
                None => {}
            }
            if batch.len() >= options.batch_size {
                break;
            }
            // Poll rather than block: a receiver parked in `recv_timeout` makes every `append` wake this thread
            // (a futex call and two context switches per event, a fifth of tandem's time under load); polling
            // every 2 ms lets the core's sends go through without waking anyone.
            match receiver.try_recv() {
                Ok(command) => next = Some(command),
                Err(mpsc::TryRecvError::Empty) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        break;
                    }
                    std::thread::sleep((deadline - now).min(POLL_INTERVAL));
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        commit(&mut connection, path, &mut batch, &mut calls)?;
        for waiter in waiters.drain(..) {
            // The flusher may have given up waiting; nothing to do then.
            let _ = waiter.send(());
        }
        if closed {
            return Ok(());
        }
    }
}

fn commit(
    connection: &mut Connection,
    path: &Path,
    batch: &mut Vec<Event>,
    calls: &mut HashMap<String, CallRange>,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let transaction = connection.transaction().map_err(sqlite(path))?;
    {
        let mut insert = transaction
            .prepare_cached(
                "INSERT INTO events (seq, at_ms, call, kind, body, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sqlite(path))?;
        // Calls seen in this batch, in first-seen order, so each gets one upsert.
        let mut touched: Vec<&str> = Vec::new();
        // One buffer for every body of the batch rather than a new string per event.
        let mut json = Vec::with_capacity(512);
        for event in batch.iter_mut() {
            // The bytes go to their own column; the emptied payload is left out of the JSON.
            let data = event.kind.payload_mut().map(std::mem::take);
            json.clear();
            serde_json::to_writer(&mut json, &event.kind).map_err(|source| StoreError::Decode {
                path: path.to_path_buf(),
                seq: event.seq,
                source,
            })?;
            // serde_json writes UTF-8; binding the bytes as text spares checking it again.
            let body =
                rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(&json));
            insert
                .execute(params![
                    event.seq as i64,
                    event.at_ms as i64,
                    event.call,
                    event.kind.name(),
                    body,
                    data.as_ref().map(|payload| payload.0.as_slice())
                ])
                .map_err(sqlite(path))?;
        }
        for event in batch.iter() {
            let Some(call) = event.call.as_deref() else {
                continue;
            };
            match calls.get_mut(call) {
                Some(range) => range.last = event.seq,
                None => {
                    calls.insert(
                        call.to_string(),
                        CallRange {
                            first: event.seq,
                            last: event.seq,
                            stored: false,
                        },
                    );
                }
            }
            if !touched.contains(&call) {
                touched.push(call);
            }
        }
        // Keyed by the call's first sequence number, so new rows go at the end of the table and updates touch the
        // recent pages only: keyed by the call id, each batch rewrote pages all over an index that outgrew the
        // page cache in a long run, and commits and checkpoints grew with it.
        let mut insert_call = transaction
            .prepare_cached("INSERT INTO calls (first_seq, call, last_seq) VALUES (?1, ?2, ?3)")
            .map_err(sqlite(path))?;
        let mut update_call = transaction
            .prepare_cached("UPDATE calls SET last_seq = ?2 WHERE first_seq = ?1")
            .map_err(sqlite(path))?;
        for call in touched {
            if let Some(range) = calls.get_mut(call) {
                if range.stored {
                    update_call.execute(params![range.first as i64, range.last as i64])
                } else {
                    range.stored = true;
                    insert_call.execute(params![range.first as i64, call, range.last as i64])
                }
                .map_err(sqlite(path))?;
            }
        }
    }
    transaction.commit().map_err(sqlite(path))?;
    batch.clear();
    Ok(())
}

/// The sequence range of one call as the writer knows it.
struct CallRange {
    first: u64,
    last: u64,
    /// Its row exists in the `calls` table.
    stored: bool,
}

/// Read access to a log written by [`EventWriter`].
pub struct EventReader {
    connection: Connection,
    path: PathBuf,
    /// The `data` column's expression: the column, or NULL in a log written before it existed.
    data_column: &'static str,
}

impl EventReader {
    /// Opens an existing log read-only.
    pub fn open(path: &Path) -> Result<EventReader, StoreError> {
        let connection =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(sqlite(path))?;
        let has_data: bool = connection
            .query_row(
                "SELECT count(*) FROM pragma_table_info('events') WHERE name = 'data'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(sqlite(path))?;
        Ok(EventReader {
            connection,
            path: path.to_path_buf(),
            data_column: if has_data { "data" } else { "NULL" },
        })
    }

    /// Every event in sequence order.
    pub fn all(&self) -> Result<Vec<Event>, StoreError> {
        self.query(
            &format!(
                "SELECT seq, at_ms, call, body, {} FROM events ORDER BY seq",
                self.data_column
            ),
            params![],
        )
    }

    /// The events of one call, found through the `calls` table's sequence range.
    pub fn call(&self, call: &str) -> Result<Vec<Event>, StoreError> {
        let range: Option<(i64, i64)> = self
            .connection
            .query_row(
                "SELECT first_seq, last_seq FROM calls WHERE call = ?1",
                params![call],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(sqlite(&self.path))?;
        let Some((first, last)) = range else {
            return Ok(Vec::new());
        };
        self.query(
            &format!(
                "SELECT seq, at_ms, call, body, {} FROM events WHERE seq BETWEEN ?1 AND ?2 AND call = ?3 ORDER BY seq",
                self.data_column
            ),
            params![first, last, call],
        )
    }

    /// Call ids in the order the calls started.
    pub fn calls(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT call FROM calls ORDER BY first_seq")
            .map_err(sqlite(&self.path))?;
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(sqlite(&self.path))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(&self.path))
    }

    fn query(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Event>, StoreError> {
        let mut statement = self.connection.prepare(sql).map_err(sqlite(&self.path))?;
        let rows = statement
            .query_map(args, |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<Vec<u8>>>(4)?,
                ))
            })
            .map_err(sqlite(&self.path))?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, at_ms, call, body, data) = row.map_err(sqlite(&self.path))?;
            let mut kind: EventKind =
                serde_json::from_str(&body).map_err(|source| StoreError::Decode {
                    path: self.path.clone(),
                    seq: seq as u64,
                    source,
                })?;
            if let (Some(data), Some(payload)) = (data, kind.payload_mut()) {
                *payload = super::types::Payload(data);
            }
            events.push(Event {
                seq: seq as u64,
                at_ms: at_ms as u64,
                call,
                kind,
            });
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::types::{Input, Output};

    fn event(seq: u64, call: Option<&str>) -> Event {
        Event {
            seq,
            at_ms: seq * 10,
            call: call.map(str::to_string),
            kind: if seq.is_multiple_of(2) {
                EventKind::Input(Input::Timeout)
            } else {
                EventKind::Output(Output::Timer { at_ms: Some(seq) })
            },
        }
    }

    #[test]
    fn writes_batches_and_reads_back_by_call() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sqlite");
        let writer = EventWriter::create(
            &path,
            WriterOptions {
                batch_size: 3,
                flush_interval: Duration::from_millis(5),
                nice: 0,
            },
        )
        .unwrap();
        for seq in 1..=10 {
            let call = match seq % 3 {
                0 => None,
                1 => Some("c1"),
                _ => Some("c2"),
            };
            writer.append(event(seq, call)).unwrap();
        }
        writer.close().unwrap();
        let reader = EventReader::open(&path).unwrap();
        let all = reader.all().unwrap();
        assert_eq!(all.len(), 10);
        assert_eq!(all[4], event(5, Some("c2")));
        let c1: Vec<u64> = reader.call("c1").unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(c1, vec![1, 4, 7, 10]);
        assert_eq!(
            reader.calls().unwrap(),
            vec!["c1".to_string(), "c2".to_string()]
        );
        assert!(reader.call("nope").unwrap().is_empty());
    }

    #[test]
    fn flush_makes_events_visible() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sqlite");
        let writer = EventWriter::create(&path, WriterOptions::default()).unwrap();
        writer.append(event(1, Some("c1"))).unwrap();
        writer.flush().unwrap();
        assert_eq!(EventReader::open(&path).unwrap().all().unwrap().len(), 1);
    }

    #[test]
    fn append_all_keeps_the_order_among_single_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sqlite");
        let writer = EventWriter::create(&path, WriterOptions::default()).unwrap();
        writer.append(event(1, Some("c1"))).unwrap();
        writer
            .append_all(vec![
                event(2, Some("c2")),
                event(3, None),
                event(4, Some("c1")),
            ])
            .unwrap();
        writer.append_all(Vec::new()).unwrap();
        writer.append(event(5, Some("c2"))).unwrap();
        writer.flush().unwrap();
        let reader = EventReader::open(&path).unwrap();
        let seqs: Vec<u64> = reader.all().unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        let c1: Vec<u64> = reader.call("c1").unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(c1, vec![1, 4]);
    }

    fn message_events() -> Vec<Event> {
        use crate::events::types::{Payload, SipTransport};
        vec![
            Event {
                seq: 1,
                at_ms: 5,
                call: Some("c1".into()),
                kind: EventKind::Input(Input::SipReceived {
                    transport: SipTransport::Udp,
                    from: "127.0.0.1:5070".parse().unwrap(),
                    data: Payload(
                        b"INVITE sip:1@h SIP/2.0\r\nSubject: \"quoted\" \\ text\r\n\r\n".to_vec(),
                    ),
                }),
            },
            Event {
                seq: 2,
                at_ms: 6,
                call: Some("c1".into()),
                kind: EventKind::Output(Output::M3uaSend {
                    trunk: "pstn".into(),
                    stream: 1,
                    data: Payload(vec![1, 0, 1, 1, 0, 0, 0, 8, 0xff]),
                }),
            },
        ]
    }

    #[test]
    fn message_bytes_are_stored_raw_beside_the_json_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sqlite");
        let writer = EventWriter::create(&path, WriterOptions::default()).unwrap();
        writer.append_all(message_events()).unwrap();
        writer.close().unwrap();
        let connection = Connection::open(&path).unwrap();
        let (body, data): (String, Vec<u8>) = connection
            .query_row("SELECT body, data FROM events WHERE seq = 1", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert!(!body.contains("INVITE"), "bytes left in the body: {body}");
        assert!(data.starts_with(b"INVITE sip:1@h"));
        let binary: Vec<u8> = connection
            .query_row("SELECT data FROM events WHERE seq = 2", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(binary, vec![1, 0, 1, 1, 0, 0, 0, 8, 0xff]);
        assert_eq!(
            EventReader::open(&path).unwrap().all().unwrap(),
            message_events()
        );
    }

    #[test]
    fn a_log_without_the_data_column_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE events (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, call TEXT,
                                      kind TEXT NOT NULL, body TEXT NOT NULL);
                 CREATE TABLE calls (call TEXT PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL);",
            )
            .unwrap();
        for event in message_events() {
            // The older layout: the payload inside the JSON body, as text or hex.
            connection
                .execute(
                    "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        event.seq as i64,
                        event.at_ms as i64,
                        event.call,
                        event.kind.name(),
                        serde_json::to_string(&event.kind).unwrap()
                    ],
                )
                .unwrap();
        }
        connection
            .execute("INSERT INTO calls VALUES ('c1', 1, 2)", [])
            .unwrap();
        drop(connection);
        let reader = EventReader::open(&path).unwrap();
        assert_eq!(reader.all().unwrap(), message_events());
        assert_eq!(reader.call("c1").unwrap(), message_events());
        // Creating a log over it replaces the old layout.
        let writer = EventWriter::create(&path, WriterOptions::default()).unwrap();
        writer.append_all(message_events()).unwrap();
        writer.close().unwrap();
        assert_eq!(
            EventReader::open(&path).unwrap().all().unwrap(),
            message_events()
        );
    }
}
