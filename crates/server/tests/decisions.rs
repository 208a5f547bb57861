//! Decisions end to end against the real binary: configure through the admin API, send page
//! views as the SDK does, and check the actions answered and what the log holds.

mod common;

use common::{Server, page_viewed};
use serde_json::{Value, json};
use uuid::Uuid;

fn action_event(action: &Value, customer: Uuid, session: Uuid, state: &str) -> Value {
    json!({
        "actionId": action["actionId"], "actionState": state,
        "actionMediaType": action["mediaType"], "actionMapId": action["actionMapId"],
        "actionMapVersion": action["actionMapVersion"], "customerId": customer,
        "customerIdType": "cookie", "sessionId": session, "eventId": Uuid::new_v4(),
        "timestamp": common::now(),
    })
}

#[tokio::test]
async fn a_matching_page_gets_the_offer_and_the_log_holds_qualified() {
    let server = Server::start("");
    let (map, template) = server.pricing_offer(json!({ "type": "immediate" })).await;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let actions = server
        .actions(&page_viewed(customer, session, "https://shop.test/pricing"))
        .await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    let a = &actions[0];
    assert_eq!(a["actionMapId"], map.as_str());
    assert_eq!(a["actionMapVersion"], 1);
    assert_eq!(a["mediaType"], "contentoffer");
    assert_eq!(
        a["sessionId"],
        session.to_string(),
        "the session it was qualified in"
    );
    assert_eq!(a["activation"], json!({ "type": "immediate" }));
    assert_eq!(a["contentOffer"], template["contentOffer"]);
    let action_id: Uuid = a["actionId"].as_str().unwrap().parse().unwrap();
    assert_eq!(action_id.get_version_num(), 4);

    let qualified = server.log("&topic=contentoffer:qualified").await;
    assert_eq!(qualified.len(), 1);
    let e = &qualified[0]["event"];
    assert_eq!(e["actionId"], a["actionId"]);
    assert_eq!(e["actionMapVersion"], 1);
    assert_eq!(e["customerId"], customer.to_string());
    assert_eq!(e["sessionId"], session.to_string());
    // The web event came first, in the same commit.
    let all = server.log("").await;
    assert_eq!(all[0]["kind"], "web");

    // The page shows it and reports so; the SDK's lifecycle then goes on from qualified.
    let offered = server
        .post(
            "action-events",
            &action_event(a, customer, session, "offered"),
        )
        .await;
    assert_eq!(offered.status(), 200);
}

#[tokio::test]
async fn a_page_the_map_does_not_match_is_a_blocked_offer_with_its_reason() {
    let server = Server::start("");
    let (map, _) = server.pricing_offer(json!({ "type": "immediate" })).await;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let actions = server
        .actions(&page_viewed(customer, session, "https://shop.test/about"))
        .await;
    assert!(actions.is_empty(), "{actions:?}");
    let blocked = server.log("&topic=contentoffer:blocked").await;
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    let b = &blocked[0]["event"];
    assert_eq!(b["reason"], "PageUrlConditionsNotMatching");
    assert_eq!(b["actionMapId"], map.as_str());
    assert_eq!(b["customerId"], customer.to_string());
    assert_eq!(blocked[0]["kind"], "blocked");

    // Later in the session, on a matching page, the same action is offered (not qualified twice).
    let qualified = server.log("&topic=contentoffer:qualified").await;
    assert_eq!(qualified.len(), 1);
    let actions = server
        .actions(&page_viewed(customer, session, "https://shop.test/pricing"))
        .await;
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["actionId"], qualified[0]["event"]["actionId"]);
    assert_eq!(server.log("&topic=contentoffer:qualified").await.len(), 1);
}

/// A content offer map on `/pricing` with no delay, and a new customer's page view of it in a
/// new session: the customer, the session and the one action the answer carries.
async fn pricing_viewed(server: &Server) -> (Uuid, Uuid, Vec<Value>) {
    server.pricing_offer(json!({ "type": "immediate" })).await;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let first = server
        .actions(&page_viewed(customer, session, "https://shop.test/pricing"))
        .await;
    assert_eq!(first.len(), 1, "{first:?}");
    (customer, session, first)
}

#[tokio::test]
async fn a_map_qualifies_once_per_session() {
    let server = Server::start("");
    let (customer, session, first) = pricing_viewed(&server).await;
    server
        .post(
            "action-events",
            &action_event(&first[0], customer, session, "offered"),
        )
        .await;
    server
        .post(
            "action-events",
            &action_event(&first[0], customer, session, "rejected"),
        )
        .await;
    let again = server
        .actions(&page_viewed(
            customer,
            session,
            "https://shop.test/pricing?plan=pro",
        ))
        .await;
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(server.log("&topic=contentoffer:qualified").await.len(), 1);

    // Another customer qualifies on their own.
    let other = server
        .new_visitor_actions("https://shop.test/pricing")
        .await;
    assert_eq!(other.len(), 1);
    assert_ne!(other[0]["actionId"], first[0]["actionId"]);
}

/// Starts a server with one content offer on `/pricing` for desktop visitors, the segment
/// of the given scope.
async fn offer_for_scope(scope: &str) -> Server {
    let server = Server::start("");
    let mut segment = common::segment_body("Desktop");
    segment["scope"] = json!(scope);
    let (_, segment) = server
        .admin("POST", "/api/v2/journey/segments", Some(&segment))
        .await;
    let (_, template) = server
        .admin(
            "POST",
            "/api/v2/journey/actiontemplates",
            Some(&common::template_body("Promo")),
        )
        .await;
    let map = common::content_offer_map(
        "Promo on pricing",
        segment["id"].as_str().unwrap(),
        template["id"].as_str().unwrap(),
        "/pricing",
    );
    let (status, map) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&map))
        .await;
    assert_eq!(status, 200, "{map}");
    server
}

/// Offers in two sessions of one customer, the first offer shown (not final, not terminal).
async fn offers_in_two_sessions(server: &Server) -> (usize, usize) {
    let customer = Uuid::new_v4();
    let first_session = Uuid::new_v4();
    let url = "https://shop.test/pricing";
    let first = server
        .actions(&page_viewed(customer, first_session, url))
        .await;
    if let Some(a) = first.first() {
        let r = server
            .post(
                "action-events",
                &action_event(a, customer, first_session, "offered"),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let second = server
        .actions(&page_viewed(customer, Uuid::new_v4(), url))
        .await;
    (first.len(), second.len())
}

#[tokio::test]
async fn a_customer_segment_qualifies_a_map_once_per_assignment_across_sessions() {
    let customer_scoped = offer_for_scope("Customer").await;
    assert_eq!(offers_in_two_sessions(&customer_scoped).await, (1, 0));
    assert_eq!(
        customer_scoped
            .log("&topic=contentoffer:qualified")
            .await
            .len(),
        1
    );
    // A session-scoped segment qualifies the map again in the next session.
    let session_scoped = offer_for_scope("Session").await;
    assert_eq!(offers_in_two_sessions(&session_scoped).await, (1, 1));
}

#[tokio::test]
async fn a_delay_activation_is_answered_with_its_seconds() {
    let server = Server::start("");
    server
        .pricing_offer(json!({ "type": "delay", "delayInSeconds": 5 }))
        .await;
    let actions = server
        .new_visitor_actions("https://shop.test/pricing")
        .await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(
        actions[0]["activation"],
        json!({ "type": "delay", "delayInSeconds": 5 })
    );
    assert!(actions[0]["contentOffer"]["title"].is_string());
    assert_eq!(server.log("&topic=contentoffer:qualified").await.len(), 1);
}

/// Edits action map `map` through the admin API (`changes` name the version they edit).
async fn edit_map(server: &Server, map: &str, changes: Value) -> (u16, Value) {
    let path = format!("/api/v2/journey/actionmaps/{map}");
    server.admin("PATCH", &path, Some(&changes)).await
}

/// What `POST .../decisions` answers for a page of this visit (the SDK asks when a delay ends).
async fn asked_again(server: &Server, customer: Uuid, session: Uuid, url: &str) -> Vec<Value> {
    let r = server
        .post("decisions", &page_viewed(customer, session, url))
        .await;
    assert_eq!(r.status(), 200, "decisions refused");
    let body: Value = r.json().await.expect("json");
    body["actions"].as_array().expect("actions").clone()
}

#[tokio::test]
async fn a_delay_ending_is_checked_again_and_offered_only_while_still_eligible() {
    let server = Server::start("");
    let (map, _) = server
        .pricing_offer(json!({ "type": "delay", "delayInSeconds": 1 }))
        .await;
    let pricing = "https://shop.test/pricing";
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let delayed = server
        .actions(&page_viewed(customer, session, pricing))
        .await;
    assert_eq!(delayed.len(), 1, "{delayed:?}");

    // Asked before the delay is over: nothing yet.
    assert!(
        asked_again(&server, customer, session, pricing)
            .await
            .is_empty()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Over: the same action, to show at once.
    let due = asked_again(&server, customer, session, pricing).await;
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0]["actionId"], delayed[0]["actionId"]);
    assert_eq!(due[0]["activation"], json!({ "type": "immediate" }));
    // The asks are not web events: the log holds the one page view and the one qualified.
    let kinds: Vec<Value> = server
        .log("")
        .await
        .iter()
        .map(|r| r["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("web"), json!("action")]);

    // A map switched off during the delay is not offered when it ends.
    let (other, other_session) = (Uuid::new_v4(), Uuid::new_v4());
    let waiting = server
        .actions(&page_viewed(other, other_session, pricing))
        .await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let (status, off) = edit_map(&server, &map, json!({ "version": 1, "isActive": false })).await;
    assert_eq!(status, 200, "{off}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(
        asked_again(&server, other, other_session, pricing)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn events_carry_the_map_version_that_produced_them() {
    let server = Server::start("");
    let (map, _) = server.pricing_offer(json!({ "type": "immediate" })).await;
    let (status, _) = edit_map(
        &server,
        &map,
        json!({ "version": 1, "displayName": "Promo v2" }),
    )
    .await;
    assert_eq!(status, 200);
    let actions = server
        .new_visitor_actions("https://shop.test/pricing")
        .await;
    assert_eq!(actions[0]["actionMapVersion"], 2);
    let qualified = server.log("&topic=contentoffer:qualified").await;
    assert_eq!(qualified[0]["event"]["actionMapVersion"], 2);
}

#[tokio::test]
async fn chat_invitations_wait_for_agents_unless_assumed() {
    for (assume, offered) in [(false, false), (true, true)] {
        let server = Server::start_full("", &format!("assume_agents_available = {assume}"), &[]);
        let map = json!({
            "displayName": "Chat on checkout",
            "triggerWithEventConditions": [ { "key": "page.url", "values": ["/checkout"],
                "operator": "containsAny", "streamType": "Web", "sessionType": "web",
                "eventName": "page_viewed" } ],
            "action": { "mediaType": "webchat", "props": {
                "webchatPrompt": "Need a hand?", "webchatTitleText": "Chat with us",
                "webchatAcceptText": "Yes", "webchatDeclineText": "No thanks",
                "webchatSurvey": { "questions": [ { "type": "text", "label": "Your name",
                    "customerProperty": "givenName", "isMandatory": true } ] } } }
        });
        let (status, body) = server
            .admin("POST", "/api/v2/journey/actionmaps", Some(&map))
            .await;
        assert_eq!(status, 200, "{body}");
        let actions = server
            .new_visitor_actions("https://shop.test/checkout")
            .await;
        if offered {
            assert_eq!(actions.len(), 1);
            let a = &actions[0];
            assert_eq!(a["mediaType"], "webchat");
            assert_eq!(a["timeoutSeconds"], 30);
            assert_eq!(
                a["chatInvitation"],
                json!({ "prompt": "Need a hand?", "title": "Chat with us", "acceptLabel": "Yes", "declineLabel": "No thanks" })
            );
            assert_eq!(
                a["webchatSurvey"],
                json!({ "questions": [ { "type": "text", "label": "Your name",
                    "customerProperty": "givenName", "isMandatory": true } ] })
            );
            assert!(a.get("contentOffer").is_none());
        } else {
            assert!(actions.is_empty());
            let blocked = server.log("&topic=webchat:blocked").await;
            assert_eq!(blocked[0]["event"]["reason"], "NoAvailableAgents");
        }
    }
}

/// Two content offer maps on `/pricing`; the visitor rejects the first one offered, then views
/// the page again. Returns what that second view answered and the blocked reasons logged for it.
async fn second_offer_after_a_rejection(server: &Server) -> (Vec<Value>, Vec<String>) {
    server.pricing_offer(json!({ "type": "immediate" })).await;
    server.pricing_offer(json!({ "type": "immediate" })).await;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let first = server
        .actions(&page_viewed(customer, session, "https://shop.test/pricing"))
        .await;
    assert_eq!(first.len(), 1, "one content offer at a time: {first:?}");
    for state in ["offered", "rejected"] {
        let r = server
            .post(
                "action-events",
                &action_event(&first[0], customer, session, state),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let seen = server
        .log("")
        .await
        .last()
        .map_or(0, |r| r["seq"].as_u64().unwrap());
    let second = server
        .actions(&page_viewed(customer, session, "https://shop.test/pricing"))
        .await;
    let reasons = server.log("&topic=contentoffer:blocked").await[..]
        .iter()
        .filter(|r| r["seq"].as_u64().unwrap() > seen)
        .map(|r| r["event"]["reason"].as_str().unwrap().to_owned())
        .collect();
    (second, reasons)
}

#[tokio::test]
async fn a_frequency_cap_after_rejection_holds_back_the_next_offer_of_that_media_type() {
    let uncapped = Server::start("");
    let (second, _) = second_offer_after_a_rejection(&uncapped).await;
    assert_eq!(
        second.len(),
        1,
        "without a cap the other map is offered: {second:?}"
    );

    let capped = Server::start_full(
        "",
        "[deployments.frequency_caps.contentoffer]\nafter_rejection = true\n",
        &[],
    );
    let (second, reasons) = second_offer_after_a_rejection(&capped).await;
    assert!(second.is_empty(), "{second:?}");
    assert!(
        reasons.iter().any(|r| r == "FrequencyCapping"),
        "{reasons:?}"
    );
}

/// Two content offer maps on `/pricing` and a visitor on it: the one answered is shown
/// (`offered`), the other blocked for it. Returns the customer, the session and both answers.
async fn one_of_two_offers_shown(server: &Server) -> (Uuid, Uuid, Value) {
    server.pricing_offer(json!({ "type": "immediate" })).await;
    server.pricing_offer(json!({ "type": "immediate" })).await;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let first = server
        .actions(&page_viewed(customer, session, "https://shop.test/pricing"))
        .await;
    assert_eq!(first.len(), 1, "one content offer at a time: {first:?}");
    let offered = action_event(&first[0], customer, session, "offered");
    assert_eq!(server.post("action-events", &offered).await.status(), 200);
    (customer, session, first[0].clone())
}

#[tokio::test]
async fn an_offer_never_resolved_is_off_screen_once_the_session_views_another_page() {
    let server = Server::start("");
    let (customer, session, shown) = one_of_two_offers_shown(&server).await;
    // The tab is killed and its `ignored` lost: the next page view is what the server hears.
    let next = server
        .actions(&page_viewed(
            customer,
            session,
            "https://shop.test/pricing?plan=pro",
        ))
        .await;
    assert_eq!(next.len(), 1, "the other map is offered: {next:?}");
    assert_ne!(next[0]["actionMapId"], shown["actionMapId"]);
    let reasons: Vec<Value> = server
        .log("&topic=contentoffer:blocked")
        .await
        .iter()
        .map(|r| r["event"]["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [json!("MultipleSimultaneousOffers")],
        "only the first view's"
    );
}

/// Adds a content offer map shown when the visitor compares plans on `/pricing` (the event
/// `plan_compared`), weighing more than the page's own offer; returns its id.
async fn offer_on_plan_compared(server: &Server, template: &Value) -> Value {
    let map = json!({
        "displayName": "Promo for comparing plans",
        "triggerWithEventConditions": [ { "key": "page.url", "values": ["/pricing"],
            "operator": "containsAny", "streamType": "Web", "sessionType": "web",
            "eventName": "plan_compared" } ],
        "weight": 3,
        "action": { "mediaType": "contentOffer", "actionTemplate": { "id": template["id"] } }
    });
    let (status, map) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&map))
        .await;
    assert_eq!(status, 200, "{map}");
    map["id"].clone()
}

/// The visitor compares plans on `/pricing` before the page's `offered` reaches the server:
/// what that event is answered, and the reasons logged for blocking the map `compared`.
async fn plans_compared(
    server: &Server,
    customer: Uuid,
    session: Uuid,
    compared: &Value,
) -> (Vec<Value>, Vec<Value>) {
    let mut event = page_viewed(customer, session, "https://shop.test/pricing");
    event["eventName"] = json!("plan_compared");
    let answer = server.actions(&event).await;
    let reasons = server
        .log("&topic=contentoffer:blocked")
        .await
        .iter()
        .filter(|r| r["event"]["actionMapId"] == *compared)
        .map(|r| r["event"]["reason"].clone())
        .collect();
    (answer, reasons)
}

#[tokio::test]
async fn an_offer_answered_to_show_now_is_on_screen_before_the_page_reports_it() {
    let server = Server::start("");
    let (_, template) = server.pricing_offer(json!({ "type": "immediate" })).await;
    let compared = offer_on_plan_compared(&server, &template).await;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let first = server
        .actions(&page_viewed(customer, session, "https://shop.test/pricing"))
        .await;
    assert_eq!(first.len(), 1, "{first:?}");
    let (second, reasons) = plans_compared(&server, customer, session, &compared).await;
    assert!(second.is_empty(), "a second content offer: {second:?}");
    assert_eq!(reasons, [json!("AlreadyExistingOffer")]);
}

#[tokio::test]
async fn an_offer_answered_when_its_delay_ends_is_on_screen_on_its_page_view() {
    let server = Server::start("");
    let (_, template) = server
        .pricing_offer(json!({ "type": "delay", "delayInSeconds": 1 }))
        .await;
    let compared = offer_on_plan_compared(&server, &template).await;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let pricing = "https://shop.test/pricing";
    let delayed = server
        .actions(&page_viewed(customer, session, pricing))
        .await;
    assert_eq!(delayed.len(), 1, "{delayed:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let due = asked_again(&server, customer, session, pricing).await;
    assert_eq!(due.len(), 1, "{due:?}");
    // Asking again is not a page view: the offer it brought holds its media type.
    let (second, reasons) = plans_compared(&server, customer, session, &compared).await;
    assert!(second.is_empty(), "a second content offer: {second:?}");
    assert_eq!(reasons, [json!("AlreadyExistingOffer")]);
}

#[tokio::test]
async fn suppression_counts_from_when_the_server_received_the_state_not_the_page_clock() {
    let server = Server::start("");
    let (customer, session, first) = pricing_viewed(&server).await;
    // A page whose clock is decades slow rejects the offer.
    for state in ["offered", "rejected"] {
        let mut event = action_event(&first[0], customer, session, state);
        event["timestamp"] = json!("2000-01-01T00:00:00.000Z");
        assert_eq!(server.post("action-events", &event).await.status(), 200);
    }
    // The customer's suppression (90 days by default) runs from now, so a new session gets
    // nothing.
    let later = server
        .actions(&page_viewed(
            customer,
            Uuid::new_v4(),
            "https://shop.test/pricing",
        ))
        .await;
    assert!(later.is_empty(), "{later:?}");
}

#[tokio::test]
async fn a_chat_invitation_waits_as_long_as_its_map_says() {
    let server = Server::start_full("", "assume_agents_available = true", &[]);
    let map = |timeout: u32| {
        json!({
            "displayName": "Chat on support",
            "triggerWithEventConditions": [ { "key": "page.url", "values": ["/support"],
                "operator": "containsAny", "streamType": "Web", "sessionType": "web",
                "eventName": "page_viewed" } ],
            "action": { "mediaType": "webchat", "props": { "webchatTimeoutSeconds": timeout } }
        })
    };
    // Out of range: refused, naming the field, and nothing is created.
    let (status, problem) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&map(2)))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "action.props.webchatTimeoutSeconds");
    assert!(
        server
            .new_visitor_actions("https://shop.test/support")
            .await
            .is_empty()
    );

    let (status, body) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&map(45)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["action"]["props"]["webchatTimeoutSeconds"], 45);
    let actions = server
        .new_visitor_actions("https://shop.test/support")
        .await;
    assert_eq!(actions[0]["timeoutSeconds"], 45);
}

/// A server with agents assumed available and a webchat map on `/help` with an `on-next-*`
/// activation (`on-next-session`, `on-next-visit`); returns it and the map's id.
async fn chat_later(activation: &str) -> (Server, String) {
    let server = Server::start_full("", "assume_agents_available = true", &[]);
    let mut map = common::webchat_map("Chat next time", "/help", false);
    map["activation"] = json!({ "type": activation });
    let (status, map) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&map))
        .await;
    assert_eq!(status, 200, "{map}");
    (server, map["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_offer_of_the_next_session_is_on_screen_in_the_session_it_is_shown_in() {
    let (server, _) = chat_later("on-next-session").await;
    let now = common::webchat_map("Chat on checkout", "/checkout", false);
    let (status, now) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&now))
        .await;
    assert_eq!(status, 200, "{now}");
    let customer = Uuid::new_v4();
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let help = page_viewed(customer, first, "https://shop.test/help");
    assert!(server.actions(&help).await.is_empty());

    let due = server
        .actions(&page_viewed(customer, second, "https://shop.test/"))
        .await;
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0]["sessionId"], second.to_string());
    for state in ["offered", "accepted"] {
        let event = action_event(&due[0], customer, second, state);
        assert_eq!(server.post("action-events", &event).await.status(), 200);
    }
    // The chat it leads to is one of the second session too.
    let create = json!({ "actionId": due[0]["actionId"], "customerId": customer,
                         "sessionId": second, "form": {} });
    assert_eq!(server.post("conversations", &create).await.status(), 201);
    let started = server.log("&topic=webchat:started").await;
    assert_eq!(started[0]["event"]["sessionId"], second.to_string());

    // The chat running in the second session holds back another invitation there, on any page.
    let checkout = server
        .actions(&page_viewed(customer, second, "https://shop.test/checkout"))
        .await;
    assert!(checkout.is_empty(), "{checkout:?}");
    let blocked = server.log("&topic=webchat:blocked").await;
    let reasons: Vec<&Value> = blocked
        .iter()
        .filter(|r| r["event"]["actionMapId"] == now["id"])
        .map(|r| &r["event"]["reason"])
        .collect();
    assert_eq!(reasons, [&json!("AlreadyExistingOffer")]);
}

#[tokio::test]
async fn an_offer_of_the_next_session_is_on_screen_from_its_answer_in_the_session_it_is_shown_in() {
    let (server, _) = chat_later("on-next-session").await;
    let mut search = common::webchat_map("Chat on search", "shop.test", false);
    search["triggerWithEventConditions"][0]["eventName"] = json!("help_searched");
    let (status, search) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&search))
        .await;
    assert_eq!(status, 200, "{search}");
    let customer = Uuid::new_v4();
    let help = page_viewed(customer, Uuid::new_v4(), "https://shop.test/help");
    assert!(server.actions(&help).await.is_empty());
    let second = Uuid::new_v4();
    let due = server
        .actions(&page_viewed(customer, second, "https://shop.test/"))
        .await;
    assert_eq!(due.len(), 1, "{due:?}");

    // The visitor searches before the page's `offered` reaches the server.
    let mut searched = page_viewed(customer, second, "https://shop.test/");
    searched["eventName"] = json!("help_searched");
    let answer = server.actions(&searched).await;
    assert!(answer.is_empty(), "a second invitation: {answer:?}");
    let reasons: Vec<Value> = server
        .log("&topic=webchat:blocked")
        .await
        .iter()
        .filter(|r| r["event"]["actionMapId"] == search["id"])
        .map(|r| r["event"]["reason"].clone())
        .collect();
    assert_eq!(reasons, [json!("AlreadyExistingOffer")]);
}

#[tokio::test]
async fn an_action_keeps_the_map_version_it_qualified_with() {
    let (server, map) = chat_later("on-next-session").await;
    let customer = Uuid::new_v4();
    let help = page_viewed(customer, Uuid::new_v4(), "https://shop.test/help");
    assert!(server.actions(&help).await.is_empty());
    let (status, edited) = edit_map(
        &server,
        &map,
        json!({ "version": 1, "displayName": "Chat next time, v2" }),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["version"], 2);

    let session = Uuid::new_v4();
    let due = server
        .actions(&page_viewed(customer, session, "https://shop.test/"))
        .await;
    assert_eq!(due.len(), 1, "{due:?}");
    let qualified = server.log("&topic=webchat:qualified").await;
    assert_eq!(qualified.len(), 1, "{qualified:?}");
    assert_eq!(due[0]["actionId"], qualified[0]["event"]["actionId"]);
    assert_eq!(
        due[0]["actionMapVersion"], 1,
        "the version it qualified with"
    );
    let offered = action_event(&due[0], customer, session, "offered");
    assert_eq!(server.post("action-events", &offered).await.status(), 200);
}

#[tokio::test]
async fn the_next_visit_is_a_later_landing_even_when_the_page_clock_runs_ahead() {
    let (server, _) = chat_later("on-next-visit").await;
    let (customer, session) = (Uuid::new_v4(), Uuid::new_v4());
    let mut landing = page_viewed(customer, session, "https://shop.test/help");
    // The page's clock is four minutes ahead of the server's (up to five are accepted).
    let ahead = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 240_000;
    landing["createdDate"] = json!(beckon_core::Timestamp::from_unix_millis(ahead).to_string());
    assert!(server.actions(&landing).await.is_empty());
    assert_eq!(server.log("&topic=webchat:qualified").await.len(), 1);

    // Something else happens on that page view: the same visit, not the next one.
    let mut click = landing.clone();
    click["eventName"] = json!("help_searched");
    let same_visit = server.actions(&click).await;
    assert!(same_visit.is_empty(), "{same_visit:?}");

    // A later landing in the session is the next visit.
    let next = server
        .actions(&page_viewed(customer, session, "https://shop.test/"))
        .await;
    assert_eq!(next.len(), 1, "{next:?}");
}
