//! Ingestion against the real binary: what is accepted is stored once and in order, and every
//! kind of bad input gets its problem document and changes nothing.

mod common;

use common::{Action, DEPLOYMENT, ORIGIN, Server, client, pageview};
use serde_json::{Value, json};
use uuid::Uuid;

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("problem JSON");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    for member in ["type", "title", "status", "detail"] {
        assert!(
            body.get(member).is_some(),
            "problem without {member}: {body}"
        );
    }
    assert_eq!(body["status"], status);
    (status, body)
}

#[tokio::test]
async fn a_lifecycle_is_stored_in_order_and_duplicates_once() {
    let server = Server::start("");
    let offer = server.qualified("contentoffer").await;
    for state in ["offered", "offered", "accepted", "accepted"] {
        let response = server.post("action-events", &offer.event(state)).await;
        assert_eq!(response.status(), 200, "{state}");
    }
    let log = server.log("&topic=contentoffer:all").await;
    let states: Vec<&str> = log
        .iter()
        .map(|r| r["event"]["actionState"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["qualified", "offered", "accepted"]);
    let seqs: Vec<u64> = log.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(log[0]["deploymentId"], DEPLOYMENT);
    assert_eq!(log[0]["kind"], "action");

    let second = server.post("action-events", &offer.event("accepted")).await;
    let body: Value = second.json().await.unwrap();
    assert_eq!(body, json!({ "results": [{ "outcome": "duplicate" }] }));
}

#[tokio::test]
async fn an_illegal_transition_is_a_409_naming_the_allowed_states_and_stores_nothing() {
    let server = Server::start("");
    let chat = server.qualified("webchat").await;
    server.post("action-events", &chat.event("offered")).await;

    let (status, body) = problem(server.post("action-events", &chat.event("engaged")).await).await;
    assert_eq!(status, 422, "the server's own state: {body}");
    let (status, body) = problem(
        server
            .post("action-events", &chat.event("frequencyCapReached"))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["type"], "/problems/illegal-transition");
    // One object, not an array: the field is named without an index.
    assert_eq!(body["field"], "actionState");
    assert_eq!(body["actionId"], chat.action_id.to_string());
    assert_eq!(body["currentState"], "offered");
    assert_eq!(body["attemptedState"], "frequencyCapReached");
    assert_eq!(
        body["allowed"],
        json!(["accepted", "rejected", "ignored", "timedout", "errored"])
    );

    // A batch with one bad event is refused whole.
    let other = server.qualified("webchat").await;
    let before = server.log("").await.len();
    let batch = json!([
        other.event("offered"),
        chat.event("accepted"),
        chat.event("ignored")
    ]);
    let (status, body) = problem(server.post("action-events", &batch).await).await;
    assert_eq!(status, 409);
    assert_eq!(body["field"], "[2].actionState");
    assert_eq!(server.log("").await.len(), before);

    // Nothing may follow a final state.
    let offer = server.qualified("contentoffer").await;
    for state in ["offered", "rejected"] {
        server.post("action-events", &offer.event(state)).await;
    }
    let (status, body) =
        problem(server.post("action-events", &offer.event("accepted")).await).await;
    assert_eq!(status, 409);
    assert_eq!(body["allowed"], json!([]));
}

#[tokio::test]
async fn an_action_the_server_never_qualified_is_a_404_naming_it() {
    let server = Server::start("");
    let unknown = Action::new("contentoffer");
    let (status, body) = problem(
        server
            .post("action-events", &unknown.event("offered"))
            .await,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["type"], "/problems/unknown-action");
    assert_eq!(body["field"], "actionId");
    assert_eq!(body["actionId"], unknown.action_id.to_string());
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("the server qualifies actions"),
        "{body}"
    );
    assert!(body.get("allowed").is_none(), "{body}");

    // In a batch the event is named by its index, and its known neighbour is not stored either.
    let known = server.qualified("contentoffer").await;
    let before = server.log("").await.len();
    let batch = json!([known.event("offered"), unknown.event("offered")]);
    let (status, body) = problem(server.post("action-events", &batch).await).await;
    assert_eq!((status, &body["field"]), (404, &json!("[1].actionId")));
    assert_eq!(server.log("").await.len(), before);
}

#[tokio::test]
async fn concurrent_conflicting_transitions_let_exactly_one_through() {
    let server = Server::start("");
    let offer = server.qualified("contentoffer").await;
    server.post("action-events", &offer.event("offered")).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let state = if i % 2 == 0 { "accepted" } else { "rejected" };
        let (url, event) = (server.ingest_url("action-events"), offer.event(state));
        tasks.push(tokio::spawn(async move {
            let r = client()
                .post(url)
                .header("origin", ORIGIN)
                .json(&event)
                .send()
                .await
                .unwrap();
            (state, r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut stored = Vec::new();
    for task in tasks {
        let (state, status, body) = task.await.unwrap();
        if status == 200 && body["results"][0]["outcome"] == "stored" {
            stored.push(state);
        } else {
            assert!(
                status == 409 || body["results"][0]["outcome"] == "duplicate",
                "{status} {body}"
            );
        }
    }
    assert_eq!(stored.len(), 1, "{stored:?}");
    let finals: Vec<Value> = server
        .log("&topic=contentoffer:accepted&topic=contentoffer:rejected")
        .await;
    assert_eq!(finals.len(), 1);
}

#[tokio::test]
async fn web_events_are_stored_with_typed_attributes() {
    let server = Server::start("");
    let customer = Uuid::new_v4();
    let mut event = pageview(customer, "https://shop.test/pricing?utm_source=news");
    event["attributes"] =
        json!({ "plan": "pro", "seats": 3, "vip": { "dataType": "boolean", "value": "true" } });
    let response = server
        .post(
            "web-events",
            &json!([event, pageview(customer, "https://shop.test/")]),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "actions": [] })
    );
    let log = server.log("&topic=web:pageview").await;
    assert_eq!(log.len(), 2);
    let stored = &log[0]["event"];
    assert_eq!(stored["customerCookieId"], customer.to_string());
    assert_eq!(
        stored["attributes"]["seats"],
        json!({ "dataType": "integer", "value": "3" })
    );
    assert_eq!(
        stored["attributes"]["vip"],
        json!({ "dataType": "boolean", "value": "true" })
    );
    assert!(Uuid::parse_str(stored["eventId"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn bad_input_gets_the_right_problem_and_changes_nothing() {
    let server = Server::start("[limits]\nmax_body_bytes = 65536\nmax_events_per_batch = 10\n");
    let chat = server.qualified("webchat").await;
    let before = server.log("").await;

    let with = |field: &str, value: Value| {
        let mut e = chat.event("offered");
        e[field] = value;
        e
    };
    let mut errored_without_code = chat.event("errored");
    errored_without_code
        .as_object_mut()
        .unwrap()
        .remove("errorCode");
    let mut code_on_offered = chat.event("offered");
    code_on_offered["errorCode"] = json!(1);
    let cases: Vec<(&str, Value, u16, Option<&str>)> = vec![
        (
            "unknown media type",
            with("actionMediaType", json!("webMessagingOffer")),
            422,
            Some("actionMediaType"),
        ),
        (
            "unknown state",
            with("actionState", json!("Offered")),
            422,
            Some("actionState"),
        ),
        (
            "wrong type",
            with("actionMapVersion", json!("1")),
            422,
            Some("actionMapVersion"),
        ),
        (
            "not a uuid",
            with("actionId", json!("abc")),
            422,
            Some("actionId"),
        ),
        (
            "uuid v1",
            with("sessionId", json!("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")),
            422,
            Some("sessionId"),
        ),
        (
            "not a uuid in a batch",
            json!([chat.event("offered"), with("actionId", json!("abc"))]),
            422,
            Some("[1].actionId"),
        ),
        (
            "customerIdType",
            with("customerIdType", json!("email")),
            422,
            Some("customerIdType"),
        ),
        (
            "timestamp",
            with("timestamp", json!("yesterday")),
            422,
            Some("timestamp"),
        ),
        (
            "unknown field",
            with("conversationId", json!("x")),
            422,
            Some("conversationId"),
        ),
        (
            "qualified, which only the server records",
            chat.event("qualified"),
            422,
            Some("actionState"),
        ),
        (
            "qualified in a batch",
            json!([chat.event("offered"), chat.event("qualified")]),
            422,
            Some("[1].actionState"),
        ),
        (
            "started, which the server's chat records",
            json!([
                chat.event("offered"),
                chat.event("accepted"),
                chat.event("started")
            ]),
            422,
            Some("[2].actionState"),
        ),
        (
            "errored without errorCode",
            errored_without_code,
            422,
            Some("errorCode"),
        ),
        (
            "errorCode on offered in a batch of one",
            json!([code_on_offered]),
            422,
            Some("[0].errorCode"),
        ),
        ("empty batch", json!([]), 422, None),
        (
            "too many",
            Value::Array(vec![chat.event("offered"); 11]),
            413,
            None,
        ),
    ];
    for (name, body, status, field) in cases {
        let (got, problem) = problem(server.post("action-events", &body).await).await;
        assert_eq!(got, status, "{name}: {problem}");
        assert_eq!(problem["field"].as_str(), field, "{name}: {problem}");
    }

    // The server's own states, whatever the action's state: no page may post them.
    let stored = server.log("").await.len();
    for state in ["qualified", "started", "engaged", "abandoned", "completed"] {
        let (status, refused) =
            problem(server.post("action-events", &chat.event(state)).await).await;
        assert_eq!(status, 422, "{state}: {refused}");
        assert_eq!(refused["type"], "/problems/server-only-state", "{refused}");
        assert_eq!(refused["state"], state, "{refused}");
        assert!(
            refused["detail"]
                .as_str()
                .unwrap()
                .contains("recorded by the server"),
            "{refused}"
        );
    }
    assert_eq!(server.log("").await.len(), stored, "nothing stored");

    let raw = |body: String, content_type: &'static str| {
        client()
            .post(server.ingest_url("action-events"))
            .header("origin", ORIGIN)
            .header("content-type", content_type)
            .body(body)
    };
    let (status, body) = problem(
        raw("{\"actionId\": ".into(), "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // A well-formed event with anything after it is not that event: the body is refused whole.
    let trailing = format!("{} x", chat.event("offered"));
    let (status, body) = problem(raw(trailing, "application/json").send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["line"], 1, "{body}");
    let (status, _) = problem(raw("{}".into(), "application/xml").send().await.unwrap()).await;
    assert_eq!(status, 415);
    let huge = "x".repeat(70_000);
    let (status, _) = problem(
        client()
            .post(server.ingest_url("web-events"))
            .header("origin", ORIGIN)
            .header("content-type", "application/json")
            .body(format!("{{\"eventName\": \"{huge}\"}}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 413);

    let mut web = pageview(Uuid::new_v4(), "https://shop.test/");
    web["eventName"] = json!("page view");
    let (status, body) = problem(server.post("web-events", &web).await).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("eventName")));
    // In an array, even of one, the event is named by its index.
    let (status, body) = problem(server.post("web-events", &json!([web])).await).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("[0].eventName"))
    );

    assert_eq!(server.log("").await, before, "bad input changed the log");
    // Refusals of the request itself are not the guard's: docs/operations.md says the refusal
    // counter leaves them out.
    let metrics = server.metrics().await;
    assert!(
        !metrics.contains("beckon_requests_refused_total{"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_event_too_large_as_a_whole_or_in_an_unbounded_field_is_refused_and_changes_nothing() {
    let server = Server::start("");
    let chat = server.qualified("webchat").await;
    let before = server.log("").await;
    let customer = Uuid::new_v4();
    let valid = pageview(customer, "https://shop.test/");
    // Every attribute within its own bound (4096 bytes), the event over 64 KiB.
    let mut huge = pageview(customer, "https://shop.test/");
    huge["attributes"] = (0..16)
        .map(|i| (format!("a{i}"), json!("x".repeat(4096))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let with = |key: &str, value: Value| {
        let mut e = pageview(customer, "https://shop.test/");
        e[key] = value;
        e
    };
    let mut lang = pageview(customer, "https://shop.test/");
    lang["page"]["lang"] = json!("x".repeat(4097));
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("too large, alone", huge.clone(), None),
        (
            "too large, second of a batch",
            json!([valid.clone(), huge.clone()]),
            Some("[1]"),
        ),
        ("page.lang", lang, Some("page.lang")),
        (
            "browser",
            with("browser", json!({ "name": "x".repeat(4096) })),
            Some("browser"),
        ),
        (
            "device in a batch",
            json!([
                valid.clone(),
                with("device", json!({ "model": "x".repeat(4096) }))
            ]),
            Some("[1].device"),
        ),
    ];
    for (name, body, field) in cases {
        let (status, refused) = problem(server.post("web-events", &body).await).await;
        assert_eq!(status, 422, "{name}: {refused}");
        assert_eq!(refused["type"], "/problems/invalid-body", "{name}");
        assert_eq!(refused["field"].as_str(), field, "{name}: {refused}");
    }
    let (_, refused) = problem(server.post("web-events", &huge).await).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("at most 65536"),
        "{refused}"
    );

    let mut long_message = chat.event("errored");
    long_message["errorMessage"] = json!("x".repeat(4097));
    for (body, field) in [
        (long_message.clone(), "errorMessage"),
        (
            json!([chat.event("offered"), long_message]),
            "[1].errorMessage",
        ),
    ] {
        let (status, refused) = problem(server.post("action-events", &body).await).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["field"], field, "{refused}");
    }
    assert_eq!(
        server.log("").await,
        before,
        "a refused request stored something"
    );

    // At the bounds: accepted.
    let mut at_bound = chat.event("errored");
    at_bound["errorMessage"] = json!("é".repeat(2048));
    let mut lang = pageview(customer, "https://shop.test/");
    lang["page"]["lang"] = json!("x".repeat(4096));
    let mut seven = huge;
    seven["attributes"].as_object_mut().unwrap().remove("a0");
    server.actions(&json!([lang, seven])).await;
    let r = server
        .post("action-events", &json!([chat.event("offered"), at_bound]))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(server.log("").await.len(), before.len() + 4);
}

#[tokio::test]
async fn only_allowed_origins_and_known_deployments_may_send() {
    let server = Server::start("");
    let event = server.qualified("webchat").await.event("offered");
    let before = server.log("").await.len();
    let send = |origin: Option<&'static str>, url: String| {
        let mut r = client().post(url).json(&event);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    let url = server.ingest_url("action-events");
    let denied = send(Some("http://evil.test"), url.clone()).await.unwrap();
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let (status, body) = problem(denied).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (403, Some("/problems/origin-not-allowed"))
    );
    let (status, _) = problem(send(None, url.clone()).await.unwrap()).await;
    assert_eq!(status, 403);
    let unknown = format!(
        "{}/api/v1/deployments/{}/action-events",
        server.url(),
        Uuid::new_v4()
    );
    // The page can read an unknown deployment's 404 (the SDK stops sending and says why).
    let answer = send(Some(ORIGIN), unknown).await.unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], ORIGIN);
    let (status, _) = problem(answer).await;
    assert_eq!(status, 404);
    // A deployment id that is not even text is a problem document too.
    let garbled = format!("{}/api/v1/deployments/%FF/action-events", server.url());
    let (status, body) = problem(send(Some(ORIGIN), garbled).await.unwrap()).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (400, Some("/problems/bad-request"))
    );
    assert_eq!(server.log("").await.len(), before);
    // The guard's refusals are counted by problem type (docs/operations.md).
    let metrics = server.metrics().await;
    for counted in [
        "beckon_requests_refused_total{kind=\"/problems/origin-not-allowed\"} 2",
        "beckon_requests_refused_total{kind=\"/problems/not-found\"} 1",
    ] {
        assert!(metrics.contains(counted), "{counted} in {metrics}");
    }

    let preflight = client()
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], ORIGIN);
    let accepted = send(Some(ORIGIN), url).await.unwrap();
    assert_eq!(accepted.status(), 200);
    assert_eq!(accepted.headers()["access-control-allow-origin"], ORIGIN);
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let server = Server::start("[limits]\nrequests_per_second = 1\nburst = 3\n");
    let customer = Uuid::new_v4();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let r = server
            .post("web-events", &pageview(customer, "https://shop.test/"))
            .await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            retry_after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let (_, body) = problem(r).await;
            assert_eq!(body["type"], "/problems/rate-limited");
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn behind_a_proxy_each_client_has_its_own_rate_by_the_address_the_proxy_added() {
    let server = Server::start(
        "[limits]\nrequests_per_second = 1\nburst = 2\nclient_ip_header = \"X-Forwarded-For\"\n\
         trusted_proxies = [\"127.0.0.1\"]\n",
    );
    let customer = Uuid::new_v4();
    // The proxy is this test on 127.0.0.1; it appends the address it saw, and whatever the
    // client wrote before that is ignored. 127.0.0.2 is a peer that is not a trusted proxy.
    let send = |from: [u8; 4], forwarded: String| {
        common::client_from(from.into())
            .post(server.ingest_url("web-events"))
            .header("origin", ORIGIN)
            .header("x-forwarded-for", forwarded)
            .json(&pageview(customer, "https://shop.test/"))
            .send()
    };
    let status = |r: reqwest::Result<reqwest::Response>| r.unwrap().status().as_u16();
    let mut proxied = Vec::new();
    let mut direct = Vec::new();
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        proxied.push(status(
            send([127, 0, 0, 1], format!("{forged}, 203.0.113.7")).await,
        ));
        direct.push(status(send([127, 0, 0, 2], forged.to_owned()).await));
    }
    assert_eq!(
        proxied,
        [200, 200, 429],
        "forged entries make no new client"
    );
    assert_eq!(
        direct,
        [200, 200, 429],
        "an untrusted peer's header is not believed"
    );
    let other = send([127, 0, 0, 1], "198.51.100.4".into()).await;
    assert_eq!(status(other), 200, "another client behind the proxy");
}

/// A client with an IPv6 /64 can use any of its addresses: they all count as one client. An
/// IPv4 address written as IPv4-mapped IPv6 is that IPv4 client.
#[tokio::test]
async fn behind_a_proxy_ipv6_clients_of_one_64_share_one_rate() {
    let server = Server::start(
        "[limits]\nrequests_per_second = 1\nburst = 2\nclient_ip_header = \"X-Forwarded-For\"\n\
         trusted_proxies = [\"127.0.0.1\"]\n",
    );
    let customer = Uuid::new_v4();
    let send = |forwarded: &str| {
        client()
            .post(server.ingest_url("web-events"))
            .header("origin", ORIGIN)
            .header("x-forwarded-for", forwarded)
            .json(&pageview(customer, "https://shop.test/"))
            .send()
    };
    let mut statuses = Vec::new();
    for address in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:ffff:ffff:ffff:ffff",
        // Another /64 of the same /48: another client.
        "2001:db8:1:3::1",
        "198.51.100.7",
        "::ffff:198.51.100.7",
        "[::ffff:198.51.100.7]:4711",
    ] {
        statuses.push(send(address).await.unwrap().status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 429, 200, 200, 200, 429],
        "one /64 is one client; a mapped IPv4 address is that address"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let server = Server::start("");
    let (status, _) = problem(
        client()
            .get(format!("{}/nowhere", server.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = problem(
        client()
            .get(server.ingest_url("action-events"))
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405);
}
