//! RFC 9457 problem documents: the one shape every HTTP error of Beckon takes.
//!
//! `type` is a path under `/problems/` naming the kind of problem (documented in
//! `docs/api.md`); `detail` says what was wrong with this request; `field` names the part of
//! the request at fault where there is one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// A problem document, ready to be sent. Boxed, so that `Result<_, Problem>` stays small.
#[derive(Debug, Clone)]
pub struct Problem(Box<Document>);

/// The members of a problem document.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    #[serde(serialize_with = "status_code")]
    pub status: StatusCode,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Members particular to one kind of problem (e.g. `allowed` next states).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

fn status_code<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl Problem {
    /// A problem of kind `slug` (`/problems/<slug>`).
    pub fn new(
        status: StatusCode,
        slug: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem(Box::new(Document {
            kind: format!("/problems/{slug}"),
            title,
            status,
            detail: detail.into(),
            field: None,
            extra: Map::new(),
            retry_after: None,
        }))
    }

    /// Names the request field at fault.
    pub fn field(mut self, field: impl Into<String>) -> Problem {
        self.0.field = Some(field.into());
        self
    }

    /// Adds a member particular to this kind of problem.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Problem {
        self.0.extra.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// Sets `Retry-After` (seconds).
    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.0.retry_after = Some(seconds);
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            "The request body is not valid",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-unavailable",
            "Storage is unavailable",
            detail,
        )
        .retry_after(5)
    }

    pub fn too_large(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "The request is too large",
            detail,
        )
    }
}

impl std::ops::Deref for Problem {
    type Target = Document;

    fn deref(&self) -> &Document {
        &self.0
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry_after = self.retry_after;
        let body = serde_json::to_vec(&*self.0).expect("problems serialize");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
