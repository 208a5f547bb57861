//! SSE fan-out latency: how long an event takes from its POST to reaching every live subscriber.
//!
//! Starts the real `beckon` binary, opens N subscribers on `/api/v1/events/stream`, posts events
//! one at a time and records, per subscriber and event, the time from just before the POST to the
//! moment the subscriber has read the event. The baseline is the same run with one subscriber.
//! The events are page views (topic `web:page_viewed`), each from its own customer, which is how
//! a subscriber recognises it: a client cannot post an action's first state (`qualified` is the
//! server's), and a page view is logged and streamed like any action event.
//! Run with `cargo bench -p beckon-server --bench sse_fanout` (raise `ulimit -n` for 1,000).

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::{ADMIN_TOKEN, DEPLOYMENT, ORIGIN, Server, ms, percentile};

const EVENTS: usize = 200;

/// The customer of the `n`th page view, which tells the subscribers which one they read.
fn customer(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn page_view(n: usize) -> String {
    format!(
        r#"{{"customerCookieId":"{}","eventName":"page_viewed","page":{{"url":"https://bench.local/fan-out","title":"Fan-out"}}}}"#,
        customer(n)
    )
}

/// Returns every delivery latency with `subscribers` live streams.
async fn measure(subscribers: usize) -> Vec<Duration> {
    let server = Server::start("", "");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    server.ready(&client).await;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let response = client
            .get(format!(
                "{}/api/v1/events/stream?topic=web:page_viewed",
                server.url
            ))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("subscribe");
        assert!(response.status().is_success(), "{}", response.status());
        let (sent, latencies) = (sent.clone(), latencies.clone());
        readers.push(tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut pending = String::new();
            let mut seen = 0;
            while let Some(Ok(chunk)) = body.next().await {
                pending.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    const FIELD: &str = "\"customerCookieId\":\"";
                    if let Some(at) = line.find(FIELD) {
                        let id = &line[at + FIELD.len()..at + FIELD.len() + 36];
                        let now = Instant::now();
                        let start = sent.lock().unwrap().get(id).copied();
                        if let Some(start) = start {
                            latencies.lock().unwrap().push(now - start);
                        }
                        seen += 1;
                    }
                }
                if seen == EVENTS {
                    break;
                }
            }
        }));
    }
    let post = format!("{}/api/v1/deployments/{DEPLOYMENT}/web-events", server.url);
    for n in 0..EVENTS {
        let body = page_view(n);
        sent.lock().unwrap().insert(customer(n), Instant::now());
        let response = client
            .post(&post)
            .header("content-type", "application/json")
            .header("origin", ORIGIN)
            .body(body)
            .send()
            .await
            .expect("post");
        assert!(response.status().is_success(), "{}", response.status());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for reader in readers {
        let _ = tokio::time::timeout(Duration::from_secs(30), reader).await;
    }
    let mut all = latencies.lock().unwrap().clone();
    all.sort();
    all
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let base = runtime.block_on(measure(1));
    let fan = runtime.block_on(measure(1000));
    println!(
        "| SSE fan-out, 1,000 subscribers: p99 delivery (ms) | {:.2} (p50 {:.2}, {} of {} deliveries) | 1 subscriber p99 {:.2} | {:.2} | p99 < 50 ms |",
        ms(percentile(&fan, 0.99)),
        ms(percentile(&fan, 0.50)),
        fan.len(),
        1000 * EVENTS,
        ms(percentile(&base, 0.99)),
        ms(percentile(&fan, 0.99)) / ms(percentile(&base, 0.99)),
    );
}
