//! Sinks: delivery of committed records to other systems.
//!
//! Why it exists: every sink needs the same hard part (a durable cursor, batching, retries with
//! backoff, dead letters, metrics), and getting it right once is the only way to get it right
//! everywhere. So this module holds the [`Sink`] trait and the one runner that drives every sink;
//! a sink module only turns a batch of records into one delivery and says whether a failure is
//! worth retrying ([`Failure::Retry`]) or not ([`Failure::Permanent`]).
//!
//! Delivery guarantee: at least once, and in order per customer. Each sink has one task that reads
//! the log after its cursor, delivers one batch at a time (or one part of it at a time, for a sink
//! that needs several requests per batch, see [`Sink::parts`]), and moves the cursor only once the
//! batch (or part) was delivered or dead-lettered. A retryable failure is retried, with capped
//! exponential backoff and full jitter, for as long as it takes: nothing is dropped. A permanent
//! failure of one record stores it as a dead letter, which an operator can list, replay or discard
//! (`/api/v1/sinks/{name}/dead-letters`, `beckon dead-letters`); a permanent failure of several is
//! not blamed on all of them: they are sent again one at a time, and only those refused alone are
//! dead-lettered (each with its customer's later records of the batch). The sink goes on with the
//! records after it, except those of the dead letter's customers: they are held ([`hold`]) in later
//! dead letters, so that replaying them all, oldest first, delivers each customer's events in
//! order, while other customers' events flow on. A crash between a delivery and the cursor update
//! means that batch is delivered again after restart, never lost.

pub mod cloudevents;
pub mod file;
pub mod ga4;
pub mod hold;
pub mod segment;
pub mod webhook;

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use beckon_core::{MediaType, Topic};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::config::{SinkConfig, SinkKind, StreamTopic};
use crate::metrics::{Metrics, SinkLabel};
use crate::record::{Filter, LogRecord, Payload};
use crate::store::{DeadLetter, Store};
use hold::{Held, Holds};

/// The first retry waits up to this long; each further one up to twice as long, up to the cap.
const BASE_BACKOFF: Duration = Duration::from_millis(200);
/// Without any commit notification, the runner still looks at the log this often.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// At shutdown, how long past the longest sink timeout to wait for the sinks to save their
/// cursors or dead letters after their last attempt.
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// Why a delivery failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again later (timeouts, connection errors, 5xx, 408, 429, a full disk).
    Retry(String),
    /// Will fail the same way every time (other 4xx, a payload the receiver refuses).
    Permanent(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Retry(m) | Failure::Permanent(m) => m,
        }
    }
}

/// One destination: turns a batch of records, in log order, into one delivery.
#[async_trait]
pub trait Sink: Send + Sync + 'static {
    /// Delivers the records given (a batch, or one of its [`Sink::parts`]), or fails; what
    /// failed is retried or dead-lettered whole.
    async fn deliver(&self, batch: &[Arc<LogRecord>]) -> Result<(), Failure>;

    /// How the runner cuts a batch it read into deliveries, in order: the whole batch by
    /// default. A sink that needs several requests for a batch (GA4: one per customer; the
    /// webhook and Segment: bodies under a size) answers one part per request, so each request
    /// gets the sink's timeout, a failure retries or dead-letters only its part, and the cursor
    /// moves past each part once it is delivered: a part the receiver accepted is not sent
    /// again.
    fn parts(&self, batch: &[Arc<LogRecord>]) -> Vec<Range<usize>> {
        std::iter::once(0..batch.len()).collect()
    }
}

/// A configured sink, shared by its runner and the admin API.
pub struct SinkHandle {
    pub config: SinkConfig,
    sink: Box<dyn Sink>,
    filter: Filter,
    last_error: Mutex<Option<String>>,
    /// Held for one delivery attempt, so a replay never interleaves with the runner's writes.
    delivering: tokio::sync::Mutex<()>,
    /// The customers whose events wait behind a dead letter.
    pub holds: Holds,
}

impl SinkHandle {
    /// Builds the sink a configuration describes; its metrics are kept in `metrics`.
    pub fn new(config: SinkConfig, client: reqwest::Client, metrics: &Metrics) -> SinkHandle {
        let sink: Box<dyn Sink> = match &config.kind {
            SinkKind::Webhook {
                url,
                secret,
                max_batch_bytes,
            } => Box::new(webhook::Webhook::new(
                client,
                url.clone(),
                secret.expose().to_owned(),
                *max_batch_bytes,
            )),
            SinkKind::File {
                path,
                max_bytes,
                keep,
            } => Box::new(file::FileSink::new(path.clone(), *max_bytes, *keep)),
            SinkKind::Ga4 {
                measurement_id,
                api_secret,
                endpoint,
            } => Box::new(ga4::Ga4::new(
                client,
                endpoint.clone(),
                measurement_id.clone(),
                api_secret.expose().to_owned(),
            )),
            SinkKind::Segment {
                write_key,
                endpoint,
            } => Box::new(segment::Segment::new(
                client,
                endpoint.clone(),
                write_key.expose().to_owned(),
            )),
        };
        let label = Metrics::sink(&config.name);
        let holds = Holds::new(metrics.sink_held_customers.get_or_create(&label).clone());
        SinkHandle {
            filter: sink_filter(&config.topics)
                .of_deployments(config.deployments.as_deref().unwrap_or_default()),
            config,
            sink,
            last_error: Mutex::new(None),
            delivering: tokio::sync::Mutex::new(()),
            holds,
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// `webhook`, `file`, `ga4` or `segment`.
    pub fn kind(&self) -> &'static str {
        match self.config.kind {
            SinkKind::Webhook { .. } => "webhook",
            SinkKind::File { .. } => "file",
            SinkKind::Ga4 { .. } => "ga4",
            SinkKind::Segment { .. } => "segment",
        }
    }

    /// The last delivery error, until a delivery succeeds.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("last error").clone()
    }

    fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().expect("last error") = error;
    }

    fn label(&self) -> SinkLabel {
        Metrics::sink(&self.config.name)
    }

    /// One delivery attempt, bounded by the sink's timeout.
    async fn attempt(&self, batch: &[Arc<LogRecord>]) -> Result<(), Failure> {
        let _guard = self.delivering.lock().await;
        let limit = Duration::from_millis(self.config.timeout_ms);
        match tokio::time::timeout(limit, self.sink.deliver(batch)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Retry(format!(
                "the delivery took longer than {} ms",
                self.config.timeout_ms
            ))),
        }
    }

    /// Delivers a dead letter's records now, once, in the parts the sink cuts a batch into (so
    /// a dead letter stored before a webhook's `max_batch_bytes` existed goes out in requests
    /// under it); on success the dead letter is removed (and its customers released, unless
    /// another dead letter holds them). A part that fails stops the replay and keeps the dead
    /// letter whole: the parts before it are delivered again by the next replay.
    pub async fn replay(
        self: &Arc<Self>,
        letter: &DeadLetter,
        store: &Arc<dyn Store>,
        metrics: &Metrics,
    ) -> Result<(), String> {
        if !letter.records.is_empty() {
            for range in self.sink.parts(&letter.records) {
                let part = &letter.records[range];
                self.attempt(part)
                    .await
                    .map_err(|f| f.message().to_owned())?;
                metrics
                    .sink_delivered
                    .get_or_create(&self.label())
                    .inc_by(part.len() as u64);
            }
        }
        self.remove(letter, store)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(sink = %self.config.name, id = letter.id, "dead letter replayed");
        Ok(())
    }

    /// Removes a dead letter, delivered or not, and releases its customers unless another dead
    /// letter holds them; whether it was there to remove. Done in a task of its own, so that a
    /// request given up half-way cannot remove the dead letter and leave its customers held.
    pub async fn remove(
        self: &Arc<Self>,
        letter: &DeadLetter,
        store: &Arc<dyn Store>,
    ) -> Result<bool, crate::store::StoreError> {
        let (sink, store) = (self.clone(), store.clone());
        let (id, records) = (letter.id, letter.records.clone());
        let removing = tokio::spawn(async move {
            let mut held = sink.holds.lock().await;
            let removed = store.remove_dead_letter(&sink.config.name, id).await?;
            if removed {
                held.remove(&records);
            }
            Ok(removed)
        });
        removing
            .await
            .expect("removing a dead letter does not panic")
    }
}

/// The topics a sink gets: its own, or every action event and blocked offer (not web events).
fn sink_filter(topics: &[StreamTopic]) -> Filter {
    if !topics.is_empty() {
        return Filter::new(topics.to_vec());
    }
    Filter::new(
        MediaType::ALL
            .into_iter()
            .flat_map(|m| [StreamTopic::Action(Topic::all(m)), StreamTopic::Blocked(m)])
            .collect(),
    )
}

/// Every configured sink, by name.
#[derive(Default)]
pub struct Sinks {
    list: Vec<Arc<SinkHandle>>,
}

impl Sinks {
    /// Builds the configured sinks (nothing runs until [`spawn_all`]).
    pub fn new(configs: &[SinkConfig], metrics: &Metrics) -> anyhow::Result<Sinks> {
        if configs.is_empty() {
            return Ok(Sinks::default());
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("beckon/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // A redirected POST comes back as a GET without its body: following one could take a
            // 2xx for a delivery that never happened. A 3xx is a failure instead (see `send`).
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Sinks {
            list: configs
                .iter()
                .map(|c| Arc::new(SinkHandle::new(c.clone(), client.clone(), metrics)))
                .collect(),
        })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<SinkHandle>> {
        self.list.iter().find(|s| s.name() == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<SinkHandle>> {
        self.list.iter()
    }
}

/// The running sink tasks.
pub struct SinkSet {
    tasks: JoinSet<()>,
    /// The longest sink timeout plus [`STOP_MARGIN`]: how long [`SinkSet::stop`] waits.
    limit: Duration,
}

impl SinkSet {
    /// Waits for every sink to finish its current delivery, save its cursor and stop: as long
    /// as the slowest sink's timeout allows, plus a margin; a sink still busy then is cut (its
    /// batch is delivered again after the next start).
    pub async fn stop(mut self) {
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(self.limit, all).await.is_err() {
            tracing::warn!(
                waited_ms = self.limit.as_millis() as u64,
                "sinks still busy at shutdown; their batches are delivered again after restart"
            );
        }
    }
}

/// Starts one task per configured sink; they stop when `app.shutdown` is cancelled.
pub fn spawn_all(app: &AppState) -> SinkSet {
    let mut tasks = JoinSet::new();
    for sink in app.sinks.iter() {
        tracing::info!(sink = %sink.name(), kind = sink.kind(), "starting sink");
        tasks.spawn(run(
            sink.clone(),
            app.store.clone(),
            app.metrics.clone(),
            app.shutdown.clone(),
        ));
    }
    let longest = app.sinks.iter().map(|s| s.config.timeout_ms).max();
    SinkSet {
        tasks,
        limit: Duration::from_millis(longest.unwrap_or(0)) + STOP_MARGIN,
    }
}

/// How long to wait before retry number `attempt` (0-based): full jitter under a capped
/// exponential.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.min(20)))
        .min(max);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(rand::random_range(0..=millis))
}

/// Sleeps, unless shutdown comes first; returns whether shutdown came.
async fn pause(shutdown: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(wait) => false,
    }
}

/// Repeats a store operation until it works (or shutdown): the runner never skips a step.
async fn persist<T, F, Fut>(
    sink: &SinkHandle,
    shutdown: &CancellationToken,
    what: &str,
    mut op: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::store::StoreError>>,
{
    let max = Duration::from_millis(sink.config.max_backoff_ms);
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Some(v),
            Err(e) => {
                tracing::warn!(sink = %sink.name(), error = %e, "cannot {what}; retrying");
                if pause(shutdown, backoff(attempt, max)).await {
                    return None;
                }
                attempt += 1;
            }
        }
    }
}

/// One sink's loop: read after the cursor, deliver, advance; until shutdown.
async fn run(
    sink: Arc<SinkHandle>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let name = sink.name().to_owned();
    let label = sink.label();
    let lag = metrics.sink_lag.get_or_create(&label).clone();
    let runner = Runner {
        sink: &sink,
        store: &*store,
        metrics: &metrics,
        shutdown: &shutdown,
    };
    // Subscribe before the first read, so no commit between the two goes unnoticed.
    let mut live = store.subscribe();
    let Some(mut cursor) =
        persist(&sink, &shutdown, "read the cursor", || store.cursor(&name)).await
    else {
        return;
    };
    {
        let mut held = sink.holds.lock().await;
        let Some(letters) = persist(&sink, &shutdown, "read the dead letters", || {
            store.dead_letters(&name)
        })
        .await
        else {
            return;
        };
        held.load(&letters);
    }
    'run: loop {
        if shutdown.is_cancelled() {
            break;
        }
        // Whatever was announced so far is covered by the read below.
        while let Ok(_) | Err(TryRecvError::Lagged(_)) = live.try_recv() {}
        let head = store.head();
        lag.set(head.saturating_sub(cursor) as i64);
        let Some(batch) = persist(&sink, &shutdown, "read the log", || {
            store.read(cursor, sink.config.batch_size, &sink.filter)
        })
        .await
        else {
            break;
        };
        if batch.is_empty() {
            // Nothing up to `head` passes the filter: the sink is caught up to there.
            if head > cursor {
                if persist(&sink, &shutdown, "save the cursor", || {
                    store.set_cursor(&name, head)
                })
                .await
                .is_none()
                {
                    break;
                }
                cursor = head;
                lag.set(store.head().saturating_sub(cursor) as i64);
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                r = live.recv() => {
                    if matches!(r, Err(RecvError::Closed)) && pause(&shutdown, IDLE_POLL).await {
                        break;
                    }
                },
                _ = tokio::time::sleep(IDLE_POLL) => {},
            }
            continue;
        }
        for range in sink.sink.parts(&batch) {
            // Between parts, shutdown stops the sink: the rest follows after the next start.
            if shutdown.is_cancelled() {
                break 'run;
            }
            let part = &batch[range];
            let last = part.last().expect("parts are not empty").seq;
            let free = {
                let mut held = sink.holds.lock().await;
                let (kept, free) = held.split(part);
                if !kept.is_empty() {
                    let error = "held back: an earlier dead letter of this sink has events of the \
                                 same customer; replay or discard it first";
                    if runner.dead_letter(&mut held, &kept, error).await.is_none() {
                        return;
                    }
                }
                free
            };
            if !free.is_empty() {
                match runner.deliver(&free).await {
                    Delivery::Stopped => return,
                    Delivery::Delivered => {}
                    Delivery::Refused(error) if free.len() == 1 => {
                        tracing::error!(sink = %name, %error, seq = last, "delivery refused; dead-lettering the record");
                        let mut held = sink.holds.lock().await;
                        if runner.dead_letter(&mut held, &free, &error).await.is_none() {
                            return;
                        }
                        sink.set_error(Some(error));
                    }
                    Delivery::Refused(error) => {
                        // One record can make a receiver refuse a whole batch (too large, or
                        // one it cannot take): the others go on, one at a time.
                        tracing::warn!(sink = %name, %error, first_seq = free[0].seq, last_seq = last, "batch refused; sending its records one at a time");
                        if runner.one_at_a_time(&free, &mut cursor).await.is_none() {
                            break 'run;
                        }
                    }
                }
            }
            if persist(&sink, &shutdown, "save the cursor", || {
                store.set_cursor(&name, last)
            })
            .await
            .is_none()
            {
                break 'run;
            }
            cursor = last;
            lag.set(store.head().saturating_sub(cursor) as i64);
        }
    }
    tracing::info!(sink = %name, cursor, "sink stopped");
}

/// How a delivery, retried as long as it was worth it, ended.
enum Delivery {
    Delivered,
    /// A permanent failure: the receiver will not take these records.
    Refused(String),
    /// Shutdown came while waiting to retry: the records are read again after the next start.
    Stopped,
}

/// What a sink's loop needs to deliver and dead-letter.
struct Runner<'a> {
    sink: &'a SinkHandle,
    store: &'a dyn Store,
    metrics: &'a Metrics,
    shutdown: &'a CancellationToken,
}

impl Runner<'_> {
    /// Delivers records, retrying with backoff until it works, the receiver refuses them for
    /// good, or shutdown. An attempt in flight is finished (bounded by the sink's timeout), not
    /// cut. Delivered records are counted when the receiver took them, as dead letters are when
    /// stored: the saved cursor is visible to readers as soon as it is committed.
    async fn deliver(&self, records: &[Arc<LogRecord>]) -> Delivery {
        let name = self.sink.name();
        let label = self.sink.label();
        let max_backoff = Duration::from_millis(self.sink.config.max_backoff_ms);
        let (first_seq, last_seq) = (records[0].seq, records[records.len() - 1].seq);
        let mut attempt = 0;
        loop {
            match self.sink.attempt(records).await {
                Ok(()) => {
                    self.sink.set_error(None);
                    self.metrics
                        .sink_delivered
                        .get_or_create(&label)
                        .inc_by(records.len() as u64);
                    return Delivery::Delivered;
                }
                Err(Failure::Retry(error)) => {
                    self.metrics.sink_retried.get_or_create(&label).inc();
                    let wait = backoff(attempt, max_backoff);
                    tracing::warn!(sink = %name, %error, first_seq, last_seq, retry_in_ms = wait.as_millis() as u64, "delivery failed; retrying");
                    self.sink.set_error(Some(error));
                    if pause(self.shutdown, wait).await {
                        return Delivery::Stopped;
                    }
                    attempt = attempt.saturating_add(1);
                }
                Err(Failure::Permanent(error)) => return Delivery::Refused(error),
            }
        }
    }

    /// Delivers the records of a refused batch one at a time, in order, so that only those the
    /// receiver refuses alone are dead-lettered, each with its customer's later records of the
    /// batch (held back behind it, in the same dead letter, so that all of that customer's
    /// records in the batch are stored at once: what [`Held::split`] counts on after a
    /// restart). The cursor moves past each record as it is done with. `None` at shutdown.
    async fn one_at_a_time(&self, records: &[Arc<LogRecord>], cursor: &mut u64) -> Option<()> {
        let name = self.sink.name();
        let mut stored = std::collections::HashSet::new();
        for (i, record) in records.iter().enumerate() {
            if stored.contains(&record.seq) {
                continue;
            }
            if self.shutdown.is_cancelled() {
                return None;
            }
            match self.deliver(std::slice::from_ref(record)).await {
                Delivery::Stopped => return None,
                Delivery::Delivered => {}
                Delivery::Refused(error) => {
                    let customer = record.payload.customer_id();
                    let letter: Vec<Arc<LogRecord>> = records[i..]
                        .iter()
                        .filter(|r| r.payload.customer_id() == customer)
                        .cloned()
                        .collect();
                    stored.extend(letter.iter().map(|r| r.seq));
                    tracing::error!(sink = %name, %error, seq = record.seq, "delivery refused; dead-lettering the record");
                    let error = match letter.len() - 1 {
                        0 => error,
                        1 => format!(
                            "{error} (with the customer's next event of the batch, held back)"
                        ),
                        n => format!(
                            "{error} (with the customer's next {n} events of the batch, held back)"
                        ),
                    };
                    let mut held = self.sink.holds.lock().await;
                    self.dead_letter(&mut held, &letter, &error).await?;
                    self.sink.set_error(Some(error));
                }
            }
            persist(self.sink, self.shutdown, "save the cursor", || {
                self.store.set_cursor(name, record.seq)
            })
            .await?;
            *cursor = record.seq;
        }
        Some(())
    }

    /// Stores records as a dead letter and holds their customers (`None` at shutdown: the
    /// records are read again after the next start).
    async fn dead_letter(
        &self,
        held: &mut Held,
        records: &[Arc<LogRecord>],
        error: &str,
    ) -> Option<()> {
        let name = self.sink.name();
        let id = persist(self.sink, self.shutdown, "store a dead letter", || {
            self.store.add_dead_letter(name, records, error)
        })
        .await?;
        held.add(records);
        tracing::info!(sink = %name, id, count = records.len(), "dead letter stored");
        self.metrics
            .sink_dead_lettered
            .get_or_create(&self.sink.label())
            .inc_by(records.len() as u64);
        Some(())
    }
}

/// Cuts records, in order, into runs whose request body stays within `max_bytes`, given each
/// record's serialized size: a body is `envelope` bytes around its records joined by one byte
/// (`[a,b]`, `{"batch":[a,b]}`). A record too large for any body gets a run of its own.
pub fn runs_within(sizes: &[usize], envelope: usize, max_bytes: usize) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut size = envelope;
    for (i, &len) in sizes.iter().enumerate() {
        if i > start && size + 1 + len > max_bytes {
            runs.push(start..i);
            start = i;
            size = envelope;
        }
        size += len + usize::from(i > start);
    }
    if start < sizes.len() {
        runs.push(start..sizes.len());
    }
    runs
}

/// The analytics name of a record (GA4 and Segment): `webchat_offered`, `contentoffer_blocked`,
/// `web_<eventName>`; at most 40 characters, letters, digits and `_`.
pub fn analytics_name(payload: &Payload) -> String {
    let mut name = match payload {
        Payload::Action(e) => format!("{}_{}", e.action_media_type, e.action_state),
        Payload::Blocked(b) => format!("{}_blocked", b.action_media_type),
        Payload::Web(w) => format!("web_{}", w.event_name),
    };
    name.truncate(40);
    name
}

/// Sends one HTTP request and classifies the answer: 2xx is delivered; 408, 429, 5xx, timeouts
/// and connection errors are worth retrying; anything else is permanent, a 3xx included: the
/// client follows no redirect, and the error names the `Location` so the URL can be fixed.
pub async fn send(request: reqwest::RequestBuilder) -> Result<(), Failure> {
    let response = request.send().await.map_err(|e| {
        if e.is_builder() {
            Failure::Permanent(format!("cannot build the request: {}", unsent(e)))
        } else {
            Failure::Retry(format!("request failed: {}", unsent(e)))
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| redirect_target(&String::from_utf8_lossy(l.as_bytes()), response.url()));
        return Err(Failure::Permanent(match location {
            Some(l) => format!(
                "the receiver answered {status}, redirecting to {l}: redirects are not followed, \
                 set the sink's URL to where they lead"
            ),
            None => format!("the receiver answered {status}: redirects are not followed"),
        }));
    }
    let mut body = reply_start(response).await;
    if body.len() > 300 {
        let mut end = 300;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push('…');
    }
    let message = if body.trim().is_empty() {
        format!("the receiver answered {status}")
    } else {
        format!("the receiver answered {status}: {}", body.trim())
    };
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Err(Failure::Retry(message))
    } else {
        Err(Failure::Permanent(message))
    }
}

/// The start of a refusal's body, for its error message: at most [`REPLY_START`] bytes are read,
/// however much the receiver sends (an endless body would otherwise hold the delivery until its
/// timeout, and a large one would be kept in memory whole).
async fn reply_start(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < REPLY_START {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(REPLY_START);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// How much of a refusal's body [`reply_start`] reads.
const REPLY_START: usize = 1024;

/// A redirect's `Location` for an error message, resolved against the request's URL, without
/// what could repeat a secret of that URL: the query and user info are left out, and the path
/// too when it is the request's own (an `http` to `https` redirect of a GA4 endpoint repeats
/// `api_secret`, of a webhook the token its path may hold).
fn redirect_target(location: &str, request: &reqwest::Url) -> String {
    let Ok(url) = request.join(location.trim()) else {
        return "an invalid Location".to_owned();
    };
    let mut text = url.origin().ascii_serialization();
    if url.path() == request.path() {
        text.push_str(" (the same path)");
    } else {
        text.push_str(url.path());
    }
    if url.query().is_some() {
        text.push_str(" (with a query)");
    }
    text
}

/// Why a request was not sent, with its causes, for the log and a sink's `lastError`: without
/// its URL, which reqwest's text would include and which can carry a secret (GA4's `api_secret`
/// is in the query, a webhook's token may be in its path).
fn unsent(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[cfg(test)]
pub(crate) mod testing {
    //! Records to feed the sinks in unit tests.

    use std::sync::Arc;

    use beckon_core::{
        ActionError, ActionEvent, BlockReason, BlockedOffer, MediaType, State, Timestamp,
    };
    use uuid::Uuid;

    use crate::record::{LogRecord, Payload};

    pub const DEPLOYMENT: Uuid = uuid::uuid!("5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61");

    /// An action event record.
    pub fn action(seq: u64, customer: Uuid, state: State) -> Arc<LogRecord> {
        let error = (state == State::Errored).then(|| ActionError {
            code: 7,
            message: "the widget did not load".into(),
        });
        record(
            seq,
            Payload::Action(ActionEvent {
                action_id: Uuid::new_v4(),
                action_state: state,
                action_media_type: MediaType::Webchat,
                action_map_id: Uuid::new_v4(),
                action_map_version: 3,
                customer_id: customer,
                session_id: Uuid::new_v4(),
                error,
                event_id: Uuid::new_v4(),
                timestamp: Timestamp::from_unix_millis(1_795_902_927_123 + seq as i64),
            }),
        )
    }

    /// A blocked offer record.
    pub fn blocked(seq: u64, customer: Uuid) -> Arc<LogRecord> {
        record(
            seq,
            Payload::Blocked(BlockedOffer {
                event_id: Uuid::new_v4(),
                action_map_id: Uuid::new_v4(),
                action_map_version: 1,
                action_media_type: MediaType::Contentoffer,
                customer_id: customer,
                session_id: Uuid::new_v4(),
                reason: BlockReason::FrequencyCapping,
                timestamp: Timestamp::from_unix_millis(1_795_902_927_123),
            }),
        )
    }

    fn record(seq: u64, payload: Payload) -> Arc<LogRecord> {
        Arc::new(LogRecord {
            seq,
            deployment_id: DEPLOYMENT,
            recorded_at: Timestamp::from_unix_millis(1_795_902_928_000),
            payload,
        })
    }

    /// A reqwest client; tests never use TLS, but the client needs a provider to build.
    pub fn client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beckon_core::State;
    use uuid::Uuid;

    #[test]
    fn backoff_is_capped_and_jittered() {
        let max = Duration::from_millis(1_000);
        for attempt in 0..40 {
            let ceiling = (200u64 << attempt.min(20)).min(1_000);
            for _ in 0..20 {
                assert!(backoff(attempt, max).as_millis() as u64 <= ceiling);
            }
        }
        // Full jitter: waits differ between retries.
        let waits: std::collections::HashSet<_> = (0..50)
            .map(|_| backoff(10, Duration::from_secs(60)))
            .collect();
        assert!(waits.len() > 1);
    }

    #[test]
    fn default_filter_takes_actions_and_blocked_offers_not_web_events() {
        let filter = sink_filter(&[]);
        let customer = Uuid::new_v4();
        assert!(filter.accepts(&testing::action(1, customer, State::Offered).payload));
        assert!(filter.accepts(&testing::blocked(2, customer).payload));
        assert!(
            filter
                .topics()
                .iter()
                .all(|t| !matches!(t, StreamTopic::Web(_)))
        );
        // Configured topics are taken as they are.
        let web = sink_filter(&[StreamTopic::Web(None)]);
        assert!(!web.accepts(&testing::blocked(3, customer).payload));
    }

    #[test]
    fn a_redirect_target_repeats_no_secret_of_the_request() {
        let ga4 = reqwest::Url::parse(
            "http://www.google-analytics.com/mp/collect?measurement_id=G-1&api_secret=s3cret",
        )
        .unwrap();
        let to_https =
            "https://www.google-analytics.com/mp/collect?measurement_id=G-1&api_secret=s3cret";
        assert_eq!(
            redirect_target(to_https, &ga4),
            "https://www.google-analytics.com (the same path) (with a query)"
        );
        let hook = reqwest::Url::parse("http://hooks.example.com/t/T0KEN").unwrap();
        assert_eq!(
            redirect_target("https://user:pw@hooks.example.com/t/T0KEN", &hook),
            "https://hooks.example.com (the same path)"
        );
        assert_eq!(
            redirect_target("/v2/hook", &hook),
            "http://hooks.example.com/v2/hook"
        );
    }

    #[test]
    fn runs_stay_within_the_bytes_in_order_and_a_large_record_goes_alone() {
        // `[a,b]`: 2 bytes of envelope, 1 between records.
        assert_eq!(runs_within(&[3, 3, 3], 2, 9), [0..2, 2..3]);
        assert_eq!(runs_within(&[3, 3, 3], 2, 8), [0..1, 1..2, 2..3]);
        assert_eq!(runs_within(&[3, 3, 3], 2, 13), vec![0..3]);
        assert_eq!(runs_within(&[3, 3, 3], 2, 12), [0..2, 2..3]);
        assert_eq!(runs_within(&[1, 50, 1, 1], 2, 10), [0..1, 1..2, 2..4]);
        assert_eq!(runs_within(&[50], 2, 10), vec![0..1]);
        assert!(runs_within(&[], 2, 10).is_empty());
        // The sizes are the body's: a CloudEvents batch of each run is exactly that long.
        let c = Uuid::new_v4();
        let batch: Vec<_> = (1..=7)
            .map(|s| testing::action(s, c, State::Offered))
            .collect();
        let sizes: Vec<usize> = batch
            .iter()
            .map(|r| crate::record::json_len(&cloudevents::event(r)))
            .collect();
        let max = sizes[0] * 3;
        let runs = runs_within(&sizes, 2, max);
        assert_eq!(runs.len(), 4);
        for run in runs {
            let body = cloudevents::batch(&batch[run.clone()]);
            assert_eq!(
                body.len(),
                2 + sizes[run.clone()].iter().sum::<usize>() + run.len() - 1
            );
            assert!(body.len() <= max);
        }
    }

    #[test]
    fn analytics_names_follow_ga4_rules() {
        let r = testing::action(1, Uuid::new_v4(), State::Offered);
        assert_eq!(analytics_name(&r.payload), "webchat_offered");
        let r = testing::blocked(1, Uuid::new_v4());
        assert_eq!(analytics_name(&r.payload), "contentoffer_blocked");
        let r = testing::action(1, Uuid::new_v4(), State::QualifiedOutsideSchedule);
        let name = analytics_name(&r.payload);
        assert!(name.len() <= 40 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }
}
