//! `ac('on' | 'once' | 'off', …)`: beckon-core's [`Bus`] with JavaScript functions as handlers.
//!
//! The bus decides who gets what (all seven dispatch rules of spec 4.2 live there); this module
//! only runs the deliveries. It never holds the bus while a handler runs, because a handler may
//! call `ac(...)` again. Each handler gets a fresh shallow copy of one JavaScript object made per
//! event (every field is a primitive, so that copy is a full copy), which keeps delivery cheap.
//! A handler that throws or returns a rejected promise is logged with its topic and re-thrown from
//! a timer; the others still run.

use std::cell::RefCell;
use std::collections::VecDeque;

use beckon_core::{ActionEvent, Bus, Topic};
use js_sys::{Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::bridges::Bridge;
use crate::browser::rethrow_later;

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: the event object of spec 4.3 from its fields.
    #[wasm_bindgen(js_name = beckonEvent)]
    fn make_event(
        action_id: &str,
        action_state: &str,
        action_media_type: &str,
        action_map_id: &str,
        action_map_version: u32,
        customer_id: &str,
        session_id: &str,
        event_id: &str,
        timestamp: &str,
        errored: bool,
        error_code: f64,
        error_message: &str,
    ) -> JsValue;

    /// Defined in `js/loader.js`: a shallow copy of an event object.
    #[wasm_bindgen(js_name = beckonCopy)]
    fn copy_event(event: &JsValue) -> JsValue;

    /// What a handler returned when it is a promise.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then2(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue);
}

struct Events {
    bus: Bus<Function>,
    draining: bool,
    bridges: Vec<Bridge>,
    to_bridge: VecDeque<ActionEvent>,
    /// The JavaScript object of the event being delivered, copied for each handler.
    current: Option<(uuid::Uuid, JsValue)>,
}

thread_local! {
    static EVENTS: RefCell<Events> = RefCell::new(Events {
        bus: Bus::new(),
        draining: false,
        bridges: Vec::new(),
        to_bridge: VecDeque::new(),
        current: None,
    });
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
        let bus = &mut e.borrow_mut().bus;
        match handler {
            Some(h) => bus.off(topic, h),
            None => bus.off_topic(topic),
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

/// Forgets every handler and past event (`ac('destroy')`).
pub fn clear() {
    EVENTS.with(|e| {
        let mut e = e.borrow_mut();
        e.bus.clear();
        e.bridges.clear();
        e.to_bridge.clear();
        e.current = None;
    });
}

enum Step {
    Bridge(Vec<Bridge>, JsValue),
    Deliver(Function, Topic, JsValue),
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
            Step::Deliver(handler, topic, event) => run_handler(&handler, topic, &event),
        }
    }
    EVENTS.with(|e| e.borrow_mut().draining = false);
    delivered
}

fn next_step(e: &mut Events) -> Option<Step> {
    if let Some(event) = e.to_bridge.pop_front() {
        return Some(Step::Bridge(e.bridges.clone(), to_js(&event)));
    }
    let delivery = e.bus.next_delivery()?;
    let master = match &e.current {
        Some((id, object)) if *id == delivery.event.event_id => object.clone(),
        _ => {
            let object = to_js(&delivery.event);
            e.current = Some((delivery.event.event_id, object.clone()));
            object
        }
    };
    Some(Step::Deliver(
        delivery.handler,
        delivery.topic,
        copy_event(&master),
    ))
}

fn run_handler(handler: &Function, topic: Topic, event: &JsValue) {
    match handler.call1(&JsValue::UNDEFINED, event) {
        Err(error) => report(topic, error),
        Ok(returned) => {
            if returned.is_instance_of::<Promise>() {
                let on_reject = Closure::once_into_js(move |error: JsValue| {
                    crate::boundary(|| report(topic, error))
                });
                returned
                    .unchecked_ref::<Thenable>()
                    .then2(&JsValue::UNDEFINED, &on_reject);
            }
        }
    }
}

fn report(topic: Topic, error: JsValue) {
    web_sys::console::error_2(
        &JsValue::from_str(&format!("Beckon: a handler for '{topic}' failed:")),
        &error,
    );
    rethrow_later(&error);
}

/// The event object of spec 4.3, as handlers and data layers receive it.
pub fn to_js(event: &ActionEvent) -> JsValue {
    let (errored, code, message) = match &event.error {
        Some(e) => (true, e.code as f64, &*e.message),
        None => (false, 0.0, ""),
    };
    let mut ids = uuid::Uuid::encode_buffer();
    let action_id = event
        .action_id
        .hyphenated()
        .encode_lower(&mut ids)
        .to_owned();
    make_event(
        &action_id,
        event.action_state.as_str(),
        event.action_media_type.as_str(),
        &event.action_map_id.to_string(),
        event.action_map_version,
        &event.customer_id.to_string(),
        &event.session_id.to_string(),
        &event.event_id.to_string(),
        &event.timestamp.to_string(),
        errored,
        code,
        message,
    )
}
