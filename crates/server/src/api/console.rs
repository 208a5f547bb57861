//! `GET /console`: the agent console, a plain page with one script and one style sheet served
//! from the binary under a strict Content-Security-Policy (no inline script or style; every
//! text from a message is set as text, never as HTML). Its code is in `crates/server/console/`.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::problem::Problem;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut r = text.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The console page.
pub async fn page() -> Response {
    asset(
        "text/html; charset=utf-8",
        include_str!("../../console/index.html"),
    )
}

/// `console.js` and `console.css`.
pub async fn file(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "console.js" => asset(
            "text/javascript; charset=utf-8",
            include_str!("../../console/console.js"),
        ),
        "console.css" => asset(
            "text/css; charset=utf-8",
            include_str!("../../console/console.css"),
        ),
        _ => Problem::not_found("the console has no such file").into_response(),
    }
}
