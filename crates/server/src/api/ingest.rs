//! The public ingestion routes the SDK calls: web events and action events (spec section 9), and
//! the decision a page asks for again when an activation delay ends.
//!
//! All are guarded by [`guard`]: the deployment must exist, the page's `Origin` must be one of
//! its allowed origins (for CORS preflights too), each client address is held to its request
//! rate, and a request is held to its time limit (so that a 408 carries CORS headers too).
//! Bodies are one object or an array, as `application/json` or as the `text/plain` that
//! `navigator.sendBeacon` sends.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use beckon_core::event::WireEvent;
use beckon_core::{ActionEvent, State as ActionState, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Committing;
use super::problem::Problem;
use crate::app::AppState;
use crate::decisions::Occasion;
use crate::ingest::WebEventRequest;
use crate::metrics::Metrics;
use crate::store::{CommitError, Item, Outcome, Submission};

/// Deployment, origin, CORS and rate checks for every ingestion request.
pub async fn guard(
    State(app): State<AppState>,
    super::extract::Path(params): super::extract::Path<Vec<(String, String)>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let counted = |p: Problem| {
        app.metrics
            .refused
            .get_or_create(&Metrics::kind(&p.kind))
            .inc();
        p.into_response()
    };
    let refusal = |p: Problem| with_cors(counted(p), origin.as_ref());
    let deployment = params
        .iter()
        .find(|(k, _)| k == "deployment_id")
        .and_then(|(_, v)| v.parse::<Uuid>().ok())
        .and_then(|id| app.deployments.get(&id));
    // With CORS headers, so that the page can read it: the SDK drops a batch refused with a 4xx
    // it can read and says why, but retries a status it cannot see, forever for a mistyped id.
    // Deployment ids are no secret (every page's snippet carries one).
    let Some(deployment) = deployment else {
        return refusal(Problem::not_found("no deployment has this id").field("deploymentId"));
    };
    let allowed = origin
        .as_ref()
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| {
            deployment
                .allowed_origins
                .iter()
                .any(|a| a.as_str().eq_ignore_ascii_case(o))
        });
    if !allowed {
        let detail = match &origin {
            None => "requests must carry an Origin header naming one of the deployment's allowed origins".to_owned(),
            Some(o) => format!(
                "origin {} is not allowed for deployment {}",
                o.to_str().unwrap_or("(unreadable)"),
                deployment.id
            ),
        };
        let p = Problem::new(
            StatusCode::FORBIDDEN,
            "origin-not-allowed",
            "Origin not allowed",
            detail,
        );
        // A refused origin gets no CORS headers: the browser must not read anything.
        return counted(p);
    }
    // Preflights are not counted against the client's rate: they come with the request they precede.
    let preflight = request.method() == Method::OPTIONS;
    if !preflight && let Err(refused) = app.limiter.admit(request.headers(), client.ip()) {
        return refusal(refused);
    }
    // The time limit is taken here, not outside (`api::router`), so that a 408 has CORS headers.
    let response = super::within_time_limit(&app, request, next).await;
    with_cors(response, origin.as_ref())
}

/// `OPTIONS` on an ingestion route: the CORS preflight (the guard has checked the origin).
pub async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

fn with_cors(mut response: Response, origin: Option<&HeaderValue>) -> Response {
    if let Some(origin) = origin {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// The events of a body, and whether the body was an array: problems name the fields of an
/// event `[i].field` in an array and `field` in a single object (see [`blame`]).
struct Batch<T> {
    events: Vec<T>,
    array: bool,
}

/// Names `path` (a JSON path inside event `i`; empty: the whole event) as the field at fault:
/// `[i].path` when the body is an array, `path` when it is one object (which, whole, has no name).
fn blame(problem: Problem, array: bool, i: usize, path: &str) -> Problem {
    match (array, path) {
        (true, "") => problem.field(format!("[{i}]")),
        (true, p) => problem.field(format!("[{i}].{p}")),
        (false, "") => problem,
        (false, p) => problem.field(p),
    }
}

/// Reads a body of one object or an array of them, within the configured bounds.
fn parse_batch<T: DeserializeOwned>(
    app: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Batch<T>, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json")
        && !essence.eq_ignore_ascii_case("text/plain")
    {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported content type",
            format!("send application/json (or text/plain from sendBeacon), not {content_type}"),
        ));
    }
    let body = body.map_err(|refused| super::extract::body_refused(app, refused))?;
    let syntax = |e: serde_json::Error| {
        Problem::bad_request(format!("the body is not valid JSON: {e}"))
            .with("line", e.line())
            .with("column", e.column())
    };
    let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    // Most bodies are one well-formed event: read it into its type in one pass. Anything else,
    // refused events included, takes the passes below, which name what is wrong.
    if !batch && let Ok(value) = serde_json::from_slice(&body) {
        return Ok(Batch {
            events: vec![value],
            array: false,
        });
    }
    // One pass checks the syntax and splits the batch; each item is then read into its type.
    let items: Vec<&RawValue> = if batch {
        serde_json::from_slice(&body).map_err(syntax)?
    } else {
        vec![serde_json::from_slice(&body).map_err(syntax)?]
    };
    if items.is_empty() {
        return Err(Problem::invalid("the array holds no events"));
    }
    let max = app.config.limits.max_events_per_batch;
    if items.len() > max {
        return Err(Problem::too_large(format!(
            "{} events in one batch; at most {max} are accepted",
            items.len()
        )));
    }
    let events = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            // Most items are well formed: read them plainly, and only a refused one again with
            // the path tracking that names the field at fault, which costs more.
            if let Ok(value) = serde_json::from_str(item.get()) {
                return Ok(value);
            }
            let mut json = serde_json::Deserializer::from_str(item.get());
            serde_path_to_error::deserialize(&mut json).map_err(|e| {
                let path = e.path().to_string();
                let path = if path == "." { "" } else { &path };
                blame(Problem::invalid(e.inner().to_string()), batch, i, path)
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Batch {
        events,
        array: batch,
    })
}

/// The server's clock, as a [`Timestamp`].
pub(crate) fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_unix_millis(millis)
}

async fn commit(
    app: &AppState,
    committing: &Committing,
    submission: Submission,
) -> Result<Vec<Outcome>, CommitError> {
    const KINDS: [&str; 3] = ["action", "blocked", "web"];
    let kinds: Vec<usize> = submission
        .items
        .iter()
        .map(|i| match i {
            Item::Action(_) => 0,
            Item::Blocked(_) => 1,
            Item::Web(_) => 2,
        })
        .collect();
    let committed = app.store.submit(submission).await?;
    // Queued: the writer will commit it, so the answer must say what became of it.
    committing.start();
    let outcomes = committed.await?;
    // Counted per kind first: a labelled counter is looked up once per kind, not per event.
    let mut stored = [0u64; KINDS.len()];
    for (kind, outcome) in kinds.iter().zip(&outcomes) {
        if matches!(outcome, Outcome::Stored { .. }) {
            stored[*kind] += 1;
        }
    }
    for (kind, n) in KINDS.iter().zip(stored) {
        if n > 0 {
            app.metrics
                .committed
                .get_or_create(&Metrics::kind(kind))
                .inc_by(n);
        }
    }
    app.metrics.log_head.set(app.store.head() as i64);
    Ok(outcomes)
}

/// The problem of a refused commit. It names no field: the item at fault is not always a part of
/// the request (a chat's lifecycle events are the server's); [`action_problem`] names it when it is.
pub(crate) fn commit_problem(error: CommitError) -> Problem {
    match error {
        CommitError::Transition {
            index: _,
            action_id,
            error,
        } => Problem::new(
            StatusCode::CONFLICT,
            "illegal-transition",
            "The lifecycle does not allow this transition",
            format!("action {action_id}: {error}"),
        )
        .with("actionId", action_id)
        .with("currentState", error.current)
        .with("attemptedState", error.attempted)
        .with("allowed", error.allowed),
        CommitError::UnknownAction {
            index: _,
            action_id,
        } => Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-action",
            "Unknown action",
            format!(
                "action {action_id} is not one this server qualified for this deployment: the \
                 server qualifies actions (the web-events answer names them), and a client reports \
                 the states of those actions only"
            ),
        )
        .with("actionId", action_id),
        CommitError::Mismatch {
            index: _,
            action_id,
            reason,
        } => Problem::new(
            StatusCode::CONFLICT,
            "action-mismatch",
            "The event does not belong to this action",
            format!("action {action_id} {reason}"),
        )
        .with("actionId", action_id),
        CommitError::Unavailable(detail) => {
            tracing::error!(%detail, "commit failed");
            Problem::unavailable("the event log cannot take writes right now; nothing was stored")
        }
    }
}

/// The problem of refused action events, naming the field at fault of the event at fault (the
/// items of their commit are the events of the body, in order).
fn action_problem(error: CommitError, array: bool) -> Problem {
    let at = match &error {
        CommitError::Transition { index, .. } => Some((*index, "actionState")),
        CommitError::UnknownAction { index, .. } => Some((*index, "actionId")),
        CommitError::Mismatch { index, .. } => Some((*index, "")),
        CommitError::Unavailable(_) => None,
    };
    let problem = commit_problem(error);
    match at {
        Some((i, path)) => blame(problem, array, i, path),
        None => problem,
    }
}

/// `POST /api/v1/deployments/{deploymentId}/web-events` ([`Occasion::Events`]): stores the
/// events and, in the same commit, what the decision engine made of them; answers the actions to
/// present. `POST /api/v1/deployments/{deploymentId}/decisions` ([`Occasion::Recheck`]): the page
/// asks again (an activation delay ended) with a web event saying where the visitor is; decided
/// the same way, but the event itself is not stored, only what the decision made of it.
pub async fn decide(
    State(app): State<AppState>,
    Path(deployment_id): Path<Uuid>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Extension(committing): Extension<Committing>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    occasion: Occasion,
) -> Result<Json<Value>, Problem> {
    let Batch {
        events: requests,
        array,
    } = parse_batch::<WebEventRequest>(&app, &headers, body)?;
    let received = now();
    let events = requests
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.into_event(received)
                .map(std::sync::Arc::new)
                .map_err(|e| blame(Problem::invalid(e.to_string()), array, i, &e.field))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let deployment = app
        .deployments
        .get(&deployment_id)
        .expect("the guard found the deployment");
    let catalog = app
        .catalogs
        .get(deployment_id)
        .expect("every deployment has a catalog")
        .catalog
        .clone();
    let _customers = app
        .decisions
        .lock(events.iter().map(|e| e.customer_cookie_id))
        .await;
    let location = app.locator.locate(&headers, client.ip());
    let decided = crate::decisions::decide_all(
        &*app.store,
        &catalog,
        deployment,
        occasion,
        &events,
        &location,
        app.chat.availability(deployment),
        received,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "reading decision state failed");
        Problem::unavailable("the store cannot be read right now; nothing was stored")
    })?;
    let mut items: Vec<Item> = match occasion {
        Occasion::Events => events.into_iter().map(Item::Web).collect(),
        Occasion::Recheck => Vec::new(),
    };
    items.extend(decided.items);
    commit(
        &app,
        &committing,
        Submission {
            deployment_id,
            items,
            customers: decided.customers,
        },
    )
    .await
    .map_err(commit_problem)?;
    Ok(Json(json!({ "actions": decided.actions })))
}

/// The states only the server records: `qualified` (its decision, spec 3.1, 3.2) and a web
/// chat's `started`, `engaged`, `abandoned` and `completed` (its conversation, docs/chat.md).
const SERVER_ONLY: [ActionState; 5] = [
    ActionState::Qualified,
    ActionState::Started,
    ActionState::Engaged,
    ActionState::Abandoned,
    ActionState::Completed,
];

/// A state only the server records, sent by a client.
fn server_only(state: ActionState) -> Problem {
    let when = if state == ActionState::Qualified {
        "when its decision qualifies an action (a web event answers it); report the states that \
         follow it (offered, ...)"
    } else {
        "as its web chat's conversation starts, is joined by an agent and ends; a page reports \
         only offered, accepted, rejected, ignored, timedout and errored"
    };
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "server-only-state",
        "This state is recorded by the server",
        format!("actionState {state} is recorded by the server {when}"),
    )
    .with("state", state)
}

/// `POST /api/v1/deployments/{deploymentId}/action-events`: checks each event against its
/// action's lifecycle and stores it; `SERVER_ONLY` states are refused, they are the server's
/// own records.
pub async fn action_events(
    State(app): State<AppState>,
    Path(deployment_id): Path<Uuid>,
    Extension(committing): Extension<Committing>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Results>, Problem> {
    // Read in two steps, the shape and then the rules of spec 4.3 (`ActionEvent`'s own reading
    // does the same), so that a broken rule names its field.
    let Batch { events, array } = parse_batch::<WireEvent>(&app, &headers, body)?;
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, wire)| {
            ActionEvent::try_from(wire)
                .and_then(|e| e.check_bounds().map(|()| e))
                .map_err(|e| blame(Problem::invalid(e.to_string()), array, i, e.field))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((i, e)) = events
        .iter()
        .enumerate()
        .find(|(_, e)| SERVER_ONLY.contains(&e.action_state))
    {
        return Err(blame(server_only(e.action_state), array, i, "actionState"));
    }
    let outcomes = commit(
        &app,
        &committing,
        Submission::records(
            deployment_id,
            events.into_iter().map(Item::Action).collect(),
        ),
    )
    .await
    .map_err(|e| action_problem(e, array))?;
    Ok(Json(Results { results: outcomes }))
}

/// The answer to action events: what became of each, in the order sent.
#[derive(Serialize)]
pub struct Results {
    results: Vec<Outcome>,
}
