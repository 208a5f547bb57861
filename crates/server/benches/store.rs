//! The store's commit path in-process: submissions of new actions (one `qualified` event each,
//! new customers, spread over 100 action maps) committed through the group-commit writer,
//! durably. The baseline is the same number of rows inserted into a bare SQLite table in one
//! transaction on the same disk, which is the floor any design on SQLite pays.
//!
//! `cargo bench -p beckon-server --bench store`

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use beckon_core::{ActionEvent, MediaType, State, Timestamp};
use beckon_server::store::sqlite::SqliteStore;
use beckon_server::store::{Item, Store, Submission};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use uuid::Uuid;

/// The action maps the events are spread over (a deployment has tens to hundreds).
static MAPS: LazyLock<Vec<Uuid>> = LazyLock::new(|| (0..100).map(|_| Uuid::new_v4()).collect());

fn event() -> ActionEvent {
    ActionEvent {
        action_id: Uuid::new_v4(),
        action_state: State::Qualified,
        action_media_type: MediaType::Webchat,
        action_map_id: MAPS[Uuid::new_v4().as_u128() as usize % MAPS.len()],
        action_map_version: 1,
        customer_id: Uuid::new_v4(),
        session_id: Uuid::new_v4(),
        error: None,
        event_id: Uuid::new_v4(),
        timestamp: Timestamp::from_unix_millis(1_800_000_000_000),
    }
}

fn submission(size: usize) -> Submission {
    Submission::records(
        Uuid::new_v4(),
        (0..size).map(|_| Item::Action(event())).collect(),
    )
}

fn commits(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).unwrap());
    let mut group = c.benchmark_group("store");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for (size, concurrent) in [(1usize, 64usize), (100, 8)] {
        group.throughput(Throughput::Elements((size * concurrent) as u64));
        group.bench_function(
            format!("commit {concurrent} concurrent submissions of {size}"),
            |b| {
                b.iter_custom(|iters| {
                    let store = store.clone();
                    runtime.block_on(async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            let tasks: Vec<_> = (0..concurrent)
                                .map(|_| {
                                    let (store, s) = (store.clone(), submission(size));
                                    tokio::spawn(async move { store.commit(s).await.unwrap() })
                                })
                                .collect();
                            for t in tasks {
                                t.await.unwrap();
                            }
                        }
                        start.elapsed()
                    })
                })
            },
        );
    }
    // Baseline: bare inserts of the same row count and size, one durable transaction per round.
    let conn = rusqlite::Connection::open(dir.path().join("floor.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE t (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .unwrap();
    let body = serde_json::to_string(&event()).unwrap();
    group.throughput(Throughput::Elements(800));
    group.bench_function("baseline: 800 bare inserts in one transaction", |b| {
        b.iter(|| {
            let tx = conn.unchecked_transaction().unwrap();
            {
                let mut insert = tx
                    .prepare_cached("INSERT INTO t (body) VALUES (?1)")
                    .unwrap();
                for _ in 0..800 {
                    insert.execute([&body]).unwrap();
                }
            }
            tx.commit().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, commits);
criterion_main!(benches);
