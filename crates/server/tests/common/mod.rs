//! Shared by the integration tests: start the real `beckon` binary on loopback with a config in
//! a temporary data directory, and build valid requests for it.
#![allow(dead_code)] // each test binary uses its own part of this module

pub mod qualified;
pub mod routes;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use uuid::Uuid;

pub const DEPLOYMENT: &str = "5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61";
pub const ORIGIN: &str = "http://shop.test";
pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const READ_TOKEN: &str = "test-read-token";

/// A running `beckon serve`, stopped (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    url: String,
    config: PathBuf,
    data: tempfile::TempDir,
    pub stderr_log: PathBuf,
    /// Environment variables the process gets beside the config.
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts a server whose config is the base (listen, data dir, tokens, one deployment
    /// allowing [`ORIGIN`]) followed by `extra` TOML (more tables such as `[limits]`, `[[sinks]]`).
    pub fn start(extra: &str) -> Server {
        Server::start_provisioned(extra, &[])
    }

    /// Like [`Server::start`], with `provisioning_dir` set to a folder holding `files`
    /// (relative path, content).
    pub fn start_provisioned(extra: &str, files: &[(&str, &str)]) -> Server {
        Server::start_full(extra, "", files)
    }

    /// The most general start: `extra` top-level TOML, `deployment` keys added to the test
    /// deployment's table, and provisioning `files`.
    pub fn start_full(extra: &str, deployment: &str, files: &[(&str, &str)]) -> Server {
        Server::start_prepared(extra, deployment, files, |_| {})
    }

    /// Like [`Server::start_full`], running `prepare` on the data directory's path (which does
    /// not exist yet) before the server starts: to mount a filesystem there, say.
    pub fn start_prepared(
        extra: &str,
        deployment: &str,
        files: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Server {
        let mut server = Server::configured(extra, deployment, files, prepare);
        server.spawn();
        server
    }

    /// Like [`Server::start`], with `env` set for the process (it overrides the config's
    /// `BECKON_*` settings).
    pub fn start_with_env(extra: &str, env: &[(&str, &str)]) -> Server {
        let mut server = Server::configured(extra, "", &[], |_| {});
        server.env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        server.spawn();
        server
    }

    /// The config and data directory of [`Server::start_prepared`], not started yet.
    fn configured(
        extra: &str,
        deployment: &str,
        files: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        prepare(&data.path().join("data"));
        let config = data.path().join("beckon.toml");
        let mut provisioning = String::new();
        if !files.is_empty() {
            let dir = data.path().join("provisioning");
            for (path, text) in files {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).expect("provisioning dir");
                std::fs::write(path, text).expect("provisioning file");
            }
            provisioning = format!("provisioning_dir = \"{}\"\n", dir.display());
        }
        let base = format!(
            "{provisioning}data_dir = \"{}\"\nadmin_token = \"{ADMIN_TOKEN}\"\nread_token = \"{READ_TOKEN}\"\n\
             listen = \"127.0.0.1:0\"\n{extra}\n\
             [[deployments]]\nid = \"{DEPLOYMENT}\"\nname = \"Test shop\"\nallowed_origins = [\"{ORIGIN}\"]\n{deployment}\n",
            data.path().join("data").display()
        );
        std::fs::write(&config, base).expect("write config");
        Server {
            child: None,
            url: String::new(),
            stderr_log: data.path().join("stderr.log"),
            config,
            data,
            env: Vec::new(),
        }
    }

    /// Starts the process on the same config and data directory, on a new port.
    fn spawn(&mut self) {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_log)
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_beckon"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env_remove("BECKON_ADMIN_TOKEN")
            .env_remove("BECKON_LISTEN")
            .env_remove("BECKON_DATA_DIR")
            .env("RUST_LOG", self.log_level())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("beckon starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("beckon listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => panic!(
                    "beckon exited before listening: {}",
                    std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
                ),
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
        self.url = url;
    }

    /// `RUST_LOG` for the process: `info`, unless the config has a line `# RUST_LOG=<level>`
    /// (put it in `extra`).
    fn log_level(&self) -> String {
        std::fs::read_to_string(&self.config)
            .ok()
            .and_then(|c| {
                c.lines()
                    .find_map(|l| l.strip_prefix("# RUST_LOG=").map(str::to_owned))
            })
            .unwrap_or_else(|| "info".to_owned())
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data.path().join("data")
    }

    pub fn dir(&self) -> &Path {
        self.data.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for a graceful exit; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        child.wait().expect("exit status")
    }

    /// Starts the process again after [`Server::kill`] or [`Server::terminate`], on the same
    /// config and data directory; waits for it to listen.
    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// Kills the process (SIGKILL) and starts it again on the same data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn admin_token(&self) -> &str {
        ADMIN_TOKEN
    }

    pub fn deployment_id(&self) -> Uuid {
        DEPLOYMENT.parse().expect("a UUID")
    }

    pub fn origin(&self) -> &str {
        ORIGIN
    }

    /// GET with the admin token: the status and the JSON body (`Null` if none).
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let r = client()
            .get(format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// POST without a body, with the admin token: the status and the JSON body.
    pub async fn admin_post(&self, path: &str) -> (u16, Value) {
        let r = client()
            .post(format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Any admin request with the admin token and an optional JSON body: the status and the
    /// JSON body (`Null` if none).
    pub async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method: reqwest::Method = method.parse().expect("method");
        let mut request = client()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send().await.expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// POSTs web events and returns the `actions` of the answer (asserting a 200).
    pub async fn actions(&self, events: &Value) -> Vec<Value> {
        let r = self.post("web-events", events).await;
        assert_eq!(r.status(), 200, "web events refused");
        let body: Value = r.json().await.expect("json");
        body["actions"].as_array().expect("actions").clone()
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        client()
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("text")
    }

    pub fn ingest_url(&self, route: &str) -> String {
        format!("{}/api/v1/deployments/{DEPLOYMENT}/{route}", self.url)
    }

    /// POSTs JSON to an ingestion route with the allowed origin.
    pub async fn post(&self, route: &str, body: &Value) -> reqwest::Response {
        client()
            .post(self.ingest_url(route))
            .header("origin", ORIGIN)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Reads the whole log (read token) through the paged API.
    pub async fn log(&self, query: &str) -> Vec<Value> {
        let mut after = 0u64;
        let mut all = Vec::new();
        loop {
            let page: Value = client()
                .get(format!(
                    "{}/api/v1/events?after={after}&limit=1000{query}",
                    self.url
                ))
                .bearer_auth(READ_TOKEN)
                .send()
                .await
                .expect("read")
                .json()
                .await
                .expect("json");
            let events = page["events"].as_array().expect("events").clone();
            if events.is_empty() {
                return all;
            }
            after = page["next"].as_u64().expect("next");
            all.extend(events);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// reqwest is built without a default TLS provider (the binary installs ring at start).
fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn client() -> reqwest::Client {
    builder().build().expect("client")
}

/// Like [`client`], with its connections made from `address` (any of 127.0.0.0/8 is this
/// machine: a second loopback peer).
pub fn client_from(address: std::net::IpAddr) -> reqwest::Client {
    builder().local_address(address).build().expect("client")
}

fn builder() -> reqwest::ClientBuilder {
    tls();
    reqwest::Client::builder().timeout(Duration::from_secs(30))
}

/// Now, as the RFC 3339 timestamp the spec asks for.
pub fn now() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    beckon_core::Timestamp::from_unix_millis(ms).to_string()
}

/// One action's identity; `event(state)` makes a valid spec 4.3 event for it.
#[derive(Clone, Copy, Debug)]
pub struct Action {
    pub action_id: Uuid,
    pub media: &'static str,
    pub map_id: Uuid,
    pub customer_id: Uuid,
    pub session_id: Uuid,
}

impl Action {
    pub fn new(media: &'static str) -> Action {
        Action {
            action_id: Uuid::new_v4(),
            media,
            map_id: Uuid::new_v4(),
            customer_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
        }
    }

    pub fn for_customer(media: &'static str, customer_id: Uuid) -> Action {
        Action {
            customer_id,
            ..Action::new(media)
        }
    }

    pub fn event(&self, state: &str) -> Value {
        let mut e = json!({
            "actionId": self.action_id,
            "actionState": state,
            "actionMediaType": self.media,
            "actionMapId": self.map_id,
            "actionMapVersion": 1,
            "customerId": self.customer_id,
            "customerIdType": "cookie",
            "sessionId": self.session_id,
            "eventId": Uuid::new_v4(),
            "timestamp": now(),
        });
        if state == "errored" {
            e["errorCode"] = json!(500);
            e["errorMessage"] = json!("could not show the offer");
        }
        e
    }
}

/// A valid pageview web event for a customer.
pub fn pageview(customer_id: Uuid, url: &str) -> Value {
    json!({
        "customerCookieId": customer_id,
        "eventName": "pageview",
        "page": { "url": url, "title": "A page" },
        "createdDate": now(),
    })
}

/// A page view as the SDK sends it: with a session, a referrer and a user agent.
pub fn page_viewed(customer_id: Uuid, session_id: Uuid, url: &str) -> Value {
    json!({
        "customerCookieId": customer_id,
        "sessionId": session_id,
        "eventName": "page_viewed",
        "page": { "url": url, "title": "A page" },
        "referrerUrl": "https://www.google.com/search?q=beckon",
        "userAgentString": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "createdDate": now(),
    })
}

/// A content offer action template (Genesys `ActionTemplate`), without an id.
pub fn template_body(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Toast with a call to action",
        "mediaType": "contentOffer",
        "state": "Active",
        "contentOffer": {
            "imageUrl": "https://shop.test/promo.png", "imageAltText": "Promo",
            "displayMode": "Toast", "layoutMode": "LeftText",
            "title": "Spring sale", "headline": "20% off", "body": "Today only.",
            "callToAction": { "text": "Shop now", "url": "https://shop.test/sale", "target": "Blank" },
            "style": { "position": { "bottom": "10px", "right": "10px" } }
        }
    })
}

/// A segment of desktop visitors (Genesys `JourneySegment`), without an id.
pub fn segment_body(name: &str) -> Value {
    json!({
        "displayName": name,
        "isActive": true,
        "color": "#008000",
        "scope": "Session",
        "context": { "patterns": [ { "criteria": [
            { "key": "device.category", "values": ["desktop"], "shouldIgnoreCase": true,
              "operator": "equal", "entityType": "visit" } ] } ] },
        "journey": { "patterns": [] }
    })
}

impl Server {
    /// The actions answered to a page view of `url` from a visitor never seen before.
    pub async fn new_visitor_actions(&self, url: &str) -> Vec<Value> {
        self.actions(&page_viewed(Uuid::new_v4(), Uuid::new_v4(), url))
            .await
    }

    /// Through the admin API: a segment, a content offer template and a map showing it on
    /// `/pricing` with `activation`; returns the map's id and the template.
    pub async fn pricing_offer(&self, activation: Value) -> (String, Value) {
        let (_, segment) = self
            .admin(
                "POST",
                "/api/v2/journey/segments",
                Some(&segment_body("Desktop")),
            )
            .await;
        let (_, template) = self
            .admin(
                "POST",
                "/api/v2/journey/actiontemplates",
                Some(&template_body("Spring promo")),
            )
            .await;
        let mut map = content_offer_map(
            "Promo on pricing",
            segment["id"].as_str().unwrap(),
            template["id"].as_str().unwrap(),
            "/pricing",
        );
        map["activation"] = activation;
        let (status, map) = self
            .admin("POST", "/api/v2/journey/actionmaps", Some(&map))
            .await;
        assert_eq!(status, 200, "{map}");
        (map["id"].as_str().unwrap().to_owned(), template)
    }
}

/// An action map showing a template to a segment on pages whose URL contains `page`.
pub fn content_offer_map(name: &str, segment: &str, template: &str, page: &str) -> Value {
    json!({
        "displayName": name,
        "isActive": true,
        "triggerWithSegments": [segment],
        "pageUrlConditions": [ { "values": [page], "operator": "containsAny" } ],
        "activation": { "type": "immediate" },
        "weight": 2,
        "action": { "mediaType": "contentOffer", "actionTemplate": { "id": template } },
        "ignoreFrequencyCap": false
    })
}

/// Polls `check` until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One server-sent event as received.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: u64,
    pub event: String,
    pub data: Value,
}

/// A live stream subscription read by the test.
pub struct Stream {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    /// Bytes received and not yet read: decoded only once their event is whole, since a chunk can
    /// end inside a character.
    pending: Vec<u8>,
    /// The id of the stream's opening event (no data): the sequence number it starts after.
    pub start: u64,
}

impl Stream {
    /// Subscribes with the read token; `query` like `topic=webchat:all&topic=web:all`.
    pub async fn open(server: &Server, query: &str, last_event_id: Option<u64>) -> Stream {
        let mut request = client_without_timeout()
            .get(format!("{}/api/v1/events/stream?{query}", server.url()))
            .bearer_auth(READ_TOKEN);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("subscribe");
        assert_eq!(response.status(), 200, "subscribing to {query}");
        let mut stream = Stream {
            body: Box::pin(response.bytes_stream()),
            pending: Vec::new(),
            start: 0,
        };
        let (id, event, data) = stream
            .block(Duration::from_secs(10))
            .await
            .expect("the opening event");
        assert_eq!(
            (event.as_str(), data.as_str()),
            ("", ""),
            "the opening event"
        );
        stream.start = id.expect("the opening event has an id");
        stream
    }

    /// The next event, or `None` if none arrives within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
            let (id, event, data) = self.block(wait).await?;
            if let Some(id) = id {
                return Some(Sse {
                    id,
                    event,
                    data: serde_json::from_str(&data).expect("data is JSON"),
                });
            }
            // a keep-alive comment
        }
    }

    /// The next blank-line-ended block: its `id`, `event` and `data` (empty when absent).
    async fn block(&mut self, wait: Duration) -> Option<(Option<u64>, String, String)> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let block = String::from_utf8(block).expect("an event is UTF-8");
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                return Some((id, event, data));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .ok()??;
            self.pending.extend_from_slice(&chunk.ok()?);
        }
    }
}

pub fn client_without_timeout() -> reqwest::Client {
    tls();
    reqwest::Client::builder().build().expect("client")
}

/// An HTTP receiver on loopback that records every request and answers with the status the test
/// sets (200 unless told otherwise).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: std::sync::Arc<std::sync::Mutex<ReceiverState>>,
}

#[derive(Default)]
struct ReceiverState {
    requests: Vec<Received>,
    statuses: std::collections::VecDeque<u16>,
    /// The answer once `statuses` is used up (200 when unset).
    default: Option<u16>,
    /// How long to wait before answering the next requests, in order (none once used up).
    delays: std::collections::VecDeque<Duration>,
    /// Bodies longer than this are answered 413, instead of a 2xx (a receiver's body limit).
    max_body: Option<usize>,
    /// Bodies holding one of these byte strings are answered with its status, instead of a 2xx
    /// (a receiver refusing one record, and every batch that has it).
    refusals: Vec<(Vec<u8>, u16)>,
}

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path_and_query: String,
    pub headers: axum::http::HeaderMap,
    pub body: bytes::Bytes,
    /// The status the receiver answered with.
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        Receiver::start_at("127.0.0.1:0").await
    }

    /// A loopback address nothing listens on (yet): connections to it are refused until a
    /// receiver is started there with [`Receiver::start_at`].
    pub fn free_address() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").to_string()
    }

    /// A receiver listening on `address` (`127.0.0.1:0` for any free port).
    pub async fn start_at(address: &str) -> Receiver {
        let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state: std::sync::Arc<std::sync::Mutex<ReceiverState>> = Default::default();
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  body: bytes::Bytes| {
                let shared = shared.clone();
                async move {
                    let (status, delay) = {
                        let mut s = shared.lock().unwrap();
                        let mut status = s.statuses.pop_front().or(s.default).unwrap_or(200);
                        if (200..300).contains(&status) {
                            if s.max_body.is_some_and(|max| body.len() > max) {
                                status = 413;
                            } else if let Some((_, refusal)) =
                                s.refusals.iter().find(|(needle, _)| {
                                    body.windows(needle.len()).any(|w| w == &needle[..])
                                })
                            {
                                status = *refusal;
                            }
                        }
                        let delay = s.delays.pop_front();
                        s.requests.push(Received {
                            method: method.to_string(),
                            status,
                            at: Instant::now(),
                            path_and_query: uri
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default(),
                            headers,
                            body,
                        });
                        (status, delay)
                    };
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            },
        );
        // No body limit of its own: the test sets one with `max_body`.
        let app = app.layer(axum::extract::DefaultBodyLimit::disable());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, state }
    }

    /// From now on, a body over `bytes` is answered 413 (where a 2xx would have been).
    pub fn max_body(&self, bytes: usize) {
        self.state.lock().unwrap().max_body = Some(bytes);
    }

    /// From now on, a body containing `needle` is answered `status` (where a 2xx would have
    /// been).
    pub fn refuse_containing(&self, needle: &str, status: u16) {
        let mut s = self.state.lock().unwrap();
        s.refusals.push((needle.as_bytes().to_vec(), status));
    }

    /// Forgets the refusals of [`Receiver::refuse_containing`] and [`Receiver::max_body`].
    pub fn refuse_nothing(&self) {
        let mut s = self.state.lock().unwrap();
        s.refusals.clear();
        s.max_body = None;
    }

    /// The next requests get these statuses, in order; then 200 again.
    pub fn answer_with(&self, statuses: &[u16]) {
        self.state.lock().unwrap().statuses.extend(statuses);
    }

    /// The next requests are answered only after these delays, in order; then at once again.
    pub fn delay(&self, delays: &[Duration]) {
        self.state.lock().unwrap().delays.extend(delays);
    }

    /// Forgets the requests received so far (a test's setup deliveries).
    pub fn forget(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// From now on, answer with `status` once the scripted statuses are used up.
    pub fn answer(&self, status: u16) {
        self.state.lock().unwrap().default = Some(status);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests answered with a 2xx status.
    pub fn accepted(&self) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }
}

/// A webchat action map offered at once on pages whose URL contains `page`.
pub fn webchat_map(name: &str, page: &str, pacing: bool) -> Value {
    json!({
        "displayName": name,
        "isActive": true,
        "triggerWithEventConditions": [ { "key": "page.url", "values": [page],
            "operator": "containsAny", "streamType": "Web", "sessionType": "web",
            "eventName": "page_viewed" } ],
        "activation": { "type": "immediate" },
        "action": { "mediaType": "webchat", "isPacingEnabled": pacing,
            "props": { "webchatPrompt": "Need a hand?" } }
    })
}

/// A WebSocket to the server, as the tests speak it.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Server {
    /// Opens a WebSocket on `path` (with its query) sending the allowed `Origin`; the
    /// handshake's refusal status on failure.
    pub async fn socket(&self, path: &str) -> Result<Socket, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}{path}", self.url.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("a WebSocket URL");
        request
            .headers_mut()
            .insert("origin", ORIGIN.parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("WebSocket to {path} failed: {e}"),
        }
    }

    /// Creates an agent through the admin API and signs them in; their token.
    pub async fn agent_signed_in(&self, email: &str, capacity: u32) -> String {
        let body = json!({ "name": email, "email": email, "password": "correct horse", "capacity": capacity });
        let (status, created) = self.admin("POST", "/api/v1/agents", Some(&body)).await;
        assert_eq!(status, 201, "{created}");
        let r = client()
            .post(format!("{}/api/v1/agent/sessions", self.url))
            .json(&json!({ "email": email, "password": "correct horse" }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A request with a bearer token (an agent's or a visitor's): the status and JSON body.
    pub async fn with_token(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let method: reqwest::Method = method.parse().expect("method");
        let mut request = client()
            .request(method, format!("{}{path}", self.url))
            .header("origin", ORIGIN)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send().await.expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

/// The next JSON frame of a socket (pings skipped); `None` on close or after `wait`.
pub async fn frame_within(socket: &mut Socket, wait: Duration) -> Option<Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).expect("JSON")),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            _ => return None,
        }
    }
}

/// The next JSON frame, which must come within 10 s.
pub async fn frame(socket: &mut Socket) -> Value {
    frame_within(socket, Duration::from_secs(10))
        .await
        .expect("a frame within 10 s")
}

/// Sends a JSON frame.
pub async fn send(socket: &mut Socket, value: Value) {
    use futures_util::SinkExt;
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            value.to_string(),
        ))
        .await
        .expect("send");
}
