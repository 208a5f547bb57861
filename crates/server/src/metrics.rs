//! The Prometheus metrics Beckon exports at `/metrics`: connections, ingestion, streams, agent
//! sign-ins and each sink's delivery (lag, delivered, retried, dead-lettered).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels naming a sink.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    pub sink: String,
}

/// Labels naming a kind of record or refusal.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

/// Every metric, registered once at start.
pub struct Metrics {
    registry: Registry,
    /// Records committed to the log, by kind.
    pub committed: Family<KindLabel, Counter>,
    /// Requests to the public (ingestion and visitor chat) routes that their guard refused:
    /// unknown deployment, origin not allowed, rate limited; by problem type.
    pub refused: Family<KindLabel, Counter>,
    /// The highest sequence number in the log.
    pub log_head: Gauge,
    /// Open live-stream connections.
    pub subscribers: Gauge,
    /// Open connections (WebSockets and live streams included), under `limits.max_connections`.
    pub connections: Gauge,
    /// Connections closed as soon as they were accepted, because `limits.max_connections` were
    /// open.
    pub connections_refused: Counter,
    /// Agent sign-ins refused for a wrong email or password.
    pub sign_ins_failed: Counter,
    /// Agent sign-ins refused by a sign-in quota (`[chat] sign_ins_per_minute` and its twins),
    /// before the password was checked.
    pub sign_ins_refused: Counter,
    /// Records a sink has still to deliver.
    pub sink_lag: Family<SinkLabel, Gauge>,
    /// Records a sink delivered.
    pub sink_delivered: Family<SinkLabel, Counter>,
    /// Deliveries a sink retried.
    pub sink_retried: Family<SinkLabel, Counter>,
    /// Records a sink gave up on and dead-lettered.
    pub sink_dead_lettered: Family<SinkLabel, Counter>,
    /// Customers a sink holds back behind their dead letters.
    pub sink_held_customers: Family<SinkLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("beckon");
        let m = Metrics {
            registry: Registry::default(),
            committed: Family::default(),
            refused: Family::default(),
            log_head: Gauge::default(),
            subscribers: Gauge::default(),
            connections: Gauge::default(),
            connections_refused: Counter::default(),
            sign_ins_failed: Counter::default(),
            sign_ins_refused: Counter::default(),
            sink_lag: Family::default(),
            sink_delivered: Family::default(),
            sink_retried: Family::default(),
            sink_dead_lettered: Family::default(),
            sink_held_customers: Family::default(),
        };
        registry.register(
            "records_committed",
            "Records committed to the event log",
            m.committed.clone(),
        );
        registry.register(
            "requests_refused",
            "Public-route requests refused by their guard (deployment, origin, rate), by problem type",
            m.refused.clone(),
        );
        registry.register(
            "log_head",
            "Highest sequence number in the event log",
            m.log_head.clone(),
        );
        registry.register(
            "stream_subscribers",
            "Open live event stream connections",
            m.subscribers.clone(),
        );
        registry.register(
            "connections_open",
            "Open connections, WebSockets and live streams included",
            m.connections.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed at once because limits.max_connections were open",
            m.connections_refused.clone(),
        );
        registry.register(
            "sign_ins_failed",
            "Agent sign-ins refused for a wrong email or password",
            m.sign_ins_failed.clone(),
        );
        registry.register(
            "sign_ins_refused",
            "Agent sign-ins refused by a sign-in quota before their password was checked",
            m.sign_ins_refused.clone(),
        );
        registry.register(
            "sink_lag",
            "Records a sink has still to deliver",
            m.sink_lag.clone(),
        );
        registry.register(
            "sink_delivered",
            "Records a sink delivered",
            m.sink_delivered.clone(),
        );
        registry.register(
            "sink_retried",
            "Deliveries a sink retried",
            m.sink_retried.clone(),
        );
        registry.register(
            "sink_dead_lettered",
            "Records a sink dead-lettered",
            m.sink_dead_lettered.clone(),
        );
        registry.register(
            "sink_held_customers",
            "Customers a sink holds back until their dead letters are replayed or discarded",
            m.sink_held_customers.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }

    /// Counts a record kind.
    pub fn kind(kind: &str) -> KindLabel {
        KindLabel {
            kind: kind.to_owned(),
        }
    }

    /// Labels for a sink.
    pub fn sink(name: &str) -> SinkLabel {
        SinkLabel {
            sink: name.to_owned(),
        }
    }
}
