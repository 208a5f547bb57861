//! `GET /api/openapi.json` (no auth): the OpenAPI 3.1 document of every route.
//!
//! The document is `crates/server/openapi.json`, with `components.schemas.ActionEvent` filled in
//! from `schema/action-event.schema.json` (the one schema of the event object). `tests/openapi.rs`
//! checks it against the router: every registered route and method is documented, and every
//! documented one is served.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;

/// The document as served, built once.
static DOCUMENT: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut document: Value =
        serde_json::from_str(include_str!("../../openapi.json")).expect("openapi.json is JSON");
    document["components"]["schemas"]["ActionEvent"] =
        serde_json::from_str(include_str!("../../../../schema/action-event.schema.json"))
            .expect("the event schema is JSON");
    serde_json::to_vec(&document).expect("JSON serializes")
});

/// `GET /api/openapi.json`
pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_slice(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_openapi_3_1_with_the_event_schema() {
        let document: serde_json::Value = serde_json::from_slice(&super::DOCUMENT).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(
            document["components"]["schemas"]["ActionEvent"]["title"],
            "Beckon web action event"
        );
    }
}
