//! The HTTP surface (spec section 9): routes, guards and the problem documents every error uses.

pub mod agents;
pub mod auth;
pub mod chat;
pub mod console;
pub mod dashboard;
pub mod demo;
pub mod deployments;
pub mod extract;
pub mod ingest;
pub mod journey;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod problem;
pub mod reports;
pub mod sdk;
pub mod sign_ins;
pub mod sinks;
pub mod stream;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};

/// The admin API's collections (`actionmaps`, `actiontemplates`, `segments`, `schedulegroups`).
const JOURNEY: &str = "/api/v2/journey/{collection}";
const JOURNEY_ONE: &str = "/api/v2/journey/{collection}/{id}";
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::decisions::Occasion;
use problem::Problem;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let ingest = Router::new()
        .route(
            "/api/v1/deployments/{deployment_id}/web-events",
            post(|s, p, c, k, h, b| ingest::decide(s, p, c, k, h, b, Occasion::Events))
                .options(ingest::preflight),
        )
        .route(
            "/api/v1/deployments/{deployment_id}/decisions",
            post(|s, p, c, k, h, b| ingest::decide(s, p, c, k, h, b, Occasion::Recheck))
                .options(ingest::preflight),
        )
        .route(
            "/api/v1/deployments/{deployment_id}/action-events",
            post(ingest::action_events).options(ingest::preflight),
        )
        .route(
            "/api/v1/deployments/{deployment_id}/conversations",
            post(chat::create).options(chat::preflight),
        )
        .route(
            "/api/v1/deployments/{deployment_id}/conversations/{conversation_id}",
            get(chat::get_one).options(chat::preflight),
        )
        .route(
            "/api/v1/deployments/{deployment_id}/conversations/{conversation_id}/end",
            post(chat::end).options(chat::preflight),
        )
        .route(
            "/api/v1/deployments/{deployment_id}/conversations/{conversation_id}/ws",
            get(chat::socket),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), ingest::guard))
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes));
    Router::new()
        .merge(agent_routes())
        .route("/api/v1/deployments", get(deployments::list))
        .route("/api/v1/events", get(stream::page))
        .route("/api/v1/events/stream", get(stream::live))
        .merge(reports::routes())
        .route("/api/openapi.json", get(openapi::document))
        .route(JOURNEY, get(journey::list).post(journey::create))
        .route(
            JOURNEY_ONE,
            get(journey::get_one)
                .patch(journey::patch)
                .delete(journey::delete),
        )
        .route("/sdk/v1/{file}", get(sdk::file))
        .merge(ui_routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        // Merged after the time limit: the ingestion routes take theirs inside their guard (see
        // `ingest::guard`), so that their 408 carries CORS headers as their other answers do;
        // the sink routes take none, since a replay lasts as long as its deliveries (and they
        // read no body a slow client could drag out).
        .merge(ingest)
        .merge(sinks::routes())
        .fallback(|| async { Problem::not_found("no route has this path") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this path does not take this method",
            )
        })
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of one request: its method and path, never its query, which can hold a token (the
/// chat sockets' `?access_token=`).
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        version = ?request.version(),
    )
}

/// Agent accounts (admin), sign-in, the console's routes and its page.
fn agent_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/agents", get(agents::list).post(agents::create))
        .route("/api/v1/agents/{id}", delete(agents::delete))
        .route("/api/v1/agent/sessions", post(agents::sign_in))
        .route("/api/v1/agent/sessions/current", delete(agents::sign_out))
        .route("/api/v1/agent/me", get(agents::me))
        .route("/api/v1/agent/presence", put(agents::presence))
        .route("/api/v1/agent/queue", get(agents::queue))
        .route("/api/v1/agent/queue/accept", post(agents::accept))
        .route("/api/v1/agent/conversations", get(agents::mine))
        .route("/api/v1/agent/conversations/{id}", get(agents::get_one))
        .route("/api/v1/agent/conversations/{id}/end", post(agents::end))
        .route("/api/v1/agent/ws", get(agents::socket))
        .route("/console", get(console::page))
        .route("/console/{file}", get(console::file))
}

/// The dashboard and the demo site (the console is with the agent routes).
fn ui_routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/{file}", get(dashboard::file))
        .route("/demo", get(demo::root))
        .route("/demo/", get(demo::home))
        .route("/demo/{page}", get(demo::page))
}

/// Cuts off a request (reading its body included) that takes longer than the configured time.
async fn time_limit(State(app): State<AppState>, request: Request, next: Next) -> Response {
    within_time_limit(&app, request, next).await
}

/// Set by a handler once the store has queued its records (the writer will commit them): from
/// then on the request gets the store's answer however long it takes, not a 408. Before that
/// (a full queue behind a busy writer included) the time limit holds. A 408 tells the client
/// that nothing was stored, so it sends the records again: web events, which the server
/// numbers, would then be stored twice.
#[derive(Clone, Default)]
pub struct Committing(Arc<AtomicBool>);

impl Committing {
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn started(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The response, or a 408 problem if it takes longer than the configured time and the store
/// has not queued its handler's records ([`Committing`], an extension of the request).
pub(crate) async fn within_time_limit(
    app: &AppState,
    mut request: Request,
    next: Next,
) -> Response {
    let committing = Committing::default();
    request.extensions_mut().insert(committing.clone());
    let limit = Duration::from_secs(app.config.limits.request_timeout_secs);
    limited(limit, &committing, next.run(request)).await
}

async fn limited(
    limit: Duration,
    committing: &Committing,
    response: impl Future<Output = Response>,
) -> Response {
    let mut response = std::pin::pin!(response);
    match tokio::time::timeout(limit, &mut response).await {
        Ok(response) => response,
        Err(_) if committing.started() => response.await,
        Err(_) => Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "The request took too long",
            format!("requests must complete within {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_handed_to_the_store_gets_its_answer_past_the_time_limit() {
        let limit = Duration::from_millis(20);
        let committing = Committing::default();
        let slow_commit = async {
            committing.start();
            tokio::time::sleep(limit * 5).await;
            StatusCode::OK.into_response()
        };
        assert_eq!(
            limited(limit, &committing, slow_commit).await.status(),
            StatusCode::OK
        );

        let waiting = Committing::default();
        let never = std::future::pending::<Response>();
        assert_eq!(
            limited(limit, &waiting, never).await.status(),
            StatusCode::REQUEST_TIMEOUT
        );
    }
}
