//! Storage failures: the data directory on a small tmpfs that fills up, and remounted read-only.
//! A full disk makes ingestion answer 503 problems and `/readyz` 503, loses nothing already
//! acknowledged, and both recover once space returns. A read-only data directory stops the
//! server from starting (with the reason), and it starts again, everything kept, once writable.
//!
//! Mounting needs root (or CAP_SYS_ADMIN); where `mount` is refused these tests say so on stderr
//! and pass without checking anything. A filesystem cannot be remounted read-only while the
//! server holds its files open for writing (the kernel answers "busy"), so the read-only case is
//! checked across a restart.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Action, Server, client};
use serde_json::{Value, json};

/// A tmpfs mounted for one test; unmounted (lazily) when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(path: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(path.to_owned()))
    }

    fn remount(&self, mode: &str) -> bool {
        Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Starts a server whose data directory is a fresh tmpfs of `size`, or `None` if mounting is
/// not permitted here.
fn server_on_tmpfs(size: &str) -> Option<(Server, Mount)> {
    let mut mount = None;
    let server = Server::start_prepared(
        "[limits]\nrequests_per_second = 100000\nburst = 100000\n",
        "",
        &[],
        |path| mount = Mount::tmpfs(path, size),
    );
    match mount {
        Some(m) => Some((server, m)),
        None => {
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); nothing was checked");
            None
        }
    }
}

/// Actions the server qualified, enough for every [`post_batch`] of a test: taken while the disk
/// has room, since a full one may fail the reads a decision needs before it fails commits.
const ACTIONS: usize = 100;

/// Posts one batch of three events of a qualified action from `actions`; their eventIds and the
/// answer's status and problem type.
async fn post_batch(server: &Server, actions: &mut Vec<Action>) -> (Vec<String>, u16, Value) {
    let action = actions.pop().expect("enough actions qualified ahead");
    let batch: Vec<Value> = ["offered", "accepted", "rejected"]
        .iter()
        .map(|s| action.event(s))
        .collect();
    let r = server.post("action-events", &json!(batch)).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let ids = batch
        .iter()
        .map(|e| e["eventId"].as_str().unwrap().to_owned())
        .collect();
    (ids, status, body)
}

async fn status_of(server: &Server, path: &str) -> u16 {
    client()
        .get(format!("{}{path}", server.url()))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// The log holds every acknowledged event once, in strictly increasing sequence order.
async fn assert_log_holds(server: &Server, acked: &[String]) {
    let log = server.log("").await;
    let seqs: Vec<u64> = log.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "sequence out of order"
    );
    let ids: HashSet<&str> = log
        .iter()
        .map(|r| r["event"]["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), log.len(), "an event was stored twice");
    let missing = acked.iter().filter(|id| !ids.contains(id.as_str())).count();
    assert_eq!(missing, 0, "{missing} acknowledged events lost");
}

/// Writes zeros to `path` until the filesystem refuses.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 16 * 1024];
    while f.write_all(&chunk).and_then(|_| f.sync_data()).is_ok() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_answers_503_keeps_acknowledged_events_and_recovers() {
    let Some((mut server, mount)) = server_on_tmpfs("8m") else {
        return;
    };
    let mut acked = Vec::new();
    let mut actions = server.qualified_many("webchat", ACTIONS).await;
    for _ in 0..20 {
        let (ids, status, body) = post_batch(&server, &mut actions).await;
        assert_eq!(status, 200, "{body}");
        acked.extend(ids);
    }
    assert_eq!(status_of(&server, "/readyz").await, 200);

    let filler = server.data_dir().join("filler");
    fill(&filler);
    // Writes go on while the database's files still have room, then fail with a 503 problem.
    let mut refused = None;
    for _ in 0..2000 {
        let (ids, status, body) = post_batch(&server, &mut actions).await;
        match status {
            200 => acked.extend(ids),
            _ => {
                refused = Some((status, body));
                break;
            }
        }
    }
    let (status, body) = refused.expect("a full disk never refused a write");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "/problems/storage-unavailable", "{body}");
    assert_eq!(status_of(&server, "/readyz").await, 503);
    assert_eq!(status_of(&server, "/healthz").await, 200);
    // Reads still work, and hold everything acknowledged.
    assert_log_holds(&server, &acked).await;

    // Space returns: writes and readiness come back without a restart.
    std::fs::remove_file(&filler).expect("remove the filler");
    let (ids, status, body) = post_batch(&server, &mut actions).await;
    assert_eq!(status, 200, "{body}");
    acked.extend(ids);
    assert_eq!(status_of(&server, "/readyz").await, 200);

    // And after a crash, every acknowledged event is still there.
    server.kill();
    server.start_again();
    assert_log_holds(&server, &acked).await;
    server.kill();
    drop(mount);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_data_dir_stops_the_start_and_loses_nothing() {
    let Some((mut server, mount)) = server_on_tmpfs("8m") else {
        return;
    };
    let mut acked = Vec::new();
    let mut actions = server.qualified_many("webchat", ACTIONS).await;
    for _ in 0..5 {
        let (ids, status, body) = post_batch(&server, &mut actions).await;
        assert_eq!(status, 200, "{body}");
        acked.extend(ids);
    }
    assert!(server.terminate().success());
    assert!(mount.remount("ro"), "remount read-only");

    let mut child = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args(["serve", "--config"])
        .arg(server.dir().join("beckon.toml"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("beckon starts");
    let listening = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("beckon listening on"));
    let _ = child.kill();
    let output = child.wait_with_output().expect("exit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!listening, "started on a read-only data directory");
    assert!(!output.status.success());
    assert!(
        stderr.contains("store") || stderr.contains("read"),
        "no reason given: {stderr}"
    );

    assert!(mount.remount("rw"), "remount read-write");
    server.start_again();
    assert_log_holds(&server, &acked).await;
    let (_, status, body) = post_batch(&server, &mut actions).await;
    assert_eq!(status, 200, "{body}");
    server.kill();
    drop(mount);
}
