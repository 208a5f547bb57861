//! Report queries over counters equivalent to ten million events: 20 action maps with an event
//! mix in every hour of a year (57 events per map and hour: qualified, offered, accepted,
//! engaged, rejected, ignored, timed out, errored, blocked), written through the store's own
//! counter code. Timed: reading the counters and building the report table, as the route does.
//!
//! `cargo bench -p beckon-server --bench reports`

use std::time::Duration;

use beckon_core::{BlockReason, MediaType, State, Timestamp};
use beckon_server::reports::{self, Counter, CounterQuery, Granularity};
use beckon_server::store::Store;
use beckon_server::store::sqlite::{SqliteStore, counters};
use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;

const MAPS: usize = 20;
const HOURS: i64 = 366 * 24;
/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600_000;

/// Events per map and hour, by counter: 57 in all.
const MIX: [(Counter, u64); 9] = [
    (Counter::State(State::Qualified), 20),
    (Counter::State(State::Offered), 12),
    (Counter::State(State::Accepted), 5),
    (Counter::State(State::Engaged), 2),
    (Counter::State(State::Rejected), 4),
    (Counter::State(State::Ignored), 3),
    (Counter::State(State::Timedout), 2),
    (Counter::State(State::Errored), 1),
    (Counter::Blocked(BlockReason::NoAvailableAgents), 8),
];

fn fill(path: &std::path::Path, deployment: Uuid) -> u64 {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    let maps: Vec<Uuid> = (0..MAPS).map(|_| Uuid::new_v4()).collect();
    let mut events = 0;
    for hour in 0..HOURS {
        let at = Timestamp::from_unix_millis(START + hour * 3_600_000);
        for map in &maps {
            for (counter, n) in MIX {
                counters::add(&tx, deployment, *map, MediaType::Webchat, at, counter, n).unwrap();
                events += n;
            }
        }
    }
    tx.commit().unwrap();
    events
}

fn queries(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(&path).unwrap();
    let deployment = Uuid::new_v4();
    let events = fill(&path, deployment);
    println!("counters filled for {events} events");
    let at = |day: i64| Timestamp::from_unix_millis(START + day * 86_400_000);
    let cases = [
        (
            "action maps report, day buckets, 366 days",
            Granularity::Day,
            366,
        ),
        (
            "action maps report, hour buckets, 31 days",
            Granularity::Hour,
            31,
        ),
    ];
    let mut group = c.benchmark_group("reports");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for (name, granularity, days) in cases {
        let query = CounterQuery {
            deployment_id: deployment,
            granularity,
            from: at(0),
            to: at(days),
            action_map_id: None,
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let rows = runtime.block_on(store.counters(query.clone())).unwrap();
                let table = reports::action_maps(&rows, &|_| None);
                assert_eq!(
                    table.rows.len() as i64,
                    MAPS as i64 * days * 86_400_000 / granularity.millis()
                );
                table
            })
        });
    }
    group.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
