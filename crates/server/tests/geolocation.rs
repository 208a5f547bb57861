//! Geolocation criteria end to end against the real binary: a segment on `geolocation.*`
//! matches a page view whose request carries the location in the headers the configuration
//! trusts, and only then.

mod common;

use common::{ORIGIN, Server, client, content_offer_map, page_viewed, template_body};
use serde_json::{Value, json};
use uuid::Uuid;

const TRUSTED: &str = r#"
[geolocation]
country_header = "CF-IPCountry"
city_header = "X-Geo-City"
postal_code_header = "X-Geo-Postal"
"#;

/// A content offer for visitors from Munich (postal codes 80...), in Germany.
async fn munich_offer(server: &Server) -> String {
    let segment = json!({
        "displayName": "Munich", "isActive": true, "scope": "Session",
        "context": { "patterns": [ { "criteria": [
            { "key": "geolocation.country", "values": ["de"], "shouldIgnoreCase": true,
              "operator": "equal", "entityType": "visit" },
            { "key": "geolocation.locality", "values": ["münchen", "munich"], "shouldIgnoreCase": true,
              "operator": "containsAny", "entityType": "visit" },
            { "key": "geolocation.postalCode", "values": ["80"], "shouldIgnoreCase": false,
              "operator": "startsWith", "entityType": "visit" }
        ] } ] },
        "journey": { "patterns": [] }
    });
    let (status, segment) = server
        .admin("POST", "/api/v2/journey/segments", Some(&segment))
        .await;
    assert_eq!(status, 200, "{segment}");
    let (_, template) = server
        .admin(
            "POST",
            "/api/v2/journey/actiontemplates",
            Some(&template_body("Oktoberfest")),
        )
        .await;
    let map = content_offer_map(
        "Munich visitors",
        segment["id"].as_str().unwrap(),
        template["id"].as_str().unwrap(),
        "/",
    );
    let (status, map) = server
        .admin("POST", "/api/v2/journey/actionmaps", Some(&map))
        .await;
    assert_eq!(status, 200, "{map}");
    map["id"].as_str().unwrap().to_owned()
}

async fn page_view_from(server: &Server, headers: &[(&str, &str)]) -> Vec<Value> {
    let mut request = client()
        .post(server.ingest_url("web-events"))
        .header("origin", ORIGIN)
        .json(&page_viewed(
            Uuid::new_v4(),
            Uuid::new_v4(),
            "https://shop.test/",
        ));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["actions"].as_array().expect("actions").clone()
}

const MUNICH: [(&str, &str); 3] = [
    ("CF-IPCountry", "DE"),
    ("X-Geo-City", "München"),
    ("X-Geo-Postal", "80331"),
];

#[tokio::test]
async fn the_trusted_headers_place_the_visitor_and_the_geo_segment_gets_its_offer() {
    let server = Server::start(TRUSTED);
    let map = munich_offer(&server).await;

    let actions = page_view_from(&server, &MUNICH).await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["actionMapId"], map.as_str());

    // Elsewhere, or with part of the location missing, the segment does not match.
    let hamburg = [
        ("CF-IPCountry", "DE"),
        ("X-Geo-City", "Hamburg"),
        ("X-Geo-Postal", "20095"),
    ];
    assert!(page_view_from(&server, &hamburg).await.is_empty());
    assert!(page_view_from(&server, &MUNICH[..2]).await.is_empty());
    assert!(page_view_from(&server, &[]).await.is_empty());
    assert_eq!(
        server.log("&topic=contentoffer:qualified").await.len(),
        1,
        "only the Munich visitor qualified"
    );
}

#[tokio::test]
async fn location_headers_are_ignored_unless_the_configuration_trusts_them() {
    let server = Server::start("");
    munich_offer(&server).await;
    assert!(page_view_from(&server, &MUNICH).await.is_empty());
    // The Genesys ipAddress field of the body is not used either.
    let mut event = page_viewed(Uuid::new_v4(), Uuid::new_v4(), "https://shop.test/");
    event["ipAddress"] = json!("81.169.145.1");
    let r = server.post("web-events", &event).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["actions"], json!([]));
}

#[test]
fn a_header_name_that_is_not_one_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("beckon.toml");
    std::fs::write(&path, "[geolocation]\ncountry_header = \"CF IPCountry\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_beckon"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("geolocation.country_header") && stderr.contains("not an HTTP header"),
        "{stderr}"
    );
}
