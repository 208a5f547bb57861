//! A deployment's whole configuration, validated together and indexed for deciding.

use std::collections::HashMap;

use uuid::Uuid;

use super::ValidationError;
use super::action_map::ActionMap;
use super::schedule::ScheduleGroup;
use super::segment::JourneySegment;
use super::template::{ActionTemplate, TemplateState};

/// The action maps, segments, action templates and schedule groups of one deployment, checked
/// against each other. Build one whenever the configuration changes; deciding only reads it.
#[derive(Debug, Clone)]
pub struct Catalog {
    maps: Vec<ActionMap>,
    segments: Vec<JourneySegment>,
    templates: Vec<ActionTemplate>,
    schedule_groups: Vec<ScheduleGroup>,
    map_index: HashMap<Uuid, usize>,
    segment_index: HashMap<Uuid, usize>,
    template_index: HashMap<Uuid, usize>,
    schedule_index: HashMap<Uuid, usize>,
    pub(crate) compiled: crate::decide::compile::Compiled,
}

fn prefixed(prefix: &str, errors: Vec<ValidationError>) -> impl Iterator<Item = ValidationError> {
    errors.into_iter().map(move |e| ValidationError {
        field: format!("{prefix}.{}", e.field),
        reason: e.reason,
    })
}

fn index_ids<T>(
    errors: &mut Vec<ValidationError>,
    kind: &str,
    items: &[T],
    id: impl Fn(&T) -> Option<Uuid>,
) -> HashMap<Uuid, usize> {
    let mut index = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match id(item) {
            None => errors.push(ValidationError::new(
                format!("{kind}[{i}].id"),
                "an id is required (the admin API assigns it)",
            )),
            Some(id) => {
                if let Some(first) = index.insert(id, i) {
                    errors.push(ValidationError::new(
                        format!("{kind}[{i}].id"),
                        format!("{id} is also the id of {kind}[{first}]"),
                    ));
                    index.insert(id, first);
                }
            }
        }
    }
    index
}

impl Catalog {
    /// Validates everything (each object's own rules, then references between them) and
    /// indexes the maps for [`decide`](crate::decide::decide). Error fields start with
    /// `actionMaps[i]`, `segments[i]`, `actionTemplates[i]` or `scheduleGroups[i]`, `i` the
    /// position in the given list.
    pub fn build(
        maps: Vec<ActionMap>,
        segments: Vec<JourneySegment>,
        templates: Vec<ActionTemplate>,
        schedule_groups: Vec<ScheduleGroup>,
    ) -> Result<Catalog, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let map_index = index_ids(&mut errors, "actionMaps", &maps, |m| m.id);
        let segment_index = index_ids(&mut errors, "segments", &segments, |s| s.id);
        let template_index = index_ids(&mut errors, "actionTemplates", &templates, |t| t.id);
        let schedule_index = index_ids(&mut errors, "scheduleGroups", &schedule_groups, |g| {
            Some(g.id)
        });
        for (i, s) in segments.iter().enumerate() {
            errors.extend(prefixed(&format!("segments[{i}]"), s.validate()));
        }
        for (i, t) in templates.iter().enumerate() {
            errors.extend(prefixed(&format!("actionTemplates[{i}]"), t.validate()));
        }
        for (i, g) in schedule_groups.iter().enumerate() {
            errors.extend(prefixed(&format!("scheduleGroups[{i}]"), g.validate()));
        }
        let mut catalog = Catalog {
            maps: Vec::new(),
            segments,
            templates,
            schedule_groups,
            map_index,
            segment_index,
            template_index,
            schedule_index,
            compiled: Default::default(),
        };
        for (i, m) in maps.iter().enumerate() {
            errors.extend(prefixed(&format!("actionMaps[{i}]"), catalog.check_map(m)));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        catalog.maps = maps;
        catalog.compiled = crate::decide::compile::Compiled::new(&catalog);
        Ok(catalog)
    }

    /// An empty catalog: nothing is ever offered.
    pub fn empty() -> Catalog {
        Catalog::build(Vec::new(), Vec::new(), Vec::new(), Vec::new())
            .expect("an empty catalog is valid")
    }

    /// Checks one action map against this catalog: its own rules, and that the segments,
    /// template and schedule groups it names exist (and the template is not deleted). Paths are
    /// relative to the map, ready for the admin API's problem document.
    pub fn check_map(&self, map: &ActionMap) -> Vec<ValidationError> {
        let mut errors = map.validate();
        for (i, id) in map.trigger_with_segments.iter().enumerate() {
            if !self.segment_index.contains_key(id) {
                errors.push(ValidationError::new(
                    format!("triggerWithSegments[{i}]"),
                    format!("no segment has the id {id}"),
                ));
            }
        }
        if let Some(t) = &map.action.action_template {
            match self.template(t.id) {
                None => errors.push(ValidationError::new(
                    "action.actionTemplate.id",
                    format!("no action template has the id {}", t.id),
                )),
                Some(tpl) if tpl.state == TemplateState::Deleted => {
                    errors.push(ValidationError::new(
                        "action.actionTemplate.id",
                        format!("action template {} is deleted", t.id),
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(groups) = &map.action_map_schedule_groups {
            let id = groups.action_map_schedule_group.id;
            if !self.schedule_index.contains_key(&id) {
                errors.push(ValidationError::new(
                    "actionMapScheduleGroups.actionMapScheduleGroup.id",
                    format!("no schedule group has the id {id}"),
                ));
            }
            if let Some(e) = &groups.emergency_action_map_schedule_group
                && !self.schedule_index.contains_key(&e.id)
            {
                errors.push(ValidationError::new(
                    "actionMapScheduleGroups.emergencyActionMapScheduleGroup.id",
                    format!("no schedule group has the id {}", e.id),
                ));
            }
        }
        errors
    }

    /// The maps, in the order given to [`Catalog::build`].
    pub fn maps(&self) -> &[ActionMap] {
        &self.maps
    }

    /// The segments, in the order given.
    pub fn segments(&self) -> &[JourneySegment] {
        &self.segments
    }

    /// The action templates, in the order given.
    pub fn templates(&self) -> &[ActionTemplate] {
        &self.templates
    }

    /// The schedule groups, in the order given.
    pub fn schedule_groups(&self) -> &[ScheduleGroup] {
        &self.schedule_groups
    }

    /// One map by id.
    pub fn map(&self, id: Uuid) -> Option<&ActionMap> {
        self.map_index.get(&id).map(|&i| &self.maps[i])
    }

    /// One segment by id.
    pub fn segment(&self, id: Uuid) -> Option<&JourneySegment> {
        self.segment_index.get(&id).map(|&i| &self.segments[i])
    }

    /// One template by id.
    pub fn template(&self, id: Uuid) -> Option<&ActionTemplate> {
        self.template_index.get(&id).map(|&i| &self.templates[i])
    }

    /// One schedule group by id.
    pub fn schedule_group(&self, id: Uuid) -> Option<&ScheduleGroup> {
        self.schedule_index
            .get(&id)
            .map(|&i| &self.schedule_groups[i])
    }

    /// The maps that trigger on a segment (to refuse deleting a segment still in use).
    pub fn maps_triggered_by(&self, segment: Uuid) -> impl Iterator<Item = &ActionMap> {
        self.maps
            .iter()
            .filter(move |m| m.trigger_with_segments.contains(&segment))
    }

    /// The maps that show a template (to refuse deleting a template still in use).
    pub fn maps_using_template(&self, template: Uuid) -> impl Iterator<Item = &ActionMap> {
        self.maps.iter().filter(move |m| {
            m.action
                .action_template
                .as_ref()
                .is_some_and(|t| t.id == template)
        })
    }
}
