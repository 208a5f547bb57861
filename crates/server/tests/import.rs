//! Configuration from files: `beckon import` of a Genesys export into a running server, and a
//! provisioning directory loaded at start.

mod common;

use std::process::Command;

use common::{ADMIN_TOKEN, DEPLOYMENT, Server};
use serde_json::{Value, json};

const SEGMENT: &str = "9a0e9a0e-2222-4b4b-8c8c-000000000002";
const TEMPLATE: &str = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98";
const MAP: &str = "5f1c2c8e-1111-4a3b-9c1d-000000000001";
const MESSAGING_MAP: &str = "5f1c2c8e-1111-4a3b-9c1d-000000000003";

/// An export as Genesys returns the objects (reference sections 2.5, 3, 4): server fields,
/// fields Beckon keeps without running them, and one map of a media type Beckon does not run.
fn export() -> Value {
    json!({
        "segments": [{
            "id": SEGMENT, "isActive": true, "displayName": "Desktop visitors on pricing",
            "version": 4, "description": "Desktop, pricing page seen", "color": "#008000",
            "scope": "Session", "shouldDisplayToAgent": true,
            "context": { "patterns": [ { "criteria": [
                { "key": "device.category", "values": ["desktop"], "shouldIgnoreCase": true,
                  "operator": "equal", "entityType": "visit" } ] } ] },
            "journey": { "patterns": [ {
                "criteria": [ { "key": "page.url", "values": ["/pricing"], "shouldIgnoreCase": true,
                                "operator": "containsAny" } ],
                "count": 1, "streamType": "Web", "sessionType": "web", "eventName": "page_viewed" } ] },
            "assignmentExpirationDays": 30,
            "selfUri": format!("/api/v2/journey/segments/{SEGMENT}"),
            "createdDate": "2024-05-01T12:00:00.000Z", "modifiedDate": "2024-05-02T08:30:00.000Z"
        }],
        "actionTemplates": [{
            "id": TEMPLATE, "name": "Spring promo", "description": "Toast with CTA", "version": 2,
            "mediaType": "contentOffer", "state": "Active",
            "contentOffer": {
                "imageUrl": "https://example.com/promo.png", "imageAltText": "Promo",
                "displayMode": "Toast", "layoutMode": "LeftText",
                "title": "Spring sale", "headline": "20% off", "body": "Today only.",
                "callToAction": { "text": "Shop now", "url": "https://example.com/sale", "target": "Blank" },
                "style": {
                    "position": { "bottom": "10px", "right": "10px" },
                    "offer": { "padding": "10px", "color": "#000000", "backgroundColor": "#FFFFFF" },
                    "closeButton": { "color": "#000000", "opacity": 0.8 },
                    "ctaButton": { "color": "#FFFFFF", "font": "Helvetica", "fontSize": "12", "textAlign": "Center", "backgroundColor": "#FF0000" },
                    "title": { "color": "#000000", "font": "Helvetica", "fontSize": "16", "textAlign": "Left" },
                    "headline": { "textAlign": "Left" }, "body": { "textAlign": "Left" }
                }
            },
            "selfUri": format!("/api/v2/journey/actiontemplates/{TEMPLATE}"),
            "createdDate": "2024-05-01T12:00:00.000Z", "modifiedDate": "2024-05-01T12:00:00.000Z"
        }],
        "actionMaps": [{
            "id": MAP, "version": 3, "isActive": true, "displayName": "Offer the promo on pricing",
            "triggerWithSegments": [SEGMENT], "triggerWithEventConditions": [],
            "pageUrlConditions": [ { "values": ["/pricing"], "operator": "containsAny" } ],
            "activation": { "type": "immediate" }, "weight": 2,
            "action": { "mediaType": "contentOffer", "isPacingEnabled": true,
                        "actionTemplate": { "id": TEMPLATE, "selfUri": format!("/api/v2/journey/actiontemplates/{TEMPLATE}") } },
            "ignoreFrequencyCap": false,
            "selfUri": format!("/api/v2/journey/actionmaps/{MAP}"),
            "createdDate": "2024-05-01T12:00:00.000Z", "modifiedDate": "2024-05-02T08:30:00.000Z",
            "startDate": "2024-05-01T12:00:00.000Z"
        }, {
            "id": MESSAGING_MAP, "version": 1, "isActive": true, "displayName": "Messaging on pricing",
            "triggerWithSegments": [SEGMENT],
            "pageUrlConditions": [ { "values": ["/pricing"], "operator": "containsAny" } ],
            "activation": { "type": "delay", "delayInSeconds": 10 }, "weight": 2,
            "action": { "mediaType": "webMessagingOffer", "isPacingEnabled": true,
                        "webMessagingOfferFields": { "offerText": "Need help choosing a plan?" } }
        }]
    })
}

fn import(server: &Server, file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args(["import", "--server", server.url(), "--token", ADMIN_TOKEN])
        .arg(file)
        .output()
        .expect("beckon import runs")
}

#[tokio::test]
async fn a_genesys_export_is_imported_keeping_ids_and_refusing_what_beckon_does_not_run() {
    let server = Server::start("");
    let file = server.dir().join("export.json");
    std::fs::write(&file, serde_json::to_string_pretty(&export()).unwrap()).unwrap();
    let out = import(&server, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "the messaging map must be refused: {stdout}"
    );
    assert!(
        stderr.contains("actionMaps[1]") && stderr.contains("webMessagingOffer"),
        "{stderr}"
    );
    assert!(
        stdout.contains("3 created, 0 updated, 1 refused"),
        "{stdout}"
    );

    let (status, map) = server
        .admin("GET", &format!("/api/v2/journey/actionmaps/{MAP}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(map["version"], 1, "a new object starts at version 1 here");
    assert_eq!(map["action"]["actionTemplate"]["id"], TEMPLATE);
    let (_, template) = server
        .admin(
            "GET",
            &format!("/api/v2/journey/actiontemplates/{TEMPLATE}"),
            None,
        )
        .await;
    assert_eq!(
        template["contentOffer"],
        export()["actionTemplates"][0]["contentOffer"]
    );

    // It works: the segment needs a pricing page view from a desktop browser.
    let actions = server
        .new_visitor_actions("https://shop.test/pricing")
        .await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["actionMapId"], MAP);

    // Importing a listing envelope updates what exists.
    let listing = json!({ "entities": export()["actionMaps"].as_array().unwrap()[..1], "pageSize": 25, "pageNumber": 1, "total": 1 });
    std::fs::write(&file, listing.to_string()).unwrap();
    let out = import(&server, &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, map) = server
        .admin("GET", &format!("/api/v2/journey/actionmaps/{MAP}"), None)
        .await;
    assert_eq!(map["version"], 2);
}

const SEGMENT_YAML: &str = r##"
id: 9a0e9a0e-2222-4b4b-8c8c-000000000002
displayName: Desktop visitors
color: "#008000"
context:
  patterns:
    - criteria:
        - key: device.category
          values: [desktop]
          shouldIgnoreCase: true
          operator: equal
          entityType: visit
"##;

#[tokio::test]
async fn a_provisioning_directory_is_loaded_at_start() {
    let template = json!({ "id": TEMPLATE, "name": "Promo", "mediaType": "contentOffer", "state": "Active",
        "contentOffer": { "displayMode": "Modal", "layoutMode": "TextOnly", "title": "Hello" } });
    let maps = json!({ "actionMaps": [ export()["actionMaps"][0].clone() ] });
    let mut server = Server::start_provisioned(
        "",
        &[
            ("segments/desktop.yaml", SEGMENT_YAML),
            ("actiontemplates/promo.json", &template.to_string()),
            ("maps.json", &maps.to_string()),
            ("README.txt", "not read"),
        ],
    );
    let (_, segments) = server.admin("GET", "/api/v2/journey/segments", None).await;
    assert_eq!(segments["total"], 1);
    assert_eq!(segments["entities"][0]["displayName"], "Desktop visitors");
    let (_, map) = server
        .admin("GET", &format!("/api/v2/journey/actionmaps/{MAP}"), None)
        .await;
    assert_eq!(map["version"], 1);
    let actions = server
        .new_visitor_actions("https://shop.test/pricing")
        .await;
    assert_eq!(actions[0]["contentOffer"]["title"], "Hello");

    // Unchanged files change nothing at the next start.
    server.restart();
    let (_, map) = server
        .admin("GET", &format!("/api/v2/journey/actionmaps/{MAP}"), None)
        .await;
    assert_eq!(map["version"], 1);
}

#[test]
fn a_bad_provisioning_file_stops_the_start_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("rules");
    std::fs::create_dir_all(files.join("segments")).unwrap();
    std::fs::write(
        files.join("segments/bad.json"),
        json!({ "id": SEGMENT, "displayName": "Bad", "color": "green",
                "context": { "patterns": [ { "criteria": [ { "key": "device.category", "values": ["desktop"] } ] } ] } })
        .to_string(),
    )
    .unwrap();
    let config = dir.path().join("beckon.toml");
    std::fs::write(
        &config,
        format!(
            "provisioning_dir = \"{}\"\ndata_dir = \"{}\"\nadmin_token = \"t\"\nlisten = \"127.0.0.1:0\"\n\
             [[deployments]]\nid = \"{DEPLOYMENT}\"\nname = \"x\"\nallowed_origins = [\"http://shop.test\"]\n",
            files.display(),
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("BECKON_ADMIN_TOKEN")
        .env_remove("BECKON_PROVISIONING_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("segments/bad.json") && stderr.contains("color"),
        "{stderr}"
    );
}
