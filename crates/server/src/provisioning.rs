//! Configuration kept in files: action maps, templates, segments and schedule groups read from
//! a directory at start (`provisioning_dir`, `BECKON_PROVISIONING_DIR`), so a site keeps its
//! rules in git; and the file reader `beckon import` shares.
//!
//! A file is JSON (`.json`) or YAML (`.yaml`, `.yml`) and holds any of: a Genesys-style export
//! (an object with `actionMaps`, `actionTemplates`, `segments`, `scheduleGroups` arrays), a
//! listing envelope (`{ "entities": [...] }`), an array of objects, or one object. Files in a
//! folder named after a collection (`actionmaps/`, `actiontemplates/`, `segments/`,
//! `schedulegroups/`) hold objects of that collection; elsewhere each object's collection is
//! told by its shape. The layout is in `docs/provisioning.md`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;
use uuid::Uuid;

use crate::catalogs::{Catalogs, ChangeError, Collection, SERVER_FIELDS, stamp, stored};
use crate::store::EntityChange;

/// One object read from a file.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub collection: Collection,
    pub body: Value,
    /// The file it came from, and its position there.
    pub source: String,
}

/// Reads a JSON or YAML file into a JSON value.
pub fn read_file(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml {
        serde_norway::from_str(&text).with_context(|| format!("{}: not valid YAML", path.display()))
    } else {
        serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
    }
}

/// Which collection an object of unknown kind belongs to, by its shape.
fn guess(body: &Value) -> Option<Collection> {
    let has = |k: &str| body.get(k).is_some();
    if has("action") {
        Some(Collection::ActionMaps)
    } else if has("contentOffer") || (has("mediaType") && has("state")) {
        Some(Collection::ActionTemplates)
    } else if has("context") || has("journey") {
        Some(Collection::Segments)
    } else if has("timeZone") {
        Some(Collection::ScheduleGroups)
    } else {
        None
    }
}

/// The objects of one parsed file; `kind` is the collection its folder names, if any.
pub fn objects(
    value: Value,
    kind: Option<Collection>,
    source: &str,
) -> anyhow::Result<Vec<Provisioned>> {
    let mut out = Vec::new();
    let mut push = |collection: Option<Collection>, body: Value, at: String| {
        let Some(collection) = collection.or_else(|| guess(&body)) else {
            bail!(
                "{at}: cannot tell whether this is an action map, template, segment or schedule group"
            );
        };
        if !body.is_object() {
            bail!("{at}: expected a JSON object");
        }
        out.push(Provisioned {
            collection,
            body,
            source: at,
        });
        Ok(())
    };
    let export = value.as_object().is_some_and(|o| {
        Collection::ALL.iter().any(|c| o.contains_key(c.key())) && !o.contains_key("entities")
    });
    match value {
        Value::Object(mut o) if export => {
            for c in Collection::ALL {
                match o.remove(c.key()) {
                    None => {}
                    Some(Value::Array(items)) => {
                        for (i, body) in items.into_iter().enumerate() {
                            push(Some(c), body, format!("{source}: {}[{i}]", c.key()))?;
                        }
                    }
                    Some(_) => bail!("{source}: {} must be an array", c.key()),
                }
            }
        }
        Value::Object(mut o) if o.contains_key("entities") => match o.remove("entities") {
            Some(Value::Array(items)) => {
                for (i, body) in items.into_iter().enumerate() {
                    push(kind, body, format!("{source}: entities[{i}]"))?;
                }
            }
            _ => bail!("{source}: entities must be an array"),
        },
        Value::Array(items) => {
            for (i, body) in items.into_iter().enumerate() {
                push(kind, body, format!("{source}: [{i}]"))?;
            }
        }
        body => push(kind, body, source.to_owned())?,
    }
    Ok(out)
}

fn is_config_file(path: &Path) -> bool {
    path.is_file()
        && path.extension().is_some_and(|e| {
            ["json", "yaml", "yml"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        })
}

fn sorted_entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.sort();
    Ok(paths)
}

/// Reads every object of a deployment's directory: its files, and those of its collection
/// folders. Files are read in name order.
pub fn read_dir(dir: &Path) -> anyhow::Result<Vec<Provisioned>> {
    let mut out = Vec::new();
    for path in sorted_entries(dir)? {
        if is_config_file(&path) {
            out.extend(objects(
                read_file(&path)?,
                None,
                &path.display().to_string(),
            )?);
        } else if let Some(c) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(Collection::from_path)
            .filter(|_| path.is_dir())
        {
            for file in sorted_entries(&path)?
                .into_iter()
                .filter(|p| is_config_file(p))
            {
                out.extend(objects(
                    read_file(&file)?,
                    Some(c),
                    &file.display().to_string(),
                )?);
            }
        }
    }
    Ok(out)
}

/// The body without server fields, to compare what a file says with what is stored.
fn content(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(o) = body.as_object_mut() {
        for f in SERVER_FIELDS {
            o.remove(f);
        }
    }
    body
}

/// Loads each deployment's files into its catalog: `<dir>/<deploymentId>/`, or `<dir>` itself
/// when the server runs a single deployment. Every object needs an `id` (so that a restart
/// updates it instead of adding a copy). An object whose content differs from the stored one
/// replaces it with the next version; objects not in the files are left alone. A file that
/// breaks a rule stops the start, naming the file and the field.
pub async fn provision(
    catalogs: &Catalogs,
    dir: &Path,
    deployments: &[Uuid],
) -> anyhow::Result<()> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    for &d in deployments {
        let own = dir.join(d.to_string());
        let source = if own.is_dir() {
            own
        } else if deployments.len() == 1 {
            dir.to_owned()
        } else {
            continue;
        };
        let count = load(catalogs, d, read_dir(&source)?).await?;
        tracing::info!(deployment = %d, dir = %source.display(), objects = count, "provisioned");
    }
    Ok(())
}

/// Loads objects into a deployment's catalog, as provisioning does: every object needs an `id`;
/// one whose content differs from the stored one replaces it with the next version; the result
/// is validated as a whole before anything is saved, and an error names the source, the object
/// and the field. Returns how many objects were read.
pub async fn load(
    catalogs: &Catalogs,
    d: Uuid,
    objects: Vec<Provisioned>,
) -> anyhow::Result<usize> {
    let now = crate::api::ingest::now();
    let mut sources: Vec<(Uuid, String)> = Vec::new();
    let mut planned: Vec<(Collection, Uuid, Value)> = Vec::new();
    for p in objects {
        let id: Uuid = p
            .body
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .with_context(|| {
                format!(
                    "{}: a provisioned object needs an \"id\" (a UUID)",
                    p.source
                )
            })?;
        if sources.iter().any(|(i, _)| *i == id) {
            bail!("{}: the id {id} is used twice", p.source);
        }
        let body = p
            .collection
            .normalize(&p.body)
            .map_err(|e| anyhow::anyhow!("{}: {}: {}", p.source, e.field, e.reason))?;
        sources.push((id, p.source));
        planned.push((p.collection, id, body));
    }
    let count = planned.len();
    let result = catalogs
        .change(d, |current| {
            let mut changes = Vec::new();
            for (c, id, body) in planned {
                let stored_body = current.get(c, id);
                if stored_body.is_some_and(|s| content(s) == content(&body)) {
                    continue;
                }
                let version = stored_body.map_or(1, |s| s["version"].as_u64().unwrap_or(1) + 1);
                let mut body = content(&body);
                if let Some(created) = stored_body.and_then(|s| s.get("createdDate")) {
                    body["createdDate"] = created.clone();
                }
                let body = c
                    .normalize(&stamp(c, id, body, version, now))
                    .map_err(|e| {
                        ChangeError::Invalid(vec![crate::catalogs::Located {
                            collection: c,
                            id,
                            error: e,
                        }])
                    })?;
                changes.push(EntityChange::Save(stored(c, id, body)));
            }
            Ok(changes)
        })
        .await;
    match result {
        Ok(_) => Ok(count),
        Err(ChangeError::Invalid(errors)) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|l| {
                    let file = sources
                        .iter()
                        .find(|(i, _)| *i == l.id)
                        .map_or("(stored, not in the files)", |(_, s)| s.as_str());
                    format!(
                        "{file} ({} {}): {}: {}",
                        l.collection.noun(),
                        l.id,
                        l.error.field,
                        l.error.reason
                    )
                })
                .collect();
            bail!("deployment {d}:\n  {}", lines.join("\n  "));
        }
        Err(ChangeError::Refused(p)) => bail!("deployment {d}: {}", p.detail),
        Err(ChangeError::Storage(e)) => bail!("deployment {d}: {e}"),
    }
}
