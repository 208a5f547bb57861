//! Runs `testdata/decisions.json` (spec section 6) against beckon-core's decision engine.

use beckon_core::decide::{Availability, History, JourneyEvent, Page, Settings, Visit};
use beckon_core::model::{ActionMap, ActionTemplate, Catalog, JourneySegment, ScheduleGroup};
use beckon_core::{DecisionInput, ValidationError, decide};
use serde_json::{Map, Value};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/decisions.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read decisions.json"))
        .expect("decisions.json is JSON")
}

fn list<T: serde::de::DeserializeOwned>(catalog: &Value, key: &str) -> Vec<T> {
    catalog
        .get(key)
        .map(|v| serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{key}: {e}")))
        .unwrap_or_default()
}

fn build(catalog: &Value) -> Result<Catalog, Vec<ValidationError>> {
    Catalog::build(
        list::<ActionMap>(catalog, "actionMaps"),
        list::<JourneySegment>(catalog, "segments"),
        list::<ActionTemplate>(catalog, "actionTemplates"),
        list::<ScheduleGroup>(catalog, "scheduleGroups"),
    )
}

fn field<T: serde::de::DeserializeOwned + Default>(case: &Value, key: &str) -> T {
    case.get(key)
        .map(|v| serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{key}: {e}")))
        .unwrap_or_default()
}

/// The visit: derived from `pageUrl` / `referrerUrl`, then the keys of `visit` laid over it.
fn visit(case: &Value) -> Visit {
    let base = Visit::from_urls(
        case["pageUrl"].as_str().expect("pageUrl"),
        None,
        case.get("referrerUrl").and_then(Value::as_str),
    );
    let mut v = serde_json::to_value(base).unwrap();
    if let Some(Value::Object(over)) = case.get("visit") {
        let obj: &mut Map<String, Value> = v.as_object_mut().unwrap();
        for (k, val) in over {
            obj.insert(k.clone(), val.clone());
        }
    }
    serde_json::from_value(v).expect("visit")
}

#[test]
fn decision_cases() {
    let doc = vectors();
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() > 100);
    let mut failures = Vec::new();
    for case in cases {
        let description = case["description"].as_str().unwrap();
        let catalog = build(&case["catalog"])
            .unwrap_or_else(|e| panic!("{description}: catalog is invalid: {e:?}"));
        let visit = visit(case);
        let mut journey: Vec<JourneyEvent> = field(case, "journey");
        // Event pages may give only `url` (and `title`): the rest is derived as for the visit.
        for e in &mut journey {
            if let Some(p) = &mut e.page
                && p.hostname.is_none()
                && let Some(full) = Page::from_url(&p.url, p.title.as_deref())
            {
                *p = full;
            }
        }
        let history: History = field(case, "history");
        let availability: Availability = field(case, "availability");
        let settings: Settings = field(case, "settings");
        let input = DecisionInput {
            customer_id: serde_json::from_value(case["customerId"].clone()).unwrap(),
            session_id: serde_json::from_value(case["sessionId"].clone()).unwrap(),
            now: serde_json::from_value(case["now"].clone()).unwrap(),
            visit: &visit,
            journey: &journey,
            history: &history,
            availability,
            settings: &settings,
        };
        let decision = serde_json::to_value(decide(&catalog, &input)).unwrap();
        // Deciding twice gives the same answer.
        assert_eq!(
            serde_json::to_value(decide(&catalog, &input)).unwrap(),
            decision
        );
        let expect = case["expect"].as_object().expect("expect");
        for key in ["offers", "scheduled", "qualified", "blocked"] {
            let want = expect.get(key).cloned().unwrap_or(Value::Array(vec![]));
            if decision[key] != want {
                failures.push(format!(
                    "{description}\n  {key}: got {}\n  {key}: want {}",
                    decision[key], want
                ));
            }
        }
        for key in ["pending", "segments", "assignments"] {
            if let Some(want) = expect.get(key)
                && decision[key] != *want
            {
                failures.push(format!(
                    "{description}\n  {key}: got {}\n  {key}: want {}",
                    decision[key], want
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing decision cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_catalogs() {
    let doc = vectors();
    let mut failures = Vec::new();
    for case in doc["invalid"].as_array().expect("invalid") {
        let description = case["description"].as_str().unwrap();
        let want = case["errors"].as_array().unwrap();
        let got = match build(&case["catalog"]) {
            Ok(_) => Vec::new(),
            Err(errors) => errors,
        };
        let ok = got.len() == want.len()
            && got.iter().zip(want).all(|(g, w)| {
                g.field == w["field"].as_str().unwrap()
                    && g.reason.contains(w["reasonContains"].as_str().unwrap())
            });
        if !ok {
            failures.push(format!("{description}\n  got {got:#?}\n  want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
