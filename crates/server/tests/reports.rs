//! Reports against the real binary: hand-counted event sequences posted to the action-events
//! route (with their own timestamps, so that they fall into chosen hours) for actions the server
//! qualified (at its own clock, so today), a web chat an agent joins (its `engaged` is the
//! server's own record, at its clock), blocked offers made by the decision engine, CSV,
//! validation and auth.

mod common;

use common::{Action, Server, client, page_viewed};
use serde_json::{Value, json};
use uuid::Uuid;

/// Posts an action's states in order, each at `at` (RFC 3339), asserting each is accepted.
async fn lifecycle(server: &Server, action: &Action, at: &str, states: &[&str]) {
    for state in states {
        let mut event = action.event(state);
        event["timestamp"] = json!(at);
        let r = server.post("action-events", &event).await;
        assert_eq!(r.status(), 200, "{state}: {}", r.text().await.unwrap());
    }
}

async fn report(server: &Server, path: &str) -> Value {
    let (status, body) = server.admin_get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The row of action map `id` in an action-maps report.
fn map_row(report: &Value, id: Uuid) -> &Value {
    report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["actionMapId"] == id.to_string())
        .unwrap()
}

/// The counters of an entity, without the bucket and map columns.
fn numbers(entity: &Value) -> Value {
    let keys = [
        "qualified",
        "blocked",
        "offered",
        "offeredPercent",
        "accepted",
        "acceptedPercent",
        "engaged",
        "engagedPercent",
        "rejected",
        "ignored",
        "timedOut",
        "errored",
    ];
    keys.iter()
        .map(|k| (k.to_string(), entity[k].clone()))
        .collect()
}

#[tokio::test]
async fn the_action_maps_report_counts_each_state_once_per_hour_and_day() {
    let server = Server::start("");
    let map = server.qualifying_map("webchat").await;
    let chat_map = map.id;
    let chat = || server.qualify(&map, Uuid::new_v4());
    let ten = "2026-01-10T10:15:00.000Z";
    let eleven = "2026-01-10T11:59:59.999Z";
    let a1 = chat().await;
    lifecycle(&server, &a1, ten, &["offered", "accepted"]).await;
    lifecycle(&server, &a1, ten, &["offered"]).await; // a duplicate: accepted, counted once
    lifecycle(&server, &chat().await, ten, &["offered", "rejected"]).await;
    lifecycle(&server, &chat().await, eleven, &["offered", "timedout"]).await;
    chat().await; // qualified only
    lifecycle(&server, &chat().await, eleven, &["offered", "errored"]).await;
    let offer = server.qualified("contentoffer").await;
    lifecycle(&server, &offer, ten, &["offered", "ignored"]).await;

    // Qualified today by the server (no agent was available, so each webchat one is blocked).
    let today = report(&server, &format!("/api/v1/reports/actionmaps?{}", today())).await;
    let row = |id| map_row(&today, id);
    assert_eq!(
        (&row(chat_map)["qualified"], &row(chat_map)["blocked"]),
        (&json!(5), &json!(5))
    );
    assert_eq!(row(offer.map_id)["qualified"], 1);

    let range = "from=2026-01-10T00:00:00Z&to=2026-01-11T00:00:00Z";
    let hours = report(
        &server,
        &format!("/api/v1/reports/actionmaps?{range}&granularity=hour&actionMapId={chat_map}"),
    )
    .await;
    assert_eq!(hours["granularity"], "hour");
    assert_eq!(hours["timeZone"], "UTC");
    assert_eq!(hours["total"], 2);
    let e = &hours["entities"];
    assert_eq!(e[0]["bucket"], "2026-01-10T10:00:00.000Z");
    assert_eq!(e[0]["actionMapId"], chat_map.to_string());
    assert_eq!(e[0]["mediaType"], "webchat");
    assert_eq!(
        numbers(&e[0]),
        json!({ "qualified": 0, "blocked": 0, "offered": 2, "offeredPercent": null,
                "accepted": 1, "acceptedPercent": 50.0, "engaged": 0, "engagedPercent": 0.0,
                "rejected": 1, "ignored": 0, "timedOut": 0, "errored": 0 })
    );
    assert_eq!(e[1]["bucket"], "2026-01-10T11:00:00.000Z");
    assert_eq!(
        numbers(&e[1]),
        json!({ "qualified": 0, "blocked": 0, "offered": 2, "offeredPercent": null,
                "accepted": 0, "acceptedPercent": 0.0, "engaged": 0, "engagedPercent": null,
                "rejected": 0, "ignored": 0, "timedOut": 1, "errored": 1 })
    );

    let days = report(&server, &format!("/api/v1/reports/actionmaps?{range}")).await;
    assert_eq!(days["granularity"], "day", "day is the default");
    assert_eq!(days["total"], 2, "one row per map: {days}");
    let day = map_row(&days, chat_map);
    assert_eq!(day["bucket"], "2026-01-10T00:00:00.000Z");
    assert_eq!(
        numbers(day),
        json!({ "qualified": 0, "blocked": 0, "offered": 4, "offeredPercent": null,
                "accepted": 1, "acceptedPercent": 25.0, "engaged": 0, "engagedPercent": 0.0,
                "rejected": 1, "ignored": 0, "timedOut": 1, "errored": 1 })
    );
    let content = map_row(&days, offer.map_id);
    assert_eq!(content["mediaType"], "contentoffer");
    assert_eq!(
        (
            &content["qualified"],
            &content["offered"],
            &content["ignored"]
        ),
        (&json!(0), &json!(1), &json!(1))
    );

    // A range without events is empty; the next day holds nothing.
    let next = report(
        &server,
        "/api/v1/reports/actionmaps?from=2026-01-11T00:00:00Z&to=2026-01-12T00:00:00Z",
    )
    .await;
    assert_eq!(next["entities"], json!([]));
}

/// Today's UTC day as a report range.
fn today() -> String {
    let day = 86_400_000;
    let now = common::now().parse::<beckon_core::Timestamp>().unwrap();
    let start = now.unix_millis() - now.unix_millis() % day;
    let at = |ms: i64| beckon_core::Timestamp::from_unix_millis(ms).to_string();
    format!("from={}&to={}", at(start), at(start + day))
}

/// A page may not post `engaged`: the server records it when an agent joins the chat, and the
/// report counts that record in its engaged column, against the accepted offers.
#[tokio::test]
async fn a_chat_an_agent_joins_is_reported_as_engaged() {
    let server = Server::start("");
    let agent = server.agent_signed_in("ada@shop.test", 1).await;
    let presence = json!({ "presence": "available" });
    let (status, body) = server
        .with_token(&agent, "PUT", "/api/v1/agent/presence", Some(&presence))
        .await;
    assert_eq!(status, 200, "{body}");
    let chat = server.qualified("webchat").await;
    lifecycle(&server, &chat, &common::now(), &["offered", "accepted"]).await;
    let conversation = json!({ "actionId": chat.action_id, "customerId": chat.customer_id,
                               "sessionId": chat.session_id, "form": {} });
    let r = server.post("conversations", &conversation).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (status, joined) = server
        .with_token(&agent, "POST", "/api/v1/agent/queue/accept", None)
        .await;
    assert_eq!(status, 200, "{joined}");

    let today = report(&server, &format!("/api/v1/reports/actionmaps?{}", today())).await;
    assert_eq!(
        numbers(map_row(&today, chat.map_id)),
        json!({ "qualified": 1, "blocked": 0, "offered": 1, "offeredPercent": 100.0,
                "accepted": 1, "acceptedPercent": 100.0, "engaged": 1, "engagedPercent": 100.0,
                "rejected": 0, "ignored": 0, "timedOut": 0, "errored": 0 })
    );
}

#[tokio::test]
async fn blocked_offers_are_reported_by_reason_with_their_sessions() {
    let server = Server::start("");
    let map = server.pricing_offer(json!({ "type": "immediate" })).await.0;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    for _ in 0..2 {
        server
            .actions(&page_viewed(customer, session, "https://shop.test/about"))
            .await;
    }
    let other = (Uuid::new_v4(), Uuid::new_v4());
    server
        .actions(&page_viewed(other.0, other.1, "https://shop.test/about"))
        .await;
    let count = server.log("&topic=contentoffer:blocked").await.len();
    assert!(count >= 3, "each page view off /pricing is a blocked offer");

    let blocked = report(&server, &format!("/api/v1/reports/blocked?{}", today())).await;
    assert_eq!(
        blocked["reasons"],
        json!([{ "reason": "PageUrlConditionsNotMatching", "sessions": 2, "count": count }])
    );
    assert_eq!(blocked["total"], 1);
    let row = &blocked["entities"][0];
    assert_eq!(row["actionMapId"], map);
    assert_eq!(row["actionMapName"], "Promo on pricing");
    assert_eq!(row["reason"], "PageUrlConditionsNotMatching");
    assert_eq!(
        (&row["sessions"], &row["count"]),
        (&json!(2), &json!(count))
    );

    let maps = report(&server, &format!("/api/v1/reports/actionmaps?{}", today())).await;
    let row = &maps["entities"][0];
    assert_eq!(row["qualified"], 2, "one action per session");
    assert_eq!(row["blocked"], count);
    assert_eq!(row["blockedPageUrlConditionsNotMatching"], count);
    assert_eq!(row["offered"], 0);
    assert_eq!(row["offeredPercent"], 0.0);
}

#[tokio::test]
async fn reports_export_csv_with_the_json_columns() {
    let server = Server::start("");
    let map = server.qualifying_map("contentoffer").await;
    let action = server.qualify(&map, Uuid::new_v4()).await;
    lifecycle(&server, &action, "2026-02-01T08:30:00.000Z", &["offered"]).await;
    let path = "/api/v1/reports/actionmaps?from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z";
    let json = report(&server, path).await;
    let by_header = client()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(server.admin_token())
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);
    assert_eq!(
        by_header.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = by_header.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"actionmaps-2026-02-01T000000.000Z"),
        "{disposition}"
    );
    let csv = by_header.text().await.unwrap();
    let by_param = client()
        .get(format!("{}{path}&format=csv", server.url()))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv, by_param);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines.len(),
        3,
        "header, one row, and the final line end: {csv:?}"
    );
    let header: Vec<&str> = lines[0].split(',').collect();
    let entity = json["entities"][0].as_object().unwrap();
    let mut sorted = header.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        entity.keys().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        header[..4],
        ["bucket", "actionMapId", "actionMapName", "mediaType"]
    );
    let cells: Vec<&str> = lines[1].split(',').collect();
    let cell = |name: &str| cells[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(cell("bucket"), "2026-02-01T00:00:00.000Z");
    assert_eq!(cell("actionMapName"), map.name);
    assert_eq!((cell("qualified"), cell("offered")), ("0", "1"));
    assert_eq!(cell("offeredPercent"), "", "qualified today, not that day");
    assert_eq!(cell("acceptedPercent"), "0.0");
    assert_eq!(
        cell("engagedPercent"),
        "",
        "no accepted offers: no percentage"
    );

    let blocked = client()
        .get(format!(
            "{}/api/v1/reports/blocked?from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z&format=csv",
            server.url()
        ))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        blocked,
        "bucket,actionMapId,actionMapName,mediaType,reason,sessions,count\r\n"
    );
}

#[tokio::test]
async fn reports_need_the_admin_token_and_a_valid_range() {
    let server = Server::start("");
    let url = format!(
        "{}/api/v1/reports/actionmaps?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
        server.url()
    );
    let anonymous = client().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let reader = client()
        .get(&url)
        .bearer_auth(common::READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reader.status(), 403);

    let cases = [
        ("to=2026-01-02T00:00:00Z", "from"),
        ("from=yesterday&to=2026-01-02T00:00:00Z", "from"),
        ("from=2026-01-02T00:00:00Z&to=2026-01-02T00:00:00Z", "to"),
        ("from=2026-01-03T00:00:00Z&to=2026-01-02T00:00:00Z", "to"),
        (
            "from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&granularity=hour",
            "to",
        ),
        // One hour past the 31 days of hours, one day past the 366 days.
        (
            "from=2026-01-01T00:00:00Z&to=2026-02-01T01:00:00Z&granularity=hour",
            "to",
        ),
        (
            "from=2026-01-01T00:00:00Z&to=2026-02-01T23:00:00Z&granularity=hour",
            "to",
        ),
        ("from=2024-01-01T00:00:00Z&to=2025-01-02T00:00:00Z", "to"),
        ("from=2025-01-01T00:00:00Z&to=2026-01-03T00:00:00Z", "to"),
        ("from=2026-01-01T10:00:00Z&to=2026-01-02T00:00:00Z", "from"),
        (
            "from=2026-01-01T10:30:00Z&to=2026-01-02T00:00:00Z&granularity=hour",
            "from",
        ),
        (
            "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=week",
            "granularity",
        ),
        (
            "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&actionMapId=x",
            "actionMapId",
        ),
        (
            "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&format=xml",
            "format",
        ),
        (
            "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&start=1",
            "start",
        ),
        (
            "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&deploymentId=x",
            "deploymentId",
        ),
    ];
    for (query, field) in cases {
        let (status, problem) = server
            .admin_get(&format!("/api/v1/reports/blocked?{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(problem["type"], "/problems/bad-request", "{query}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
    let (_, problem) = server
        .admin_get("/api/v1/reports/blocked?from=2026-01-01T00:00:00Z&to=2026-02-01T23:00:00Z&granularity=hour")
        .await;
    assert_eq!(
        problem["detail"],
        "the range is 31 days and 23 hours; at most 31 days with granularity=hour"
    );
    // 31 days of hours and 366 days are the longest ranges.
    for query in [
        "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&granularity=hour",
        "from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z",
    ] {
        let (status, body) = server
            .admin_get(&format!("/api/v1/reports/actionmaps?{query}"))
            .await;
        assert_eq!(status, 200, "{query}: {body}");
    }
}
