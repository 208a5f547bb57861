//! `GET /console`: the agent console, a plain page with one script and one style sheet served
//! from the binary under a strict Content-Security-Policy (no inline script or style; every
//! text from a message is set as text, never as HTML). Its code is in `crates/server/console/`.

use axum::response::Response;

use super::extract::Path;
use super::pages::{CSS, File, HTML, JS, STRICT_CSP, asset, strict_file};

const FILES: [File; 3] = [
    ("common.js", JS, include_str!("../../pages/common.js")),
    ("console.js", JS, include_str!("../../console/console.js")),
    (
        "console.css",
        CSS,
        include_str!("../../console/console.css"),
    ),
];

/// The console page.
pub async fn page() -> Response {
    asset(
        HTML,
        include_str!("../../console/index.html"),
        Some(STRICT_CSP),
    )
}

/// `console.js`, `console.css` and `common.js` (shared with the dashboard).
pub async fn file(Path(file): Path<String>) -> Response {
    strict_file(&FILES, &file, "the console has no such file")
}
