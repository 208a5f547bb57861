//! CloudEvents 1.0 structured JSON for log records, the format of the webhook sink.
//!
//! Why it exists: receivers (Knative, Azure Event Grid, Argo Events, plain HTTP handlers) already
//! know CloudEvents, so a Beckon record should be a well-formed CloudEvent and nothing else to
//! parse. This module only shapes events; the delivery guarantee is the webhook's (at least once,
//! in order), and `id` (the record's `eventId`) is what receivers deduplicate on.
//!
//! | attribute | value |
//! |---|---|
//! | `specversion` | `"1.0"` |
//! | `id` | the record's `eventId` |
//! | `source` | `/beckon/deployments/<deploymentId>` |
//! | `type` | `dev.beckon.webaction.<state>`, `dev.beckon.blocked` or `dev.beckon.webevent` |
//! | `subject` | the `actionId`, for action events |
//! | `time` | the event's `timestamp` |
//! | `datacontenttype` | `application/json` |
//! | `data` | the event object (spec 4.3 for action events) |
//! | `beckonseq` | the log sequence number, as a string (CloudEvents integers are 32-bit) |
//! | `beckondeployment` | the deployment id |

use serde_json::{Value, json};

use crate::record::{LogRecord, Payload};

/// The media type of a CloudEvents JSON batch.
pub const BATCH_CONTENT_TYPE: &str = "application/cloudevents-batch+json";

/// The CloudEvents `type` of a record.
pub fn event_type(payload: &Payload) -> String {
    match payload {
        Payload::Action(e) => format!("dev.beckon.webaction.{}", e.action_state),
        Payload::Blocked(_) => "dev.beckon.blocked".to_owned(),
        Payload::Web(_) => "dev.beckon.webevent".to_owned(),
    }
}

/// One record as a structured-mode CloudEvent.
pub fn event(record: &LogRecord) -> Value {
    let mut event = json!({
        "specversion": "1.0",
        "id": record.payload.event_id().to_string(),
        "source": format!("/beckon/deployments/{}", record.deployment_id),
        "type": event_type(&record.payload),
        "time": record.payload.timestamp().to_string(),
        "datacontenttype": "application/json",
        "data": record.payload.event_json(),
        "beckonseq": record.seq.to_string(),
        "beckondeployment": record.deployment_id.to_string(),
    });
    if let Payload::Action(e) = &record.payload {
        event["subject"] = Value::String(e.action_id.to_string());
    }
    event
}

/// A batch of records as a CloudEvents JSON batch (a JSON array of events).
pub fn batch(records: &[std::sync::Arc<LogRecord>]) -> Vec<u8> {
    let events: Vec<Value> = records.iter().map(|r| event(r)).collect();
    serde_json::to_vec(&events).expect("JSON values serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::sinks::testing;
    use beckon_core::State;
    use uuid::Uuid;

    #[test]
    fn action_event_attributes() {
        let r = testing::action(42, Uuid::new_v4(), State::Offered);
        let Payload::Action(a) = &r.payload else {
            unreachable!()
        };
        let e = event(&r);
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["id"], a.event_id.to_string());
        assert_eq!(
            e["source"],
            format!("/beckon/deployments/{}", testing::DEPLOYMENT)
        );
        assert_eq!(e["type"], "dev.beckon.webaction.offered");
        assert_eq!(e["subject"], a.action_id.to_string());
        assert_eq!(e["time"], a.timestamp.to_string());
        assert_eq!(e["datacontenttype"], "application/json");
        assert_eq!(e["data"], serde_json::to_value(a).unwrap());
        assert_eq!(e["data"]["actionState"], "offered");
        assert_eq!(e["beckonseq"], "42");
        assert_eq!(e["beckondeployment"], testing::DEPLOYMENT.to_string());
        // Extension names: lower-case letters and digits only (CloudEvents 1.0, attribute naming).
        for key in e.as_object().unwrap().keys() {
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{key}"
            );
        }
    }

    #[test]
    fn blocked_offers_have_no_subject() {
        let e = event(&testing::blocked(1, Uuid::new_v4()));
        assert_eq!(e["type"], "dev.beckon.blocked");
        assert!(e.get("subject").is_none());
        assert_eq!(e["data"]["reason"], "FrequencyCapping");
    }

    #[test]
    fn batch_is_an_array_in_order() {
        let c = Uuid::new_v4();
        let records = vec![
            testing::action(1, c, State::Qualified),
            testing::action(2, c, State::Offered),
        ];
        let body: Value = serde_json::from_slice(&batch(&records)).unwrap();
        let seqs: Vec<_> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["beckonseq"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(seqs, ["1", "2"]);
    }
}
