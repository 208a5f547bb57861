//! The subscription bus behind `ac('on' | 'once' | 'off', …)`: every dispatch rule of spec 4.2.
//!
//! The bus never calls a handler itself. It hands out [`Delivery`]s one at a time
//! ([`Bus::next_delivery`]) and the caller runs them, so a handler may freely call back into the
//! bus (subscribe, unsubscribe, emit) while it runs: in the browser the handler is a JavaScript
//! function that calls `ac(...)`, and the bus must not be borrowed at that moment. [`Bus::dispatch`]
//! wraps that loop for callers that can run a handler with the bus in hand.
//!
//! How the rules map onto the code:
//! 1. order and duplicates: `registrations` is a list in registration order, one entry per call;
//! 2. snapshot: when an event's dispatch starts, its matching registrations are copied into
//!    `snapshot`; later changes to `registrations` do not touch it;
//! 3. once: a `once` registration is removed from `registrations` just before its delivery;
//! 4. a copy per handler: every [`Delivery`] owns its own clone of the event;
//! 5. isolation: the caller runs handlers; [`Bus::dispatch`] collects failures and goes on;
//! 6. run to completion: `emit` only queues; the next event starts when the current snapshot is
//!    exhausted;
//! 7. replay: the bus keeps the last events it dispatched and queues matching ones for a new
//!    `replay` registration, ahead of anything emitted after it.

use std::collections::VecDeque;

use crate::event::ActionEvent;
use crate::topic::Topic;

/// How many past events a bus keeps for `replay` subscribers unless told otherwise.
pub const DEFAULT_HISTORY_LIMIT: usize = 1000;

/// Identifies one registration (one `on` or `once` call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationId(u64);

#[derive(Debug, Clone)]
struct Registration<H> {
    id: RegistrationId,
    topic: Topic,
    handler: H,
    once: bool,
}

/// Work waiting its turn: an event for every matching subscriber, or a past event for one.
#[derive(Debug)]
enum Pending {
    Emit(ActionEvent),
    Replay(RegistrationId, ActionEvent),
}

/// One handler call to make: the handler, the topic it was registered on, its own event copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<H> {
    pub handler: H,
    pub topic: Topic,
    pub event: ActionEvent,
}

/// A handler that failed during [`Bus::dispatch`]; the others still ran.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerFailure<E> {
    /// The topic the failing handler was registered on.
    pub topic: Topic,
    /// The event it was handling.
    pub event: ActionEvent,
    /// What it failed with.
    pub error: E,
}

/// The subscription bus, generic over the handler type (a JavaScript function in the browser,
/// a channel on the server, a label in tests).
#[derive(Debug)]
pub struct Bus<H> {
    registrations: Vec<Registration<H>>,
    next_id: u64,
    pending: VecDeque<Pending>,
    current: Option<ActionEvent>,
    snapshot: Vec<Registration<H>>,
    cursor: usize,
    history: VecDeque<ActionEvent>,
    history_limit: usize,
}

impl<H> Default for Bus<H> {
    fn default() -> Self {
        Bus::with_history_limit(DEFAULT_HISTORY_LIMIT)
    }
}

impl<H: Clone + PartialEq> Bus<H> {
    /// A bus that keeps the last [`DEFAULT_HISTORY_LIMIT`] events for replay.
    pub fn new() -> Self {
        Self::default()
    }

    /// `ac('on', topic, handler)`.
    pub fn on(&mut self, topic: Topic, handler: H) -> RegistrationId {
        self.register(topic, handler, false)
    }

    /// `ac('once', topic, handler)`.
    pub fn once(&mut self, topic: Topic, handler: H) -> RegistrationId {
        self.register(topic, handler, true)
    }

    /// `ac('on' | 'once', topic, handler, { replay: true })`: the matching events this bus has
    /// already dispatched are delivered to this registration first, in order, then future ones.
    pub fn subscribe_with_replay(
        &mut self,
        topic: Topic,
        handler: H,
        once: bool,
    ) -> RegistrationId {
        let id = self.register(topic, handler, once);
        let past = self
            .history
            .iter()
            .filter(|e| topic.matches(e.action_media_type, e.action_state))
            .map(|e| Pending::Replay(id, e.clone()));
        // Ahead of every queued emit (those are not in the history yet, so this registration
        // gets them as they are dispatched), behind the event being dispatched and behind the
        // replays of earlier registrations (rule 1). `pending` is always replays, then emits.
        let start = self
            .pending
            .iter()
            .take_while(|p| matches!(p, Pending::Replay(..)))
            .count();
        let replays: Vec<Pending> = past.collect();
        for (offset, item) in replays.into_iter().enumerate() {
            self.pending.insert(start + offset, item);
        }
        id
    }

    /// `ac('off', topic, handler)`: removes every registration of `handler` on exactly `topic`.
    /// Returns how many were removed (zero is not an error).
    pub fn off(&mut self, topic: Topic, handler: &H) -> usize {
        self.remove_where(|r| r.topic == topic && r.handler == *handler)
    }

    /// `ac('off', topic)`: removes every handler on exactly `topic`.
    pub fn off_topic(&mut self, topic: Topic) -> usize {
        self.remove_where(|r| r.topic == topic)
    }

    /// Removes one registration by id; `false` if it was already gone.
    pub fn remove(&mut self, id: RegistrationId) -> bool {
        self.remove_where(|r| r.id == id) > 0
    }

    /// Queues an event for every matching subscriber. Nothing runs until the caller drains the
    /// bus with [`Bus::next_delivery`] or [`Bus::dispatch`].
    pub fn emit(&mut self, event: ActionEvent) {
        self.pending.push_back(Pending::Emit(event));
    }

    /// Whether deliveries are waiting.
    pub fn has_pending(&self) -> bool {
        self.cursor < self.snapshot.len() || !self.pending.is_empty()
    }

    /// How many registrations there are.
    pub fn len(&self) -> usize {
        self.registrations.len()
    }

    /// Whether nobody is subscribed.
    pub fn is_empty(&self) -> bool {
        self.registrations.is_empty()
    }

    /// Forgets every registration, pending event and past event (`ac('destroy')`).
    pub fn clear(&mut self) {
        self.registrations.clear();
        self.pending.clear();
        self.snapshot.clear();
        self.cursor = 0;
        self.current = None;
        self.history.clear();
    }

    /// The next handler call to make, or `None` once everything queued has been delivered.
    pub fn next_delivery(&mut self) -> Option<Delivery<H>> {
        loop {
            if let Some(target) = self.snapshot.get(self.cursor) {
                self.cursor += 1;
                let (handler, topic, once, id) =
                    (target.handler.clone(), target.topic, target.once, target.id);
                if once {
                    self.remove(id);
                }
                let event = self.current.clone()?;
                return Some(Delivery {
                    handler,
                    topic,
                    event,
                });
            }
            self.start_next()?;
        }
    }

    /// Runs every queued delivery through `call`, which may use the bus (subscribe, unsubscribe,
    /// emit). A failing call does not stop the others; the failures are returned in order.
    pub fn dispatch<E>(
        &mut self,
        mut call: impl FnMut(&mut Self, H, ActionEvent) -> Result<(), E>,
    ) -> Vec<HandlerFailure<E>> {
        let mut failures = Vec::new();
        while let Some(Delivery {
            handler,
            topic,
            event,
        }) = self.next_delivery()
        {
            let for_report = event.clone();
            if let Err(error) = call(self, handler, event) {
                failures.push(HandlerFailure {
                    topic,
                    event: for_report,
                    error,
                });
            }
        }
        failures
    }

    fn register(&mut self, topic: Topic, handler: H, once: bool) -> RegistrationId {
        let id = RegistrationId(self.next_id);
        self.next_id += 1;
        self.registrations.push(Registration {
            id,
            topic,
            handler,
            once,
        });
        id
    }

    fn remove_where(&mut self, doomed: impl Fn(&Registration<H>) -> bool) -> usize {
        let before = self.registrations.len();
        self.registrations.retain(|r| !doomed(r));
        before - self.registrations.len()
    }

    /// Takes the next pending item and fills the snapshot for it. `None` when nothing is queued.
    fn start_next(&mut self) -> Option<()> {
        self.snapshot.clear();
        self.cursor = 0;
        match self.pending.pop_front()? {
            Pending::Emit(event) => {
                let (media, state) = (event.action_media_type, event.action_state);
                self.snapshot.extend(
                    self.registrations
                        .iter()
                        .filter(|r| r.topic.matches(media, state))
                        .cloned(),
                );
                if self.history_limit > 0 {
                    if self.history.len() == self.history_limit {
                        self.history.pop_front();
                    }
                    self.history.push_back(event.clone());
                }
                self.current = Some(event);
            }
            Pending::Replay(id, event) => {
                self.snapshot
                    .extend(self.registrations.iter().find(|r| r.id == id).cloned());
                self.current = Some(event);
            }
        }
        Some(())
    }
}

impl<H> Bus<H> {
    /// A bus that keeps the last `limit` dispatched events for replay (0: no replay history).
    pub fn with_history_limit(limit: usize) -> Self {
        Bus {
            registrations: Vec::new(),
            next_id: 0,
            pending: VecDeque::new(),
            current: None,
            snapshot: Vec::new(),
            cursor: 0,
            history: VecDeque::new(),
            history_limit: limit,
        }
    }
}
