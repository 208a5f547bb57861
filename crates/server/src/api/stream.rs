//! Reading the event log: the live stream (server-sent events) and paged catch-up reads.
//!
//! The live stream never skips and never repeats. It subscribes to committed records *before*
//! reading the backlog from the log, then drops any live record it has already sent; if it falls
//! behind the live channel it goes back to reading the log from the last record it handled. Each
//! SSE message carries the record's sequence number as its `id`, so a client that reconnects with
//! `Last-Event-ID` resumes exactly where it stopped. The stream opens with an event that has only
//! an `id`, the sequence number it starts after, and no data (an `EventSource` takes it as its
//! last event id without dispatching anything): a client that loses the stream before the first
//! matching record still resumes from where it started, not from the head of that later moment.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::auth::Access;
use super::problem::Problem;
use crate::app::AppState;
use crate::config::{MAX_TOPICS, StreamTopic, distinct_topics};
use crate::record::{Filter, LogRecord};

/// Records read from the log per round trip while catching up.
const PAGE: usize = 500;
/// Most records one paged read returns.
const MAX_LIMIT: usize = 1000;

/// The query of both read routes.
struct ReadQuery {
    filter: Filter,
    deployment: Option<Uuid>,
    after: Option<u64>,
    limit: usize,
}

/// A sequence number as the log can hold it: 0 to `i64::MAX` (SQLite's integers). A larger one
/// would wrap to a negative position in the log's query, so that a read after it would start
/// over from the first record.
fn sequence(text: &str) -> Option<u64> {
    text.parse().ok().filter(|n| i64::try_from(*n).is_ok())
}

fn parse_query(raw: Option<&str>) -> Result<ReadQuery, Problem> {
    let mut topics = Vec::new();
    let mut query = ReadQuery {
        filter: Filter::default(),
        deployment: None,
        after: None,
        limit: 100,
    };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "topic" => topics.push(
                value
                    .parse::<StreamTopic>()
                    .map_err(|e| Problem::bad_request(e).field("topic"))?,
            ),
            "deployment" => {
                query.deployment = Some(value.parse().map_err(|_| {
                    Problem::bad_request(format!("'{value}' is not a deployment id"))
                        .field("deployment")
                })?)
            }
            "after" => {
                query.after = Some(sequence(&value).ok_or_else(|| {
                    Problem::bad_request(format!(
                        "after='{value}' is not a sequence number (0 to {})",
                        i64::MAX
                    ))
                    .field("after")
                })?)
            }
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Problem::bad_request(format!(
                            "limit must be a number from 1 to {MAX_LIMIT}"
                        ))
                        .field("limit")
                    })?
            }
            other => {
                return Err(Problem::bad_request(format!(
                    "unknown query parameter '{other}'; expected topic, deployment, after, limit"
                ))
                .field(other.to_owned()));
            }
        }
    }
    let topics = distinct_topics(topics).map_err(|e| {
        Problem::bad_request(e)
            .field("topic")
            .with("maxTopics", MAX_TOPICS)
    })?;
    query.filter = Filter::new(topics).of_deployments(query.deployment.as_slice());
    Ok(query)
}

impl ReadQuery {
    fn accepts(&self, record: &LogRecord) -> bool {
        self.filter.selects(record)
    }
}

/// `GET /api/v1/events?after=&limit=&topic=`: one page of the log.
pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, Access::Read)?;
    let query = parse_query(raw.as_deref())?;
    let after = query.after.unwrap_or(0);
    let head = app.store.head();
    // One read: the store applies the whole filter (topics and deployment) in its query.
    let events = app
        .store
        .read(after, query.limit, &query.filter)
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    // The next page starts after the last record examined: the last one returned, or, when the
    // page is not full, everything up to the head as it was before reading.
    let last = events.last().map_or(after, |r| r.seq);
    let next = if events.len() < query.limit {
        last.max(head)
    } else {
        last
    };
    Ok(Json(
        json!({ "events": events, "next": next, "head": head }),
    ))
}

fn sse_event(record: &LogRecord) -> Event {
    Event::default()
        .id(record.seq.to_string())
        .event(record.payload.topic().to_string())
        .data(record.payload.event_text())
}

/// `GET /api/v1/events/stream?topic=…`: live records, resumable with `Last-Event-ID`.
pub async fn live(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    app.tokens.check(&headers, Access::Read)?;
    let query = parse_query(raw.as_deref())?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            sequence(v.trim()).ok_or_else(|| {
                Problem::bad_request(format!(
                    "Last-Event-ID '{v}' is not a sequence number (0 to {})",
                    i64::MAX
                ))
                .field("Last-Event-ID")
            })
        })
        .transpose()?;
    let max = app.config.limits.max_subscribers;
    let Some(count) = SubscriberCount::reserve(&app, max) else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too-many-subscribers",
            "Too many subscribers",
            format!("this server serves at most {max} live streams"),
        )
        .retry_after(5));
    };
    // Subscribe first, then decide where the backlog starts: nothing committed in between is lost.
    let live = app.store.subscribe();
    let cursor = resume.or(query.after).unwrap_or_else(|| app.store.head());
    let subscriber = Subscriber {
        app: app.clone(),
        query: Arc::new(query),
        live,
        cursor,
        catching_up: true,
        buffer: Vec::new().into_iter(),
        _count: count,
    };
    let start = Event::default().id(cursor.to_string());
    let records = futures_util::stream::unfold(subscriber, |mut s| async move {
        let event = s.next().await?;
        Some((Ok(event), s))
    });
    let stream = futures_util::stream::once(async { Ok(start) }).chain(records);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One live stream's place under `max_subscribers`; keeps the subscriber gauge true, however
/// the stream ends.
struct SubscriberCount(AppState);

impl SubscriberCount {
    /// Takes a place, unless all `max` are taken. Counted and checked in one step, so requests
    /// arriving together cannot all pass the check and go over the limit.
    fn reserve(app: &AppState, max: usize) -> Option<SubscriberCount> {
        let taken = app.metrics.subscribers.inc();
        let count = SubscriberCount(app.clone());
        (usize::try_from(taken).is_ok_and(|taken| taken < max)).then_some(count)
    }
}

impl Drop for SubscriberCount {
    fn drop(&mut self) {
        self.0.metrics.subscribers.dec();
    }
}

/// One live stream's position: `cursor` is the last sequence number it has handled.
struct Subscriber {
    app: AppState,
    query: Arc<ReadQuery>,
    live: tokio::sync::broadcast::Receiver<Arc<LogRecord>>,
    cursor: u64,
    catching_up: bool,
    buffer: std::vec::IntoIter<Arc<LogRecord>>,
    _count: SubscriberCount,
}

impl Subscriber {
    /// The next event to send, or `None` when the stream should end (shutdown, storage failure).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(record) = self.buffer.next() {
                self.cursor = record.seq;
                if self.query.accepts(&record) {
                    return Some(sse_event(&record));
                }
                continue;
            }
            if self.catching_up {
                let page = self
                    .app
                    .store
                    .read(self.cursor, PAGE, &self.query.filter)
                    .await
                    .ok()?;
                if page.len() < PAGE {
                    self.catching_up = false;
                }
                self.buffer = page.into_iter();
                continue;
            }
            let received = tokio::select! {
                r = self.live.recv() => r,
                _ = self.app.shutdown.cancelled() => return None,
            };
            match received {
                Ok(record) if record.seq <= self.cursor => {}
                Ok(record) => {
                    self.cursor = record.seq;
                    if self.query.accepts(&record) {
                        return Some(sse_event(&record));
                    }
                }
                Err(RecvError::Lagged(_)) => self.catching_up = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
