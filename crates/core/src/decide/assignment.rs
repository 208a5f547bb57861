//! Segment assignments (spec 6.1 and 6.2; Genesys reference sections 8 and 13): which
//! segments the customer has now, how long a customer-scoped assignment lasts, and the rule
//! that a map triggered by a customer-scoped assignment qualifies once per assignment.
//!
//! - A `Session`-scoped segment is assigned while it matches the session; the maps it triggers
//!   follow the once-per-session rule.
//! - A `Customer`-scoped segment is assigned when it first matches. The assignment outlives the
//!   session and lasts `assignmentExpirationDays` from that moment (for good without it),
//!   whether or not the segment still matches. Once it lapsed, the next match is a new
//!   assignment (ours: Genesys says "auto-unassign after N days" and nothing about
//!   re-qualifying; a customer who still matches is assigned again).
//! - Genesys: "action maps that qualify from a customer segment assignment trigger only once per
//!   assignment in a customer's lifetime". A map whose trigger holds only through
//!   customer-scoped assignments does not qualify again, in any session, once it qualified
//!   from every one of them; a new assignment lets it qualify once more. A map that also has a
//!   session-scoped segment assigned qualifies once per session as usual. Each assignment keeps
//!   the maps that qualified while it held ([`SegmentAssignment::action_maps`]).
//! - An assignment of a segment that left the catalog, is inactive or is no longer
//!   customer-scoped is dropped (ours).

use super::compile::{Compiled, Map, Segment};
use super::history::{History, SegmentAssignment};
use super::trigger::segment_matches;
use super::visit::{JourneyEvent, Visit};
use crate::event::Timestamp;

const DAY_MS: i64 = 86_400_000;

/// The customer's segments for one decision.
pub(crate) struct Assignments {
    /// Per segment position: assigned now.
    pub(crate) assigned: Vec<bool>,
    /// The customer-scoped assignments after this decision.
    pub(crate) customer: Vec<SegmentAssignment>,
    /// Per segment position: its assignment in `customer`, if it is customer-scoped.
    of_segment: Vec<Option<usize>>,
}

fn lapsed(s: &Segment, a: &SegmentAssignment, now: Timestamp) -> bool {
    s.expiration_days
        .is_some_and(|d| a.assigned_at.unix_millis() + i64::from(d) * DAY_MS <= now.unix_millis())
}

impl Assignments {
    /// The earlier customer-scoped assignments still in force, then every active segment that
    /// matches the visit and the session (a new assignment for a customer-scoped one).
    pub(crate) fn new(
        c: &Compiled,
        visit: &Visit,
        journey: &[JourneyEvent],
        history: &History,
        now: Timestamp,
    ) -> Assignments {
        let mut of_segment = vec![None; c.segments.len()];
        let mut customer: Vec<SegmentAssignment> = Vec::new();
        for a in &history.segments {
            let Some(&i) = c.segment_by_id.get(&a.segment_id) else {
                continue;
            };
            let s = &c.segments[i as usize];
            if s.active
                && s.customer_scope
                && of_segment[i as usize].is_none()
                && !lapsed(s, a, now)
            {
                of_segment[i as usize] = Some(customer.len());
                customer.push(a.clone());
            }
        }
        let mut assigned = vec![false; c.segments.len()];
        for (i, s) in c.segments.iter().enumerate() {
            if of_segment[i].is_some() {
                assigned[i] = true;
            } else if s.active && segment_matches(s, visit, journey) {
                assigned[i] = true;
                if s.customer_scope {
                    of_segment[i] = Some(customer.len());
                    customer.push(SegmentAssignment {
                        segment_id: s.id,
                        assigned_at: now,
                        action_maps: Vec::new(),
                    });
                }
            }
        }
        Assignments {
            assigned,
            customer,
            of_segment,
        }
    }

    /// Whether a map whose trigger holds may qualify: it has no segment trigger, or an assigned
    /// session-scoped segment, or a customer-scoped assignment it has not qualified from.
    pub(crate) fn allow(&self, m: &Map) -> bool {
        m.segments.is_empty()
            || m.segments.iter().any(|&s| {
                self.assigned[s as usize]
                    && self.of_segment[s as usize]
                        .is_none_or(|a| !self.customer[a].action_maps.contains(&m.id))
            })
    }

    /// Records that a map qualified, in each customer-scoped assignment that triggered it.
    pub(crate) fn qualified(&mut self, m: &Map) {
        for &s in &m.segments {
            if let Some(a) = self.of_segment[s as usize] {
                let maps = &mut self.customer[a].action_maps;
                if !maps.contains(&m.id) {
                    maps.push(m.id);
                }
            }
        }
    }

    /// The customer-scoped assignments to keep, in segment id order.
    pub(crate) fn into_customer(mut self) -> Vec<SegmentAssignment> {
        for a in &mut self.customer {
            a.action_maps.sort_unstable();
        }
        self.customer.sort_by_key(|a| a.segment_id);
        self.customer
    }
}
