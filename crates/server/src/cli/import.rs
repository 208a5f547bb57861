//! `beckon import FILE`: loads a Genesys export (or a listing, an array, one object; JSON or
//! YAML, as provisioning reads them) into a running server through the admin API.
//!
//! Through the API rather than into the data directory, so the server validates every object
//! against its live catalog and swaps it in at once, with no restart. Objects go in the order
//! they refer to each other (schedule groups, segments, templates, then maps) and keep their
//! ids: an object the server has is updated (PATCH with its current version), a new one is
//! created with its id, so the references of the export hold.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::catalogs::Collection;
use crate::provisioning::{objects, read_file};

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The export: an object with actionMaps / actionTemplates / segments / scheduleGroups
    /// arrays, a listing envelope, an array or one object (.json, .yaml or .yml).
    file: PathBuf,
    /// The server's base URL.
    #[arg(long, env = "BECKON_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The admin token (default: BECKON_ADMIN_TOKEN, or the data directory's admin-token file).
    #[arg(long)]
    token: Option<String>,
    /// The data directory to read the admin token from when no token is given.
    #[arg(long, env = "BECKON_DATA_DIR", default_value = ".beckon-data")]
    data_dir: PathBuf,
    /// The deployment to load into (needed when the server runs several).
    #[arg(long)]
    deployment: Option<uuid::Uuid>,
}

/// What the server answered to one request.
async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
    let response = request.send().await.context("the server did not answer")?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

fn problem_text(body: &Value) -> String {
    let mut text = body["detail"].as_str().unwrap_or("no detail").to_owned();
    if let Some(field) = body["field"].as_str() {
        text = format!("{field}: {text}");
    }
    text
}

/// Loads the file; fails (after trying every object) if any object was refused.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let source = args.file.display().to_string();
    let mut items = objects(read_file(&args.file)?, None, &source)?;
    items.sort_by_key(|p| Collection::ALL.iter().position(|c| *c == p.collection));
    let token = super::token(
        args.token.as_deref(),
        &["BECKON_ADMIN_TOKEN"],
        &args.data_dir,
    )?;
    let query = args
        .deployment
        .map(|d| format!("?deploymentId={d}"))
        .unwrap_or_default();
    let client = reqwest::Client::new();
    let (mut created, mut updated, mut failed) = (0, 0, 0);
    for item in items {
        let path = item.collection.path();
        let id = item
            .body
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let existing = match &id {
            None => None,
            Some(id) => {
                let url =
                    super::endpoint(&args.server, &format!("/api/v2/journey/{path}/{id}{query}"))?;
                match send(client.get(url).bearer_auth(&token)).await? {
                    (200, current) => Some(current),
                    (404, _) => None,
                    (status, body) => bail!("{}: {status} {}", item.source, problem_text(&body)),
                }
            }
        };
        let (status, body) = match existing {
            Some(current) => {
                let mut patch = item.body.clone();
                patch["version"] = current["version"].clone();
                let url = super::endpoint(
                    &args.server,
                    &format!(
                        "/api/v2/journey/{path}/{}{query}",
                        id.as_deref().unwrap_or_default()
                    ),
                )?;
                send(client.patch(url).bearer_auth(&token).json(&patch)).await?
            }
            None => {
                let url = super::endpoint(&args.server, &format!("/api/v2/journey/{path}{query}"))?;
                send(client.post(url).bearer_auth(&token).json(&item.body)).await?
            }
        };
        if status == 200 {
            if body["version"].as_u64() == Some(1) {
                created += 1;
            } else {
                updated += 1;
            }
        } else {
            failed += 1;
            eprintln!("{}: {status} {}", item.source, problem_text(&body));
            if let Some(errors) = body["errors"].as_array() {
                for e in errors {
                    eprintln!(
                        "  {}: {}",
                        e["field"].as_str().unwrap_or(""),
                        e["reason"].as_str().unwrap_or("")
                    );
                }
            }
        }
    }
    println!("{source}: {created} created, {updated} updated, {failed} refused");
    if failed > 0 {
        bail!("{failed} object(s) were refused");
    }
    Ok(())
}
