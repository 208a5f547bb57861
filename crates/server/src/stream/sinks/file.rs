//! The file sink: one JSON line per record (NDJSON), appended to a file rotated by size.
//!
//! Why it exists: a file is the dependency-free way to archive the event log or feed a log
//! shipper (Vector, Fluent Bit, Filebeat) that already tails files.
//!
//! Delivery guarantee: at least once, in log order. A batch is written and `fsync`ed before the
//! runner moves the cursor, so a crash can repeat the last batch (readers deduplicate on
//! `event.eventId` or `seq`) but never lose one. Each line is the log record: `seq`,
//! `deploymentId`, `recordedAt`, `kind` and `event`.
//!
//! Rotation: before a line would take the file past `max_bytes`, `path` becomes `path.1`, which
//! first becomes `path.2`, and so on up to `path.<keep>`; the oldest is deleted. A file never
//! holds half a record, and one line longer than `max_bytes` gets a file of its own.
//!
//! Every line parses: a write that failed half-way (disk full, the process killed) can leave a
//! fragment without its newline at the end of `path`; the next attempt cuts it off before
//! appending. The fragment belongs to a batch the cursor has not passed, so that batch is
//! written again whole. Attempts never overlap: the write runs on a blocking thread that a
//! timeout does not stop, so an attempt first waits for the previous one's write to end.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::task::JoinHandle;

use super::{Failure, Sink};
use crate::record::LogRecord;

/// Appends NDJSON lines to a file, rotating it by size.
pub struct FileSink {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    /// The last write, kept until it ended: an attempt cut by its timeout leaves it here for the
    /// next attempt to wait for, so two writes (and rotations) never run at once.
    writing: tokio::sync::Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl FileSink {
    pub fn new(path: PathBuf, max_bytes: u64, keep: usize) -> FileSink {
        FileSink {
            path,
            max_bytes,
            keep,
            writing: tokio::sync::Mutex::new(None),
        }
    }
}

/// `path` with `.n` appended to its file name.
pub fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Shifts `path.1 .. path.<keep-1>` up by one, drops the oldest, and moves `path` to `path.1`.
fn rotate(path: &Path, keep: usize) -> std::io::Result<()> {
    if keep == 0 {
        return remove_if_present(path);
    }
    remove_if_present(&rotated(path, keep))?;
    for n in (1..keep).rev() {
        let from = rotated(path, n);
        if from.exists() {
            std::fs::rename(&from, rotated(path, n + 1))?;
        }
    }
    std::fs::rename(path, rotated(path, 1))?;
    sync_dir(path)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Makes renames durable (a no-op where directories cannot be opened).
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn open(path: &Path) -> std::io::Result<(File, u64)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let size = file.metadata()?.len();
    Ok((file, size))
}

/// Cuts what follows the last newline of `file` (`size` bytes long): a fragment left by a write
/// that failed half-way. Answers the new size.
fn cut_fragment(path: &Path, file: &File, size: u64) -> std::io::Result<u64> {
    let mut reader = File::open(path)?;
    let mut end = size;
    let mut buf = Vec::new();
    // The last byte first: usually a newline, and then that is all there is to read.
    let mut chunk = 1;
    while end > 0 {
        let start = end.saturating_sub(chunk);
        buf.resize((end - start) as usize, 0);
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(&mut buf)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
        chunk = 64 * 1024;
    }
    if end < size {
        tracing::warn!(path = %path.display(), bytes = size - end, "cutting a partly written line");
        file.set_len(end)?;
        file.sync_all()?;
    }
    Ok(end)
}

/// Writes the lines after the file's last whole line, rotating as needed, and syncs before
/// returning.
fn append(path: &Path, max_bytes: u64, keep: usize, lines: &[Vec<u8>]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let (mut file, mut size) = open(path)?;
    if size > 0 {
        size = cut_fragment(path, &file, size)?;
    }
    for line in lines {
        let len = line.len() as u64;
        if size > 0 && size + len > max_bytes {
            file.sync_all()?;
            drop(file);
            rotate(path, keep)?;
            (file, size) = open(path)?;
        }
        file.write_all(line)?;
        size += len;
    }
    file.sync_all()
}

#[async_trait]
impl Sink for FileSink {
    async fn deliver(&self, batch: &[Arc<LogRecord>]) -> Result<(), Failure> {
        let lines: Vec<Vec<u8>> = batch
            .iter()
            .map(|r| {
                let mut line = serde_json::to_vec(&**r).expect("records serialize");
                line.push(b'\n');
                line
            })
            .collect();
        let (path, max_bytes, keep) = (self.path.clone(), self.max_bytes, self.keep);
        // Held across the awaits: if the runner's timeout drops this future, the unfinished
        // write stays in `writing` and the next attempt waits for it before writing.
        let mut writing = self.writing.lock().await;
        if let Some(previous) = writing.as_mut() {
            // Its outcome no longer matters: this attempt writes the batch again.
            let _ = previous.await;
        }
        let task = writing.insert(tokio::task::spawn_blocking(move || {
            append(&path, max_bytes, keep, &lines)
        }));
        let result = task.await;
        *writing = None;
        result
            .map_err(|e| Failure::Retry(format!("the writer task failed: {e}")))?
            // A full disk or a permission problem may be fixed by an operator: keep retrying,
            // the cursor waits, nothing is lost.
            .map_err(|e| Failure::Retry(format!("cannot write {}: {e}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::sinks::testing;
    use beckon_core::State;
    use serde_json::Value;
    use uuid::Uuid;

    fn read_lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn lines_are_log_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/events.ndjson");
        let sink = FileSink::new(path.clone(), 1 << 20, 3);
        let c = Uuid::new_v4();
        sink.deliver(&[
            testing::action(1, c, State::Qualified),
            testing::blocked(2, c),
        ])
        .await
        .unwrap();
        let lines = read_lines(&path);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["seq"], 1);
        assert_eq!(lines[0]["kind"], "action");
        assert_eq!(lines[0]["deploymentId"], testing::DEPLOYMENT.to_string());
        assert_eq!(lines[0]["event"]["actionState"], "qualified");
        assert!(lines[0]["recordedAt"].is_string());
        assert_eq!(lines[1]["kind"], "blocked");
    }

    #[tokio::test]
    async fn rotates_by_size_and_keeps_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        let c = Uuid::new_v4();
        let line_len = serde_json::to_vec(&*testing::action(1, c, State::Offered))
            .unwrap()
            .len() as u64
            + 1;
        // Two lines fit in a file, a third does not.
        let sink = FileSink::new(path.clone(), line_len * 2 + line_len / 2, 2);
        for seq in 1..=9u64 {
            sink.deliver(&[testing::action(seq, c, State::Offered)])
                .await
                .unwrap();
        }
        // 9 lines, 2 per file: path holds 9, path.1 7-8, path.2 5-6; 1-4 were deleted.
        let seqs = |p: &Path| -> Vec<u64> {
            read_lines(p)
                .iter()
                .map(|l| l["seq"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(seqs(&path), [9]);
        assert_eq!(seqs(&rotated(&path, 1)), [7, 8]);
        assert_eq!(seqs(&rotated(&path, 2)), [5, 6]);
        assert!(!rotated(&path, 3).exists());
        for p in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
            assert!(std::fs::metadata(&p).unwrap().len() <= line_len * 2 + line_len / 2);
        }
    }

    #[tokio::test]
    async fn a_fragment_longer_than_a_read_chunk_is_cut_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        let c = Uuid::new_v4();
        let sink = FileSink::new(path.clone(), 1 << 20, 1);
        sink.deliver(&[testing::action(1, c, State::Offered)])
            .await
            .unwrap();
        let mut fragment = b"{\"seq\":2,\"event\":\"".to_vec();
        fragment.resize(150_000, b'x');
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&fragment).unwrap();
        drop(file);
        sink.deliver(&[testing::action(2, c, State::Accepted)])
            .await
            .unwrap();
        let seqs: Vec<u64> = read_lines(&path)
            .iter()
            .map(|l| l["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [1, 2]);
    }

    /// A write that outlives its attempt's timeout (here: stuck opening a FIFO nobody reads)
    /// is waited for by the next attempt, which writes nothing meanwhile; without that, both
    /// attempts would write at once, each its own copy of the batch (and could rotate at once).
    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timed_out_write_is_waited_for_before_the_next_attempt_writes() {
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let sink = FileSink::new(path.clone(), 1 << 20, 1);
        let c = Uuid::new_v4();
        let first = [testing::action(1, c, State::Offered)];
        let retry = [testing::action(1, c, State::Offered)];
        let limit = Duration::from_millis(200);
        // Both attempts time out: the first's write is blocked, the second waits for it.
        assert!(
            tokio::time::timeout(limit, sink.deliver(&first))
                .await
                .is_err()
        );
        assert!(
            tokio::time::timeout(limit, sink.deliver(&retry))
                .await
                .is_err()
        );
        // A reader lets the blocked write go on; it reads until every writer closed the FIFO.
        let read = tokio::task::spawn_blocking(move || std::fs::read(&path).unwrap());
        let written = tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("every writer ended")
            .unwrap();
        let lines: Vec<Value> = written
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "one write at a time: {lines:?}");
    }

    #[tokio::test]
    async fn a_batch_rotates_mid_way_and_an_oversized_line_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.ndjson");
        let c = Uuid::new_v4();
        let sink = FileSink::new(path.clone(), 10, 5);
        let batch: Vec<_> = (1..=3)
            .map(|s| testing::action(s, c, State::Offered))
            .collect();
        sink.deliver(&batch).await.unwrap();
        assert_eq!(read_lines(&path).len(), 1);
        assert_eq!(read_lines(&rotated(&path, 1)).len(), 1);
        assert_eq!(read_lines(&rotated(&path, 2))[0]["seq"], 1);
    }
}
