//! Storage seams: the event log that streams and sinks read, and the store that ingestion
//! commits to.
//!
//! The embedded implementation is SQLite ([`sqlite`]); PostgreSQL for state and NATS JetStream
//! for the log are meant to slot in behind the same traits. Ingestion needs one atomic step
//! ("check the lifecycle, append, update the action's state"), so that step is a single
//! [`Store::commit`] rather than separate calls.

pub mod chat;
pub mod migrations;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use beckon_core::decide::{JourneyEvent, PastAction, Pending, SegmentAssignment};
use beckon_core::{ActionEvent, BlockedOffer, Timestamp, TransitionError};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::ingest::WebEvent;
use crate::record::{Filter, LogRecord};

/// Records to commit together for one request: all or nothing.
#[derive(Debug, Clone)]
pub struct Submission {
    pub deployment_id: Uuid,
    pub items: Vec<Item>,
    /// What the request's decisions leave for the next ones (web events only).
    pub customers: Vec<CustomerUpdate>,
}

impl Submission {
    /// A submission of log records alone.
    pub fn records(deployment_id: Uuid, items: Vec<Item>) -> Submission {
        Submission {
            deployment_id,
            items,
            customers: Vec::new(),
        }
    }
}

/// One record to commit.
#[derive(Debug, Clone)]
pub enum Item {
    Action(ActionEvent),
    Blocked(BlockedOffer),
    Web(Arc<WebEvent>),
}

/// The decision state of one customer and session after a web event, committed with it.
#[derive(Debug, Clone)]
pub struct CustomerUpdate {
    pub customer_id: Uuid,
    pub session_id: Uuid,
    /// The session's events so far, folded (see [`CustomerContext::journey`]).
    pub journey: Vec<JourneyEvent>,
    /// The page of the session's latest page view and when the server received it.
    pub pageview: Option<(String, Timestamp)>,
    /// The actions answered to the session's pages to show now (see [`Answered`]).
    pub answered: Vec<Answered>,
    /// The customer's offers waiting for a delay, the next visit or the next session, and
    /// customer-scoped segment assignments, each replacing what was kept; `None` when the
    /// decision left both as its context read them (most visitors have neither: their customer
    /// row is then never written).
    pub customer: Option<(Vec<Pending>, Vec<SegmentAssignment>)>,
}

/// What the store knows of a customer and one of their sessions before a decision.
#[derive(Debug, Clone, Default)]
pub struct CustomerContext {
    /// The customer's actions with their latest state, each with its action id.
    pub actions: Vec<(Uuid, PastAction)>,
    pub pending: Vec<Pending>,
    pub segments: Vec<SegmentAssignment>,
    /// The session's events, identical ones folded into one with a count.
    pub journey: Vec<JourneyEvent>,
    pub pageview: Option<(String, Timestamp)>,
    pub answered: Vec<Answered>,
}

/// An action the server answered to a page of the session to show now, and when (the latest
/// time): from then it is on screen for the engine ([`PastAction::answered_at`]), before the
/// page reports `offered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answered {
    pub action_id: Uuid,
    pub at: Timestamp,
}

/// One admin API object (action map, template, segment, schedule group) as stored: its
/// collection (`actionmaps`, …), its id and its JSON body, server fields included.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    pub collection: String,
    pub id: Uuid,
    pub body: serde_json::Value,
}

/// One change to the admin objects.
#[derive(Debug, Clone)]
pub enum EntityChange {
    /// Insert, or replace the body of the object with this collection and id.
    Save(StoredEntity),
    Delete {
        collection: String,
        id: Uuid,
    },
}

/// What became of one item of a committed submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome {
    /// Appended to the log at this sequence number.
    Stored { seq: u64 },
    /// The same (actionId, state) was already stored; accepted, not stored again.
    Duplicate,
}

/// Why a submission was refused; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("item {index}: {error}")]
    Transition {
        index: usize,
        action_id: Uuid,
        error: TransitionError,
    },
    /// A state reported for an action this server never qualified: no lifecycle starts there.
    #[error("item {index}: action {action_id} was never qualified")]
    UnknownAction { index: usize, action_id: Uuid },
    #[error("item {index}: action {action_id} {reason}")]
    Mismatch {
        index: usize,
        action_id: Uuid,
        reason: String,
    },
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// A storage failure outside a submission.
#[derive(Debug, thiserror::Error)]
#[error("storage unavailable: {0}")]
pub struct StoreError(pub String);

/// A delivery that a sink gave up on; it can be replayed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub id: i64,
    pub sink: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub error: String,
    pub created_at: beckon_core::Timestamp,
    #[serde(skip)]
    pub records: Vec<Arc<LogRecord>>,
}

/// Reading the log: what streams, catch-up reads and sinks need.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Up to `limit` records with a sequence number above `after`, in order, that pass `filter`.
    async fn read(
        &self,
        after: u64,
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<Arc<LogRecord>>, StoreError>;

    /// The highest sequence number committed so far (0 for an empty log).
    fn head(&self) -> u64;

    /// Records as they are committed, in order. A receiver that falls behind gets `Lagged` and
    /// must catch up with [`EventLog::read`].
    fn subscribe(&self) -> broadcast::Receiver<Arc<LogRecord>>;
}

/// A queued submission's outcome, once its commit is durable (or refused).
pub type Committed = Pin<Box<dyn Future<Output = Result<Vec<Outcome>, CommitError>> + Send>>;

/// The whole store: the log, the state that goes with it, and web chat's records.
#[async_trait]
pub trait Store: EventLog + chat::ChatStore {
    /// Queues a submission to be checked and committed durably (concurrent submissions share
    /// one transaction); answers once it is queued, with what resolves to its outcome. The queue
    /// is bounded: a busy writer slows submitters down here.
    async fn submit(&self, submission: Submission) -> Result<Committed, CommitError>;

    /// [`Store::submit`], then its outcome.
    async fn commit(&self, submission: Submission) -> Result<Vec<Outcome>, CommitError> {
        self.submit(submission).await?.await
    }

    /// Where a sink has delivered up to (0 when it never has).
    async fn cursor(&self, sink: &str) -> Result<u64, StoreError>;

    /// Records that a sink has delivered everything up to `seq`.
    async fn set_cursor(&self, sink: &str, seq: u64) -> Result<(), StoreError>;

    /// Keeps records a sink could not deliver, with the reason.
    async fn add_dead_letter(
        &self,
        sink: &str,
        records: &[Arc<LogRecord>],
        error: &str,
    ) -> Result<i64, StoreError>;

    /// A sink's dead letters, oldest first.
    async fn dead_letters(&self, sink: &str) -> Result<Vec<DeadLetter>, StoreError>;

    /// How many dead letters a sink has (without reading them).
    async fn dead_letter_count(&self, sink: &str) -> Result<u64, StoreError>;

    /// Removes a dead letter once it has been replayed.
    async fn remove_dead_letter(&self, sink: &str, id: i64) -> Result<bool, StoreError>;

    /// Whether the store can take writes now: when the check that says so was made (a store may
    /// answer with one made an instant before rather than probe its disk for every ask).
    async fn ready(&self) -> Result<Timestamp, StoreError>;

    /// A customer's actions, pending offers and segment assignments, and one session's journey.
    async fn customer_context(
        &self,
        deployment_id: Uuid,
        customer_id: Uuid,
        session_id: Uuid,
    ) -> Result<CustomerContext, StoreError>;

    /// The report counters of a deployment's range (`crate::reports`), by bucket and map.
    async fn counters(
        &self,
        query: crate::reports::CounterQuery,
    ) -> Result<Vec<crate::reports::CounterRow>, StoreError>;

    /// A deployment's admin objects, in the order they were first saved.
    async fn entities(&self, deployment_id: Uuid) -> Result<Vec<StoredEntity>, StoreError>;

    /// Saves or deletes admin objects, all in one transaction.
    async fn change_entities(
        &self,
        deployment_id: Uuid,
        changes: Vec<EntityChange>,
    ) -> Result<(), StoreError>;
}
