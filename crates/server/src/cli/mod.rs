//! Command-line tools that talk to a running server.

pub mod dead_letters;
pub mod import;
pub mod tail;

use std::path::Path;

use anyhow::Context;

/// The token to present: `explicit` (`--token`), else the first of `env_vars` that is set, else
/// the admin token stored in `<data_dir>/admin-token` by `beckon serve`. Trimmed, as the server
/// trims the tokens it is configured with (a `"tok\n"` could not go in a header).
pub fn token(explicit: Option<&str>, env_vars: &[&str], data_dir: &Path) -> anyhow::Result<String> {
    let given = explicit
        .map(str::to_owned)
        .or_else(|| env_vars.iter().find_map(|var| std::env::var(var).ok()));
    let token = match given {
        Some(t) => t,
        None => {
            let path = data_dir.join("admin-token");
            std::fs::read_to_string(&path).with_context(|| {
                format!("no token given and none readable at {}", path.display())
            })?
        }
    };
    Ok(token.trim().to_owned())
}
