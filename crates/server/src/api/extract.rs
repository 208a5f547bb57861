//! `Path` and `Query` extractors whose refusals are RFC 9457 problems.
//!
//! axum's own extractors answer a malformed path segment (`/agents/not-a-uuid`) or query
//! (`?after=abc`) with a `text/plain` 400; every error of Beckon is a problem document, so the
//! routes use these instead: the same deserialization, refused as `400 /problems/bad-request`
//! with axum's explanation as the detail.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::Problem;

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
