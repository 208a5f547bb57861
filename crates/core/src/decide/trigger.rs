//! Triggers (spec 6.1): whether a segment matches the session, and which maps qualify.

use super::compile::{Compiled, EventCondition, Map, Pattern, Segment, event_value, visit_value};
use super::visit::{JourneyEvent, Visit};

/// Whether every context criterion holds for the visit and every journey pattern occurred at
/// least `count` times in the session.
pub(crate) fn segment_matches(s: &Segment, visit: &Visit, journey: &[JourneyEvent]) -> bool {
    s.context
        .iter()
        .all(|c| c.test.matches(visit_value(visit, &c.key)))
        && s.journey
            .iter()
            .all(|p| occurrences(p, visit, journey) >= p.count)
}

fn occurrences(p: &Pattern, visit: &Visit, journey: &[JourneyEvent]) -> u32 {
    let mut n = 0u32;
    for e in journey {
        if let Some(name) = &p.event_name
            && **name != *e.event_name
        {
            continue;
        }
        if p.criteria
            .iter()
            .all(|c| c.test.matches(event_value(e, visit, &c.key)))
        {
            n = n.saturating_add(e.count);
            if n >= p.count {
                return n;
            }
        }
    }
    n
}

fn condition_holds(c: &EventCondition, visit: &Visit, journey: &[JourneyEvent]) -> bool {
    journey.iter().any(|e| {
        c.event_name.as_deref().is_none_or(|n| n == e.event_name)
            && c.criterion
                .test
                .matches(event_value(e, visit, &c.criterion.key))
    })
}

/// Whether the map's trigger holds: any of its segments is assigned, or every one of its
/// event conditions is met by at least one event of the session.
pub(crate) fn triggered(
    map: &Map,
    assigned: &[bool],
    visit: &Visit,
    journey: &[JourneyEvent],
) -> bool {
    if !map.segments.is_empty() {
        return map.segments.iter().any(|&s| assigned[s as usize]);
    }
    !map.event_conditions.is_empty()
        && map
            .event_conditions
            .iter()
            .all(|c| condition_holds(c, visit, journey))
}

/// The maps whose trigger may hold, found through the indexes (not by scanning all maps):
/// sorted positions, without duplicates.
pub(crate) fn candidates(
    compiled: &Compiled,
    assigned: &[bool],
    journey: &[JourneyEvent],
) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, &on) in assigned.iter().enumerate() {
        if on {
            out.extend_from_slice(&compiled.maps_by_segment[i]);
        }
    }
    if !compiled.maps_by_event_name.is_empty() {
        for e in journey {
            if let Some(maps) = compiled.maps_by_event_name.get(e.event_name.as_str()) {
                out.extend_from_slice(maps);
            }
        }
    }
    if !journey.is_empty() {
        out.extend_from_slice(&compiled.maps_on_any_event);
    }
    out.sort_unstable();
    out.dedup();
    out
}
