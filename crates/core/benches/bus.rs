//! Throughput of the subscription bus and of topic parsing (issue #2 targets: >= 50 M
//! deliveries/s to one handler, >= 10 M events/s to ten handlers, >= 20 M topic parses/s).
//!
//! `cargo bench -p beckon-core --bench bus`
//!
//! Each bus measurement emits a batch of events and drains the bus with `next_delivery`, calling
//! the handler with its own copy of the lent event (the SDK's copy is a JavaScript object; here it
//! is a clone, the same copy the floor makes). Handlers are plain
//! function pointers that `black_box` the event. The `floor` groups call the same handlers over a
//! `Vec` with a cloned event per call and no bus at all: the cost floor for the ratios.

use std::hint::black_box;

use beckon_core::{ActionError, ActionEvent, Bus, MediaType, State, Timestamp, Topic};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use uuid::Uuid;

type Handler = fn(&ActionEvent);

fn handler(event: &ActionEvent) {
    black_box(event);
}

const BATCH: u64 = 1000;

fn event(state: State) -> ActionEvent {
    let id = |n: u8| Uuid::from_bytes([n, 1, 2, 3, 4, 5, 0x46, 7, 0x88, 9, 10, 11, 12, 13, 14, 15]);
    ActionEvent {
        action_id: id(1),
        action_state: state,
        action_media_type: MediaType::Webchat,
        action_map_id: id(2),
        action_map_version: 3,
        customer_id: id(3),
        session_id: id(4),
        error: (state == State::Errored).then(|| ActionError {
            code: 1,
            message: "x".into(),
        }),
        event_id: id(5),
        timestamp: Timestamp::from_unix_millis(1_795_903_727_123),
    }
}

/// A bus with `n` handlers on `topic`, plus (like a real page) a few on topics that do not match.
fn bus_with(topic: Topic, n: usize) -> Bus<Handler> {
    fn other(event: &ActionEvent) {
        black_box(event);
    }
    let mut bus: Bus<Handler> = Bus::new();
    bus.on(Topic::exact(MediaType::Contentoffer, State::Offered), other);
    for _ in 0..n {
        bus.on(topic, handler);
    }
    bus.on(Topic::exact(MediaType::Webchat, State::Accepted), other);
    bus
}

fn run_bus(bus: &mut Bus<Handler>, event: &ActionEvent) {
    for _ in 0..BATCH {
        bus.emit(event.clone());
        while let Some(d) = bus.next_delivery() {
            let handler = d.handler;
            let own = d.event.clone();
            handler(black_box(&own));
        }
    }
}

fn run_floor(handlers: &[Handler], event: &ActionEvent) {
    for _ in 0..BATCH {
        for h in handlers {
            let copy = event.clone();
            h(black_box(&copy));
        }
    }
}

fn bus_benches(c: &mut Criterion) {
    let offered = event(State::Offered);
    let exact = Topic::exact(MediaType::Webchat, State::Offered);
    let all = Topic::all(MediaType::Webchat);

    // One handler: one delivery per event, so elements = deliveries = events.
    let mut g = c.benchmark_group("one_handler");
    g.throughput(Throughput::Elements(BATCH));
    for (name, topic) in [("exact", exact), ("all", all)] {
        let mut bus = bus_with(topic, 1);
        g.bench_function(format!("bus_{name}"), |b| {
            b.iter(|| run_bus(&mut bus, black_box(&offered)))
        });
    }
    let one: Vec<Handler> = vec![handler];
    g.bench_function("floor", |b| b.iter(|| run_floor(&one, black_box(&offered))));
    g.finish();

    // Ten handlers: elements = events (each delivered ten times).
    let mut g = c.benchmark_group("ten_handlers");
    g.throughput(Throughput::Elements(BATCH));
    for (name, topic) in [("exact", exact), ("all", all)] {
        let mut bus = bus_with(topic, 10);
        g.bench_function(format!("bus_{name}"), |b| {
            b.iter(|| run_bus(&mut bus, black_box(&offered)))
        });
    }
    let ten: Vec<Handler> = vec![handler; 10];
    g.bench_function("floor", |b| b.iter(|| run_floor(&ten, black_box(&offered))));
    g.finish();

    // An errored event carries an Arc'd message: its copies cost a reference count each.
    let errored = event(State::Errored);
    let mut g = c.benchmark_group("ten_handlers_errored");
    g.throughput(Throughput::Elements(BATCH));
    let mut bus = bus_with(all, 10);
    g.bench_function("bus_all", |b| {
        b.iter(|| run_bus(&mut bus, black_box(&errored)))
    });
    g.bench_function("floor", |b| b.iter(|| run_floor(&ten, black_box(&errored))));
    g.finish();
}

fn topic_benches(c: &mut Criterion) {
    let topics: Vec<String> = Topic::all_valid().map(|t| t.to_string()).collect();
    let mut g = c.benchmark_group("topic_parse");
    g.throughput(Throughput::Elements(topics.len() as u64));
    g.bench_function("all_30_valid", |b| {
        b.iter(|| {
            for t in &topics {
                black_box(black_box(t.as_str()).parse::<Topic>().ok());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bus_benches, topic_benches);
criterion_main!(benches);
