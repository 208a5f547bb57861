//! The visitor's web chat routes: create the conversation of an accepted webchat action, read
//! it back (a new page of the site resumes it), end it, and its WebSocket. Guarded like
//! ingestion (deployment, `Origin`, rate); the conversation's own routes take the visitor's
//! token as `Authorization: Bearer …`, and the WebSocket, whose handshake browsers cannot add
//! headers to, also as `?access_token=…` (only there: query strings end up in proxies' access
//! logs).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beckon_core::model::ActionSurvey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::extract::{Body, Path, Query};
use super::problem::Problem;
use crate::app::AppState;
use crate::chat::ChatError;
use crate::chat::agents::PasswordError;
use crate::chat::entry::{EventIdentity, Party};
use crate::store::chat::{ConversationRecord, ConversationStatus};

/// Largest WebSocket frame or message read at all: a frame whose header announces more closes
/// the socket (1009) before its payload is read. Messages are held to
/// `[chat] max_message_bytes` below this, with an `error` frame.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

impl From<ChatError> for Problem {
    fn from(e: ChatError) -> Problem {
        match e {
            ChatError::NotFound(what) => Problem::not_found(format!("no {what} has this id")),
            ChatError::Forbidden(detail) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
            }
            ChatError::Conflict(slug, detail) => {
                Problem::new(StatusCode::CONFLICT, slug, "Not possible now", detail)
            }
            ChatError::Invalid(field, detail) => Problem::invalid(detail).field(field),
            ChatError::Commit(e) => super::ingest::commit_problem(e),
            ChatError::Store(e) => {
                tracing::error!(error = %e, "chat storage failed");
                Problem::unavailable("the store cannot be used right now")
            }
            ChatError::Password(e @ PasswordError::Busy) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Too many sign-ins at once",
                e.to_string(),
            )
            .retry_after(1),
            ChatError::Password(e @ PasswordError::Failed(_)) => {
                tracing::error!(error = %e, "password work failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the password could not be checked",
                )
            }
        }
    }
}

/// A chat WebSocket's handshake with its bounds: frames and messages of at most
/// [`MAX_FRAME_BYTES`] (tungstenite's own frame bound is 16 MiB, buffered whole), and a
/// small read buffer (tungstenite reserves 128 KiB per socket by default, which is most of an
/// idle visitor's memory; a larger frame still grows it). A request that is no WebSocket
/// handshake gets a problem, with the status axum gives it (400, or 426 for a connection that
/// cannot be upgraded).
pub(crate) fn bounded(
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, Problem> {
    let upgrade = upgrade.map_err(|rejection| {
        Problem::new(
            rejection.status(),
            "not-websocket",
            "Not a WebSocket handshake",
            format!("this route takes a WebSocket: {}", rejection.body_text()),
        )
    })?;
    Ok(upgrade
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0))
}

/// The read buffer a chat socket starts with.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// A JSON object body read into `T`, naming the field at fault.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Problem> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let p = Problem::invalid(e.into_inner().to_string());
        if path == "." { p } else { p.field(path) }
    })
}

/// `?after=` of the visitor's conversation read (any `?access_token=` is ignored: HTTP routes
/// take the token as a header only).
#[derive(Debug, Default, Deserialize)]
pub struct After {
    #[serde(default, deserialize_with = "entry_number")]
    after: u64,
}

/// `?access_token=` and `?after=` of the visitor's WebSocket.
#[derive(Debug, Default, Deserialize)]
pub struct SocketQuery {
    access_token: Option<String>,
    #[serde(default, deserialize_with = "entry_number")]
    after: u64,
}

/// An entry's number as a query gives it: entries are numbered within SQLite's integers, and a
/// larger one would be read as a negative number (every entry).
fn entry_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = u64::deserialize(d)?;
    if i64::try_from(n).is_err() {
        return Err(serde::de::Error::custom(format!(
            "after: {n} is larger than any entry number ({})",
            i64::MAX
        )));
    }
    Ok(n)
}

/// The bearer token of a request: the `Authorization` header, else the `?access_token=` of a
/// WebSocket route (`query`; `None` on every other route, which ignores it).
pub(crate) fn token(headers: &HeaderMap, query: Option<&str>) -> Result<String, Problem> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .or_else(|| query.map(str::to_owned))
        .ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
                "send 'Authorization: Bearer <token>' (?access_token= is taken on WebSocket \
                 routes only)",
            )
        })
}

/// `OPTIONS` on a visitor chat route (the guard has checked the origin).
pub async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Start {
    action_id: Uuid,
    customer_id: Uuid,
    /// Used only when the stored action has no session (the action's own comes first).
    #[serde(default)]
    session_id: Option<Uuid>,
    /// The pre-chat form's answers: names to strings.
    #[serde(default)]
    form: std::collections::BTreeMap<String, String>,
}

/// The answer to a create: the conversation, its visitor token, and which stored event is its
/// `started` (`eventId`, `eventMillis`), for the page to emit the same one.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    conversation_id: Uuid,
    token: String,
    status: ConversationStatus,
    #[serde(flatten)]
    started: EventIdentity,
}

/// `POST /api/v1/deployments/{deploymentId}/conversations`
pub async fn create(
    State(app): State<AppState>,
    Path(deployment_id): Path<Uuid>,
    Body(bytes): Body,
) -> Result<Response, Problem> {
    let start: Start = body(&bytes)?;
    if start.form.len() > ActionSurvey::MAX_QUESTIONS
        || start
            .form
            .values()
            .any(|v| v.len() > ActionSurvey::MAX_ANSWER_BYTES)
    {
        return Err(Problem::invalid(format!(
            "at most {} form answers of up to {} bytes each",
            ActionSurvey::MAX_QUESTIONS,
            ActionSurvey::MAX_ANSWER_BYTES
        ))
        .field("form"));
    }
    let (c, token, started) = app
        .chat
        .start(
            deployment_id,
            start.action_id,
            start.customer_id,
            start.session_id,
            serde_json::to_value(&start.form).expect("strings serialize"),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            conversation_id: c.id,
            token,
            status: c.status,
            started,
        }),
    )
        .into_response())
}

/// The conversation of a visitor route, its token checked.
async fn visitor_conversation(
    app: &AppState,
    deployment_id: Uuid,
    id: Uuid,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<ConversationRecord, Problem> {
    let token = token(headers, query_token)?;
    Ok(app.chat.for_visitor(deployment_id, id, &token).await?)
}

/// `GET /api/v1/deployments/{deploymentId}/conversations/{conversationId}?after=`: the
/// conversation and its entries after `after`.
pub async fn get_one(
    State(app): State<AppState>,
    Path((deployment_id, id)): Path<(Uuid, Uuid)>,
    Query(query): Query<After>,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    let c = visitor_conversation(&app, deployment_id, id, &headers, None).await?;
    let entries = app.chat.entries(id, query.after).await?;
    let next = entries.last().map_or(query.after, |(seq, _)| *seq);
    Ok(Json(json!({
        "conversationId": c.id,
        "status": c.status,
        "entries": entries.into_iter().map(|(_, f)| f).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// `POST /api/v1/deployments/{deploymentId}/conversations/{conversationId}/end`
pub async fn end(
    State(app): State<AppState>,
    Path((deployment_id, id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    visitor_conversation(&app, deployment_id, id, &headers, None).await?;
    app.chat.end(id, Party::Visitor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/deployments/{deploymentId}/conversations/{conversationId}/ws?access_token=&after=`:
/// the one visitor route that takes the token in the query.
pub async fn socket(
    State(app): State<AppState>,
    Path((deployment_id, id)): Path<(Uuid, Uuid)>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let upgrade = bounded(upgrade)?;
    let query_token = query.access_token.as_deref();
    visitor_conversation(&app, deployment_id, id, &headers, query_token).await?;
    // A place among the conversation's sockets, taken before the upgrade and kept by the
    // socket: more sockets would not add to the visitor's rate (it is the conversation's), but
    // each costs a task, a subscription and the notices it wakes for.
    let admitted = app.chat.visitor_socket(id).map_err(|e| {
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-sockets",
            "Too many sockets",
            e.to_string(),
        )
    })?;
    let chat = app.chat.clone();
    let shutdown = app.shutdown.clone();
    Ok(upgrade.on_upgrade(move |ws| {
        crate::chat::socket::visitor(chat, ws, admitted, id, query.after, shutdown)
    }))
}
