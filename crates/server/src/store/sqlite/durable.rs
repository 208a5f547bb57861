//! Durability off the writer's thread: the WAL is synced here, and nothing the writer committed
//! is answered, counted in the log's head or sent to live subscribers before that sync.
//!
//! The writer's connection runs with `synchronous = OFF`: its commits append frames to the WAL and
//! return without waiting for the disk, so it goes on checking and applying the next group while
//! this thread syncs the WAL for the previous ones. One `fdatasync` covers every group committed
//! before it (the WAL is appended in commit order, and recovery keeps frames only up to the first
//! one that did not reach the disk), so groups that finish while a sync runs share the next one.
//! Checkpoints, which copy WAL frames into the database file and let the WAL be reused from its
//! start, run only on the checkpointer's connection, whose `synchronous = FULL` syncs the WAL
//! before copying and the database file after; the writer never checkpoints.
//!
//! A failed sync leaves the disk's contents unknown (the kernel may have dropped the pages it could
//! not write), so from then on nothing is acknowledged: every waiting and later answer is an
//! error, readiness fails, and a restart recovers from what the disk holds.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};

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

/// The writer's handle on the sync thread.
pub struct Durability {
    committed: SyncSender<Committed>,
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
        let thread = thread::Builder::new()
            .name("beckon-sync".into())
            .spawn(move || run(&wal, &queue, &head, &live))?;
        Ok(Durability { committed, thread })
    }

    /// Hands over a committed group; waits only when the writer is [`AHEAD`] groups ahead.
    pub fn after_sync(&self, records: Vec<Arc<LogRecord>>, answers: Vec<Answer>) {
        if records.is_empty() && answers.is_empty() {
            return;
        }
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
) {
    let mut failed: Option<String> = None;
    while let Ok(first) = queue.recv() {
        let groups: Vec<Committed> = std::iter::once(first).chain(queue.try_iter()).collect();
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
    }
}
