//! Runs the shared topic vectors (`testdata/topics.json`) against `Topic`.

use beckon_core::{MediaType, State, Topic, TopicErrorKind};
use serde::Deserialize;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/topics.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    #[allow(dead_code)]
    description: String,
    valid: Vec<Valid>,
    invalid: Vec<Invalid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Valid {
    topic: String,
    media: MediaType,
    state: Option<State>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Invalid {
    topic: String,
    kind: TopicErrorKind,
    suggestion: Option<String>,
    #[allow(dead_code)]
    note: Option<String>,
}

fn vectors() -> Vectors {
    let text = std::fs::read_to_string(PATH).expect("read testdata/topics.json");
    serde_json::from_str(&text).expect("parse testdata/topics.json")
}

#[test]
fn every_valid_topic_parses_and_prints_back() {
    let v = vectors();
    assert_eq!(v.valid.len(), 30);
    let listed: Vec<String> = v.valid.iter().map(|t| t.topic.clone()).collect();
    let all: Vec<String> = Topic::all_valid().map(|t| t.to_string()).collect();
    assert_eq!(listed, all, "the vectors list every valid topic, in order");
    for t in v.valid {
        let topic: Topic = t
            .topic
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", t.topic));
        assert_eq!(topic.media, t.media, "{}", t.topic);
        assert_eq!(topic.state, t.state, "{}", t.topic);
        assert_eq!(topic.to_string(), t.topic);
        let json = serde_json::to_string(&topic).unwrap();
        assert_eq!(serde_json::from_str::<Topic>(&json).unwrap(), topic);
    }
}

#[test]
fn every_invalid_topic_is_refused_with_its_kind_and_suggestion() {
    let mut failures = Vec::new();
    for t in vectors().invalid {
        match t.topic.parse::<Topic>() {
            Ok(topic) => failures.push(format!("{:?} parsed as {topic}", t.topic)),
            Err(e) => {
                let suggestion = e.suggestion.map(|s| s.to_string());
                if e.kind != t.kind || suggestion != t.suggestion {
                    failures.push(format!(
                        "{:?}: expected {:?} / {:?}, got {:?} / {:?}",
                        t.topic, t.kind, t.suggestion, e.kind, suggestion
                    ));
                }
                assert_eq!(e.topic, t.topic);
                let message = e.to_string();
                // The message lists the valid forms, and the suggestion if there is one.
                assert!(message.contains("'<mediaType>:all'"), "{message}");
                if let Some(s) = &t.suggestion {
                    assert!(
                        message.contains(&format!("did you mean '{s}'")),
                        "{message}"
                    );
                }
                assert!(serde_json::from_value::<Topic>(serde_json::json!(t.topic)).is_err());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
