//! Action maps, segments, templates and schedule groups as JSON: parsing and Catalog::build
//! never panic (a bad catalog is a list of errors).
#![no_main]
use beckon_core::model::{ActionMap, ActionTemplate, Catalog, JourneySegment, ScheduleGroup};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let list = |key: &str| {
        value
            .get(key)
            .cloned()
            .unwrap_or(serde_json::Value::Array(vec![]))
    };
    let maps = serde_json::from_value::<Vec<ActionMap>>(list("actionMaps"));
    let segments = serde_json::from_value::<Vec<JourneySegment>>(list("segments"));
    let templates = serde_json::from_value::<Vec<ActionTemplate>>(list("actionTemplates"));
    let groups = serde_json::from_value::<Vec<ScheduleGroup>>(list("scheduleGroups"));
    if let (Ok(m), Ok(s), Ok(t), Ok(g)) = (maps, segments, templates, groups) {
        let _ = Catalog::build(m, s, t, g);
    }
});
