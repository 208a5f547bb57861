//! `GET /dashboard`: the admin dashboard (action maps with their funnels, trends and blocked
//! reasons, activate and deactivate, a live event console), a plain page with one script and
//! one style sheet served from the binary under a strict Content-Security-Policy. The page signs
//! in with the admin token and calls the admin, report and stream routes with it; everything
//! it shows from configuration or events is set as text. Its code is in
//! `crates/server/dashboard/`.

use axum::response::Response;

use super::extract::Path;
use super::pages::{CSS, File, HTML, JS, STRICT_CSP, asset, strict_file};

const FILES: [File; 3] = [
    ("common.js", JS, include_str!("../../pages/common.js")),
    (
        "dashboard.js",
        JS,
        include_str!("../../dashboard/dashboard.js"),
    ),
    (
        "dashboard.css",
        CSS,
        include_str!("../../dashboard/dashboard.css"),
    ),
];

/// The dashboard page.
pub async fn page() -> Response {
    asset(
        HTML,
        include_str!("../../dashboard/index.html"),
        Some(STRICT_CSP),
    )
}

/// `dashboard.js`, `dashboard.css` and `common.js` (shared with the console).
pub async fn file(Path(file): Path<String>) -> Response {
    strict_file(&FILES, &file, "the dashboard has no such file")
}
