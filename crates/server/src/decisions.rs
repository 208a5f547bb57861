//! Running the decision engine for a web event (spec section 6) and turning its
//! [`Decision`](beckon_core::Decision) into what the server must do: `qualified` events and
//! blocked offers for the log, the customer's state for the next decision, and the actions the
//! page presents.
//!
//! Between decisions the server keeps what the engine asks for (see `beckon_core::decide`):
//! each action's latest state with its session, the pending offers and customer-scoped segment
//! assignments the last decision returned, the session's journey, and the actions answered to
//! the session's pages to show now (on screen from the answer, before the page reports
//! `offered`: a web event sent right after the page view must not bring a second offer of the
//! same media type). All of it is read before the decision and written in the same submission
//! as the web event, so the request is answered only once its records are durable. Decisions
//! for one customer are serialized ([`Locks`]): two concurrent requests cannot both qualify the
//! same map in a session.
//!
//! A request's events are grouped by customer and session; each group is decided once, after
//! all its events joined the journey, on the page of its last event (a batch from the SDK's
//! outbox ends with the page now on screen). A page whose activation delay ended asks again
//! ([`Occasion::Recheck`]): decided the same way on its page, but nothing joins the journey.

use std::sync::Arc;

use beckon_core::decide::{Availability, DecisionInput, Geolocation, History, PastAction, Pending};
use beckon_core::model::ActionMap;
use beckon_core::{ActionEvent, BlockedOffer, Catalog, MediaType, State, Timestamp, decide};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};
use uuid::Uuid;

use crate::config::Deployment;
use crate::enrich;
use crate::ingest::WebEvent;
use crate::store::{Answered, CustomerContext, CustomerUpdate, Item, Store, StoreError};

/// Per-customer locks, striped: a customer's decisions run one at a time.
pub struct Locks {
    stripes: Vec<Mutex<()>>,
}

impl Default for Locks {
    fn default() -> Self {
        Locks {
            stripes: (0..256).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl Locks {
    /// Locks every customer of a request, in a fixed order so two requests cannot deadlock.
    pub async fn lock(&self, customers: impl Iterator<Item = Uuid>) -> Vec<MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = customers
            .map(|c| (c.as_u128() % self.stripes.len() as u128) as usize)
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for s in stripes {
            guards.push(self.stripes[s].lock().await);
        }
        guards
    }
}

/// What the decisions of one request produce.
#[derive(Debug, Default)]
pub struct Decided {
    /// `qualified` action events and blocked offers, to commit after the web events.
    pub items: Vec<Item>,
    pub customers: Vec<CustomerUpdate>,
    /// The actions to present, in the shape the SDK reads (`crates/sdk/src/action.rs`).
    pub actions: Vec<Value>,
}

/// Why a decision is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// The page sent web events: they join the session's journey, and a page view is the page
    /// view delays count on.
    Events,
    /// The page asks again without anything new having happened: an activation delay ended
    /// (spec 6.5: eligibility is checked again). The event only says where the visitor is, and
    /// is not recorded or part of the journey.
    Recheck,
}

/// The session a web event belongs to; a Genesys-style event without one counts the
/// customer's whole history as one session.
fn session_of(event: &WebEvent) -> Uuid {
    event.session_id.unwrap_or(event.customer_cookie_id)
}

/// Decides for every customer and session of a request's events (already checked).
#[allow(clippy::too_many_arguments)]
pub async fn decide_all(
    store: &dyn Store,
    catalog: &Catalog,
    deployment: &Deployment,
    occasion: Occasion,
    events: &[Arc<WebEvent>],
    location: &Geolocation,
    availability: Availability,
    now: Timestamp,
) -> Result<Decided, StoreError> {
    let mut groups: Vec<((Uuid, Uuid), Vec<&WebEvent>)> = Vec::new();
    for e in events {
        let key = (e.customer_cookie_id, session_of(e));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(e),
            None => groups.push((key, vec![e])),
        }
    }
    let mut decided = Decided::default();
    for ((customer, session), group) in groups {
        let context = store
            .customer_context(deployment.id, customer, session)
            .await?;
        decide_group(
            catalog,
            deployment,
            occasion,
            customer,
            session,
            &group,
            context,
            location,
            availability,
            now,
            &mut decided,
        );
    }
    Ok(decided)
}

fn still_qualified(state: State) -> bool {
    matches!(state, State::Qualified | State::QualifiedOutsideSchedule)
}

/// The pending offers still waiting: one whose action went on (the page ran its delay and
/// reported `offered`, or later) is done.
fn waiting(context: &CustomerContext) -> Vec<Pending> {
    context
        .pending
        .iter()
        .filter(|p| {
            !context.actions.iter().any(|(_, a)| {
                a.action_map_id == p.action_map_id
                    && a.session_id == p.session_id
                    && !still_qualified(a.state)
                    && a.updated_at >= p.qualified_at
            })
        })
        .cloned()
        .collect()
}

/// An action as the engine sees it: when it was last answered to a page of this session to show
/// now, if it was, and, until the page reports `offered` (which makes the session it is shown in
/// its own), this session: an `on-next-*` offer answered here qualified in an earlier one.
fn with_answer(session: Uuid, answered: &[Answered], id: Uuid, action: &PastAction) -> PastAction {
    let mut action = action.clone();
    if let Some(answer) = answered.iter().find(|a| a.action_id == id) {
        action.answered_at = Some(answer.at);
        if still_qualified(action.state) {
            action.session_id = session;
        }
    }
    action
}

#[allow(clippy::too_many_arguments)]
fn decide_group(
    catalog: &Catalog,
    deployment: &Deployment,
    occasion: Occasion,
    customer: Uuid,
    session: Uuid,
    group: &[&WebEvent],
    context: CustomerContext,
    location: &Geolocation,
    availability: Availability,
    now: Timestamp,
    out: &mut Decided,
) {
    let mut journey = context.journey.clone();
    let mut pageview = context.pageview.clone();
    let steps = enrich::journey_steps(group);
    let last_page = steps.last().and_then(|step| step.page.clone());
    let joining = match occasion {
        Occasion::Events => steps,
        Occasion::Recheck => Vec::new(),
    };
    for (e, step) in group.iter().zip(joining) {
        if enrich::is_pageview(&e.event_name) {
            // The page's URL as a visit has it: normalized, or as sent when it does not parse.
            // When it began is when the server received it: the engine compares it with its
            // own times (`qualified_at`), and the page's `createdDate` is the page's clock.
            let url = step.page.as_ref().map_or(&e.page.url, |p| &p.url);
            pageview = Some((url.clone(), now));
        }
        enrich::append(&mut journey, step);
    }
    let last = group.last().expect("a group has an event");
    let mut visit = enrich::visit(last, last_page);
    visit.geolocation = location.clone();
    visit.pageview_at = pageview
        .as_ref()
        .filter(|(url, _)| *url == visit.page.url)
        .map(|(_, at)| *at);
    let history = History {
        actions: context
            .actions
            .iter()
            .map(|(id, a)| with_answer(session, &context.answered, *id, a))
            .collect(),
        pending: waiting(&context),
        segments: context.segments.clone(),
    };
    let settings = deployment.decision_settings();
    let decision = decide(
        catalog,
        &DecisionInput {
            customer_id: customer,
            session_id: session,
            now,
            visit: &visit,
            journey: &journey,
            history: &history,
            availability,
            settings: &settings,
        },
    );
    let records = Records {
        catalog,
        customer,
        session,
        now,
    };
    let mut qualified_now: Vec<(Uuid, Uuid)> = Vec::new();
    for q in &decision.qualified {
        let action_id = Uuid::new_v4();
        qualified_now.push((q.action_map_id, action_id));
        out.items.push(Item::Action(records.qualified(
            action_id,
            q.action_map_id,
            q.action_map_version,
            q.media_type,
        )));
    }
    for b in &decision.blocked {
        out.items.push(Item::Blocked(BlockedOffer {
            event_id: Uuid::new_v4(),
            action_map_id: b.action_map_id,
            action_map_version: b.action_map_version,
            action_media_type: b.media_type,
            customer_id: customer,
            session_id: session,
            reason: b.reason,
            timestamp: now,
        }));
    }
    let mut action_id = |map: Uuid, version: u32, media: MediaType, out: &mut Decided| {
        if let Some((_, id)) = qualified_now.iter().find(|(m, _)| *m == map) {
            return *id;
        }
        // A map tried again (or coming due) keeps the action it qualified with.
        if let Some((id, _)) = context
            .actions
            .iter()
            .rev()
            .find(|(_, a)| a.action_map_id == map && still_qualified(a.state))
        {
            return *id;
        }
        let id = Uuid::new_v4();
        qualified_now.push((map, id));
        out.items
            .push(Item::Action(records.qualified(id, map, version, media)));
        id
    };
    let mut answered = context.answered.clone();
    for o in &decision.offers {
        let id = action_id(o.action_map_id, o.action_map_version, o.media_type, out);
        answered.retain(|a| a.action_id != id);
        answered.push(Answered {
            action_id: id,
            at: now,
        });
        if let Some(a) = records.action(
            id,
            o.action_map_id,
            o.action_map_version,
            json!({ "type": "immediate" }),
        ) {
            out.actions.push(a);
        }
    }
    for s in &decision.scheduled {
        let id = action_id(s.action_map_id, s.action_map_version, s.media_type, out);
        let seconds = ((s.due_at.unix_millis() - now.unix_millis()).max(0) as u64).div_ceil(1000);
        let activation = json!({ "type": "delay", "delayInSeconds": seconds });
        if let Some(a) = records.action(id, s.action_map_id, s.action_map_version, activation) {
            out.actions.push(a);
        }
    }
    out.customers.push(CustomerUpdate {
        customer_id: customer,
        session_id: session,
        journey,
        pageview,
        answered,
        customer: (decision.pending != context.pending || decision.assignments != context.segments)
            .then(|| (decision.pending.clone(), decision.assignments.clone())),
    });
}

/// Builds the records and actions of one decision.
struct Records<'a> {
    catalog: &'a Catalog,
    customer: Uuid,
    session: Uuid,
    now: Timestamp,
}

impl Records<'_> {
    fn qualified(&self, action_id: Uuid, map: Uuid, version: u32, media: MediaType) -> ActionEvent {
        ActionEvent {
            action_id,
            action_state: State::Qualified,
            action_media_type: media,
            action_map_id: map,
            action_map_version: version,
            customer_id: self.customer,
            session_id: self.session,
            error: None,
            event_id: Uuid::new_v4(),
            timestamp: self.now,
        }
    }

    /// The action as the SDK reads it; `None` if the map is gone (it cannot be: the catalog
    /// decided with it).
    fn action(
        &self,
        action_id: Uuid,
        map_id: Uuid,
        version: u32,
        activation: Value,
    ) -> Option<Value> {
        let map: &ActionMap = self.catalog.map(map_id)?;
        let media = map.action.media_type.get().ok()?;
        let mut action = json!({
            "actionId": action_id,
            "actionMapId": map_id,
            "actionMapVersion": version,
            "mediaType": media.as_str(),
            "sessionId": self.session,
            "activation": activation,
        });
        match media {
            MediaType::Contentoffer => {
                let offer = map
                    .action
                    .action_template
                    .as_ref()
                    .and_then(|t| self.catalog.template(t.id))
                    .and_then(|t| t.content_offer.as_ref())?;
                action["contentOffer"] = serde_json::to_value(offer).expect("offers serialize");
            }
            MediaType::Webchat => {
                let props = map.action.props.clone().unwrap_or_default();
                action["timeoutSeconds"] = props.timeout_seconds().into();
                let texts = [
                    ("prompt", props.webchat_prompt),
                    ("title", props.webchat_title_text),
                    ("acceptLabel", props.webchat_accept_text),
                    ("declineLabel", props.webchat_decline_text),
                ];
                action["chatInvitation"] = texts
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), Value::String(v?))))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
                if let Some(survey) = props.webchat_survey {
                    action["webchatSurvey"] =
                        serde_json::to_value(survey).expect("surveys serialize");
                }
            }
        }
        Some(action)
    }
}
