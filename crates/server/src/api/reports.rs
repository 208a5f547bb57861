//! Report routes (admin token): the action maps report and the blocked actions report, as JSON
//! or CSV, over counters the store keeps as events are committed (see [`crate::reports`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/reports/actionmaps` | per action map and bucket: qualified, blocked (by reason), offered, accepted, engaged with their percentages, rejected, ignored, timed out, errored |
//! | `GET /api/v1/reports/blocked` | per bucket, action map and reason: sessions and count; totals per reason |
//!
//! Query: `from` and `to` (RFC 3339, on bucket boundaries, `from` < `to`), `granularity`
//! (`hour`, at most 31 days; `day`, UTC days, at most 366 days; default `day`), optional
//! `actionMapId` and `deploymentId` (needed when the server runs several deployments), and
//! `format=csv` (or `Accept: text/csv`) for CSV.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use beckon_core::Timestamp;
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::Access;
use super::journey::{deployment, param, query};
use super::problem::Problem;
use crate::app::AppState;
use crate::reports::{self, CounterQuery, CounterRow, Granularity, MapNames, Table};

/// The report routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/actionmaps", get(action_maps))
        .route("/api/v1/reports/blocked", get(blocked))
}

/// The query parameters a report takes.
const PARAMETERS: [&str; 6] = [
    "from",
    "to",
    "granularity",
    "actionMapId",
    "deploymentId",
    "format",
];

/// A checked report request.
struct Request {
    query: CounterQuery,
    csv: bool,
}

fn instant(q: &[(String, String)], name: &str) -> Result<Timestamp, Problem> {
    let raw = param(q, name).ok_or_else(|| {
        Problem::bad_request(format!(
            "'{name}' is required (RFC 3339, e.g. 2026-03-01T00:00:00Z)"
        ))
        .field(name)
    })?;
    raw.parse()
        .map_err(|e| Problem::bad_request(format!("{name}: {e}")).field(name))
}

fn parse(app: &AppState, headers: &HeaderMap, raw: Option<&str>) -> Result<Request, Problem> {
    let q = query(raw);
    if let Some((unknown, _)) = q.iter().find(|(k, _)| !PARAMETERS.contains(&k.as_str())) {
        return Err(Problem::bad_request(format!(
            "unknown parameter '{unknown}'; reports take {}",
            PARAMETERS.join(", ")
        ))
        .field(unknown.as_str()));
    }
    let granularity: Granularity = match param(&q, "granularity") {
        None => Granularity::Day,
        Some(g) => g.parse().map_err(|()| {
            Problem::bad_request(format!("granularity '{g}' is not 'hour' or 'day'"))
                .field("granularity")
        })?,
    };
    let (from, to) = (instant(&q, "from")?, instant(&q, "to")?);
    for (name, at) in [("from", from), ("to", to)] {
        if !granularity.is_boundary(at) {
            return Err(Problem::bad_request(format!(
                "{name} must start a UTC {} (e.g. {}) with granularity={}",
                granularity.as_str(),
                granularity.bucket(at),
                granularity.as_str()
            ))
            .field(name));
        }
    }
    if from >= to {
        return Err(Problem::bad_request("'from' must be before 'to'").field("to"));
    }
    // Compared in milliseconds: 31 days and 23 hours is more than 31 days.
    let span = to.unix_millis() - from.unix_millis();
    let max = granularity.max_days();
    if span > max * Granularity::Day.millis() {
        let (day, hour) = (Granularity::Day.millis(), Granularity::Hour.millis());
        return Err(Problem::bad_request(format!(
            "the range is {} days and {} hours; at most {max} days with granularity={}",
            span / day,
            span % day / hour,
            granularity.as_str()
        ))
        .field("to"));
    }
    let action_map_id = param(&q, "actionMapId")
        .map(|raw| {
            raw.parse::<Uuid>().map_err(|_| {
                Problem::bad_request(format!("'{raw}' is not an action map id"))
                    .field("actionMapId")
            })
        })
        .transpose()?;
    let csv = match param(&q, "format") {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(
                Problem::bad_request(format!("format '{other}' is not 'json' or 'csv'"))
                    .field("format"),
            );
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")),
    };
    Ok(Request {
        query: CounterQuery {
            deployment_id: deployment(app, &q)?,
            granularity,
            from,
            to,
            action_map_id,
        },
        csv,
    })
}

/// Checks the request, reads the counters and builds the table with map names.
async fn run(
    app: &AppState,
    headers: &HeaderMap,
    raw: Option<&str>,
    build: fn(&[CounterRow], MapNames<'_>) -> Table,
) -> Result<(Request, Vec<CounterRow>, Table), Problem> {
    app.tokens.check(headers, Access::Admin)?;
    let request = parse(app, headers, raw)?;
    let rows = app
        .store
        .counters(request.query.clone())
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    let catalog = app.catalogs.get(request.query.deployment_id);
    let name = |id: Uuid| {
        catalog
            .as_ref()
            .and_then(|c| c.catalog.map(id))
            .map(|m| m.display_name.clone())
    };
    let table = build(&rows, &name);
    Ok((request, rows, table))
}

/// The answer: CSV with a file name, or JSON with the range and the entities.
fn answer(report: &str, request: &Request, table: &Table, extra: Value) -> Response {
    let q = &request.query;
    if request.csv {
        let filename = format!("{report}-{}-{}.csv", q.from, q.to).replace(':', "");
        let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
            .expect("the file name is ASCII");
        return (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            table.csv(),
        )
            .into_response();
    }
    let mut body = json!({
        "deploymentId": q.deployment_id,
        "from": q.from,
        "to": q.to,
        "granularity": q.granularity,
        "timeZone": "UTC",
        "entities": table.entities(),
        "total": table.rows.len(),
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    Json(body).into_response()
}

/// `GET /api/v1/reports/actionmaps`
pub async fn action_maps(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let (request, _, table) = run(&app, &headers, raw.as_deref(), reports::action_maps).await?;
    Ok(answer("actionmaps", &request, &table, json!({})))
}

/// `GET /api/v1/reports/blocked`
pub async fn blocked(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let (request, rows, table) = run(&app, &headers, raw.as_deref(), reports::blocked).await?;
    let totals = json!({ "reasons": reports::blocked_totals(&rows) });
    Ok(answer("blocked", &request, &table, totals))
}
