//! Admin routes for sinks: their status, and their dead letters with replay and discard.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/sinks` | every sink: cursor, head, lag, delivered, retried, dead-lettered, held customers, last error |
//! | `GET /api/v1/sinks/{name}/dead-letters` | the sink's dead letters, oldest first, with their records |
//! | `POST /api/v1/sinks/{name}/dead-letters/{id}/replay` | deliver one dead letter now; removed on success |
//! | `POST /api/v1/sinks/{name}/dead-letters/replay` | the same for all of them, oldest first |
//! | `DELETE /api/v1/sinks/{name}/dead-letters/{id}` | drop a dead letter undelivered |
//!
//! All take the admin token. A replay that fails answers 502 and keeps the dead letter; one that
//! would deliver a customer's events before older ones still in a dead letter answers 409.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::auth::Access;
use super::extract::Path;
use super::problem::Problem;
use crate::app::AppState;
use crate::metrics::Metrics;
use crate::store::DeadLetter;
use crate::stream::sinks::SinkHandle;
use crate::stream::sinks::hold::held_behind;

/// The sink admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sinks", get(list))
        .route("/api/v1/sinks/{name}/dead-letters", get(dead_letters))
        .route("/api/v1/sinks/{name}/dead-letters/replay", post(replay_all))
        .route(
            "/api/v1/sinks/{name}/dead-letters/{id}/replay",
            post(replay_one),
        )
        .route("/api/v1/sinks/{name}/dead-letters/{id}", delete(discard))
}

/// Replays of all of a sink's dead letters go on with the ones stored meanwhile for at most this
/// many rounds.
const REPLAY_ROUNDS: usize = 10;

fn sink<'a>(app: &'a AppState, name: &str) -> Result<&'a std::sync::Arc<SinkHandle>, Problem> {
    app.sinks
        .get(name)
        .ok_or_else(|| Problem::not_found(format!("no sink is named '{name}'")).field("name"))
}

/// The sink a path names, once the admin token is checked, with its dead letters, oldest first.
async fn with_letters<'a>(
    app: &'a AppState,
    headers: &HeaderMap,
    name: &str,
) -> Result<(&'a std::sync::Arc<SinkHandle>, Vec<DeadLetter>), Problem> {
    app.tokens.check(headers, Access::Admin)?;
    let sink = sink(app, name)?;
    let letters = app
        .store
        .dead_letters(sink.name())
        .await
        .map_err(unavailable)?;
    Ok((sink, letters))
}

fn unavailable(e: impl std::fmt::Display) -> Problem {
    Problem::unavailable(e.to_string())
}

fn letter_json(letter: &DeadLetter) -> Value {
    json!({
        "id": letter.id,
        "sink": letter.sink,
        "firstSeq": letter.first_seq,
        "lastSeq": letter.last_seq,
        "error": letter.error,
        "createdAt": letter.created_at,
        "count": letter.records.len(),
        "records": letter.records.iter().map(|r| &**r).collect::<Vec<_>>(),
    })
}

fn failed(sink: &str, id: i64, error: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_GATEWAY,
        "sink-delivery-failed",
        "The sink could not deliver",
        format!("sink '{sink}' could not deliver dead letter {id}: {error}; it is kept"),
    )
    .with("id", id)
}

/// `GET /api/v1/sinks`
async fn list(State(app): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, Access::Admin)?;
    let head = app.store.head();
    let mut sinks = Vec::new();
    for sink in app.sinks.iter() {
        let cursor = app.store.cursor(sink.name()).await.map_err(unavailable)?;
        let pending = app
            .store
            .dead_letter_count(sink.name())
            .await
            .map_err(unavailable)?;
        let label = Metrics::sink(sink.name());
        sinks.push(json!({
            "name": sink.name(),
            "type": sink.kind(),
            "topics": sink.config.topics.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "deployments": sink.config.deployments,
            "cursor": cursor,
            "head": head,
            "lag": head.saturating_sub(cursor),
            "delivered": app.metrics.sink_delivered.get_or_create(&label).get(),
            "retried": app.metrics.sink_retried.get_or_create(&label).get(),
            "deadLettered": app.metrics.sink_dead_lettered.get_or_create(&label).get(),
            "deadLetters": pending,
            "heldCustomers": sink.holds.count(),
            "lastError": sink.last_error(),
        }));
    }
    Ok(Json(json!({ "sinks": sinks })))
}

/// `GET /api/v1/sinks/{name}/dead-letters`
async fn dead_letters(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    let (sink, letters) = with_letters(&app, &headers, &name).await?;
    Ok(Json(json!({
        "sink": sink.name(),
        "deadLetters": letters.iter().map(letter_json).collect::<Vec<_>>(),
    })))
}

/// `POST /api/v1/sinks/{name}/dead-letters/{id}/replay`
async fn replay_one(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let (sink, letters) = with_letters(&app, &headers, &name).await?;
    let letter = find(&letters, &name, &id)?;
    if let Some(older) = held_behind(&letters, letter) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "dead-letter-out-of-order",
            "An older dead letter comes first",
            format!(
                "dead letter {} of sink '{name}' has earlier events of the same customers as {}: \
                 replay (or discard) it first, or replay all of them",
                older.id, letter.id
            ),
        )
        .with("id", letter.id)
        .with("before", older.id));
    }
    sink.replay(letter, &app.store, &app.metrics)
        .await
        .map_err(|e| failed(&name, letter.id, &e))?;
    Ok(Json(
        json!({ "replayed": [letter.id], "count": letter.records.len() }),
    ))
}

/// The dead letter a path's `{id}` names.
fn find<'a>(letters: &'a [DeadLetter], sink: &str, id: &str) -> Result<&'a DeadLetter, Problem> {
    let parsed: i64 = id
        .parse()
        .map_err(|_| Problem::not_found(format!("'{id}' is not a dead letter id")).field("id"))?;
    letters.iter().find(|l| l.id == parsed).ok_or_else(|| {
        Problem::not_found(format!("sink '{sink}' has no dead letter {parsed}")).field("id")
    })
}

/// `DELETE /api/v1/sinks/{name}/dead-letters/{id}`: the records are dropped for this sink (they
/// stay in the log); their customers are released unless another dead letter holds them.
async fn discard(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let (sink, letters) = with_letters(&app, &headers, &name).await?;
    let letter = find(&letters, &name, &id)?;
    if !sink.remove(letter, &app.store).await.map_err(unavailable)? {
        return Err(
            Problem::not_found(format!("sink '{name}' has no dead letter {}", letter.id))
                .field("id"),
        );
    }
    tracing::warn!(sink = %name, id = letter.id, count = letter.records.len(), "dead letter discarded");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/sinks/{name}/dead-letters/replay`: oldest first; stops at the first failure,
/// so the ones after it keep their order for the next try. Dead letters stored while it runs
/// (later events of customers it is replaying, or new refusals) are replayed too, for a few
/// rounds.
async fn replay_all(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, Access::Admin)?;
    let sink = sink(&app, &name)?;
    let mut replayed = Vec::new();
    let mut count = 0;
    let mut after = i64::MIN;
    for _ in 0..REPLAY_ROUNDS {
        let letters = app
            .store
            .dead_letters(sink.name())
            .await
            .map_err(unavailable)?;
        let round: Vec<_> = letters.iter().filter(|l| l.id > after).collect();
        if round.is_empty() {
            break;
        }
        for (done, letter) in round.iter().enumerate() {
            if let Err(e) = sink.replay(letter, &app.store, &app.metrics).await {
                return Err(failed(&name, letter.id, &e)
                    .with("replayed", &replayed)
                    .with("remaining", letters.len() - done));
            }
            replayed.push(letter.id);
            count += letter.records.len();
            after = letter.id;
        }
    }
    Ok(Json(json!({ "replayed": replayed, "count": count })))
}
