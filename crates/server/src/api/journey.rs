//! The Genesys-shaped admin API (spec section 9): `/api/v2/journey/actionmaps`,
//! `/actiontemplates`, `/segments`, and Beckon's own `/schedulegroups`, each with list (the
//! Genesys paging envelope), get, create, PATCH with optimistic versioning, and delete.
//!
//! One implementation serves the four collections: they differ only in their JSON type (checked
//! by [`Collection::normalize`]), in what a delete does (templates are soft-deleted unless
//! `hardDelete=true`) and in their list filters. Every change goes through
//! [`Catalogs::change`](crate::catalogs::Catalogs::change), so nothing invalid is ever saved.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::auth::Access;
use super::extract::{Body, Path};
use super::problem::Problem;
use crate::app::AppState;
use crate::catalogs::{ChangeError, Collection, Located, SERVER_FIELDS, stamp, stored};
use crate::store::EntityChange;

/// Default and largest `pageSize` (Genesys: 25 by default).
const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 500;

/// List filters each collection takes: query parameter = top-level field of the object.
fn filters(c: Collection) -> &'static [&'static str] {
    match c {
        Collection::ActionTemplates => &["state", "mediaType"],
        Collection::Segments | Collection::ActionMaps => &["isActive"],
        Collection::ScheduleGroups => &[],
    }
}

fn collection(path: &str) -> Result<Collection, Problem> {
    Collection::from_path(path).ok_or_else(|| {
        Problem::not_found(format!(
            "no collection '{path}'; there are actionmaps, actiontemplates, segments and schedulegroups"
        ))
    })
}

pub(super) fn query(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub(super) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The deployment a request works on: `deploymentId`, or the only one configured.
pub(super) fn deployment(app: &AppState, q: &[(String, String)]) -> Result<Uuid, Problem> {
    match param(q, "deploymentId") {
        Some(raw) => {
            let id: Uuid = raw.parse().map_err(|_| {
                Problem::bad_request(format!("'{raw}' is not a deployment id"))
                    .field("deploymentId")
            })?;
            if app.deployments.contains_key(&id) {
                Ok(id)
            } else {
                Err(Problem::not_found(format!("no deployment has the id {id}"))
                    .field("deploymentId"))
            }
        }
        None if app.deployments.len() == 1 => {
            Ok(*app.deployments.keys().next().expect("one deployment"))
        }
        None => Err(Problem::bad_request(
            "this server runs several deployments: say which with ?deploymentId=",
        )
        .field("deploymentId")),
    }
}

fn number(
    q: &[(String, String)],
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, Problem> {
    match param(q, name) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "{name} must be a whole number from 1 to {max}, not '{raw}'"
                ))
                .field(name)
            }),
    }
}

/// `GET /api/v2/journey/{collection}`: a page in the Genesys listing envelope.
pub async fn list(
    State(app): State<AppState>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, Access::Admin)?;
    let c = collection(&path)?;
    let q = query(raw.as_deref());
    let d = deployment(&app, &q)?;
    let page_number = number(&q, "pageNumber", 1, usize::MAX)?;
    let page_size = number(&q, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let deployed = app.catalogs.get(d).expect("configured deployment");
    let wanted: Vec<(&str, &str)> = filters(c)
        .iter()
        .filter_map(|f| param(&q, f).map(|v| (*f, v)))
        .collect();
    let matching: Vec<&Value> = deployed
        .list(c)
        .iter()
        .map(|(_, v)| v)
        .filter(|v| {
            wanted.iter().all(|(field, want)| match &v[*field] {
                Value::String(s) => s.eq_ignore_ascii_case(want),
                other => *other == serde_json::from_str::<Value>(want).unwrap_or(Value::Null),
            })
        })
        .collect();
    let total = matching.len();
    let page_count = total.div_ceil(page_size);
    let entities: Vec<&Value> = matching
        .into_iter()
        .skip((page_number - 1).saturating_mul(page_size))
        .take(page_size)
        .collect();
    // Every URI carries the request's own query, with the page replaced.
    let uri = |page: usize| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in q
            .iter()
            .filter(|(k, _)| k != "pageNumber" && k != "pageSize")
        {
            s.append_pair(k, v);
        }
        s.append_pair("pageSize", &page_size.to_string());
        s.append_pair("pageNumber", &page.to_string());
        format!("/api/v2/journey/{}?{}", c.path(), s.finish())
    };
    let last = page_count.max(1);
    let mut body = json!({
        "entities": entities,
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": page_count,
        "firstUri": uri(1),
        "lastUri": uri(last),
        "selfUri": uri(page_number),
    });
    if page_number > 1 {
        body["previousUri"] = uri((page_number - 1).min(last)).into();
    }
    if page_number < page_count {
        body["nextUri"] = uri(page_number + 1).into();
    }
    Ok(Json(body))
}

/// `GET /api/v2/journey/{collection}/{id}`
pub async fn get_one(
    State(app): State<AppState>,
    Path((path, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, Access::Admin)?;
    let c = collection(&path)?;
    let d = deployment(&app, &query(raw.as_deref()))?;
    let id = object_id(c, &id)?;
    let deployed = app.catalogs.get(d).expect("configured deployment");
    deployed
        .get(c, id)
        .cloned()
        .map(Json)
        .ok_or_else(|| missing(c, id))
}

fn object_id(c: Collection, raw: &str) -> Result<Uuid, Problem> {
    raw.parse()
        .map_err(|_| Problem::not_found(format!("'{raw}' is not the id of any {}", c.noun())))
}

fn missing(c: Collection, id: Uuid) -> Problem {
    Problem::not_found(format!("no {} has the id {id}", c.noun()))
}

/// The JSON object of a create or PATCH body.
fn object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported content type",
            format!("send application/json, not {content_type}"),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Err(e) => Err(
            Problem::bad_request(format!("the body is not valid JSON: {e}"))
                .with("line", e.line())
                .with("column", e.column()),
        ),
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(Problem::invalid("the body must be a JSON object")),
    }
}

/// The problem for a change that would leave an invalid catalog: `field` is the first
/// error's, `errors` lists them all. Errors in other objects than `changed` are named by
/// collection and id, e.g. `actionMaps[3f0c…].action.actionTemplate.id`.
fn invalid(changed: Uuid, errors: Vec<Located>) -> Problem {
    let listed: Vec<Value> = errors
        .iter()
        .map(|l| {
            let field = if l.id == changed {
                l.error.field.clone()
            } else if l.error.field.is_empty() {
                format!("{}[{}]", l.collection.key(), l.id)
            } else {
                format!("{}[{}].{}", l.collection.key(), l.id, l.error.field)
            };
            json!({ "field": field, "reason": l.error.reason })
        })
        .collect();
    let detail = listed
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["field"].as_str().unwrap_or(""),
                e["reason"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut p = Problem::invalid(detail);
    if let Some(first) = listed.first().and_then(|e| e["field"].as_str()) {
        p = p.field(first);
    }
    if listed.len() > 1 {
        p = p.with("errors", listed);
    }
    p
}

fn change_problem(changed: Uuid, e: ChangeError) -> Problem {
    match e {
        ChangeError::Invalid(errors) => invalid(changed, errors),
        ChangeError::Refused(p) => p,
        ChangeError::Storage(e) => {
            tracing::error!(error = %e, "saving an admin change failed");
            Problem::unavailable("the configuration cannot be saved right now; nothing changed")
        }
    }
}

/// Checks the shape of a body, naming the field at fault.
fn normalize(c: Collection, body: Value) -> Result<Value, ChangeError> {
    c.normalize(&body).map_err(|e| {
        let p = Problem::invalid(if e.field.is_empty() {
            e.reason.clone()
        } else {
            format!("{}: {}", e.field, e.reason)
        });
        ChangeError::Refused(if e.field.is_empty() {
            p
        } else {
            p.field(e.field)
        })
    })
}

/// `POST /api/v2/journey/{collection}`: creates an object. Beckon takes an `id` in the body
/// (Genesys assigns it) so that exports keep their references when imported.
pub async fn create(
    State(app): State<AppState>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, Access::Admin)?;
    let c = collection(&path)?;
    let d = deployment(&app, &query(raw.as_deref()))?;
    let mut body = object(&headers, &body)?;
    let id = match body.get("id") {
        None | Some(Value::Null) => Uuid::new_v4(),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| Problem::invalid(format!("'{s}' is not a UUID")).field("id"))?,
        Some(_) => return Err(Problem::invalid("the id is a UUID string").field("id")),
    };
    for field in SERVER_FIELDS {
        body.remove(field);
    }
    let now = super::ingest::now();
    let deployed = app
        .catalogs
        .change(d, |current| {
            if current.get(c, id).is_some() {
                return Err(ChangeError::Refused(
                    Problem::new(
                        StatusCode::CONFLICT,
                        "already-exists",
                        "The object exists",
                        format!("a {} with the id {id} exists; PATCH it instead", c.noun()),
                    )
                    .field("id"),
                ));
            }
            let body = normalize(c, stamp(c, id, Value::Object(body), 1, now))?;
            Ok(vec![EntityChange::Save(stored(c, id, body))])
        })
        .await
        .map_err(|e| change_problem(id, e))?;
    Ok(Json(deployed.get(c, id).cloned().expect("just saved")))
}

/// RFC 7386 JSON merge patch: objects merge key by key, `null` removes, the rest replaces.
fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

/// `PATCH /api/v2/journey/{collection}/{id}`: changes the fields given (Genesys patch bodies
/// are partial; nested objects merge). `version` must be the current version (409 otherwise);
/// the answer has the next one.
pub async fn patch(
    State(app): State<AppState>,
    Path((path, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Json<Value>, Problem> {
    app.tokens.check(&headers, Access::Admin)?;
    let c = collection(&path)?;
    let d = deployment(&app, &query(raw.as_deref()))?;
    let id = object_id(c, &id)?;
    let mut patch = object(&headers, &body)?;
    let Some(version) = patch.get("version").and_then(Value::as_u64) else {
        return Err(Problem::invalid(
            "version is required: send the version you read, so a change made meanwhile is not overwritten",
        )
        .field("version"));
    };
    if let Some(other) = patch.get("id").and_then(Value::as_str)
        && other != id.to_string()
    {
        return Err(Problem::invalid(format!("the id cannot change (it is {id})")).field("id"));
    }
    for field in SERVER_FIELDS {
        patch.remove(field);
    }
    let now = super::ingest::now();
    let deployed = app
        .catalogs
        .change(d, |current| {
            let mut body = current
                .get(c, id)
                .cloned()
                .ok_or_else(|| ChangeError::Refused(missing(c, id)))?;
            check_version(c, id, &body, version)?;
            merge(&mut body, Value::Object(patch));
            let body = normalize(c, stamp(c, id, body, version + 1, now))?;
            Ok(vec![EntityChange::Save(stored(c, id, body))])
        })
        .await
        .map_err(|e| change_problem(id, e))?;
    Ok(Json(deployed.get(c, id).cloned().expect("just saved")))
}

fn current_version(body: &Value) -> u64 {
    body["version"].as_u64().unwrap_or(1)
}

fn check_version(c: Collection, id: Uuid, body: &Value, sent: u64) -> Result<(), ChangeError> {
    let current = current_version(body);
    if sent == current {
        return Ok(());
    }
    Err(ChangeError::Refused(
        Problem::new(
            StatusCode::CONFLICT,
            "version-conflict",
            "The object has changed",
            format!(
                "{} {id} is at version {current}, not {sent}: read it again and reapply your change",
                c.noun()
            ),
        )
        .field("version")
        .with("currentVersion", current),
    ))
}

/// `DELETE /api/v2/journey/{collection}/{id}`: 204. A template is soft-deleted (state
/// `Deleted`) unless `hardDelete=true`; an object an action map still names is not deleted
/// (409 listing the maps).
pub async fn delete(
    State(app): State<AppState>,
    Path((path, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    app.tokens.check(&headers, Access::Admin)?;
    let c = collection(&path)?;
    let q = query(raw.as_deref());
    let d = deployment(&app, &q)?;
    let id = object_id(c, &id)?;
    let hard = match param(&q, "hardDelete") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "hardDelete is true or false, not '{other}'"
            ))
            .field("hardDelete"));
        }
    };
    let now = super::ingest::now();
    app.catalogs
        .change(d, |current| {
            let body = current
                .get(c, id)
                .cloned()
                .ok_or_else(|| ChangeError::Refused(missing(c, id)))?;
            let users = current.used_by(c, id);
            if !users.is_empty() {
                return Err(ChangeError::Refused(
                    Problem::new(
                        StatusCode::CONFLICT,
                        "in-use",
                        "The object is in use",
                        format!(
                            "{} {id} is named by {} action map(s); change or delete them first",
                            c.noun(),
                            users.len()
                        ),
                    )
                    .with("usedBy", users),
                ));
            }
            if c == Collection::ActionTemplates && !hard {
                let version = current_version(&body);
                let mut body = body;
                body["state"] = "Deleted".into();
                let body = normalize(c, stamp(c, id, body, version + 1, now))?;
                return Ok(vec![EntityChange::Save(stored(c, id, body))]);
            }
            Ok(vec![EntityChange::Delete {
                collection: c.path().to_owned(),
                id,
            }])
        })
        .await
        .map_err(|e| change_problem(id, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
