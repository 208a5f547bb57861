//! The WAL checkpointer: copies committed pages from the write-ahead log into the database file
//! on its own thread and connection, so that the writer's commits do not wait for it.
//!
//! Left to itself, SQLite makes the committing connection checkpoint once the WAL passes 1,000
//! pages: random writes all over the database file and an fsync of it, inside the writer's loop,
//! while every request of the next group waits. Here the writer only checkpoints as a backstop
//! (at [`WRITER_BACKSTOP`] pages, when this thread cannot keep up), and this thread runs a
//! `PASSIVE` checkpoint (which never blocks the writer or readers) after each burst of commits.
//! Durability does not depend on it: a commit is durable once its WAL frames are synced.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

/// WAL size in pages at which the writer checkpoints by itself.
pub const WRITER_BACKSTOP: i64 = 16_384;
/// Rest after each checkpoint, so that one runs per burst of commits rather than per commit.
const REST: Duration = Duration::from_millis(20);

/// The handle the writer wakes the checkpointer with; dropping it stops the thread.
pub struct Checkpointer(SyncSender<()>);

impl Checkpointer {
    /// Starts the thread on its own connection to the database.
    pub fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        let (wake, woken) = sync_channel(1);
        thread::Builder::new()
            .name("beckon-checkpoint".into())
            .spawn(move || run(&conn, &woken))?;
        Ok(Checkpointer(wake))
    }

    /// Tells the checkpointer that the WAL has grown; never blocks.
    pub fn committed(&self) {
        let _ = self.0.try_send(());
    }
}

fn run(conn: &Connection, woken: &Receiver<()>) {
    while woken.recv().is_ok() {
        // A failed checkpoint loses nothing (the frames stay in the WAL); the next one retries.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
        thread::sleep(REST);
    }
}
