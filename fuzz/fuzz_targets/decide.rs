//! The decision engine on a fuzzed catalog and page: no panic, no hang (libFuzzer's -timeout).
#![no_main]
use beckon_core::decide::{Availability, History, Settings, Visit};
use beckon_core::model::{ActionMap, ActionTemplate, Catalog, JourneySegment};
use beckon_core::{DecisionInput, Timestamp, decide};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let list = |key: &str| {
        value
            .get(key)
            .cloned()
            .unwrap_or(serde_json::Value::Array(vec![]))
    };
    let (Ok(maps), Ok(segments), Ok(templates)) = (
        serde_json::from_value::<Vec<ActionMap>>(list("actionMaps")),
        serde_json::from_value::<Vec<JourneySegment>>(list("segments")),
        serde_json::from_value::<Vec<ActionTemplate>>(list("actionTemplates")),
    ) else {
        return;
    };
    let Ok(catalog) = Catalog::build(maps, segments, templates, vec![]) else {
        return;
    };
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let url = text("url").unwrap_or_else(|| "https://shop.example/".into());
    let referrer = text("referrer");
    let visit = Visit::from_urls(&url, text("title").as_deref(), referrer.as_deref());
    let now = value
        .get("now")
        .and_then(|v| v.as_i64())
        .unwrap_or(1_795_902_927_000);
    let _ = decide(
        &catalog,
        &DecisionInput {
            customer_id: uuid::Uuid::from_u128(1),
            session_id: uuid::Uuid::from_u128(2),
            now: Timestamp::from_unix_millis(now),
            visit: &visit,
            journey: &[],
            history: &History::default(),
            availability: Availability::default(),
            settings: &Settings::default(),
        },
    );
});
