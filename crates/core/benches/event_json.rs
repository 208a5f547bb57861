//! Writing and reading an action event's JSON, what the server does for every event it stores,
//! streams or sends to a sink.
//!
//! `cargo bench -p beckon-core --bench event_json`
//!
//! The `floor` writes the same JSON text from a struct of ready-made strings (serde_json's own
//! cost, nothing to format), the baseline for the ratio of `write`.

use std::hint::black_box;

use beckon_core::{ActionEvent, MediaType, State, Timestamp};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Serialize;
use uuid::Uuid;

fn event() -> ActionEvent {
    let id = |n: u8| Uuid::from_bytes([n, 1, 2, 3, 4, 5, 0x46, 7, 0x88, 9, 10, 11, 12, 13, 14, 15]);
    ActionEvent {
        action_id: id(1),
        action_state: State::Offered,
        action_media_type: MediaType::Webchat,
        action_map_id: id(2),
        action_map_version: 3,
        customer_id: id(3),
        session_id: id(4),
        error: None,
        event_id: id(5),
        timestamp: Timestamp::from_unix_millis(1_795_970_000_123),
    }
}

/// The same fields as text, written by serde_json with nothing to format.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Floor {
    action_id: String,
    action_state: &'static str,
    action_media_type: &'static str,
    action_map_id: String,
    action_map_version: u32,
    customer_id: String,
    customer_id_type: &'static str,
    session_id: String,
    event_id: String,
    timestamp: String,
}

fn bench(c: &mut Criterion) {
    let e = event();
    let text = serde_json::to_string(&e).unwrap();
    let floor: Floor = {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        Floor {
            action_id: s("actionId"),
            action_state: "offered",
            action_media_type: "webchat",
            action_map_id: s("actionMapId"),
            action_map_version: 3,
            customer_id: s("customerId"),
            customer_id_type: "cookie",
            session_id: s("sessionId"),
            event_id: s("eventId"),
            timestamp: s("timestamp"),
        }
    };
    assert_eq!(serde_json::to_string(&floor).unwrap(), text);
    let mut g = c.benchmark_group("event_json");
    g.throughput(Throughput::Elements(1));
    g.bench_function("write", |b| {
        b.iter(|| serde_json::to_string(black_box(&e)).unwrap())
    });
    g.bench_function("floor", |b| {
        b.iter(|| serde_json::to_string(black_box(&floor)).unwrap())
    });
    g.bench_function("read", |b| {
        b.iter(|| serde_json::from_str::<ActionEvent>(black_box(&text)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
