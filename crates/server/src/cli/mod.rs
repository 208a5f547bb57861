//! Command-line tools that talk to a running server.

pub mod dead_letters;
pub mod import;
pub mod tail;

use std::path::Path;

use anyhow::{Context, bail};

/// The token to present: `explicit` (`--token`), else the first of `env_vars` that is set, else
/// the admin token stored in `<data_dir>/admin-token` by `beckon serve`. Trimmed, as the server
/// trims the tokens it is configured with (a `"tok\n"` could not go in a header); an empty one is
/// refused here, as the server refuses to be configured with one, rather than sent to earn a 403.
pub fn token(explicit: Option<&str>, env_vars: &[&str], data_dir: &Path) -> anyhow::Result<String> {
    let given = match explicit {
        Some(t) => Some(("--token", t.to_owned())),
        None => env_vars
            .iter()
            .find_map(|var| std::env::var(var).ok().map(|t| (*var, t))),
    };
    let token = match given {
        Some((from, t)) if t.trim().is_empty() => {
            bail!("{from} is empty: give a token, or leave it out to use another")
        }
        Some((_, t)) => t,
        None => {
            let path = data_dir.join("admin-token");
            std::fs::read_to_string(&path).with_context(|| {
                format!("no token given and none readable at {}", path.display())
            })?
        }
    };
    Ok(token.trim().to_owned())
}

/// The URL of one of the server's routes (`path`, from `/`) under its base URL `server`, whose
/// own path is kept: a proxy may serve Beckon under a prefix (`https://example.com/beckon`).
pub fn endpoint(server: &str, path: &str) -> anyhow::Result<reqwest::Url> {
    let url = reqwest::Url::parse(&format!("{}{path}", server.trim_end_matches('/')))
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .with_context(|| format!("'{server}' is not an http(s) URL"))?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_keeps_the_servers_path_prefix() {
        let url = |server| endpoint(server, "/api/v1/sinks").map(|u| u.to_string());
        assert_eq!(
            url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/api/v1/sinks"
        );
        assert_eq!(
            url("https://example.com/beckon/").unwrap(),
            "https://example.com/beckon/api/v1/sinks"
        );
        for wrong in ["localhost:8080", "example.com", "ftp://example.com", ""] {
            let error = url(wrong).unwrap_err().to_string();
            assert!(error.contains("is not an http(s) URL"), "{wrong}: {error}");
        }
    }

    #[test]
    fn an_empty_token_is_refused_not_sent() {
        let nowhere = Path::new("/nonexistent");
        let error = token(Some(" \n"), &[], nowhere).unwrap_err().to_string();
        assert!(error.starts_with("--token is empty"), "{error}");
        assert_eq!(token(Some(" tok\n"), &[], nowhere).unwrap(), "tok");
    }
}
