//! What the durable event log holds: action events, blocked offers and web events, each with
//! the sequence number the log gave it.
//!
//! The record's topic (`webchat:offered`, `contentoffer:blocked`, `web:page_viewed`) is what live
//! streams, log reads and sinks filter on, with the same syntax as the browser's topics.

use std::sync::Arc;

use beckon_core::{ActionEvent, BlockedOffer, Timestamp};
use serde::Serialize;
use uuid::Uuid;

/// The length of a value's compact JSON text, counted without building the text: what bounds an
/// event at ingestion and a sink's request by bytes.
pub fn json_len(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail, nor can serializing these types (string keys only).
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

use crate::config::StreamTopic;
use crate::ingest::WebEvent;

/// One entry of the event log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRecord {
    /// Position in the log: strictly increasing, never reused.
    pub seq: u64,
    pub deployment_id: Uuid,
    /// When the server committed it.
    pub recorded_at: Timestamp,
    #[serde(flatten)]
    pub payload: Payload,
}

/// The three kinds of record.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", content = "event", rename_all = "lowercase")]
pub enum Payload {
    Action(ActionEvent),
    Blocked(BlockedOffer),
    Web(Arc<WebEvent>),
}

impl Payload {
    /// The topic this record is filed under.
    pub fn topic(&self) -> StreamTopic {
        match self {
            Payload::Action(e) => StreamTopic::Action(beckon_core::Topic::exact(
                e.action_media_type,
                e.action_state,
            )),
            Payload::Blocked(b) => StreamTopic::Blocked(b.action_media_type),
            Payload::Web(w) => StreamTopic::Web(Some(w.event_name.clone())),
        }
    }

    /// The customer the record is about; sinks keep order per customer.
    pub fn customer_id(&self) -> Uuid {
        match self {
            Payload::Action(e) => e.customer_id,
            Payload::Blocked(b) => b.customer_id,
            Payload::Web(w) => w.customer_cookie_id,
        }
    }

    /// The record's own unique id, the key for deduplication downstream.
    pub fn event_id(&self) -> Uuid {
        match self {
            Payload::Action(e) => e.event_id,
            Payload::Blocked(b) => b.event_id,
            Payload::Web(w) => w.event_id,
        }
    }

    /// When the thing the record describes happened.
    pub fn timestamp(&self) -> Timestamp {
        match self {
            Payload::Action(e) => e.timestamp,
            Payload::Blocked(b) => b.timestamp,
            Payload::Web(w) => w.created_date,
        }
    }

    /// The body alone: for an action event exactly the spec 4.3 object.
    pub fn event(&self) -> EventBody<'_> {
        match self {
            Payload::Action(e) => EventBody::Action(e),
            Payload::Blocked(b) => EventBody::Blocked(b),
            Payload::Web(w) => EventBody::Web(w),
        }
    }

    /// [`Payload::event`] as a JSON value.
    pub fn event_json(&self) -> serde_json::Value {
        serde_json::to_value(self.event()).expect("records serialize")
    }

    /// [`Payload::event`] as JSON text.
    pub fn event_text(&self) -> String {
        serde_json::to_string(&self.event()).expect("records serialize")
    }
}

/// A record's body, serialized without the record's envelope.
#[derive(Serialize)]
#[serde(untagged)]
pub enum EventBody<'a> {
    Action(&'a ActionEvent),
    Blocked(&'a BlockedOffer),
    Web(&'a WebEvent),
}

/// Which records a reader wants: any of the topics, or everything when there are none; of some
/// deployments, or of all when there are none. A store applies both in its query, so that a read
/// that skips most of the log does not return it to be skipped here.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    topics: Vec<StreamTopic>,
    deployments: Vec<Uuid>,
}

impl Filter {
    pub fn new(topics: Vec<StreamTopic>) -> Filter {
        Filter {
            topics,
            deployments: Vec::new(),
        }
    }

    /// This filter, for the records of these deployments only (of all, when there are none).
    pub fn of_deployments(self, deployments: &[Uuid]) -> Filter {
        Filter {
            deployments: deployments.to_vec(),
            ..self
        }
    }

    /// Whether a record's payload passes the topics (the deployment aside).
    pub fn accepts(&self, payload: &Payload) -> bool {
        self.topics.is_empty() || self.topics.iter().any(|t| t.covers(payload))
    }

    /// Whether a record passes the filter: its deployment and its topics.
    pub fn selects(&self, record: &LogRecord) -> bool {
        (self.deployments.is_empty() || self.deployments.contains(&record.deployment_id))
            && self.accepts(&record.payload)
    }

    pub fn topics(&self) -> &[StreamTopic] {
        &self.topics
    }

    /// The deployments whose records pass; every deployment's when there are none.
    pub fn deployments(&self) -> &[Uuid] {
        &self.deployments
    }
}

impl StreamTopic {
    /// Whether this topic selects the record.
    pub fn covers(&self, payload: &Payload) -> bool {
        match (self, payload) {
            (StreamTopic::Action(t), Payload::Action(e)) => {
                t.matches(e.action_media_type, e.action_state)
            }
            (StreamTopic::Blocked(m), Payload::Blocked(b)) => *m == b.action_media_type,
            (StreamTopic::Web(None), Payload::Web(_)) => true,
            (StreamTopic::Web(Some(name)), Payload::Web(w)) => *name == w.event_name,
            _ => false,
        }
    }
}
