//! The action maps, action templates, segments and schedule groups of each deployment, kept in
//! memory as a compiled [`Catalog`] that decisions read without waiting.
//!
//! The store holds each object's JSON body (the Genesys shape, server fields included); at start
//! every deployment's catalog is built from it. An admin change is validated by building the
//! whole catalog with the change applied ([`Catalog::build`] checks each object and every
//! reference between them), saved durably, and only then swapped in: a decision sees the old
//! catalog or the new one, never half of a change. Changes are serialized, so versions cannot
//! race.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use beckon_core::model::{ActionMap, ActionTemplate, Catalog, JourneySegment, ScheduleGroup};
use beckon_core::{Timestamp, ValidationError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::store::{EntityChange, Store, StoreError, StoredEntity};

/// The four kinds of admin object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    ScheduleGroups,
    Segments,
    ActionTemplates,
    ActionMaps,
}

/// Fields the server owns: taken from the stored object, never from a request body.
pub const SERVER_FIELDS: [&str; 5] = ["id", "version", "selfUri", "createdDate", "modifiedDate"];

impl Collection {
    /// In the order they refer to each other: what a map names comes before it.
    pub const ALL: [Collection; 4] = [
        Collection::ScheduleGroups,
        Collection::Segments,
        Collection::ActionTemplates,
        Collection::ActionMaps,
    ];

    /// The path segment under `/api/v2/journey/`, also the store's collection name.
    pub fn path(self) -> &'static str {
        match self {
            Collection::ScheduleGroups => "schedulegroups",
            Collection::Segments => "segments",
            Collection::ActionTemplates => "actiontemplates",
            Collection::ActionMaps => "actionmaps",
        }
    }

    /// The key of the collection in an export file (and in [`Catalog::build`]'s error paths).
    pub fn key(self) -> &'static str {
        match self {
            Collection::ScheduleGroups => "scheduleGroups",
            Collection::Segments => "segments",
            Collection::ActionTemplates => "actionTemplates",
            Collection::ActionMaps => "actionMaps",
        }
    }

    /// What one object is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Collection::ScheduleGroups => "schedule group",
            Collection::Segments => "segment",
            Collection::ActionTemplates => "action template",
            Collection::ActionMaps => "action map",
        }
    }

    pub fn from_path(path: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|c| c.path() == path)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Checks the body's shape and returns it as Beckon writes it back: the typed object
    /// serialized, with the server fields of `body` kept (schedule groups have none of their
    /// own). The error names the field, as a path into the body.
    pub fn normalize(self, body: &Value) -> Result<Value, ValidationError> {
        let mut out = match self {
            Collection::ScheduleGroups => reshape::<ScheduleGroup>(body),
            Collection::Segments => reshape::<JourneySegment>(body),
            Collection::ActionTemplates => reshape::<ActionTemplate>(body),
            Collection::ActionMaps => reshape::<ActionMap>(body),
        }?;
        if let (Some(out), Some(body)) = (out.as_object_mut(), body.as_object()) {
            for field in SERVER_FIELDS {
                if let Some(v) = body.get(field) {
                    out.insert(field.to_owned(), v.clone());
                }
            }
        }
        Ok(out)
    }
}

fn typed<T: DeserializeOwned>(body: &Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        ValidationError {
            field: if path == "." { String::new() } else { path },
            reason: e.into_inner().to_string(),
        }
    })
}

fn reshape<T: DeserializeOwned + Serialize>(body: &Value) -> Result<Value, ValidationError> {
    Ok(serde_json::to_value(typed::<T>(body)?).expect("models serialize"))
}

/// A validation error located in one object of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub collection: Collection,
    pub id: Uuid,
    /// The path inside that object, and why.
    pub error: ValidationError,
}

/// One deployment's admin objects (normalized JSON, in creation order) and their catalog.
#[derive(Debug)]
pub struct Deployed {
    pub catalog: Arc<Catalog>,
    objects: [Vec<(Uuid, Value)>; 4],
}

impl Deployed {
    /// The objects of a collection, in the order they were created.
    pub fn list(&self, c: Collection) -> &[(Uuid, Value)] {
        &self.objects[c.index()]
    }

    pub fn get(&self, c: Collection, id: Uuid) -> Option<&Value> {
        self.list(c).iter().find(|(i, _)| *i == id).map(|(_, v)| v)
    }

    /// The action maps that name this object (a segment, template or schedule group).
    pub fn used_by(&self, c: Collection, id: Uuid) -> Vec<Uuid> {
        let maps = self.catalog.maps().iter();
        let users: Vec<&ActionMap> = match c {
            Collection::Segments => self.catalog.maps_triggered_by(id).collect(),
            Collection::ActionTemplates => self.catalog.maps_using_template(id).collect(),
            Collection::ScheduleGroups => maps
                .filter(|m| {
                    m.action_map_schedule_groups.as_ref().is_some_and(|g| {
                        g.action_map_schedule_group.id == id
                            || g.emergency_action_map_schedule_group
                                .as_ref()
                                .is_some_and(|e| e.id == id)
                    })
                })
                .collect(),
            Collection::ActionMaps => Vec::new(),
        };
        users.into_iter().filter_map(|m| m.id).collect()
    }

    /// Builds the catalog of these objects; errors are located by object id.
    fn build(objects: [Vec<(Uuid, Value)>; 4]) -> Result<Deployed, Vec<Located>> {
        fn all<T: DeserializeOwned>(
            c: Collection,
            list: &[(Uuid, Value)],
            errors: &mut Vec<Located>,
        ) -> Vec<T> {
            list.iter()
                .filter_map(|(id, v)| {
                    typed(v)
                        .map_err(|error| {
                            errors.push(Located {
                                collection: c,
                                id: *id,
                                error,
                            })
                        })
                        .ok()
                })
                .collect()
        }
        let mut errors = Vec::new();
        let groups = all(Collection::ScheduleGroups, &objects[0], &mut errors);
        let segments = all(Collection::Segments, &objects[1], &mut errors);
        let templates = all(Collection::ActionTemplates, &objects[2], &mut errors);
        let maps = all(Collection::ActionMaps, &objects[3], &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        match Catalog::build(maps, segments, templates, groups) {
            Ok(catalog) => Ok(Deployed {
                catalog: Arc::new(catalog),
                objects,
            }),
            Err(errors) => Err(errors.into_iter().map(|e| locate(&objects, e)).collect()),
        }
    }
}

/// Turns `actionMaps[3].weight` into (action maps, the id of the fourth map, `weight`).
fn locate(objects: &[Vec<(Uuid, Value)>; 4], e: ValidationError) -> Located {
    for c in Collection::ALL {
        let Some(rest) = e
            .field
            .strip_prefix(c.key())
            .and_then(|r| r.strip_prefix('['))
        else {
            continue;
        };
        let Some((index, rest)) = rest.split_once(']') else {
            continue;
        };
        if let Some((id, _)) = index
            .parse::<usize>()
            .ok()
            .and_then(|i| objects[c.index()].get(i))
        {
            return Located {
                collection: c,
                id: *id,
                error: ValidationError {
                    field: rest.trim_start_matches('.').to_owned(),
                    reason: e.reason,
                },
            };
        }
    }
    Located {
        collection: Collection::ActionMaps,
        id: Uuid::nil(),
        error: e,
    }
}

/// Why a change was not made.
#[derive(Debug)]
pub enum ChangeError {
    /// The change would leave an invalid catalog; nothing was saved.
    Invalid(Vec<Located>),
    /// The caller refused it (a stale version, an object in use, …), with its own error.
    Refused(crate::api::problem::Problem),
    Storage(StoreError),
}

/// Every deployment's [`Deployed`], swapped whole on each change.
pub struct Catalogs {
    deployments: RwLock<HashMap<Uuid, Arc<Deployed>>>,
    writes: tokio::sync::Mutex<()>,
    store: Arc<dyn Store>,
}

impl Catalogs {
    /// Builds each deployment's catalog from the store. A stored catalog that no longer
    /// validates is an error naming the objects at fault.
    pub async fn load(store: Arc<dyn Store>, deployments: &[Uuid]) -> anyhow::Result<Catalogs> {
        let mut map = HashMap::new();
        for &d in deployments {
            let mut objects: [Vec<(Uuid, Value)>; 4] = Default::default();
            for e in store.entities(d).await? {
                if let Some(c) = Collection::from_path(&e.collection) {
                    objects[c.index()].push((e.id, e.body));
                }
            }
            let deployed = Deployed::build(objects).map_err(|errors| {
                anyhow::anyhow!(
                    "deployment {d}: the stored configuration is not valid: {}",
                    describe(&errors)
                )
            })?;
            map.insert(d, Arc::new(deployed));
        }
        Ok(Catalogs {
            deployments: RwLock::new(map),
            writes: tokio::sync::Mutex::new(()),
            store,
        })
    }

    /// The deployment's objects and catalog as of now.
    pub fn get(&self, deployment: Uuid) -> Option<Arc<Deployed>> {
        self.deployments
            .read()
            .expect("catalogs lock")
            .get(&deployment)
            .cloned()
    }

    /// Makes a change: `plan` sees the current objects and says what to save or delete (or
    /// refuses); the result is validated as a whole catalog, saved, and swapped in.
    pub async fn change(
        &self,
        deployment: Uuid,
        plan: impl FnOnce(&Deployed) -> Result<Vec<EntityChange>, ChangeError>,
    ) -> Result<Arc<Deployed>, ChangeError> {
        let _one_at_a_time = self.writes.lock().await;
        let current = self
            .get(deployment)
            .expect("a configured deployment has a catalog");
        let changes = plan(&current)?;
        let mut objects = current.objects.clone();
        for change in &changes {
            match change {
                EntityChange::Save(e) => {
                    let Some(c) = Collection::from_path(&e.collection) else {
                        continue;
                    };
                    let list = &mut objects[c.index()];
                    match list.iter_mut().find(|(id, _)| *id == e.id) {
                        Some(slot) => slot.1 = e.body.clone(),
                        None => list.push((e.id, e.body.clone())),
                    }
                }
                EntityChange::Delete { collection, id } => {
                    if let Some(c) = Collection::from_path(collection) {
                        objects[c.index()].retain(|(i, _)| i != id);
                    }
                }
            }
        }
        let next = Arc::new(Deployed::build(objects).map_err(ChangeError::Invalid)?);
        self.store
            .change_entities(deployment, changes)
            .await
            .map_err(ChangeError::Storage)?;
        self.deployments
            .write()
            .expect("catalogs lock")
            .insert(deployment, next.clone());
        Ok(next)
    }
}

/// A stored object with its server fields set: `version`, `modifiedDate` (and, when new,
/// `id`, `createdDate`), and `selfUri`.
pub fn stamp(c: Collection, id: Uuid, mut body: Value, version: u64, now: Timestamp) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.insert("id".into(), Value::String(id.to_string()));
        o.insert("version".into(), version.into());
        o.insert(
            "selfUri".into(),
            format!("/api/v2/journey/{}/{id}", c.path()).into(),
        );
        o.entry("createdDate")
            .or_insert_with(|| now.to_string().into());
        o.insert("modifiedDate".into(), now.to_string().into());
    }
    body
}

/// The stored form of one object.
pub fn stored(c: Collection, id: Uuid, body: Value) -> StoredEntity {
    StoredEntity {
        collection: c.path().to_owned(),
        id,
        body,
    }
}

/// Errors in one line each: `actionMaps 3f0c…: weight: 7 is out of range`.
pub fn describe(errors: &[Located]) -> String {
    errors
        .iter()
        .map(|l| {
            format!(
                "{} {}: {}: {}",
                l.collection.key(),
                l.id,
                l.error.field,
                l.error.reason
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
