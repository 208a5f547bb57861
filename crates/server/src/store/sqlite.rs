//! The embedded store: SQLite in WAL mode with group commit.
//!
//! One writer thread owns the only writing connection. Requests hand it submissions through a
//! channel; it takes every submission that is waiting, checks and applies each inside its own
//! savepoint (so one bad request changes nothing while its neighbours go through) and commits them
//! all in one transaction. The sync thread (`durable`) then syncs the WAL and only then answers,
//! while the writer goes on with the next group. Durability therefore costs one fsync per group or
//! less, not per event, and the writer does not wait for it. Readers use their own connections,
//! which WAL lets run beside the writer; log reads stop at the synced head.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use beckon_core::{ActionEvent, BlockedOffer, Lifecycle, State, Timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use uuid::Uuid;

use super::{
    CommitError, Committed, CustomerContext, CustomerUpdate, DeadLetter, EntityChange, EventLog,
    Item, Outcome, Store, StoreError, StoredEntity, Submission,
};
use crate::config::StreamTopic;
use crate::ingest::WebEvent;
use crate::record::{Filter, LogRecord, Payload};
use crate::reports::{CounterQuery, CounterRow};

mod chat;
mod checkpoint;
pub mod counters;
mod durable;
mod known_actions;
mod log_rows;
mod state;

use checkpoint::Checkpointer;
use durable::{Answer, Durability};
use known_actions::{KnownAction, KnownActions};
use log_rows::{LogRow, LogRows};

/// Most submissions grouped into one transaction.
const MAX_GROUP: usize = 1024;
/// Most records grouped into one transaction (a group ends with the submission that reaches it).
/// A larger transaction dirties more pages than the writer's page cache holds: SQLite then
/// spills them to the WAL before the commit and reads them back. With batches of 100 queuing
/// behind a busy writer, groups of thousands of records made each record cost 40 % more writer
/// time than groups of about a thousand (a cap of 300 cost 10 % more: less is shared per group).
const MAX_GROUP_RECORDS: usize = 1000;
/// How many committed records a live subscriber may fall behind before it must re-read the log.
const LIVE_CAPACITY: usize = 8192;
/// Reader connections, kept open; a read waits for a free one. Opening a connection per read
/// (attaching the state file, preparing every statement again) costs far more than the read.
const READERS: usize = 8;

type Reply<T> = oneshot::Sender<T>;
/// A write run on the writer's connection (with the counts it holds); what it returns answers
/// once the write is synced.
type Task = Box<dyn FnOnce(&mut Connection, &mut counters::Deferred) -> Answer + Send>;

enum Job {
    Commit(Prepared, Reply<Result<Vec<Outcome>, CommitError>>),
    /// Any other write (cursors, dead letters), run on its own between groups.
    Write(Task),
}

/// The SQLite store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    readers: Mutex<Vec<Connection>>,
    /// One permit per reader connection: a read holds one while it uses a connection.
    reader_permits: Semaphore,
    path: PathBuf,
    live: broadcast::Sender<Arc<LogRecord>>,
    head: Arc<AtomicU64>,
    /// The last readiness probe; locked while one runs (see `ready`).
    probe: Arc<tokio::sync::Mutex<Probed>>,
    /// Commits that failed for want of storage: a readiness probe made before the last one no
    /// longer answers.
    failed_commits: Arc<AtomicU64>,
}

/// Page cache of the writer for each file, in KiB: the pages of the indexes new actions and
/// customers go into. Small on purpose. When SQLite splits a page of an index with random keys
/// (sessions, actions), it often puts the new pages in order by swapping two of them through a
/// spare page number far past the file's end (`balance_nonroot`), and its page cache keeps that
/// number as the highest it has held. The commit that ends the group then drops the pages past
/// the file's end by walking the cache's whole hash table, at a cost that grows with the cache:
/// with 16,000 KiB that walk was 13 % of the writer's time for web events one per request, and
/// 4,000 KiB cut the writer's CPU per event by a fifth (web events one per request) to nearly a
/// third (action events in batches; BENCHMARKS.md, seventh session).
const WRITER_CACHE_KIB: i64 = 4_000;
/// Page cache of each reader and of the checkpointer, in KiB: enough for the pages one read
/// transaction uses. Under a busy writer a reader's cache does not outlive its transaction:
/// SQLite drops it whenever the WAL has changed since the last one, at a cost that grows with
/// the pages it holds (with SQLite's default of 2,000 KiB, dropping it was 5 % of the server's time
/// for web events one per request).
const READER_CACHE_KIB: i64 = 256;

/// A connection to the main file alone (migrations run on one).
fn connect(path: &Path, cache_kib: i64) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    Ok(conn)
}

/// A connection to the main file with the state file attached: what every user of the store has.
fn open(path: &Path, cache_kib: i64) -> rusqlite::Result<Connection> {
    let conn = connect(path, cache_kib)?;
    state::attach(&conn, path, cache_kib)?;
    Ok(conn)
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_unix_millis(millis)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrates it and starts the writer.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        super::migrations::migrate(&mut connect(path, READER_CACHE_KIB)?)?;
        let writer = open(path, WRITER_CACHE_KIB)?;
        // Its commits are synced by the sync thread, and it never checkpoints (see `durable`).
        writer.pragma_update(Some("main"), "synchronous", "OFF")?;
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        // Room for every statement a mixed group runs (rusqlite keeps 16 by default): evicted,
        // one would be parsed again in the next group.
        writer.set_prepared_statement_cache_capacity(64);
        state::prepare(&writer)?;
        counters::catch_up(&writer)?;
        let checkpointer = Checkpointer::start(open(path, READER_CACHE_KIB)?)?;
        let head = Arc::new(AtomicU64::new(log_head(&writer)?));
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        let (jobs, queue) = mpsc::channel(4 * MAX_GROUP);
        let readers = (0..READERS)
            .map(|_| open(path, READER_CACHE_KIB))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let wal = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("{}-wal", path.display()))?;
        let durability = Durability::start(wal, head.clone(), live.clone())?;
        std::thread::Builder::new()
            .name("beckon-writer".into())
            .spawn(move || run_writer(writer, queue, durability, checkpointer))?;
        Ok(SqliteStore {
            jobs,
            readers: Mutex::new(readers),
            reader_permits: Semaphore::new(READERS),
            path: path.to_owned(),
            live,
            head,
            probe: Arc::default(),
            failed_commits: Arc::default(),
        })
    }

    /// Runs `f` on a reader connection on the blocking pool, once one is free.
    async fn with_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self.reader_permits.acquire().await.map_err(unavailable)?;
        let conn = self.reader()?;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = f(&conn);
            (conn, result)
        })
        .await
        .map_err(unavailable)?;
        self.readers.lock().expect("reader pool").push(conn);
        result.map_err(unavailable)
    }

    /// Runs `f` on a reader connection on the calling task, once one is free: for a few point
    /// reads by index, which take less time than the blocking pool's two thread switches. Those
    /// switches were about a quarter of the server's CPU time per web event in profiles.
    async fn with_reader_here<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let _permit = self.reader_permits.acquire().await.map_err(unavailable)?;
        let conn = self.reader()?;
        let result = f(&conn);
        self.readers.lock().expect("reader pool").push(conn);
        result.map_err(unavailable)
    }

    /// A pooled reader connection, taken out of the pool (the caller holds a permit).
    fn reader(&self) -> Result<Connection, StoreError> {
        // A connection is missing only if a read panicked with it; open its replacement.
        let conn = self.readers.lock().expect("reader pool").pop();
        match conn {
            Some(c) => Ok(c),
            None => open(&self.path, READER_CACHE_KIB).map_err(unavailable),
        }
    }

    /// Runs `f` on the writer thread, between commit groups; answers once what it wrote is synced.
    async fn with_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.with_writer_counts(move |conn, _| f(conn)).await
    }

    /// [`SqliteStore::with_writer`], with the counts the writer holds.
    async fn with_writer_counts<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &mut counters::Deferred) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let task: Task = Box::new(move |conn, counts| {
            let result = f(conn, counts).map_err(unavailable);
            Box::new(move |synced: Result<(), &str>| {
                let _ = reply.send(synced.map_err(unavailable).and(result));
            })
        });
        self.send(Job::Write(task)).await?;
        answer
            .await
            .map_err(|_| unavailable("the writer stopped"))?
    }

    /// Queues a job; the queue is bounded, so a busy writer slows submitters down.
    async fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| unavailable("the writer stopped"))
    }
}

/// The writer thread: group commit until every sender is gone.
fn run_writer(
    mut conn: Connection,
    mut queue: mpsc::Receiver<Job>,
    durability: Durability,
    checkpointer: Checkpointer,
) {
    // Whether the state file may lack effects of committed log records (see `commit_group`).
    let mut stale = false;
    let mut known = KnownActions::default();
    let mut counts = counters::Deferred::default();
    let mut commit = |conn: &mut Connection, counts: &mut counters::Deferred, group| {
        if stale {
            if let Err(e) = state::catch_up(conn) {
                return fail_all(group, &e);
            }
            stale = false;
        }
        stale = !commit_group(conn, &mut known, counts, group, &durability);
    };
    while let Some(first) = queue.blocking_recv() {
        let mut group = Vec::new();
        let mut records = 0;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Commit(submission, reply) => {
                    records += submission.records.len();
                    group.push((submission, reply));
                }
                Job::Write(task) => {
                    commit(&mut conn, &mut counts, std::mem::take(&mut group));
                    records = 0;
                    let answer = task(&mut conn, &mut counts);
                    durability.after_sync(Vec::new(), vec![answer]);
                }
            }
            if group.len() < MAX_GROUP && records < MAX_GROUP_RECORDS {
                next = durability.gather(|| queue.try_recv().ok());
            }
        }
        commit(&mut conn, &mut counts, group);
        checkpointer.committed();
        if checkpointer.restart_wanted()
            && let Err(e) = checkpoint::between_groups(&conn)
        {
            tracing::warn!(error = %e, "WAL checkpoint on the writer failed");
        }
    }
    if let Err(e) = counts.write_now(&mut conn) {
        tracing::warn!(error = %e, "report counters not written at shutdown; counted at next start");
    }
    durability.finish();
    // Closing the last connection checkpoints the WAL into the database file and deletes it:
    // that checkpoint must sync.
    if let Err(e) = conn.pragma_update(Some("main"), "synchronous", "FULL") {
        tracing::warn!(error = %e, "the writer could not turn syncing back on before closing");
    }
}

type Pending = (Prepared, Reply<Result<Vec<Outcome>, CommitError>>);

/// A submission made ready on the submitting task: each record with its kind, topic and stored
/// text, so that the one writer thread does not spend its time serializing.
struct Prepared {
    deployment_id: Uuid,
    deployment: Arc<str>,
    records: Vec<Encoded>,
    customers: Vec<CustomerUpdate>,
}

/// A record as the log table stores it.
struct Encoded {
    payload: Payload,
    kind: &'static str,
    topic: String,
    body: String,
}

impl Prepared {
    fn new(submission: Submission) -> Prepared {
        let records = submission
            .items
            .into_iter()
            .map(|item| {
                let payload = match item {
                    Item::Action(e) => Payload::Action(e),
                    Item::Blocked(b) => Payload::Blocked(b),
                    Item::Web(w) => Payload::Web(w),
                };
                let (kind, body) = encode(&payload);
                Encoded {
                    kind,
                    topic: payload.topic().to_string(),
                    body,
                    payload,
                }
            })
            .collect();
        Prepared {
            deployment_id: submission.deployment_id,
            deployment: submission.deployment_id.to_string().into(),
            records,
            customers: submission.customers,
        }
    }
}

/// Checks, applies and commits a group, then hands its answers to the sync thread. Returns
/// `false` when the log committed but the state file may not have (its effects are then replayed
/// before the next group): SQLite commits the main file first, and each file on its own.
fn commit_group(
    conn: &mut Connection,
    known: &mut KnownActions,
    counts: &mut counters::Deferred,
    group: Vec<Pending>,
    durability: &Durability,
) -> bool {
    if group.is_empty() {
        return true;
    }
    let recorded_at = now();
    let mut answers = Vec::with_capacity(group.len());
    let mut published = Vec::new();
    let (tx, mut rows) = match conn
        .transaction()
        .and_then(|tx| LogRows::after_head(&tx).map(|rows| (tx, rows)))
    {
        Ok(started) => started,
        Err(e) => {
            fail_all(group, &e);
            return true;
        }
    };
    let mut tally = counters::Tally::default();
    for (submission, reply) in group {
        let result = apply(
            &tx,
            (known, &mut rows),
            submission,
            recorded_at,
            &mut published,
            &mut tally,
        );
        answers.push((reply, result));
    }
    let last = published.last().map(|r| r.seq);
    // Only action records change the state file: a group without one leaves the file untouched,
    // so its commit writes the main file alone.
    let last_action = published
        .iter()
        .rev()
        .find(|r| matches!(r.payload, Payload::Action(_)))
        .map(|r| r.seq);
    let write_counts = counts.due(&tally);
    let committed = rows
        .insert(&tx)
        .and_then(|()| {
            if write_counts {
                counts.write(&tx).and_then(|()| tally.write(&tx))
            } else {
                Ok(())
            }
        })
        .and_then(|()| last_action.map_or(Ok(()), |seq| state::set_applied(&tx, seq)))
        .and_then(|()| tx.commit());
    let mut whole = true;
    if let Err(e) = committed {
        known.forget();
        // The log decides: if its records are there, they are durable and get answered as such.
        let logged = last.is_some_and(|seq| log_head(conn).is_ok_and(|head| head >= seq));
        if !logged {
            for (reply, _) in answers {
                let _ = reply.send(Err(CommitError::Unavailable(e.to_string())));
            }
            return true;
        }
        tracing::warn!(error = %e, "the log committed, the state file did not; replaying it");
        whole = false;
    } else {
        known.settle();
    }
    // The log (and the counters, in its file) committed.
    if write_counts {
        counts.written();
    } else {
        counts.hold(tally);
    }
    let answers = answers
        .into_iter()
        .map(|(reply, result)| -> Answer {
            Box::new(move |synced: Result<(), &str>| {
                let _ = reply.send(
                    synced
                        .map_err(|e| CommitError::Unavailable(e.to_owned()))
                        .and(result),
                );
            })
        })
        .collect();
    durability.after_sync(published, answers);
    whole
}

/// Runs `f`'s reads in one read transaction: one snapshot for all of them, and under a busy
/// writer one set-up of it (each statement on its own would take a new snapshot and drop the
/// connection's page cache every time the writer had committed in between).
fn in_snapshot<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let result = f(conn);
    let ended = conn
        .prepare_cached("COMMIT")
        .and_then(|mut s| s.execute([]));
    // A pooled connection must not keep an old snapshot (it would hold the WAL back).
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let value = result?;
    ended.map(|_| value)
}

/// Room the data directory must have for the store to be ready: a commit of a large batch.
const PROBE_BYTES: usize = 256 * 1024;

/// The last readiness probe: when it ended, how many commits had failed when it began
/// (`SqliteStore::failed_commits`), and its outcome (with the wall-clock time it ended).
type Probed = Option<(Instant, u64, Result<Timestamp, String>)>;

/// How long a readiness probe that found the store ready answers later checks (unless a commit
/// has failed since): a client asking in a loop makes at most one probe (a commit and a synced
/// 256 KiB file) a second.
const PROBE_REUSE: Duration = Duration::from_secs(1);

/// Writes and syncs [`PROBE_BYTES`] in a file of `dir`, then removes it.
fn space_probe(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(".space-probe");
    let written = std::fs::File::create(&path).and_then(|mut f| {
        f.write_all(&vec![0; PROBE_BYTES])?;
        f.sync_data()
    });
    let removed = std::fs::remove_file(&path);
    written.and(removed)
}

/// The highest sequence number in the log.
fn log_head(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM log", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|seq| seq as u64)
}

fn fail_all(group: Vec<Pending>, error: &rusqlite::Error) {
    for (_, reply) in group {
        let _ = reply.send(Err(CommitError::Unavailable(error.to_string())));
    }
}

/// Applies one submission inside its own savepoint: all of it, or (on any error) none of it.
fn apply(
    tx: &Transaction<'_>,
    (known, rows): (&mut KnownActions, &mut LogRows),
    submission: Prepared,
    recorded_at: Timestamp,
    published: &mut Vec<Arc<LogRecord>>,
    group_tally: &mut counters::Tally,
) -> Result<Vec<Outcome>, CommitError> {
    let unavailable = |e: rusqlite::Error| CommitError::Unavailable(e.to_string());
    // Cached statements: rusqlite's `Savepoint` parses its SQL every time, about a tenth of the
    // writer's time in profiles of one-event submissions before and after this change.
    let run = |sql: &str| tx.prepare_cached(sql)?.execute([]).map(drop);
    run("SAVEPOINT submission").map_err(unavailable)?;
    let (mark, known_mark, rows_mark) = (published.len(), known.mark(), rows.mark());
    let mut tally = counters::Tally::default();
    let applied = apply_items(
        tx,
        (known, rows),
        submission,
        recorded_at,
        published,
        &mut tally,
    )
    .and_then(|outcomes| {
        run("RELEASE submission")
            .map_err(unavailable)
            .map(|()| outcomes)
    });
    match applied {
        Ok(outcomes) => {
            group_tally.merge(tally);
            Ok(outcomes)
        }
        Err(e) => {
            published.truncate(mark);
            known.undo_to(known_mark);
            rows.undo_to(rows_mark);
            let _ = run("ROLLBACK TO submission").and_then(|()| run("RELEASE submission"));
            Err(e)
        }
    }
}

/// A submission's records and customer updates, inside its savepoint.
fn apply_items(
    conn: &Connection,
    (known, rows): (&mut KnownActions, &mut LogRows),
    submission: Prepared,
    recorded_at: Timestamp,
    published: &mut Vec<Arc<LogRecord>>,
    tally: &mut counters::Tally,
) -> Result<Vec<Outcome>, CommitError> {
    let mut outcomes = Vec::with_capacity(submission.records.len());
    for (index, record) in submission.records.into_iter().enumerate() {
        let stored = apply_record(
            conn,
            (known, rows),
            tally,
            (submission.deployment_id, &submission.deployment),
            index,
            record,
            recorded_at,
        )?;
        outcomes.push(match stored {
            Some(record) => {
                let seq = record.seq;
                published.push(Arc::new(record));
                Outcome::Stored { seq }
            }
            None => Outcome::Duplicate,
        });
    }
    for update in &submission.customers {
        save_customer(conn, submission.deployment_id, update)
            .map_err(|e| CommitError::Unavailable(e.to_string()))?;
    }
    Ok(outcomes)
}

fn state_bit(state: State) -> i64 {
    1 << state.index()
}

/// Checks one record and numbers it among the group's log rows; `None` for a duplicate
/// (action, state).
fn apply_record(
    conn: &Connection,
    (known, rows): (&mut KnownActions, &mut LogRows),
    tally: &mut counters::Tally,
    (deployment_id, deployment): (Uuid, &Arc<str>),
    index: usize,
    record: Encoded,
    recorded_at: Timestamp,
) -> Result<Option<LogRecord>, CommitError> {
    let db = |e: rusqlite::Error| CommitError::Unavailable(e.to_string());
    if let Payload::Action(event) = &record.payload
        && !track_action(conn, known, deployment_id, index, (event, recorded_at))?
    {
        return Ok(None);
    }
    let seq = rows.push(LogRow {
        deployment: deployment.clone(),
        kind: record.kind,
        topic: record.topic,
        recorded_at: recorded_at.unix_millis(),
        body: record.body,
    });
    counters::count(
        conn,
        tally,
        deployment_id,
        seq,
        &record.payload,
        counters::Counting::New,
    )
    .map_err(db)?;
    Ok(Some(LogRecord {
        seq,
        deployment_id,
        recorded_at,
        payload: record.payload,
    }))
}

/// Moves the action's state along its lifecycle; `false` if this state was already reported.
/// When it moved is `recorded_at`, the server's clock: suppression and frequency caps compare
/// it with the server's, and an event's `timestamp` is the page's clock, which may be off (or
/// made up). `offered` also sets the action's session to the event's: an `on-next-visit` or
/// `on-next-session` offer is shown in a later session than the one it qualified in, and what is
/// on screen, frequency caps and chat events count it in the session it is shown in.
fn track_action(
    conn: &Connection,
    known: &mut KnownActions,
    deployment_id: Uuid,
    index: usize,
    (e, recorded_at): (&ActionEvent, Timestamp),
) -> Result<bool, CommitError> {
    let db = |e: rusqlite::Error| CommitError::Unavailable(e.to_string());
    let mismatch = |reason: String| CommitError::Mismatch {
        index,
        action_id: e.action_id,
        reason,
    };
    let found = match known.get(e.action_id) {
        Some(action) => Some(action),
        None => stored_action(conn, e.action_id).map_err(db)?,
    };
    let lifecycle = Lifecycle::of(e.action_media_type);
    let bit = state_bit(e.action_state);
    let Some(found) = found else {
        // Every lifecycle starts at `qualified`, which only the server records: any other first
        // state names an action this server never qualified.
        lifecycle
            .check(None, e.action_state)
            .map_err(|_| CommitError::UnknownAction {
                index,
                action_id: e.action_id,
            })?;
        conn.prepare_cached(
            "INSERT INTO actions (action_id, deployment_id, media, action_map_id, customer_id, state, seen, updated_at, session_id, action_map_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .and_then(|mut s| {
            s.execute(params![
                e.action_id.to_string(),
                deployment_id.to_string(),
                e.action_media_type.as_str(),
                e.action_map_id.to_string(),
                e.customer_id.to_string(),
                e.action_state.as_str(),
                bit,
                recorded_at.unix_millis(),
                e.session_id.to_string(),
                e.action_map_version
            ])
        })
        .map_err(db)?;
        known.put(
            e.action_id,
            KnownAction {
                deployment_id,
                media: e.action_media_type,
                action_map_id: e.action_map_id,
                customer_id: e.customer_id,
                state: e.action_state,
                seen: bit,
                row: conn.last_insert_rowid(),
            },
        );
        return Ok(true);
    };
    if found.deployment_id != deployment_id {
        return Err(mismatch("belongs to another deployment".into()));
    }
    if found.media != e.action_media_type {
        return Err(mismatch(format!(
            "is a {} action, not {}",
            found.media, e.action_media_type
        )));
    }
    if found.action_map_id != e.action_map_id {
        return Err(mismatch(format!(
            "belongs to action map {}, not {}",
            found.action_map_id, e.action_map_id
        )));
    }
    if found.customer_id != e.customer_id {
        return Err(mismatch("belongs to another customer".into()));
    }
    if found.seen & bit != 0 {
        return Ok(false);
    }
    lifecycle
        .check(Some(found.state), e.action_state)
        .map_err(|error| CommitError::Transition {
            index,
            action_id: e.action_id,
            error,
        })?;
    // By the row already found: a second search of the action_id index would find the same one.
    conn.prepare_cached(
        "UPDATE actions SET state = ?2, seen = seen | ?3, updated_at = ?4,
         offered_at = CASE WHEN ?2 = 'offered' THEN ?4 ELSE offered_at END,
         session_id = CASE WHEN ?2 = 'offered' THEN ?5 ELSE session_id END WHERE rowid = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            found.row,
            e.action_state.as_str(),
            bit,
            recorded_at.unix_millis(),
            e.session_id.to_string()
        ])
    })
    .map_err(db)?;
    known.put(
        e.action_id,
        KnownAction {
            state: e.action_state,
            seen: found.seen | bit,
            ..found
        },
    );
    Ok(true)
}

/// An action as the state file holds it, for an action the writer does not remember.
fn stored_action(conn: &Connection, action_id: Uuid) -> rusqlite::Result<Option<KnownAction>> {
    conn.prepare_cached(
        "SELECT deployment_id, media, action_map_id, customer_id, state, seen, rowid FROM actions WHERE action_id = ?1",
    )?
    .query_row([action_id.to_string()], |r| {
        Ok(KnownAction {
            deployment_id: uuid_column(0, &r.get::<_, String>(0)?)?,
            media: parsed_column(1, "media", &r.get::<_, String>(1)?)?,
            action_map_id: uuid_column(2, &r.get::<_, String>(2)?)?,
            customer_id: uuid_column(3, &r.get::<_, String>(3)?)?,
            state: parsed_column(4, "state", &r.get::<_, String>(4)?)?,
            seen: r.get(5)?,
            row: r.get(6)?,
        })
    })
    .optional()
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("decision state serializes")
}

/// A JSON column read back; a corrupt one is a conversion error naming it.
fn from_json<T: serde::de::DeserializeOwned>(column: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
    })
}

/// A text column that does not hold what it should: a conversion error naming the column.
fn corrupt(column: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, what.into())
}

/// A text column read as a `what` (a media type, a state); an unknown one is [`corrupt`].
fn parsed_column<T: std::str::FromStr>(
    column: usize,
    what: &str,
    text: &str,
) -> rusqlite::Result<T> {
    text.parse()
        .map_err(|_| corrupt(column, format!("unknown {what} {text}")))
}

fn uuid_column(column: usize, text: &str) -> rusqlite::Result<Uuid> {
    text.parse().map_err(|e: uuid::Error| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
    })
}

/// Keeps what a decision leaves for the next one (inside the submission's savepoint).
fn save_customer(
    conn: &Connection,
    deployment_id: Uuid,
    u: &CustomerUpdate,
) -> rusqlite::Result<()> {
    if let Some((pending, segments)) = &u.customer {
        conn.prepare_cached(
            "INSERT INTO customers (deployment_id, customer_id, pending, segments) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (deployment_id, customer_id) DO UPDATE SET pending = excluded.pending, segments = excluded.segments",
        )?
        .execute(params![
            deployment_id.to_string(),
            u.customer_id.to_string(),
            to_json(pending),
            to_json(segments)
        ])?;
    }
    conn.prepare_cached(
        "INSERT INTO sessions (deployment_id, session_id, journey, pageview_url, pageview_at, answered) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (deployment_id, session_id) DO UPDATE SET journey = excluded.journey,
         pageview_url = excluded.pageview_url, pageview_at = excluded.pageview_at, answered = excluded.answered",
    )?
    .execute(params![
        deployment_id.to_string(),
        u.session_id.to_string(),
        to_json(&u.journey),
        u.pageview.as_ref().map(|p| p.0.clone()),
        u.pageview.as_ref().map(|p| p.1.unix_millis()),
        (!u.answered.is_empty()).then(|| to_json(&u.answered))
    ])?;
    Ok(())
}

fn encode(payload: &Payload) -> (&'static str, String) {
    let kind = match payload {
        Payload::Action(_) => "action",
        Payload::Blocked(_) => "blocked",
        Payload::Web(_) => "web",
    };
    (kind, payload.event_text())
}

fn decode(kind: &str, body: &str) -> Result<Payload, String> {
    let bad = |e: serde_json::Error| format!("stored {kind} record does not decode: {e}");
    Ok(match kind {
        "action" => Payload::Action(serde_json::from_str::<ActionEvent>(body).map_err(bad)?),
        "blocked" => Payload::Blocked(serde_json::from_str::<BlockedOffer>(body).map_err(bad)?),
        "web" => Payload::Web(Arc::new(
            serde_json::from_str::<WebEvent>(body).map_err(bad)?,
        )),
        other => return Err(format!("unknown record kind '{other}'")),
    })
}

/// The SQL condition and parameters for a filter (everything when it has no topics and no
/// deployments); its parameters are numbered from 4, after the read's own three. The log has no
/// index on the deployment: a read of some deployments scans the log by `seq` in this one
/// statement until `limit` records match (or the head), without decoding the records it skips.
fn filter_sql(filter: &Filter) -> (String, Vec<String>) {
    let mut params: Vec<String> = filter.deployments().iter().map(Uuid::to_string).collect();
    let deployment = if params.is_empty() {
        String::new()
    } else {
        let numbers: Vec<String> = (4..4 + params.len()).map(|n| format!("?{n}")).collect();
        format!("deployment_id IN ({}) AND ", numbers.join(", "))
    };
    if filter.topics().is_empty() {
        return (format!("{deployment}1"), params);
    }
    let mut clauses = Vec::new();
    for topic in filter.topics() {
        let n = params.len() + 4;
        match topic {
            StreamTopic::Action(t) if t.state.is_none() => {
                clauses.push(format!("(kind = 'action' AND topic LIKE ?{n})"));
                params.push(format!("{}:%", t.media));
            }
            StreamTopic::Web(None) => clauses.push("kind = 'web'".into()),
            exact => {
                clauses.push(format!("topic = ?{n}"));
                params.push(exact.to_string());
            }
        }
    }
    (format!("{deployment}({})", clauses.join(" OR ")), params)
}

/// Calls `f` with each log record after `after` whose kind is one of `kinds`, in sequence order:
/// how the state file and the report counters, both derived from the log, catch up at start.
fn replay_log(
    conn: &Connection,
    after: u64,
    kinds: &[&str],
    mut f: impl FnMut(LogRecord) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let kinds = kinds.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>();
    let mut records = conn.prepare(&format!(
        "SELECT seq, deployment_id, kind, recorded_at, body FROM log
         WHERE seq > ?1 AND kind IN ({}) ORDER BY seq",
        kinds.join(", ")
    ))?;
    let mut rows = records.query([after as i64])?;
    while let Some(row) = rows.next()? {
        f(row_to_record(row)?)?;
    }
    Ok(())
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogRecord> {
    let seq: i64 = row.get(0)?;
    let deployment: String = row.get(1)?;
    let kind: String = row.get(2)?;
    let recorded_at: i64 = row.get(3)?;
    let body: String = row.get(4)?;
    Ok(LogRecord {
        seq: seq as u64,
        deployment_id: deployment
            .parse()
            .map_err(|e: uuid::Error| corrupt(0, e.to_string()))?,
        recorded_at: Timestamp::from_unix_millis(recorded_at),
        payload: decode(&kind, &body).map_err(|e| corrupt(0, e))?,
    })
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn read(
        &self,
        after: u64,
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<Arc<LogRecord>>, StoreError> {
        let (condition, topic_params) = filter_sql(filter);
        // Records past the head are committed but not yet synced: not acknowledged, not shown.
        let head = self.head();
        self.with_reader(move |conn| {
            let sql = format!(
                "SELECT seq, deployment_id, kind, recorded_at, body FROM log
                 WHERE seq > ?1 AND seq <= ?3 AND {condition} ORDER BY seq LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
                Box::new(after as i64),
                Box::new(limit as i64),
                Box::new(head as i64),
            ];
            values.extend(
                topic_params
                    .into_iter()
                    .map(|p| Box::new(p) as Box<dyn rusqlite::ToSql>),
            );
            let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), row_to_record)?;
            rows.map(|r| r.map(Arc::new)).collect()
        })
        .await
    }

    fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<LogRecord>> {
        self.live.subscribe()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn submit(&self, submission: Submission) -> Result<Committed, CommitError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Commit(Prepared::new(submission), reply))
            .await
            .map_err(|e| CommitError::Unavailable(e.0))?;
        let failed_commits = self.failed_commits.clone();
        Ok(Box::pin(async move {
            let outcome = answer
                .await
                .unwrap_or_else(|_| Err(CommitError::Unavailable("the writer stopped".into())));
            if let Err(CommitError::Unavailable(_)) = &outcome {
                failed_commits.fetch_add(1, Ordering::AcqRel);
            }
            outcome
        }))
    }

    async fn cursor(&self, sink: &str) -> Result<u64, StoreError> {
        let sink = sink.to_owned();
        self.with_reader(move |conn| {
            conn.query_row(
                "SELECT seq FROM sink_cursors WHERE sink = ?1",
                [sink],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        })
        .await
        .map(|seq| seq.unwrap_or(0) as u64)
    }

    async fn set_cursor(&self, sink: &str, seq: u64) -> Result<(), StoreError> {
        let sink = sink.to_owned();
        self.with_writer(move |conn| {
            conn.execute(
                "INSERT INTO sink_cursors (sink, seq) VALUES (?1, ?2)
                 ON CONFLICT (sink) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                params![sink, seq as i64],
            )
            .map(drop)
        })
        .await
    }

    async fn add_dead_letter(
        &self,
        sink: &str,
        records: &[Arc<LogRecord>],
        error: &str,
    ) -> Result<i64, StoreError> {
        let sink = sink.to_owned();
        let error = error.to_owned();
        let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        self.with_writer(move |conn| {
            conn.execute(
                "INSERT INTO dead_letters (sink, first_seq, last_seq, seqs, error, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    sink,
                    seqs.first().copied().unwrap_or(0) as i64,
                    seqs.last().copied().unwrap_or(0) as i64,
                    serde_json::to_string(&seqs).expect("numbers serialize"),
                    error,
                    now().unix_millis()
                ],
            )?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    async fn dead_letters(&self, sink: &str) -> Result<Vec<DeadLetter>, StoreError> {
        let sink = sink.to_owned();
        self.with_reader(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, first_seq, last_seq, seqs, error, created_at FROM dead_letters WHERE sink = ?1 ORDER BY id",
            )?;
            let letters = stmt
                .query_map([&sink], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut records = conn.prepare_cached(
                "SELECT seq, deployment_id, kind, recorded_at, body FROM log WHERE seq = ?1",
            )?;
            letters
                .into_iter()
                .map(|(id, first, last, seqs, error, created)| {
                    let seqs: Vec<i64> = serde_json::from_str(&seqs).unwrap_or_default();
                    let records = seqs
                        .iter()
                        .map(|seq| records.query_row([seq], row_to_record).map(Arc::new))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(DeadLetter {
                        id,
                        sink: sink.clone(),
                        first_seq: first as u64,
                        last_seq: last as u64,
                        error,
                        created_at: Timestamp::from_unix_millis(created),
                        records,
                    })
                })
                .collect()
        })
        .await
    }

    async fn dead_letter_count(&self, sink: &str) -> Result<u64, StoreError> {
        let sink = sink.to_owned();
        self.with_reader(move |conn| {
            conn.prepare_cached("SELECT COUNT(*) FROM dead_letters WHERE sink = ?1")?
                .query_row([&sink], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        })
        .await
    }

    async fn remove_dead_letter(&self, sink: &str, id: i64) -> Result<bool, StoreError> {
        let sink = sink.to_owned();
        self.with_writer(move |conn| {
            conn.execute(
                "DELETE FROM dead_letters WHERE sink = ?1 AND id = ?2",
                params![sink, id],
            )
            .map(|n| n > 0)
        })
        .await
    }

    async fn ready(&self) -> Result<Timestamp, StoreError> {
        // One probe at a time (they share the probe file): a check made while one runs waits
        // for it and takes its outcome, which ended after the check was asked. A check made less
        // than [`PROBE_REUSE`] after a probe that found the store ready takes that, unless a
        // commit has failed since. The lock is held until the probe file is gone, even if the
        // check that started it is dropped on the way.
        let asked = Instant::now();
        let mut last = self.probe.clone().lock_owned().await;
        let failed = self.failed_commits.load(Ordering::Acquire);
        if let Some((ended, failed_before, outcome)) = last.as_ref()
            && (*ended > asked
                || (*ended + PROBE_REUSE > asked && outcome.is_ok() && *failed_before == failed))
        {
            return outcome.clone().map_err(StoreError);
        }
        // Real commits that change nothing, so that a full or read-only disk makes the server
        // unready, as it makes ingestion fail: the state file's catch-up (what the next commit
        // must do first when an earlier one got only the log through; it rewrites `applied`),
        // then the main file's header user_version, rewritten as it is.
        let committed = self
            .with_writer(|conn| {
                state::catch_up(conn)?;
                let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                tx.pragma_update(None, "user_version", version)?;
                tx.commit()
            })
            .await;
        // Those two pages may land in WAL space already allocated, while a commit of a batch
        // needs the files to grow: room for that is checked as a file written beside them.
        let dir = self.path.parent().map(Path::to_owned).unwrap_or_default();
        tokio::task::spawn_blocking(move || {
            let outcome = committed.map_err(|e| e.0).and_then(|()| {
                space_probe(&dir).map(|()| now()).map_err(|e| {
                    format!("the data directory cannot take {PROBE_BYTES} more bytes: {e}")
                })
            });
            *last = Some((Instant::now(), failed, outcome.clone()));
            outcome
        })
        .await
        .map_err(unavailable)?
        .map_err(StoreError)
    }

    async fn customer_context(
        &self,
        deployment_id: Uuid,
        customer_id: Uuid,
        session_id: Uuid,
    ) -> Result<CustomerContext, StoreError> {
        let (deployment, customer, session) = (
            deployment_id.to_string(),
            customer_id.to_string(),
            session_id.to_string(),
        );
        self.with_reader_here(move |conn| {
            in_snapshot(conn, |conn| {
            let mut context = CustomerContext::default();
            let mut actions = conn.prepare_cached(
                "SELECT action_id, action_map_id, media, session_id, state, updated_at, offered_at,
                 action_map_version, seen FROM actions WHERE deployment_id = ?1 AND customer_id = ?2 ORDER BY rowid",
            )?;
            let rows = actions.query_map([&deployment, &customer], |r| {
                Ok((
                    uuid_column(0, &r.get::<_, String>(0)?)?,
                    beckon_core::decide::PastAction {
                        action_map_id: uuid_column(1, &r.get::<_, String>(1)?)?,
                        action_map_version: r.get(7)?,
                        media_type: parsed_column(2, "media", &r.get::<_, String>(2)?)?,
                        // Actions stored before sessions were recorded belong to none.
                        session_id: r
                            .get::<_, Option<String>>(3)?
                            .map_or(Ok(Uuid::nil()), |s| uuid_column(3, &s))?,
                        state: parsed_column(4, "state", &r.get::<_, String>(4)?)?,
                        updated_at: Timestamp::from_unix_millis(r.get(5)?),
                        offered_at: r.get::<_, Option<i64>>(6)?.map(Timestamp::from_unix_millis),
                        // Filled from the session's answers (`crate::decisions`).
                        answered_at: None,
                        engaged: r.get::<_, i64>(8)? & state_bit(State::Engaged) != 0,
                    },
                ))
            })?;
            context.actions = rows.collect::<rusqlite::Result<_>>()?;
            if let Some((pending, segments)) = conn
                .prepare_cached(
                    "SELECT pending, segments FROM customers WHERE deployment_id = ?1 AND customer_id = ?2",
                )?
                .query_row([&deployment, &customer], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .optional()?
            {
                context.pending = from_json(0, &pending)?;
                context.segments = from_json(1, &segments)?;
            }
            if let Some((journey, url, at, answered)) = conn
                .prepare_cached(
                    "SELECT journey, pageview_url, pageview_at, answered FROM sessions WHERE deployment_id = ?1 AND session_id = ?2",
                )?
                .query_row([&deployment, &session], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                })
                .optional()?
            {
                context.journey = from_json(0, &journey)?;
                context.pageview = url.zip(at.map(Timestamp::from_unix_millis));
                if let Some(answered) = answered {
                    context.answered = from_json(3, &answered)?;
                }
            }
            Ok(context)
            })
        })
        .await
    }

    async fn counters(&self, query: CounterQuery) -> Result<Vec<CounterRow>, StoreError> {
        // The writer holds the counts of the last moments; a report shows every acknowledged event.
        self.with_writer_counts(|conn, counts| counts.write_now(conn))
            .await?;
        self.with_reader(move |conn| counters::read(conn, &query))
            .await
    }

    async fn entities(&self, deployment_id: Uuid) -> Result<Vec<StoredEntity>, StoreError> {
        let deployment = deployment_id.to_string();
        self.with_reader(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT collection, id, body FROM entities WHERE deployment_id = ?1 ORDER BY rowid",
            )?;
            let rows = stmt.query_map([&deployment], |r| {
                Ok(StoredEntity {
                    collection: r.get(0)?,
                    id: uuid_column(1, &r.get::<_, String>(1)?)?,
                    body: from_json(2, &r.get::<_, String>(2)?)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn change_entities(
        &self,
        deployment_id: Uuid,
        changes: Vec<EntityChange>,
    ) -> Result<(), StoreError> {
        let deployment = deployment_id.to_string();
        self.with_writer(move |conn| {
            let tx = conn.transaction()?;
            for change in &changes {
                match change {
                    EntityChange::Save(e) => tx.execute(
                        "INSERT INTO entities (deployment_id, collection, id, body) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (deployment_id, collection, id) DO UPDATE SET body = excluded.body",
                        params![deployment, e.collection, e.id.to_string(), e.body.to_string()],
                    )?,
                    EntityChange::Delete { collection, id } => tx.execute(
                        "DELETE FROM entities WHERE deployment_id = ?1 AND collection = ?2 AND id = ?3",
                        params![deployment, collection, id.to_string()],
                    )?,
                };
            }
            tx.commit()
        })
        .await
    }
}
