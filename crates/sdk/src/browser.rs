//! The page the SDK lives in: the window, the clock, calling page code, and listeners and timers
//! that clean up after themselves.
//!
//! `destroy` must remove everything the SDK added to the page, so every listener and timer is a
//! value that undoes itself when dropped: dropping the runtime is the whole of `destroy`. Every
//! callback runs through [`crate::boundary`], so none can throw into the page.

use beckon_core::text::concat;
use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, Event, EventTarget, Window};

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: throws `error` from a timer, so `window.onerror` sees it.
    #[wasm_bindgen(js_name = beckonRethrow)]
    pub fn rethrow_later(error: &JsValue);

    /// `String(value)`: numbers and the like as JavaScript writes them.
    #[wasm_bindgen(js_name = beckonText)]
    pub fn js_text(value: &JsValue) -> String;

    /// `JSON.stringify(value)`.
    #[wasm_bindgen(js_name = beckonJson)]
    pub fn to_json(value: &JsValue) -> Option<String>;

    /// `JSON.parse(text)`, `undefined` when it is not JSON.
    #[wasm_bindgen(js_name = beckonParse)]
    pub fn from_json(text: &str) -> JsValue;

    /// Calls a page function with up to two arguments: 0 returned, 1 threw, 2 returned a
    /// promise; see [`outcome`].
    #[wasm_bindgen(js_name = beckonCall)]
    fn call(function: &JsValue, a: &JsValue, b: &JsValue) -> u32;

    /// The error or promise of the last [`call`] that did not simply return.
    #[wasm_bindgen(js_name = beckonTaken)]
    fn outcome() -> JsValue;

    /// `object[key]` (`Reflect.get`); `undefined` when `object` is not an object or reading
    /// throws. One import taking the key as text, instead of a key string made, passed and
    /// dropped at every read.
    #[wasm_bindgen(js_name = beckonGet)]
    pub fn field(object: &JsValue, key: &str) -> JsValue;

    /// `object[key]` when it is a string; `None` when it is not, or reading throws.
    #[wasm_bindgen(js_name = beckonGetText)]
    pub fn string_field(object: &JsValue, key: &str) -> Option<String>;

    /// `object[key] = value` (`Reflect.set`); nothing when it throws.
    #[wasm_bindgen(js_name = beckonSet)]
    pub fn set(object: &JsValue, key: &str, value: &JsValue);

    /// `window`: the loader runs in a page. `js_sys::global()` looks for the global object four
    /// ways, each an import with its glue.
    #[wasm_bindgen(js_name = beckonWindow)]
    pub fn window() -> Window;
}

#[wasm_bindgen]
extern "C" {
    /// What has `querySelector` and `querySelectorAll`: a document, a shadow root, an element.
    /// One type for all three, so each method is one import rather than one per web-sys type.
    type Scope;

    #[wasm_bindgen(method, catch, js_name = querySelector)]
    fn query_selector(this: &Scope, selector: &str) -> Result<Option<Element>, JsValue>;

    /// A `NodeList`, typed as an `Array`: it is read only through `length` and `[i]`, which
    /// both have, and js-sys's `Array` already imports them.
    #[wasm_bindgen(method, catch, js_name = querySelectorAll)]
    fn query_selector_all(this: &Scope, selector: &str) -> Result<Array, JsValue>;
}

/// The first element under `scope` matching `selector`; `Err` when `selector` is not a CSS
/// selector.
pub fn select(scope: &JsValue, selector: &str) -> Result<Option<Element>, JsValue> {
    scope.unchecked_ref::<Scope>().query_selector(selector)
}

/// Every element under `scope` matching `selector` (none when it is not a CSS selector).
pub fn select_all(scope: &JsValue, selector: &str) -> Array {
    scope
        .unchecked_ref::<Scope>()
        .query_selector_all(selector)
        .unwrap_or_default()
}

/// What a page function did.
pub enum Called {
    Returned,
    Threw(JsValue),
    Promised(JsValue),
}

/// Calls a page function; nothing it does can throw into the SDK.
pub fn call_page(function: &JsValue, a: &JsValue, b: &JsValue) -> Called {
    match call(function, a, b) {
        0 => Called::Returned,
        1 => Called::Threw(outcome()),
        _ => Called::Promised(outcome()),
    }
}

/// Calls a page callback; if it throws, the error is logged with `what` and re-thrown from a
/// timer (so the page's error tracking sees it).
pub fn callback(what: &str, function: &JsValue, a: &JsValue, b: &JsValue) {
    if let Called::Threw(error) = call_page(function, a, b) {
        report(what, &error);
    }
}

/// Logs a failure of page code with `what` failed, and re-throws it from a timer.
pub fn report(what: &str, error: &JsValue) {
    web_sys::console::error_2(&concat(&["Beckon: ", what, " failed:"]).into(), error);
    rethrow_later(error);
}

/// `object[key]` when it is neither `undefined` nor `null`. The DOM's properties are read
/// through [`field`] rather than web-sys getters: each getter is an import with glue of its own
/// in the module and the script, and the SDK has a size budget.
pub fn child(object: &JsValue, key: &str) -> Option<JsValue> {
    let value = field(object, key);
    given(&value).then_some(value)
}

/// `object[key]` as a number; 0 when it is not one.
pub fn number(object: &JsValue, key: &str) -> f64 {
    field(object, key).as_f64().unwrap_or(0.0)
}

/// Whether `value` is neither `undefined` nor `null`.
pub fn given(value: &JsValue) -> bool {
    !value.is_undefined() && !value.is_null()
}

pub fn document() -> Document {
    field(&window(), "document").unchecked_into()
}

/// `location.href`.
pub fn current_url() -> String {
    field(&field(&window(), "location"), "href")
        .as_string()
        .unwrap_or_default()
}

/// The element an event happened on; `None` when it did not happen on an element.
pub fn target(event: &Event) -> Option<Element> {
    child(event, "target")?.dyn_into().ok()
}

/// `localStorage` or `sessionStorage` (`kind`); `None` when the page may not use it.
pub fn storage(kind: &str) -> Option<web_sys::Storage> {
    child(&window(), kind).map(JsCast::unchecked_into)
}

/// Milliseconds since the Unix epoch.
pub fn now() -> f64 {
    js_sys::Date::now()
}

pub fn log_error(message: &str) {
    web_sys::console::error_1(&concat(&["Beckon: ", message]).into());
}

pub fn log_warning(message: &str) {
    web_sys::console::warn_1(&concat(&["Beckon: ", message]).into());
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
        on_event: impl FnMut(Event) + 'static,
    ) -> Listener {
        Listener::boxed(target, kind, capture, Box::new(on_event))
    }

    fn boxed(
        target: &EventTarget,
        kind: &'static str,
        capture: bool,
        on_event: Box<dyn FnMut(Event)>,
    ) -> Listener {
        let closure = js_callback(on_event);
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

/// Every listener and timer is this one closure type (a timer's gets no event), and so are the
/// callbacks of the loader's helpers (auto-track's observers and history wrappers), so its glue
/// is in the module once rather than once per callback (the SDK has a size budget). Runs `f`
/// through [`crate::boundary`].
pub fn js_callback(mut f: Box<dyn FnMut(Event)>) -> Closure<dyn FnMut(Event)> {
    Closure::new(move |event: Event| crate::boundary(|| f(event)))
}

/// A JavaScript function that runs `f` once, through [`crate::boundary`] (a promise's
/// callback). It is the listeners' closure type ([`js_callback`]), not wasm-bindgen's
/// `once_into_js`, which is a closure type and glue of its own; its memory is freed when the
/// browser collects the function (wasm-bindgen registers it with a `FinalizationRegistry`),
/// which is soon after the promise settles.
pub fn once(f: impl FnOnce(JsValue) + 'static) -> JsValue {
    once_boxed(Box::new(f))
}

fn once_boxed(f: Box<dyn FnOnce(JsValue)>) -> JsValue {
    let mut f = Some(f);
    js_callback(Box::new(move |value: Event| {
        if let Some(f) = f.take() {
            f(value.into());
        }
    }))
    .into_js_value()
}

/// A `setTimeout`, cleared when dropped.
pub struct Timer {
    id: i32,
    _closure: Closure<dyn FnMut(Event)>,
}

impl Timer {
    pub fn after(millis: f64, on_time: impl FnOnce() + 'static) -> Timer {
        Timer::boxed(millis, Box::new(on_time))
    }

    fn boxed(millis: f64, on_time: Box<dyn FnOnce()>) -> Timer {
        let mut on_time = Some(on_time);
        let closure = js_callback(Box::new(move |_| {
            if let Some(f) = on_time.take() {
                f();
            }
        }));
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
