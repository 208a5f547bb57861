//! Geolocation criteria end to end against the real binary: a segment on `geolocation.*`
//! matches a page view whose request carries the location in the headers the configuration
//! trusts, or whose client address the configured GeoIP database places (the fixture
//! `testdata/geoip/beckon-test-city.mmdb` puts loopback in Amsterdam and 192.0.2.0/24 in
//! Munich), and only then.

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
    place_offer(server, "Munich", "de", &["münchen", "munich"], "80").await
}

/// A content offer for visitors from Amsterdam (postal codes 10...), in the Netherlands.
async fn amsterdam_offer(server: &Server) -> String {
    place_offer(server, "Amsterdam", "nl", &["amsterdam"], "10").await
}

/// A content offer for visitors from `country` (any case), in one of `localities`, with a postal
/// code starting with `postal`; answers the action map's id.
async fn place_offer(
    server: &Server,
    name: &str,
    country: &str,
    localities: &[&str],
    postal: &str,
) -> String {
    let segment = json!({
        "displayName": name, "isActive": true, "scope": "Session",
        "context": { "patterns": [ { "criteria": [
            { "key": "geolocation.country", "values": [country], "shouldIgnoreCase": true,
              "operator": "equal", "entityType": "visit" },
            { "key": "geolocation.locality", "values": localities, "shouldIgnoreCase": true,
              "operator": "containsAny", "entityType": "visit" },
            { "key": "geolocation.postalCode", "values": [postal], "shouldIgnoreCase": false,
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
            Some(&template_body(&format!("Welcome, {name}"))),
        )
        .await;
    let map = content_offer_map(
        &format!("{name} visitors"),
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
    page_view_through(client(), server, headers).await
}

/// [`page_view_from`] with a client of the test's choosing (connecting from another address).
async fn page_view_through(
    client: reqwest::Client,
    server: &Server,
    headers: &[(&str, &str)],
) -> Vec<Value> {
    let mut request = client
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
    check_config_refuses(
        "[geolocation]\ncountry_header = \"CF IPCountry\"\n",
        &["geolocation.country_header", "not an HTTP header"],
    );
}

/// The `[geolocation]` table naming the fixture database `name` in `testdata/geoip`, with `more`
/// keys.
fn database_config(name: &str, more: &str) -> String {
    let database = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/geoip")
        .join(name);
    format!(
        "[geolocation]\ndatabase = \"{}\"\n{more}",
        database.display()
    )
}

/// The `[geolocation]` table naming the City fixture, with `more` keys.
fn with_database(more: &str) -> String {
    database_config("beckon-test-city.mmdb", more)
}

/// The action map ids a page view's answer offers.
fn offered(actions: &[Value]) -> Vec<&str> {
    actions
        .iter()
        .map(|a| a["actionMapId"].as_str().expect("actionMapId"))
        .collect()
}

#[tokio::test]
async fn the_database_places_the_tcp_peer_and_only_the_matching_place_gets_its_offer() {
    let server = Server::start(&with_database(""));
    let amsterdam = amsterdam_offer(&server).await;
    munich_offer(&server).await;

    // The test client connects from loopback, which the fixture puts in Amsterdam.
    let actions = page_view_from(&server, &[]).await;
    assert_eq!(offered(&actions), [amsterdam.as_str()]);
    // A forwarded-for header is not honoured unless configured: still Amsterdam.
    let actions = page_view_from(&server, &[("X-Forwarded-For", "192.0.2.10")]).await;
    assert_eq!(offered(&actions), [amsterdam.as_str()]);
    // Location headers are not trusted either when none is configured.
    assert_eq!(
        offered(&page_view_from(&server, &MUNICH).await),
        [amsterdam.as_str()]
    );
}

/// The client address header, believed from the proxy in front: this test, on 127.0.0.1.
const PROXIED: &str =
    "client_ip_header = \"X-Forwarded-For\"\n[limits]\ntrusted_proxies = [\"127.0.0.1\"]\n";

#[tokio::test]
async fn behind_a_trusted_proxy_the_address_it_saw_is_looked_up_not_what_the_visitor_wrote() {
    let server = Server::start(&with_database(PROXIED));
    let amsterdam = amsterdam_offer(&server).await;
    let munich = munich_offer(&server).await;

    // The proxy appended the visitor's address; a second proxy (trusted too) its own.
    for forwarded in ["192.0.2.10", "192.0.2.10, 127.0.0.1"] {
        assert_eq!(
            offered(&page_view_from(&server, &[("X-Forwarded-For", forwarded)]).await),
            [munich.as_str()],
            "{forwarded}"
        );
    }
    // A visitor in San Francisco who wrote a Munich address first: the proxy appended the real
    // one, which is looked up (neither offer), not the one the visitor chose.
    let forged = [("X-Forwarded-For", "192.0.2.10, 198.51.100.20")];
    assert!(page_view_from(&server, &forged).await.is_empty());
    // A peer that is not a trusted proxy is looked up itself (loopback, Amsterdam).
    let direct = common::client_from([127, 0, 0, 2].into());
    assert_eq!(
        offered(&page_view_through(direct, &server, &[("X-Forwarded-For", "192.0.2.10")]).await),
        [amsterdam.as_str()]
    );
    // Without the header the TCP peer (loopback, Amsterdam) is looked up.
    assert_eq!(
        offered(&page_view_from(&server, &[]).await),
        [amsterdam.as_str()]
    );
}

#[tokio::test]
async fn without_a_database_the_same_requests_match_no_place() {
    let server = Server::start(&format!("[geolocation]\n{PROXIED}"));
    amsterdam_offer(&server).await;
    munich_offer(&server).await;
    assert!(page_view_from(&server, &[]).await.is_empty());
    let from_munich = [("X-Forwarded-For", "192.0.2.10")];
    assert!(page_view_from(&server, &from_munich).await.is_empty());
}

#[tokio::test]
async fn a_configured_header_that_is_present_wins_over_the_database_for_its_key() {
    let server = Server::start(&with_database(
        "country_header = \"CF-IPCountry\"\ncity_header = \"X-Geo-City\"\n\
         postal_code_header = \"X-Geo-Postal\"\n",
    ));
    let amsterdam = amsterdam_offer(&server).await;
    let munich = munich_offer(&server).await;

    // All three keys told by the proxy: Munich, although loopback is Amsterdam in the database.
    assert_eq!(
        offered(&page_view_from(&server, &MUNICH).await),
        [munich.as_str()]
    );
    // Only the city told: the database's country and postal code stay, and Haarlem is not
    // Amsterdam.
    assert!(
        page_view_from(&server, &[("X-Geo-City", "Haarlem")])
            .await
            .is_empty()
    );
    // A header that is absent or blank leaves the database's value.
    assert_eq!(
        offered(&page_view_from(&server, &[("X-Geo-City", " ")]).await),
        [amsterdam.as_str()]
    );
}

/// Runs `beckon <args> FILE` to its end, FILE holding `toml`.
fn beckon_with_config(args: &[&str], toml: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("beckon.toml");
    std::fs::write(&path, toml).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args(args)
        .arg(&path)
        .output()
        .unwrap()
}

fn check_config(toml: &str) -> std::process::Output {
    beckon_with_config(&["check-config"], toml)
}

/// `beckon check-config` fails on `toml` with an error saying each of `says`.
fn check_config_refuses(toml: &str, says: &[&str]) {
    let out = check_config(toml);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(says.iter().all(|s| stderr.contains(s)), "{stderr}");
}

#[test]
fn check_config_opens_the_database_and_refuses_a_missing_or_wrong_one_by_its_path() {
    let out = check_config(&with_database(PROXIED));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    check_config_refuses(
        "[geolocation]\ndatabase = \"/nowhere/GeoLite2-City.mmdb\"\n",
        &["geolocation.database", "/nowhere/GeoLite2-City.mmdb"],
    );
    check_config_refuses(
        &database_config("beckon-test-asn.mmdb", ""),
        &["beckon-test-asn.mmdb", "not a City or Country"],
    );
    check_config_refuses(
        "[geolocation]\nclient_ip_header = \"X Forwarded For\"\n",
        &["geolocation.client_ip_header", "not an HTTP header"],
    );
    // Believed from no one, the header would let a visitor choose where they are.
    check_config_refuses(
        "[geolocation]\nclient_ip_header = \"X-Forwarded-For\"\n",
        &["geolocation.client_ip_header needs limits.trusted_proxies"],
    );
}

#[test]
fn the_server_does_not_start_with_a_database_it_cannot_open() {
    let data = tempfile::tempdir().unwrap();
    let out = beckon_with_config(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.path().to_str().unwrap(),
            "--config",
        ],
        "[geolocation]\ndatabase = \"/nowhere/city.mmdb\"\n",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nowhere/city.mmdb"), "{stderr}");
}
