//! Agents: accounts (admin token), sign-in, and the routes of a signed-in agent's console
//! (presence, the queue, their conversations with who the visitor is, the console's
//! WebSocket). Every console route needs the sign-in token as `Authorization: Bearer …`
//! ([`SignedIn`]); the WebSocket, whose handshake browsers cannot add headers to, also takes it
//! as `?access_token=` ([`SocketSignedIn`]), and no other route does: query strings end up in
//! proxies' access logs.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use beckon_core::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::Access as TokenAccess;
use super::chat::{body, bounded, token};
use super::extract::{Body, Path};
use super::problem::Problem;
use crate::app::AppState;
use crate::chat::agents::DEFAULT_CAPACITY;
use crate::chat::entry::Party;
use crate::chat::presence::Presence;
use crate::store::chat::{AgentRecord, ConversationRecord, ConversationStatus};

/// A signed-in agent, from the request's `Authorization: Bearer` token.
pub struct SignedIn {
    pub agent: AgentRecord,
    token: String,
    expires: Timestamp,
}

/// A signed-in agent on the console's WebSocket: the token from the header, else from
/// `?access_token=`.
pub struct SocketSignedIn(SignedIn);

/// `?access_token=` of the console's WebSocket.
#[derive(Debug, Default, Deserialize)]
struct SocketQuery {
    access_token: Option<String>,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Problem> {
        SignedIn::from_token(parts, app, None).await
    }
}

impl FromRequestParts<AppState> for SocketSignedIn {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Problem> {
        let query: SocketQuery = axum::extract::Query::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        let me = SignedIn::from_token(parts, app, query.access_token.as_deref()).await?;
        Ok(SocketSignedIn(me))
    }
}

impl SignedIn {
    /// The agent of the request's header token, else of `query_token` (WebSocket only).
    async fn from_token(
        parts: &Parts,
        app: &AppState,
        query_token: Option<&str>,
    ) -> Result<SignedIn, Problem> {
        // Each check of a token is a read of the store, whose readers ingestion needs too: a
        // client trying tokens (or any, in a loop) is held to the public routes' rate.
        if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            app.limiter.admit(&parts.headers, peer.ip())?;
        }
        let token = token(&parts.headers, query_token)?;
        match app.chat.agent_for(&token).await? {
            Some((agent, expires)) => Ok(SignedIn {
                agent,
                token,
                expires,
            }),
            None => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
                "this sign-in is unknown or has expired; sign in again",
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewAgent {
    name: String,
    email: String,
    password: String,
    #[serde(default = "default_capacity")]
    capacity: u32,
}

fn default_capacity() -> u32 {
    DEFAULT_CAPACITY
}

/// `GET /api/v1/agents` (admin)
pub async fn list(State(app): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, TokenAccess::Admin)?;
    let agents = app.chat.agents();
    Ok(Json(json!({ "entities": agents, "total": agents.len() })))
}

/// `POST /api/v1/agents` (admin): `{ name, email, password, capacity? }`
pub async fn create(
    State(app): State<AppState>,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<Response, Problem> {
    app.tokens.check(&headers, TokenAccess::Admin)?;
    let new: NewAgent = body(&bytes)?;
    if new.password.len() < 8 || new.password.len() > 1024 {
        return Err(Problem::invalid("passwords have 8 to 1024 bytes").field("password"));
    }
    let agent = app
        .chat
        .add_agent(&new.name, &new.email, new.password, new.capacity)
        .await?;
    Ok((StatusCode::CREATED, Json(agent)).into_response())
}

/// `DELETE /api/v1/agents/{id}` (admin)
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    app.tokens.check(&headers, TokenAccess::Admin)?;
    if app.chat.remove_agent(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("no agent has this id"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

/// `POST /api/v1/agent/sessions`: `{ email, password }` → `{ token, expiresAt, agent }`.
/// Held to the request rate, then to the sign-in quotas of the client and of the email address
/// (`api::sign_ins`), checked before the password: a successful sign-in is given back.
pub async fn sign_in(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<Response, Problem> {
    app.limiter.admit(&headers, peer.ip())?;
    let c: Credentials = body(&bytes)?;
    let client = app.limiter.client(&headers, peer.ip());
    let attempt = app.sign_ins.admit(client, &c.email).inspect_err(|_| {
        app.metrics.sign_ins_refused.inc();
    })?;
    match app.chat.sign_in(&c.email, c.password).await? {
        Some((token, expires, agent)) => {
            attempt.succeeded();
            Ok((
                StatusCode::CREATED,
                Json(json!({ "token": token, "expiresAt": expires, "agent": agent })),
            )
                .into_response())
        }
        None => {
            app.metrics.sign_ins_failed.inc();
            Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Sign-in refused",
                "the email or the password is wrong",
            ))
        }
    }
}

/// `DELETE /api/v1/agent/sessions/current`: signs out; the agent goes offline.
pub async fn sign_out(State(app): State<AppState>, me: SignedIn) -> Result<StatusCode, Problem> {
    app.chat.sign_out(me.agent.id, &me.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/agent/me`: the account, presence, capacity and chats in progress.
pub async fn me(State(app): State<AppState>, me: SignedIn) -> Json<Value> {
    Json(app.chat.status(&me.agent))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPresence {
    presence: Presence,
}

/// `PUT /api/v1/agent/presence`: `{ "presence": "available" | "away" | "offline" }`
pub async fn presence(
    State(app): State<AppState>,
    me: SignedIn,
    Body(bytes): Body,
) -> Result<Json<Value>, Problem> {
    let p: SetPresence = body(&bytes)?;
    app.chat.set_presence(me.agent.id, p.presence);
    Ok(Json(app.chat.status(&me.agent)))
}

/// A conversation in lists: who, where from, since when.
fn summary(app: &AppState, c: &ConversationRecord) -> Value {
    let map_name = app.catalogs.get(c.deployment_id).and_then(|d| {
        d.catalog
            .map(c.action_map_id)
            .map(|m| m.display_name.clone())
    });
    json!({
        "conversationId": c.id,
        "deploymentId": c.deployment_id,
        "status": c.status,
        "createdAt": c.created_at,
        "customerId": c.customer_id,
        "agentId": c.agent_id,
        "actionMap": { "id": c.action_map_id, "version": c.action_map_version, "name": map_name },
    })
}

/// `GET /api/v1/agent/queue`: waiting conversations, first come first.
pub async fn queue(State(app): State<AppState>, _me: SignedIn) -> Json<Value> {
    let waiting: Vec<Value> = app.chat.queue().iter().map(|c| summary(&app, c)).collect();
    Json(json!({ "entities": waiting, "total": waiting.len() }))
}

/// `POST /api/v1/agent/queue/accept`: join the conversation that has waited longest.
pub async fn accept(State(app): State<AppState>, me: SignedIn) -> Result<Json<Value>, Problem> {
    let c = app.chat.accept_next(&me.agent).await?;
    Ok(Json(detail(&app, &c).await?))
}

/// `GET /api/v1/agent/conversations`: the agent's conversations in progress.
pub async fn mine(State(app): State<AppState>, me: SignedIn) -> Json<Value> {
    let mine: Vec<Value> = app
        .chat
        .conversations_of(me.agent.id)
        .iter()
        .map(|c| summary(&app, c))
        .collect();
    Json(json!({ "entities": mine, "total": mine.len() }))
}

/// A conversation the agent may see: one of theirs, or one still waiting.
async fn visible(app: &AppState, me: &SignedIn, id: Uuid) -> Result<ConversationRecord, Problem> {
    let c = app.chat.conversation(id).await?;
    if c.agent_id == Some(me.agent.id) || c.status == ConversationStatus::Waiting {
        Ok(c)
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed",
            "this conversation is another agent's",
        ))
    }
}

/// The conversation with who the visitor is (form answers, pages seen this session, the
/// action map and segments that led to the invitation) and its entries.
async fn detail(app: &AppState, c: &ConversationRecord) -> Result<Value, Problem> {
    let context = app
        .store
        .customer_context(c.deployment_id, c.customer_id, c.session_id)
        .await
        .map_err(crate::chat::ChatError::from)?;
    let pages: Vec<Value> = context
        .journey
        .iter()
        .filter(|e| crate::enrich::is_pageview(&e.event_name))
        .filter_map(|e| {
            let page = e.page.as_ref()?;
            Some(json!({ "url": page.url, "title": page.title, "count": e.count }))
        })
        .collect();
    let catalog = app.catalogs.get(c.deployment_id).map(|d| d.catalog.clone());
    let segments: Vec<Value> = catalog
        .as_ref()
        .and_then(|cat| cat.map(c.action_map_id))
        .map(|m| {
            m.trigger_with_segments
                .iter()
                .map(|id| {
                    let name = catalog
                        .as_ref()
                        .and_then(|cat| cat.segment(*id))
                        .map(|s| s.display_name.clone());
                    json!({ "id": id, "name": name })
                })
                .collect()
        })
        .unwrap_or_default();
    let entries = app.chat.entries(c.id, 0).await?;
    let mut v = summary(app, c);
    v["visitor"] = json!({
        "customerId": c.customer_id,
        "sessionId": c.session_id,
        "form": c.form,
        "pages": pages,
        "segments": segments,
    });
    v["visitorConnected"] = json!(app.chat.has_visitor(c.id));
    v["entries"] = entries.into_iter().map(|(_, f)| f).collect();
    Ok(v)
}

/// `GET /api/v1/agent/conversations/{id}`
pub async fn get_one(
    State(app): State<AppState>,
    me: SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, Problem> {
    let c = visible(&app, &me, id).await?;
    Ok(Json(detail(&app, &c).await?))
}

/// `POST /api/v1/agent/conversations/{id}/end`
pub async fn end(
    State(app): State<AppState>,
    me: SignedIn,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    let c = visible(&app, &me, id).await?;
    if c.agent_id != Some(me.agent.id) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed",
            "accept the conversation before ending it",
        ));
    }
    app.chat.end(id, Party::Agent).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/agent/ws?access_token=`: the console's socket, closed when this sign-in ends
/// or expires; the one agent route that takes the token in the query.
pub async fn socket(
    State(app): State<AppState>,
    SocketSignedIn(me): SocketSignedIn,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let upgrade = bounded(upgrade)?;
    let chat = app.chat.clone();
    let shutdown = app.shutdown.clone();
    let session = crate::chat::socket::Session::new(&chat, me.token, me.expires);
    Ok(upgrade
        .on_upgrade(move |ws| crate::chat::socket::agent(chat, ws, me.agent, session, shutdown)))
}
