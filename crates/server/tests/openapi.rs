//! The OpenAPI document against the real router: every route registered in `src/` (read from
//! the source, see `common/routes.rs`) is documented with the same methods, and every documented
//! path and method is served by the binary (not the 404 fallback, not 405).

mod common;

use std::collections::BTreeMap;

use common::routes::{concrete, routes};
use common::{Server, client};
use serde_json::Value;

const METHODS: [&str; 6] = ["get", "post", "put", "patch", "delete", "options"];

/// A path with its parameter names blanked: `/a/{deployment_id}` and `/a/{deploymentId}` agree.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

async fn document(server: &Server) -> Value {
    let r = client()
        .get(format!("{}/api/openapi.json", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "served without a token");
    assert_eq!(r.headers()["content-type"], "application/json");
    r.json().await.unwrap()
}

/// (path shape, METHOD) → the documented path, for everything the document lists.
fn documented(doc: &Value) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((shape(path), method.to_uppercase()), path.clone());
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let server = Server::start("");
    let doc = document(&server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented(&doc);
    let registered: BTreeMap<(String, String), String> = routes()
        .into_iter()
        .flat_map(|(path, methods)| {
            methods
                .into_iter()
                .map(move |m| ((shape(&path), m.to_owned()), path.clone()))
        })
        .collect();
    assert!(
        registered.len() >= 30,
        "too few routes found: {registered:?}"
    );

    let mut missing = Vec::new();
    for ((path, method), written) in &registered {
        if !documented.contains_key(&(path.clone(), method.clone())) {
            missing.push(format!(
                "{method} {written}: registered in crates/server/src but not in \
                 crates/server/openapi.json; add paths[\"{written}\"].{} (camelCase parameter \
                 names, as in docs/api.md), and a row in docs/api.md",
                method.to_lowercase()
            ));
        }
    }
    for ((path, method), written) in &documented {
        if !registered.contains_key(&(path.clone(), method.clone())) {
            missing.push(format!(
                "{method} {written}: documented in crates/server/openapi.json but no `.route(` in \
                 crates/server/src registers it; remove it or register the route"
            ));
        }
    }
    assert!(missing.is_empty(), "\n{}\n", missing.join("\n"));

    // Each documented route is served: not the fallback's 404, not a 405.
    let http = client();
    for ((_, method), path) in &documented {
        let url = format!("{}{}", server.url(), concrete(path));
        let r = http
            .request(method.parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{method} {path} is documented but not allowed");
        assert!(
            !(status == 404 && body["detail"] == "no route has this path"),
            "{method} {path} is documented but the router has no such route"
        );
    }
    // The check can tell: an unknown path falls through to the fallback.
    let (status, body) = server.admin_get("/api/v1/nothing-here").await;
    assert_eq!(
        (status, &body["detail"]),
        (404, &"no route has this path".into())
    );
}

#[tokio::test]
async fn the_event_schema_is_the_repository_schema_and_references_resolve() {
    let server = Server::start("");
    let doc = document(&server).await;
    let schema: Value =
        serde_json::from_str(include_str!("../../../schema/action-event.schema.json")).unwrap();
    assert_eq!(doc["components"]["schemas"]["ActionEvent"], schema);
    // Every local reference points at something in the document.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = &part[..part.find('"').unwrap()];
        if pointer.starts_with("$defs/") {
            continue; // inside the event schema, relative to its own $id
        }
        assert!(
            doc.pointer(&format!("/{pointer}")).is_some(),
            "#/{pointer} is referenced but not defined"
        );
    }
}
