//! Pages served from the binary (the agent console, the dashboard, the demo site): one way to
//! answer with a file's text, so that every page gets the same headers. The console and the
//! dashboard run under [`STRICT_CSP`]: no inline script or style, no other origin.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The Content-Security-Policy of the console and the dashboard.
pub const STRICT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                              connect-src 'self'; img-src 'self'; base-uri 'none'; \
                              form-action 'none'; frame-ancestors 'none'";

/// `body` as `content_type`, not cached without a check, not sniffed, under `csp` if given.
pub fn asset(
    content_type: &'static str,
    body: impl IntoResponse,
    csp: Option<&'static str>,
) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(csp) = csp {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// One file of a page: its name under the page's path, its content type and its text.
pub type File = (&'static str, &'static str, &'static str);

/// The content type of HTML pages.
pub const HTML: &str = "text/html; charset=utf-8";
/// The content type of scripts.
pub const JS: &str = "text/javascript; charset=utf-8";
/// The content type of style sheets.
pub const CSS: &str = "text/css; charset=utf-8";

/// The file of `files` named `name` under [`STRICT_CSP`], or a 404 problem saying `missing`.
pub fn strict_file(files: &[File], name: &str, missing: &'static str) -> Response {
    match files.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, text)) => asset(content_type, *text, Some(STRICT_CSP)),
        None => super::problem::Problem::not_found(missing).into_response(),
    }
}
