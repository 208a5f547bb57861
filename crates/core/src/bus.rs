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
//!    `snapshot` (in reverse, so that each delivery pops its handler off the end instead of
//!    cloning it); later changes to `registrations` do not touch it;
//! 3. once: a `once` registration is removed from `registrations` just before its delivery;
//! 4. a copy per handler: a [`Delivery`] lends the stored event read-only, so no handler can
//!    change what another gets, and whoever runs the handler hands it a copy of its own;
//! 5. isolation: the caller runs handlers; [`Bus::dispatch`] collects failures and goes on;
//! 6. run to completion: `emit` only queues; the next event starts when the current snapshot is
//!    exhausted;
//! 7. replay: the bus keeps the last events it dispatched and queues matching ones for a new
//!    `replay` registration, after the replays already queued and ahead of every queued emit.
//!
//! Every event lives in one place, `events`, from `emit` until it leaves the replay history:
//! dispatched events kept for replay, then the one being dispatched, then the queued ones. The
//! queue of emits is just the tail of `events`, and replays refer to events by sequence number,
//! so an event is moved once (into `events`) and copied once per handler call, by its runner.

use std::collections::VecDeque;

use crate::event::ActionEvent;
use crate::topic::Topic;

/// How many past events a bus keeps for `replay` subscribers unless told otherwise.
pub const DEFAULT_HISTORY_LIMIT: usize = 1000;

/// The fewest forgotten events [`Bus::forget_old_events`] drops at once.
const FORGET_BATCH_MIN: usize = 64;

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

/// One handler call to make: the handler, the topic it was registered on and the event, lent
/// read-only by the bus. Whoever runs the handler gives it its own copy of the event (rule 4):
/// [`Bus::dispatch`] clones it, the browser SDK builds a JavaScript object per call; the loan ends
/// before the handler runs, so the handler may use the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<'a, H> {
    pub handler: H,
    pub topic: Topic,
    pub event: &'a ActionEvent,
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
    /// Dispatched events (the last `history_limit` for replay, and up to as many again, or
    /// [`FORGET_BATCH_MIN`], that wait to be dropped together), the event being dispatched and
    /// the queued ones, in emit order; `events[0]` has sequence number `first_seq`.
    events: VecDeque<ActionEvent>,
    first_seq: u64,
    /// The sequence number of the next event to dispatch: the queued events are those from here.
    next_dispatch: u64,
    /// Replays waiting (registration, sequence number); they all go before the next queued event.
    replays: VecDeque<(RegistrationId, u64)>,
    /// Where the event being delivered is in `events` (meaningful while `snapshot` is not empty).
    current: usize,
    /// The registrations still to get the current event, the next one last.
    snapshot: Vec<Registration<H>>,
    history_limit: usize,
    /// How many dispatched events (the current one included) `events` may hold before the
    /// forgotten ones are dropped: the kept history plus a batch of forgotten ones.
    dispatched_cap: u64,
}

impl<H> Default for Bus<H> {
    fn default() -> Self {
        Bus::with_history_limit(DEFAULT_HISTORY_LIMIT)
    }
}

impl<H: Clone + PartialEq> Bus<H> {
    /// A bus that keeps the last [`DEFAULT_HISTORY_LIMIT`] events for replay. `const`, so the
    /// browser SDK's thread-local bus needs no lazy initialization (code in its module).
    pub const fn new() -> Self {
        Bus::with_history_limit(DEFAULT_HISTORY_LIMIT)
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
        // The dispatched events still kept: the last `history_limit` (with the one being
        // dispatched, which this registration did not get either). The queued ones it gets as
        // they are dispatched, after every queued replay.
        let kept_from = self
            .next_dispatch
            .saturating_sub(self.history_limit as u64)
            .max(self.first_seq);
        for seq in kept_from..self.next_dispatch {
            let e = &self.events[(seq - self.first_seq) as usize];
            if topic.matches(e.action_media_type, e.action_state) {
                self.replays.push_back((id, seq));
            }
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
        self.events.push_back(event);
    }

    /// Whether deliveries are waiting.
    pub fn has_pending(&self) -> bool {
        !self.snapshot.is_empty() || !self.replays.is_empty() || self.next_dispatch < self.end_seq()
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
        self.first_seq = self.end_seq();
        self.next_dispatch = self.first_seq;
        self.events.clear();
        self.replays.clear();
        self.snapshot.clear();
    }

    /// The next handler call to make, or `None` once everything queued has been delivered.
    pub fn next_delivery(&mut self) -> Option<Delivery<'_, H>> {
        loop {
            if let Some(target) = self.snapshot.pop() {
                if target.once {
                    self.remove(target.id);
                }
                return Some(Delivery {
                    handler: target.handler,
                    topic: target.topic,
                    event: &self.events[self.current],
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
            let (own, for_report) = (event.clone(), event.clone());
            if let Err(error) = call(self, handler, own) {
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

    /// One past the sequence number of the newest event.
    fn end_seq(&self) -> u64 {
        self.first_seq + self.events.len() as u64
    }

    /// Takes the next replay, or else the next queued event, and fills the snapshot for it.
    /// `None` when nothing is queued.
    fn start_next(&mut self) -> Option<()> {
        if let Some((id, seq)) = self.replays.pop_front() {
            self.snapshot
                .extend(self.registrations.iter().find(|r| r.id == id).cloned());
            self.current = (seq - self.first_seq) as usize;
            return Some(());
        }
        if self.next_dispatch == self.end_seq() {
            return None;
        }
        let seq = self.next_dispatch;
        self.next_dispatch += 1;
        self.forget_old_events();
        self.current = (seq - self.first_seq) as usize;
        let event = &self.events[self.current];
        let (media, state) = (event.action_media_type, event.action_state);
        for r in self.registrations.iter().rev() {
            if r.topic.matches(media, state) {
                self.snapshot.push(r.clone());
            }
        }
        Some(())
    }

    /// Drops the events that have left the replay history (no queued replay refers to them:
    /// replays run first). Only the last `history_limit` dispatched events are visible to
    /// `subscribe_with_replay`; older ones are dropped in bulk, once as many again have
    /// accumulated, which costs far less per event than dropping them one by one.
    fn forget_old_events(&mut self) {
        if self.next_dispatch - self.first_seq <= self.dispatched_cap {
            return;
        }
        // The event being dispatched stays even with no history.
        let keep_from = self.next_dispatch - (self.history_limit as u64).max(1);
        self.events.drain(..(keep_from - self.first_seq) as usize);
        self.first_seq = keep_from;
    }
}

impl<H> Bus<H> {
    /// A bus that keeps the last `limit` dispatched events for replay (0: no replay history).
    pub const fn with_history_limit(limit: usize) -> Self {
        // `max` by hand: `Ord::max` is not `const`.
        let kept = if limit > 1 { limit } else { 1 };
        let batch = if limit > FORGET_BATCH_MIN {
            limit
        } else {
            FORGET_BATCH_MIN
        };
        Bus {
            registrations: Vec::new(),
            next_id: 0,
            events: VecDeque::new(),
            first_seq: 0,
            next_dispatch: 0,
            replays: VecDeque::new(),
            current: 0,
            snapshot: Vec::new(),
            history_limit: limit,
            dispatched_cap: (kept + batch) as u64,
        }
    }
}
