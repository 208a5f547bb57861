//! The GA4 sink: Google Analytics 4 Measurement Protocol events (`webchat_offered`, …).
//!
//! Why it exists: offers, acceptances and chats belong in the same analytics as the rest of the
//! site, so that funnels and conversions can use them.
//!
//! Delivery guarantee: at least once, in log order. The Measurement Protocol takes one `client_id`
//! and at most 25 events per request, so a batch becomes one request per run of consecutive records
//! of the same customer, cut every 25 events; requests go out one after the other in log order.
//! Each request is a part of the batch for the runner ([`Sink::parts`]): it has the sink's timeout
//! to itself, only it is retried when it fails (a refused request of several events is sent again
//! one event at a time by the runner: the events before the one GA4 refuses alone are delivered,
//! that one and the customer's later ones dead-lettered), and the cursor moves past it once GA4
//! accepted it. GA4 does not deduplicate, so an accepted request is never sent again, except the
//! one in flight at a crash or a timeout (GA4 may have taken it before the answer was lost); every
//! event carries `event_id` for reports that need exactness.
//!
//! Names: `<mediaType>_<state>` for action events, `<mediaType>_blocked` (with a `reason`
//! parameter) for blocked offers, `web_<eventName>` for web events; parameters are snake_case.
//! Every event has `deployment_id`, so that one property fed by several sites tells them apart.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::{Failure, Sink, analytics_name};
use crate::record::{LogRecord, Payload};

/// The most events GA4 takes in one request.
pub const MAX_EVENTS: usize = 25;
/// GA4 drops parameter values longer than this.
const MAX_VALUE_CHARS: usize = 100;

/// Sends events to the GA4 Measurement Protocol.
pub struct Ga4 {
    client: reqwest::Client,
    endpoint: String,
    measurement_id: String,
    api_secret: String,
}

impl Ga4 {
    pub fn new(
        client: reqwest::Client,
        endpoint: String,
        measurement_id: String,
        api_secret: String,
    ) -> Ga4 {
        Ga4 {
            client,
            endpoint,
            measurement_id,
            api_secret,
        }
    }

    fn url(&self) -> Result<reqwest::Url, Failure> {
        let mut url = reqwest::Url::parse(&self.endpoint).map_err(|e| {
            Failure::Permanent(format!(
                "the endpoint '{}' is not a URL: {e}",
                self.endpoint
            ))
        })?;
        url.query_pairs_mut()
            .append_pair("measurement_id", &self.measurement_id)
            .append_pair("api_secret", &self.api_secret);
        Ok(url)
    }
}

fn text(value: &str) -> Value {
    Value::String(value.chars().take(MAX_VALUE_CHARS).collect())
}

/// One record as a GA4 event.
pub fn event(record: &LogRecord) -> Value {
    let mut params = Map::new();
    let mut put = |key: &str, value: Value| {
        params.insert(key.to_owned(), value);
    };
    match &record.payload {
        Payload::Action(e) => {
            put("action_id", text(&e.action_id.to_string()));
            put("action_map_id", text(&e.action_map_id.to_string()));
            put("action_map_version", json!(e.action_map_version));
            put("action_media_type", text(e.action_media_type.as_str()));
            put("action_state", text(e.action_state.as_str()));
            put("session_id", text(&e.session_id.to_string()));
            if let Some(error) = &e.error {
                put("error_code", json!(error.code));
                put("error_message", text(&error.message));
            }
        }
        Payload::Blocked(b) => {
            put("action_map_id", text(&b.action_map_id.to_string()));
            put("action_map_version", json!(b.action_map_version));
            put("action_media_type", text(b.action_media_type.as_str()));
            put("reason", text(&b.reason.to_string()));
            put("session_id", text(&b.session_id.to_string()));
        }
        Payload::Web(w) => {
            put("page_location", text(&w.page.url));
            put("page_title", text(&w.page.title));
            if let Some(session) = w.session_id {
                put("session_id", text(&session.to_string()));
            }
        }
    }
    put("event_id", text(&record.payload.event_id().to_string()));
    put("deployment_id", text(&record.deployment_id.to_string()));
    put("engagement_time_msec", json!(1));
    json!({
        "name": analytics_name(&record.payload),
        "params": params,
        "timestamp_micros": record.payload.timestamp().unix_millis() * 1000,
    })
}

/// The requests a batch needs: runs of one customer, at most 25 events each, in log order.
fn runs(batch: &[Arc<LogRecord>]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < batch.len() {
        let customer = batch[start].payload.customer_id();
        let mut end = start + 1;
        while end < batch.len()
            && end - start < MAX_EVENTS
            && batch[end].payload.customer_id() == customer
        {
            end += 1;
        }
        runs.push(start..end);
        start = end;
    }
    runs
}

/// The request bodies for a batch, one per run (see `runs`).
pub fn bodies(batch: &[Arc<LogRecord>]) -> Vec<Value> {
    runs(batch)
        .into_iter()
        .map(|run| {
            json!({
                "client_id": batch[run.start].payload.customer_id().to_string(),
                "events": batch[run].iter().map(|r| event(r)).collect::<Vec<_>>(),
            })
        })
        .collect()
}

#[async_trait]
impl Sink for Ga4 {
    async fn deliver(&self, batch: &[Arc<LogRecord>]) -> Result<(), Failure> {
        let url = self.url()?;
        // The runner gives one run at a time; a replayed dead letter may hold several.
        for body in bodies(batch) {
            super::send(self.client.post(url.clone()).json(&body)).await?;
        }
        Ok(())
    }

    fn parts(&self, batch: &[Arc<LogRecord>]) -> Vec<Range<usize>> {
        runs(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::sinks::testing;
    use beckon_core::State;
    use uuid::Uuid;

    #[test]
    fn splits_per_customer_and_by_25_keeping_order() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut batch = Vec::new();
        for seq in 1..=30 {
            batch.push(testing::action(seq, a, State::Offered));
        }
        batch.push(testing::action(31, b, State::Qualified));
        batch.push(testing::action(32, a, State::Accepted));
        let bodies = bodies(&batch);
        let shape: Vec<(String, usize)> = bodies
            .iter()
            .map(|b| {
                (
                    b["client_id"].as_str().unwrap().to_owned(),
                    b["events"].as_array().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (a.to_string(), 25),
                (a.to_string(), 5),
                (b.to_string(), 1),
                (a.to_string(), 1)
            ]
        );
        // Log order is kept across the requests.
        let ids: Vec<String> = bodies
            .iter()
            .flat_map(|b| b["events"].as_array().unwrap().clone())
            .map(|e| e["params"]["event_id"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = batch
            .iter()
            .map(|r| r.payload.event_id().to_string())
            .collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn event_shape() {
        let r = testing::action(5, Uuid::new_v4(), State::Errored);
        let Payload::Action(a) = &r.payload else {
            unreachable!()
        };
        let e = event(&r);
        assert_eq!(e["name"], "webchat_errored");
        assert_eq!(e["timestamp_micros"], a.timestamp.unix_millis() * 1000);
        let p = &e["params"];
        assert_eq!(p["action_id"], a.action_id.to_string());
        assert_eq!(p["action_map_id"], a.action_map_id.to_string());
        assert_eq!(p["action_map_version"], 3);
        assert_eq!(p["session_id"], a.session_id.to_string());
        assert_eq!(p["event_id"], a.event_id.to_string());
        assert_eq!(p["deployment_id"], testing::DEPLOYMENT.to_string());
        assert_eq!(p["error_code"], 7);
        assert_eq!(p["error_message"], "the widget did not load");
        for key in p.as_object().unwrap().keys() {
            assert!(key.len() <= 40 && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }

        let e = event(&testing::blocked(6, Uuid::new_v4()));
        assert_eq!(e["name"], "contentoffer_blocked");
        assert_eq!(e["params"]["reason"], "FrequencyCapping");
        assert!(e["params"].get("action_id").is_none());
    }

    #[test]
    fn credentials_go_in_the_query() {
        let sink = Ga4::new(
            testing::client(),
            "http://127.0.0.1:9/mp/collect".into(),
            "G-TEST".into(),
            "se cret".into(),
        );
        assert_eq!(
            sink.url().unwrap().as_str(),
            "http://127.0.0.1:9/mp/collect?measurement_id=G-TEST&api_secret=se+cret"
        );
    }
}
