//! `Path`, `Query` and `Body` extractors whose refusals are RFC 9457 problems.
//!
//! axum's own extractors answer a malformed path segment (`/agents/not-a-uuid`) or query
//! (`?after=abc`) with a `text/plain` 400, and a body over the limit with a `text/plain` 413;
//! every error of Beckon is a problem document, so the routes use these instead: the same
//! extraction, refused as `400 /problems/bad-request` with axum's explanation as the detail, or
//! as `413 /problems/too-large`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::Problem;
use crate::app::AppState;

/// Defines an extractor wrapping axum's extractor of the same name.
macro_rules! problem_extractor {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for $name<T> {
            type Rejection = Problem;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
                axum::extract::$name::<T>::from_request_parts(parts, state)
                    .await
                    .map(|axum::extract::$name(value)| $name(value))
                    .map_err(|refused| Problem::bad_request(refused.body_text()))
            }
        }
    };
}

problem_extractor!(
    /// Path parameters, deserialized as `T`.
    Path
);
problem_extractor!(
    /// The query string, deserialized as `T`.
    Query
);

/// A request body, within `[limits] max_body_bytes` (every router's `DefaultBodyLimit`).
pub struct Body(pub Bytes);

impl FromRequest<AppState> for Body {
    type Rejection = Problem;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, Problem> {
        Bytes::from_request(request, app)
            .await
            .map(Body)
            .map_err(|refused| body_refused(app, refused))
    }
}

/// The problem of a body that could not be read: too large (413) or broken off (400).
pub fn body_refused(app: &AppState, refused: BytesRejection) -> Problem {
    if refused.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::too_large(format!(
            "the body is larger than {} bytes",
            app.config.limits.max_body_bytes
        ))
    } else {
        Problem::bad_request(format!("the body could not be read: {refused}"))
    }
}
