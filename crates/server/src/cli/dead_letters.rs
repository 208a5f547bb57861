//! `beckon dead-letters list|replay|discard`: see, replay or drop what sinks gave up on, through
//! a running server's admin API (`/api/v1/sinks/...`), with the admin token.
//!
//! `list` prints one line per dead letter (or the API's JSON with `--json`); `replay` delivers
//! dead letters again through their sink, oldest first, and removes those that went through. A
//! replay that fails leaves the dead letter in place and makes the command fail. `discard`
//! removes one dead letter without delivering it (a batch the receiver will never take), which
//! releases the customers it held.

use anyhow::{Context, bail};
use serde_json::Value;

#[derive(clap::Args)]
pub struct DeadLettersArgs {
    #[command(subcommand)]
    action: Action,
    /// The server's base URL.
    #[arg(
        long,
        global = true,
        env = "BECKON_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// The admin token (default: BECKON_ADMIN_TOKEN, or the data directory's admin-token file).
    #[arg(long, global = true)]
    token: Option<String>,
    /// The data directory to read the admin token from when no token is given.
    #[arg(
        long,
        global = true,
        env = "BECKON_DATA_DIR",
        default_value = ".beckon-data"
    )]
    data_dir: std::path::PathBuf,
    /// Only this sink (default: every sink).
    #[arg(long, global = true)]
    sink: Option<String>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// List dead letters: sink, id, sequence numbers, record count, when, and the error.
    List {
        /// Print the admin API's JSON (with the records) instead of one line per dead letter.
        #[arg(long)]
        json: bool,
    },
    /// Deliver dead letters again through their sink; each one that goes through is removed.
    Replay {
        /// Only the dead letter with this id.
        #[arg(long)]
        id: Option<i64>,
    },
    /// Remove one dead letter without delivering it; its records stay in the log.
    Discard {
        /// The dead letter's id.
        #[arg(long)]
        id: i64,
    },
}

struct Api {
    client: reqwest::Client,
    server: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str) -> anyhow::Result<Value> {
        let url = super::endpoint(&self.server, path)?;
        let response = self
            .client
            .request(method, url.clone())
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let detail = body["detail"].as_str().unwrap_or("no detail");
            bail!("{url} answered {status}: {detail}");
        }
        Ok(body)
    }

    /// The sinks to work on: the one named, or all.
    async fn sinks(&self, only: Option<&str>) -> anyhow::Result<Vec<String>> {
        if let Some(name) = only {
            return Ok(vec![name.to_owned()]);
        }
        let body = self.call(reqwest::Method::GET, "/api/v1/sinks").await?;
        Ok(body["sinks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str().map(str::to_owned))
            .collect())
    }

    /// The sink, of those given, that has the dead letter `id`.
    async fn holder<'a>(&self, sinks: &'a [String], id: i64) -> anyhow::Result<&'a str> {
        for sink in sinks {
            if self
                .letters(sink)
                .await?
                .iter()
                .any(|l| l["id"].as_i64() == Some(id))
            {
                return Ok(sink);
            }
        }
        bail!("no dead letter has id {id}")
    }

    async fn letters(&self, sink: &str) -> anyhow::Result<Vec<Value>> {
        let body = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/sinks/{}/dead-letters", segment(sink)),
            )
            .await?;
        Ok(body["deadLetters"].as_array().cloned().unwrap_or_default())
    }
}

/// A sink name as one URL path segment.
fn segment(name: &str) -> String {
    form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Runs the subcommand.
pub async fn run(args: DeadLettersArgs) -> anyhow::Result<()> {
    let token = super::token(
        args.token.as_deref(),
        &["BECKON_ADMIN_TOKEN"],
        &args.data_dir,
    )?;
    let api = Api {
        client: reqwest::Client::new(),
        server: args.server,
        token,
    };
    let sinks = api.sinks(args.sink.as_deref()).await?;
    match args.action {
        Action::List { json } => {
            let mut all = Vec::new();
            for sink in &sinks {
                for letter in api.letters(sink).await? {
                    if !json {
                        println!(
                            "{sink}\t#{}\tseq {}..{}\t{} records\t{}\t{}",
                            letter["id"],
                            letter["firstSeq"],
                            letter["lastSeq"],
                            letter["count"],
                            letter["createdAt"].as_str().unwrap_or(""),
                            letter["error"].as_str().unwrap_or("")
                        );
                    }
                    all.push(letter);
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                eprintln!("no dead letters");
            }
        }
        Action::Replay { id } => {
            let paths: Vec<(&str, String)> = match id {
                Some(id) => {
                    let sink = api.holder(&sinks, id).await?;
                    let path = format!("/api/v1/sinks/{}/dead-letters/{id}/replay", segment(sink));
                    vec![(sink, path)]
                }
                None => sinks
                    .iter()
                    .map(|s| {
                        let path = format!("/api/v1/sinks/{}/dead-letters/replay", segment(s));
                        (s.as_str(), path)
                    })
                    .collect(),
            };
            let mut replayed = 0;
            for (sink, path) in paths {
                let body = api.call(reqwest::Method::POST, &path).await?;
                let ids = body["replayed"].as_array().map_or(0, Vec::len);
                if ids > 0 {
                    println!(
                        "{sink}: replayed {ids} dead letters ({} records)",
                        body["count"]
                    );
                }
                replayed += ids;
            }
            if replayed == 0 {
                eprintln!("no dead letters");
            }
        }
        Action::Discard { id } => {
            let sink = api.holder(&sinks, id).await?;
            let path = format!("/api/v1/sinks/{}/dead-letters/{id}", segment(sink));
            api.call(reqwest::Method::DELETE, &path).await?;
            println!("{sink}: discarded dead letter {id}");
        }
    }
    Ok(())
}
