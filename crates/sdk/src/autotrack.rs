//! `ac('load', module, options?, loadedCallback?)`: the Genesys auto-track modules, each turning
//! something the visitor does into web events without page code.
//!
//! | module | options | event when |
//! |---|---|---|
//! | `autotrackClick` | `clickEvents: [{ selector, eventName, customAttributes? }]` | an element matching `selector` (or inside one) is clicked |
//! | `autotrackIdle` | `idleEvents: [{ idleAfter, eventName, customAttributes? }]` | nothing happened for `idleAfter` seconds (once per idle stretch) |
//! | `autotrackInViewport` | `inViewportEvents: [{ selector, eventName, customAttributes? }]` | a matching element (present when loaded) first becomes visible |
//! | `autotrackScrollDepth` | `scrollDepthEvents: [{ percentage, eventName, customAttributes? }]` | the page is first scrolled that far |
//! | `autotrackUrlChange` | `{ onUrlChange?: (url) => void }` | the route changes without a page load (history API, back/forward, a hash route; not a jump to an anchor, see `runtime::same_route`); calls `onUrlChange`, or records a pageview when there is none |

use js_sys::{Array, Function};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Event, EventTarget};

use crate::browser::{
    Listener, Timer, callback as call_back, child, current_url, document, field, js_callback, now,
    number, select, string_field, target, window,
};
use crate::call::{Call, Kind};
use crate::ids::decimal;
use crate::runtime::{Runtime, same_route, with_runtime};
use beckon_core::text::concat;

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: an `IntersectionObserver` that calls `seen` once for each
    /// element matching `selector` (when called) the first time it becomes visible; `None` when
    /// the browser has no `IntersectionObserver`.
    #[wasm_bindgen(js_name = beckonObserve)]
    fn observe(selector: &str, seen: &JsValue) -> Option<ViewportObserver>;

    type ViewportObserver;
    #[wasm_bindgen(method)]
    fn disconnect(this: &ViewportObserver);

    /// Defined in `js/loader.js`: replaces `history[method]` by a function that calls the
    /// original and then `changed` when the URL changed; returns what puts the original back
    /// (`None` when there is no such function).
    #[wasm_bindgen(js_name = beckonWrapHistory)]
    fn wrap_history(method: &str, changed: &JsValue) -> Option<Function>;
}

pub const EXPECTED: &str = "ac('load', 'autotrackClick' | 'autotrackIdle' | 'autotrackInViewport' | \
     'autotrackScrollDepth' | 'autotrackUrlChange', options?, loadedCallback?: () => void); \
     options: { clickEvents: [{ selector, eventName, customAttributes? }] } | { idleEvents: \
     [{ idleAfter: seconds, eventName, customAttributes? }] } | { inViewportEvents: [{ selector, \
     eventName, customAttributes? }] } | { scrollDepthEvents: [{ percentage: 0-100, eventName, \
     customAttributes? }] } | { onUrlChange?: (url) => void }";

/// One configured auto-track event.
struct Rule {
    event_name: String,
    /// A checked object, or `undefined`.
    attributes: JsValue,
    selector: String,
    threshold: f64,
    fired: bool,
}

#[derive(Default)]
pub struct Autotrack {
    idle: Vec<Rule>,
    idle_timers: Vec<Timer>,
    last_activity: f64,
    scroll: Vec<Rule>,
    click: Vec<Rule>,
    listeners: Vec<Listener>,
    observers: Vec<Observer>,
    history: Option<HistoryPatch>,
}

pub fn load(call: &Call) -> Option<()> {
    call.at_most(3)?;
    let module = call.string(1, "the module name")?;
    let callback = call.optional_function(3, "loadedCallback")?;
    let (key, needs_selector) = match module.as_str() {
        "autotrackClick" => ("clickEvents", true),
        "autotrackIdle" => ("idleEvents", false),
        "autotrackInViewport" => ("inViewportEvents", true),
        "autotrackScrollDepth" => ("scrollDepthEvents", false),
        "autotrackUrlChange" => {
            let on_change = call.options(2, &[("onUrlChange", Kind::Function)])?;
            let on_change = on_change[0].dyn_ref::<Function>().cloned();
            call.require_init()?;
            with_runtime(|rt| {
                // A second load replaces the first: its wrappers come off before the new ones go
                // on, which would otherwise wrap them and be unwrapped with them.
                rt.autotrack.history = None;
                rt.autotrack.history = Some(HistoryPatch::install(on_change));
            });
            return loaded(callback);
        }
        other => return call.wrong(&concat(&["there is no module '", other, "'"])),
    };
    let options = call.object(&call.list.get(2), "the options", &[key])?;
    let items = field(&options, key);
    if !Array::is_array(&items) {
        return call.wrong(&concat(&[&module, " needs ", key, ": a list of events"]));
    }
    let mut rules = Vec::new();
    for (i, item) in items.unchecked_into::<Array>().iter().enumerate() {
        let at = concat(&[key, "[", &decimal(i as u64), "]"]);
        let event_name = string_field(&item, "eventName").unwrap_or_default();
        call.event_name(&concat(&[&at, ".eventName: "]), &event_name)?;
        let custom = field(&item, "customAttributes");
        let attributes = if custom.is_undefined() {
            JsValue::UNDEFINED
        } else {
            call.attributes(&custom)?
        };
        let selector = string_field(&item, "selector").unwrap_or_default();
        if needs_selector && (selector.is_empty() || select(&document(), &selector).is_err()) {
            return call.wrong(&concat(&[
                &at,
                ".selector '",
                &selector,
                "' is not a CSS selector",
            ]));
        }
        let threshold = match module.as_str() {
            "autotrackIdle" => field(&item, "idleAfter").as_f64().filter(|s| *s > 0.0),
            "autotrackScrollDepth" => field(&item, "percentage")
                .as_f64()
                .filter(|p| (0.0..=100.0).contains(p)),
            _ => Some(0.0),
        };
        let Some(threshold) = threshold else {
            let needs = if module == "autotrackIdle" {
                "idleAfter: a positive number of seconds"
            } else {
                "percentage: a number from 0 to 100"
            };
            return call.wrong(&concat(&[&at, " needs ", needs]));
        };
        rules.push(Rule {
            event_name,
            attributes,
            selector,
            threshold,
            fired: false,
        });
    }
    call.require_init()?;
    with_runtime(|rt| match module.as_str() {
        "autotrackClick" => rt.autotrack.add_click(rules),
        "autotrackIdle" => {
            rt.autotrack.add_idle(rules);
        }
        "autotrackScrollDepth" => rt.autotrack.add_scroll(rules),
        _ => rt.autotrack.add_in_viewport(rules),
    });
    loaded(callback)
}

fn loaded(callback: Option<Function>) -> Option<()> {
    if let Some(f) = callback {
        call_back(
            "the ac('load') callback",
            &f,
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
        );
    }
    Some(())
}

impl Autotrack {
    fn add_click(&mut self, mut rules: Vec<Rule>) {
        if self.click.is_empty() {
            self.listeners
                .push(Listener::new(&document(), "click", true, |event| {
                    let Some(target) = target(&event) else {
                        return;
                    };
                    with_runtime(|rt| {
                        let mut hits = Vec::new();
                        for rule in &rt.autotrack.click {
                            if target.closest(&rule.selector).ok().flatten().is_some() {
                                hits.push((rule.event_name.clone(), rule.attributes.clone()));
                            }
                        }
                        for (name, attributes) in &hits {
                            rt.track(name, attributes, None, None);
                        }
                    });
                }));
        }
        self.click.append(&mut rules);
    }

    fn add_idle(&mut self, mut rules: Vec<Rule>) {
        if self.idle.is_empty() {
            let win: EventTarget = window().into();
            for &kind in &["mousemove", "keydown", "scroll", "click", "touchstart"] {
                self.listeners.push(Listener::new(&win, kind, true, |_| {
                    with_runtime(|rt| rt.autotrack.active());
                }));
            }
        }
        self.idle.append(&mut rules);
        self.arm_idle();
    }

    /// Activity: the idle clocks start again (at most once a second, mousemove is frequent).
    fn active(&mut self) {
        if now() - self.last_activity > 1000.0 {
            self.arm_idle();
        }
    }

    fn arm_idle(&mut self) {
        self.last_activity = now();
        self.idle_timers.clear();
        for i in 0..self.idle.len() {
            let seconds = self.idle[i].threshold;
            self.idle_timers
                .push(Timer::after(seconds * 1000.0, move || {
                    with_runtime(|rt| {
                        let rule = &rt.autotrack.idle[i];
                        let (name, attributes) = (rule.event_name.clone(), rule.attributes.clone());
                        rt.track(&name, &attributes, None, None);
                    });
                }));
        }
    }

    fn add_scroll(&mut self, mut rules: Vec<Rule>) {
        if self.scroll.is_empty() {
            self.listeners
                .push(Listener::new(&window(), "scroll", false, |_| {
                    with_runtime(Runtime::scrolled);
                }));
        }
        self.scroll.append(&mut rules);
    }

    fn add_in_viewport(&mut self, rules: Vec<Rule>) {
        for rule in &rules {
            if let Some(observer) = Observer::watch(rule) {
                self.observers.push(observer);
            }
        }
    }
}

impl Runtime {
    fn scrolled(&mut self) {
        let doc = document();
        let Some(root) = child(&doc, "documentElement") else {
            return;
        };
        let win = window();
        let seen = number(&win, "scrollY") + number(&win, "innerHeight");
        let height = number(&root, "scrollHeight").max(1.0);
        let percent = seen / height * 100.0;
        let mut due = Vec::new();
        for rule in self.autotrack.scroll.iter_mut() {
            if !rule.fired && percent + 0.5 >= rule.threshold {
                rule.fired = true;
                due.push((rule.event_name.clone(), rule.attributes.clone()));
            }
        }
        for (name, attributes) in &due {
            self.track(name, attributes, None, None);
        }
    }
}

/// An `IntersectionObserver` for one rule's elements, disconnected when dropped. Observing is a
/// few lines of JavaScript (`beckonObserve`); which event an element's first sight records is
/// decided here.
struct Observer {
    observer: ViewportObserver,
    _seen: Closure<dyn FnMut(Event)>,
}

impl Observer {
    fn watch(rule: &Rule) -> Option<Observer> {
        let (name, attributes) = (rule.event_name.clone(), rule.attributes.clone());
        let seen = js_callback(Box::new(move |_| {
            with_runtime(|rt| rt.track(&name, &attributes, None, None));
        }));
        let observer = observe(&rule.selector, seen.as_ref())?;
        Some(Observer {
            observer,
            _seen: seen,
        })
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// `history.pushState` / `replaceState` wrapped to notice SPA route changes (the wrapper is a
/// few lines of JavaScript, `beckonWrapHistory`); the originals are put back when dropped, unless
/// another script wrapped them since.
struct HistoryPatch {
    /// The URL of the route last reported: an in-page anchor, or a `popstate` and a
    /// `hashchange` for one move, report nothing more.
    seen: String,
    restores: Vec<Function>,
    _changed: Vec<Closure<dyn FnMut(Event)>>,
    _listeners: Vec<Listener>,
}

impl HistoryPatch {
    fn install(on_change: Option<Function>) -> HistoryPatch {
        let mut restores = Vec::new();
        let mut changed = Vec::new();
        for &method in &["pushState", "replaceState"] {
            let on_change = on_change.clone();
            let callback = js_callback(Box::new(move |_| url_changed(on_change.clone())));
            if let Some(restore) = wrap_history(method, callback.as_ref()) {
                restores.push(restore);
                changed.push(callback);
            }
        }
        let win: EventTarget = window().into();
        let mut listeners = Vec::new();
        for &kind in &["popstate", "hashchange"] {
            let on_change = on_change.clone();
            listeners.push(Listener::new(&win, kind, false, move |_| {
                url_changed(on_change.clone())
            }));
        }
        HistoryPatch {
            seen: current_url(),
            restores,
            _changed: changed,
            _listeners: listeners,
        }
    }
}

impl Drop for HistoryPatch {
    fn drop(&mut self) {
        for restore in &self.restores {
            let _ = restore.call0(&JsValue::UNDEFINED);
        }
    }
}

/// The URL changed in place: if the route did, what is on screen is ignored, then the page's
/// `onUrlChange` runs, or a pageview is recorded; not when it moved to the location the last
/// pageview recorded (see `Runtime::route`).
fn url_changed(on_change: Option<Function>) {
    let url = current_url();
    let moved = with_runtime(|rt| {
        let patch = rt.autotrack.history.as_mut()?;
        if same_route(&url, &patch.seen) {
            return None;
        }
        patch.seen = url.clone();
        rt.route_changed(url.clone());
        // The last pageview's location is kept only when the page moved there.
        (!same_route(&url, &rt.route[1])).then_some(())
    });
    // `None`: the runtime is busy (page code the SDK called changed the URL); the pageview
    // then waits for it, and compares the route then.
    if let Some(None) = moved {
        return;
    }
    match on_change {
        Some(f) => call_back("onUrlChange", &f, &url.into(), &JsValue::UNDEFINED),
        None => crate::commands::run(Array::of1(&"pageview".into())),
    }
}
