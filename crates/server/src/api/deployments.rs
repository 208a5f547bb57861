//! `GET /api/v1/deployments`: the deployments this server runs and their settings, as
//! configured (admin token), so an operator can see what a page is held to.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::auth::Access;
use super::problem::Problem;
use crate::app::AppState;

/// Lists the deployments, ordered by name.
pub async fn list(State(app): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, Access::Admin)?;
    let mut deployments: Vec<_> = app.deployments.values().collect();
    deployments.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(Json(
        json!({ "entities": deployments, "total": deployments.len() }),
    ))
}
