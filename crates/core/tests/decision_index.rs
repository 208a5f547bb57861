//! The indexes change nothing: over random catalogs (triggers, page URL conditions of every
//! operator a URL accepts, values in any case, cut anywhere), random pages and random session
//! histories, the indexed engine decides exactly as a plain scan that tries every map and tests
//! every page URL condition of every map on its own.

use beckon_core::decide::{
    Availability, History, JourneyEvent, PastAction, Settings, Visit, decide_by_scan,
};
use beckon_core::model::{ActionMap, Catalog, JourneySegment};
use beckon_core::{Decision, DecisionInput, MediaType, State, Timestamp, decide};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

const NOW: i64 = 1_772_442_000_000;

fn id(kind: u128, n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | (kind << 40) | n)
}

/// Pages and condition values are drawn from the same URLs, so that conditions often match,
/// sometimes by a prefix, sometimes only ignoring case.
const URLS: [&str; 8] = [
    "https://shop.example.com/",
    "https://shop.example.com/pricing",
    "https://Shop.Example.com/pricing/pro?plan=Pro",
    "https://shop.example.com/checkout/step-2",
    "http://shop.example.com/pricing",
    "https://example.org/caf\u{e9}/men\u{fc}",
    "https://example.org/CAF\u{c9}",
    "https://blog.example.com/p3/page1#Top",
];

const OPERATORS: [&str; 8] = [
    "equal",
    "notEqual",
    "startsWith",
    "endsWith",
    "containsAny",
    "containsAll",
    "notContainsAny",
    "notContainsAll",
];

/// A condition value: one of the URLs, in upper case or not, cut after `cut` characters (not
/// before its host for the operators that need a full URL).
fn value(operator: &str, url: usize, cut: usize, upper: bool) -> String {
    let full = URLS[url];
    let text = if upper {
        full.to_uppercase()
    } else {
        full.to_owned()
    };
    let whole = matches!(operator, "equal" | "notEqual");
    let min = if operator == "startsWith" { 9 } else { 1 };
    if whole {
        return text;
    }
    let n = text.chars().count();
    text.chars().take(min + cut % (n - min + 1)).collect()
}

type ValueSpec = (usize, usize, bool);
type ConditionSpec = (usize, Vec<ValueSpec>);

fn url_conditions(conditions: &[ConditionSpec]) -> Value {
    let mut out: Vec<Value> = conditions
        .iter()
        .map(|(op, values)| {
            let operator = OPERATORS[*op];
            let values: Vec<String> = values
                .iter()
                .map(|&(u, cut, upper)| value(operator, u, cut, upper))
                .collect();
            json!({ "operator": operator, "values": values })
        })
        .collect();
    // Genesys: an `equal` condition stands alone.
    if let Some(i) = out.iter().position(|c| c["operator"] == "equal") {
        out = vec![out.swap_remove(i)];
    }
    Value::Array(out)
}

fn segments() -> Vec<JourneySegment> {
    let everyone = json!({ "key": "page.url", "values": ["http"], "operator": "startsWith", "shouldIgnoreCase": true });
    let pricing = json!({ "key": "page.pathname", "values": ["pricing"], "operator": "containsAny", "shouldIgnoreCase": true });
    let org = json!({ "key": "page.hostname", "values": ["example.org"], "operator": "equal", "shouldIgnoreCase": false });
    [everyone, pricing, org]
        .into_iter()
        .enumerate()
        .map(|(i, criterion)| {
            serde_json::from_value(json!({
                "id": id(0xb, i as u128), "displayName": format!("segment {i}"),
                "context": { "patterns": [ { "criteria": [criterion] } ] }
            }))
            .unwrap()
        })
        .collect()
}

/// (trigger: 0..3 a segment, 3 an event condition; chat; weight; delay; URL conditions)
type MapSpec = (usize, bool, i64, bool, Vec<ConditionSpec>);

fn map(n: usize, (trigger, chat, weight, delay, conditions): &MapSpec) -> ActionMap {
    let action = if *chat {
        json!({ "mediaType": "webchat" })
    } else {
        json!({ "mediaType": "contentOffer", "actionTemplate": { "id": id(0xc, 1) } })
    };
    let mut m = json!({
        "id": id(0xa, n as u128), "version": 1, "displayName": format!("map {n}"),
        "pageUrlConditions": url_conditions(conditions), "weight": weight, "action": action,
    });
    if *trigger < 3 {
        m["triggerWithSegments"] = json!([id(0xb, *trigger as u128)]);
    } else {
        m["triggerWithEventConditions"] = json!([{
            "key": "page.url", "values": ["example"], "operator": "containsAny",
            "streamType": "Web", "sessionType": "web", "eventName": "page_viewed"
        }]);
    }
    if *delay {
        m["activation"] = json!({ "type": "delay", "delayInSeconds": 5 });
    }
    serde_json::from_value(m).unwrap()
}

fn catalog(maps: &[MapSpec]) -> Result<Catalog, String> {
    let template: beckon_core::ActionTemplate = serde_json::from_value(json!({
        "id": id(0xc, 1), "name": "t", "mediaType": "contentOffer", "state": "Active",
        "contentOffer": { "displayMode": "Toast", "layoutMode": "TextOnly" }
    }))
    .unwrap();
    Catalog::build(
        maps.iter().enumerate().map(|(n, m)| map(n, m)).collect(),
        segments(),
        vec![template],
        vec![],
    )
    .map_err(|e| format!("{e:?}"))
}

fn condition() -> impl Strategy<Value = ConditionSpec> {
    (
        0..OPERATORS.len(),
        prop::collection::vec((0..URLS.len(), 0usize..60, any::<bool>()), 1..4),
    )
}

fn map_spec() -> impl Strategy<Value = MapSpec> {
    (
        0usize..4,
        any::<bool>(),
        1i64..=3,
        prop::bool::weighted(0.2),
        prop::collection::vec(condition(), 0..3),
    )
}

/// One decision on a page view of `url`, by the indexed engine and by the plain scan.
fn both(catalog: &Catalog, url: &str, history: &History, customer: Uuid) -> (Decision, Decision) {
    let visit = Visit::from_urls(url, None, None);
    let journey = [JourneyEvent::new("page_viewed", Some(visit.page.clone()))];
    let settings = Settings::default();
    let input = DecisionInput {
        customer_id: customer,
        session_id: id(0xf, 1),
        now: Timestamp::from_unix_millis(NOW),
        visit: &visit,
        journey: &journey,
        history,
        availability: Availability::default(),
        settings: &settings,
    };
    (decide(catalog, &input), decide_by_scan(catalog, &input))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_indexed_engine_decides_as_a_plain_scan(
        maps in prop::collection::vec(map_spec(), 1..30),
        page in 0..URLS.len(),
        earlier in prop::collection::vec((0usize..30, prop::sample::select(vec![State::Qualified, State::Offered, State::Rejected])), 0..6),
        raw in any::<u128>(),
    ) {
        let catalog = catalog(&maps);
        prop_assert!(catalog.is_ok(), "the generated catalog is invalid: {:?}", catalog.err());
        let catalog = catalog.unwrap();
        let session = id(0xf, 1);
        // Maps tried earlier in the session: qualified ones are tried again (and checked
        // against this page), offered ones are done.
        let history = History {
            actions: earlier
                .iter()
                .filter(|(n, _)| *n < maps.len())
                .map(|&(n, state)| PastAction {
                    action_map_id: id(0xa, n as u128),
                    action_map_version: None,
                    media_type: if maps[n].1 { MediaType::Webchat } else { MediaType::Contentoffer },
                    session_id: session,
                    state,
                    updated_at: Timestamp::from_unix_millis(NOW - 60_000),
                    offered_at: None,
                    answered_at: None,
                    engaged: false,
                })
                .collect(),
            ..History::default()
        };
        let customer = uuid::Builder::from_random_bytes(raw.to_be_bytes()).into_uuid();
        let (indexed, scan) = both(&catalog, URLS[page], &history, customer);
        prop_assert_eq!(indexed, scan);
    }
}

/// The property above would pass if no condition ever held or none ever failed: the URLs and
/// values it draws from must give both answers for each kind of index.
#[test]
fn the_generated_conditions_both_match_and_fail() {
    for (op, value_spec, url, offered) in [
        (
            "equal",
            (2, 0, true),
            "https://shop.example.com/pricing/pro?plan=pro",
            true,
        ),
        ("equal", (1, 0, false), "https://shop.example.com/", false),
        (
            "startsWith",
            (2, 20, false),
            "https://shop.example.com/pricing/pro",
            true,
        ),
        (
            "startsWith",
            (7, 20, true),
            "https://blog.example.com/p3/page1",
            true,
        ),
        // A non-ASCII value matches the page as the WHATWG parser writes it (percent-encoded),
        // ignoring case.
        (
            "containsAny",
            (6, 23, true),
            "https://example.org/caf%c3%a9",
            true,
        ),
        (
            "containsAny",
            (6, 23, true),
            "https://shop.example.com/",
            false,
        ),
        (
            "containsAny",
            (1, 30, false),
            "https://shop.example.com/pricing/pro",
            true,
        ),
        (
            "startsWith",
            (3, 25, false),
            "https://shop.example.com/pricing",
            false,
        ),
        (
            "notContainsAny",
            (7, 12, false),
            "https://blog.example.com/",
            false,
        ),
    ] {
        let spec: MapSpec = (
            0,
            true,
            2,
            false,
            vec![(
                OPERATORS.iter().position(|o| *o == op).unwrap(),
                vec![value_spec],
            )],
        );
        let catalog = catalog(&[spec]).unwrap();
        let (d, scan) = both(&catalog, url, &History::default(), id(0xe, 1));
        assert_eq!(
            d.offers.len() == 1,
            offered,
            "{op} {value_spec:?} on {url}: {d:?}"
        );
        assert_eq!(d, scan);
    }
}
