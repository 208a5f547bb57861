//! Web chat end to end against the real binary over real WebSockets: an offered webchat action
//! becomes a conversation (`started`), an agent accepts it from the queue (`engaged`), messages
//! go both ways in order and survive a reconnect, and it ends (`completed`, or `abandoned`
//! when no agent had joined); tokens, limits, the queue's order and availability.

mod common;

use std::time::Duration;

use common::{Server, Socket, frame, frame_within, page_viewed, send, webchat_map};
use serde_json::{Value, json};
use uuid::Uuid;

/// A visitor whose webchat invitation was offered and accepted.
struct Visitor {
    customer: Uuid,
    session: Uuid,
    action: Value,
}

impl Visitor {
    /// Views `url`, expects a webchat offer, and accepts it.
    async fn accepting(server: &Server, url: &str) -> Visitor {
        let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
        let actions = server.actions(&page_viewed(customer, session, url)).await;
        assert_eq!(actions.len(), 1, "{actions:?}");
        let v = Visitor {
            customer,
            session,
            action: actions[0].clone(),
        };
        for state in ["offered", "accepted"] {
            let r = server.post("action-events", &v.event(state)).await;
            assert_eq!(r.status(), 200);
        }
        v
    }

    fn event(&self, state: &str) -> Value {
        json!({
            "actionId": self.action["actionId"], "actionState": state,
            "actionMediaType": "webchat", "actionMapId": self.action["actionMapId"],
            "actionMapVersion": self.action["actionMapVersion"], "customerId": self.customer,
            "customerIdType": "cookie", "sessionId": self.session, "eventId": Uuid::new_v4(),
            "timestamp": common::now(),
        })
    }

    /// Creates the conversation: (id, token).
    async fn start(&self, server: &Server) -> (String, String) {
        let r = server
            .post(
                "conversations",
                &json!({ "actionId": self.action["actionId"], "customerId": self.customer,
                         "sessionId": self.session, "form": { "name": "Grace" } }),
            )
            .await;
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        (
            body["conversationId"].as_str().unwrap().to_owned(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// The states the log holds for this visitor's action, in order.
    async fn states(&self, server: &Server) -> Vec<String> {
        server
            .log("&topic=webchat:all")
            .await
            .iter()
            .filter(|r| r["event"]["actionId"] == self.action["actionId"])
            .map(|r| r["event"]["actionState"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Visitor {
    /// The stored event of `state` for this visitor's action (waited for: `abandoned` and
    /// `completed` are recorded just after the `ended` entry is sent).
    async fn stored(&self, server: &Server, state: &str) -> Value {
        let events = || async {
            let events: Vec<Value> = server
                .log("&topic=webchat:all")
                .await
                .into_iter()
                .map(|r| r["event"].clone())
                .filter(|e| e["actionId"] == self.action["actionId"] && e["actionState"] == state)
                .collect();
            (!events.is_empty()).then_some(events)
        };
        let events = common::eventually(Duration::from_secs(5), events)
            .await
            .unwrap_or_else(|| panic!("no {state} stored"));
        assert_eq!(events.len(), 1, "one {state} stored: {events:?}");
        events[0].clone()
    }
}

/// The identity a create answer or a frame gives (`eventId`, `eventMillis`) as the stored
/// event writes it (`eventId`, `timestamp`).
fn identity(of: &Value) -> (Value, String) {
    let millis = of["eventMillis"].as_i64().unwrap_or_else(|| panic!("{of}"));
    (
        of["eventId"].clone(),
        beckon_core::Timestamp::from_unix_millis(millis).to_string(),
    )
}

fn stored_identity(event: &Value) -> (Value, String) {
    (
        event["eventId"].clone(),
        event["timestamp"].as_str().unwrap().to_owned(),
    )
}

/// The reasons of the blocked webchat offers, in order.
async fn blocked(server: &Server) -> Vec<String> {
    server
        .log("&topic=webchat:blocked")
        .await
        .iter()
        .map(|r| r["event"]["reason"].as_str().unwrap().to_owned())
        .collect()
}

async fn add_map(server: &Server, pacing: bool) {
    let (status, body) = server
        .admin(
            "POST",
            "/api/v2/journey/actionmaps",
            Some(&webchat_map("Chat on pricing", "/pricing", pacing)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A server with `extra` configuration and agents taken to be available, and on it the
/// conversation of a visitor who accepted a chat invitation: the server, its id and its visitor
/// token.
async fn a_conversation(extra: &str) -> (Server, String, String) {
    let server = Server::start_full(extra, "assume_agents_available = true", &[]);
    add_map(&server, false).await;
    let visitor = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let (id, token) = visitor.start(&server).await;
    (server, id, token)
}

fn visitor_path(conversation: &str) -> String {
    format!(
        "/api/v1/deployments/{}/conversations/{conversation}",
        common::DEPLOYMENT
    )
}

/// The visitor's socket of a conversation, opened with its token.
fn visitor_ws(conversation: &str, token: &str) -> String {
    format!("{}/ws?access_token={token}", visitor_path(conversation))
}

async fn available(server: &Server, agent: &str) {
    let (status, _) = server
        .with_token(
            agent,
            "PUT",
            "/api/v1/agent/presence",
            Some(&json!({ "presence": "available" })),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_offered_chat_becomes_a_completed_conversation() {
    let server = Server::start("");
    add_map(&server, false).await;
    let agent = server.agent_signed_in("ada@shop.test", 2).await;
    available(&server, &agent).await;

    let visitor = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let (id, token) = visitor.start(&server).await;
    assert_eq!(
        visitor.states(&server).await,
        ["qualified", "offered", "accepted", "started"]
    );

    let mut console = server
        .socket(&format!("/api/v1/agent/ws?access_token={agent}"))
        .await
        .unwrap();
    let ws = visitor_ws(&id, &token);
    let mut page = server.socket(&ws).await.unwrap();

    // The queue shows it; the agent takes it.
    let (_, queue) = server
        .with_token(&agent, "GET", "/api/v1/agent/queue", None)
        .await;
    assert_eq!(queue["entities"][0]["conversationId"], id.as_str());
    let (status, accepted) = server
        .with_token(&agent, "POST", "/api/v1/agent/queue/accept", None)
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["conversationId"], id.as_str());
    assert_eq!(accepted["actionMap"]["name"], "Chat on pricing");
    assert_eq!(accepted["visitor"]["form"], json!({ "name": "Grace" }));
    assert_eq!(
        accepted["visitor"]["pages"][0]["url"],
        "https://shop.test/pricing"
    );
    let joined = frame(&mut page).await;
    assert_eq!(
        (joined["type"].as_str(), joined["seq"].as_u64()),
        (Some("joined"), Some(1))
    );
    assert_eq!(joined["agentName"], "ada@shop.test");
    assert_eq!(visitor.states(&server).await.last().unwrap(), "engaged");

    // Messages both ways, in order, and typing.
    send(
        &mut page,
        json!({ "type": "message", "text": "Is shipping free?" }),
    )
    .await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let f = frame(&mut console).await;
        if f["conversationId"] == id.as_str() && f["seq"].is_u64() {
            seen.push(f);
        }
    }
    assert_eq!(seen[1]["type"], "message");
    assert_eq!(
        (seen[1]["from"].as_str(), seen[1]["text"].as_str()),
        (Some("visitor"), Some("Is shipping free?"))
    );
    // The page hears its own message back with its number (its confirmation).
    assert_eq!(frame(&mut page).await["seq"], 2);
    send(
        &mut console,
        json!({ "type": "typing", "conversationId": id }),
    )
    .await;
    assert_eq!(frame(&mut page).await["type"], "typing");
    for text in ["Yes,", "above 50 euros."] {
        send(
            &mut console,
            json!({ "type": "message", "conversationId": id, "text": text }),
        )
        .await;
    }
    let a = frame(&mut page).await;
    let b = frame(&mut page).await;
    assert_eq!(
        (a["seq"].as_u64(), a["text"].as_str(), a["from"].as_str()),
        (Some(3), Some("Yes,"), Some("agent"))
    );
    assert_eq!(
        (b["seq"].as_u64(), b["text"].as_str()),
        (Some(4), Some("above 50 euros."))
    );

    // The page's connection drops; what the agent writes meanwhile comes after a reconnect with
    // `after`, exactly once.
    drop(page);
    for text in ["Anything else?", "I am here."] {
        send(
            &mut console,
            json!({ "type": "message", "conversationId": id, "text": text }),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut page = server.socket(&format!("{ws}&after=4")).await.unwrap();
    let missed: Vec<u64> = vec![
        frame(&mut page).await["seq"].as_u64().unwrap(),
        frame(&mut page).await["seq"].as_u64().unwrap(),
    ];
    assert_eq!(missed, [5, 6]);
    assert!(
        frame_within(&mut page, Duration::from_millis(300))
            .await
            .is_none()
    );

    // Another page of the site gets the whole history back.
    let (status, history) = server
        .with_token(&token, "GET", &visitor_path(&id), None)
        .await;
    assert_eq!(status, 200);
    let seqs: Vec<u64> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);

    // The agent ends it: the page hears so and is closed; the action is completed.
    let (status, _) = server
        .with_token(
            &agent,
            "POST",
            &format!("/api/v1/agent/conversations/{id}/end"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let ended = frame(&mut page).await;
    assert_eq!(
        (ended["type"].as_str(), ended["by"].as_str()),
        (Some("ended"), Some("agent"))
    );
    assert!(
        frame_within(&mut page, Duration::from_secs(2))
            .await
            .is_none()
    );
    assert_eq!(
        visitor.states(&server).await,
        [
            "qualified",
            "offered",
            "accepted",
            "started",
            "engaged",
            "completed"
        ]
    );
}

/// `?after=` beyond any entry number is refused, not read as a negative number (every entry).
#[tokio::test]
async fn an_after_beyond_any_entry_number_is_a_bad_request() {
    let (server, id, token) = a_conversation("").await;
    let path = visitor_path(&id);
    let (status, page) = server
        .with_token(
            &token,
            "GET",
            &format!("{path}?after=9223372036854775807"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["entries"], json!([]));
    let (status, problem) = server
        .with_token(
            &token,
            "GET",
            &format!("{path}?after=9223372036854775808"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["type"], "/problems/bad-request");
    assert!(
        problem["detail"].as_str().unwrap().contains("after"),
        "{problem}"
    );
    let ws = format!("{path}/ws?access_token={token}&after=18446744073709551615");
    assert_eq!(server.socket(&ws).await.err(), Some(400));
}

#[tokio::test]
async fn a_visitor_who_leaves_before_an_agent_joins_abandons() {
    let server = Server::start_full(
        "[chat]\nabandon_after_secs = 1\n",
        "assume_agents_available = true",
        &[],
    );
    add_map(&server, false).await;

    // Closes the chat explicitly.
    let closing = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let (id, token) = closing.start(&server).await;
    let (status, _) = server
        .with_token(&token, "POST", &format!("{}/end", visitor_path(&id)), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(closing.states(&server).await.last().unwrap(), "abandoned");

    // Disconnects and does not come back within the grace period.
    let leaving = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let (id, token) = leaving.start(&server).await;
    let page = server.socket(&visitor_ws(&id, &token)).await.unwrap();
    drop(page);
    let abandoned = common::eventually(Duration::from_secs(10), || async {
        (leaving.states(&server).await.last().map(String::as_str) == Some("abandoned"))
            .then_some(())
    })
    .await;
    assert!(abandoned.is_some(), "{:?}", leaving.states(&server).await);
    assert_eq!(
        leaving.states(&server).await,
        ["qualified", "offered", "accepted", "started", "abandoned"]
    );
}

#[tokio::test]
async fn a_visitor_token_opens_only_its_own_conversation() {
    let server = Server::start_full("", "assume_agents_available = true", &[]);
    add_map(&server, false).await;
    let first = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let (id_a, token_a) = first.start(&server).await;
    let second = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let (id_b, _) = second.start(&server).await;

    assert_eq!(
        server
            .with_token(&token_a, "GET", &visitor_path(&id_a), None)
            .await
            .0,
        200
    );
    let (status, problem) = server
        .with_token(&token_a, "GET", &visitor_path(&id_b), None)
        .await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["type"], "/problems/forbidden");
    let ws = visitor_ws(&id_b, &token_a);
    assert_eq!(server.socket(&ws).await.err(), Some(403));
    assert_eq!(
        server
            .socket(&format!("{}/ws", visitor_path(&id_b)))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        server
            .with_token(
                &token_a,
                "POST",
                &format!("{}/end", visitor_path(&id_b)),
                None
            )
            .await
            .0,
        403
    );

    // Another customer cannot start a chat from someone's action, nor start it twice.
    let r = server
        .post(
            "conversations",
            &json!({ "actionId": first.action["actionId"], "customerId": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = server
        .post(
            "conversations",
            &json!({ "actionId": first.action["actionId"], "customerId": first.customer }),
        )
        .await;
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn agent_routes_need_a_sign_in() {
    let server = Server::start("");
    let id = Uuid::new_v4();
    for (method, path) in [
        ("GET", "/api/v1/agent/me".to_owned()),
        ("PUT", "/api/v1/agent/presence".to_owned()),
        ("GET", "/api/v1/agent/queue".to_owned()),
        ("POST", "/api/v1/agent/queue/accept".to_owned()),
        ("GET", "/api/v1/agent/conversations".to_owned()),
        ("GET", format!("/api/v1/agent/conversations/{id}")),
        ("POST", format!("/api/v1/agent/conversations/{id}/end")),
        ("DELETE", "/api/v1/agent/sessions/current".to_owned()),
    ] {
        let r = common::client()
            .request(method.parse().unwrap(), format!("{}{path}", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
        assert_eq!(
            server
                .with_token("not-a-session", method, &path, None)
                .await
                .0,
            401,
            "{method} {path}"
        );
    }
    assert_eq!(server.socket("/api/v1/agent/ws").await.err(), Some(401));
    assert_eq!(
        server
            .socket("/api/v1/agent/ws?access_token=nope")
            .await
            .err(),
        Some(401)
    );

    // Accounts are the admin's; a wrong password is refused; signing out ends the token.
    assert_eq!(
        server
            .with_token("not-admin", "GET", "/api/v1/agents", None)
            .await
            .0,
        403
    );
    let token = server.agent_signed_in("bo@shop.test", 1).await;
    let (_, agents) = server.admin_get("/api/v1/agents").await;
    assert_eq!(agents["total"], 1);
    assert!(agents["entities"][0].get("passwordHash").is_none());
    let r = common::client()
        .post(format!("{}/api/v1/agent/sessions", server.url()))
        .json(&json!({ "email": "bo@shop.test", "password": "wrong horse" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        server
            .with_token(&token, "GET", "/api/v1/agent/me", None)
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .with_token(&token, "DELETE", "/api/v1/agent/sessions/current", None)
            .await
            .0,
        204
    );
    assert_eq!(
        server
            .with_token(&token, "GET", "/api/v1/agent/me", None)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn creates_with_one_email_at_once_make_one_account() {
    let server = Server::start("");
    // Sent together, each is checked before any is hashed and stored.
    let server = &server;
    let creates = (0..4).map(|n| {
        let body = json!({ "name": format!("Bo {n}"), "email": "bo@shop.test", "password": format!("password {n}") });
        async move { (n, server.admin("POST", "/api/v1/agents", Some(&body)).await) }
    });
    let answers = futures_util::future::join_all(creates).await;
    let created: Vec<usize> = answers
        .iter()
        .filter(|(_, (s, _))| *s == 201)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for (_, (status, problem)) in answers.iter().filter(|(_, (s, _))| *s != 201) {
        assert_eq!(
            (*status, problem["type"].as_str()),
            (409, Some("/problems/already-exists"))
        );
    }
    let (_, agents) = server.admin_get("/api/v1/agents").await;
    assert_eq!(agents["total"], 1);
    assert_eq!(agents["entities"][0]["name"], format!("Bo {}", created[0]));
    // The account created is the one kept: its password signs in, the others' do not.
    for n in 0..4 {
        let r = common::client()
            .post(format!("{}/api/v1/agent/sessions", server.url()))
            .json(&json!({ "email": "bo@shop.test", "password": format!("password {n}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status() == 201, n == created[0], "password {n}");
    }
}

#[tokio::test]
async fn messages_are_bounded_in_size_and_rate() {
    let (server, id, token) = a_conversation(
        "[chat]\nmax_message_bytes = 100\nmessages_per_second = 1\nmessage_burst = 3\n",
    )
    .await;
    let mut page = server.socket(&visitor_ws(&id, &token)).await.unwrap();
    send(
        &mut page,
        json!({ "type": "message", "text": "x".repeat(101) }),
    )
    .await;
    let refused = frame(&mut page).await;
    assert_eq!(
        (refused["type"].as_str(), refused["error"].as_str()),
        (Some("error"), Some("too-large"))
    );
    send(&mut page, json!({ "type": "message", "text": "short" })).await;
    assert_eq!(
        frame(&mut page).await["seq"],
        1,
        "the refused message took no number"
    );
    send(&mut page, json!({ "type": "shout" })).await;
    assert_eq!(frame(&mut page).await["error"], "bad-frame");
    // The burst (3) is used up: the next frame is refused.
    send(&mut page, json!({ "type": "message", "text": "again" })).await;
    assert_eq!(frame(&mut page).await["error"], "rate-limited");

    // The console is told the limit, to check a message before sending it.
    let agent = server.agent_signed_in("ada@shop.test", 1).await;
    let (_, me) = server
        .with_token(&agent, "GET", "/api/v1/agent/me", None)
        .await;
    assert_eq!(me["maxMessageBytes"], 100);
}

#[tokio::test]
async fn the_queue_is_first_come_first_served_within_capacity() {
    let server = Server::start_full("", "assume_agents_available = true", &[]);
    add_map(&server, false).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let v = Visitor::accepting(&server, "https://shop.test/pricing").await;
        ids.push(v.start(&server).await.0);
    }
    let ada = server.agent_signed_in("ada@shop.test", 2).await;
    let bo = server.agent_signed_in("bo@shop.test", 2).await;
    let accept = |token: String| {
        let server = &server;
        async move {
            server
                .with_token(&token, "POST", "/api/v1/agent/queue/accept", None)
                .await
        }
    };
    let (status, problem) = accept(ada.clone()).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (409, Some("/problems/not-available"))
    );
    available(&server, &ada).await;
    assert_eq!(
        accept(ada.clone()).await.1["conversationId"],
        ids[0].as_str()
    );
    assert_eq!(
        accept(ada.clone()).await.1["conversationId"],
        ids[1].as_str()
    );
    let (status, problem) = accept(ada.clone()).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (409, Some("/problems/at-capacity"))
    );
    available(&server, &bo).await;
    assert_eq!(
        accept(bo.clone()).await.1["conversationId"],
        ids[2].as_str()
    );
    let (status, problem) = accept(bo.clone()).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (409, Some("/problems/queue-empty"))
    );
    let (_, mine) = server
        .with_token(&ada, "GET", "/api/v1/agent/conversations", None)
        .await;
    assert_eq!(mine["total"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_and_an_end_at_the_same_moment_tell_one_story() {
    let mut server = Server::start_full("", "assume_agents_available = true", &[]);
    add_map(&server, false).await;
    let agent = server.agent_signed_in("ada@shop.test", 100).await;
    available(&server, &agent).await;
    for round in 0..12 {
        // One conversation waits; the agent takes it as the visitor closes it.
        let visitor = Visitor::accepting(&server, "https://shop.test/pricing").await;
        let (id, token) = visitor.start(&server).await;
        let end = format!("{}/end", visitor_path(&id));
        let ((accepted, taken), (ended, _)) = tokio::join!(
            server.with_token(&agent, "POST", "/api/v1/agent/queue/accept", None),
            server.with_token(&token, "POST", &end, None),
        );
        assert_eq!(ended, 204, "round {round}");
        let states = visitor.states(&server).await;
        if accepted == 200 {
            assert_eq!(taken["conversationId"], id.as_str(), "round {round}");
            assert_eq!(
                states[3..],
                ["started", "engaged", "completed"],
                "round {round}"
            );
        } else {
            assert_eq!(
                (accepted, taken["type"].as_str()),
                (409, Some("/problems/queue-empty")),
                "round {round}"
            );
            assert_eq!(states[3..], ["started", "abandoned"], "round {round}");
        }
    }
    // Every conversation ended, for the agent as for the store: none is left in progress.
    let (_, mine) = server
        .with_token(&agent, "GET", "/api/v1/agent/conversations", None)
        .await;
    assert_eq!(mine["total"], 0, "{mine}");
    server.restart();
    let (_, mine) = server
        .with_token(&agent, "GET", "/api/v1/agent/conversations", None)
        .await;
    assert_eq!(mine["total"], 0, "after a restart: {mine}");
}

#[tokio::test]
async fn offers_follow_agent_availability_and_pacing() {
    let server = Server::start("");
    add_map(&server, true).await;
    let page = |customer| page_viewed(customer, Uuid::new_v4(), "https://shop.test/pricing");

    // Nobody available.
    assert!(server.actions(&page(Uuid::new_v4())).await.is_empty());
    assert_eq!(blocked(&server).await, ["NoAvailableAgents"]);

    // One agent with one free place: offered; once a visitor waits for that place, pacing
    // throttles the next offer.
    let agent = server.agent_signed_in("ada@shop.test", 1).await;
    available(&server, &agent).await;
    let waiting = Visitor::accepting(&server, "https://shop.test/pricing").await;
    waiting.start(&server).await;
    assert!(server.actions(&page(Uuid::new_v4())).await.is_empty());
    assert_eq!(
        blocked(&server).await,
        ["NoAvailableAgents", "ServiceLevelThrottling"]
    );

    // The agent takes it: no free place left, so nobody can take another chat.
    assert_eq!(
        server
            .with_token(&agent, "POST", "/api/v1/agent/queue/accept", None)
            .await
            .0,
        200
    );
    assert!(server.actions(&page(Uuid::new_v4())).await.is_empty());
    assert_eq!(
        blocked(&server).await,
        [
            "NoAvailableAgents",
            "ServiceLevelThrottling",
            "NoAvailableAgents"
        ]
    );
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_the_socket_before_it_is_read() {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let (server, id, token) = a_conversation("").await;
    let mut page = server.socket(&visitor_ws(&id, &token)).await.unwrap();
    // The header of a masked text frame announcing 1 MiB, and only a few bytes of it: the
    // server answers from the header alone, without waiting for (or buffering) the rest.
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 20).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4, b'x', b'x']);
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = page.get_mut() else {
        panic!("a plain TCP socket");
    };
    tcp.write_all(&header).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), page.next())
        .await
        .expect("the server answers before the frame is complete");
    match closed {
        Some(Ok(Message::Close(Some(close)))) => {
            assert_eq!(close.code, CloseCode::Size, "{close:?}")
        }
        other => panic!("expected a close frame with 1009, got {other:?}"),
    }

    // A whole frame just over the bound, as a browser sends it: the same close.
    let mut page = server.socket(&visitor_ws(&id, &token)).await.unwrap();
    send(
        &mut page,
        json!({ "type": "message", "text": "x".repeat(64 * 1024) }),
    )
    .await;
    match page.next().await {
        Some(Ok(Message::Close(Some(close)))) => assert_eq!(close.code, CloseCode::Size),
        other => panic!("expected a close frame with 1009, got {other:?}"),
    }
}

/// How a socket ends, past the frames it still gets (within 10 s): its close frame's code and
/// reason, or `None` when the connection was dropped without one.
async fn ended(socket: &mut Socket) -> Option<(u16, String)> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(c))))) => {
                return Some((c.code.into(), c.reason.to_string()));
            }
            Ok(Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(None | Some(Err(_))) => return None,
            other => panic!("expected the socket to end, got {other:?}"),
        }
    }
}

/// The close frame a socket gets next (within 10 s): its code and reason.
async fn closed_with(socket: &mut Socket) -> (u16, String) {
    ended(socket).await.expect("a close frame")
}

#[tokio::test]
async fn an_agent_socket_closes_when_its_sign_in_ends() {
    let server = Server::start("");
    let first = server.agent_signed_in("ada@shop.test", 1).await;
    let r = common::client()
        .post(format!("{}/api/v1/agent/sessions", server.url()))
        .json(&json!({ "email": "ada@shop.test", "password": "correct horse" }))
        .send()
        .await
        .unwrap();
    let second: Value = r.json().await.unwrap();
    let second = second["token"].as_str().unwrap().to_owned();
    let console = |token: &str| format!("/api/v1/agent/ws?access_token={token}");
    let mut one = server.socket(&console(&first)).await.unwrap();
    let mut two = server.socket(&console(&second)).await.unwrap();

    // Signing out closes the sockets of that sign-in, not the agent's others.
    let (status, _) = server
        .with_token(&first, "DELETE", "/api/v1/agent/sessions/current", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(closed_with(&mut one).await, (1008, "signed out".into()));
    available(&server, &second).await;
    assert_eq!(frame(&mut two).await["type"], "queue", "still served");

    // Deleting the account closes the rest.
    let (_, agents) = server.admin_get("/api/v1/agents").await;
    let id = agents["entities"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .admin("DELETE", &format!("/api/v1/agents/{id}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        closed_with(&mut two).await,
        (1008, "the account was deleted".into())
    );
}

#[tokio::test]
async fn a_pre_chat_survey_has_at_most_20_questions() {
    let server = Server::start("");
    let survey = |n: usize| {
        let mut map = webchat_map("Chat on pricing", "/pricing", false);
        let questions: Vec<Value> = (0..n)
            .map(|i| json!({ "type": "text", "label": format!("Question {i}") }))
            .collect();
        map["action"]["props"]["webchatSurvey"] = json!({ "questions": questions });
        map
    };
    let (status, problem) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&survey(21)))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "action.props.webchatSurvey.questions");
    let (status, body) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&survey(20)))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_agent_sees_whether_the_visitor_is_connected() {
    let server = Server::start_full("", "assume_agents_available = true", &[]);
    add_map(&server, false).await;
    let agent = server.agent_signed_in("ada@shop.test", 2).await;
    available(&server, &agent).await;
    let visitor = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let (id, token) = visitor.start(&server).await;
    let ws = visitor_ws(&id, &token);
    let page = server.socket(&ws).await.unwrap();
    let mut console = server
        .socket(&format!("/api/v1/agent/ws?access_token={agent}"))
        .await
        .unwrap();
    let (status, accepted) = server
        .with_token(&agent, "POST", "/api/v1/agent/queue/accept", None)
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["visitorConnected"], true);

    // The next frame about the visitor, skipping the others (queue, assigned, joined).
    async fn presence(console: &mut common::Socket) -> Value {
        loop {
            let f = frame(console).await;
            if f["type"] == "visitor" {
                return f;
            }
        }
    }
    drop(page);
    let left = presence(&mut console).await;
    assert_eq!(
        left,
        json!({ "type": "visitor", "conversationId": id, "connected": false })
    );
    let detail = format!("/api/v1/agent/conversations/{id}");
    let (_, c) = server.with_token(&agent, "GET", &detail, None).await;
    assert_eq!(c["visitorConnected"], false);

    let _page = server.socket(&ws).await.unwrap();
    assert_eq!(presence(&mut console).await["connected"], true);
    let (_, c) = server.with_token(&agent, "GET", &detail, None).await;
    assert_eq!(c["visitorConnected"], true);
}

/// Every frame a socket gets until it has been quiet for half a second.
async fn frames_until_quiet(socket: &mut Socket) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Some(f) = frame_within(socket, Duration::from_millis(500)).await {
        frames.push(f);
    }
    frames
}

fn rate_limited(frames: &[Value]) -> usize {
    frames
        .iter()
        .filter(|f| f["type"] == "error" && f["error"] == "rate-limited")
        .count()
}

#[tokio::test]
async fn a_conversation_takes_at_most_sixteen_visitor_sockets() {
    let (server, id, token) = a_conversation("").await;
    let ws = visitor_ws(&id, &token);
    let mut sockets = Vec::new();
    for _ in 0..16 {
        sockets.push(server.socket(&ws).await.expect("one of sixteen sockets"));
    }
    // A seventeenth is refused at the handshake, with a problem saying why.
    assert_eq!(server.socket(&ws).await.err(), Some(429));
    let r = common::client()
        .get(format!("{}{ws}", server.url()))
        .header("origin", common::ORIGIN)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-sockets");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("16 visitor sockets"),
        "{problem}"
    );

    // A socket that closes gives its place back.
    let mut gone = sockets.pop().unwrap();
    gone.close(None).await.unwrap();
    drop(gone);
    let again = common::eventually(Duration::from_secs(10), || async {
        server.socket(&ws).await.ok()
    })
    .await;
    assert!(again.is_some(), "a place after a socket closed");
}

#[tokio::test]
async fn sockets_that_answer_no_ping_are_dropped_and_give_their_places_back() {
    let (server, id, token) = a_conversation("[chat]\nping_interval_secs = 1\n").await;
    let agent = server.agent_signed_in("ada@shop.test", 1).await;
    available(&server, &agent).await;
    let (status, accepted) = server
        .with_token(&agent, "POST", "/api/v1/agent/queue/accept", None)
        .await;
    assert_eq!(status, 200, "{accepted}");

    // Sockets never read from: a tungstenite client answers pings only when it is read, so to
    // the server these are connections that died without a close.
    let opened = std::time::Instant::now();
    let mut console = server
        .socket(&format!("/api/v1/agent/ws?access_token={agent}"))
        .await
        .unwrap();
    let ws = visitor_ws(&id, &token);
    let mut silent = Vec::new();
    for _ in 0..16 {
        silent.push(server.socket(&ws).await.expect("one of sixteen sockets"));
    }
    assert_eq!(server.socket(&ws).await.err(), Some(429));

    // Dropped as a disconnect: the agent is told the visitor has gone, and the places are free.
    let detail = format!("/api/v1/agent/conversations/{id}");
    let gone = common::eventually(Duration::from_secs(30), || async {
        let (_, c) = server.with_token(&agent, "GET", &detail, None).await;
        (c["visitorConnected"] == false).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the silent sockets are dropped");
    assert!(
        opened.elapsed() >= Duration::from_secs(2),
        "not before two intervals of silence"
    );
    let again = common::eventually(Duration::from_secs(10), || async {
        server.socket(&ws).await.ok()
    })
    .await;
    assert!(
        again.is_some(),
        "a place once the silent sockets were dropped"
    );
    for socket in silent.iter_mut().chain([&mut console]) {
        assert_eq!(ended(socket).await, None, "dropped without a close frame");
    }
}

#[tokio::test]
async fn a_socket_whose_peer_stops_reading_is_dropped_when_a_write_stalls() {
    let (server, id, token) = a_conversation(
        "[chat]\nping_interval_secs = 1\nmax_message_bytes = 60000\nmessages_per_second = 1000\nmessage_burst = 1000\n",
    )
    .await;
    let agent = server.agent_signed_in("ada@shop.test", 1).await;
    available(&server, &agent).await;
    let (status, accepted) = server
        .with_token(&agent, "POST", "/api/v1/agent/queue/accept", None)
        .await;
    assert_eq!(status, 200, "{accepted}");

    // 15 MB of history: more than a socket's buffers hold on both ends together.
    let ws = visitor_ws(&id, &token);
    let mut writer = server.socket(&ws).await.unwrap();
    let text = "x".repeat(60_000);
    for seq in 1..=250 {
        send(&mut writer, json!({ "type": "message", "text": text })).await;
        assert_eq!(frame(&mut writer).await["seq"], seq);
    }
    writer.close(None).await.unwrap();
    drop(writer);
    let detail = format!("/api/v1/agent/conversations/{id}");
    let connected = |is: bool| {
        let (server, agent, detail) = (&server, &agent, &detail);
        common::eventually(Duration::from_secs(30), move || async move {
            let (_, c) = server.with_token(agent, "GET", detail, None).await;
            (c["visitorConnected"] == is).then_some(())
        })
    };
    assert!(connected(false).await.is_some(), "the writer has gone");

    // A socket that is never read: its catch-up fills the buffers, and the server's write to it
    // waits for a peer that takes nothing. Once two ping intervals have passed with that write
    // still waiting, the socket is dropped like a disconnect (the agent is told).
    let stalled = server.socket(&ws).await.unwrap();
    assert!(connected(true).await.is_some(), "the reader is connected");
    assert!(
        connected(false).await.is_some(),
        "the socket stuck in a write is dropped"
    );
    drop(stalled);
}

#[tokio::test]
async fn a_socket_that_answers_pings_stays_open_and_its_answers_take_no_rate() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (server, id, token) = a_conversation(
        "[chat]\nping_interval_secs = 1\nmessages_per_second = 1\nmessage_burst = 2\n",
    )
    .await;
    let mut page = server.socket(&visitor_ws(&id, &token)).await.unwrap();

    // Three pings, each answered at once: open past two intervals.
    let mut pings = 0;
    while pings < 3 {
        match tokio::time::timeout(Duration::from_secs(10), page.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(Message::Text(_)))) => continue,
            other => panic!("expected a ping on an open socket, got {other:?}"),
        }
        // The pong goes now, ahead of anything sent next.
        page.flush().await.unwrap();
    }
    // A burst of two: were the pong counted, one of these two messages would be refused.
    for text in ["still", "here"] {
        send(&mut page, json!({ "type": "message", "text": text })).await;
    }
    for text in ["still", "here"] {
        let echo = frame(&mut page).await;
        assert_eq!(
            (echo["type"].as_str(), echo["text"].as_str()),
            (Some("message"), Some(text)),
            "{echo}"
        );
    }
}

#[tokio::test]
async fn a_visitors_sockets_share_the_conversations_rate() {
    let (server, id, token) =
        a_conversation("[chat]\nmessages_per_second = 1\nmessage_burst = 3\n").await;
    let ws = visitor_ws(&id, &token);
    let mut sockets = Vec::new();
    for _ in 0..2 {
        sockets.push(server.socket(&ws).await.unwrap());
    }
    // The rate is the conversation's: two messages on each of two sockets are four frames
    // against a burst of three, and one of them is refused.
    for socket in &mut sockets[..2] {
        for text in ["one", "two"] {
            send(socket, json!({ "type": "message", "text": text })).await;
        }
    }
    let (first, second) = sockets.split_at_mut(1);
    let (a, b) = tokio::join!(
        frames_until_quiet(&mut first[0]),
        frames_until_quiet(&mut second[0])
    );
    assert_eq!(rate_limited(&a) + rate_limited(&b), 1, "{a:?} {b:?}");
    let (_, body) = server
        .with_token(&token, "GET", &visitor_path(&id), None)
        .await;
    let messages = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message")
        .count();
    assert_eq!(messages, 3, "{body}");
}

#[tokio::test]
async fn pings_count_toward_the_rate() {
    let (server, id, token) =
        a_conversation("[chat]\nmessages_per_second = 1\nmessage_burst = 3\n").await;
    let mut page = server.socket(&visitor_ws(&id, &token)).await.unwrap();
    use futures_util::SinkExt;
    for _ in 0..3 {
        page.send(tokio_tungstenite::tungstenite::Message::Ping(
            Default::default(),
        ))
        .await
        .unwrap();
    }
    send(&mut page, json!({ "type": "message", "text": "hello" })).await;
    assert_eq!(frame(&mut page).await["error"], "rate-limited");
}

#[tokio::test]
async fn the_page_is_told_which_stored_event_each_lifecycle_state_is() {
    let server = Server::start_full("", "assume_agents_available = true", &[]);
    add_map(&server, false).await;
    let agent = server.agent_signed_in("ada@shop.test", 2).await;
    available(&server, &agent).await;

    // `started`: the create answer names it.
    let visitor = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let r = server
        .post(
            "conversations",
            &json!({ "actionId": visitor.action["actionId"], "customerId": visitor.customer,
                     "sessionId": Uuid::new_v4(), "form": {} }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let started = visitor.stored(&server, "started").await;
    assert_eq!(identity(&created), stored_identity(&started));
    // The stored event's session is the action's, whatever session the page sent.
    assert_eq!(started["sessionId"], json!(visitor.session));
    let (id, token) = (
        created["conversationId"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap(),
    );
    let ws = visitor_ws(&id, token);
    let mut page = server.socket(&ws).await.unwrap();

    // `engaged`: the `joined` frame, live and when read again from the start.
    let (status, _) = server
        .with_token(&agent, "POST", "/api/v1/agent/queue/accept", None)
        .await;
    assert_eq!(status, 200);
    let joined = frame(&mut page).await;
    assert_eq!(joined["type"], "joined");
    let engaged = visitor.stored(&server, "engaged").await;
    assert_eq!(identity(&joined), stored_identity(&engaged));
    let mut next_page = server.socket(&format!("{ws}&after=0")).await.unwrap();
    assert_eq!(
        identity(&frame(&mut next_page).await),
        stored_identity(&engaged)
    );
    drop(next_page);

    // `completed`: the `ended` frame, live and when read again.
    send(&mut page, json!({ "type": "end" })).await;
    let ended = frame(&mut page).await;
    assert_eq!(ended["type"], "ended");
    let completed = visitor.stored(&server, "completed").await;
    assert_eq!(identity(&ended), stored_identity(&completed));
    let (status, history) = server
        .with_token(token, "GET", &visitor_path(&id), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        identity(&history["entries"][1]),
        stored_identity(&completed)
    );

    // `abandoned`: the `ended` frame of a conversation no agent joined.
    let leaving = Visitor::accepting(&server, "https://shop.test/pricing").await;
    let (id, token) = leaving.start(&server).await;
    let mut page = server.socket(&visitor_ws(&id, &token)).await.unwrap();
    send(&mut page, json!({ "type": "end" })).await;
    let ended = frame(&mut page).await;
    assert_eq!(ended["type"], "ended");
    let abandoned = leaving.stored(&server, "abandoned").await;
    assert_eq!(identity(&ended), stored_identity(&abandoned));
}

/// A sign-in from the test's client: its status, `Retry-After` and body.
async fn sign_in(server: &Server, email: &str, password: &str) -> (u16, Option<u64>, Value) {
    let r = common::client()
        .post(format!("{}/api/v1/agent/sessions", server.url()))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

/// The agent `email` with the password `correct horse` (the admin API: no sign-in).
async fn account(server: &Server, email: &str) {
    let body = json!({ "name": email, "email": email, "password": "correct horse" });
    let (status, created) = server.admin("POST", "/api/v1/agents", Some(&body)).await;
    assert_eq!(status, 201, "{created}");
}

fn assert_rate_limited((status, retry, problem): &(u16, Option<u64>, Value), quota: &str) {
    assert_eq!(*status, 429, "{problem}");
    assert_eq!(problem["type"], "/problems/rate-limited", "{problem}");
    assert_eq!(problem["status"], 429);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(quota), "{detail}");
    // One attempt a minute refills: a wait of at most that.
    assert!(matches!(retry, Some(1..=60)), "Retry-After {retry:?}");
}

#[tokio::test]
async fn wrong_passwords_for_one_email_are_held_to_its_quota() {
    let server =
        Server::start("[chat]\nsign_ins_per_minute_per_email = 1\nsign_in_burst_per_email = 3\n");
    account(&server, "ada@shop.test").await;
    account(&server, "bo@shop.test").await;
    for _ in 0..3 {
        assert_eq!(sign_in(&server, "ada@shop.test", "wrong").await.0, 401);
    }
    // Beyond the quota, the password is not checked: the right one is refused too, until an
    // attempt refills (a minute here; not waited for, the unit tests of `api::sign_ins` are).
    let refused = sign_in(&server, "ADA@shop.test", "wrong").await;
    assert_rate_limited(&refused, "this email address");
    let right = sign_in(&server, "ada@shop.test", "correct horse").await;
    assert_rate_limited(&right, "this email address");
    // Another email, from the same client, is not concerned; its successful sign-ins do not
    // count.
    for _ in 0..5 {
        assert_eq!(
            sign_in(&server, "bo@shop.test", "correct horse").await.0,
            201
        );
    }
    assert_eq!(sign_in(&server, "bo@shop.test", "wrong").await.0, 401);
    // An operator sees the guessing: four wrong passwords, two attempts refused unchecked.
    let metrics = server.metrics().await;
    for line in [
        "beckon_sign_ins_failed_total 4",
        "beckon_sign_ins_refused_total 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn one_client_is_held_to_its_sign_in_quota_across_emails() {
    let server = Server::start("[chat]\nsign_ins_per_minute = 1\nsign_in_burst = 4\n");
    account(&server, "ada@shop.test").await;
    // Successful sign-ins are given back.
    for _ in 0..6 {
        assert_eq!(
            sign_in(&server, "ada@shop.test", "correct horse").await.0,
            201
        );
    }
    for n in 0..4 {
        let email = format!("nobody-{n}@shop.test");
        assert_eq!(sign_in(&server, &email, "guess").await.0, 401);
    }
    let refused = sign_in(&server, "nobody-4@shop.test", "guess").await;
    assert_rate_limited(&refused, "this client");
    let right = sign_in(&server, "ada@shop.test", "correct horse").await;
    assert_rate_limited(&right, "this client");
    // Another client address is not concerned.
    let other = common::client_from("127.0.0.2".parse().unwrap())
        .post(format!("{}/api/v1/agent/sessions", server.url()))
        .json(&json!({ "email": "ada@shop.test", "password": "correct horse" }))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201);
}

#[test]
fn sign_in_quotas_are_bounded_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("beckon.toml");
    for (key, value, bounds) in [
        ("sign_ins_per_minute", "0", "from 1 to 600"),
        ("sign_in_burst", "1001", "from 1 to 1000"),
        ("sign_ins_per_minute_per_email", "601", "from 1 to 600"),
        ("sign_in_burst_per_email", "0", "from 1 to 1000"),
    ] {
        std::fs::write(
            &file,
            format!("[chat]\nmax_message_bytes = 100\n{key} = {value}\n"),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_beckon"))
            .arg("check-config")
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{key} = {value} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("beckon.toml:3:1: chat.{key} must be {bounds}")),
            "{key} = {value}: {err}"
        );
    }
}

/// A token in the query is taken on the two WebSockets only, whose handshake a browser cannot
/// add a header to; on an HTTP route it is ignored (401 without the header), since query strings
/// end up in proxies' access logs.
#[tokio::test]
async fn a_query_token_opens_the_sockets_and_no_http_route() {
    let (server, id, visitor) = a_conversation("").await;
    let agent = server.agent_signed_in("ada@shop.test", 1).await;
    let http = |method: &str, path: String| {
        common::client()
            .request(method.parse().unwrap(), format!("{}{path}", server.url()))
            .header("origin", common::ORIGIN)
            .send()
    };
    for (method, path) in [
        ("GET", "/api/v1/agent/me".to_owned()),
        ("GET", "/api/v1/agent/queue".to_owned()),
        ("GET", format!("/api/v1/agent/conversations/{id}")),
        ("DELETE", "/api/v1/agent/sessions/current".to_owned()),
    ] {
        let r = http(method, format!("{path}?access_token={agent}"))
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
        let problem: Value = r.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains("WebSocket"),
            "{problem}"
        );
    }
    for (method, path) in [
        ("GET", format!("{}?after=0", visitor_path(&id))),
        ("POST", format!("{}/end?", visitor_path(&id))),
    ] {
        let r = http(method, format!("{path}&access_token={visitor}"))
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
    }
    // The sign-in and the conversation are still there; the sockets take the query token.
    assert_eq!(
        server
            .with_token(&agent, "GET", "/api/v1/agent/me", None)
            .await
            .0,
        200
    );
    let (status, read) = server
        .with_token(&visitor, "GET", &visitor_path(&id), None)
        .await;
    assert_eq!((status, read["status"].as_str()), (200, Some("waiting")));
    let mut console = server
        .socket(&format!("/api/v1/agent/ws?access_token={agent}"))
        .await
        .expect("the console socket opens");
    let mut page = server.socket(&visitor_ws(&id, &visitor)).await.unwrap();
    send(&mut page, json!({ "type": "message", "text": "hello" })).await;
    assert_eq!(frame(&mut page).await["seq"], 1);
    let (status, _) = server
        .with_token(
            &agent,
            "PUT",
            "/api/v1/agent/presence",
            Some(&json!({ "presence": "away" })),
        )
        .await;
    assert_eq!(status, 200);
    while frame(&mut console).await["type"] != "queue" {}
}
