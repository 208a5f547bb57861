//! The page the SDK lives in: the window, the clock, randomness, and listeners and timers that
//! clean up after themselves.
//!
//! `destroy` must remove everything the SDK added to the page, so every listener and timer is a
//! value that undoes itself when dropped: dropping the runtime is the whole of `destroy`. Every
//! callback runs through [`crate::boundary`], so none can throw into the page.

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Event, EventTarget, Window};

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: throws `error` from a timer, so `window.onerror` sees it.
    #[wasm_bindgen(js_name = beckonRethrow)]
    pub fn rethrow_later(error: &JsValue);
}

pub fn window() -> Window {
    js_sys::global().unchecked_into()
}

pub fn document() -> Document {
    window()
        .document()
        .unwrap_or_else(|| js_sys::global().unchecked_into())
}

/// Milliseconds since the Unix epoch.
pub fn now() -> f64 {
    js_sys::Date::now()
}

pub fn log_error(message: &str) {
    web_sys::console::error_1(&JsValue::from_str(&format!("Beckon: {message}")));
}

pub fn log_warning(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&format!("Beckon: {message}")));
}

thread_local! {
    static RANDOM: RefCell<[u64; 4]> = RefCell::new(seed());
}

/// xoshiro256** seeded once from `crypto.getRandomValues`: ids need to be unique, and asking the
/// browser's CSPRNG for every event id would cost more than delivering the event.
fn seed() -> [u64; 4] {
    let mut bytes = [0u8; 32];
    let crypto = window().crypto().ok();
    let seeded = crypto.is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !seeded {
        // Only very old browsers lack crypto; mix the clock so two pages still differ.
        let t = (now() * 1000.0) as u64 ^ (js_sys::Math::random() * 1e18) as u64;
        bytes[..8].copy_from_slice(&t.to_le_bytes());
    }
    let mut state = [0u64; 4];
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        state[i] = u64::from_le_bytes(chunk.try_into().unwrap_or_default()) | 1;
    }
    state
}

pub fn random_u64() -> u64 {
    RANDOM.with(|s| {
        let mut s = s.borrow_mut();
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    })
}

/// A fresh UUIDv4.
pub fn new_uuid() -> uuid::Uuid {
    let bytes = (u128::from(random_u64()) << 64 | u128::from(random_u64())).to_le_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A DOM event listener, removed when dropped.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    capture: bool,
    closure: Closure<dyn FnMut(Event)>,
}

impl Listener {
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        capture: bool,
        mut on_event: impl FnMut(Event) + 'static,
    ) -> Listener {
        let closure = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            crate::boundary(|| on_event(event));
        });
        let _ = target.add_event_listener_with_callback_and_bool(
            kind,
            closure.as_ref().unchecked_ref(),
            capture,
        );
        Listener {
            target: target.clone(),
            kind,
            capture,
            closure,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.kind,
            self.closure.as_ref().unchecked_ref(),
            self.capture,
        );
    }
}

/// A `setTimeout`, cleared when dropped.
pub struct Timer {
    id: i32,
    _closure: Closure<dyn FnMut()>,
}

impl Timer {
    pub fn after(millis: f64, on_time: impl FnOnce() + 'static) -> Timer {
        let mut on_time = Some(on_time);
        let closure = Closure::<dyn FnMut()>::new(move || {
            if let Some(f) = on_time.take() {
                crate::boundary(f);
            }
        });
        let id = window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                closure.as_ref().unchecked_ref(),
                millis.clamp(0.0, 2_147_483_647.0) as i32,
            )
            .unwrap_or(0);
        Timer {
            id,
            _closure: closure,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        window().clear_timeout_with_handle(self.id);
    }
}
