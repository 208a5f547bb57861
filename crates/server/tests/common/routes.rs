//! The routes the server registers, read from its source: every `.route(path, method_router)`
//! in `src/`, so that tests covering every route (security, the OpenAPI document) cannot miss a
//! new one.

use std::collections::BTreeMap;

use super::DEPLOYMENT;

/// Every `.route(path, method_router)` in `src/`: the path (string literal or a `const` of the
/// same file) and the methods it takes.
pub fn routes() -> BTreeMap<String, Vec<&'static str>> {
    let mut found: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    let mut files = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let parts: Vec<&str> = text.split(".route(").collect();
        for part in &parts[1..] {
            let first = part.trim_start();
            let route = if let Some(rest) = first.strip_prefix('"') {
                rest[..rest.find('"').unwrap()].to_owned()
            } else {
                let name: String = first
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let decl = format!("const {name}: &str = \"");
                let start = text
                    .find(&decl)
                    .unwrap_or_else(|| panic!("{}: route const {name} not found", path.display()))
                    + decl.len();
                text[start..start + text[start..].find('"').unwrap()].to_owned()
            };
            // The method router runs to the next builder call (or the end of the function).
            let end = [
                ".merge(",
                ".fallback(",
                ".layer(",
                ".route_layer(",
                ".with_state(",
                "\n}",
            ]
            .iter()
            .filter_map(|m| part.find(m))
            .min()
            .unwrap_or(part.len());
            let body = &part[..end];
            let methods = found.entry(route).or_default();
            for (word, method) in [
                ("get(", "GET"),
                ("post(", "POST"),
                ("put(", "PUT"),
                ("patch(", "PATCH"),
                ("delete(", "DELETE"),
                ("options(", "OPTIONS"),
            ] {
                let taken = body.match_indices(word).any(|(i, _)| {
                    i == 0
                        || !body.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && body.as_bytes()[i - 1] != b'_'
                });
                if taken && !methods.contains(&method) {
                    methods.push(method);
                }
            }
        }
    }
    found
}

/// A concrete path for a route pattern: a known collection, sink and file, UUIDs elsewhere.
pub fn concrete(route: &str) -> String {
    route
        .split('/')
        .map(|seg| match seg {
            "{deployment_id}" => DEPLOYMENT.to_owned(),
            "{collection}" => "actionmaps".to_owned(),
            "{name}" => "hook".to_owned(),
            "{file}" => "beckon.js".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}
