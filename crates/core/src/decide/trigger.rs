//! Triggers (spec 6.1): which segments the customer has, and which maps that triggers.

use super::compile::{Compiled, EventCondition, Map, Pattern, Segment, event_value, visit_value};
use super::history::History;
use super::visit::{JourneyEvent, Visit};
use crate::event::Timestamp;

const DAY_MS: i64 = 86_400_000;

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

/// The segments the customer has now: those that match the visit and the session, and the
/// customer-scoped ones assigned earlier that have not expired. A bit per segment position.
pub(crate) fn assigned_segments(
    compiled: &Compiled,
    visit: &Visit,
    journey: &[JourneyEvent],
    history: &History,
    now: Timestamp,
) -> Vec<bool> {
    let mut assigned: Vec<bool> = compiled
        .segments
        .iter()
        .map(|s| s.active && segment_matches(s, visit, journey))
        .collect();
    for a in &history.segments {
        let Some(i) = compiled.segments.iter().position(|s| s.id == a.segment_id) else {
            continue;
        };
        let s = &compiled.segments[i];
        let live = s.active
            && s.customer_scope
            && s.expiration_days.is_none_or(|d| {
                a.assigned_at.unix_millis() + i64::from(d) * DAY_MS > now.unix_millis()
            });
        if live {
            assigned[i] = true;
        }
    }
    assigned
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
