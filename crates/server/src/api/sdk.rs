//! `GET /sdk/v1/{file}`: the browser SDK (spec section 9), as built by `bash scripts/build-sdk.sh`
//! (which `scripts/run.sh` and `scripts/test.sh` run first).
//!
//! The files are read from a directory: `BECKON_SDK_DIR`, or the workspace's `target/sdk/dist`
//! when it is unset. Serving from a directory instead of embedding keeps the WebAssembly build out
//! of every `cargo build` of the server. Every page that has the snippet waits for these two
//! downloads before the SDK is ready, so a file is read and hashed once and then answered from
//! memory (a rebuilt file, seen by its size and modification time, is read again).
//!
//! Caching: the module's name carries its content hash, so it is `immutable` for a year;
//! `beckon.js` (the stable URL pages embed) is cached for five minutes and revalidated with a
//! strong `ETag` (`304 Not Modified`). Encoding: the build writes Brotli and gzip copies; a client
//! gets the smallest one its `Accept-Encoding` allows, each with its own `ETag`. Pages load the
//! files cross-origin, hence `Access-Control-Allow-Origin: *`, and `Timing-Allow-Origin: *` lets a
//! page's Resource Timing see where the download's time went.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
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

/// The content codings the build writes copies in, smallest first: the file `<name>.<suffix>`
/// is served with `Content-Encoding: <token>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    const ALL: [Coding; 2] = [Coding::Brotli, Coding::Gzip];

    fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gz",
        }
    }
}

/// Whether `Accept-Encoding` allows `coding` (RFC 9110 12.5.3): named, or matched by `*`, with a
/// q-value above zero. By hand, because no crate the server uses parses this header.
fn accepts(accept_encoding: &str, coding: Coding) -> bool {
    let mut star = false;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        let allowed = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .all(|q| q.trim().parse::<f32>().map_or(true, |q| q > 0.0));
        if token.eq_ignore_ascii_case(coding.token()) {
            return allowed;
        }
        if token == "*" {
            star = allowed;
        }
    }
    star
}

/// One representation of a file: its bytes, its coding (`None`: as built) and its `ETag`.
struct Representation {
    coding: Option<Coding>,
    body: Bytes,
    etag: HeaderValue,
}

/// A file as read from the directory, with the copies the build compressed.
struct Cached {
    /// The file's size and modification time when it was read: either changing means a rebuild.
    stamp: (u64, SystemTime),
    /// The compressed copies, smallest coding first, then the file as built.
    representations: Vec<Representation>,
}

impl Cached {
    async fn read(path: &FsPath, stamp: (u64, SystemTime)) -> std::io::Result<Cached> {
        let body = tokio::fs::read(path).await?;
        let hash = hex::encode(&Sha256::digest(&body)[..12]);
        let etag = |suffix: &str| {
            HeaderValue::from_str(&format!("\"{hash}{suffix}\"")).expect("hex is a valid header")
        };
        let mut representations = Vec::new();
        for coding in Coding::ALL {
            let mut copy = path.as_os_str().to_owned();
            copy.push(".");
            copy.push(coding.suffix());
            if let Ok(compressed) = tokio::fs::read(&copy).await {
                representations.push(Representation {
                    coding: Some(coding),
                    body: compressed.into(),
                    etag: etag(&format!("-{}", coding.token())),
                });
            }
        }
        representations.push(Representation {
            coding: None,
            body: body.into(),
            etag: etag(""),
        });
        Ok(Cached {
            stamp,
            representations,
        })
    }

    /// The representation for a request's `Accept-Encoding`.
    fn choose(&self, accept_encoding: &str) -> &Representation {
        self.representations
            .iter()
            .find(|r| r.coding.is_none_or(|c| accepts(accept_encoding, c)))
            .expect("the file as built is always there")
    }
}

/// Files read so far, by path.
static FILES: LazyLock<Mutex<HashMap<PathBuf, Arc<Cached>>>> = LazyLock::new(Default::default);

/// The file at `path`, read again when its size or modification time changed.
async fn cached(path: &FsPath) -> std::io::Result<Arc<Cached>> {
    let meta = tokio::fs::metadata(path).await?;
    let stamp = (meta.len(), meta.modified()?);
    let known = FILES.lock().expect("not poisoned").get(path).cloned();
    if let Some(file) = known.filter(|f| f.stamp == stamp) {
        return Ok(file);
    }
    let file = Arc::new(Cached::read(path, stamp).await?);
    FILES
        .lock()
        .expect("not poisoned")
        .insert(path.to_owned(), file.clone());
    Ok(file)
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2).
fn matches(if_none_match: &str, etag: &HeaderValue) -> bool {
    let etag = etag.to_str().unwrap_or("");
    if_none_match
        .split(',')
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

pub async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&directory(), &name, &headers).await
}

async fn serve(dir: &FsPath, name: &str, headers: &HeaderMap) -> Response {
    let Some(kind) = content_type(name) else {
        return Problem::not_found("the SDK has no such file").into_response();
    };
    let file = match cached(&dir.join(name)).await {
        Ok(file) => file,
        Err(_) if name == "beckon.js" => {
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "sdk-not-built",
                "The browser SDK is not built",
                format!(
                    "no SDK in {}; build it with `bash scripts/build-sdk.sh` or set BECKON_SDK_DIR",
                    dir.display()
                ),
            )
            .into_response();
        }
        Err(_) => return Problem::not_found("the SDK has no such file").into_response(),
    };
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let chosen = file.choose(text(header::ACCEPT_ENCODING).unwrap_or(""));
    let mut response = if text(header::IF_NONE_MATCH).is_some_and(|v| matches(v, &chosen.etag)) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = chosen.body.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        if let Some(coding) = chosen.coding {
            r.headers_mut().insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.token()),
            );
        }
        r
    };
    let h = response.headers_mut();
    let cache = if is_hashed(name) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300, must-revalidate"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ETAG, chosen.etag.clone());
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert("timing-allow-origin", HeaderValue::from_static("*"));
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
        assert_eq!(content_type("beckon.js.br"), None);
        assert!(is_hashed("beckon_bg.0123456789abcdef.wasm"));
        assert!(!is_hashed("beckon.js"));
    }

    #[test]
    fn accept_encoding_is_read_with_q_values_and_star() {
        let br = |v| accepts(v, Coding::Brotli);
        let gzip = |v| accepts(v, Coding::Gzip);
        assert!(br("gzip, deflate, br, zstd") && gzip("gzip, deflate, br, zstd"));
        assert!(!br("gzip") && gzip("gzip"));
        assert!(!br("br;q=0, gzip") && gzip("br;q=0, gzip"));
        assert!(br("BR;q=0.5") && !gzip("BR;q=0.5"));
        assert!(br("*") && gzip("*;q=0.1"));
        assert!(!gzip("*;q=0") && !br("*;q=0, gzip"));
        assert!(!br("") && !gzip("identity"));
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let etag = HeaderValue::from_static("\"abc-br\"");
        assert!(matches("\"abc-br\"", &etag));
        assert!(matches("\"x\", W/\"abc-br\"", &etag));
        assert!(matches("*", &etag));
        assert!(!matches("\"abc\"", &etag));
    }

    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new() -> Dir {
            let dir = Dir(tempfile::tempdir().unwrap());
            dir.write("beckon.js", b"console.log('sdk');");
            dir.write("beckon.js.gz", b"gzip bytes");
            dir.write("beckon.js.br", b"br bytes");
            dir.write("beckon_bg.0123456789abcdef.wasm", b"\0asm module");
            dir.write("beckon_bg.0123456789abcdef.wasm.gz", b"gzip module");
            dir
        }

        fn write(&self, name: &str, body: &[u8]) {
            std::fs::write(self.0.path().join(name), body).unwrap();
        }

        async fn get(&self, name: &str, request: &[(&'static str, &str)]) -> Response {
            let mut headers = HeaderMap::new();
            for (k, v) in request {
                headers.insert(*k, HeaderValue::from_str(v).unwrap());
            }
            serve(self.0.path(), name, &headers).await
        }
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn the_smallest_accepted_copy_is_served_with_its_encoding() {
        let dir = Dir::new();
        let r = dir
            .get(
                "beckon.js",
                &[("accept-encoding", "gzip, deflate, br, zstd")],
            )
            .await;
        assert_eq!(header(&r, "content-encoding"), Some("br"));
        assert_eq!(header(&r, "vary"), Some("Accept-Encoding"));
        assert_eq!(body(r).await, b"br bytes");
        let r = dir.get("beckon.js", &[("accept-encoding", "gzip")]).await;
        assert_eq!(header(&r, "content-encoding"), Some("gzip"));
        assert_eq!(body(r).await, b"gzip bytes");
        let r = dir.get("beckon.js", &[]).await;
        assert_eq!(header(&r, "content-encoding"), None);
        assert_eq!(
            header(&r, "content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(body(r).await, b"console.log('sdk');");
        // No Brotli copy of the module: gzip it is.
        let r = dir
            .get(
                "beckon_bg.0123456789abcdef.wasm",
                &[("accept-encoding", "br, gzip")],
            )
            .await;
        assert_eq!(header(&r, "content-encoding"), Some("gzip"));
        assert_eq!(header(&r, "content-type"), Some("application/wasm"));
    }

    #[tokio::test]
    async fn cache_headers_and_revalidation() {
        let dir = Dir::new();
        let wasm = dir
            .get(
                "beckon_bg.0123456789abcdef.wasm",
                &[("accept-encoding", "gzip")],
            )
            .await;
        assert_eq!(
            header(&wasm, "cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(header(&wasm, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&wasm, "timing-allow-origin"), Some("*"));
        let script = dir.get("beckon.js", &[("accept-encoding", "br")]).await;
        assert_eq!(
            header(&script, "cache-control"),
            Some("public, max-age=300, must-revalidate")
        );
        let br_tag = header(&script, "etag").unwrap().to_owned();
        let plain = dir.get("beckon.js", &[]).await;
        let plain_tag = header(&plain, "etag").unwrap().to_owned();
        assert_ne!(br_tag, plain_tag, "each representation has its own tag");

        let again = dir
            .get(
                "beckon.js",
                &[("accept-encoding", "br"), ("if-none-match", &br_tag)],
            )
            .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&again, "etag"), Some(br_tag.as_str()));
        assert_eq!(
            header(&again, "cache-control"),
            Some("public, max-age=300, must-revalidate")
        );
        assert!(body(again).await.is_empty());
        // The tag of another representation does not match.
        let other = dir
            .get(
                "beckon.js",
                &[("accept-encoding", "br"), ("if-none-match", &plain_tag)],
            )
            .await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_rebuilt_file_is_read_again() {
        let dir = Dir::new();
        let before = dir.get("beckon.js", &[]).await;
        let tag = header(&before, "etag").unwrap().to_owned();
        dir.write("beckon.js", b"console.log('rebuilt, and longer');");
        let after = dir.get("beckon.js", &[("if-none-match", &tag)]).await;
        assert_eq!(after.status(), StatusCode::OK);
        assert_ne!(header(&after, "etag"), Some(tag.as_str()));
        assert_eq!(body(after).await, b"console.log('rebuilt, and longer');");
    }

    #[tokio::test]
    async fn missing_files_and_other_names() {
        let dir = tempfile::tempdir().unwrap();
        let r = serve(dir.path(), "beckon.js", &HeaderMap::new()).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = serve(
            dir.path(),
            "beckon_bg.0123456789abcdef.wasm",
            &HeaderMap::new(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = serve(dir.path(), "beckon.js.br", &HeaderMap::new()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
