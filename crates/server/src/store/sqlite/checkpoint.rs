//! The WAL checkpointer: copies committed pages from the write-ahead log into the database file
//! on its own thread and connection, so that the writer's commits do not wait for it.
//!
//! Left to itself, SQLite makes the committing connection checkpoint once the WAL passes 1,000
//! pages: random writes all over the database file and an fsync of it, inside the writer's loop,
//! while every request of the next group waits. Here the writer never checkpoints on its own (its
//! connection does not sync, see `durable`); this thread runs a `PASSIVE` checkpoint (which never
//! blocks the writer or readers) after each burst of commits, on a connection with
//! `synchronous = FULL`. Durability does not depend on it: a commit is durable once its WAL frames
//! are synced.
//!
//! The WAL starts over from its beginning only when a commit finds every frame copied, which a
//! checkpoint beside a busy writer rarely leaves. So once the WAL passes [`RESTART_PAGES`] this
//! thread asks the writer for one checkpoint between two groups ([`Checkpointer::restart_wanted`]),
//! after which the next commit starts the WAL over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

/// WAL size in pages past which the writer is asked to checkpoint between two groups.
const RESTART_PAGES: i64 = 16_384;
/// Rest after each checkpoint, so that one runs per burst of commits rather than per commit.
const REST: Duration = Duration::from_millis(20);

/// The writer's handle on the checkpointer; dropping it stops the thread.
pub struct Checkpointer {
    wake: SyncSender<()>,
    restart: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to the database.
    pub fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        let (wake, woken) = sync_channel(1);
        let restart = Arc::new(AtomicBool::new(false));
        let wanted = restart.clone();
        thread::Builder::new()
            .name("beckon-checkpoint".into())
            .spawn(move || run(&conn, &woken, &wanted))?;
        Ok(Checkpointer { wake, restart })
    }

    /// Tells the checkpointer that the WAL has grown; never blocks.
    pub fn committed(&self) {
        let _ = self.wake.try_send(());
    }

    /// Whether the writer should checkpoint before its next group (the request is taken).
    pub fn restart_wanted(&self) -> bool {
        self.restart.swap(false, Ordering::AcqRel)
    }
}

/// A checkpoint on the writer's connection between two groups, synced as the checkpointer's are:
/// with no commit landing during it, it copies the whole WAL unless a reader still needs it.
pub fn between_groups(writer: &Connection) -> rusqlite::Result<()> {
    writer.pragma_update(Some("main"), "synchronous", "FULL")?;
    let done = writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    writer.pragma_update(Some("main"), "synchronous", "OFF")?;
    done
}

fn run(conn: &Connection, woken: &Receiver<()>, restart: &AtomicBool) {
    while woken.recv().is_ok() {
        // A failed checkpoint loses nothing (the frames stay in the WAL); the next one retries.
        for schema in ["main", "state"] {
            let pages = conn.query_row(
                &format!("PRAGMA {schema}.wal_checkpoint(PASSIVE)"),
                [],
                |r| r.get::<_, i64>(1),
            );
            match pages {
                Ok(pages) if pages > RESTART_PAGES => restart.store(true, Ordering::Release),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, schema, "WAL checkpoint failed"),
            }
        }
        thread::sleep(REST);
    }
}
