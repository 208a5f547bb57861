//! The Genesys-shaped admin API against the real binary: the paging envelope and its URIs,
//! create / get / PATCH / delete for every collection, optimistic versions, validation naming
//! the field, unsupported media types, soft and hard deletes of templates, and tokens.

mod common;

use common::{READ_TOKEN, Server, client, content_offer_map, segment_body, template_body};
use serde_json::{Value, json};

async fn create(server: &Server, collection: &str, body: &Value) -> Value {
    let (status, created) = server
        .admin("POST", &format!("/api/v2/journey/{collection}"), Some(body))
        .await;
    assert_eq!(status, 200, "{created}");
    created
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let server = Server::start("");
    for path in [
        "/api/v2/journey/actionmaps",
        "/api/v2/journey/actiontemplates",
        "/api/v2/journey/segments",
        "/api/v2/journey/schedulegroups",
    ] {
        let url = format!("{}{path}", server.url());
        let none = client().get(&url).send().await.unwrap();
        assert_eq!(none.status(), 401, "{path}");
        let read = client()
            .get(&url)
            .bearer_auth(READ_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 403, "{path}");
        let post = client()
            .post(&url)
            .bearer_auth(READ_TOKEN)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 403, "{path}");
    }
    let (status, body) = server.admin("GET", "/api/v2/journey/outcomes", None).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (404, Some("/problems/not-found"))
    );
}

#[tokio::test]
async fn lists_are_paged_in_the_genesys_envelope() {
    let server = Server::start("");
    let (status, empty) = server.admin("GET", "/api/v2/journey/segments", None).await;
    assert_eq!(status, 200);
    assert_eq!(empty["entities"], json!([]));
    assert_eq!(
        (empty["total"].as_u64(), empty["pageCount"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(empty["pageSize"], 25);
    assert_eq!(empty["pageNumber"], 1);

    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            id(&create(&server, "segments", &segment_body(&format!("Segment {i}"))).await)
                .to_owned(),
        );
    }
    let (status, page) = server
        .admin(
            "GET",
            "/api/v2/journey/segments?pageSize=2&pageNumber=2",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let listed: Vec<&str> = page["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[3].as_str()]);
    assert_eq!(page["total"], 5);
    assert_eq!(page["pageCount"], 3);
    assert_eq!(page["pageSize"], 2);
    assert_eq!(page["pageNumber"], 2);
    assert_eq!(
        page["selfUri"],
        "/api/v2/journey/segments?pageSize=2&pageNumber=2"
    );
    assert_eq!(
        page["firstUri"],
        "/api/v2/journey/segments?pageSize=2&pageNumber=1"
    );
    assert_eq!(
        page["previousUri"],
        "/api/v2/journey/segments?pageSize=2&pageNumber=1"
    );
    assert_eq!(
        page["nextUri"],
        "/api/v2/journey/segments?pageSize=2&pageNumber=3"
    );
    assert_eq!(
        page["lastUri"],
        "/api/v2/journey/segments?pageSize=2&pageNumber=3"
    );

    // The URIs carry the rest of the query; the last page has no nextUri.
    let (_, last) = server
        .admin(
            "GET",
            "/api/v2/journey/segments?isActive=true&pageSize=2&pageNumber=3",
            None,
        )
        .await;
    assert_eq!(last["entities"].as_array().unwrap().len(), 1);
    assert!(last.get("nextUri").is_none(), "{last}");
    assert_eq!(
        last["firstUri"],
        "/api/v2/journey/segments?isActive=true&pageSize=2&pageNumber=1"
    );

    let (status, bad) = server
        .admin("GET", "/api/v2/journey/segments?pageSize=0", None)
        .await;
    assert_eq!((status, bad["field"].as_str()), (400, Some("pageSize")));
}

#[tokio::test]
async fn create_get_patch_with_versions_and_delete() {
    let server = Server::start("");
    let template = create(&server, "actiontemplates", &template_body("Spring promo")).await;
    let tid = id(&template).to_owned();
    assert_eq!(template["version"], 1);
    assert_eq!(
        template["selfUri"],
        format!("/api/v2/journey/actiontemplates/{tid}")
    );
    assert!(template["createdDate"].is_string() && template["modifiedDate"].is_string());
    assert_eq!(template["contentOffer"]["callToAction"]["target"], "Blank");

    let (status, got) = server
        .admin(
            "GET",
            &format!("/api/v2/journey/actiontemplates/{tid}"),
            None,
        )
        .await;
    assert_eq!((status, &got), (200, &template));

    // PATCH: partial body, nested objects merge; the version moves on.
    let patch = json!({ "version": 1, "contentOffer": { "title": "Summer sale" } });
    let (status, patched) = server
        .admin(
            "PATCH",
            &format!("/api/v2/journey/actiontemplates/{tid}"),
            Some(&patch),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["contentOffer"]["title"], "Summer sale");
    assert_eq!(patched["contentOffer"]["headline"], "20% off");
    assert_eq!(patched["createdDate"], template["createdDate"]);

    // A stale version is a 409 naming the current one, and changes nothing.
    let (status, stale) = server
        .admin(
            "PATCH",
            &format!("/api/v2/journey/actiontemplates/{tid}"),
            Some(&json!({ "version": 1, "name": "x" })),
        )
        .await;
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["type"], "/problems/version-conflict");
    assert_eq!(stale["currentVersion"], 2);
    let (status, missing) = server
        .admin(
            "PATCH",
            &format!("/api/v2/journey/actiontemplates/{tid}"),
            Some(&json!({ "name": "x" })),
        )
        .await;
    assert_eq!((status, missing["field"].as_str()), (422, Some("version")));

    // Every action map change makes a new version.
    let segment = create(&server, "segments", &segment_body("Desktop")).await;
    let map = create(
        &server,
        "actionmaps",
        &content_offer_map("Promo", id(&segment), &tid, "/pricing"),
    )
    .await;
    let mid = id(&map).to_owned();
    assert_eq!(map["version"], 1);
    let (status, map2) = server
        .admin(
            "PATCH",
            &format!("/api/v2/journey/actionmaps/{mid}"),
            Some(&json!({ "version": 1, "weight": 3 })),
        )
        .await;
    assert_eq!(
        (status, map2["version"].as_u64(), map2["weight"].as_u64()),
        (200, Some(2), Some(3))
    );

    // A template a map uses cannot be deleted; once the map is gone it is soft-deleted.
    let (status, in_use) = server
        .admin(
            "DELETE",
            &format!("/api/v2/journey/actiontemplates/{tid}"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{in_use}");
    assert_eq!(in_use["type"], "/problems/in-use");
    assert_eq!(in_use["usedBy"], json!([mid]));
    let (status, _) = server
        .admin("DELETE", &format!("/api/v2/journey/actionmaps/{mid}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .admin("GET", &format!("/api/v2/journey/actionmaps/{mid}"), None)
        .await;
    assert_eq!(status, 404);

    let (status, _) = server
        .admin(
            "DELETE",
            &format!("/api/v2/journey/actiontemplates/{tid}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, soft) = server
        .admin(
            "GET",
            &format!("/api/v2/journey/actiontemplates/{tid}"),
            None,
        )
        .await;
    assert_eq!(
        (soft["state"].as_str(), soft["version"].as_u64()),
        (Some("Deleted"), Some(3))
    );
    let (_, deleted) = server
        .admin("GET", "/api/v2/journey/actiontemplates?state=Deleted", None)
        .await;
    assert_eq!(deleted["total"], 1);
    let (_, active) = server
        .admin("GET", "/api/v2/journey/actiontemplates?state=Active", None)
        .await;
    assert_eq!(active["total"], 0);

    // A map may not name a deleted template.
    let (status, refused) = server
        .admin(
            "POST",
            "/api/v2/journey/actionmaps",
            Some(&content_offer_map("Again", id(&segment), &tid, "/x")),
        )
        .await;
    assert_eq!(
        (status, refused["field"].as_str()),
        (422, Some("action.actionTemplate.id")),
        "{refused}"
    );

    let (status, _) = server
        .admin(
            "DELETE",
            &format!("/api/v2/journey/actiontemplates/{tid}?hardDelete=true"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .admin(
            "GET",
            &format!("/api/v2/journey/actiontemplates/{tid}"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Segments are deleted for good.
    let sid = id(&segment);
    let (status, _) = server
        .admin("DELETE", &format!("/api/v2/journey/segments/{sid}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .admin("DELETE", &format!("/api/v2/journey/segments/{sid}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn changes_survive_a_restart() {
    let mut server = Server::start("");
    let segment = create(&server, "segments", &segment_body("Desktop")).await;
    let sid = id(&segment).to_owned();
    server
        .admin(
            "PATCH",
            &format!("/api/v2/journey/segments/{sid}"),
            Some(&json!({ "version": 1, "displayName": "Desktops" })),
        )
        .await;
    server.restart();
    let (status, got) = server
        .admin("GET", &format!("/api/v2/journey/segments/{sid}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (got["displayName"].as_str(), got["version"].as_u64()),
        (Some("Desktops"), Some(2))
    );
}

#[tokio::test]
async fn references_and_rules_are_checked_naming_the_field() {
    let server = Server::start("");
    let template = create(&server, "actiontemplates", &template_body("Promo")).await;
    let missing_segment = "9a0e9a0e-2222-4b4b-8c8c-000000000002";
    let body = content_offer_map("Promo", missing_segment, id(&template), "/pricing");
    let (status, p) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&body))
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["type"], "/problems/invalid-body");
    assert_eq!(p["field"], "triggerWithSegments[0]");
    assert!(
        p["detail"].as_str().unwrap().contains(missing_segment),
        "{p}"
    );

    // Several errors: `field` is the first, `errors` lists them all.
    let segment = create(&server, "segments", &segment_body("Desktop")).await;
    let mut body = content_offer_map(
        "Promo",
        id(&segment),
        "5f1c2c8e-1111-4a3b-9c1d-000000000001",
        "/pricing",
    );
    body["weight"] = json!(7);
    let (status, p) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&body))
        .await;
    assert_eq!(status, 422, "{p}");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"weight") && fields.contains(&"action.actionTemplate.id"),
        "{p}"
    );
    assert!(p["errors"][0]["reason"].is_string());

    // Unknown schedule group; then a real one.
    let mut body = content_offer_map("Hours", id(&segment), id(&template), "/pricing");
    body["actionMapScheduleGroups"] =
        json!({ "actionMapScheduleGroup": { "id": missing_segment } });
    let (status, p) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&body))
        .await;
    assert_eq!(
        (status, p["field"].as_str()),
        (
            422,
            Some("actionMapScheduleGroups.actionMapScheduleGroup.id")
        )
    );
    let group = create(&server, "schedulegroups", &json!({
        "name": "Office hours", "timeZone": "Europe/Paris",
        "openHours": [ { "days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:30" } ]
    }))
    .await;
    assert_eq!(group["version"], 1);
    assert_eq!(
        group["selfUri"],
        format!("/api/v2/journey/schedulegroups/{}", id(&group))
    );
    body["actionMapScheduleGroups"] = json!({ "actionMapScheduleGroup": { "id": id(&group) } });
    let map = create(&server, "actionmaps", &body).await;
    let (status, p) = server
        .admin(
            "DELETE",
            &format!("/api/v2/journey/schedulegroups/{}", id(&group)),
            None,
        )
        .await;
    assert_eq!((status, &p["usedBy"]), (409, &json!([id(&map)])));
    let (status, p) = server
        .admin(
            "POST",
            "/api/v2/journey/schedulegroups",
            Some(&json!({ "name": "x", "timeZone": "Mars/Olympus" })),
        )
        .await;
    assert_eq!((status, p["field"].as_str()), (422, Some("timeZone")));

    // A wrong shape names its path too.
    let (status, p) = server
        .admin(
            "POST",
            "/api/v2/journey/segments",
            Some(&json!({ "displayName": "x", "context": { "patterns": "all" } })),
        )
        .await;
    assert_eq!(
        (status, p["field"].as_str()),
        (422, Some("context.patterns")),
        "{p}"
    );

    // A segment a map triggers on cannot be deleted.
    let (status, p) = server
        .admin(
            "DELETE",
            &format!("/api/v2/journey/segments/{}", id(&segment)),
            None,
        )
        .await;
    assert_eq!(
        (status, p["type"].as_str()),
        (409, Some("/problems/in-use"))
    );

    // An id given at creation is kept (exports keep their references); twice is a 409.
    let given = "0b6f8a52-3c1d-4e2f-9a8b-7c6d5e4f3a21";
    let mut body = segment_body("Given");
    body["id"] = json!(given);
    assert_eq!(id(&create(&server, "segments", &body).await), given);
    let (status, p) = server
        .admin("POST", "/api/v2/journey/segments", Some(&body))
        .await;
    assert_eq!(
        (status, p["type"].as_str()),
        (409, Some("/problems/already-exists"))
    );
}

/// A `javascript:` link or image would be saved and then fail on every page as an `errored`
/// offer (the SDK draws only http(s) URLs): it is refused when the template is saved.
#[tokio::test]
async fn content_offer_urls_must_be_http_or_https() {
    let server = Server::start("");
    let before = server.admin_get("/api/v2/journey/actiontemplates").await;
    for (key, field) in [
        ("url", "contentOffer.callToAction.url"),
        ("imageUrl", "contentOffer.imageUrl"),
    ] {
        let mut body = template_body("Promo");
        let offer = &mut body["contentOffer"];
        match key {
            "url" => offer["callToAction"]["url"] = json!("javascript:alert(document.cookie)"),
            _ => offer["imageUrl"] = json!("javascript:alert(document.cookie)"),
        }
        let (status, p) = server
            .admin("POST", "/api/v2/journey/actiontemplates", Some(&body))
            .await;
        assert_eq!(status, 422, "{p}");
        assert_eq!(p["type"], "/problems/invalid-body", "{p}");
        assert_eq!(p["field"], field, "{p}");
        assert!(
            p["detail"].as_str().unwrap().contains("http or https"),
            "{p}"
        );
    }
    assert_eq!(
        server.admin_get("/api/v2/journey/actiontemplates").await,
        before,
        "nothing saved"
    );
    // Nor can a saved template be changed to one.
    let template = create(&server, "actiontemplates", &template_body("Promo")).await;
    let path = format!("/api/v2/journey/actiontemplates/{}", id(&template));
    let patch = json!({ "version": 1, "contentOffer": { "imageUrl": "data:text/html,<b>x</b>" } });
    let (status, p) = server.admin("PATCH", &path, Some(&patch)).await;
    assert_eq!(
        (status, p["field"].as_str()),
        (422, Some("contentOffer.imageUrl")),
        "{p}"
    );
    assert_eq!(server.admin_get(&path).await, (200, template));
}

#[tokio::test]
async fn unsupported_media_types_are_refused_by_name() {
    let server = Server::start("");
    let segment = create(&server, "segments", &segment_body("Desktop")).await;
    let map = json!({
        "displayName": "Messaging",
        "triggerWithSegments": [id(&segment)],
        "action": { "mediaType": "webMessagingOffer", "webMessagingOfferFields": { "offerText": "Hi" } }
    });
    let (status, p) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&map))
        .await;
    assert_eq!(
        (status, p["field"].as_str()),
        (422, Some("action.mediaType")),
        "{p}"
    );
    assert!(
        p["detail"].as_str().unwrap().contains("webMessagingOffer"),
        "{p}"
    );

    let mut template = template_body("Flow");
    template["mediaType"] = json!("architectFlow");
    let (status, p) = server
        .admin("POST", "/api/v2/journey/actiontemplates", Some(&template))
        .await;
    assert_eq!(
        (status, p["field"].as_str()),
        (422, Some("mediaType")),
        "{p}"
    );
    assert!(
        p["detail"].as_str().unwrap().contains("architectFlow"),
        "{p}"
    );

    // Bodies that are not JSON objects.
    let url = format!("{}/api/v2/journey/segments", server.url());
    let r = client()
        .post(&url)
        .bearer_auth(server.admin_token())
        .header("content-type", "text/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = client()
        .post(&url)
        .bearer_auth(server.admin_token())
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
