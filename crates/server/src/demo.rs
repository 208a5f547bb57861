//! The built-in demo: what `beckon serve` with no configuration file sets up, so that a newcomer
//! sees an offer, a chat and a report within minutes of the first start.
//!
//! The demo deployment's rules (segments, a content offer template, action maps) are JSON files
//! compiled into the binary (`crates/server/demo/rules.json`) and loaded through the same code
//! as provisioning, so they are checked as any rule file is. A demo agent account is added for
//! the console, and removed again when the data directory is later served with a configuration
//! file (its password is public). Seeding happens once per data directory: a marker file records it, so what an
//! admin later changes or deletes stays changed or deleted. The demo site itself is served by
//! `api/demo.rs`.

use std::path::PathBuf;

use anyhow::Context;
use uuid::Uuid;

use crate::catalogs::Catalogs;
use crate::config::{Config, DEMO_DEPLOYMENT_ID};
use crate::store::Store;
use crate::store::chat::AgentRecord;

/// The demo agent's sign-in, printed at start and written in the README. Only the built-in
/// demo (no configuration file) creates this account.
pub const AGENT_EMAIL: &str = "agent@demo.beckon";
/// The demo agent's password.
pub const AGENT_PASSWORD: &str = "beckon-demo";
const AGENT_NAME: &str = "Demo Agent";

/// The demo rules; `{{origin}}` stands for the server's own origin (call-to-action URLs must be
/// absolute).
const RULES: &str = include_str!("../demo/rules.json");

/// The file whose presence says the demo was seeded into this data directory.
fn marker(config: &Config) -> PathBuf {
    config.data_dir.join("demo-seeded")
}

/// The origin the demo site is reached on (the first allowed origin of the demo deployment).
pub fn origin(config: &Config) -> String {
    config
        .deployments
        .iter()
        .find(|d| d.id == DEMO_DEPLOYMENT_ID)
        .and_then(|d| d.allowed_origins.first())
        .map_or_else(
            || format!("http://localhost:{}", config.listen.port()),
            |o| o.as_str().to_owned(),
        )
}

/// Seeds the demo deployment's rules and the demo agent, once per data directory.
pub async fn seed(config: &Config, catalogs: &Catalogs, store: &dyn Store) -> anyhow::Result<()> {
    let marker = marker(config);
    if marker.exists() {
        tracing::info!(
            marker = %marker.display(),
            "the demo was seeded before; not seeding again (delete the marker file to seed again)"
        );
        return Ok(());
    }
    let rules: serde_json::Value =
        serde_json::from_str(&RULES.replace("{{origin}}", &origin(config)))
            .context("the demo rules are not valid JSON")?;
    let objects = crate::provisioning::objects(rules, None, "demo/rules.json")?;
    let count = crate::provisioning::load(catalogs, DEMO_DEPLOYMENT_ID, objects).await?;
    let agent = AgentRecord {
        id: Uuid::new_v4(),
        name: AGENT_NAME.to_owned(),
        email: AGENT_EMAIL.to_owned(),
        password_hash: crate::chat::agents::hash_password(AGENT_PASSWORD),
        capacity: crate::chat::agents::DEFAULT_CAPACITY,
    };
    store
        .save_agent(agent)
        .await
        .context("cannot save the demo agent")?;
    std::fs::write(&marker, format!("{}\n", crate::api::ingest::now()))
        .with_context(|| format!("cannot write {}", marker.display()))?;
    tracing::info!(
        deployment = %DEMO_DEPLOYMENT_ID,
        objects = count,
        agent = AGENT_EMAIL,
        marker = %marker.display(),
        "seeded the demo: segments, a content offer, action maps and an agent"
    );
    Ok(())
}

/// Without the demo (a configuration file given), removes the demo agent that a demo run left
/// in this data directory: its password is public (printed at start, and in the README), so it
/// must not sign in to a configured server.
pub async fn retire_agent(store: &dyn Store) -> anyhow::Result<()> {
    let agents = store.agents().await.context("cannot read the agents")?;
    for agent in agents.into_iter().filter(|a| a.email == AGENT_EMAIL) {
        let hash = agent.password_hash.clone();
        let public = tokio::task::spawn_blocking(move || {
            crate::chat::agents::verify_password(AGENT_PASSWORD, &hash)
        })
        .await?;
        if public {
            store
                .delete_agent(agent.id)
                .await
                .context("cannot remove the demo agent")?;
            tracing::warn!(
                email = AGENT_EMAIL,
                "removed the demo agent a demo run left in this data directory: its password is public"
            );
        }
    }
    Ok(())
}

/// Prints where the demo is, after the listening line: the site, the console with the demo
/// agent's sign-in (unless an admin deleted the account), and the dashboard.
pub async fn announce(config: &Config, store: &dyn Store) {
    let origin = origin(config);
    println!("demo site:     {origin}/demo/");
    let agent = store
        .agents()
        .await
        .is_ok_and(|agents| agents.iter().any(|a| a.email == AGENT_EMAIL));
    if agent {
        println!("agent console: {origin}/console (demo agent: {AGENT_EMAIL} / {AGENT_PASSWORD})");
    }
    let token = match &config.admin_token {
        Some(_) => "the configured admin token".to_owned(),
        None => format!(
            "the admin token in {}",
            config.data_dir.join("admin-token").display()
        ),
    };
    println!("dashboard:     {origin}/dashboard (sign in with {token})");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_rules_read_as_provisioning_objects() {
        let rules: serde_json::Value =
            serde_json::from_str(&RULES.replace("{{origin}}", "http://localhost:8080")).unwrap();
        let objects = crate::provisioning::objects(rules, None, "demo/rules.json").unwrap();
        assert!(!objects.is_empty());
        for o in &objects {
            o.collection.normalize(&o.body).unwrap();
        }
    }
}
