//! Sinks end to end: the real `beckon` binary, real HTTP receivers on 127.0.0.1, every payload
//! checked (CloudEvents against the CloudEvents 1.0 JSON schema, signatures recomputed), retries,
//! dead letters and their replay through the admin API and the CLI, the file sink's lines.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use common::{Action, Received, Receiver, Server};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

static CLOUDEVENTS: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/cloudevents-1.0.schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the CloudEvents schema compiles")
});

static ACTION_EVENT: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/action-event.schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the event schema compiles")
});

/// How long "eventually" may take.
const DEADLINE: Duration = Duration::from_secs(30);

/// Polls until `check` gives a value; fails the test after [`DEADLINE`].
async fn wait_for<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    common::eventually(DEADLINE, check)
        .await
        .unwrap_or_else(|| panic!("timed out after {DEADLINE:?} waiting for {what}"))
}

/// A receiver answering `status` to everything not scripted.
async fn receiver(status: u16) -> Receiver {
    let r = Receiver::start().await;
    r.answer(status);
    r
}

/// The events of `action` for `states`, in order.
fn events(action: &Action, states: &[&str]) -> Vec<Value> {
    states.iter().map(|s| action.event(s)).collect()
}

/// Posts action events and fails unless they were accepted.
async fn post_ok(server: &Server, events: &Value) {
    let r = server.post("action-events", events).await;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "{status}: {body}");
}

const SECRET: &str = "whsec_test_secret";

fn webhook_sink(receiver: &Receiver, batch_size: usize) -> String {
    format!(
        "[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"{SECRET}\"\n\
         batch_size = {batch_size}\nmax_backoff_ms = 300\ntimeout_ms = 5000\n",
        receiver.url
    )
}

/// Checks a webhook request's method, path, content type and signature.
fn check_webhook_signature(r: &common::Received) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path_and_query, "/hook");
    assert_eq!(
        r.header("content-type"),
        Some("application/cloudevents-batch+json")
    );
    let timestamp = r.header("beckon-timestamp").expect("Beckon-Timestamp");
    let seconds: u64 = timestamp.parse().expect("unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(seconds.abs_diff(now) < 600, "a fresh timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.header("beckon-signature"), Some(expected.as_str()));
}

/// Checks one webhook request completely and returns its events.
fn check_webhook_request(r: &common::Received) -> Vec<Value> {
    check_webhook_signature(r);
    let body = r.json();
    let events = body.as_array().expect("a batch is a JSON array").clone();
    assert!(!events.is_empty());
    for e in &events {
        let errors: Vec<String> = CLOUDEVENTS
            .iter_errors(e)
            .map(|err| format!("{err} at {}", err.instance_path()))
            .collect();
        assert!(errors.is_empty(), "not a CloudEvent: {errors:?}\n{e:#}");
        let data = &e["data"];
        let errors: Vec<String> = ACTION_EVENT
            .iter_errors(data)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "data is not a spec 4.3 event: {errors:?}"
        );
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["id"], data["eventId"]);
        assert_eq!(
            e["source"],
            format!("/beckon/deployments/{}", common::DEPLOYMENT)
        );
        assert_eq!(
            e["type"],
            format!(
                "dev.beckon.webaction.{}",
                data["actionState"].as_str().unwrap()
            )
        );
        assert_eq!(e["subject"], data["actionId"]);
        assert_eq!(e["time"], data["timestamp"]);
        assert_eq!(e["datacontenttype"], "application/json");
        assert_eq!(e["beckondeployment"], common::DEPLOYMENT);
        e["beckonseq"]
            .as_str()
            .expect("beckonseq is a string")
            .parse::<u64>()
            .expect("beckonseq is a number");
    }
    events
}

fn seq(e: &Value) -> u64 {
    e["beckonseq"].as_str().unwrap().parse().unwrap()
}

async fn sink_status(server: &Server, name: &str) -> Value {
    let (status, body) = server.admin_get("/api/v1/sinks").await;
    assert_eq!(status, 200, "{body}");
    body["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no sink {name} in {body}"))
}

/// Waits until `sink` delivered what the test's setup logged (the page views and `qualified`
/// records that made its actions, see `common::qualified`), then lets `receiver` forget those
/// deliveries; answers the sink's `delivered` count at that point.
async fn settled(server: &Server, receiver: &Receiver, sink: &str) -> u64 {
    caught_up(server, sink).await;
    receiver.forget();
    sink_status(server, sink).await["delivered"]
        .as_u64()
        .unwrap()
}

async fn caught_up(server: &Server, name: &str) {
    wait_for("the sink to catch up", || async {
        let s = sink_status(server, name).await;
        (s["lag"] == 0 && s["cursor"] == s["head"] && s["head"].as_u64() > Some(0)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delivers_signed_cloudevents_batches_in_order() {
    let receiver = receiver(200).await;
    let server = Server::start(&webhook_sink(&receiver, 3));
    let a = server.qualified("webchat").await;
    let b = server.qualified("contentoffer").await;
    let c = server.qualified("webchat").await;
    let delivered = settled(&server, &receiver, "hook").await;
    let mut posted: Vec<Value> = Vec::new();
    // Interleave three customers over several requests.
    for (action, states) in [
        (&a, &["offered"][..]),
        (&b, &["offered"][..]),
        (&a, &["accepted", "rejected"][..]),
        (&b, &["accepted"][..]),
        (&c, &["offered", "ignored"][..]),
    ] {
        let events = events(action, states);
        post_ok(&server, &json!(events)).await;
        posted.extend(events);
    }
    let events: Vec<Value> = wait_for("every event at the webhook", || async {
        let events: Vec<Value> = receiver
            .accepted()
            .iter()
            .flat_map(check_webhook_request)
            .collect();
        (events.len() >= posted.len()).then_some(events)
    })
    .await;
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r.json().as_array().unwrap().len() <= 3)
    );
    // Exactly the posted events, in log order, nothing twice.
    let ids: Vec<&Value> = events.iter().map(|e| &e["id"]).collect();
    let expected: Vec<&Value> = posted.iter().map(|e| &e["eventId"]).collect();
    assert_eq!(ids, expected);
    let seqs: Vec<u64> = events.iter().map(seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // And the data is the posted object, field for field.
    for (e, p) in events.iter().zip(&posted) {
        assert_eq!(&e["data"], p);
    }
    let mut per_customer: HashMap<String, Vec<String>> = HashMap::new();
    for e in &events {
        per_customer
            .entry(e["data"]["customerId"].as_str().unwrap().to_owned())
            .or_default()
            .push(e["data"]["actionState"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        per_customer[&a.customer_id.to_string()],
        ["offered", "accepted", "rejected"]
    );
    assert_eq!(
        per_customer[&b.customer_id.to_string()],
        ["offered", "accepted"]
    );
    assert_eq!(
        per_customer[&c.customer_id.to_string()],
        ["offered", "ignored"]
    );
    caught_up(&server, "hook").await;
    let status = sink_status(&server, "hook").await;
    assert_eq!(status["type"], "webhook");
    assert_eq!(status["delivered"], delivered + 7);
    assert_eq!(status["deadLettered"], 0);
    assert!(status["lastError"].is_null());
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(&format!(
            "beckon_sink_delivered_total{{sink=\"hook\"}} {}",
            delivered + 7
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("beckon_sink_lag{sink=\"hook\"} 0"),
        "{metrics}"
    );
}

/// A second deployment for the tests of sinks scoped to deployments, and the origin it allows.
const OTHER: &str = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
const OTHER_ORIGIN: &str = "http://other.test";

/// Posts a page view of `url` to a deployment, which must accept it.
async fn post_page(server: &Server, deployment: &str, origin: &str, url: &str) {
    let r = common::client()
        .post(format!(
            "{}/api/v1/deployments/{deployment}/web-events",
            server.url()
        ))
        .header("origin", origin)
        .json(&json!([common::pageview(uuid::Uuid::new_v4(), url)]))
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert!(status.is_success(), "{status}: {}", r.text().await.unwrap());
}

/// The deployment and page of each web event a webhook receiver accepted, in order.
fn pages_at(receiver: &Receiver) -> Vec<(String, String)> {
    receiver
        .accepted()
        .iter()
        .flat_map(|r| r.json().as_array().unwrap().clone())
        .map(|e| {
            (
                e["beckondeployment"].as_str().unwrap().to_owned(),
                e["data"]["page"]["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_scoped_to_deployments_gets_only_their_events_in_order() {
    let (shop, other, every) = (
        receiver(200).await,
        receiver(200).await,
        receiver(200).await,
    );
    let hook = |name: &str, receiver: &Receiver, scope: &str| {
        format!(
            "[[sinks]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{}/hook\"\n\
             secret = \"{SECRET}\"\ntopics = [\"web:all\"]\nbatch_size = 2\n{scope}",
            receiver.url
        )
    };
    let server = Server::start(&format!(
        "{}{}{}[[deployments]]\nid = \"{OTHER}\"\nname = \"Other shop\"\n\
         allowed_origins = [\"{OTHER_ORIGIN}\"]\n",
        hook(
            "shop",
            &shop,
            &format!("deployments = [\"{}\"]\n", common::DEPLOYMENT)
        ),
        hook("other", &other, &format!("deployments = [\"{OTHER}\"]\n")),
        hook("every", &every, ""),
    ));
    let mut posted = Vec::new();
    for i in 0..6 {
        let (deployment, origin) = if i % 2 == 0 {
            (common::DEPLOYMENT, common::ORIGIN)
        } else {
            (OTHER, OTHER_ORIGIN)
        };
        let url = format!("{origin}/page/{i}");
        post_page(&server, deployment, origin, &url).await;
        posted.push((deployment.to_owned(), url));
    }
    wait_for("every page at the unscoped webhook", || async {
        (pages_at(&every).len() >= posted.len()).then_some(())
    })
    .await;
    caught_up(&server, "shop").await;
    caught_up(&server, "other").await;
    assert_eq!(pages_at(&every), posted);
    let of = |deployment: &str| -> Vec<(String, String)> {
        posted
            .iter()
            .filter(|(d, _)| d == deployment)
            .cloned()
            .collect()
    };
    assert_eq!(pages_at(&shop), of(common::DEPLOYMENT));
    assert_eq!(pages_at(&other), of(OTHER));
    assert_eq!(
        sink_status(&server, "other").await["deployments"],
        json!([OTHER])
    );
    assert!(sink_status(&server, "every").await["deployments"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_retries_server_errors_and_delivers_the_same_batch_again() {
    let receiver = receiver(200).await;
    let server = Server::start(&webhook_sink(&receiver, 10));
    let action = server.qualified("webchat").await;
    let delivered = settled(&server, &receiver, "hook").await;
    receiver.answer_with(&[500, 503, 429]);
    let posted = events(&action, &["offered", "accepted"]);
    post_ok(&server, &json!(posted)).await;
    wait_for("a delivery after the errors", || async {
        (!receiver.accepted().is_empty()).then_some(())
    })
    .await;
    let requests = receiver.requests();
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 503, 429, 200]
    );
    // The same batch each time, byte for byte, and correctly signed each time.
    for r in &requests {
        assert_eq!(r.body, requests[0].body);
        check_webhook_request(r);
    }
    let ids: Vec<Value> = requests[3]
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [posted[0]["eventId"].clone(), posted[1]["eventId"].clone()]
    );
    caught_up(&server, "hook").await;
    let status = sink_status(&server, "hook").await;
    assert_eq!(status["retried"], 3);
    assert_eq!(status["delivered"], delivered + 2);
    assert_eq!(status["deadLetters"], 0);
    assert!(status["lastError"].is_null(), "{status}");
    // Delivered once the receiver accepted: nothing more arrives.
    let more = events(&action, &["rejected"]);
    post_ok(&server, &json!(more)).await;
    wait_for("the next event", || async {
        (receiver.accepted().len() == 2).then_some(())
    })
    .await;
    let last = receiver.accepted()[1].json();
    assert_eq!(last.as_array().unwrap().len(), 1);
    assert_eq!(last[0]["id"], more[0]["eventId"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_refusal_is_dead_lettered_then_replayed_through_the_api() {
    let receiver = receiver(200).await;
    let server = Server::start(&webhook_sink(&receiver, 10));
    let action = server.qualified("webchat").await;
    settled(&server, &receiver, "hook").await;
    receiver.answer(400);
    let posted = events(&action, &["offered", "accepted"]);
    post_ok(&server, &json!(posted)).await;

    let letters = wait_for("a dead letter", || async {
        let (status, body) = server.admin_get("/api/v1/sinks/hook/dead-letters").await;
        assert_eq!(status, 200, "{body}");
        let letters = body["deadLetters"].as_array().unwrap().clone();
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    let id = letter["id"].as_i64().unwrap();
    assert_eq!(letter["count"], 2);
    assert!(
        letter["error"].as_str().unwrap().contains("400"),
        "{letter}"
    );
    assert!(letter["createdAt"].is_string());
    let records = letter["records"].as_array().unwrap();
    assert_eq!(records[0]["event"], posted[0]);
    assert_eq!(records[1]["event"], posted[1]);
    assert_eq!(letter["firstSeq"], records[0]["seq"]);
    assert_eq!(letter["lastSeq"], records[1]["seq"]);
    // Not retried: the batch, then its first record alone (refused too, so the customer's
    // next record is held back with it); the cursor moved past the batch.
    caught_up(&server, "hook").await;
    let requests = receiver.requests();
    assert_eq!(
        requests
            .iter()
            .map(|r| r.json().as_array().unwrap().len())
            .collect::<Vec<_>>(),
        [2, 1]
    );
    assert!(
        letter["error"].as_str().unwrap().contains("held back"),
        "{letter}"
    );
    let status = sink_status(&server, "hook").await;
    assert_eq!(status["deadLettered"], 2);
    assert_eq!(status["deadLetters"], 1);
    assert!(status["lastError"].as_str().unwrap().contains("400"));

    // Replaying while the receiver still refuses: 502, and the dead letter stays.
    let (status, body) = server
        .admin_post(&format!("/api/v1/sinks/hook/dead-letters/{id}/replay"))
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["type"], "/problems/sink-delivery-failed");
    assert_eq!(body["status"], 502);
    let (_, body) = server.admin_get("/api/v1/sinks/hook/dead-letters").await;
    assert_eq!(body["deadLetters"].as_array().unwrap().len(), 1);

    // Unknown sink and unknown dead letter: 404 problems.
    let (status, body) = server
        .admin_post("/api/v1/sinks/nope/dead-letters/replay")
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (404, Some("/problems/not-found"))
    );
    let (status, _) = server
        .admin_post("/api/v1/sinks/hook/dead-letters/999999/replay")
        .await;
    assert_eq!(status, 404);
    let (status, _) = server.admin_get("/api/v1/sinks/nope/dead-letters").await;
    assert_eq!(status, 404);

    // Fixed receiver: the replay delivers the same events, and the dead letter is gone.
    receiver.answer(200);
    let (status, body) = server
        .admin_post(&format!("/api/v1/sinks/hook/dead-letters/{id}/replay"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["replayed"], json!([id]));
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 1);
    let events = check_webhook_request(&accepted[0]);
    assert_eq!(events[0]["data"], posted[0]);
    assert_eq!(events[1]["data"], posted[1]);
    let (_, body) = server.admin_get("/api/v1/sinks/hook/dead-letters").await;
    assert_eq!(body["deadLetters"], json!([]));
}

/// The dead letters of the `hook` sink, oldest first.
async fn dead_letters(server: &Server) -> Vec<Value> {
    let (status, body) = server.admin_get("/api/v1/sinks/hook/dead-letters").await;
    assert_eq!(status, 200, "{body}");
    body["deadLetters"].as_array().unwrap().clone()
}

/// The event ids of a dead letter's records.
fn letter_ids(letter: &Value) -> Vec<Value> {
    letter["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"]["eventId"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_customer_is_held_so_a_replay_keeps_their_order() {
    let receiver = receiver(200).await;
    let server = Server::start(&webhook_sink(&receiver, 10));
    let a = server.qualified("webchat").await;
    let b = server.qualified("contentoffer").await;
    settled(&server, &receiver, "hook").await;

    // The receiver refuses A's first event: a dead letter, and A is held from then on.
    receiver.answer_with(&[400]);
    let first = a.event("offered");
    post_ok(&server, &json!([first])).await;
    wait_for("the first dead letter", || async {
        (dead_letters(&server).await.len() == 1).then_some(())
    })
    .await;

    // A's next event waits in a second dead letter; B's flows on.
    let b_offered = b.event("offered");
    let second = a.event("accepted");
    post_ok(&server, &json!([b_offered, second])).await;
    caught_up(&server, "hook").await;
    let delivered: Vec<Value> = receiver
        .accepted()
        .iter()
        .flat_map(check_webhook_request)
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(delivered, [b_offered["eventId"].clone()]);
    let letters = dead_letters(&server).await;
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert_eq!(letter_ids(&letters[0]), [first["eventId"].clone()]);
    assert_eq!(letter_ids(&letters[1]), [second["eventId"].clone()]);
    assert!(
        letters[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("held back"),
        "{}",
        letters[1]
    );
    let (older, later) = (
        letters[0]["id"].as_i64().unwrap(),
        letters[1]["id"].as_i64().unwrap(),
    );
    let status = sink_status(&server, "hook").await;
    assert_eq!(
        (
            status["heldCustomers"].as_u64(),
            status["deadLetters"].as_u64()
        ),
        (Some(1), Some(2))
    );

    wait_for("the held-customers gauge", || async {
        let metrics = server.metrics().await;
        metrics
            .contains("beckon_sink_held_customers{sink=\"hook\"} 1\n")
            .then_some(())
    })
    .await;

    // Replaying the later one alone would put A's events out of order: refused, nothing sent.
    let sent = receiver.requests().len();
    let (status, body) = server
        .admin_post(&format!("/api/v1/sinks/hook/dead-letters/{later}/replay"))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["type"], "/problems/dead-letter-out-of-order");
    assert_eq!(body["before"], older);
    assert_eq!(receiver.requests().len(), sent);

    // Replaying all of them delivers A's events in the order they happened, and releases A.
    let (status, body) = server
        .admin_post("/api/v1/sinks/hook/dead-letters/replay")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["replayed"], json!([older, later]));
    let replayed: Vec<Value> = receiver.accepted()[1..]
        .iter()
        .flat_map(check_webhook_request)
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(
        replayed,
        [first["eventId"].clone(), second["eventId"].clone()]
    );
    assert_eq!(sink_status(&server, "hook").await["heldCustomers"], 0);
    let c = server.qualified_for("webchat", a.customer_id).await;
    let third = c.event("offered");
    post_ok(&server, &json!([third])).await;
    wait_for("A's next event delivered directly", || async {
        // Blocked offers (the second map's) come too: not action events, so read as plain JSON.
        let ids: Vec<Value> = receiver
            .accepted()
            .iter()
            .flat_map(|r| r.json().as_array().unwrap().clone())
            .map(|e| e["id"].clone())
            .collect();
        ids.contains(&third["eventId"]).then_some(())
    })
    .await;
    assert_eq!(dead_letters(&server).await, Vec::<Value>::new());

    // A batch the receiver will never take can be discarded, which releases its customer.
    receiver.answer_with(&[400]);
    post_ok(&server, &json!([c.event("accepted")])).await;
    let letter = wait_for("a dead letter to discard", || async {
        dead_letters(&server).await.first().cloned()
    })
    .await;
    caught_up(&server, "hook").await;
    assert_eq!(sink_status(&server, "hook").await["heldCustomers"], 1);
    let path = format!("/api/v1/sinks/hook/dead-letters/{}", letter["id"]);
    let (status, body) = server.admin("DELETE", &path, None).await;
    assert_eq!((status, &body), (204, &Value::Null));
    let (status, body) = server.admin("DELETE", &path, None).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (404, Some("/problems/not-found"))
    );
    assert_eq!(dead_letters(&server).await, Vec::<Value>::new());
    assert_eq!(sink_status(&server, "hook").await["heldCustomers"], 0);
}

/// Holds the sink's next deliveries back: the receiver answers 503 until `release`, and a
/// `plug` event is posted and seen to be retried, so that what is posted next is read as one
/// batch once the receiver answers again.
struct Outage;

impl Outage {
    async fn start(server: &Server, receiver: &Receiver, plug: &Value) -> Outage {
        receiver.answer(503);
        let route = if plug.get("actionId").is_some() {
            "action-events"
        } else {
            "web-events"
        };
        let r = server.post(route, &json!([plug])).await;
        assert!(r.status().is_success(), "{}", r.status());
        wait_for("the plug to be retried", || async {
            (receiver.requests().len() >= 2).then_some(())
        })
        .await;
        Outage
    }

    fn release(self, receiver: &Receiver) {
        receiver.answer(200);
    }
}

/// A page view of `customer` with custom attributes making it about `kib` KiB.
fn web_event_of(customer: uuid::Uuid, kib: usize) -> Value {
    let mut event = common::pageview(customer, "https://shop.test/big");
    let attributes: serde_json::Map<String, Value> = (0..kib / 4)
        .map(|i| (format!("a{i}"), json!("x".repeat(4000))))
        .collect();
    event["attributes"] = Value::Object(attributes);
    event
}

/// Posts one web event, which must be accepted.
async fn post_web(server: &Server, event: &Value) {
    let r = server.post("web-events", &json!([event])).await;
    let status = r.status();
    assert!(status.is_success(), "{status}: {}", r.text().await.unwrap());
}

/// The CloudEvent ids of the records a receiver accepted, in order.
fn accepted_ids(receiver: &Receiver) -> Vec<Value> {
    receiver
        .accepted()
        .iter()
        .flat_map(|r| r.json().as_array().unwrap().clone())
        .map(|e| e["id"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_batches_stay_under_a_mebibyte_by_default() {
    let receiver = receiver(200).await;
    let server = Server::start(&format!(
        "{}topics = [\"web:all\"]\n",
        webhook_sink(&receiver, 100)
    ));
    // A receiver that takes bodies up to 1 MiB (a common proxy limit).
    receiver.max_body(1024 * 1024);
    let customers: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::new_v4()).collect();
    let outage = Outage::start(&server, &receiver, &web_event_of(customers[0], 60)).await;
    // Twenty events of about 60 KiB (the largest web events taken are 64 KiB): 1.2 MiB in all,
    // read as one batch of twenty.
    for i in 0..20 {
        post_web(&server, &web_event_of(customers[i % 3], 60)).await;
    }
    outage.release(&receiver);
    let ids = wait_for("the twenty-one events delivered", || async {
        let ids = accepted_ids(&receiver);
        (ids.len() >= 21).then_some(ids)
    })
    .await;
    caught_up(&server, "hook").await;
    let log: Vec<Value> = server
        .log("&topic=web:all")
        .await
        .iter()
        .map(|r| r["event"]["eventId"].clone())
        .collect();
    assert_eq!(ids, log, "each event once, in log order");
    let accepted = receiver.accepted();
    for r in &accepted {
        check_webhook_signature(r);
        assert!(r.body.len() <= 1024 * 1024, "{} bytes", r.body.len());
    }
    assert!(
        receiver.requests().iter().all(|r| r.status != 413),
        "no request over the receiver's limit"
    );
    // Cut by bytes, not one record per request: several of these fit in 1 MiB.
    let sizes: Vec<usize> = accepted
        .iter()
        .map(|r| r.json().as_array().unwrap().len())
        .collect();
    assert!(sizes[1..].iter().any(|&n| n > 1), "{sizes:?}");
    let status = sink_status(&server, "hook").await;
    assert_eq!(
        (
            status["deadLetters"].as_u64(),
            status["heldCustomers"].as_u64()
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_max_batch_bytes_goes_alone_and_only_it_is_dead_lettered() {
    let receiver = receiver(200).await;
    let server = Server::start(&format!(
        "{}topics = [\"web:all\"]\nmax_batch_bytes = 30000\n",
        webhook_sink(&receiver, 100)
    ));
    receiver.max_body(30_000);
    let (a, b, c) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    let outage = Outage::start(&server, &receiver, &web_event_of(a, 0)).await;
    let posted = [
        web_event_of(a, 0),
        web_event_of(b, 40),
        web_event_of(c, 0),
        web_event_of(a, 0),
    ];
    for event in &posted {
        post_web(&server, event).await;
    }
    outage.release(&receiver);
    let letters = wait_for("a dead letter", || async {
        let letters = dead_letters(&server).await;
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    caught_up(&server, "hook").await;
    // The large event went alone, and only it was refused.
    assert_eq!(letters.len(), 1, "{letters:?}");
    let records = letters[0]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["event"]["customerCookieId"], b.to_string());
    assert!(letters[0]["error"].as_str().unwrap().contains("413"));
    let refused: Vec<Received> = receiver
        .requests()
        .into_iter()
        .filter(|r| r.status == 413)
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].json().as_array().unwrap().len(), 1);
    for r in receiver.accepted() {
        assert!(r.body.len() <= 30_000, "{} bytes", r.body.len());
    }
    let customers: Vec<Value> = receiver
        .accepted()
        .iter()
        .flat_map(|r| r.json().as_array().unwrap().clone())
        .map(|e| e["data"]["customerCookieId"].clone())
        .collect();
    assert_eq!(
        customers[1..],
        [
            json!(a.to_string()),
            json!(c.to_string()),
            json!(a.to_string())
        ]
    );
    assert_eq!(sink_status(&server, "hook").await["heldCustomers"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_is_sent_one_record_at_a_time_so_others_are_not_held() {
    let receiver = receiver(200).await;
    let server = Server::start(&webhook_sink(&receiver, 10));
    let (a, b, c, d) = (
        server.qualified("webchat").await,
        server.qualified("webchat").await,
        server.qualified("webchat").await,
        server.qualified("webchat").await,
    );
    settled(&server, &receiver, "hook").await;
    let outage = Outage::start(&server, &receiver, &d.event("offered")).await;
    let (a1, b1, c1, b2, a2) = (
        a.event("offered"),
        b.event("offered"),
        c.event("offered"),
        b.event("accepted"),
        a.event("accepted"),
    );
    post_ok(&server, &json!([a1, b1, c1, b2, a2])).await;
    // The receiver cannot take B's first event, and so refuses any batch that has it.
    receiver.refuse_containing(b1["eventId"].as_str().unwrap(), 422);
    outage.release(&receiver);
    let letters = wait_for("a dead letter", || async {
        let letters = dead_letters(&server).await;
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    caught_up(&server, "hook").await;

    // The batch was refused, then sent one record at a time: A's and C's events went through,
    // in order; B's first was refused alone and its next one is held back with it.
    let shapes: Vec<(u16, usize)> = receiver
        .requests()
        .iter()
        .skip_while(|r| r.status == 503)
        .map(|r| (r.status, r.json().as_array().unwrap().len()))
        .collect();
    assert_eq!(
        shapes,
        [(200, 1), (422, 5), (200, 1), (422, 1), (200, 1), (200, 1)],
        "the plug, the batch, then A1, B1, C1, A2 alone"
    );
    let ids = accepted_ids(&receiver);
    assert_eq!(
        ids[1..],
        [
            a1["eventId"].clone(),
            c1["eventId"].clone(),
            a2["eventId"].clone()
        ]
    );
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(
        letter_ids(&letters[0]),
        [b1["eventId"].clone(), b2["eventId"].clone()]
    );
    let error = letters[0]["error"].as_str().unwrap();
    assert!(
        error.contains("422") && error.contains("held back"),
        "{error}"
    );
    let status = sink_status(&server, "hook").await;
    assert_eq!(status["heldCustomers"], 1, "only B is held: {status}");
    assert_eq!(status["deadLettered"], 2);

    // A is not held: its next event goes straight through.
    let a3 = a.event("rejected");
    post_ok(&server, &json!([a3])).await;
    wait_for("A's next event", || async {
        accepted_ids(&receiver)
            .contains(&a3["eventId"])
            .then_some(())
    })
    .await;

    // Fixed, the replay delivers B's events in order.
    receiver.refuse_nothing();
    let (status, body) = server
        .admin_post("/api/v1/sinks/hook/dead-letters/replay")
        .await;
    assert_eq!(status, 200, "{body}");
    let ids = accepted_ids(&receiver);
    assert_eq!(
        ids[ids.len() - 2..],
        [b1["eventId"].clone(), b2["eventId"].clone()]
    );
    assert_eq!(sink_status(&server, "hook").await["heldCustomers"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_sends_a_refused_batch_one_record_at_a_time_too() {
    let receiver = receiver(200).await;
    let server = Server::start(&format!(
        "[[sinks]]\nname = \"segment\"\ntype = \"segment\"\nwrite_key = \"wk_test\"\n\
         endpoint = \"{}/v1/batch\"\ntopics = [\"webchat:all\"]\nmax_backoff_ms = 300\n",
        receiver.url
    ));
    let (a, b, c) = (
        server.qualified("webchat").await,
        server.qualified("webchat").await,
        server.qualified("webchat").await,
    );
    settled(&server, &receiver, "segment").await;
    let outage = Outage::start(&server, &receiver, &c.event("offered")).await;
    let (a1, b1, a2) = (a.event("offered"), b.event("offered"), a.event("accepted"));
    post_ok(&server, &json!([a1, b1, a2])).await;
    receiver.refuse_containing(b1["eventId"].as_str().unwrap(), 400);
    outage.release(&receiver);
    let letters = wait_for("a dead letter", || async {
        let (_, body) = server.admin_get("/api/v1/sinks/segment/dead-letters").await;
        let letters = body["deadLetters"].as_array().unwrap().clone();
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    caught_up(&server, "segment").await;
    let delivered: Vec<Value> = receiver
        .accepted()
        .iter()
        .flat_map(|r| r.json()["batch"].as_array().unwrap().clone())
        .map(|call| call["messageId"].clone())
        .collect();
    assert_eq!(
        delivered[1..],
        [a1["eventId"].clone(), a2["eventId"].clone()]
    );
    assert_eq!(letters.len(), 1);
    assert_eq!(letter_ids(&letters[0]), [b1["eventId"].clone()]);
    assert_eq!(sink_status(&server, "segment").await["heldCustomers"], 1);
}

/// A loopback server answering every request with `status` and `Location: location`.
async fn redirector(status: u16, location: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [(axum::http::header::LOCATION, location)],
            )
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_and_dead_letters_the_batch_naming_the_location() {
    // A followed 302 turns the POST into a GET without body, which the new place may answer
    // 2xx: the batch would count as delivered and be lost. A 307 would re-POST elsewhere than
    // configured. Neither is followed: the batch is dead-lettered until the URL is fixed.
    let landing = receiver(200).await;
    let mut config = String::new();
    for status in [302u16, 307] {
        let location = format!("{}/moved-{status}", landing.url);
        let from = redirector(status, location).await;
        config.push_str(&format!(
            "[[sinks]]\nname = \"hook{status}\"\ntype = \"webhook\"\nurl = \"{from}/hook\"\n\
             secret = \"{SECRET}\"\nmax_backoff_ms = 300\n"
        ));
    }
    let server = Server::start(&config);
    server.qualified("webchat").await;
    for status in [302u16, 307] {
        let name = format!("hook{status}");
        let letters = wait_for("a dead letter", || async {
            let (code, body) = server
                .admin_get(&format!("/api/v1/sinks/{name}/dead-letters"))
                .await;
            assert_eq!(code, 200, "{body}");
            let letters = body["deadLetters"].as_array().unwrap().clone();
            (!letters.is_empty()).then_some(letters)
        })
        .await;
        let error = letters[0]["error"].as_str().unwrap().to_owned();
        let location = format!("{}/moved-{status}", landing.url);
        assert!(error.contains(&status.to_string()), "{error}");
        assert!(error.contains(&location), "{error}");
        caught_up(&server, &name).await;
        let sink = sink_status(&server, &name).await;
        assert_eq!(sink["delivered"], 0, "{sink}");
        assert_eq!(sink["retried"], 0, "{sink}");
        assert!(
            sink["lastError"].as_str().unwrap().contains(&location),
            "{sink}"
        );
    }
    // Nothing went to where the redirects pointed.
    assert!(landing.requests().is_empty(), "{:?}", landing.requests());
}

/// A loopback server refusing every request with a 400 whose body never ends.
async fn endless_refusal() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let head = "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("400\r\n{}\r\n", "n".repeat(0x400));
                // Until the client hangs up.
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_with_an_endless_body_is_dead_lettered_with_its_start() {
    let url = endless_refusal().await;
    let server = Server::start(&format!(
        "[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{url}/hook\"\n\
         secret = \"{SECRET}\"\nmax_backoff_ms = 300\ntimeout_ms = 5000\n"
    ));
    server.qualified("webchat").await;
    let letters = wait_for("a dead letter", || async {
        let (_, body) = server.admin_get("/api/v1/sinks/hook/dead-letters").await;
        let letters = body["deadLetters"].as_array().unwrap().clone();
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    // The message quotes the body's start, cut at 300 bytes: the body was read only that far,
    // not to the end (there is none) nor until the delivery's timeout.
    let error = letters[0]["error"].as_str().unwrap();
    let quoted = format!(
        "the receiver answered 400 Bad Request: {}…",
        "n".repeat(300)
    );
    assert!(error.starts_with(&quoted), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_admin_routes_need_the_admin_token() {
    let receiver = receiver(200).await;
    let server = Server::start(&webhook_sink(&receiver, 10));
    let client = common::client();
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/sinks"),
        (reqwest::Method::GET, "/api/v1/sinks/hook/dead-letters"),
        (
            reqwest::Method::POST,
            "/api/v1/sinks/hook/dead-letters/replay",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/sinks/hook/dead-letters/1/replay",
        ),
        (reqwest::Method::DELETE, "/api/v1/sinks/hook/dead-letters/1"),
    ] {
        let url = format!("{}{path}", server.url());
        let r = client.request(method.clone(), &url).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let r = client
            .request(method, &url)
            .bearer_auth(common::READ_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
}

fn beckon(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_beckon"));
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("BECKON_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("run beckon")
}

/// Runs `beckon` on a blocking thread, so the test's runtime goes on serving its receiver.
async fn beckon_off_runtime(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        beckon(&args, &env)
    })
    .await
    .unwrap()
}

/// The standard output of a run that must have succeeded.
fn succeeded(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_cli_lists_replays_and_discards() {
    let receiver = receiver(200).await;
    let server = Server::start(&webhook_sink(&receiver, 10));
    let action = server.qualified("webchat").await;
    settled(&server, &receiver, "hook").await;
    receiver.answer(422);
    let posted = events(&action, &["offered", "accepted", "rejected"]);
    post_ok(&server, &json!(posted)).await;
    wait_for("a dead letter", || async {
        let (_, body) = server.admin_get("/api/v1/sinks/hook/dead-letters").await;
        (body["deadLetters"].as_array().map(Vec::len) == Some(1)).then_some(())
    })
    .await;

    let url = server.url();
    let token = [("BECKON_ADMIN_TOKEN", common::ADMIN_TOKEN)];
    let out = beckon_off_runtime(
        &[
            "dead-letters",
            "list",
            "--server",
            url,
            "--token",
            common::ADMIN_TOKEN,
        ],
        &[],
    )
    .await;
    let stdout = succeeded(&out);
    assert!(stdout.starts_with("hook\t#"), "{stdout}");
    assert!(
        stdout.contains("3 records") && stdout.contains("422"),
        "{stdout}"
    );

    // A replay that fails makes the command fail and keeps the dead letter.
    let out = beckon_off_runtime(&["dead-letters", "replay", "--server", url], &token).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("502"));

    // With the receiver fixed, replay (token from the environment) delivers and removes it.
    receiver.answer(200);
    let args = ["dead-letters", "replay", "--server", url, "--sink", "hook"];
    let stdout = succeeded(&beckon_off_runtime(&args, &token).await);
    assert!(
        stdout.contains("replayed 1 dead letters (3 records)"),
        "{stdout}"
    );
    let events = check_webhook_request(&receiver.accepted()[0]);
    let ids: Vec<&Value> = events.iter().map(|e| &e["id"]).collect();
    let expected: Vec<&Value> = posted.iter().map(|e| &e["eventId"]).collect();
    assert_eq!(ids, expected);
    assert_eq!(dead_letters(&server).await, Vec::<Value>::new());

    // A batch the receiver will never take is discarded by id.
    let other = server.qualified("webchat").await;
    caught_up(&server, "hook").await;
    receiver.answer_with(&[422]);
    post_ok(&server, &json!([other.event("offered")])).await;
    let id = wait_for("a dead letter to discard", || async {
        dead_letters(&server)
            .await
            .first()
            .map(|l| l["id"].as_i64().unwrap())
    })
    .await;
    let id_text = id.to_string();
    let args = ["dead-letters", "discard", "--server", url, "--id", &id_text];
    let stdout = succeeded(&beckon_off_runtime(&args, &token).await);
    assert_eq!(stdout, format!("hook: discarded dead letter {id}\n"));
    assert_eq!(dead_letters(&server).await, Vec::<Value>::new());

    // Without a server's token the CLI says where it looked.
    let out = beckon(
        &[
            "dead-letters",
            "list",
            "--data-dir",
            "/nonexistent-beckon-dir",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_events_are_not_sent_again_after_a_restart() {
    let receiver = receiver(200).await;
    let mut server = Server::start(&webhook_sink(&receiver, 10));
    let action = server.qualified("webchat").await;
    settled(&server, &receiver, "hook").await;
    let first = events(&action, &["offered", "accepted"]);
    post_ok(&server, &json!(first)).await;
    caught_up(&server, "hook").await;
    server.restart();
    let second = events(&action, &["rejected"]);
    post_ok(&server, &json!(second)).await;
    let events: Vec<Value> = wait_for("the event after the restart", || async {
        let events: Vec<Value> = receiver
            .accepted()
            .iter()
            .flat_map(check_webhook_request)
            .collect();
        (events.len() >= 3).then_some(events)
    })
    .await;
    caught_up(&server, "hook").await;
    let ids: Vec<&Value> = events.iter().map(|e| &e["id"]).collect();
    assert_eq!(
        ids,
        [
            &first[0]["eventId"],
            &first[1]["eventId"],
            &second[0]["eventId"]
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_a_delivery_as_long_as_the_sink_timeout() {
    // A timeout longer than any fixed shutdown wait: the delivery in flight at SIGTERM takes
    // 11 s, within the sink's 14 s, so it is finished and its cursor saved before the exit.
    let receiver = receiver(200).await;
    let mut server = Server::start(&format!(
        "[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}/hook\"\n\
         secret = \"{SECRET}\"\ntimeout_ms = 14000\n",
        receiver.url
    ));
    let action = server.qualified("webchat").await;
    settled(&server, &receiver, "hook").await;
    receiver.delay(&[Duration::from_secs(11)]);
    let posted = events(&action, &["offered"]);
    post_ok(&server, &json!(posted)).await;
    wait_for("the delivery to start", || async {
        (!receiver.requests().is_empty()).then_some(())
    })
    .await;
    let started = std::time::Instant::now();
    assert!(server.terminate().success());
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    // The cursor was saved: after a restart the batch is not delivered again.
    server.start_again();
    caught_up(&server, "hook").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "delivered again after the restart");
    assert_eq!(check_webhook_request(&requests[0])[0]["data"], posted[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ga4_gets_at_most_25_events_per_request_per_customer() {
    let receiver = receiver(204).await;
    let server = Server::start(&format!(
        "[[sinks]]\nname = \"analytics\"\ntype = \"ga4\"\nmeasurement_id = \"G-TEST123\"\n\
         api_secret = \"s3cret\"\nendpoint = \"{}/mp/collect\"\nbatch_size = 100\n",
        receiver.url
    ));
    let customer = uuid::Uuid::new_v4();
    let mut posted = Vec::new();
    for _ in 0..15 {
        let action = server.qualified_for("webchat", customer).await;
        posted.extend(events(&action, &["offered", "accepted"]));
    }
    let other = server.qualified("contentoffer").await;
    posted.extend(events(&other, &["offered", "accepted"]));
    let errored = server.qualified_for("webchat", other.customer_id).await;
    posted.push(errored.event("offered"));
    posted.push(errored.event("errored"));
    settled(&server, &receiver, "analytics").await;
    // One request, so one commit: the sink reads all 34 as one batch.
    post_ok(&server, &json!(posted)).await;
    let requests = wait_for("every event at GA4", || async {
        let requests = receiver.accepted();
        let n: usize = requests
            .iter()
            .map(|r| r.json()["events"].as_array().unwrap().len())
            .sum();
        (n >= posted.len()).then_some(requests)
    })
    .await;
    let shape: Vec<(String, usize)> = requests
        .iter()
        .map(|r| {
            let b = r.json();
            (
                b["client_id"].as_str().unwrap().to_owned(),
                b["events"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (customer.to_string(), 25),
            (customer.to_string(), 5),
            (other.customer_id.to_string(), 4)
        ]
    );
    let mut events = Vec::new();
    for r in &requests {
        assert_eq!(r.method, "POST");
        let url = reqwest::Url::parse(&format!("http://x{}", r.path_and_query)).unwrap();
        assert_eq!(url.path(), "/mp/collect");
        let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["measurement_id"], "G-TEST123");
        assert_eq!(query["api_secret"], "s3cret");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        events.extend(r.json()["events"].as_array().unwrap().clone());
    }
    assert_eq!(events.len(), posted.len());
    for (e, p) in events.iter().zip(&posted) {
        let name = format!(
            "{}_{}",
            p["actionMediaType"].as_str().unwrap(),
            p["actionState"].as_str().unwrap()
        );
        assert_eq!(e["name"], name.as_str());
        let params = &e["params"];
        assert_eq!(params["event_id"], p["eventId"]);
        assert_eq!(params["deployment_id"], common::DEPLOYMENT);
        assert_eq!(params["action_id"], p["actionId"]);
        assert_eq!(params["action_map_id"], p["actionMapId"]);
        assert_eq!(params["action_map_version"], p["actionMapVersion"]);
        assert_eq!(params["session_id"], p["sessionId"]);
        assert_eq!(
            params["error_code"],
            p.get("errorCode").cloned().unwrap_or(Value::Null)
        );
        assert_eq!(
            params["error_message"],
            p.get("errorMessage").cloned().unwrap_or(Value::Null)
        );
        assert!(e["timestamp_micros"].as_i64().unwrap() > 0);
        let n = e["name"].as_str().unwrap();
        assert!(n.len() <= 40 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }
    assert_eq!(events.last().unwrap()["name"], "webchat_errored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ga4_times_each_request_and_never_resends_an_accepted_one() {
    let receiver = receiver(204).await;
    let server = Server::start(&format!(
        "[[sinks]]\nname = \"analytics\"\ntype = \"ga4\"\nmeasurement_id = \"G-TEST123\"\n\
         api_secret = \"s3cret\"\nendpoint = \"{}/mp/collect\"\nbatch_size = 100\n\
         timeout_ms = 500\nmax_backoff_ms = 300\n",
        receiver.url
    ));
    let actions = server.qualified_many("webchat", 4).await;
    settled(&server, &receiver, "analytics").await;
    // One batch of 8 requests (customers alternate), each answered after 200 ms: 1.6 s in all,
    // more than the 500 ms timeout, which is for one request.
    let posted: Vec<Value> = ["offered", "accepted"]
        .iter()
        .flat_map(|state| actions.iter().map(move |a| a.event(state)))
        .collect();
    receiver.delay(&[Duration::from_millis(200); 40]);
    post_ok(&server, &json!(posted)).await;
    caught_up(&server, "analytics").await;
    // GA4 counts every request it takes: each event was sent once, in log order.
    let sent: Vec<Value> = receiver
        .requests()
        .iter()
        .flat_map(|r| r.json()["events"].as_array().unwrap().clone())
        .map(|e| e["params"]["event_id"].clone())
        .collect();
    let expected: Vec<Value> = posted.iter().map(|e| e["eventId"].clone()).collect();
    assert_eq!(sent, expected);
    let status = sink_status(&server, "analytics").await;
    assert_eq!(status["retried"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_gets_track_calls_keyed_by_event_id() {
    let receiver = receiver(200).await;
    let server = Server::start(&format!(
        "[[sinks]]\nname = \"segment\"\ntype = \"segment\"\nwrite_key = \"wk_test\"\n\
         endpoint = \"{}/v1/batch\"\ntopics = [\"webchat:all\"]\n",
        receiver.url
    ));
    let chat = server.qualified("webchat").await;
    let offer = server.qualified_for("contentoffer", chat.customer_id).await;
    let delivered = settled(&server, &receiver, "segment").await;
    let mut posted = events(&chat, &["offered", "accepted"]);
    // Not a webchat event: the sink's topics leave it out.
    post_ok(&server, &json!(events(&offer, &["offered"]))).await;
    post_ok(&server, &json!(posted)).await;
    posted.extend(events(&chat, &["rejected"]));
    post_ok(&server, &json!(posted[2..])).await;
    let calls: Vec<Value> = wait_for("every call at Segment", || async {
        let calls: Vec<Value> = receiver
            .accepted()
            .iter()
            .flat_map(|r| r.json()["batch"].as_array().unwrap().clone())
            .collect();
        (calls.len() >= posted.len()).then_some(calls)
    })
    .await;
    for r in receiver.requests() {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path_and_query, "/v1/batch");
        assert_eq!(r.header("authorization"), Some("Basic d2tfdGVzdDo="));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.body.len() < 500 * 1024);
    }
    assert_eq!(calls.len(), posted.len());
    for (c, p) in calls.iter().zip(&posted) {
        assert_eq!(c["type"], "track");
        assert_eq!(
            c["event"],
            format!("webchat_{}", p["actionState"].as_str().unwrap())
        );
        assert_eq!(c["messageId"], p["eventId"]);
        assert_eq!(c["anonymousId"], p["customerId"]);
        assert_eq!(c["timestamp"], p["timestamp"]);
        for (key, value) in p.as_object().unwrap() {
            assert_eq!(&c["properties"][key], value, "{key}");
        }
    }
    caught_up(&server, "segment").await;
    assert_eq!(
        sink_status(&server, "segment").await["delivered"],
        delivered + 3
    );
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sink_writes_ndjson_and_rotates_by_size() {
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("events.ndjson");
    let server = Server::start(&format!(
        "[[sinks]]\nname = \"archive\"\ntype = \"file\"\npath = {:?}\n\
         max_bytes = 1500\nkeep = 10\nbatch_size = 4\n",
        path.display().to_string()
    ));
    let files = |n: usize| -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = (1..=n)
            .rev()
            .map(|i| out.path().join(format!("events.ndjson.{i}")))
            .collect();
        v.push(path.clone());
        v
    };
    let mut posted = Vec::new();
    for _ in 0..4 {
        let a = server.qualified("contentoffer").await;
        let events = events(&a, &["offered", "accepted"]);
        post_ok(&server, &json!(events)).await;
        posted.extend(events);
    }
    // What a sink takes by default (action events and blocked offers, not web events): the
    // `qualified` records that made the actions, and the posted events.
    let log: Vec<Value> = server
        .log("")
        .await
        .into_iter()
        .filter(|r| r["kind"] != "web")
        .collect();
    let all: Vec<Value> = wait_for("every line in the files", || async {
        let all: Vec<Value> = files(10).iter().flat_map(|p| lines(p)).collect();
        (all.len() >= log.len()).then_some(all)
    })
    .await;
    // Oldest file first, oldest line first: the log order, each record once.
    let ids: Vec<&Value> = all.iter().map(|l| &l["event"]["eventId"]).collect();
    let expected: Vec<&Value> = log.iter().map(|r| &r["event"]["eventId"]).collect();
    assert_eq!(ids, expected);
    for (line, record) in all.iter().zip(&log) {
        assert_eq!(line["kind"], record["kind"]);
        assert_eq!(line["deploymentId"], common::DEPLOYMENT);
        assert!(line["seq"].as_u64().unwrap() > 0);
        assert!(line["recordedAt"].is_string());
        assert_eq!(line["event"], record["event"]);
    }
    for p in &posted {
        assert!(all.iter().any(|l| &l["event"] == p), "{p} not written");
    }
    let present: Vec<_> = files(10).into_iter().filter(|p| p.exists()).collect();
    assert!(present.len() >= 3, "rotated: {present:?}");
    for p in &present {
        let size = std::fs::metadata(p).unwrap().len();
        assert!(size <= 1500, "{} has {size} bytes", p.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sink_cuts_a_half_written_line_before_appending() {
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("events.ndjson");
    let mut server = Server::start(&format!(
        "[[sinks]]\nname = \"archive\"\ntype = \"file\"\npath = {:?}\n",
        path.display().to_string()
    ));
    let action = server.qualified("webchat").await;
    caught_up(&server, "archive").await;
    let before = lines(&path);
    assert!(!before.is_empty());
    // Killed in the middle of a line (disk full, SIGKILL): the file ends with a fragment.
    server.kill();
    let whole = std::fs::read(&path).unwrap();
    let last_line = whole[..whole.len() - 1]
        .rsplit(|&b| b == b'\n')
        .next()
        .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, &last_line[..last_line.len() / 2]).unwrap();
    drop(file);
    server.start_again();
    let posted = events(&action, &["offered", "accepted"]);
    post_ok(&server, &json!(posted)).await;
    caught_up(&server, "archive").await;
    // Every line parses (`lines` fails on one that does not), the lines written before are
    // kept, and the new events follow them.
    let after = lines(&path);
    assert_eq!(after[..before.len()], before[..]);
    let new: Vec<&Value> = after[before.len()..].iter().map(|l| &l["event"]).collect();
    assert_eq!(new, [&posted[0], &posted[1]]);
    assert!(std::fs::read(&path).unwrap().ends_with(b"\n"));
}

#[test]
fn the_cloudevents_schema_refuses_broken_events() {
    let good = json!({
        "specversion": "1.0",
        "id": "e-1",
        "source": "/beckon/deployments/x",
        "type": "dev.beckon.webaction.offered",
        "time": "2026-11-28T21:55:27.123Z",
        "datacontenttype": "application/json",
        "data": {},
        "beckonseq": "7",
    });
    assert!(CLOUDEVENTS.is_valid(&good));
    let broken = |key: &str, value: Value| {
        let mut e = good.clone();
        if value.is_null() {
            e.as_object_mut().unwrap().remove(key);
        } else {
            e[key] = value;
        }
        e
    };
    for (key, value) in [
        ("specversion", json!("0.3")),
        ("id", Value::Null),
        ("id", json!("")),
        ("source", Value::Null),
        ("type", json!(7)),
        ("time", json!("yesterday")),
        ("datacontenttype", json!("json")),
        ("beckonSeq", json!("7")),
        ("beckonseq", json!(1u64 << 40)),
        ("data_base64", json!("AA==")),
    ] {
        assert!(
            !CLOUDEVENTS.is_valid(&broken(key, value.clone())),
            "{key}: {value}"
        );
    }
}
