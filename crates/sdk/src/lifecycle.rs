//! The browser side of spec section 3: from the `qualified` action the server hands over to
//! `offered`, and on to what the visitor does with it.
//!
//! Every state change goes through [`Runtime::transition`], which asks beckon-core's lifecycle
//! table first (the SDK never emits an illegal transition), then emits the event to `ac('on')`
//! handlers and the data layers and queues it for the server.
//!
//! Activation delays (spec 6.5) count on the page; when one ends, the page asks the server
//! again, which checks every block, and shows the offer only if the answer lists it. Leaving the
//! page (or, in a single-page app, the route) cancels them. Coming back to the page later in the
//! session is the server's to decide: the delay is pending there, and the page view of that page
//! gets the offer at once.
//!
//! An offer that cannot be shown is reported `offered` then `errored`: the tables allow `errored`
//! only after `offered`, and the attempt to show it is what failed.

use beckon_core::{ActionError, ActionEvent, Lifecycle as Table, MediaType, State, Timestamp};
use js_sys::Array;
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};

use crate::action::{Action, Activation, Head};
use crate::browser::{Timer, current_url, field, from_json, log_error, now, to_json};
use crate::ids::{new_uuid, text as id_text};
use crate::presenters::{self, Presented};
use crate::runtime::{Runtime, same_route, with_runtime};
use crate::transport::{Reply, Route, post};
use beckon_core::text::concat;

/// `errorCode`s of the `errored` events the SDK reports.
pub mod codes {
    /// The action's content does not have the agreed shape.
    pub const INVALID_ACTION: i64 = 4001;
    /// The page did not let the SDK draw it.
    pub const NOT_SHOWN: i64 = 4002;
    /// Its image did not load.
    pub const IMAGE_FAILED: i64 = 4003;
    /// The chat conversation could not be created, or its connection not kept.
    pub const CHAT_FAILED: i64 = 4004;
}

struct Tracked {
    head: Head,
    state: State,
    shown: Option<Presented>,
    timeout: Option<Timer>,
}

#[derive(Default)]
pub struct Lifecycle {
    actions: Vec<Tracked>,
    delays: Vec<(Uuid, Timer)>,
}

impl Lifecycle {
    /// Cancels the pending delays and forgets their actions: if the server offers one again (back
    /// on its page), that is a new start.
    pub fn cancel_delays(&mut self) {
        let delays = std::mem::take(&mut self.delays);
        self.actions
            .retain(|t| !delays.iter().any(|(id, _)| *id == t.head.action_id));
    }

    fn get(&mut self, id: Uuid) -> Option<&mut Tracked> {
        self.actions.iter_mut().find(|t| t.head.action_id == id)
    }
}

/// What the visitor (or time) did with an action on screen.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Accepted,
    Rejected,
    TimedOut,
}

impl Runtime {
    /// An action from the server. Its `qualified` state was emitted by the server.
    pub fn receive(&mut self, raw: JsValue) {
        let head = match Head::read(&raw) {
            Ok(head) => head,
            Err(e) => {
                log_error(&concat(&[
                    "the server sent an action that cannot be read (",
                    &e,
                    ")",
                ]));
                return;
            }
        };
        if self.lifecycle.get(head.action_id).is_some() {
            return;
        }
        self.lifecycle.actions.push(Tracked {
            head,
            state: State::Qualified,
            shown: None,
            timeout: None,
        });
        match Action::read(&raw) {
            Ok(action) => match action.activation {
                Activation::Delay { delay_in_seconds } if delay_in_seconds > 0.0 => {
                    self.delay(head.action_id, delay_in_seconds)
                }
                _ => self.present(head.action_id, action),
            },
            Err(e) => self.fail(head.action_id, codes::INVALID_ACTION, e),
        }
    }

    fn delay(&mut self, id: Uuid, seconds: f64) {
        let timer = Timer::after(seconds * 1000.0, move || {
            with_runtime(|rt| rt.ask_again(id, 0));
        });
        self.lifecycle.delays.push((id, timer));
    }

    /// The delay ended (after `tries` asks that failed): the server checks the offer again
    /// (spec 6.5); its answer lists the action, now `immediate`, only while it may still be
    /// shown. It is forgotten here, so that the answer is taken as the action it is then.
    fn ask_again(&mut self, id: Uuid, tries: u32) {
        self.lifecycle.delays.retain(|(d, _)| *d != id);
        self.lifecycle.actions.retain(|t| t.head.action_id != id);
        let session = self.identity.session();
        let body = crate::commands::web_event(
            &id_text(&self.identity.customer_id),
            &id_text(&session.id),
            "delay_ended",
            // The page view's URL (its `location` option, if it had one): the delay's page.
            Some(&self.viewed),
            None,
            now(),
            &JsValue::UNDEFINED,
        );
        let (start, at) = (self.transport.id, current_url());
        let asked = crate::browser::once(move |reply| {
            with_runtime(|rt| rt.decided(id, tries, start, &at, reply.unchecked_into()));
        });
        post(&self.transport.url("decisions"), &body).then(&asked);
    }

    /// The answer to a decision asked again: its actions, if the server could answer and the
    /// start that asked (`Transport::id`) is still the SDK's, on the same route of the page.
    fn decided(&mut self, id: Uuid, tries: u32, start: u64, at: &str, reply: Reply) {
        if start != self.transport.id || !same_route(at, &current_url()) {
            return;
        }
        match reply.status() {
            200..=299 => self.receive_all(&reply.body()),
            // The network or the server failed: asked again a little later, twice at most, as a
            // pending delay, so that leaving the page still cancels it.
            0 | 408 | 429 | 500..=599 if tries < 2 => {
                let timer = Timer::after(1000.0 * f64::from(tries + 1), move || {
                    with_runtime(|rt| rt.ask_again(id, tries + 1));
                });
                self.lifecycle.delays.push((id, timer));
            }
            _ => {}
        }
    }

    /// The actions of a decision's answer (`{ "actions": [...] }`), each received.
    pub fn receive_all(&mut self, body: &str) {
        let actions = field(&from_json(body), "actions");
        if Array::is_array(&actions) {
            for action in actions.unchecked_into::<Array>().iter() {
                self.receive(action);
            }
        }
    }

    fn present(&mut self, id: Uuid, action: Action) {
        let Some(media) = self.lifecycle.get(id).map(|t| t.head.media_type) else {
            return;
        };
        let shown = match media {
            MediaType::Contentoffer => match &action.content_offer {
                Some(offer) => presenters::content_offer::show(id, offer),
                None => Err((
                    codes::INVALID_ACTION,
                    "a contentoffer action has no contentOffer".to_owned(),
                )),
            },
            MediaType::Webchat => {
                self.chat.invited(id, action.survey.clone());
                presenters::invitation::show(
                    id,
                    &action.chat_invitation.clone().unwrap_or_default(),
                )
            }
        };
        match shown {
            Ok(presented) => {
                self.moved_to(current_url());
                self.transition(id, State::Offered, None);
                if let Some(tracked) = self.lifecycle.get(id) {
                    tracked.shown = Some(presented);
                    if media == MediaType::Webchat {
                        let seconds = action.timeout_seconds.unwrap_or(30.0);
                        tracked.timeout = Some(Timer::after(seconds * 1000.0, move || {
                            with_runtime(|rt| rt.settle(id, Outcome::TimedOut));
                        }));
                    }
                }
            }
            Err((code, message)) => self.fail(id, code, message),
        }
    }

    /// Showing failed: `offered`, then `errored` with a code and a message.
    pub fn fail(&mut self, id: Uuid, code: i64, message: String) {
        log_error(&concat(&[
            "action ",
            &id_text(&id),
            " could not be shown: ",
            &message,
        ]));
        if self.lifecycle.get(id).map(|t| t.state) == Some(State::Qualified) {
            self.transition(id, State::Offered, None);
        }
        self.withdraw(id);
        self.errored(id, code, &message);
    }

    /// `errored`, with its code and message (cut to what the server takes: a refusal would lose
    /// the whole batch).
    pub fn errored(&mut self, id: Uuid, code: i64, message: &str) {
        let message =
            &message[..message.floor_char_boundary(beckon_core::event::MAX_ERROR_MESSAGE)];
        self.transition(
            id,
            State::Errored,
            Some(ActionError {
                code,
                message: message.into(),
            }),
        );
    }

    /// The visitor answered (or the invitation timed out): the presentation goes away.
    pub fn settle(&mut self, id: Uuid, outcome: Outcome) {
        let state = match outcome {
            Outcome::Accepted => State::Accepted,
            Outcome::Rejected => State::Rejected,
            Outcome::TimedOut => State::Timedout,
        };
        let Some(tracked) = self.lifecycle.get(id).filter(|t| t.shown.is_some()) else {
            return;
        };
        let chat = tracked.head.media_type == MediaType::Webchat;
        self.withdraw(id);
        self.transition(id, state, None);
        if chat && state == State::Accepted {
            self.chat_accepted(id);
        }
    }

    /// An action an earlier page of the session took to `state` (a chat in progress), so that
    /// this page carries on from there.
    pub fn adopt(&mut self, head: Head, state: State) {
        if self.lifecycle.get(head.action_id).is_none() {
            self.lifecycle.actions.push(Tracked {
                head,
                state,
                shown: None,
                timeout: None,
            });
        }
    }

    /// An action of this page and the state it is in.
    pub fn action_of(&mut self, id: Uuid) -> Option<(Head, State)> {
        self.lifecycle.get(id).map(|t| (t.head, t.state))
    }

    /// Everything on screen is `ignored` (the visitor left the page or the route).
    pub fn ignore_shown(&mut self) {
        let mut shown = Vec::new();
        for tracked in &self.lifecycle.actions {
            if tracked.shown.is_some() {
                shown.push(tracked.head.action_id);
            }
        }
        for &id in &shown {
            self.withdraw(id);
            self.transition(id, State::Ignored, None);
        }
    }

    fn withdraw(&mut self, id: Uuid) {
        if let Some(tracked) = self.lifecycle.get(id) {
            tracked.timeout = None;
            if let Some(presented) = tracked.shown.take() {
                presented.remove();
            }
        }
    }

    /// One state change: checked against the lifecycle table, emitted, sent to the server.
    pub fn transition(&mut self, id: Uuid, state: State, error: Option<ActionError>) {
        self.change(id, state, error, true, None);
    }

    /// A state change the server made and recorded itself (a chat's `started`, `engaged`,
    /// `abandoned`, `completed`): checked and emitted on the page, not sent back. `stored` is
    /// the recorded event's `eventId` and `timestamp`, when the server said (spec 4.3: the
    /// page's copy is the same event).
    pub fn observe(&mut self, id: Uuid, state: State, stored: Option<(Uuid, Timestamp)>) {
        self.change(id, state, None, false, stored);
    }

    fn change(
        &mut self,
        id: Uuid,
        state: State,
        error: Option<ActionError>,
        report: bool,
        stored: Option<(Uuid, Timestamp)>,
    ) {
        let Some(tracked) = self.lifecycle.get(id) else {
            return;
        };
        let head = tracked.head;
        if let Err(refusal) = Table::of(head.media_type).check(Some(tracked.state), state) {
            log_error(&concat(&[
                "action ",
                &id_text(&id),
                ": ",
                &refusal.message(),
            ]));
            return;
        }
        tracked.state = state;
        // The visitor's answer is activity that keeps the session going; the event belongs to
        // the action's session all the same (spec 1: an action is one offer in one session).
        // What the page does by itself (shows, withdraws, times out) is not activity.
        if matches!(state, State::Accepted | State::Rejected) {
            self.identity.touch();
        }
        let session_id = match head.session_id {
            Some(id) => id,
            None => self.identity.session().id,
        };
        let (event_id, timestamp) =
            stored.unwrap_or_else(|| (new_uuid(), Timestamp::from_unix_millis(now() as i64)));
        let event = ActionEvent {
            action_id: id,
            action_state: state,
            action_media_type: head.media_type,
            action_map_id: head.action_map_id,
            action_map_version: head.action_map_version,
            customer_id: self.identity.customer_id,
            session_id,
            error,
            event_id,
            timestamp,
        };
        if report && let Some(json) = to_json(&crate::events::to_js(&event)) {
            self.transport.send(Route::ActionEvents, json, None);
        }
        crate::events::emit(event);
    }
}
