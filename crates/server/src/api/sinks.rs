//! Admin routes for sinks: status and dead letters.

use axum::Router;

use crate::app::AppState;

/// The sink admin routes (none yet).
pub fn routes() -> Router<AppState> {
    Router::new()
}
