//! Web chat at scale (issue 6): 5,000 connected idle visitors and 100 active conversations on
//! one server, message delivery p99 under 50 ms, resident memory under 256 MB.
//!
//! Starts the real `beckon` binary (the bench profile's build) on loopback. Two agents (capacity
//! 50 each) sign in, open the console's WebSocket and accept 100 conversations; each conversation
//! was made the way a page makes it (a page view decided into a webchat offer, `offered` and
//! `accepted` reported, `POST …/conversations`) and its visitor holds the conversation's
//! WebSocket. The agents then send one message per conversation per second, spread evenly (100
//! messages a second in all, for 20 s); the latency of a message is from just before the
//! agent's socket sends it to the moment the visitor's socket has read it. Measured twice on the same server: first with only the 100 conversations (the
//! baseline), then with 5,000 more visitors connected and idle (each waiting in the queue with
//! its own conversation and WebSocket). Resident memory is the server's `VmRSS` at each step.
//!
//! Run with `ulimit -n 20000; cargo bench -p beckon-server --bench chat_scale` (or
//! `bash bench/run.sh chat`). Prints markdown table rows.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, StreamExt};
use futures_util::{SinkExt, stream};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, DEPLOYMENT, ORIGIN, Server, ms, percentile};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

const IDLE: usize = 5_000;
const ACTIVE: usize = 100;
const AGENTS: usize = 2;
const ROUNDS: usize = 20;
/// Each conversation gets one agent message per round; a round's messages are spread evenly
/// over it (100 conversations, one round a second: 100 messages a second in all).
const ROUND_EVERY: Duration = Duration::from_secs(1);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
/// When each message (by its text) left the agent's socket; and the latencies seen.
type Clock = Arc<Mutex<(HashMap<String, Instant>, Vec<Duration>)>>;

struct Bench {
    server: Server,
    client: reqwest::Client,
}

impl Bench {
    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}{path}", self.server.url))
            .header("origin", ORIGIN)
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn socket(&self, path: &str) -> Socket {
        let url = format!("{}{path}", self.server.url.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("a WebSocket URL");
        request
            .headers_mut()
            .insert("origin", ORIGIN.parse().unwrap());
        tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket")
            .0
    }

    /// A visitor whose page view was decided into a webchat offer, accepted, made into a
    /// conversation; returns the conversation's id and the visitor's open WebSocket.
    async fn visitor(&self) -> (String, Socket) {
        let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
        let view = json!({
            "customerCookieId": customer, "sessionId": session, "eventName": "page_viewed",
            "page": { "url": "https://bench.local/help", "title": "Help" }, "createdDate": now(),
        });
        let deployment = format!("/api/v1/deployments/{DEPLOYMENT}");
        let answer = self
            .post(&format!("{deployment}/web-events"), None, &view)
            .await;
        let action = &answer["actions"][0];
        let event = |state: &str| {
            json!({
                "actionId": action["actionId"], "actionState": state, "actionMediaType": "webchat",
                "actionMapId": action["actionMapId"], "actionMapVersion": action["actionMapVersion"],
                "customerId": customer, "customerIdType": "cookie", "sessionId": session,
                "eventId": Uuid::new_v4(), "timestamp": now(),
            })
        };
        self.post(
            &format!("{deployment}/action-events"),
            None,
            &json!([event("offered"), event("accepted")]),
        )
        .await;
        let created = self
            .post(
                &format!("{deployment}/conversations"),
                None,
                &json!({ "actionId": action["actionId"], "customerId": customer, "sessionId": session }),
            )
            .await;
        let id = created["conversationId"].as_str().expect("id").to_owned();
        let token = created["token"].as_str().expect("token");
        let socket = self
            .socket(&format!(
                "{deployment}/conversations/{id}/ws?access_token={token}"
            ))
            .await;
        (id, socket)
    }

    /// An agent account, signed in and available; its console socket's sending half (the
    /// reading half is drained in a task).
    async fn agent(&self, n: usize) -> (String, SplitSink<Socket, Message>) {
        let email = format!("agent{n}@bench.local");
        let account = json!({ "name": format!("Agent {n}"), "email": email,
                              "password": "bench password", "capacity": ACTIVE / AGENTS });
        self.post("/api/v1/agents", Some(ADMIN_TOKEN), &account)
            .await;
        let session = self
            .post(
                "/api/v1/agent/sessions",
                None,
                &json!({ "email": email, "password": "bench password" }),
            )
            .await;
        let token = session["token"].as_str().expect("token").to_owned();
        let presence = self
            .client
            .put(format!("{}/api/v1/agent/presence", self.server.url))
            .bearer_auth(&token)
            .json(&json!({ "presence": "available" }))
            .send()
            .await
            .expect("presence");
        assert!(presence.status().is_success());
        let socket = self
            .socket(&format!("/api/v1/agent/ws?access_token={token}"))
            .await;
        let (sink, mut frames) = socket.split();
        tokio::spawn(async move { while let Some(Ok(_)) = frames.next().await {} });
        (token, sink)
    }
}

/// Now as RFC 3339 with milliseconds, as events carry it.
fn now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as i64;
    beckon_core::Timestamp::from_unix_millis(ms).to_string()
}

/// Reads a visitor's socket for as long as it is open, timing the agent messages named in
/// `clock`.
fn listen(socket: Socket, clock: Clock) {
    let (_sink, mut frames) = socket.split();
    tokio::spawn(async move {
        let _keep_open = _sink;
        while let Some(Ok(frame)) = frames.next().await {
            let Message::Text(text) = frame else { continue };
            let arrived = Instant::now();
            let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if frame["type"] == "message" && frame["from"] == "agent" {
                let mut clock = clock.lock().unwrap();
                if let Some(sent) = clock.0.remove(frame["text"].as_str().unwrap_or("")) {
                    clock.1.push(arrived - sent);
                }
            }
        }
    });
}

/// Rounds of one agent message per active conversation; every latency, sorted, and how many
/// messages were sent.
async fn rounds(
    agents: &mut [(String, SplitSink<Socket, Message>)],
    conversations: &[String],
    clock: &Clock,
    label: &str,
) -> (Vec<Duration>, usize) {
    {
        let mut clock = clock.lock().unwrap();
        clock.0.clear();
        clock.1.clear();
    }
    let mut sent = 0;
    let gap = ROUND_EVERY / conversations.len() as u32;
    let start = tokio::time::Instant::now();
    for round in 0..ROUNDS {
        for (i, conversation) in conversations.iter().enumerate() {
            tokio::time::sleep_until(start + ROUND_EVERY * round as u32 + gap * i as u32).await;
            let text = format!("{label} {round} {i}");
            let frame = json!({ "type": "message", "conversationId": conversation, "text": text });
            clock.lock().unwrap().0.insert(text, Instant::now());
            agents[i % AGENTS]
                .1
                .send(Message::text(frame.to_string()))
                .await
                .expect("agent send");
            sent += 1;
        }
    }
    // Let the last round arrive.
    for _ in 0..100 {
        if clock.lock().unwrap().0.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies = clock.lock().unwrap().1.clone();
    latencies.sort();
    (latencies, sent)
}

fn open_files_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn run() {
    let limit = open_files_limit();
    assert!(
        limit >= 3 * IDLE as u64,
        "open files limit {limit}: run `ulimit -n 65536` first (each visitor is a socket on both sides)"
    );
    let server = Server::start(
        "[chat]\nmessages_per_second = 1000000\nmessage_burst = 1000000\n",
        "assume_agents_available = true",
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    server.ready(&client).await;
    let bench = Bench { server, client };
    let started_rss = bench.server.resident_bytes();
    let map = json!({
        "displayName": "Help", "isActive": true,
        "triggerWithEventConditions": [ { "key": "page.url", "values": ["/help"],
            "operator": "containsAny", "streamType": "Web", "sessionType": "web",
            "eventName": "page_viewed" } ],
        "activation": { "type": "immediate" },
        "action": { "mediaType": "webchat", "isPacingEnabled": false,
            "props": { "webchatPrompt": "Need a hand?" } }
    });
    bench
        .post("/api/v2/journey/actionmaps", Some(ADMIN_TOKEN), &map)
        .await;

    let clock: Clock = Arc::default();
    let mut active = Vec::new();
    for _ in 0..ACTIVE {
        let (id, socket) = bench.visitor().await;
        listen(socket, clock.clone());
        active.push(id);
    }
    let mut agents = Vec::new();
    for n in 0..AGENTS {
        agents.push(bench.agent(n).await);
    }
    for i in 0..ACTIVE {
        bench
            .post(
                "/api/v1/agent/queue/accept",
                Some(&agents[i % AGENTS].0),
                &json!({}),
            )
            .await;
    }
    let (base, base_sent) = rounds(&mut agents, &active, &clock, "base").await;
    let base_rss = bench.server.resident_bytes();

    let connecting = Instant::now();
    // Each socket is read from as soon as it is open: one left unread answers no pings, and the
    // server drops it after two ping intervals.
    let idle_count = stream::iter(0..IDLE)
        .map(|_| async {
            let (_, socket) = bench.visitor().await;
            listen(socket, clock.clone());
        })
        .buffer_unordered(32)
        .count()
        .await;
    let connect_secs = connecting.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (loaded, loaded_sent) = rounds(&mut agents, &active, &clock, "loaded").await;
    let loaded_rss = bench.server.resident_bytes();

    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "| chat delivery agent -> visitor, {ACTIVE} conversations (one message a second each) + {idle_count} idle visitors connected: p99 (ms) | {:.2} (p50 {:.2}, {} of {} messages) | {ACTIVE} conversations alone: p99 {:.2} (p50 {:.2}, {} of {}) | {:.2} | p99 < 50 ms |",
        ms(percentile(&loaded, 0.99)),
        ms(percentile(&loaded, 0.50)),
        loaded.len(),
        loaded_sent,
        ms(percentile(&base, 0.99)),
        ms(percentile(&base, 0.50)),
        base.len(),
        base_sent,
        ms(percentile(&loaded, 0.99)) / ms(percentile(&base, 0.99)),
    );
    println!(
        "| beckon resident memory, {ACTIVE} conversations + {idle_count} idle visitors (MB) | {:.1} | {ACTIVE} conversations alone {:.1} (just started {:.1}) | {:.2} | < 256 MB |",
        mb(loaded_rss),
        mb(base_rss),
        mb(started_rss),
        loaded_rss as f64 / base_rss as f64,
    );
    println!(
        "| {idle_count} visitors made and connected (page view, offered + accepted, conversation, WebSocket; 32 at a time) | {:.1} s ({:.0}/s) | | | |",
        connect_secs,
        idle_count as f64 / connect_secs
    );
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}
