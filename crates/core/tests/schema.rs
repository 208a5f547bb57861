//! The JSON Schema of the event object (`schema/action-event.schema.json`, spec 4.3) and the Rust
//! type `ActionEvent` describe the same objects: everything the type writes is valid, every broken
//! object below is refused by both, and accepted JSON round-trips unchanged.

use std::sync::LazyLock;

use beckon_core::{ActionError, ActionEvent, MediaType, State, Timestamp};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

const SCHEMA_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schema/action-event.schema.json"
);

static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(SCHEMA_PATH).expect("read the schema");
    serde_json::from_str(&text).expect("the schema is JSON")
});

static VALIDATOR: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| jsonschema::draft202012::new(&SCHEMA).expect("the schema compiles"));

fn schema_errors(instance: &Value) -> Vec<String> {
    VALIDATOR
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn v4(seed: u128) -> Uuid {
    uuid::Builder::from_random_bytes(
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
            .to_le_bytes(),
    )
    .into_uuid()
}

fn event(media: MediaType, state: State, seed: u128) -> ActionEvent {
    ActionEvent {
        action_id: v4(seed),
        action_state: state,
        action_media_type: media,
        action_map_id: v4(seed + 1),
        action_map_version: (seed % 7) as u32,
        customer_id: v4(seed + 2),
        session_id: v4(seed + 3),
        error: (state == State::Errored).then(|| ActionError {
            code: 500 + seed as i64,
            message: format!("could not show the invitation ({seed})").into(),
        }),
        event_id: v4(seed + 4),
        timestamp: Timestamp::from_unix_millis(1_795_903_727_123 + seed as i64 * 1_001),
    }
}

/// An event valid in both the schema and the Rust type, as JSON.
fn sample(state: &str) -> Value {
    let mut v = json!({
        "actionId": "0b7e2c4a-5f1d-4c3b-9a8e-1d2c3b4a5f6e",
        "actionState": state,
        "actionMediaType": "webchat",
        "actionMapId": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b",
        "actionMapVersion": 3,
        "customerId": "c0ffee00-1234-4abc-bdef-0123456789ab",
        "customerIdType": "cookie",
        "sessionId": "5e55a0b1-aaaa-4bbb-8ccc-ddddeeeeffff",
        "eventId": "e0e0e0e0-0000-4000-a000-000000000001",
        "timestamp": "2026-11-28T21:55:27.123Z"
    });
    if state == "errored" {
        v["errorCode"] = json!(42);
        v["errorMessage"] = json!("the chat service is unavailable");
    }
    v
}

const FIELDS: [&str; 12] = [
    "actionId",
    "actionState",
    "actionMediaType",
    "actionMapId",
    "actionMapVersion",
    "customerId",
    "customerIdType",
    "sessionId",
    "errorCode",
    "errorMessage",
    "eventId",
    "timestamp",
];

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    assert!(
        jsonschema::meta::is_valid(&SCHEMA),
        "not a valid JSON Schema"
    );
    assert_eq!(
        SCHEMA["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    // The enums in the schema are exactly the Rust ones, in spec order.
    let states: Vec<&str> = State::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(SCHEMA["properties"]["actionState"]["enum"], json!(states));
    let media: Vec<&str> = MediaType::ALL.iter().map(|m| m.as_str()).collect();
    assert_eq!(
        SCHEMA["properties"]["actionMediaType"]["enum"],
        json!(media)
    );
    // Every spec field is described, and nothing else.
    let mut described: Vec<&str> = SCHEMA["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    described.sort_unstable();
    let mut expected = FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(described, expected);
}

#[test]
fn every_state_of_both_media_types_serializes_to_a_valid_event() {
    let mut seed = 0;
    for media in MediaType::ALL {
        for state in State::ALL {
            for _ in 0..3 {
                seed += 10;
                let e = event(media, state, seed);
                let v = serde_json::to_value(&e).unwrap();
                let errors = schema_errors(&v);
                assert!(errors.is_empty(), "{v}: {errors:?}");
                let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
                let expected: Vec<&str> = FIELDS
                    .iter()
                    .copied()
                    .filter(|f| state == State::Errored || !f.starts_with("error"))
                    .collect();
                let mut sorted = expected.clone();
                sorted.sort_unstable();
                assert_eq!(keys, sorted, "serde_json::Value sorts keys");
                assert_eq!(v["actionState"], json!(state.as_str()));
                assert_eq!(v["actionMediaType"], json!(media.as_str()));
                assert_eq!(v["customerIdType"], json!("cookie"));
                let back: ActionEvent = serde_json::from_value(v).unwrap();
                assert_eq!(back, e);
            }
        }
    }
}

#[test]
fn errored_events_with_edge_values_are_valid() {
    for (code, message) in [
        (0, ""),
        (-1, "négatif ✓"),
        (i64::MIN, "min"),
        (i64::MAX, "max"),
        (404, "line\nbreak \"quoted\" \u{0}"),
    ] {
        for media in MediaType::ALL {
            let mut e = event(media, State::Errored, 7);
            e.error = Some(ActionError {
                code,
                message: message.into(),
            });
            e.action_map_version = u32::MAX;
            let v = serde_json::to_value(&e).unwrap();
            assert!(schema_errors(&v).is_empty(), "{v}");
            assert_eq!(v["errorCode"], json!(code));
            assert_eq!(v["errorMessage"], json!(message));
            assert_eq!(serde_json::from_value::<ActionEvent>(v).unwrap(), e);
        }
    }
}

#[test]
fn a_new_event_keeps_its_error_message_within_the_bound_and_a_stored_one_still_reads() {
    let with = |message: String| {
        let mut v = sample("errored");
        v["errorMessage"] = json!(message);
        serde_json::from_value::<ActionEvent>(v).expect("reads")
    };
    let at_bound = with("é".repeat(beckon_core::event::MAX_ERROR_MESSAGE / 2));
    assert_eq!(at_bound.check_bounds(), Ok(()));
    let over = with("x".repeat(beckon_core::event::MAX_ERROR_MESSAGE + 1));
    let error = over.check_bounds().unwrap_err();
    assert_eq!(error.field, "errorMessage");
    assert!(error.reason.contains("at most 4096"), "{error}");
    assert_eq!(with("x".repeat(10)).check_bounds(), Ok(()));
    let mut offered = with(String::new());
    offered.error = None;
    assert_eq!(offered.check_bounds(), Ok(()));
}

#[test]
fn timestamps_at_the_edges_are_valid() {
    for (millis, text) in [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
    ] {
        let mut e = event(MediaType::Webchat, State::Offered, 1);
        e.timestamp = Timestamp::from_unix_millis(millis);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["timestamp"], json!(text));
        assert!(schema_errors(&v).is_empty(), "{v}");
        assert_eq!(serde_json::from_value::<ActionEvent>(v).unwrap(), e);
    }
}

#[test]
fn field_names_and_order_are_exactly_the_spec_ones() {
    let text = r#"{"actionId":"0b7e2c4a-5f1d-4c3b-9a8e-1d2c3b4a5f6e","actionState":"errored","actionMediaType":"contentoffer","actionMapId":"6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b","actionMapVersion":12,"customerId":"c0ffee00-1234-4abc-bdef-0123456789ab","customerIdType":"cookie","sessionId":"5e55a0b1-aaaa-4bbb-8ccc-ddddeeeeffff","errorCode":-3,"errorMessage":"image not found","eventId":"e0e0e0e0-0000-4000-a000-000000000001","timestamp":"2026-11-28T21:55:27.123Z"}"#;
    let e: ActionEvent = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_string(&e).unwrap(), text);
    assert!(schema_errors(&serde_json::from_str(text).unwrap()).is_empty());
    assert_eq!(e.action_state, State::Errored);
    assert_eq!(e.action_media_type, MediaType::Contentoffer);
    assert_eq!(e.action_map_version, 12);
    assert_eq!(e.error.as_ref().unwrap().code, -3);
    assert_eq!(&*e.error.as_ref().unwrap().message, "image not found");
    assert_eq!(e.timestamp, "2026-11-28T21:55:27.123Z".parse().unwrap());
}

#[test]
fn json_round_trips_unchanged_for_every_state() {
    for state in State::ALL {
        for media in ["webchat", "contentoffer"] {
            let mut v = sample(state.as_str());
            v["actionMediaType"] = json!(media);
            assert!(schema_errors(&v).is_empty(), "{v}");
            let text = serde_json::to_string(&v).unwrap();
            let e: ActionEvent = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_value(&e).unwrap(), v);
        }
    }
}

/// Objects that break spec 4.3, each refused by the schema and by `ActionEvent`.
fn broken() -> Vec<(String, Value)> {
    let mut cases: Vec<(String, Value)> = Vec::new();
    let mut add = |name: &str, state: &str, edit: &dyn Fn(&mut Value)| {
        let mut v = sample(state);
        edit(&mut v);
        cases.push((name.to_owned(), v));
    };
    for field in FIELDS {
        let state = if field.starts_with("error") {
            "errored"
        } else {
            "offered"
        };
        add(&format!("missing {field}"), state, &|v| {
            v.as_object_mut().unwrap().remove(field);
        });
    }
    add("errorCode on offered", "offered", &|v| {
        v["errorCode"] = json!(1)
    });
    add("errorMessage on offered", "offered", &|v| {
        v["errorMessage"] = json!("x")
    });
    add("both error fields on accepted", "accepted", &|v| {
        v["errorCode"] = json!(1);
        v["errorMessage"] = json!("x");
    });
    add("errorCode null on offered", "offered", &|v| {
        v["errorCode"] = Value::Null
    });
    add("errorMessage null on offered", "offered", &|v| {
        v["errorMessage"] = Value::Null
    });
    add("errorCode null on errored", "errored", &|v| {
        v["errorCode"] = Value::Null
    });
    add("errorCode is a string", "errored", &|v| {
        v["errorCode"] = json!("42")
    });
    add("errorCode is fractional", "errored", &|v| {
        v["errorCode"] = json!(4.5)
    });
    add("errorCode beyond i64", "errored", &|v| {
        v["errorCode"] = json!(u64::MAX)
    });
    add("errorMessage is a number", "errored", &|v| {
        v["errorMessage"] = json!(42)
    });
    add("customerIdType device", "offered", &|v| {
        v["customerIdType"] = json!("device")
    });
    add("customerIdType Cookie", "offered", &|v| {
        v["customerIdType"] = json!("Cookie")
    });
    add("customerIdType null", "offered", &|v| {
        v["customerIdType"] = Value::Null
    });
    add("extra field conversationId", "offered", &|v| {
        v["conversationId"] = json!("abc")
    });
    add("extra field with wrong case", "offered", &|v| {
        v["ActionId"] = v["actionId"].clone()
    });
    add("unknown state", "offered", &|v| {
        v["actionState"] = json!("shown")
    });
    add("state in wrong case", "offered", &|v| {
        v["actionState"] = json!("Offered")
    });
    add("media type admin spelling", "offered", &|v| {
        v["actionMediaType"] = json!("contentOffer")
    });
    add("unsupported media type", "offered", &|v| {
        v["actionMediaType"] = json!("webMessagingOffer")
    });
    add("actionMapVersion negative", "offered", &|v| {
        v["actionMapVersion"] = json!(-1)
    });
    add("actionMapVersion fractional", "offered", &|v| {
        v["actionMapVersion"] = json!(1.5)
    });
    add("actionMapVersion string", "offered", &|v| {
        v["actionMapVersion"] = json!("1")
    });
    add("actionMapVersion beyond u32", "offered", &|v| {
        v["actionMapVersion"] = json!(4_294_967_296u64)
    });
    for (what, id) in [
        ("upper case", "0B7E2C4A-5F1D-4C3B-9A8E-1D2C3B4A5F6E"),
        ("braced", "{0b7e2c4a-5f1d-4c3b-9a8e-1d2c3b4a5f6e}"),
        ("urn", "urn:uuid:0b7e2c4a-5f1d-4c3b-9a8e-1d2c3b4a5f6e"),
        ("not hyphenated", "0b7e2c4a5f1d4c3b9a8e1d2c3b4a5f6e"),
        ("version 1", "0b7e2c4a-5f1d-1c3b-9a8e-1d2c3b4a5f6e"),
        ("version 7", "0b7e2c4a-5f1d-7c3b-9a8e-1d2c3b4a5f6e"),
        ("NCS variant", "0b7e2c4a-5f1d-4c3b-7a8e-1d2c3b4a5f6e"),
        ("Microsoft variant", "0b7e2c4a-5f1d-4c3b-ca8e-1d2c3b4a5f6e"),
        ("nil", "00000000-0000-0000-0000-000000000000"),
        ("too short", "0b7e2c4a-5f1d-4c3b-9a8e-1d2c3b4a5f6"),
        ("empty", ""),
    ] {
        for field in [
            "actionId",
            "actionMapId",
            "customerId",
            "sessionId",
            "eventId",
        ] {
            add(&format!("{field} {what}"), "offered", &|v| {
                v[field] = json!(id)
            });
        }
    }
    for (what, ts) in [
        ("no milliseconds", "2026-11-28T21:55:27Z"),
        ("microseconds", "2026-11-28T21:55:27.123456Z"),
        ("one fractional digit", "2026-11-28T21:55:27.1Z"),
        ("offset", "2026-11-28T22:55:27.123+01:00"),
        ("zero offset", "2026-11-28T21:55:27.123+00:00"),
        ("lower case z", "2026-11-28T21:55:27.123z"),
        ("lower case t", "2026-11-28t21:55:27.123Z"),
        ("space separator", "2026-11-28 21:55:27.123Z"),
        ("month 13", "2026-13-28T21:55:27.123Z"),
        ("hour 24", "2026-11-28T24:00:00.000Z"),
        ("leap second", "2016-12-31T23:59:60.000Z"),
        ("date only", "2026-11-28"),
        ("unix millis as string", "1795903727123"),
    ] {
        add(&format!("timestamp {what}"), "offered", &|v| {
            v["timestamp"] = json!(ts)
        });
    }
    add("timestamp as a number", "offered", &|v| {
        v["timestamp"] = json!(1_795_903_727_123u64)
    });
    cases.push(("an array".into(), json!([sample("offered")])));
    cases.push(("null".into(), Value::Null));
    cases.push(("a string".into(), json!("webchat:offered")));
    cases
}

#[test]
fn broken_objects_are_refused_by_the_schema_and_by_the_rust_type() {
    let cases = broken();
    assert!(cases.len() > 100);
    for (name, v) in cases {
        assert!(
            !VALIDATOR.is_valid(&v),
            "schema accepted broken object ({name}): {v}"
        );
        let text = serde_json::to_string(&v).unwrap();
        assert!(
            serde_json::from_str::<ActionEvent>(&text).is_err(),
            "ActionEvent accepted broken object ({name}): {v}"
        );
    }
}

/// Where the two still differ, pinned down so that a change is noticed. Neither difference can
/// come from a Beckon producer: both write the canonical form.
#[test]
fn known_differences_between_schema_and_rust_type() {
    // A regular expression does not know month lengths: the schema takes 30 February, the Rust
    // type refuses it.
    let mut v = sample("offered");
    v["timestamp"] = json!("2026-02-30T00:00:00.000Z");
    assert!(VALIDATOR.is_valid(&v));
    assert!(serde_json::from_value::<ActionEvent>(v).is_err());
    // JSON Schema counts 3.0 as an integer; serde does not. JavaScript writes 3.0 as 3 anyway.
    let mut v = sample("offered");
    v["actionMapVersion"] = json!(3.0);
    assert!(VALIDATOR.is_valid(&v));
    assert!(serde_json::from_value::<ActionEvent>(v).is_err());
}

fn arb_event() -> impl Strategy<Value = ActionEvent> {
    (
        any::<[u128; 5]>(),
        prop::sample::select(State::ALL.to_vec()),
        prop::sample::select(MediaType::ALL.to_vec()),
        any::<u32>(),
        any::<i64>(),
        ".*",
        // Years 0000..=9999.
        -62_167_219_200_000i64..253_402_300_800_000,
    )
        .prop_map(|(ids, state, media, version, code, message, millis)| {
            let id = |n: u128| uuid::Builder::from_random_bytes(n.to_le_bytes()).into_uuid();
            ActionEvent {
                action_id: id(ids[0]),
                action_state: state,
                action_media_type: media,
                action_map_id: id(ids[1]),
                action_map_version: version,
                customer_id: id(ids[2]),
                session_id: id(ids[3]),
                error: (state == State::Errored).then(|| ActionError {
                    code,
                    message: message.into(),
                }),
                event_id: id(ids[4]),
                timestamp: Timestamp::from_unix_millis(millis),
            }
        })
}

proptest! {
    #[test]
    fn any_event_is_schema_valid_and_round_trips(e in arb_event()) {
        let v = serde_json::to_value(&e).unwrap();
        let errors = schema_errors(&v);
        prop_assert!(errors.is_empty(), "{} {:?}", v, errors);
        let text = serde_json::to_string(&e).unwrap();
        let back: ActionEvent = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &e);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }
}
