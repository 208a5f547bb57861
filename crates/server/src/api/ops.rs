//! Operator routes: liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::problem::Problem;
use crate::app::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the store takes writes and the server is not shutting down; `checkedAt` is
/// when the store's probe said so (one a second at most, however often it is asked).
pub async fn readyz(State(app): State<AppState>) -> Result<Json<Value>, Problem> {
    if app.shutdown.is_cancelled() {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "Shutting down",
            "this server is stopping",
        ));
    }
    let checked = app
        .store
        .ready()
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    Ok(Json(
        json!({ "status": "ready", "head": app.store.head(), "checkedAt": checked }),
    ))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    app.metrics.log_head.set(app.store.head() as i64);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
}
