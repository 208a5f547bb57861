//! How fast is one decision? `cargo bench -p beckon-core --bench decide`
//!
//! A deployment with 200 segments (two context criteria and a journey pattern each) and 10,
//! 1,000 or 10,000 action maps, each triggered by one segment, with mixed media types, weights
//! and page URL conditions (a quarter each: `startsWith` with a value of its own, `equal`,
//! `containsAny`, and `startsWith` with `notContainsAny`). The visitor matches about one segment
//! in twelve, so the number of maps that qualify grows with the catalog (about 8 % of the
//! maps), which is the work that cannot be indexed away: each of them is offered or reported
//! blocked. Each size is measured with the indexed engine (`decide`) and with the plain scan
//! it is tested against (`decide_by_scan`: every map tried, every URL condition tested).
//! Criterion reports decisions per second; then a plain loop times 100,000 single decisions per
//! size and engine and prints the percentiles (p99 is the target: < 1 ms).

use std::hint::black_box;
use std::time::{Duration, Instant};

use beckon_core::decide::{
    Availability, Browser, Device, History, JourneyEvent, PastAction, Settings, Visit,
    decide_by_scan,
};
use beckon_core::model::{ActionMap, ActionTemplate, Catalog, JourneySegment};
use beckon_core::{Decision, DecisionInput, MediaType, State, Timestamp, decide};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use serde_json::json;
use uuid::Uuid;

const SEGMENTS: usize = 200;
const NOW: i64 = 1_772_442_000_000;

fn id(kind: u128, n: usize) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | (kind << 40) | n as u128)
}

fn segment(i: usize) -> JourneySegment {
    let category = ["desktop", "mobile", "tablet"][i % 3];
    let browser = ["Chrome", "Firefox", "Safari", "Edge"][i % 4];
    serde_json::from_value(json!({
        "id": id(0xb, i), "displayName": format!("segment {i}"),
        "context": { "patterns": [ { "criteria": [
            { "key": "device.category", "values": [category], "operator": "equal", "shouldIgnoreCase": true },
            { "key": "browser.family", "values": [browser, "Opera"], "operator": "containsAny", "shouldIgnoreCase": false }
        ] } ] },
        "journey": { "patterns": [ {
            "criteria": [ { "key": "page.pathname", "values": [format!("/p{}", i % 5)], "operator": "startsWith", "shouldIgnoreCase": true } ],
            "count": 1, "streamType": "Web", "sessionType": "web", "eventName": "page_viewed"
        } ] }
    }))
    .unwrap()
}

fn url_conditions(i: usize) -> serde_json::Value {
    let section = i % 10;
    match i % 4 {
        0 => json!([ { "operator": "startsWith", "values": [
            format!("https://shop.example.com/p{section}/"), format!("https://www.example.com/{i}")
        ] } ]),
        1 => json!([ { "operator": "equal", "values": [
            format!("https://shop.example.com/p{section}/pricing?utm_source=news"), "https://shop.example.com/"
        ] } ]),
        2 => {
            json!([ { "operator": "containsAny", "values": [format!("/p{section}"), "/checkout"] } ])
        }
        _ => json!([
            { "operator": "startsWith", "values": ["https://shop.example.com/"] },
            { "operator": "notContainsAny", "values": [format!("/p{}", i % 5)] }
        ]),
    }
}

fn map(i: usize) -> ActionMap {
    let action = if i.is_multiple_of(3) {
        json!({ "mediaType": "contentOffer", "actionTemplate": { "id": id(0xc, 1) } })
    } else {
        json!({ "mediaType": "webchat" })
    };
    serde_json::from_value(json!({
        "id": id(0xa, i), "version": 1, "displayName": format!("map {i}"),
        "triggerWithSegments": [id(0xb, (i * 7) % SEGMENTS)],
        "pageUrlConditions": url_conditions(i),
        "weight": 1 + (i % 3) as i64, "action": action
    }))
    .unwrap()
}

fn catalog(maps: usize) -> Catalog {
    let template: ActionTemplate = serde_json::from_value(json!({
        "id": id(0xc, 1), "name": "t", "mediaType": "contentOffer", "state": "Active",
        "contentOffer": { "displayMode": "Toast", "layoutMode": "TextOnly" }
    }))
    .unwrap();
    Catalog::build(
        (0..maps).map(map).collect(),
        (0..SEGMENTS).map(segment).collect(),
        vec![template],
        vec![],
    )
    .unwrap()
}

struct Input {
    visit: Visit,
    journey: Vec<JourneyEvent>,
    history: History,
    settings: Settings,
}

fn input() -> Input {
    let mut visit = Visit::from_urls(
        "https://shop.example.com/p3/pricing?utm_source=news",
        Some("Pricing"),
        Some("https://www.google.com/"),
    );
    visit.browser = Browser {
        family: Some("Chrome".into()),
        version: Some("120.0.6099".into()),
        lang: Some("en".into()),
    };
    visit.device = Device {
        category: Some("desktop".into()),
        ..Device::default()
    };
    let journey = (0..10)
        .map(|i| {
            let url = format!("https://shop.example.com/p{}/page{i}", i % 5);
            JourneyEvent::new(
                "page_viewed",
                beckon_core::decide::Page::from_url(&url, None),
            )
        })
        .collect();
    let history = History {
        actions: (0..3)
            .map(|i| PastAction {
                action_map_id: id(0xa, 90_000 + i),
                action_map_version: None,
                media_type: MediaType::Webchat,
                session_id: id(0xf, 0),
                state: State::Rejected,
                updated_at: Timestamp::from_unix_millis(NOW - 86_400_000),
                offered_at: None,
                answered_at: None,
                engaged: false,
            })
            .collect(),
        ..History::default()
    };
    Input {
        visit,
        journey,
        history,
        settings: Settings::default(),
    }
}

/// A decision function: the engine the server runs, or the scan it is tested against.
type Engine = fn(&Catalog, &DecisionInput<'_>) -> Decision;

/// The engines measured.
const ENGINES: [(&str, Engine); 2] = [("indexed", decide), ("scan", decide_by_scan)];

fn decide_once(engine: Engine, c: &Catalog, i: &Input, customer: usize) -> Decision {
    engine(
        c,
        &DecisionInput {
            customer_id: id(0xe, customer),
            session_id: id(0xf, 1),
            now: Timestamp::from_unix_millis(NOW),
            visit: &i.visit,
            journey: &i.journey,
            history: &i.history,
            availability: Availability::default(),
            settings: &i.settings,
        },
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(1));
    let input = input();
    for maps in [10, 1_000, 10_000] {
        let catalog = catalog(maps);
        for (name, engine) in ENGINES {
            let mut customer = 0;
            group.bench_with_input(BenchmarkId::new(name, maps), &catalog, |b, catalog| {
                b.iter(|| {
                    customer += 1;
                    black_box(decide_once(engine, catalog, &input, customer).offers.len())
                })
            });
        }
    }
    group.finish();
}

fn percentiles() {
    let input = input();
    println!(
        "\nsingle-decision latency, 200 segments ({} decisions per size and engine):",
        100_000
    );
    for maps in [10, 1_000, 10_000] {
        let catalog = catalog(maps);
        for (name, engine) in ENGINES {
            let probe = decide_once(engine, &catalog, &input, 0);
            let mut times: Vec<Duration> = Vec::with_capacity(100_000);
            let started = Instant::now();
            for customer in 0..100_000 {
                let t = Instant::now();
                black_box(decide_once(engine, &catalog, &input, customer).offers.len());
                times.push(t.elapsed());
            }
            let total = started.elapsed();
            times.sort_unstable();
            let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
            println!(
                "  {maps:>6} maps, {name:<7} ({} qualified, {} blocked per decision): p50 {:?}  p99 {:?}  p99.9 {:?}  max {:?}  -> {:.0} decisions/s",
                probe.qualified.len(),
                probe.blocked.len(),
                at(0.5),
                at(0.99),
                at(0.999),
                times[times.len() - 1],
                times.len() as f64 / total.as_secs_f64()
            );
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    percentiles();
}
