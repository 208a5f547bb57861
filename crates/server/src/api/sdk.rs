//! `GET /sdk/v1/{file}`: the browser SDK (spec section 9), as built by
//! `cargo run --manifest-path xtask/Cargo.toml -- sdk` (which `scripts/run.sh` and
//! `scripts/test.sh` run first).
//!
//! The files are read from a directory: `BECKON_SDK_DIR`, or the workspace's `target/sdk/dist`
//! when it is unset. Serving from a directory instead of embedding keeps the WebAssembly build out
//! of every `cargo build` of the server. Caching: the module's name carries its content hash, so
//! it is `immutable` for a year; `beckon.js` (the stable URL pages embed) is cached for five
//! minutes and revalidated with a strong `ETag`. A client that accepts gzip gets the precompressed
//! copy the build wrote. Pages load the module cross-origin, hence `Access-Control-Allow-Origin: *`.

use std::path::PathBuf;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::extract::Path;
use super::problem::Problem;

fn directory() -> PathBuf {
    std::env::var_os("BECKON_SDK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/sdk/dist"
            ))
        })
}

/// The file's content type, or `None` for names the SDK never has.
fn content_type(name: &str) -> Option<&'static str> {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if !plain || name.starts_with('.') {
        return None;
    }
    match name.rsplit('.').next()? {
        "js" => Some("text/javascript; charset=utf-8"),
        "wasm" => Some("application/wasm"),
        "ts" => Some("text/plain; charset=utf-8"),
        "html" => Some("text/plain; charset=utf-8"),
        _ => None,
    }
}

/// Whether the name carries a content hash (`beckon_bg.<16 hex>.wasm`).
fn is_hashed(name: &str) -> bool {
    name.split('.')
        .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(kind) = content_type(&name) else {
        return Problem::not_found("the SDK has no such file").into_response();
    };
    let dir = directory();
    let body = match tokio::fs::read(dir.join(&name)).await {
        Ok(body) => body,
        Err(_) if name == "beckon.js" => {
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "sdk-not-built",
                "The browser SDK is not built",
                format!(
                    "no SDK in {}; build it with `cargo run --manifest-path xtask/Cargo.toml -- sdk` or set BECKON_SDK_DIR",
                    dir.display()
                ),
            )
            .into_response();
        }
        Err(_) => return Problem::not_found("the SDK has no such file").into_response(),
    };
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..12]));
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let gzip_ok = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"));
        let compressed = if gzip_ok {
            tokio::fs::read(dir.join(format!("{name}.gz"))).await.ok()
        } else {
            None
        };
        let mut response = match compressed {
            Some(gz) => {
                let mut r = gz.into_response();
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            None => body.into_response(),
        };
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        response
    };
    let h = response.headers_mut();
    let cache = if is_hashed(&name) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300, must-revalidate"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sdk_file_names_are_served() {
        assert_eq!(
            content_type("beckon.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            content_type("beckon_bg.0123456789abcdef.wasm"),
            Some("application/wasm")
        );
        assert_eq!(content_type("../secret.js"), None);
        assert_eq!(content_type(".hidden.js"), None);
        assert_eq!(content_type("beckon.js.gz"), None);
        assert!(is_hashed("beckon_bg.0123456789abcdef.wasm"));
        assert!(!is_hashed("beckon.js"));
    }
}
