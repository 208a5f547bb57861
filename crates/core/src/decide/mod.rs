//! Deciding what to offer (spec section 6): given the catalog, the visit, the session's
//! journey, the customer's history, the time and agent availability, [`decide`] says what to
//! offer now, what to offer after a delay or later, which maps qualified, and which were
//! blocked and why. Pure: the same input always gives the same [`Decision`], here, on the
//! server and in the browser.
//!
//! # The rules, in the order they apply
//!
//! 1. **Live maps.** A map is considered only while `isActive` and before its `endDate`
//!    (ours: after the end date the map is simply off, not blocked).
//! 2. **Trigger** (spec 6.1). `triggerWithSegments`: any listed segment is assigned.
//!    A segment is assigned when it is active, every context criterion holds for the visit and
//!    every journey pattern occurred at least `count` times among the session's events (events
//!    of `eventName` if given, whose criteria all hold); a `Customer`-scoped segment stays
//!    assigned, across sessions, for `assignmentExpirationDays` from its first match (see
//!    `assignment`).
//!    `triggerWithEventConditions`: every condition is met by at least one event of the session
//!    (ours: Genesys does not say whether the events must be the same one; requiring the same
//!    event would make conditions on two event names impossible). Event conditions have no
//!    `shouldIgnoreCase` and compare ignoring case (Genesys: "expressions are not
//!    case-sensitive"). Operators: see [`operators`](self#operators) below.
//! 3. **Once per session** (spec 6.2). A map qualifies at most once per session: it is listed
//!    in [`Decision::qualified`] only if the customer's history has no action of it in this
//!    session and nothing pending for it. A map that qualified but was not offered (it is still
//!    `qualified` in the history) is tried again on every later decision of the session, without
//!    qualifying again, and each failed try is a block (Genesys counts blocks per session and in
//!    total); not while it is answered and on screen (rule 5.8), where there is nothing to try.
//!    A map that was offered is done for the session. **Once per assignment**
//!    (Genesys): a map whose trigger holds only through `Customer`-scoped assignments qualifies
//!    once per assignment, in any session ([`Decision::assignments`] keeps which maps each
//!    assignment triggered); a new assignment, after the last lapsed, lets it qualify again.
//! 4. **Activation** (spec 6.5), for a map that just qualified or is tried again:
//!    - `immediate`: offer now if nothing blocks it;
//!    - `delay`: if nothing blocks it now, start a delay of `delayInSeconds` on this page view
//!      ([`Decision::scheduled`], kept in [`Decision::pending`]). Asked again on the same page
//!      view at or after the end, the engine checks every block again and offers, or blocks.
//!      On another page nothing happens (the delay is cancelled for that page); back on the
//!      delay's page in a later page view of the same session, it offers at once (checked
//!      again). A new session drops the delay.
//!    - `on-next-visit`: pending until the customer's next visit: a later session, or a landing
//!      page view (no referrer, or one from another site, see [`Visit::is_landing`]) after the
//!      one it qualified on; then checked and offered (ours: Genesys says "after the visitor
//!      leaves and returns to the site").
//!    - `on-next-session`: pending until the first decision of a later session.
//!
//!    No block is checked when an `on-next-*` map qualifies; all are checked when it is due. A
//!    pending offer stays pending until it is offered (a blocked one is tried again later).
//!
//!    An action keeps the map version it qualified with: a map tried again or coming due after
//!    an edit is checked by its current rules, but offered, delayed and blocked with the version
//!    of its action ([`Pending::action_map_version`], [`PastAction::action_map_version`]).
//! 5. **Blocks** (spec 6.3), checked in this order, the first that applies is the reason:
//!    1. `TriggerDateInFuture`: `startDate` is after now (the map qualifies, but may not offer);
//!    2. `PageUrlConditionsNotMatching`: the page URL fails a condition (conditions AND, values
//!       as the operator says, never case-sensitive; `equal` compares WHATWG-normalized URLs);
//!    3. `OfferedOutsideSchedule`: the map's schedule group is closed, or its emergency group is
//!       open (see [`ScheduleGroup`](crate::model::ScheduleGroup)); such a map qualifies with
//!       [`Qualified::outside_schedule`] (`qualifiedOutsideSchedule`);
//!    4. `FrequencyCapping`, terminal: an action of this map reached a terminal state
//!       (spec 3.3) within the suppression ([`TerminalSuppression`]: the session, or the
//!       customer for 90 days by default). `ignoreFrequencyCap` does not lift this (ours);
//!    5. `FrequencyCapping`, cap: unless the map has `ignoreFrequencyCap`, the deployment's cap
//!       for the media type ([`FrequencyCap`]): no offer in this session after a conversation
//!       with an agent, after a rejection of that media type, or within the minimum wait since
//!       the last offer of that media type;
//!    6. webchat only: `NoAvailableAgents` when no agent is available, then
//!       `ServiceLevelThrottling` when the service level is below target and the map has
//!       `isPacingEnabled` (the Genesys default, true);
//!    7. (a delay starts here, before the last two: what is on screen may change meanwhile)
//!    8. `AlreadyExistingOffer`: an offer of the same media type is on screen, that is an
//!       action of this session, not final, that is
//!       - a chat `started` or `engaged`: on any page, until it is final (the conversation goes
//!         on across pages);
//!       - an invitation or a content offer answered to show now or `offered`, or a chat
//!         `accepted` (its pre-chat form open): only on the page view it was shown on, for an
//!         event of that page view ([`Visit::pageview_at`]; shown at or after the page view
//!         began). It is shown from the server's answer ([`PastAction::answered_at`]; ours):
//!         the page's `offered` travels on the SDK's queue of action events, so a web event
//!         sent right after the page view (a custom `record`) can arrive before it, and must
//!         not bring a second offer of the same media type. An answer to wait (a delay, the
//!         next visit or session) is not shown yet; the answer when a delay ends is. An
//!         answer not reported `offered` yet counts only on a known page view (a client that
//!         sends no page views is answered again as before). Ours: leaving the
//!         page or its route takes these off screen (the SDK reports `ignored`, and `rejected`
//!         for an open form), but that report can be lost (a killed tab) or arrive after the
//!         next page view, and an offer never resolved would otherwise hold its media type for
//!         the rest of the session. The next page view of the session is the server's own sign
//!         that the visitor moved on; asking again when a delay ends is not a page view. Not
//!         a time limit: a content offer has no timeout and may rightly stay on screen as long
//!         as its page does. An event on no known page view (`pageview_at` unknown) counts
//!         them all. The limits of the rule: the server cannot tell tabs apart, so a page view
//!         in a second tab of the session takes the first tab's offer out of the count (each
//!         tab then holds at most one offer of a media type), and a `pageview` of the route
//!         already viewed, which the SDK does not take as leaving, is a new page view here;
//!    9. `MultipleSimultaneousOffers`: another map of the same media type is offered instead.
//! 6. **Priority** (spec 6.4): of the maps of one media type that could be offered now, the
//!    highest `weight` wins; equal weights are split by [`priority::tie_score`] (even across
//!    customers, always the same map for one customer). So there is at most one offer per
//!    media type, and none where one is already on screen.
//!
//! # Operators
//!
//! See the `operators` module: several values mean "any" for the positive operators
//! (`containsAll`: all), the negative ones are the negations of their positive twins, an absent
//! attribute matches only negative operators, numbers compare as decimals or dotted versions.
//!
//! # Speed
//!
//! [`Catalog::build`] compiles and indexes the maps; a decision evaluates the segments, then
//! only the maps reachable from an assigned segment, from an event name of the session, or
//! from the customer's history, never the whole list. Page URL conditions are indexed by value
//! (`equal` and `startsWith` looked up, each other distinct condition tested once per
//! decision, see `page_url`): they cannot exclude a map from the decision, since a map whose
//! conditions fail still qualifies and is reported blocked, but its check becomes a table read.

mod assignment;
mod frequency;
mod history;
pub(crate) mod operators;
mod outcome;
mod page_url;
pub mod priority;
pub(crate) mod schedule;
mod trigger;
mod visit;

pub(crate) mod compile;

pub use history::{
    Availability, FrequencyCap, History, PastAction, Pending, SegmentAssignment, Settings,
    TerminalSuppression, Until,
};
pub use outcome::{Blocked, Decision, Offer, OfferedBy, Qualified, Scheduled};
pub use visit::{Browser, Campaign, Device, Geolocation, JourneyEvent, Page, Referrer, Visit};

use uuid::Uuid;

use self::assignment::Assignments;
use self::compile::{Compiled, Map};
use self::page_url::{Lookup, PageMatches};
use crate::blocked::BlockReason;
use crate::event::Timestamp;
use crate::media::MediaType;
use crate::model::{ActivationType, Catalog};
use crate::state::State;

/// Everything one decision looks at, filled by the caller.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    pub customer_id: Uuid,
    pub session_id: Uuid,
    /// The time of the event being decided on.
    pub now: Timestamp,
    pub visit: &'a Visit,
    /// The session's events, the current one included.
    pub journey: &'a [JourneyEvent],
    pub history: &'a History,
    pub availability: Availability,
    pub settings: &'a Settings,
}

/// A map being tried for an offer in this decision.
struct Attempt {
    map: u32,
    /// The map version of its action: the one it qualified with.
    version: u32,
    by: OfferedBy,
    /// Its activation still applies (a delay map starts its delay); false when it comes due.
    fresh: bool,
    /// The pending entry it came from, kept unless it is offered.
    pending: Option<usize>,
}

enum Step {
    Block(BlockReason),
    Delay(Timestamp),
    Ready,
}

fn live(m: &Map, now: Timestamp) -> bool {
    m.active && m.end.is_none_or(|e| now < e)
}

fn outside_schedule(c: &Compiled, m: &Map, now: Timestamp) -> bool {
    m.schedule
        .is_some_and(|s| !c.schedules[s as usize].is_open(now))
        || m.emergency
            .is_some_and(|e| c.schedules[e as usize].is_open(now))
}

fn check(
    c: &Compiled,
    input: &DecisionInput<'_>,
    page: &mut PageMatches<'_>,
    m: &Map,
    fresh: bool,
) -> Step {
    let now = input.now;
    if m.start.is_some_and(|s| s > now) {
        return Step::Block(BlockReason::TriggerDateInFuture);
    }
    if !page.all(&m.url_conditions) {
        return Step::Block(BlockReason::PageUrlConditionsNotMatching);
    }
    if outside_schedule(c, m, now) {
        return Step::Block(BlockReason::OfferedOutsideSchedule);
    }
    let (history, settings, session) = (input.history, input.settings, input.session_id);
    if frequency::terminal(history, settings, m.id, session, now)
        || (!m.ignore_frequency_cap && frequency::capped(history, settings, m.media, session, now))
    {
        return Step::Block(BlockReason::FrequencyCapping);
    }
    if m.media == MediaType::Webchat {
        if !input.availability.agents_available {
            return Step::Block(BlockReason::NoAvailableAgents);
        }
        if m.pacing && input.availability.service_level_throttled {
            return Step::Block(BlockReason::ServiceLevelThrottling);
        }
    }
    if fresh && m.activation == ActivationType::Delay {
        return Step::Delay(Timestamp::from_unix_millis(now.unix_millis() + m.delay_ms));
    }
    if history.actions.iter().any(|a| {
        a.media_type == m.media && frequency::on_screen(a, session, input.visit.pageview_at)
    }) {
        return Step::Block(BlockReason::AlreadyExistingOffer);
    }
    Step::Ready
}

/// Decides what to offer now. See the module docs for every rule.
pub fn decide(catalog: &Catalog, input: &DecisionInput<'_>) -> Decision {
    decide_with(catalog, input, Lookup::Indexed)
}

/// The same decision without the indexes: every map is tried against its trigger and every
/// page URL condition of a tried map is tested on its own. Slower; it is the reference the
/// indexed [`decide`] is held to by the property tests and measured against by the benchmark.
#[doc(hidden)]
pub fn decide_by_scan(catalog: &Catalog, input: &DecisionInput<'_>) -> Decision {
    decide_with(catalog, input, Lookup::Scan)
}

fn decide_with(catalog: &Catalog, input: &DecisionInput<'_>, lookup: Lookup) -> Decision {
    let c = &catalog.compiled;
    let (now, session, visit, history) = (input.now, input.session_id, input.visit, input.history);
    let mut decision = Decision::default();

    let mut assignments = Assignments::new(c, visit, input.journey, history, now);
    let assigned = &assignments.assigned;
    decision.segments = c
        .segments
        .iter()
        .zip(assigned)
        .filter(|(_, on)| **on)
        .map(|(s, _)| s.id)
        .collect();
    decision.segments.sort_unstable();

    let mut attempts: Vec<Attempt> = Vec::new();
    let mut keep_pending: Vec<bool> = vec![false; history.pending.len()];

    // Offers waiting for a delay, the next visit or the next session.
    for (pi, p) in history.pending.iter().enumerate() {
        let Some(&i) = c.map_by_id.get(&p.action_map_id) else {
            continue;
        };
        if !live(&c.maps[i as usize], now) {
            continue;
        }
        let due = match &p.until {
            Until::Delay {
                due_at,
                page_url,
                pageview_at,
            } => {
                if p.session_id != session {
                    continue;
                }
                let same_page = *page_url == visit.page.url;
                let same_view = same_page && *pageview_at == visit.pageview_at;
                (same_view && now >= *due_at) || (same_page && !same_view)
            }
            Until::NextSession => p.session_id != session,
            Until::NextVisit => {
                p.session_id != session
                    || (visit.is_landing() && visit.pageview_at.is_some_and(|t| t > p.qualified_at))
            }
        };
        keep_pending[pi] = true;
        if due {
            let by = match p.until {
                Until::Delay { .. } => OfferedBy::Delay,
                Until::NextVisit => OfferedBy::NextVisit,
                Until::NextSession => OfferedBy::NextSession,
            };
            attempts.push(Attempt {
                map: i,
                version: p.action_map_version,
                by,
                fresh: false,
                pending: Some(pi),
            });
        }
    }

    // Only what is still pending (not a delay of an earlier session) holds a map back.
    let pending_map = |id: Uuid| {
        history
            .pending
            .iter()
            .zip(&keep_pending)
            .any(|(p, keep)| *keep && p.action_map_id == id)
    };

    // Maps of this session: qualified and not offered yet are tried again (unless answered and
    // on screen: nothing to try); the others are done.
    let mut seen_in_session: Vec<u32> = Vec::new();
    let mut retry: Vec<u32> = Vec::new();
    for a in history.actions.iter().filter(|a| a.session_id == session) {
        let Some(&i) = c.map_by_id.get(&a.action_map_id) else {
            continue;
        };
        seen_in_session.push(i);
        if matches!(a.state, State::Qualified | State::QualifiedOutsideSchedule)
            && !frequency::on_screen(a, session, visit.pageview_at)
        {
            retry.push(i);
        } else {
            retry.retain(|&r| r != i);
        }
    }
    seen_in_session.sort_unstable();
    seen_in_session.dedup();
    retry.sort_unstable();
    retry.dedup();
    retry.retain(|&i| {
        let still_qualified = !history.actions.iter().any(|a| {
            a.session_id == session
                && a.action_map_id == c.maps[i as usize].id
                && !matches!(a.state, State::Qualified | State::QualifiedOutsideSchedule)
        });
        still_qualified && !pending_map(c.maps[i as usize].id)
    });
    for i in retry {
        let m = &c.maps[i as usize];
        if live(m, now) {
            attempts.push(Attempt {
                map: i,
                version: qualified_version(history, session, m),
                by: OfferedBy::Immediate,
                fresh: true,
                pending: None,
            });
        }
    }

    // Maps whose trigger holds now, found through the indexes.
    let candidates = match lookup {
        Lookup::Indexed => trigger::candidates(c, assigned, input.journey),
        Lookup::Scan => (0..c.maps.len() as u32).collect(),
    };
    for i in candidates {
        let m = &c.maps[i as usize];
        if !live(m, now)
            || seen_in_session.binary_search(&i).is_ok()
            || pending_map(m.id)
            || !trigger::triggered(m, &assignments.assigned, visit, input.journey)
            || !assignments.allow(m)
        {
            continue;
        }
        assignments.qualified(m);
        decision.qualified.push(Qualified {
            action_map_id: m.id,
            action_map_version: m.version,
            media_type: m.media,
            outside_schedule: outside_schedule(c, m, now),
        });
        let until = match m.activation {
            ActivationType::OnNextVisit => Some(Until::NextVisit),
            ActivationType::OnNextSession => Some(Until::NextSession),
            _ => None,
        };
        match until {
            Some(until) => decision.pending.push(Pending {
                action_map_id: m.id,
                action_map_version: m.version,
                media_type: m.media,
                session_id: session,
                qualified_at: now,
                until,
            }),
            None => attempts.push(Attempt {
                map: i,
                version: m.version,
                by: OfferedBy::Immediate,
                fresh: true,
                pending: None,
            }),
        }
    }

    // Blocks, delays, and the candidates per media type.
    let mut ready: [Vec<(i64, Uuid, usize)>; 2] = [Vec::new(), Vec::new()];
    let mut page = PageMatches::new(&c.urls, &visit.page.url, lookup);
    for (ai, a) in attempts.iter().enumerate() {
        let m = &c.maps[a.map as usize];
        match check(c, input, &mut page, m, a.fresh) {
            Step::Block(reason) => decision.blocked.push(Blocked {
                action_map_id: m.id,
                action_map_version: a.version,
                media_type: m.media,
                reason,
            }),
            Step::Delay(due_at) => {
                decision.scheduled.push(Scheduled {
                    action_map_id: m.id,
                    action_map_version: a.version,
                    media_type: m.media,
                    due_at,
                });
                decision.pending.push(Pending {
                    action_map_id: m.id,
                    action_map_version: a.version,
                    media_type: m.media,
                    session_id: session,
                    qualified_at: now,
                    until: Until::Delay {
                        due_at,
                        page_url: visit.page.url.clone(),
                        pageview_at: visit.pageview_at,
                    },
                });
            }
            Step::Ready => ready[media_index(m.media)].push((m.weight, m.id, ai)),
        }
    }
    for media in MediaType::ALL {
        let group = &ready[media_index(media)];
        let pairs: Vec<(i64, Uuid)> = group.iter().map(|g| (g.0, g.1)).collect();
        let Some(w) = priority::pick(input.customer_id, &pairs) else {
            continue;
        };
        for (gi, &(_, _, ai)) in group.iter().enumerate() {
            let a = &attempts[ai];
            let m = &c.maps[a.map as usize];
            if gi == w {
                if let Some(pi) = a.pending {
                    keep_pending[pi] = false;
                }
                decision.offers.push(Offer {
                    action_map_id: m.id,
                    action_map_version: a.version,
                    media_type: m.media,
                    activation: a.by,
                });
            } else {
                decision.blocked.push(Blocked {
                    action_map_id: m.id,
                    action_map_version: a.version,
                    media_type: m.media,
                    reason: BlockReason::MultipleSimultaneousOffers,
                });
            }
        }
    }

    let mut pending: Vec<Pending> = history
        .pending
        .iter()
        .zip(&keep_pending)
        .filter(|(_, keep)| **keep)
        .map(|(p, _)| p.clone())
        .collect();
    // A delay that ran again on its page replaces the old one.
    pending.retain(|p| {
        !decision
            .pending
            .iter()
            .any(|n| n.action_map_id == p.action_map_id)
    });
    pending.append(&mut decision.pending);
    pending.sort_by_key(|p| p.action_map_id);
    decision.pending = pending;
    decision.assignments = assignments.into_customer();
    decision.qualified.sort_by_key(|q| q.action_map_id);
    decision.scheduled.sort_by_key(|s| s.action_map_id);
    decision.blocked.sort_by_key(|b| b.action_map_id);
    decision
}

/// The map version this session's action of the map qualified with (the map's own for an
/// action stored before versions were kept).
fn qualified_version(history: &History, session: Uuid, m: &Map) -> u32 {
    history
        .actions
        .iter()
        .rev()
        .find(|a| a.session_id == session && a.action_map_id == m.id)
        .and_then(|a| a.action_map_version)
        .unwrap_or(m.version)
}

fn media_index(m: MediaType) -> usize {
    match m {
        MediaType::Webchat => 0,
        MediaType::Contentoffer => 1,
    }
}
