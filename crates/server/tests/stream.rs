//! Reading the log back: live streams with topic filters and resume, paged reads, tokens, the
//! `tail` and `check-config` commands, operator routes and graceful shutdown.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ADMIN_TOKEN, READ_TOKEN, Server, Stream, client, pageview};
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_stream_delivers_matching_events_with_their_sequence_numbers() {
    let server = Server::start("");
    let chat = server.qualified("webchat").await;
    let offer = server.qualified("contentoffer").await;
    let mut offered = Stream::open(
        &server,
        "topic=webchat:offered&topic=contentoffer:all",
        None,
    )
    .await;
    let mut everything = Stream::open(&server, "", None).await;
    for (action, state) in [(&chat, "offered"), (&offer, "offered"), (&chat, "accepted")] {
        assert_eq!(
            server
                .post("action-events", &action.event(state))
                .await
                .status(),
            200
        );
    }
    server
        .post(
            "web-events",
            &pageview(chat.customer_id, "https://shop.test/"),
        )
        .await;

    let first = offered.next(WAIT).await.expect("webchat:offered");
    assert_eq!(first.event, "webchat:offered");
    assert_eq!(first.data["actionId"], chat.action_id.to_string());
    assert_eq!(first.data["customerIdType"], "cookie");
    let second = offered.next(WAIT).await.expect("contentoffer:offered");
    assert_eq!(second.event, "contentoffer:offered");
    assert!(second.id > first.id);
    assert!(
        offered.next(Duration::from_millis(500)).await.is_none(),
        "webchat:accepted leaked through"
    );

    let mut topics = Vec::new();
    while let Some(e) = everything.next(Duration::from_secs(2)).await {
        topics.push(e.event);
        if topics.len() == 4 {
            break;
        }
    }
    assert_eq!(
        topics,
        [
            "webchat:offered",
            "contentoffer:offered",
            "webchat:accepted",
            "web:pageview"
        ]
    );
}

#[tokio::test]
async fn a_resumed_stream_has_no_gap_and_no_duplicate() {
    let server = Server::start("");
    let chats = server.qualified_many("webchat", 6).await;
    let head = server.log("").await.last().unwrap()["seq"].as_u64();
    let mut stream = Stream::open(&server, "topic=webchat:all", head).await;
    for chat in &chats[..3] {
        server.post("action-events", &chat.event("offered")).await;
    }
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(stream.next(WAIT).await.expect("event"));
    }
    drop(stream);
    for chat in &chats[3..] {
        server.post("action-events", &chat.event("offered")).await;
    }
    let mut resumed = Stream::open(&server, "topic=webchat:all", Some(seen[1].id)).await;
    for _ in 0..4 {
        seen.push(resumed.next(WAIT).await.expect("event after resume"));
    }
    assert!(resumed.next(Duration::from_millis(300)).await.is_none());
    let ids: Vec<String> = seen
        .iter()
        .map(|e| e.data["actionId"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = chats.iter().map(|c| c.action_id.to_string()).collect();
    assert_eq!(ids, expected);
}

/// A stream lost before any record matched resumes from the id it opened with: what was committed
/// while the client was away arrives, nothing before it does.
#[tokio::test]
async fn a_stream_lost_before_its_first_event_resumes_from_its_opening_id() {
    let server = Server::start("");
    let chats = server.qualified_many("webchat", 3).await;
    server
        .post("action-events", &chats[0].event("offered"))
        .await;
    let head = server.log("").await.last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    let stream = Stream::open(&server, "topic=webchat:offered", None).await;
    assert_eq!(stream.start, head, "it opens after the head");
    drop(stream);
    for chat in &chats[1..] {
        server.post("action-events", &chat.event("offered")).await;
    }
    // A later subscriber without an id starts after these: they would be lost.
    let later = Stream::open(&server, "topic=webchat:offered", None).await;
    assert!(later.start > head);
    let mut resumed = Stream::open(&server, "topic=webchat:offered", Some(head)).await;
    assert_eq!(resumed.start, head);
    let mut ids = Vec::new();
    while let Some(e) = resumed.next(Duration::from_secs(2)).await {
        ids.push(e.data["actionId"].as_str().unwrap().to_owned());
    }
    let expected: Vec<String> = chats[1..].iter().map(|c| c.action_id.to_string()).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn many_concurrent_writers_reach_a_subscriber_in_log_order() {
    // One client sends every request: the default rate limit (50 a second, bursts of 100) would
    // refuse some of them on a machine fast enough.
    let server = Server::start("[limits]\nrequests_per_second = 100000\nburst = 100000\n");
    let offers = server.qualified_many("contentoffer", 200).await;
    let mut stream = Stream::open(&server, "topic=contentoffer:offered", None).await;
    let mut tasks = Vec::new();
    for writer in offers.chunks(25) {
        let url = server.ingest_url("action-events");
        let writer = writer.to_vec();
        tasks.push(tokio::spawn(async move {
            for offer in writer {
                let e = offer.event("offered");
                let r = client()
                    .post(&url)
                    .header("origin", common::ORIGIN)
                    .json(&e)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut ids = Vec::new();
    while ids.len() < 200 {
        ids.push(stream.next(WAIT).await.expect("every committed event").id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let log: Vec<u64> = server
        .log("&topic=contentoffer:offered")
        .await
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, log);
}

#[tokio::test]
async fn paged_reads_walk_the_log_by_sequence_number() {
    let server = Server::start("");
    server.qualified_many("webchat", 7).await;
    server
        .post(
            "web-events",
            &pageview(Uuid::new_v4(), "https://shop.test/"),
        )
        .await;
    let base = server.url().to_owned();
    let get = |query: String| {
        client()
            .get(format!("{base}/api/v1/events?{query}"))
            .bearer_auth(READ_TOKEN)
            .send()
    };
    let page: Value = get("after=0&limit=3&topic=webchat:qualified".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    let log = server.log("").await;
    let qualified: Vec<u64> = log
        .iter()
        .filter(|r| r["event"]["actionState"] == "qualified")
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    let head = log.last().unwrap()["seq"].as_u64().unwrap();
    assert_eq!(seqs, qualified[..3]);
    assert_eq!(page["next"], qualified[2]);
    assert_eq!(page["head"], head);
    let rest: Value = get(format!(
        "after={}&limit=100&topic=webchat:qualified",
        qualified[2]
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(rest["events"].as_array().unwrap().len(), 4);
    assert_eq!(
        rest["next"], head,
        "the cursor moves past records the filter skips"
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("after=x", "after"),
        ("topic=webchat:*", "topic"),
        ("bogus=1", "bogus"),
    ] {
        let r = get(query.into()).await.unwrap();
        assert_eq!(r.status(), 400, "{query}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["field"], field);
    }
    let body: Value = get("topic=webchat:*".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("did you mean 'webchat:all'"),
        "{body}"
    );
}

/// A paged read of one deployment is filtered in the store's query: a deployment with few or no
/// records in a long log is answered at once, not after one query per page of the whole log
/// (which ran into the time limit).
#[tokio::test]
async fn a_read_of_one_deployment_answers_at_once_however_little_of_the_log_is_its() {
    const OTHER: &str = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
    let server = Server::start(&format!(
        "[limits]\nrequest_timeout_secs = 2\nrequests_per_second = 1000\n\
         [[deployments]]\nid = \"{OTHER}\"\nname = \"Other shop\"\nallowed_origins = [\"http://other.test\"]\n"
    ));
    let other = client()
        .post(format!(
            "{}/api/v1/deployments/{OTHER}/web-events",
            server.url()
        ))
        .header("origin", "http://other.test")
        .json(&pageview(Uuid::new_v4(), "https://other.test/"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    // Then a long log of the test deployment's records, in batches each well within the limit.
    let customer = Uuid::new_v4();
    let batch: Vec<Value> = (0..500)
        .map(|_| pageview(customer, "https://shop.test/"))
        .collect();
    for _ in 0..80 {
        server.actions(&Value::Array(batch.clone())).await;
    }
    let head = server.log("").await.last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert!(head > 40_000);
    let read = |query: String| {
        let url = format!("{}/api/v1/events?{query}", server.url());
        async move {
            let r = client()
                .get(url)
                .bearer_auth(READ_TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{query}");
            r.json::<Value>().await.unwrap()
        }
    };
    let page = read(format!("deployment={OTHER}&limit=1")).await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["deploymentId"], OTHER);
    assert_eq!(page["next"], events[0]["seq"]);
    // Nothing more of it: the rest of the log examined in one answer.
    let started = std::time::Instant::now();
    let rest = read(format!("deployment={OTHER}&limit=1&after={}", page["next"])).await;
    assert_eq!(
        (&rest["events"], &rest["next"]),
        (&json!([]), &json!(head)),
        "{rest}"
    );
    let none = read(format!(
        "deployment={}&limit=1&topic=web:all",
        Uuid::new_v4()
    ))
    .await;
    assert_eq!(
        (&none["events"], &none["next"]),
        (&json!([]), &json!(head)),
        "{none}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The test deployment's own records, filtered by topic as well.
    let mine = read(format!(
        "deployment={}&limit=3&topic=web:pageview",
        common::DEPLOYMENT
    ))
    .await;
    let mine = mine["events"].as_array().unwrap();
    assert_eq!(mine.len(), 3);
    assert!(mine.iter().all(|e| e["deploymentId"] == common::DEPLOYMENT));
}

/// Each topic is a condition of the log's query, and about a thousand made SQLite refuse it (a
/// 503 for a read, a silently ended stream): at most 64 distinct topics, duplicates counted once.
#[tokio::test]
async fn more_than_64_distinct_topics_are_refused_naming_the_limit() {
    let server = Server::start("");
    server.qualified_many("webchat", 2).await;
    let topics = |n: usize| {
        (0..n)
            .map(|i| format!("topic=web:event{i}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    for route in ["/api/v1/events", "/api/v1/events/stream"] {
        let r = client()
            .get(format!("{}{route}?{}", server.url(), topics(65)))
            .bearer_auth(READ_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{route}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["type"], "/problems/bad-request", "{p}");
        assert_eq!(p["field"], "topic", "{p}");
        assert_eq!(p["maxTopics"], 64, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("64"), "{p}");
    }
    // 64 distinct, and a thousand repeats of one: read as it says.
    let many = format!(
        "{}&{}",
        topics(63),
        vec!["topic=webchat:all"; 1000].join("&")
    );
    let r = client()
        .get(format!("{}/api/v1/events?{many}", server.url()))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 2, "{page}");
    let mut stream = Stream::open(&server, &many, Some(0)).await;
    assert_eq!(
        stream.next(WAIT).await.expect("a record").event,
        "webchat:qualified"
    );

    let args: Vec<String> = (0..65).map(|i| format!("web:event{i}")).collect();
    let tail = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args(["tail", "--token", "x", "--server", server.url()])
        .args(&args)
        .output()
        .unwrap();
    assert!(!tail.status.success());
    let stderr = String::from_utf8_lossy(&tail.stderr);
    assert!(stderr.contains("at most 64"), "{stderr}");
}

/// A position past the log's largest (`i64::MAX`) is refused: read as a negative position, it
/// replayed the whole log to a paged read and to a resumed stream.
#[tokio::test]
async fn a_position_past_the_largest_sequence_number_is_refused_not_replayed() {
    let server = Server::start("");
    server.qualified_many("webchat", 3).await;
    assert!(!server.log("").await.is_empty());
    for after in ["9223372036854775808", "18446744073709551615"] {
        let r = client()
            .get(format!("{}/api/v1/events?after={after}", server.url()))
            .bearer_auth(READ_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "after={after}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(
            (&problem["type"], &problem["field"]),
            (&json!("/problems/bad-request"), &json!("after")),
            "{problem}"
        );

        let r = client()
            .get(format!("{}/api/v1/events/stream", server.url()))
            .bearer_auth(READ_TOKEN)
            .header("last-event-id", after)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "Last-Event-ID: {after}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["field"], "Last-Event-ID", "{problem}");
    }
    // The largest position the log has is still a position: nothing after it.
    let r = client()
        .get(format!("{}/api/v1/events?after={}", server.url(), i64::MAX))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["events"], json!([]), "{page}");
}

#[tokio::test]
async fn reads_need_a_token_and_admin_routes_need_the_admin_token() {
    let server = Server::start("");
    let url = |path: &str| format!("{}{path}", server.url());
    for path in ["/api/v1/events", "/api/v1/events/stream"] {
        let none = client().get(url(path)).send().await.unwrap();
        assert_eq!(none.status(), 401, "{path}");
        let wrong = client()
            .get(url(path))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403, "{path}");
    }
    let read_on_admin = client()
        .get(url("/api/v1/deployments"))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(read_on_admin.status(), 403);
    let admin: Value = client()
        .get(url("/api/v1/deployments"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["entities"][0]["allowedOrigins"][0], common::ORIGIN);
    assert_eq!(admin["entities"][0]["terminalSuppression"]["days"], 90);
}

#[tokio::test]
async fn tail_prints_each_matching_event_as_one_json_line() {
    let server = Server::start("");
    let offer = server.qualified("contentoffer").await;
    let mut tail = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args([
            "tail",
            "--server",
            server.url(),
            "--token",
            READ_TOKEN,
            "contentoffer:offered",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    // The stream starts "now": wait until tail is subscribed before posting.
    common::eventually(WAIT, || async {
        let metrics = client()
            .get(format!("{}/metrics", server.url()))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        metrics
            .contains("beckon_stream_subscribers 1")
            .then_some(())
    })
    .await
    .expect("tail subscribed");
    for state in ["offered", "accepted"] {
        server.post("action-events", &offer.event(state)).await;
    }
    let line = tokio::task::spawn_blocking(move || lines.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let _ = tail.kill();
    let _ = tail.wait();
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["actionState"], "offered");
    assert_eq!(event["actionId"], offer.action_id.to_string());

    let bad = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args(["tail", "--token", "x", "webchat:*"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("did you mean 'webchat:all'"));
}

#[test]
fn check_config_names_the_line_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "listen = \"127.0.0.1:8080\"\n\n[[sinks]]\nname = \"x\"\ntype = \"kafka\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:5:8: unknown variant `kafka`"),
        "{err}"
    );

    // A rule across entries, checked after the file is read, names its line too.
    std::fs::write(
        &bad,
        "[[sinks]]\nname = \"x\"\ntype = \"file\"\npath = \"x.ndjson\"\nbatch_size = 0\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:5:1: sinks[0] (x): batch_size must be at least 1"),
        "{err}"
    );

    let good = dir.path().join("good.toml");
    std::fs::write(&good, "listen = \"127.0.0.1:8080\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .arg("check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sink that could never deliver, or would retry without a pause, is refused at load with the
/// sink, the key and its line: an address that is not an absolute http(s) URL, a zero time.
#[test]
fn check_config_refuses_sink_settings_that_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let webhook = "[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nsecret = \"s\"\n";
    let hook = |line: &str| format!("{webhook}url = \"https://hooks.example/\"\n{line}\n");
    let ga4 =
        "[[sinks]]\nname = \"ga\"\ntype = \"ga4\"\nmeasurement_id = \"G-X\"\napi_secret = \"a\"\n";
    let segment = "[[sinks]]\nname = \"seg\"\ntype = \"segment\"\nwrite_key = \"w\"\n";
    let file = "[[sinks]]\nname = \"archive\"\ntype = \"file\"\npath = \"a.ndjson\"\n";
    for (toml, says) in [
        (
            format!("{webhook}url = \"hooks.example/beckon\"\n"),
            "bad.toml:5:1: sinks[0] (hook): url is not an absolute http or https URL",
        ),
        (
            format!("{webhook}url = \"ftp://hooks.example/\"\n"),
            "bad.toml:5:1: sinks[0] (hook): url is not an absolute http or https URL: \
             the scheme is ftp",
        ),
        (
            format!("{ga4}endpoint = \"/debug/mp/collect\"\n"),
            "bad.toml:6:1: sinks[0] (ga): endpoint is not an absolute http or https URL",
        ),
        (
            format!("{segment}endpoint = \"api.segment.io/v1/batch\"\n"),
            "bad.toml:5:1: sinks[0] (seg): endpoint is not an absolute http or https URL",
        ),
        (
            hook("timeout_ms = 0"),
            "bad.toml:6:1: sinks[0] (hook): timeout_ms must be at least 1",
        ),
        (
            hook("max_backoff_ms = 0"),
            "bad.toml:6:1: sinks[0] (hook): max_backoff_ms must be at least 1",
        ),
        (
            format!("{file}max_bytes = 0\n"),
            "bad.toml:5:1: sinks[0] (archive): max_bytes must be at least 1",
        ),
    ] {
        std::fs::write(&bad, &toml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_beckon"))
            .arg("check-config")
            .arg(&bad)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{toml}");
        assert!(err.contains(says), "{toml}\n{err}");
    }
}

#[tokio::test]
async fn a_stream_over_max_subscribers_is_a_503_problem_the_openapi_document_lists() {
    let server = Server::start("[limits]\nmax_subscribers = 1\n");
    let _first = Stream::open(&server, "", None).await;
    let r = client()
        .get(format!("{}/api/v1/events/stream", server.url()))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers().get("retry-after").is_some());
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-subscribers");

    let document: Value = client()
        .get(format!("{}/api/openapi.json", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = &document["paths"]["/api/v1/events/stream"]["get"]["responses"]["503"];
    assert!(
        listed["content"]["application/problem+json"].is_object(),
        "{listed}"
    );
    assert!(
        listed["description"]
            .as_str()
            .is_some_and(|d| d.contains("/problems/too-many-subscribers")),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_opened_together_stay_within_max_subscribers() {
    let server = Server::start("[limits]\nmax_subscribers = 3\n");
    let open = || {
        client()
            .get(format!("{}/api/v1/events/stream", server.url()))
            .bearer_auth(READ_TOKEN)
            .send()
    };
    let answers = futures_util::future::join_all((0..24).map(|_| open())).await;
    let mut statuses: Vec<u16> = answers
        .iter()
        .map(|r| r.as_ref().unwrap().status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [[200; 3].as_slice(), &[503; 21]].concat());
    // The refused ones took no place: closing the open streams frees all three.
    drop(answers);
    common::eventually(Duration::from_secs(10), || async {
        let metrics = server.metrics().await;
        metrics
            .lines()
            .any(|l| l == "beckon_stream_subscribers 0")
            .then_some(())
    })
    .await
    .expect("the subscriber gauge back at 0");
}

#[tokio::test]
async fn operators_see_health_readiness_and_metrics() {
    let server = Server::start("");
    let get = |path: &'static str| client().get(format!("{}{path}", server.url())).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let ready: Value = get("/readyz").await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    server
        .post(
            "web-events",
            &pageview(Uuid::new_v4(), "https://shop.test/"),
        )
        .await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("beckon_records_committed_total{kind=\"web\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("beckon_log_head 1"), "{metrics}");
}

/// Readiness checks that arrive together (several checkers, or a client hammering) take turns
/// with the disk probe and share its outcome: each is answered ready, none is failed by
/// another's probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readiness_checks_are_all_ready() {
    let server = Server::start("");
    let url = format!("{}/readyz", server.url());
    for _ in 0..3 {
        let checks = (0..40).map(|_| {
            let request = client().get(&url).send();
            async move { request.await.unwrap().status().as_u16() }
        });
        let statuses = futures_util::future::join_all(checks).await;
        assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    }
}

/// A client asking for readiness in a loop gets answers from at most one disk probe a second
/// (each is a commit and a synced 256 KiB file): the answers say when theirs was made.
#[tokio::test]
async fn readiness_asked_in_a_loop_probes_at_most_once_a_second() {
    let server = Server::start("");
    let url = format!("{}/readyz", server.url());
    let started = std::time::Instant::now();
    let mut checked = std::collections::BTreeSet::new();
    for _ in 0..30 {
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        checked.insert(body["checkedAt"].as_str().unwrap().to_owned());
    }
    let seconds = started.elapsed().as_secs();
    assert!(
        checked.len() as u64 <= seconds + 2,
        "{} probes in {seconds} s: {checked:?}",
        checked.len()
    );
}

#[tokio::test]
async fn sigterm_ends_live_streams_and_exits_cleanly_keeping_every_event() {
    let mut server = Server::start("");
    let mut stream = Stream::open(&server, "", None).await;
    server
        .post(
            "web-events",
            &pageview(Uuid::new_v4(), "https://shop.test/"),
        )
        .await;
    assert!(stream.next(WAIT).await.is_some());
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        stream.next(WAIT).await.is_none(),
        "the stream ends with the server"
    );
    server.restart();
    assert_eq!(server.log("").await.len(), 1);
}
