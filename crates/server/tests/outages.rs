//! Sink outages against the real binary and loopback receivers: a receiver that is down
//! (connection refused) and comes back, one answering 500s, one answering too slowly, one
//! refusing with 400. In every case nothing is lost, the same batch is retried in order, the
//! waits stay under the configured cap, the backlog drains after recovery, and refusals become
//! dead letters that replay.
//!
//! Backoff and timeouts are configured short (cap 300 ms, timeout 400 ms) so each test takes a
//! few seconds; the assertions are on counts and order, with generous slack on any spacing.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Received, Receiver, Server};
use serde_json::{Value, json};

const MAX_BACKOFF_MS: u64 = 300;
const TIMEOUT_MS: u64 = 400;
/// How long "eventually" may take.
const DEADLINE: Duration = Duration::from_secs(30);

fn sink(url: &str) -> String {
    format!(
        "[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{url}/hook\"\nsecret = \"s\"\n\
         batch_size = 5\nmax_backoff_ms = {MAX_BACKOFF_MS}\ntimeout_ms = {TIMEOUT_MS}\n"
    )
}

async fn wait_for<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    common::eventually(DEADLINE, check)
        .await
        .unwrap_or_else(|| panic!("timed out after {DEADLINE:?} waiting for {what}"))
}

/// Posts `requests` requests of three events each (one action's lifecycle, as a page reports
/// it) and returns the acknowledged eventIds in posting order.
async fn post_events(server: &Server, requests: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for action in server.qualified_many("webchat", requests).await {
        let batch: Vec<Value> = ["offered", "accepted", "rejected"]
            .iter()
            .map(|s| action.event(s))
            .collect();
        let r = server.post("action-events", &json!(batch)).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        ids.extend(
            batch
                .iter()
                .map(|e| e["eventId"].as_str().unwrap().to_owned()),
        );
    }
    ids
}

/// The eventIds and sequence numbers of one webhook request, in the request's order.
fn batch_of(r: &Received) -> Vec<(u64, String)> {
    r.json()
        .as_array()
        .expect("a batch")
        .iter()
        .map(|ce| {
            (
                ce["beckonseq"].as_str().unwrap().parse().unwrap(),
                ce["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn sink_status(server: &Server) -> Value {
    let (status, body) = server.admin_get("/api/v1/sinks").await;
    assert_eq!(status, 200, "{body}");
    body["sinks"][0].clone()
}

/// Waits until the sink has nothing left to deliver.
async fn drained(server: &Server) -> Value {
    wait_for("the backlog to drain", || async {
        let s = sink_status(server).await;
        (s["lag"] == 0 && s["cursor"] == s["head"] && s["head"].as_u64() > Some(0)).then_some(s)
    })
    .await
}

/// Every acknowledged event reached the receiver in an accepted request, and the accepted
/// requests, taken in order, deliver the log in order (a retried batch may repeat, never skip).
fn assert_all_delivered_in_order(accepted: &[Received], acked: &[String]) {
    let delivered: Vec<(u64, String)> = accepted.iter().flat_map(batch_of).collect();
    let ids: BTreeSet<&str> = delivered.iter().map(|(_, id)| id.as_str()).collect();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| !ids.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} events never delivered",
        missing.len()
    );
    let mut highest = 0;
    for (seq, _) in &delivered {
        assert!(*seq > highest, "seq {seq} delivered after {highest}");
        highest = *seq;
    }
}

/// Failed attempts are retried with the same batch first, and consecutive attempts are never
/// further apart than the cap plus the attempt's own time (the timeout) plus slack.
fn assert_retries_bounded(requests: &[Received]) {
    for pair in requests.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if !(200..300).contains(&a.status) && a.status != 400 {
            assert_eq!(
                batch_of(a),
                batch_of(b),
                "a failed batch was not retried first"
            );
            let gap = b.at.duration_since(a.at);
            let bound = Duration::from_millis(MAX_BACKOFF_MS + TIMEOUT_MS + 2_000);
            assert!(gap <= bound, "{gap:?} between attempts, over {bound:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_then_up_gets_the_whole_backlog() {
    let address = Receiver::free_address();
    let server = Server::start(&sink(&format!("http://{address}")));
    let acked = post_events(&server, 4).await;

    // Connections are refused: the sink retries, keeps its cursor, stores no dead letter.
    let status = wait_for("a few refused attempts", || async {
        let s = sink_status(&server).await;
        (s["retried"].as_u64() >= Some(3)).then_some(s)
    })
    .await;
    assert_eq!(status["cursor"], 0, "{status}");
    assert_eq!(status["deadLetters"], 0, "{status}");
    assert!(status["lastError"].is_string(), "{status}");
    // More events arrive during the outage.
    let mut acked = acked;
    acked.extend(post_events(&server, 2).await);

    let receiver = Receiver::start_at(&address).await;
    let status = drained(&server).await;
    assert_eq!(status["deadLetters"], 0);
    assert_all_delivered_in_order(&receiver.accepted(), &acked);
    assert_eq!(receiver.requests().len(), receiver.accepted().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_within_the_cap_then_the_backlog_drains() {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let server = Server::start(&sink(&receiver.url));
    let mut acked = post_events(&server, 3).await;
    wait_for("several 500 answers", || async {
        (receiver.requests().len() >= 6).then_some(())
    })
    .await;
    acked.extend(post_events(&server, 2).await);
    receiver.answer(200);

    let status = drained(&server).await;
    assert_eq!(status["deadLetters"], 0, "{status}");
    assert!(status["retried"].as_u64() >= Some(6), "{status}");
    let requests = receiver.requests();
    assert_retries_bounded(&requests);
    assert_all_delivered_in_order(&receiver.accepted(), &acked);
    // The failing batch was the first one, retried until it went through.
    assert_eq!(batch_of(&requests[0]), batch_of(&receiver.accepted()[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_slower_than_the_timeout_count_as_failures_and_are_retried() {
    let receiver = Receiver::start().await;
    // The first three requests are answered (200) only long after the sink's timeout.
    receiver.delay(&[Duration::from_millis(TIMEOUT_MS * 5); 3]);
    let server = Server::start(&sink(&receiver.url));
    let acked = post_events(&server, 3).await;

    let status = drained(&server).await;
    assert_eq!(status["deadLetters"], 0, "{status}");
    assert!(status["retried"].as_u64() >= Some(3), "{status}");
    let requests = receiver.requests();
    assert!(requests.len() >= 4, "{} requests", requests.len());
    // The three slow attempts carried the same first batch: a timeout is retried, not skipped.
    assert_eq!(batch_of(&requests[0]), batch_of(&requests[1]));
    assert_eq!(batch_of(&requests[1]), batch_of(&requests[2]));
    assert_eq!(batch_of(&requests[2]), batch_of(&requests[3]));
    for pair in requests[..4].windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        let bound = Duration::from_millis(MAX_BACKOFF_MS + TIMEOUT_MS + 2_000);
        assert!(gap <= bound, "{gap:?} between attempts, over {bound:?}");
    }
    // Every event arrived (the slow answers may have been taken too: at least once).
    let delivered: BTreeSet<String> = requests
        .iter()
        .flat_map(batch_of)
        .map(|(_, id)| id)
        .collect();
    assert!(acked.iter().all(|id| delivered.contains(id)));
    // From the first prompt answer on, the log went out in order.
    let first_batch: BTreeSet<String> = batch_of(&requests[0])
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let rest: Vec<String> = acked
        .iter()
        .filter(|id| !first_batch.contains(*id))
        .cloned()
        .collect();
    assert_all_delivered_in_order(&requests[3..], &rest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_dead_lettered_their_customers_held_and_replay_after_the_fix() {
    let receiver = Receiver::start().await;
    let server = Server::start(&sink(&receiver.url));
    let actions = server.qualified_many("webchat", 5).await;
    drained(&server).await;
    receiver.forget();
    // Five customers' three events each, in one commit: the sink reads them in batches of five,
    // and the first two requests it sends are refused.
    receiver.answer_with(&[400, 422]);
    let acked: Vec<Value> = actions
        .iter()
        .flat_map(|a| ["offered", "accepted", "rejected"].map(|s| a.event(s)))
        .collect();
    let r = server.post("action-events", &json!(acked)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let acked: Vec<String> = acked
        .iter()
        .map(|e| e["eventId"].as_str().unwrap().to_owned())
        .collect();

    let status = drained(&server).await;
    assert_eq!(status["retried"], 0, "a refusal is not retried: {status}");
    let refused: Vec<Vec<(u64, String)>> = receiver
        .requests()
        .iter()
        .filter(|r| r.status >= 400)
        .map(batch_of)
        .collect();
    // The first batch, [0 0 0 1 1], was refused whole; sent again one event at a time, customer
    // 0's first event was refused alone (the second scripted refusal), and the rest went through.
    assert_eq!(
        refused.iter().map(Vec::len).collect::<Vec<_>>(),
        [5, 1],
        "{refused:?}"
    );
    // Customer i posted events 3i to 3i + 2. Only the customer of the event refused alone is
    // held: its later events of the batch are in its dead letter, held back.
    let customer = |i: usize| i / 3;
    let held: BTreeSet<usize> = refused[1]
        .iter()
        .map(|(_, id)| customer(acked.iter().position(|a| a == id).unwrap()))
        .collect();
    assert_eq!(held, BTreeSet::from([0]));
    assert_eq!(status["deadLetters"], 1, "{status}");
    assert_eq!(status["heldCustomers"], 1, "{status}");
    let (waiting, rest): (Vec<String>, Vec<String>) = {
        let (waiting, rest): (Vec<_>, Vec<_>) = acked
            .iter()
            .enumerate()
            .partition(|(i, _)| held.contains(&customer(*i)));
        let ids = |v: Vec<(usize, &String)>| v.into_iter().map(|(_, id)| id.clone()).collect();
        (ids(waiting), ids(rest))
    };
    // The sink moved on: every other customer's events were delivered, in order, and only those.
    assert_all_delivered_in_order(&receiver.accepted(), &rest);
    let delivered: Vec<String> = receiver
        .accepted()
        .iter()
        .flat_map(batch_of)
        .map(|(_, id)| id)
        .collect();
    assert_eq!(delivered, rest);

    // Replaying them all delivers the waiting events, oldest first: each customer's in order.
    let before = receiver.accepted().len();
    let (code, body) = server
        .admin_post("/api/v1/sinks/hook/dead-letters/replay")
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["count"], waiting.len(), "{body}");
    let replayed: Vec<String> = receiver.accepted()[before..]
        .iter()
        .flat_map(batch_of)
        .map(|(_, id)| id)
        .collect();
    assert_eq!(replayed, waiting);
    let status = sink_status(&server).await;
    assert_eq!(
        (
            status["deadLetters"].as_u64(),
            status["heldCustomers"].as_u64()
        ),
        (Some(0), Some(0))
    );
}
