//! `beckon`: the Beckon server and its command-line tools.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use beckon_server::config::{Config, LogFormat};
use beckon_server::{app, cli};

/// mimalloc instead of glibc's allocator: a request allocates and frees dozens of small buffers
/// across the runtime's threads, and glibc's malloc and free were about a sixth of the server's
/// CPU time per ingested event in profiles (BENCHMARKS.md). Built without transparent huge pages
/// (`no_thp`): with them, the idle server's resident memory doubled.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "beckon",
    version,
    about = "Self-hosted web actions: offers, chat invitations and their lifecycle events"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (with no configuration: an embedded database and a demo deployment).
    Serve {
        /// A TOML configuration file.
        #[arg(long, short, env = "BECKON_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on (overrides the file and BECKON_LISTEN).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Where the database and generated secrets live (overrides the file and BECKON_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Check a configuration file and report the first problem with its line.
    CheckConfig {
        /// The TOML configuration file.
        file: PathBuf,
    },
    /// Print live events from a running server as NDJSON (one event object per line).
    Tail(cli::tail::TailArgs),
    /// List, replay or discard what sinks could not deliver (through a running server's admin
    /// API).
    DeadLetters(cli::dead_letters::DeadLettersArgs),
    /// Load a Genesys export (action maps, templates, segments) into a running server.
    Import(cli::import::ImportArgs),
    /// Read a password on standard input and print its argon2id hash, for `[[agents]]`
    /// `password_hash` in the configuration.
    HashPassword,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn load(config: Option<PathBuf>) -> anyhow::Result<Config> {
    let mut config = match config {
        Some(path) => Config::from_file(&path)?,
        None => Config::builtin_demo(),
    };
    config
        .apply_env(|k| std::env::var(k).ok())
        .map_err(anyhow::Error::msg)?;
    Ok(config)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
        } => load(config).and_then(|mut config| {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            init_logging(config.log_format);
            let _ = rustls::crypto::ring::default_provider().install_default();
            tokio::runtime::Runtime::new()?.block_on(app::serve(config.with_demo_deployment()))
        }),
        Command::CheckConfig { file } => Config::from_file(&file)
            .map_err(anyhow::Error::from)
            .and_then(|c| {
                beckon_server::geoip::Locator::open(&c.geolocation, &c.limits.trusted_proxies)?;
                println!(
                    "{}: ok ({} deployments, {} sinks)",
                    file.display(),
                    c.deployments.len(),
                    c.sinks.len()
                );
                Ok(())
            }),
        Command::Tail(args) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            tokio::runtime::Runtime::new()
                .map_err(Into::into)
                .and_then(|rt| rt.block_on(cli::tail::run(args)))
        }
        Command::DeadLetters(args) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            tokio::runtime::Runtime::new()
                .map_err(Into::into)
                .and_then(|rt| rt.block_on(cli::dead_letters::run(args)))
        }
        Command::Import(args) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            tokio::runtime::Runtime::new()
                .map_err(Into::into)
                .and_then(|rt| rt.block_on(cli::import::run(args)))
        }
        Command::HashPassword => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(Into::into)
                .map(|_| {
                    let password = password.trim_end_matches(['\r', '\n']);
                    println!("{}", beckon_server::chat::agents::hash_password(password));
                })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beckon: {e:#}");
            ExitCode::FAILURE
        }
    }
}
