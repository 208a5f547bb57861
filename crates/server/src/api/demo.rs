//! `GET /demo/`: the demo site of the built-in demo (`crate::demo`), a made-up company's home,
//! pricing and support pages that load the real SDK through the Genesys snippet and list the
//! events it delivers. The pages share one layout (`crates/server/demo/site/layout.html`) and
//! carry the SDK's own snippet (`crates/sdk/js/snippet.html`) inline, as a customer's pages
//! would, so they have no CSP of their own.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::extract::Path;
use super::pages::{CSS, HTML, JS, asset};
use super::problem::Problem;
use crate::app::AppState;
use crate::config::DEMO_DEPLOYMENT_ID;

const LAYOUT: &str = include_str!("../../demo/site/layout.html");
/// The snippet the SDK ships (`/sdk/v1/snippet.html`), with its placeholders.
const SNIPPET: &str = include_str!("../../../sdk/js/snippet.html");

/// (path under `/demo/`, title, main content).
const PAGES: [(&str, &str, &str); 3] = [
    ("", "Home", include_str!("../../demo/site/home.html")),
    (
        "pricing",
        "Pricing",
        include_str!("../../demo/site/pricing.html"),
    ),
    (
        "support",
        "Support",
        include_str!("../../demo/site/support.html"),
    ),
];

/// The SDK's snippet (without its how-to comment) for the demo deployment, loading the SDK from
/// this server.
fn snippet() -> String {
    SNIPPET[SNIPPET.find("<script>").unwrap_or(0)..]
        .replace("https://BECKON_HOST/sdk/v1/beckon.js", "/sdk/v1/beckon.js")
        .replace("DEPLOYMENT_ID", &DEMO_DEPLOYMENT_ID.to_string())
}

/// `/demo` → `/demo/`, so that the site has one address.
pub async fn root() -> Redirect {
    Redirect::permanent("/demo/")
}

/// The home page.
pub async fn home(state: State<AppState>) -> Response {
    page(state, Path(String::new())).await
}

/// A page of the site, or its style sheet or script.
pub async fn page(State(app): State<AppState>, Path(name): Path<String>) -> Response {
    match name.as_str() {
        "site.css" => return asset(CSS, include_str!("../../demo/site/site.css"), None),
        "site.js" => return asset(JS, include_str!("../../demo/site/site.js"), None),
        _ => {}
    }
    if !app.deployments.contains_key(&DEMO_DEPLOYMENT_ID) {
        return Problem::not_found(
            "the demo site runs with the demo deployment only (beckon serve with no deployments configured)",
        )
        .into_response();
    }
    match PAGES.iter().find(|(path, _, _)| *path == name) {
        Some((_, title, main)) => asset(
            HTML,
            LAYOUT
                .replace("{{title}}", title)
                .replace("{{snippet}}", &snippet())
                .replace("{{main}}", main),
            None,
        ),
        None => Problem::not_found("the demo site has no such page").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_loads_the_sdk_from_this_server_for_the_demo_deployment() {
        let s = snippet();
        assert!(s.contains("'/sdk/v1/beckon.js', 'ac');"), "{s}");
        assert!(
            s.contains(&format!("ac('init', '{DEMO_DEPLOYMENT_ID}');")),
            "{s}"
        );
        assert!(
            !s.contains("BECKON_HOST") && !s.contains("DEPLOYMENT_ID"),
            "{s}"
        );
    }
}
