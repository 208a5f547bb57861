//! Durability off the writer's thread: the WAL is synced here, and nothing the writer committed
//! is answered, counted in the log's head or sent to live subscribers before that sync.
//!
//! The writer's connection runs with `synchronous = OFF`: its commits append frames to the WAL and
//! return without waiting for the disk. One `fdatasync` covers every group committed before it
//! (the WAL is appended in commit order, and recovery keeps frames only up to the first one that
//! did not reach the disk). What reaches the writer while a sync runs will wait for the next sync
//! whatever the writer does, so it gathers it into one group ([`Durability::gather`]) and commits
//! that when the sync ends, or sooner once the group is full: many small groups would each
//! rewrite the pages they share (the log's last page, an index's).
//! Checkpoints, which copy WAL frames into the database file and let the WAL be reused from its
//! start, run only on the checkpointer's connection, whose `synchronous = FULL` syncs the WAL
//! before copying and the database file after; the writer never checkpoints.
//!
//! A failed sync leaves the disk's contents unknown (the kernel may have dropped the pages it could
//! not write), so from then on nothing is acknowledged: every waiting and later answer is an
//! error, readiness fails, and a restart recovers from what the disk holds.

use std::fs::File;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::record::LogRecord;

/// Groups the writer may commit ahead of the last finished sync before it waits.
const AHEAD: usize = 8;

/// What the writer hands over once a group is committed: given `Ok` after the sync, or the
/// reason nothing can be acknowledged.
pub type Answer = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// One committed group: its new log records, in sequence order, and its answers.
struct Committed {
    records: Vec<Arc<LogRecord>>,
    answers: Vec<Answer>,
}

/// The longest the writer waits, while a sync runs, before looking at its queue again (to see
/// whether the group is full).
const GATHER_POLL: Duration = Duration::from_micros(200);

/// What the writer and the sync thread share: how many handed-over groups are not yet answered,
/// and the writer's thread, woken when that count falls to zero.
#[derive(Default)]
struct Progress {
    unanswered: AtomicUsize,
    writer: OnceLock<Thread>,
}

/// The writer's handle on the sync thread.
pub struct Durability {
    committed: SyncSender<Committed>,
    progress: Arc<Progress>,
    thread: JoinHandle<()>,
}

impl Durability {
    /// Starts the sync thread on `wal`, the writer's WAL file. After each sync it moves `head` to
    /// the last synced record and sends the synced records to `live`, in order.
    pub fn start(
        wal: File,
        head: Arc<AtomicU64>,
        live: broadcast::Sender<Arc<LogRecord>>,
    ) -> std::io::Result<Durability> {
        let (committed, queue) = sync_channel(AHEAD);
        let progress = Arc::new(Progress::default());
        let shared = progress.clone();
        let thread = thread::Builder::new()
            .name("beckon-sync".into())
            .spawn(move || run(&wal, &queue, &head, &live, &shared))?;
        Ok(Durability {
            committed,
            progress,
            thread,
        })
    }

    /// Waits, on the writer's thread, while the sync thread works on groups handed over before
    /// and `more` finds nothing new: what arrives meanwhile would wait for the next sync anyway,
    /// so the writer gathers it into one group instead of committing many small ones (each of
    /// which rewrites the pages it shares with the others: the log's last page, an index's).
    /// Returns what `more` found, or `None` once the sync thread is idle (or gone: it would
    /// never answer what it was given).
    pub fn gather<T>(&self, mut more: impl FnMut() -> Option<T>) -> Option<T> {
        let progress = &self.progress;
        progress.writer.get_or_init(thread::current);
        loop {
            if let Some(found) = more() {
                return Some(found);
            }
            if progress.unanswered.load(Ordering::Acquire) == 0 || self.thread.is_finished() {
                return None;
            }
            thread::park_timeout(GATHER_POLL);
        }
    }

    /// Hands over a committed group; waits only when the writer is [`AHEAD`] groups ahead.
    pub fn after_sync(&self, records: Vec<Arc<LogRecord>>, answers: Vec<Answer>) {
        if records.is_empty() && answers.is_empty() {
            return;
        }
        self.progress.unanswered.fetch_add(1, Ordering::AcqRel);
        // The thread ends only once this handle is gone.
        let _ = self.committed.send(Committed { records, answers });
    }

    /// Syncs and answers what was handed over, then stops the thread.
    pub fn finish(self) {
        drop(self.committed);
        let _ = self.thread.join();
    }
}

fn run(
    wal: &File,
    queue: &Receiver<Committed>,
    head: &AtomicU64,
    live: &broadcast::Sender<Arc<LogRecord>>,
    progress: &Progress,
) {
    let mut failed: Option<String> = None;
    while let Ok(first) = queue.recv() {
        let groups: Vec<Committed> = std::iter::once(first).chain(queue.try_iter()).collect();
        let count = groups.len();
        if failed.is_none()
            && let Err(e) = wal.sync_data()
        {
            tracing::error!(error = %e, "syncing the write-ahead log failed; nothing more is acknowledged until a restart");
            failed = Some(format!("the write-ahead log could not be synced: {e}"));
        }
        for group in groups {
            let synced = match &failed {
                Some(reason) => Err(reason.as_str()),
                None => {
                    if let Some(last) = group.records.last() {
                        head.store(last.seq, Ordering::Release);
                    }
                    for record in group.records {
                        let _ = live.send(record);
                    }
                    Ok(())
                }
            };
            for answer in group.answers {
                answer(synced);
            }
        }
        if progress.unanswered.fetch_sub(count, Ordering::AcqRel) == count
            && let Some(writer) = progress.writer.get()
        {
            writer.unpark();
        }
    }
}
