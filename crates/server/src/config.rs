//! Configuration: a TOML file, then environment overrides, then command-line flags.
//!
//! Everything a deployment or a sink needs is checked while the file is read, so that
//! `beckon check-config` and `beckon serve` refuse a bad file with the line at fault instead of
//! failing later. With no file at all, Beckon runs one demo deployment on the local origin.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use beckon_core::Topic;
use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use uuid::Uuid;

/// The id of the deployment Beckon creates when no configuration names one.
pub const DEMO_DEPLOYMENT_ID: Uuid = uuid::uuid!("5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61");

/// The whole configuration of one `beckon serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Bearer token for admin routes; generated and stored in the data directory when unset.
    #[serde(default, deserialize_with = "trimmed")]
    pub admin_token: Option<Secret>,
    /// Bearer token for the event stream and log reads; the admin token is accepted too.
    #[serde(default, deserialize_with = "trimmed")]
    pub read_token: Option<Secret>,
    #[serde(default)]
    pub log_format: LogFormat,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
    /// A directory of action maps, templates, segments and schedule groups (JSON or YAML) loaded
    /// into the store at start; layout in `docs/provisioning.md`.
    #[serde(default)]
    pub provisioning_dir: Option<PathBuf>,
    /// Web chat agent accounts kept in the file (more can be added through the admin API).
    #[serde(default)]
    pub agents: Vec<crate::chat::agents::AgentConfig>,
    /// Web chat limits and timings.
    #[serde(default)]
    pub chat: crate::chat::ChatSettings,
    /// Where the visitor's location (`geolocation.*` segment criteria) comes from; none by
    /// default.
    #[serde(default)]
    pub geolocation: Geolocation,
    /// Set when `beckon serve` runs without a configuration file: the demo is seeded
    /// (`crate::demo`). Never set from a file.
    #[serde(skip)]
    pub demo: bool,
}

/// `[geolocation]`: where the visitor's location comes from ([`crate::geoip`]). A GeoIP
/// database file looked up by the client's address, and/or request headers that a trusted
/// reverse proxy in front of Beckon sets with the location (Cloudflare's `CF-IPCountry`, a load
/// balancer's own); a header that is present wins over the database for its key. A header is
/// read only when it is named here: a client can send any header, so name only headers that
/// the proxy always sets or strips. Without this section no location is derived and
/// `geolocation.*` criteria hold only with negative operators (see `docs/provisioning.md`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Geolocation {
    /// A MaxMind DB file with City or Country records (GeoLite2-City, GeoIP2-City, ...), read
    /// once at start.
    pub database: Option<PathBuf>,
    /// The header with the client's address to look up instead of the TCP peer's, e.g.
    /// `X-Forwarded-For`: believed only from `limits.trusted_proxies` (required with it) and
    /// read as the rate limiter reads its header, from the right past the trusted proxies.
    pub client_ip_header: Option<String>,
    /// ISO 3166-1 alpha-2 country code (`geolocation.country`), e.g. `CF-IPCountry`.
    pub country_header: Option<String>,
    /// Country name (`geolocation.countryName`).
    pub country_name_header: Option<String>,
    /// Region code, e.g. ISO 3166-2 subdivision `CA` (`geolocation.region`).
    pub region_header: Option<String>,
    /// Region name (`geolocation.regionName`).
    pub region_name_header: Option<String>,
    /// City (`geolocation.locality`).
    pub city_header: Option<String>,
    /// Postal code (`geolocation.postalCode`).
    pub postal_code_header: Option<String>,
    /// IANA time zone (`geolocation.timezone`).
    pub timezone_header: Option<String>,
}

impl Geolocation {
    /// Each configured header with the `geolocation` key it fills, in the order of the fields.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("country_header", &self.country_header),
            ("country_name_header", &self.country_name_header),
            ("region_header", &self.region_header),
            ("region_name_header", &self.region_name_header),
            ("city_header", &self.city_header),
            ("postal_code_header", &self.postal_code_header),
            ("timezone_header", &self.timezone_header),
        ]
        .into_iter()
        .filter_map(|(key, name)| Some((key, name.as_deref()?)))
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Bounds on what one client may send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Most events in one batch (413 above it).
    pub max_events_per_batch: usize,
    /// Sustained requests per second per client address, an IPv6 client by its /64 network
    /// (429 above it).
    pub requests_per_second: u32,
    /// Requests a client may send at once before the rate applies.
    pub burst: u32,
    /// Seconds a request may take, body included, before it is cut off (408).
    pub request_timeout_secs: u64,
    /// Most concurrent live stream subscribers.
    pub max_subscribers: usize,
    /// Most open connections, WebSockets and live streams included; a connection past them is
    /// accepted and closed at once (`crate::http`), so that the process keeps file descriptors
    /// for its own files and for the clients it serves.
    pub max_connections: usize,
    /// Behind a reverse proxy, the header it adds the client's address to (`X-Forwarded-For`):
    /// rates are then counted per client address found there, not per proxy. Unset: the TCP peer.
    pub client_ip_header: Option<String>,
    /// The proxies whose `client_ip_header` is believed (addresses or networks, `10.0.0.0/8`):
    /// required with it. The client is the last address in the header, from its right end, that
    /// is not one of them; a request from any other peer counts against that peer.
    pub trusted_proxies: Vec<Network>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 256 * 1024,
            max_events_per_batch: 500,
            requests_per_second: 50,
            burst: 100,
            request_timeout_secs: 10,
            max_subscribers: 10_000,
            max_connections: 10_000,
            client_ip_header: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The most `limits.max_connections` may be: a million, more than Linux lets one process open
/// files by default (`fs.nr_open`).
pub const MOST_CONNECTIONS: u64 = 1_000_000;

/// One web site set up in Beckon.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Deployment {
    pub id: Uuid,
    pub name: String,
    /// Origins (`scheme://host[:port]`) whose pages may send events; others get 403.
    pub allowed_origins: Vec<Origin>,
    #[serde(default)]
    pub terminal_suppression: Suppression,
    /// Frequency caps per media type (spec section 6, rule 3); all off by default. An action
    /// map with `ignoreFrequencyCap` is not held to them.
    #[serde(default)]
    pub frequency_caps: FrequencyCaps,
    /// An override for demos: decisions take a web chat agent to be free whatever the agents'
    /// presence (no `NoAvailableAgents`, no `ServiceLevelThrottling`). Off by default: webchat
    /// offers follow real availability (see `docs/chat.md`).
    #[serde(default)]
    pub assume_agents_available: bool,
}

impl Deployment {
    /// What decisions of this deployment are held to.
    pub fn decision_settings(&self) -> beckon_core::decide::Settings {
        use beckon_core::decide::{Settings, TerminalSuppression};
        Settings {
            webchat: self.frequency_caps.webchat.to_core(),
            contentoffer: self.frequency_caps.contentoffer.to_core(),
            terminal: match self.terminal_suppression.scope {
                SuppressionScope::Session => TerminalSuppression::Session,
                SuppressionScope::Customer => TerminalSuppression::Customer {
                    days: self.terminal_suppression.days,
                },
            },
        }
    }
}

/// `[deployments.frequency_caps]`: one cap per media type.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrequencyCaps {
    pub webchat: FrequencyCap,
    pub contentoffer: FrequencyCap,
}

/// Within one session, when not to offer a media type again.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct FrequencyCap {
    /// Not after the session had a conversation with an agent.
    pub after_agent_conversation: bool,
    /// Not after an offer of this media type was rejected in the session.
    pub after_rejection: bool,
    /// At least this many seconds between two offers of this media type (0: no minimum).
    pub min_wait_seconds: u32,
}

impl FrequencyCap {
    fn to_core(&self) -> beckon_core::decide::FrequencyCap {
        beckon_core::decide::FrequencyCap {
            after_agent_conversation: self.after_agent_conversation,
            after_rejection: self.after_rejection,
            min_wait_seconds: self.min_wait_seconds,
        }
    }
}

/// How long a terminal state (spec 3.3) stops the same action map from being offered again.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Suppression {
    pub scope: SuppressionScope,
    pub days: u32,
}

impl Default for Suppression {
    fn default() -> Self {
        Suppression {
            scope: SuppressionScope::Customer,
            days: 90,
        }
    }
}

/// Whether terminal suppression lasts for the session or follows the customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressionScope {
    Session,
    #[default]
    Customer,
}

/// An IP network, `10.0.0.0/8` or `2001:db8::/32`, or one address (`192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: std::net::IpAddr,
    prefix: u32,
}

impl Network {
    /// Whether the address is in the network (an IPv4 address written as IPv6, `::ffff:a.b.c.d`,
    /// as the IPv4 address it is).
    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        // The bits the prefix keeps (none for /0).
        let kept = |bits: u128, width: u32| bits.checked_shr(width - self.prefix).unwrap_or(0);
        match (self.address, address.to_canonical()) {
            (V4(net), V4(a)) => kept(net.to_bits().into(), 32) == kept(a.to_bits().into(), 32),
            (V6(net), V6(a)) => kept(net.to_bits(), 128) == kept(a.to_bits(), 128),
            _ => false,
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wrong = || format!("'{s}' is not an IP address or network, like 10.0.0.0/8");
        let (address, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let address: std::net::IpAddr = address.trim().parse().map_err(|_| wrong())?;
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(wrong)?,
            None => width,
        };
        Ok(Network { address, prefix })
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A web origin, checked when read: `scheme://host[:port]`, nothing after.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Origin(String);

impl Origin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Origin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("'{s}' is not an origin: expected scheme://host[:port]"))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "'{s}' is not an origin: the scheme must be http or https"
            ));
        }
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "'{s}' is not an origin: expected scheme://host[:port] with no path, like https://www.example.com"
            ));
        }
        Ok(Origin(s.to_ascii_lowercase()))
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One sink: where committed events go, at least once, in order per customer.
///
/// In the file a sink is one flat table: `type` and the kind's own keys sit beside the shared
/// ones. [`Config::parse`] moves the kind's keys under `type` before serde reads the table
/// (`nest_sink_kinds`), so that each key is read in place and an error in it names its line;
/// `#[serde(flatten)]` would read them from a copy that has lost every position.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Unique name; the sink's cursor and dead letters are kept under it.
    pub name: String,
    /// Which events the sink gets (stream filter syntax); all action events and blocked offers
    /// when empty.
    #[serde(default)]
    pub topics: Vec<StreamTopic>,
    /// Which deployments' events the sink gets: ids of configured deployments, at least one;
    /// every deployment's when absent.
    #[serde(default)]
    pub deployments: Option<Vec<Uuid>>,
    /// Events per delivery.
    #[serde(default = "default_sink_batch")]
    pub batch_size: usize,
    /// How long one delivery may take.
    #[serde(default = "default_sink_timeout")]
    pub timeout_ms: u64,
    /// The longest wait between retries.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
    #[serde(rename = "type")]
    pub kind: SinkKind,
}

impl SinkConfig {
    /// The keys of a `[[sinks]]` table that [`SinkConfig`] reads itself: every field but `kind`.
    const SHARED_KEYS: [&str; 6] = [
        "name",
        "topics",
        "deployments",
        "batch_size",
        "timeout_ms",
        "max_backoff_ms",
    ];
}

/// The kinds of sink and their own settings, read from `{ <type> = { <own keys> } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SinkKind {
    /// CloudEvents 1.0 batches over HTTP, HMAC-signed.
    Webhook {
        url: String,
        secret: Secret,
        /// Most bytes in one request body: a batch is cut into requests under it (a record
        /// larger than this goes alone).
        #[serde(default = "default_webhook_batch_bytes")]
        max_batch_bytes: usize,
    },
    /// NDJSON lines in a file, rotated by size.
    File {
        path: PathBuf,
        #[serde(default = "default_rotate_bytes")]
        max_bytes: u64,
        #[serde(default = "default_keep_files")]
        keep: usize,
    },
    /// Google Analytics 4 Measurement Protocol.
    Ga4 {
        measurement_id: String,
        api_secret: Secret,
        #[serde(default = "default_ga4_endpoint")]
        endpoint: String,
    },
    /// Segment's tracking API (`track` calls in batches).
    Segment {
        write_key: Secret,
        #[serde(default = "default_segment_endpoint")]
        endpoint: String,
    },
}

impl SinkKind {
    /// The kind's secret, if it has one: the kind's name, the key and its value.
    fn credential(&self) -> Option<(&'static str, &'static str, &str)> {
        match self {
            SinkKind::Webhook { secret, .. } => Some(("webhook", "secret", secret.expose())),
            SinkKind::Ga4 { api_secret, .. } => Some(("ga4", "api_secret", api_secret.expose())),
            SinkKind::Segment { write_key, .. } => {
                Some(("segment", "write_key", write_key.expose()))
            }
            SinkKind::File { .. } => None,
        }
    }

    /// The kind's URL, if it has one: the kind's name, the key and its value.
    fn url(&self) -> Option<(&'static str, &'static str, &str)> {
        match self {
            SinkKind::Webhook { url, .. } => Some(("webhook", "url", url)),
            SinkKind::Ga4 { endpoint, .. } => Some(("ga4", "endpoint", endpoint)),
            SinkKind::Segment { endpoint, .. } => Some(("segment", "endpoint", endpoint)),
            SinkKind::File { .. } => None,
        }
    }
}

/// Why `value` is not an absolute `http` or `https` URL, if it is not.
fn http_url(value: &str) -> Result<(), String> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        Ok(url) => Err(format!("the scheme is {}, not http or https", url.scheme())),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether a token or secret is empty (or only white space): a bearer token or an HMAC key that
/// anyone can guess.
pub fn blank(value: &str) -> bool {
    value.trim().is_empty()
}

/// A token without the white space around it. A request's token is read trimmed, so a
/// configured `" tok"` or `"tok\n"` (a secret file written with `echo`) could never be
/// presented; trimmed, it is the token the operator meant.
fn trimmed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|token| Secret(token.trim().to_owned())))
}

/// A configured secret: a token, or a sink's key. Its `Debug` form never shows it, so that a
/// configuration printed while debugging, or logged by mistake, gives none away; the value is
/// read through [`Secret::expose`] (or as a `str`), where it is used.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Secret {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A stream filter: a browser topic, or one of the kinds only the server has
/// (`<media>:blocked` for blocked offers, `web:<eventName>` / `web:all` for web events).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamTopic {
    Action(Topic),
    Blocked(beckon_core::MediaType),
    Web(Option<String>),
}

impl fmt::Display for StreamTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamTopic::Action(t) => t.fmt(f),
            StreamTopic::Blocked(m) => write!(f, "{m}:blocked"),
            StreamTopic::Web(None) => f.write_str("web:all"),
            StreamTopic::Web(Some(name)) => write!(f, "web:{name}"),
        }
    }
}

impl std::str::FromStr for StreamTopic {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("web", "all")) => Ok(StreamTopic::Web(None)),
            Some(("web", name)) if crate::ingest::is_event_name(name) => {
                Ok(StreamTopic::Web(Some(name.to_owned())))
            }
            Some((media, "blocked")) => media
                .parse()
                .map(StreamTopic::Blocked)
                .map_err(|e: beckon_core::UnknownMediaType| e.to_string()),
            _ => s.parse().map(StreamTopic::Action).map_err(|e: beckon_core::TopicError| {
                format!("{e}; the server also takes '<mediaType>:blocked', 'web:all' and 'web:<eventName>'")
            }),
        }
    }
}

/// Most distinct topics one read or live stream may filter on: each is a condition of the log's
/// query, and SQLite refuses a query past a depth of about a thousand.
pub const MAX_TOPICS: usize = 64;

/// The topics of one read, each once, in the order first given; an error naming the limit when
/// there are more than [`MAX_TOPICS`] distinct ones.
pub fn distinct_topics(topics: Vec<StreamTopic>) -> Result<Vec<StreamTopic>, String> {
    let mut distinct: Vec<StreamTopic> = Vec::with_capacity(topics.len().min(MAX_TOPICS));
    for topic in topics {
        if !distinct.contains(&topic) {
            if distinct.len() == MAX_TOPICS {
                return Err(format!(
                    "more than {MAX_TOPICS} distinct topics; at most {MAX_TOPICS} are accepted \
                     (a media type's ':all' covers all its states)"
                ));
            }
            distinct.push(topic);
        }
    }
    Ok(distinct)
}

impl<'de> Deserialize<'de> for StreamTopic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from(".beckon-data")
}
fn default_sink_batch() -> usize {
    100
}
fn default_sink_timeout() -> u64 {
    5_000
}
fn default_max_backoff() -> u64 {
    60_000
}
fn default_webhook_batch_bytes() -> usize {
    1024 * 1024
}
fn default_rotate_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_keep_files() -> usize {
    5
}
fn default_ga4_endpoint() -> String {
    "https://www.google-analytics.com/mp/collect".to_owned()
}
fn default_segment_endpoint() -> String {
    "https://api.segment.io/v1/batch".to_owned()
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str("").expect("the empty configuration is valid")
    }
}

/// A configuration that cannot be used: the file cannot be read, or something in it is wrong
/// at a line and column.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// One step of a key path in the file: a key of a table, or an entry of an array.
#[derive(Debug, Clone, Copy)]
enum Step {
    Key(&'static str),
    Entry(usize),
}

/// A rule that an entry breaks: the key path of what is at fault, and what is wrong.
#[derive(Debug)]
struct Broken {
    at: Vec<Step>,
    message: String,
}

impl Broken {
    fn at(at: &[Step], message: String) -> Broken {
        Broken {
            at: at.to_vec(),
            message,
        }
    }
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and checks configuration text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = position(text, offset);
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let toml_error =
            |e: toml::de::Error| invalid(e.span().map_or(0, |s| s.start), e.message().to_owned());
        let mut doc = DeTable::parse(text).map_err(toml_error)?;
        nest_sink_kinds(doc.get_mut());
        let config =
            Config::deserialize(toml::de::Deserializer::from(doc.clone())).map_err(toml_error)?;
        config.check().map_err(|broken| {
            let root = DeValue::Table(doc.into_inner());
            invalid(locate(&root, &broken.at, 0), broken.message)
        })?;
        Ok(config)
    }

    /// Rules serde does not check: across entries (an id used twice) and on values (a zero
    /// batch size, an empty token or secret), each with the key path at fault.
    fn check(&self) -> Result<(), Broken> {
        use Step::{Entry, Key};
        for (key, token) in [
            ("admin_token", &self.admin_token),
            ("read_token", &self.read_token),
        ] {
            if token.as_deref().is_some_and(blank) {
                return Err(Broken::at(
                    &[Key(key)],
                    format!(
                        "{key} is empty: it would let anyone in; set a token or remove the key"
                    ),
                ));
            }
        }
        let mut ids = HashSet::new();
        for (i, d) in self.deployments.iter().enumerate() {
            if !ids.insert(d.id) {
                return Err(Broken::at(
                    &[Key("deployments"), Entry(i), Key("id")],
                    format!("deployments[{i}]: the id {} is used twice", d.id),
                ));
            }
            if d.allowed_origins.is_empty() {
                return Err(Broken::at(
                    &[Key("deployments"), Entry(i), Key("allowed_origins")],
                    format!(
                        "deployments[{i}] ({}): allowed_origins is empty, so no page could send events",
                        d.name
                    ),
                ));
            }
        }
        // Entry by entry, so that the first error found is the entry at fault.
        for i in 0..self.agents.len() {
            crate::chat::agents::check_config(&self.agents[..=i])
                .map_err(|message| Broken::at(&[Key("agents"), Entry(i)], message))?;
        }
        let client_ip_header = self
            .geolocation
            .client_ip_header
            .as_deref()
            .map(|name| ("client_ip_header", name));
        for (key, name) in self.geolocation.headers().chain(client_ip_header) {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(Broken::at(
                    &[Key("geolocation"), Key(key)],
                    format!("geolocation.{key}: '{name}' is not an HTTP header name"),
                ));
            }
        }
        if self.geolocation.client_ip_header.is_some() && self.limits.trusted_proxies.is_empty() {
            return Err(Broken::at(
                &[Key("geolocation"), Key("client_ip_header")],
                "geolocation.client_ip_header needs limits.trusted_proxies: the addresses of the \
                 proxies that set it (anyone else could write any address there, and choose \
                 where they are)"
                    .to_owned(),
            ));
        }
        if let Some(name) = self.limits.client_ip_header.as_deref() {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(Broken::at(
                    &[Key("limits"), Key("client_ip_header")],
                    format!("limits.client_ip_header: '{name}' is not an HTTP header name"),
                ));
            }
            if self.limits.trusted_proxies.is_empty() {
                return Err(Broken::at(
                    &[Key("limits"), Key("client_ip_header")],
                    "limits.client_ip_header needs limits.trusted_proxies: the addresses of the \
                     proxies that set it (anyone else could write any address there)"
                        .to_owned(),
                ));
            }
        }
        let mut names = HashSet::new();
        let mut files = HashSet::new();
        for (i, s) in self.sinks.iter().enumerate() {
            if !names.insert(s.name.as_str()) {
                return Err(Broken::at(
                    &[Key("sinks"), Entry(i), Key("name")],
                    format!("sinks[{i}]: the name '{}' is used twice", s.name),
                ));
            }
            // Two file sinks writing (and rotating) one file would cut each other's lines.
            if let SinkKind::File { path, .. } = &s.kind
                && !files.insert(std::path::absolute(path).unwrap_or_else(|_| path.clone()))
            {
                return Err(Broken::at(
                    &[
                        Key("sinks"),
                        Entry(i),
                        Key("type"),
                        Key("file"),
                        Key("path"),
                    ],
                    format!(
                        "sinks[{i}] ({}): another file sink writes {} already",
                        s.name,
                        path.display()
                    ),
                ));
            }
            // A zero would deliver nothing, time every delivery out, or retry without a pause.
            for (key, value) in [
                ("batch_size", s.batch_size as u64),
                ("timeout_ms", s.timeout_ms),
                ("max_backoff_ms", s.max_backoff_ms),
            ] {
                if value == 0 {
                    return Err(Broken::at(
                        &[Key("sinks"), Entry(i), Key(key)],
                        format!("sinks[{i}] ({}): {key} must be at least 1", s.name),
                    ));
                }
            }
            // No request could hold a record: every one would go alone, whatever its size.
            if let SinkKind::Webhook {
                max_batch_bytes: 0, ..
            } = s.kind
            {
                return Err(Broken::at(
                    &[
                        Key("sinks"),
                        Entry(i),
                        Key("type"),
                        Key("webhook"),
                        Key("max_batch_bytes"),
                    ],
                    format!(
                        "sinks[{i}] ({}): max_batch_bytes must be at least 1",
                        s.name
                    ),
                ));
            }
            // Each line would rotate the file, so that only the last `keep` records were kept.
            if let SinkKind::File { max_bytes: 0, .. } = s.kind {
                return Err(Broken::at(
                    &[
                        Key("sinks"),
                        Entry(i),
                        Key("type"),
                        Key("file"),
                        Key("max_bytes"),
                    ],
                    format!("sinks[{i}] ({}): max_bytes must be at least 1", s.name),
                ));
            }
            // Not echoed: a webhook's URL may hold a secret of its receiver.
            if let Some((kind, key, value)) = s.kind.url()
                && let Err(why) = http_url(value)
            {
                return Err(Broken::at(
                    &[Key("sinks"), Entry(i), Key("type"), Key(kind), Key(key)],
                    format!(
                        "sinks[{i}] ({}): {key} is not an absolute http or https URL: {why}",
                        s.name
                    ),
                ));
            }
            if let Some((kind, key, _)) = s.kind.credential().filter(|c| blank(c.2)) {
                return Err(Broken::at(
                    &[Key("sinks"), Entry(i), Key("type"), Key(kind), Key(key)],
                    format!("sinks[{i}] ({}): {key} is empty", s.name),
                ));
            }
            // An empty list would deliver nothing; an unknown id, events of no site.
            if let Some(scope) = &s.deployments {
                if scope.is_empty() {
                    return Err(Broken::at(
                        &[Key("sinks"), Entry(i), Key("deployments")],
                        format!(
                            "sinks[{i}] ({}): deployments is empty, so the sink would get \
                             nothing; remove the key to send every deployment's events",
                            s.name
                        ),
                    ));
                }
                let mut listed = HashSet::new();
                for (j, id) in scope.iter().enumerate() {
                    let fault = if !ids.contains(id) {
                        "is not a configured deployment"
                    } else if !listed.insert(id) {
                        "is listed twice"
                    } else {
                        continue;
                    };
                    return Err(Broken::at(
                        &[Key("sinks"), Entry(i), Key("deployments"), Entry(j)],
                        format!("sinks[{i}] ({}): deployments[{j}] {id} {fault}", s.name),
                    ));
                }
            }
        }
        // Numbers with bounds: a zero that would switch a limit off or refuse everything (a
        // zero rate, a zero message size), or a value so large that a clock would overflow or
        // dead chat sockets keep their places for hours.
        let (limits, chat) = (&self.limits, &self.chat);
        let any = u64::MAX;
        for (section, name, value, most) in [
            (
                "limits",
                "max_body_bytes",
                limits.max_body_bytes as u64,
                any,
            ),
            (
                "limits",
                "max_events_per_batch",
                limits.max_events_per_batch as u64,
                any,
            ),
            (
                "limits",
                "requests_per_second",
                limits.requests_per_second.into(),
                any,
            ),
            ("limits", "burst", limits.burst.into(), any),
            (
                "limits",
                "request_timeout_secs",
                limits.request_timeout_secs,
                any,
            ),
            (
                "limits",
                "max_subscribers",
                limits.max_subscribers as u64,
                any,
            ),
            (
                "limits",
                "max_connections",
                limits.max_connections as u64,
                MOST_CONNECTIONS,
            ),
            ("chat", "session_hours", chat.session_hours, 24 * 366),
            (
                "chat",
                "abandon_after_secs",
                chat.abandon_after_secs,
                24 * 3600,
            ),
            (
                "chat",
                "max_message_bytes",
                chat.max_message_bytes as u64,
                64 * 1024,
            ),
            (
                "chat",
                "messages_per_second",
                chat.messages_per_second.into(),
                any,
            ),
            ("chat", "message_burst", chat.message_burst.into(), any),
            ("chat", "ping_interval_secs", chat.ping_interval_secs, 3600),
            // Sign-in quotas: above ten a second they would no longer hold password guessing
            // below the request rate.
            (
                "chat",
                "sign_ins_per_minute",
                chat.sign_ins_per_minute.into(),
                600,
            ),
            ("chat", "sign_in_burst", chat.sign_in_burst.into(), 1000),
            (
                "chat",
                "sign_ins_per_minute_per_email",
                chat.sign_ins_per_minute_per_email.into(),
                600,
            ),
            (
                "chat",
                "sign_in_burst_per_email",
                chat.sign_in_burst_per_email.into(),
                1000,
            ),
        ] {
            if !(1..=most).contains(&value) {
                let bounds = match most {
                    u64::MAX => "at least 1".to_owned(),
                    most => format!("from 1 to {most}"),
                };
                return Err(Broken::at(
                    &[Key(section), Key(name)],
                    format!("{section}.{name} must be {bounds}"),
                ));
            }
        }
        Ok(())
    }

    /// Applies `BECKON_*` environment variables over what the file said.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if let Some(v) = env("BECKON_LISTEN") {
            self.listen = v
                .parse()
                .map_err(|e| format!("BECKON_LISTEN='{v}' is not an address: {e}"))?;
        }
        if let Some(v) = env("BECKON_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        for (name, token) in [
            ("BECKON_ADMIN_TOKEN", &mut self.admin_token),
            ("BECKON_READ_TOKEN", &mut self.read_token),
        ] {
            if let Some(v) = env(name) {
                if blank(&v) {
                    return Err(format!(
                        "{name} is set but empty: it would let anyone in; set a token or unset it"
                    ));
                }
                // Trimmed like the file's tokens (see `trimmed`).
                *token = Some(Secret(v.trim().to_owned()));
            }
        }
        if let Some(v) = env("BECKON_PROVISIONING_DIR") {
            self.provisioning_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("BECKON_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(format!("BECKON_LOG_FORMAT='{v}': expected text or json")),
            };
        }
        Ok(())
    }

    /// The configuration of `beckon serve` without a file: defaults, and the demo seeded.
    pub fn builtin_demo() -> Config {
        Config {
            demo: true,
            ..Config::default()
        }
    }

    /// With no deployment configured, the demo deployment on the server's own origin.
    pub fn with_demo_deployment(mut self) -> Config {
        if self.deployments.is_empty() {
            let port = self.listen.port();
            self.deployments.push(Deployment {
                id: DEMO_DEPLOYMENT_ID,
                name: "Demo".to_owned(),
                allowed_origins: vec![
                    Origin(format!("http://localhost:{port}")),
                    Origin(format!("http://127.0.0.1:{port}")),
                ],
                terminal_suppression: Suppression::default(),
                frequency_caps: FrequencyCaps::default(),
                assume_agents_available: false,
            });
        }
        self
    }
}

/// Moves the kind's own keys of each `[[sinks]]` table under its `type`:
/// `{ name = "a", type = "file", path = "p" }` becomes `{ name = "a", type = { file = { path = "p" } } }`,
/// which [`SinkConfig`] reads as an externally tagged [`SinkKind`]. Every key keeps its position;
/// the new `file` key takes that of the `type` value (an unknown type is reported there) and its
/// table that of the sink (a missing key is reported at the sink, like a missing `name`). A sink
/// whose `type` is missing or not a string is left as it is, for serde to refuse.
fn nest_sink_kinds(doc: &mut DeTable<'_>) {
    let Some(DeValue::Array(sinks)) = doc.get_mut("sinks").map(|v| v.get_mut()) else {
        return;
    };
    for sink in sinks.iter_mut() {
        let sink_span = sink.span();
        let DeValue::Table(table) = sink.get_mut() else {
            continue;
        };
        let Some((type_key, kind)) = table.remove_entry("type") else {
            continue;
        };
        let DeValue::String(kind_name) = kind.get_ref() else {
            table.insert(type_key, kind);
            continue;
        };
        let (shared, own): (DeTable<'_>, DeTable<'_>) = std::mem::take(table)
            .into_iter()
            .partition(|(key, _)| SinkConfig::SHARED_KEYS.contains(&key.get_ref().as_ref()));
        *table = shared;
        let nested = DeTable::from_iter([(
            Spanned::new(kind.span(), kind_name.clone()),
            Spanned::new(sink_span, DeValue::Table(own)),
        )]);
        table.insert(type_key, Spanned::new(kind.span(), DeValue::Table(nested)));
    }
}

/// The byte offset in the file of the deepest step of `at` that the file has (`found` when it
/// has none): the key at fault, or else the table or entry that holds it.
fn locate(value: &DeValue<'_>, at: &[Step], found: usize) -> usize {
    let next = match (at.first(), value) {
        (Some(Step::Key(key)), DeValue::Table(table)) => table
            .get_key_value(*key)
            .map(|(key, value)| (key.span().start, value)),
        (Some(Step::Entry(i)), DeValue::Array(entries)) => {
            entries.get(*i).map(|entry| (entry.span().start, entry))
        }
        _ => None,
    };
    match next {
        Some((start, value)) => locate(value.get_ref(), &at[1..], start),
        None => found,
    }
}

/// The line and column (1-based, the column in characters) of a byte offset in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("beckon.toml"))
    }

    #[test]
    fn empty_file_is_the_default() {
        let c = parse("").unwrap();
        assert_eq!(c.listen.port(), 8080);
        assert!(c.deployments.is_empty());
        assert_eq!(
            c.with_demo_deployment().deployments[0].id,
            DEMO_DEPLOYMENT_ID
        );
    }

    #[test]
    fn errors_name_the_line() {
        let text = "listen = \"127.0.0.1:9000\"\n\n[[deployments]]\nid = \"not-a-uuid\"\nname = \"x\"\nallowed_origins = []\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with("beckon.toml:4:"), "{err}");
    }

    #[test]
    fn bad_origin_and_bad_topic_are_refused_with_line() {
        let text = "[[deployments]]\nid = \"5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61\"\nname = \"x\"\nallowed_origins = [\"https://a.example/path\"]\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(":4:") && err.contains("no path"), "{err}");

        let text = "[[sinks]]\nname = \"w\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1\"\nsecret = \"s\"\ntopics = [\"webchat:*\"]\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("did you mean 'webchat:all'"), "{err}");
    }

    #[test]
    fn unknown_keys_and_sink_types_are_refused() {
        assert!(
            parse("lisen = \"x\"")
                .unwrap_err()
                .to_string()
                .contains("lisen")
        );
        let err = parse("[[sinks]]\nname = \"k\"\ntype = \"kafka\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("kafka"), "{err}");
    }

    #[test]
    fn every_sink_kind_parses_and_unknown_sink_keys_are_refused() {
        let text = r#"
[[sinks]]
name = "hook"
type = "webhook"
url = "https://hooks.example/beckon"
secret = "s"
topics = ["webchat:all", "contentoffer:blocked"]
batch_size = 10

[[sinks]]
name = "archive"
type = "file"
path = "/var/lib/beckon/events.ndjson"
keep = 3

[[sinks]]
name = "ga4"
type = "ga4"
measurement_id = "G-X"
api_secret = "a"

[[sinks]]
name = "segment"
type = "segment"
write_key = "w"
"#;
        let c = parse(text).unwrap();
        assert_eq!(c.sinks.len(), 4);
        assert_eq!(c.sinks[0].batch_size, 10);
        assert_eq!(c.sinks[0].topics.len(), 2);
        assert!(matches!(
            c.sinks[1].kind,
            SinkKind::File {
                keep: 3,
                max_bytes: 67_108_864,
                ..
            }
        ));
        assert!(
            matches!(&c.sinks[3].kind, SinkKind::Segment { endpoint, .. } if endpoint == "https://api.segment.io/v1/batch")
        );
        let err = parse("[[sinks]]\nname = \"w\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1\"\nsecret = \"s\"\nbatchsize = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("batchsize"), "{err}");
    }

    /// `line:column: message` of the error `text` is refused with.
    fn refused_at(text: &str) -> String {
        let err = parse(text).unwrap_err().to_string();
        err.strip_prefix("beckon.toml:")
            .unwrap_or_else(|| panic!("no line in {err}"))
            .to_owned()
    }

    const DEPLOYMENT: &str = "[[deployments]]\nid = \"5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61\"\nname = \"a\"\nallowed_origins = [\"https://a.example\"]\n";

    #[test]
    fn sink_deployments_are_configured_deployments_listed_once() {
        let id = "5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61";
        let sink = format!(
            "{DEPLOYMENT}\n[[sinks]]\nname = \"shop\"\ntype = \"file\"\npath = \"a.ndjson\"\n"
        );
        let scoped = parse(&format!("{sink}deployments = [\"{id}\"]\n")).unwrap();
        assert_eq!(scoped.sinks[0].deployments, Some(vec![id.parse().unwrap()]));
        assert_eq!(parse(&sink).unwrap().sinks[0].deployments, None);

        let unknown = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
        let err = refused_at(&format!("{sink}deployments = [\"{id}\", \"{unknown}\"]\n"));
        assert!(
            err.starts_with(&format!(
                "10:56: sinks[0] (shop): deployments[1] {unknown} is not a configured deployment"
            )),
            "{err}"
        );
        let err = refused_at(&format!("{sink}deployments = [\"{id}\", \"{id}\"]\n"));
        assert!(
            err.starts_with(&format!(
                "10:56: sinks[0] (shop): deployments[1] {id} is listed twice"
            )),
            "{err}"
        );
        let err = refused_at(&format!("{sink}deployments = []\n"));
        assert!(
            err.starts_with("10:1: sinks[0] (shop): deployments is empty"),
            "{err}"
        );
    }

    #[test]
    fn rule_errors_name_the_key_at_fault() {
        let twice = format!("{DEPLOYMENT}\n{DEPLOYMENT}");
        let err = refused_at(&twice);
        assert!(err.starts_with("7:1: deployments[1]: the id "), "{err}");

        let no_origin = DEPLOYMENT.replace("[\"https://a.example\"]", "[]");
        let err = refused_at(&format!("listen = \"127.0.0.1:9000\"\n{no_origin}"));
        assert!(
            err.starts_with("5:1: deployments[0] (a): allowed_origins is empty"),
            "{err}"
        );

        let sink = "[[sinks]]\nname = \"a\"\ntype = \"file\"\npath = \"a.ndjson\"\n";
        let err = refused_at(&format!("{sink}\n{sink}"));
        assert!(
            err.starts_with("7:1: sinks[1]: the name 'a' is used twice"),
            "{err}"
        );
        let other = "[[sinks]]\nname = \"b\"\ntype = \"file\"\npath = \"./a.ndjson\"\n";
        let err = refused_at(&format!("{sink}\n{other}"));
        assert!(
            err.starts_with("9:1: sinks[1] (b): another file sink writes ./a.ndjson already"),
            "{err}"
        );
        let err = refused_at(&format!("{sink}  batch_size = 0\n"));
        assert!(
            err.starts_with("5:3: sinks[0] (a): batch_size must be at least 1"),
            "{err}"
        );
        let hook = "[[sinks]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1\"\nsecret = \"s\"\n";
        let err = refused_at(&format!("{hook}max_batch_bytes = 0\n"));
        assert!(
            err.starts_with("6:1: sinks[0] (h): max_batch_bytes must be at least 1"),
            "{err}"
        );
        assert!(matches!(
            parse(hook).unwrap().sinks[0].kind,
            SinkKind::Webhook {
                max_batch_bytes: 1_048_576,
                ..
            }
        ));

        let err = refused_at("[limits]\nburst = 20\nmax_events_per_batch = 0\n");
        assert!(
            err.starts_with("3:1: limits.max_events_per_batch must be at least 1"),
            "{err}"
        );
        let err = refused_at("listen = \"127.0.0.1:9000\"\nlimits.requests_per_second = 0\n");
        assert!(
            err.starts_with("2:8: limits.requests_per_second must be"),
            "{err}"
        );

        for (key, wrong, bounds) in [
            ("ping_interval_secs", "0", "from 1 to 3600"),
            ("ping_interval_secs", "3601", "from 1 to 3600"),
            ("session_hours", "0", "from 1 to 8784"),
            ("session_hours", "5000000000000000", "from 1 to 8784"),
            ("abandon_after_secs", "0", "from 1 to 86400"),
            ("max_message_bytes", "0", "from 1 to 65536"),
            ("messages_per_second", "0", "at least 1"),
            ("message_burst", "0", "at least 1"),
            ("sign_ins_per_minute", "0", "from 1 to 600"),
            ("sign_ins_per_minute", "601", "from 1 to 600"),
            ("sign_in_burst", "0", "from 1 to 1000"),
            ("sign_in_burst", "1001", "from 1 to 1000"),
            ("sign_ins_per_minute_per_email", "0", "from 1 to 600"),
            ("sign_ins_per_minute_per_email", "601", "from 1 to 600"),
            ("sign_in_burst_per_email", "0", "from 1 to 1000"),
            ("sign_in_burst_per_email", "1001", "from 1 to 1000"),
        ] {
            let err = refused_at(&format!("[chat]\n{key} = {wrong}\n"));
            assert!(
                err.starts_with(&format!("2:1: chat.{key} must be {bounds}")),
                "{key} = {wrong}: {err}"
            );
        }

        let err = refused_at("[limits]\nclient_ip_header = \"X-Forwarded-For\"\n");
        assert!(
            err.starts_with("2:1: limits.client_ip_header needs limits.trusted_proxies"),
            "{err}"
        );
        let err = refused_at("[geolocation]\nclient_ip_header = \"X-Forwarded-For\"\n");
        assert!(
            err.starts_with("2:1: geolocation.client_ip_header needs limits.trusted_proxies"),
            "{err}"
        );
        let err = refused_at("[limits]\ntrusted_proxies = [\"10.0.0.0/33\"]\n");
        assert!(
            err.starts_with("2:19: '10.0.0.0/33' is not an IP address or network"),
            "{err}"
        );
        let err = refused_at(
            "[limits]\nclient_ip_header = \"X Forwarded\"\ntrusted_proxies = [\"10.0.0.1\"]\n",
        );
        assert!(
            err.starts_with("2:1: limits.client_ip_header: 'X Forwarded' is not"),
            "{err}"
        );

        let err = refused_at("[geolocation]\n\ncity_header = \"X City\"\n");
        assert!(
            err.starts_with("3:1: geolocation.city_header: 'X City'"),
            "{err}"
        );
    }

    #[test]
    fn max_connections_has_a_default_and_bounds_refused_with_their_line() {
        let limits = |text: &str| parse(text).unwrap().limits;
        assert_eq!(limits("").max_connections, 10_000);
        assert_eq!(limits("[limits]\nmax_connections = 1\n").max_connections, 1);
        assert_eq!(
            limits("[limits]\nmax_connections = 1000000\n").max_connections,
            1_000_000
        );
        for wrong in ["0", "1000001", "9223372036854775807"] {
            let err = refused_at(&format!(
                "[limits]\nburst = 20\nmax_connections = {wrong}\n"
            ));
            assert!(
                err.starts_with("3:1: limits.max_connections must be from 1 to 1000000"),
                "max_connections = {wrong}: {err}"
            );
        }
        let err = refused_at("[limits]\nmax_connections = -1\n");
        assert!(err.starts_with("2:"), "{err}");
    }

    #[test]
    fn an_agent_error_names_the_entry_at_fault() {
        let agent = |email: &str| {
            format!(
                "[[agents]]\nname = \"Ada\"\nemail = \"{email}\"\npassword_hash = \"{}\"\n",
                crate::chat::agents::hash_password("pw")
            )
        };
        let text = format!(
            "{}\n{}",
            agent("ada@shop.example"),
            agent("ADA@shop.example")
        );
        let err = refused_at(&text);
        assert!(err.starts_with("6:1: agents[1]: the email"), "{err}");
        let err = refused_at(&format!(
            "{}\n{}",
            agent("ada@shop.example"),
            agent("no email")
        ));
        assert!(err.starts_with("6:1: agents[1].email"), "{err}");
    }

    #[test]
    fn sink_kind_errors_name_their_own_line() {
        let sink = "listen = \"127.0.0.1:9000\"\n\n[[sinks]]\nname = \"a\"\n";
        let err = refused_at(&format!("{sink}type = \"kafka\"\n"));
        assert!(err.starts_with("5:8: unknown variant `kafka`"), "{err}");
        let err = refused_at(&format!(
            "{sink}type = \"file\"\npath = \"a\"\nkeep = \"three\"\n"
        ));
        assert!(
            err.starts_with("7:8: invalid type: string \"three\""),
            "{err}"
        );
        let err = refused_at(&format!(
            "{sink}type = \"webhook\"\nurl = \"http://127.0.0.1:1\"\nkeep = 3\nsecret = \"s\"\n"
        ));
        assert!(err.starts_with("7:1: ") && err.contains("keep"), "{err}");
        // A key the kind needs and the file lacks: at the sink, like a missing shared key.
        let err = refused_at(&format!("{sink}type = \"webhook\"\nsecret = \"s\"\n"));
        assert!(err.starts_with("3:1: missing field `url`"), "{err}");
        let err = refused_at(sink);
        assert!(err.starts_with("3:1: missing field `type`"), "{err}");
        // Shared keys are read beside the kind's.
        let err = refused_at(&format!(
            "{sink}type = \"file\"\npath = \"a\"\ntimeout_ms = \"x\"\n"
        ));
        assert!(err.starts_with("7:14: invalid type: string \"x\""), "{err}");
    }

    #[test]
    fn columns_count_characters() {
        let err = refused_at("sinks = [{ name = \"café\", type = \"file\", path = 3 }]\n");
        // `3` is the 49th character and the 50th byte.
        assert!(err.starts_with("1:49: invalid type: integer"), "{err}");
    }

    #[test]
    fn stream_topics_cover_server_only_kinds() {
        assert_eq!(
            "webchat:blocked".parse::<StreamTopic>().unwrap(),
            StreamTopic::Blocked(beckon_core::MediaType::Webchat)
        );
        assert_eq!(
            "web:pageview".parse::<StreamTopic>().unwrap().to_string(),
            "web:pageview"
        );
        assert!("web:bad name".parse::<StreamTopic>().is_err());
    }

    #[test]
    fn tokens_are_trimmed_from_the_file_and_the_environment() {
        let mut c = parse("admin_token = \" tok\"\nread_token = \"reader\\n\"\n").unwrap();
        assert_eq!(c.admin_token.as_deref(), Some("tok"));
        assert_eq!(c.read_token.as_deref(), Some("reader"));
        c.apply_env(|k| (k == "BECKON_ADMIN_TOKEN").then(|| "env-tok\n".to_owned()))
            .unwrap();
        assert_eq!(c.admin_token.as_deref(), Some("env-tok"));
        let err = refused_at("read_token = \"\\n\"\n");
        assert!(err.starts_with("1:1: read_token is empty"), "{err}");
    }

    #[test]
    fn a_printed_configuration_shows_no_secret() {
        let c = parse(
            r#"
admin_token = "admin-secret-1"
read_token = "read-secret-2"

[[sinks]]
name = "hook"
type = "webhook"
url = "https://hooks.example/beckon"
secret = "hook-secret-3"

[[sinks]]
name = "ga4"
type = "ga4"
measurement_id = "G-X"
api_secret = "ga4-secret-4"

[[sinks]]
name = "segment"
type = "segment"
write_key = "segment-secret-5"
"#,
        )
        .unwrap();
        let printed = format!("{c:?} {c:#?}");
        for secret in [
            "admin-secret-1",
            "read-secret-2",
            "hook-secret-3",
            "ga4-secret-4",
            "segment-secret-5",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert_eq!(printed.matches("<redacted>").count(), 10, "{printed}");
        // Where they are used, they are whole.
        assert_eq!(c.admin_token.as_deref(), Some("admin-secret-1"));
        assert!(
            matches!(&c.sinks[2].kind, SinkKind::Segment { write_key, .. } if write_key.expose() == "segment-secret-5")
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = parse("listen = \"127.0.0.1:9000\"").unwrap();
        c.apply_env(|k| (k == "BECKON_LISTEN").then(|| "127.0.0.1:9100".to_owned()))
            .unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert!(
            c.apply_env(|k| (k == "BECKON_LOG_FORMAT").then(|| "xml".to_owned()))
                .is_err()
        );
    }
}
