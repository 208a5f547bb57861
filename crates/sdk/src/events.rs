//! `ac('on' | 'once' | 'off', …)`: beckon-core's [`Bus`] with JavaScript functions as handlers.
//!
//! The bus decides who gets what (all seven dispatch rules of spec 4.2 live there); this module
//! runs the deliveries, and those `ac('destroy')` left due (which `off` still takes away). It
//! never holds the bus while a handler runs, because a handler may call `ac(...)` again. Each
//! handler gets a fresh shallow copy of one JavaScript object made per event (every field is a
//! primitive, so that copy is a full copy), which keeps delivery cheap. A handler that throws or
//! returns a rejected promise is logged with its topic and re-thrown from a timer; the others
//! still run.

use std::cell::RefCell;
use std::collections::VecDeque;

use beckon_core::{ActionEvent, Bus, Topic};
use js_sys::Function;
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::bridges::Bridge;
use crate::browser::{Called, call_page, report};
use crate::ids;
use beckon_core::text::concat;

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: the event object of spec 4.3 from its fields (the time in
    /// milliseconds; `error_message` only for `errored`).
    #[wasm_bindgen(js_name = beckonEvent)]
    fn make_event(
        action_id: &JsValue,
        action_state: &JsValue,
        action_media_type: &JsValue,
        action_map_id: &JsValue,
        action_map_version: u32,
        customer_id: &JsValue,
        session_id: &JsValue,
        event_id_0: u32,
        event_id_1: u32,
        event_id_2: u32,
        event_id_3: u32,
        millis: f64,
        error_code: f64,
        error_message: Option<&str>,
    ) -> JsValue;

    /// Defined in `js/loader.js`: a handler's own copy of an event object.
    #[wasm_bindgen(js_name = beckonCopy)]
    fn copy_event(event: &JsValue) -> JsValue;

    /// What a handler returned when it is a promise.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then2(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue);
}

/// The text of what repeats from event to event (action, map, customer and session ids; state
/// and media type), kept as JavaScript strings from the last event so that the next one does not
/// convert them again.
struct Texts {
    ids: [(Uuid, JsValue); 4],
    names: [(&'static str, JsValue); 2],
}

impl Texts {
    const NO_ID: (Uuid, JsValue) = (Uuid::nil(), JsValue::UNDEFINED);
    const NO_NAME: (&'static str, JsValue) = ("", JsValue::UNDEFINED);
    /// Nothing kept yet. The events' thread-local is built from constants, so it needs no lazy
    /// initialization (code in the module).
    const EMPTY: Texts = Texts {
        ids: [Texts::NO_ID; 4],
        names: [Texts::NO_NAME; 2],
    };

    fn id(&mut self, field: usize, id: Uuid) {
        let (kept, text) = &mut self.ids[field];
        if *kept != id || id.is_nil() {
            *kept = id;
            *text = JsValue::from_str(&ids::text(&id));
        }
    }

    fn name(&mut self, field: usize, name: &'static str) {
        let (kept, text) = &mut self.names[field];
        if !std::ptr::eq(*kept, name) {
            *kept = name;
            *text = JsValue::from_str(name);
        }
    }
}

struct Events {
    bus: Bus<Function>,
    draining: bool,
    bridges: Vec<Bridge>,
    to_bridge: VecDeque<ActionEvent>,
    /// What was queued when `ac('destroy')` forgot the handlers and data layers: their
    /// deliveries, still due, ahead of everything emitted since; the next one last, popped off
    /// the end (a `VecDeque` of steps would cost the module some 250 bytes gzip more). `off`
    /// takes a handler's away, except those of the event being delivered (spec 4.2, rule 2).
    destroyed: Vec<Step>,
    /// The `eventId` of the event a handler was last called with.
    delivering: Uuid,
    /// The JavaScript object of the event being delivered, copied for each handler.
    current: Option<(Uuid, JsValue)>,
    texts: Texts,
}

thread_local! {
    static EVENTS: RefCell<Events> = const {
        RefCell::new(Events {
            bus: Bus::new(),
            draining: false,
            bridges: Vec::new(),
            to_bridge: VecDeque::new(),
            destroyed: Vec::new(),
            delivering: Uuid::nil(),
            current: None,
            texts: Texts::EMPTY,
        })
    };
}
/// How a handler is registered.
pub enum Subscription {
    On,
    Once,
}

pub fn subscribe(topic: Topic, handler: Function, how: Subscription, replay: bool) {
    EVENTS.with(|e| {
        let bus = &mut e.borrow_mut().bus;
        let once = matches!(how, Subscription::Once);
        match (replay, once) {
            (true, _) => {
                bus.subscribe_with_replay(topic, handler, once);
            }
            (false, true) => {
                bus.once(topic, handler);
            }
            (false, false) => {
                bus.on(topic, handler);
            }
        }
    });
}

pub fn unsubscribe(topic: Topic, handler: Option<&Function>) {
    EVENTS.with(|e| {
        let e = &mut *e.borrow_mut();
        let delivering = e.delivering;
        e.destroyed.retain(|step| {
            !matches!(step, Step::Deliver(h, t, _, id)
                if *t == topic && *id != delivering && handler.is_none_or(|x| x == h))
        });
        match handler {
            Some(h) => e.bus.off(topic, h),
            None => e.bus.off_topic(topic),
        };
    });
}

/// Queues an event for the handlers and the data-layer bridges; it is delivered when the current
/// entry point ends (run to completion).
pub fn emit(event: ActionEvent) {
    EVENTS.with(|e| {
        let mut e = e.borrow_mut();
        if !e.bridges.is_empty() {
            e.to_bridge.push_back(event.clone());
        }
        e.bus.emit(event);
    });
}

pub fn set_bridges(bridges: Vec<Bridge>) {
    EVENTS.with(|e| e.borrow_mut().bridges = bridges);
}

/// Forgets every handler, data layer and past event (`ac('destroy')`). What is queued still goes
/// to the handlers subscribed until now (unless `off` takes them away first) and to the data
/// layers of now, ahead of anything emitted since: when the current entry point ends, or, called
/// from a handler, once that handler has returned. Handlers subscribed from now on (after a new
/// `init`) get only what is emitted from now on.
pub fn clear() {
    EVENTS.with(|e| {
        let mut e = e.borrow_mut();
        let mut due = Vec::new();
        while let Some(step) = next_step(&mut e) {
            due.push(step);
        }
        due.reverse();
        e.destroyed = due;
        e.bus.clear();
        e.bridges.clear();
    });
}

enum Step {
    Bridge(Vec<Bridge>, JsValue),
    /// A handler, its topic, its copy of the event and the event's `eventId`.
    Deliver(Function, Topic, JsValue, Uuid),
}

/// Delivers everything queued. Returns whether anything was delivered. Re-entrant calls (from a
/// handler) return at once: the outer loop delivers what they queued, in order.
pub fn drain() -> bool {
    let started = EVENTS.with(|e| {
        let mut e = e.borrow_mut();
        !std::mem::replace(&mut e.draining, true)
    });
    if !started {
        return false;
    }
    let mut delivered = false;
    while let Some(step) = EVENTS.with(|e| next_step(&mut e.borrow_mut())) {
        delivered = true;
        match step {
            Step::Bridge(bridges, event) => crate::bridges::forward(&bridges, &event),
            Step::Deliver(handler, topic, event, id) => {
                EVENTS.with(|e| e.borrow_mut().delivering = id);
                run_handler(&handler, topic, &event)
            }
        }
    }
    EVENTS.with(|e| e.borrow_mut().draining = false);
    delivered
}

fn next_step(e: &mut Events) -> Option<Step> {
    if let Some(step) = e.destroyed.pop() {
        return Some(step);
    }
    if let Some(event) = e.to_bridge.pop_front() {
        let object = e.texts.object_of(&event);
        return Some(Step::Bridge(e.bridges.clone(), object));
    }
    // The bus lends the event; the handler's own copy is a JavaScript object (below).
    let delivery = e.bus.next_delivery()?;
    let id = delivery.event.event_id;
    if !matches!(&e.current, Some((current, _)) if *current == id) {
        let object = e.texts.object_of(delivery.event);
        e.current = Some((id, object));
    }
    let master = e.current.as_ref().map(|(_, o)| o)?;
    Some(Step::Deliver(
        delivery.handler,
        delivery.topic,
        copy_event(master),
        id,
    ))
}

fn run_handler(handler: &Function, topic: Topic, event: &JsValue) {
    match call_page(handler, event, &JsValue::UNDEFINED) {
        Called::Returned => {}
        Called::Threw(error) => report_failure(topic, &error),
        Called::Promised(promise) => {
            let on_reject = crate::browser::once(move |error| report_failure(topic, &error));
            promise
                .unchecked_ref::<Thenable>()
                .then2(&JsValue::UNDEFINED, &on_reject);
        }
    }
}

fn report_failure(topic: Topic, error: &JsValue) {
    report(&concat(&["a handler for '", &topic.text(), "'"]), error);
}

impl Texts {
    /// The event object of spec 4.3, as handlers and data layers receive it.
    fn object_of(&mut self, event: &ActionEvent) -> JsValue {
        let texts = self;
        texts.id(0, event.action_id);
        texts.id(1, event.action_map_id);
        texts.id(2, event.customer_id);
        texts.id(3, event.session_id);
        texts.name(0, event.action_state.as_str());
        texts.name(1, event.action_media_type.as_str());
        let [action, map, customer, session] = &texts.ids;
        let [state, media] = &texts.names;
        let (code, message) = match &event.error {
            Some(e) => (e.code as f64, Some(&*e.message)),
            None => (0.0, None),
        };
        let (high, low) = event.event_id.as_u64_pair();
        make_event(
            &action.1,
            &state.1,
            &media.1,
            &map.1,
            event.action_map_version,
            &customer.1,
            &session.1,
            (high >> 32) as u32,
            high as u32,
            (low >> 32) as u32,
            low as u32,
            event.timestamp.unix_millis() as f64,
            code,
            message,
        )
    }
}

/// The event object of spec 4.3 for an event outside delivery (what is sent to the server).
pub fn to_js(event: &ActionEvent) -> JsValue {
    EVENTS.with(|e| e.borrow_mut().texts.object_of(event))
}
