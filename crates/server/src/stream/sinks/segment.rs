//! The Segment sink: `track` calls sent in batches to Segment's tracking API.
//!
//! Why it exists: Segment fans events out to hundreds of tools (warehouses, CRMs, ad platforms),
//! so one sink reaches them all.
//!
//! Delivery guarantee: at least once, in log order. A batch goes out as one or more
//! `POST /v1/batch` requests (each under Segment's 500 KB limit), one after the other, each a
//! part of the batch for the runner ([`Sink::parts`]): only a failed request is retried, and a
//! refused one is sent again one record at a time by the runner, so that only the records
//! Segment refuses alone are dead-lettered. Segment deduplicates on `messageId`, which is the
//! record's `eventId`, so repeats do not count twice.
//!
//! Shape: `{"batch": [{"type": "track", "event": "webchat_offered", "anonymousId": customerId,
//! "messageId": eventId, "timestamp": ..., "properties": {the event object}}]}`, authenticated
//! with HTTP Basic (the write key as user name, no password).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Failure, Sink, analytics_name};
use crate::record::LogRecord;

/// Segment refuses batch requests above 500 KB; stay under with room for the envelope.
pub const MAX_REQUEST_BYTES: usize = 450 * 1024;

/// Sends `track` calls to Segment.
pub struct Segment {
    client: reqwest::Client,
    endpoint: String,
    write_key: String,
}

impl Segment {
    pub fn new(client: reqwest::Client, endpoint: String, write_key: String) -> Segment {
        Segment {
            client,
            endpoint,
            write_key,
        }
    }
}

/// One record as a Segment `track` call.
pub fn track(record: &LogRecord) -> Value {
    let mut properties = record.payload.event_json();
    if let Value::Object(p) = &mut properties {
        p.insert("beckonSeq".into(), json!(record.seq));
        p.insert(
            "deploymentId".into(),
            json!(record.deployment_id.to_string()),
        );
    }
    json!({
        "type": "track",
        "event": analytics_name(&record.payload),
        "anonymousId": record.payload.customer_id().to_string(),
        "messageId": record.payload.event_id().to_string(),
        "timestamp": record.payload.timestamp().to_string(),
        "properties": properties,
        "context": { "library": { "name": "beckon", "version": env!("CARGO_PKG_VERSION") } },
    })
}

/// The envelope of a request body, around its calls: `{"batch":[…]}`.
const ENVELOPE: usize = r#"{"batch":[]}"#.len();

/// The request bodies for a batch, in log order, each under `max_bytes` when serialized (a call
/// larger than that alone).
pub fn bodies(batch: &[Arc<LogRecord>], max_bytes: usize) -> Vec<Vec<u8>> {
    let calls: Vec<Vec<u8>> = batch
        .iter()
        .map(|r| serde_json::to_vec(&track(r)).expect("JSON values serialize"))
        .collect();
    let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
    super::runs_within(&sizes, ENVELOPE, max_bytes)
        .into_iter()
        .map(|run| {
            let mut body = br#"{"batch":["#.to_vec();
            body.extend_from_slice(&calls[run].join(&b","[..]));
            body.extend_from_slice(b"]}");
            body
        })
        .collect()
}

#[async_trait]
impl Sink for Segment {
    async fn deliver(&self, batch: &[Arc<LogRecord>]) -> Result<(), Failure> {
        for body in bodies(batch, MAX_REQUEST_BYTES) {
            let request = self
                .client
                .post(&self.endpoint)
                .basic_auth(&self.write_key, Some(""))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            super::send(request).await?;
        }
        Ok(())
    }

    /// One part per request body (see [`bodies`]).
    fn parts(&self, batch: &[Arc<LogRecord>]) -> Vec<std::ops::Range<usize>> {
        let sizes: Vec<usize> = batch
            .iter()
            .map(|r| crate::record::json_len(&track(r)))
            .collect();
        super::runs_within(&sizes, ENVELOPE, MAX_REQUEST_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Payload;
    use crate::stream::sinks::testing;
    use beckon_core::State;
    use uuid::Uuid;

    #[test]
    fn track_shape() {
        let customer = Uuid::new_v4();
        let r = testing::action(9, customer, State::Offered);
        let Payload::Action(a) = &r.payload else {
            unreachable!()
        };
        let t = track(&r);
        assert_eq!(t["type"], "track");
        assert_eq!(t["event"], "webchat_offered");
        assert_eq!(t["anonymousId"], customer.to_string());
        assert_eq!(t["messageId"], a.event_id.to_string());
        assert_eq!(t["timestamp"], a.timestamp.to_string());
        assert_eq!(t["properties"]["actionId"], a.action_id.to_string());
        assert_eq!(t["properties"]["actionState"], "offered");
        assert_eq!(t["properties"]["beckonSeq"], 9);
    }

    #[test]
    fn bodies_stay_under_the_limit_in_order() {
        let c = Uuid::new_v4();
        let batch: Vec<_> = (1..=10)
            .map(|s| testing::action(s, c, State::Offered))
            .collect();
        let one = serde_json::to_vec(&track(&batch[0])).unwrap().len();
        let limit = one * 3 + 20;
        let bodies = bodies(&batch, limit);
        assert_eq!(bodies.len(), 4);
        let mut seqs = Vec::new();
        for body in &bodies {
            assert!(body.len() <= limit, "{} > {limit}", body.len());
            let v: Value = serde_json::from_slice(body).unwrap();
            for call in v["batch"].as_array().unwrap() {
                seqs.push(call["properties"]["beckonSeq"].as_u64().unwrap());
            }
        }
        assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
        // Everything fits in one request at the real limit.
        assert_eq!(super::bodies(&batch, MAX_REQUEST_BYTES).len(), 1);
    }
}
