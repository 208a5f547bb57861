//! The running server: shared state, the router, and start-up and graceful shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken as Shutdown;
use uuid::Uuid;

use crate::api::{self, auth::Tokens, limits::RateLimiter};
use crate::config::{Config, Deployment};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

/// What every request handler can reach: one shared [`Shared`] behind an `Arc`. axum clones the
/// state for every extractor and middleware layer of every request, so a clone must be one
/// reference count, not a dozen of them plus the tokens' strings and the shutdown token's lock.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The server's shared parts.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub deployments: Arc<HashMap<Uuid, Deployment>>,
    pub tokens: Tokens,
    pub limiter: Arc<RateLimiter>,
    /// Agent sign-in attempts per client and per email address (`[chat]`).
    pub sign_ins: Arc<crate::api::sign_ins::SignInLimiter>,
    pub metrics: Arc<Metrics>,
    pub shutdown: Shutdown,
    /// The configured sinks, for their runners and the admin API.
    pub sinks: Arc<crate::stream::sinks::Sinks>,
    /// Each deployment's action maps, templates, segments, schedule groups, compiled.
    pub catalogs: Arc<crate::catalogs::Catalogs>,
    /// One decision at a time per customer.
    pub decisions: Arc<crate::decisions::Locks>,
    /// Web chat: conversations, the queue, agents and their presence.
    pub chat: Arc<crate::chat::Chat>,
    /// Where visitors are: trusted headers and the GeoIP database, as configured.
    pub locator: Arc<crate::geoip::Locator>,
}

/// How often the rate limiter forgets the clients whose buckets are full again.
const RATE_PRUNE_EVERY: Duration = Duration::from_secs(5);

/// The fewest characters a configured token should have: a generated one has 64 hex digits.
const GUESSABLE_BELOW: usize = 32;

/// Warns when a configured token is short: failed admin and read tries are not rate-limited, so
/// a short token could be found by trying.
fn warn_if_guessable(which: &str, token: &str) {
    if guessable(token) {
        tracing::warn!(
            "the {which} has fewer than {GUESSABLE_BELOW} characters and could be guessed: use a \
             long random one (openssl rand -hex 32)"
        );
    }
}

/// Whether a token is shorter than [`GUESSABLE_BELOW`] characters.
fn guessable(token: &str) -> bool {
    token.chars().count() < GUESSABLE_BELOW
}

/// Reads the admin token from the configuration, or from the data directory, or makes one.
fn admin_token(config: &Config) -> anyhow::Result<String> {
    if let Some(token) = &config.admin_token {
        return Ok(token.expose().to_owned());
    }
    let path = config.data_dir.join("admin-token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        if crate::config::blank(&token) {
            anyhow::bail!(
                "{} is empty: write a token in it, or remove it to have one generated",
                path.display()
            );
        }
        return Ok(token.trim().to_owned());
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    write_private(&path, &token)?;
    tracing::info!(path = %path.display(), "generated an admin token; it is stored in this file");
    Ok(token)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot create {}", path.display()))
}

/// Creates the data directory, and any missing parent, readable by the server's user alone: it
/// holds visitors' form answers, conversations and agents' password hashes. One that exists is
/// left as its owner set it.
#[cfg(unix)]
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Files the server keeps open besides its connections: the databases and their WAL files, the
/// sinks' files, the GeoIP database, and some to spare.
const FILES_BESIDES_CONNECTIONS: u64 = 256;

/// Raises the soft limit on open files to the hard one: a soft limit of 1,024 (systemd's and most
/// shells' default) would run out long before `limits.max_connections`, and then `accept` and
/// SQLite's `open` fail for everyone. Warns when even the hard limit is below what
/// `max_connections` needs.
#[cfg(unix)]
fn raise_open_files_limit(max_connections: usize) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let was = limit.current;
        limit.current = limit.maximum;
        if let Err(error) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(%error, ?was, "could not raise the open-files limit to its hard limit");
        }
    }
    let needed = max_connections as u64 + FILES_BESIDES_CONNECTIONS;
    if let Some(soft) = getrlimit(Resource::Nofile).current
        && soft < needed
    {
        tracing::warn!(
            open_files = soft,
            needed,
            "the open-files limit is below limits.max_connections plus the server's own files: \
             raise it (ulimit -n, LimitNOFILE=) or lower max_connections"
        );
    }
}

#[cfg(not(unix))]
fn raise_open_files_limit(_max_connections: usize) {}

#[cfg(not(unix))]
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Opens the store, starts the sinks and serves until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    if config.demo && !config.listen.ip().is_loopback() {
        anyhow::bail!(
            "the built-in demo listens on loopback only (127.0.0.1 or ::1), not on {}: its demo \
             agent's password is public. To serve on a network, give a configuration file \
             (--config; see docs/operations.md)",
            config.listen
        );
    }
    let locator = Arc::new(crate::geoip::Locator::open(
        &config.geolocation,
        &config.limits.trusted_proxies,
    )?);
    raise_open_files_limit(config.limits.max_connections);
    create_private_dir(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let tokens = Tokens {
        admin: admin_token(&config)?,
        read: config.read_token.as_deref().map(str::to_owned),
    };
    warn_if_guessable("admin token", &tokens.admin);
    if let Some(read) = &tokens.read {
        warn_if_guessable("read token", read);
    }
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&config.data_dir.join("beckon.db")).context("cannot open the store")?,
    );
    let deployment_ids: Vec<Uuid> = config.deployments.iter().map(|d| d.id).collect();
    let catalogs = Arc::new(crate::catalogs::Catalogs::load(store.clone(), &deployment_ids).await?);
    if let Some(dir) = &config.provisioning_dir {
        crate::provisioning::provision(&catalogs, dir, &deployment_ids)
            .await
            .with_context(|| format!("cannot provision from {}", dir.display()))?;
    }
    if config.demo {
        crate::demo::seed(&config, &catalogs, store.as_ref())
            .await
            .context("cannot seed the demo")?;
    } else {
        crate::demo::retire_agent(store.as_ref()).await?;
    }
    let chat = crate::chat::Chat::load(store.clone(), config.chat.clone(), &config.agents)
        .await
        .context("cannot load web chat")?;
    let metrics = Arc::new(Metrics::default());
    let shutdown = Shutdown::new();
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let limiter = Arc::new(RateLimiter::new(&config.limits));
    tokio::spawn(RateLimiter::prune(
        Arc::downgrade(&limiter),
        RATE_PRUNE_EVERY,
    ));
    let state = AppState(Arc::new(Shared {
        store: store.clone(),
        deployments: Arc::new(
            config
                .deployments
                .iter()
                .map(|d| (d.id, d.clone()))
                .collect(),
        ),
        limiter,
        sign_ins: Arc::new(crate::api::sign_ins::SignInLimiter::new(&config.chat)),
        tokens,
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
        sinks: Arc::new(crate::stream::sinks::Sinks::new(&config.sinks, &metrics)?),
        catalogs,
        decisions: Default::default(),
        chat,
        locator,
        config: Arc::new(config),
    }));
    for d in state.deployments.values() {
        tracing::info!(deployment = %d.id, name = %d.name, origins = ?d.allowed_origins.iter().map(|o| o.as_str()).collect::<Vec<_>>(), "deployment");
    }
    let sinks = crate::stream::sinks::spawn_all(&state);
    let app: Router = api::router(state.clone());
    tracing::info!(%address, "beckon is listening");
    println!("beckon listening on http://{address}");
    if state.config.demo {
        crate::demo::announce(&state.config, store.as_ref()).await;
    }
    tokio::spawn(wait_for_signal(shutdown.clone()));
    let header_timeout = Duration::from_secs(state.config.limits.request_timeout_secs);
    let max_connections = state.config.limits.max_connections;
    crate::http::serve(
        listener,
        app,
        header_timeout,
        max_connections,
        metrics,
        shutdown,
    )
    .await;
    // New requests have stopped; in-flight commits were answered before the server returned.
    // Each sink finishes the delivery in flight (within its timeout) and saves its cursor.
    sinks.stop().await;
    tracing::info!("beckon stopped");
    Ok(())
}

async fn wait_for_signal(shutdown: Shutdown) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: no new requests, finishing those in flight");
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    use super::guessable;

    #[test]
    fn a_token_under_32_characters_is_guessable() {
        assert!(guessable("bench"));
        assert!(guessable(&"x".repeat(31)));
        assert!(!guessable(&"x".repeat(32)));
        // A generated token: 64 hex digits.
        assert!(!guessable(&hex::encode([7u8; 32])));
    }
}
