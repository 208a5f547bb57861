//! The command API of spec section 5: `ac(name, ...args)`.
//!
//! Every command checks its arguments before it does anything. A wrong call is a [`Misuse`]: one
//! `console.error` naming the command, what was wrong and the expected shape, and nothing else
//! happens (nothing is thrown into the page). Page callbacks (`api.session.*`, `load`) are called
//! after the SDK's own state is released, so they may call `ac(...)` again. Options are read
//! straight from the page's objects; custom attributes are kept as a JSON copy of what was given.

use std::cell::{Cell, RefCell};

use beckon_core::Topic;
use js_sys::{Array, Function, Object};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::bridges::Bridge;
use crate::browser::{
    callback, field, from_json, js_text, log_error, log_warning, now, set, to_json,
};
use crate::events::{self, Subscription};
use crate::identity::{CookieSettings, Identity};
use crate::ids::{decimal, text as id_text};
use crate::lifecycle::Lifecycle;
use crate::runtime::{self, Runtime, with_runtime};
use crate::transport::{Route, Transport};
use beckon_core::text::{concat, join};

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: a web event (Genesys `WebEventRequest`) as JSON; the page's URL
    /// and title when none are given.
    #[wasm_bindgen(js_name = beckonWebEvent)]
    fn web_event(
        customer_cookie_id: &str,
        session_id: &str,
        event_name: &str,
        url: Option<String>,
        title: Option<String>,
        millis: f64,
        attributes: &JsValue,
    ) -> String;
}

/// A wrong call: reported, never thrown.
pub struct Misuse {
    pub problem: String,
    pub expected: &'static str,
}

pub fn misuse<T>(problem: impl Into<String>, expected: &'static str) -> Result<T, Misuse> {
    Err(Misuse {
        problem: problem.into(),
        expected,
    })
}

thread_local! {
    /// Commands made while the SDK was busy; they run when the current entry point ends.
    static DEFERRED: RefCell<Vec<Array>> = const { RefCell::new(Vec::new()) };
    static WARNED_IDENTIFY: Cell<bool> = const { Cell::new(false) };
}

pub fn run(args: Array) {
    if runtime::is_busy() {
        DEFERRED.with(|d| d.borrow_mut().push(args));
        return;
    }
    let Some(name) = args.get(0).as_string() else {
        log_error(&concat(&[
            "ac(...) needs a command name as its first argument, got ",
            &describe(&args.get(0)),
            ". Expected: ",
            ONE_OF_COMMANDS,
        ]));
        return;
    };
    if let Err(m) = dispatch(&name, &args) {
        log_error(&concat(&[
            "ac('",
            &name,
            "'): ",
            &m.problem,
            ". Expected: ",
            m.expected,
        ]));
    }
}

pub fn run_deferred() {
    // A Vec, not a VecDeque: a few commands at most wait, and one more VecDeque type costs size.
    while let Some(args) = DEFERRED.with(|d| {
        let mut d = d.borrow_mut();
        (!d.is_empty()).then(|| d.remove(0))
    }) {
        run(args);
    }
}

fn dispatch(name: &str, args: &Array) -> Result<(), Misuse> {
    match name {
        "init" => init(args),
        "pageview" => pageview(args),
        "record" => record(args),
        "forms:track" => crate::forms::track(args),
        "load" => crate::autotrack::load(args),
        "on" | "once" => subscribe(name, args),
        "off" => unsubscribe(args),
        "api.session.getData" | "api.session.getId" => session(name, args),
        "destroy" => destroy(args),
        "identify" => {
            if !WARNED_IDENTIFY.with(|w| w.replace(true)) {
                log_warning(
                    "ac('identify') was removed by Genesys in 2023 and does nothing in Beckon",
                );
            }
            Ok(())
        }
        _ => misuse(
            concat(&["there is no command '", name, "'"]),
            ONE_OF_COMMANDS,
        ),
    }
}

const ONE_OF_COMMANDS: &str = "one of init, pageview, record, forms:track, load, on, once, off, \
     api.session.getData, api.session.getId, destroy";

/// A short description of a value for error messages.
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return concat(&["'", &s, "'"]);
    }
    let text = if value.is_function() {
        "a function"
    } else if Array::is_array(value) {
        "an array"
    } else if value.is_object() {
        "an object"
    } else if value.is_undefined() {
        "nothing"
    } else {
        return js_text(value);
    };
    text.to_owned()
}

/// Whether `value` is neither `undefined` nor `null`.
pub fn given(value: &JsValue) -> bool {
    !value.is_undefined() && !value.is_null()
}

/// The arguments of one call, read with the command's expected shape at hand.
pub struct Args<'a> {
    pub list: &'a Array,
    pub expected: &'static str,
}

impl Args<'_> {
    pub fn at_most(&self, count: u32) -> Result<(), Misuse> {
        let given = self.list.length().saturating_sub(1);
        if given > count {
            return misuse(
                concat(&[
                    "takes at most ",
                    &decimal(count.into()),
                    " arguments, got ",
                    &decimal(given.into()),
                ]),
                self.expected,
            );
        }
        Ok(())
    }

    pub fn string(&self, index: u32, what: &str) -> Result<String, Misuse> {
        let value = self.list.get(index);
        match value.as_string() {
            Some(s) => Ok(s),
            None => misuse(
                concat(&[what, " must be a string, got ", &describe(&value)]),
                self.expected,
            ),
        }
    }

    pub fn function(&self, index: u32, what: &str) -> Result<Function, Misuse> {
        let value = self.list.get(index);
        value.dyn_into::<Function>().or_else(|v| {
            misuse(
                concat(&[what, " must be a function, got ", &describe(&v)]),
                self.expected,
            )
        })
    }

    pub fn optional_function(&self, index: u32, what: &str) -> Result<Option<Function>, Misuse> {
        if self.list.get(index).is_undefined() {
            return Ok(None);
        }
        self.function(index, what).map(Some)
    }

    /// An optional plain object whose keys are all in `allowed`.
    pub fn options(&self, index: u32, allowed: &[&str]) -> Result<Options, Misuse> {
        let value = self.list.get(index);
        if !given(&value) {
            return Ok(Options(None));
        }
        object(&value, "the options", allowed, self.expected).map(|o| Options(Some(o)))
    }
}

/// The options object of a call (none given reads as empty).
pub struct Options(Option<Object>);

impl Options {
    /// The option `key`; `undefined` when it is not there.
    pub fn get(&self, key: &str) -> JsValue {
        match &self.0 {
            Some(o) => field(o, key),
            None => JsValue::UNDEFINED,
        }
    }

    /// A boolean option, `false` when absent.
    pub fn flag(&self, key: &str, expected: &'static str) -> Result<bool, Misuse> {
        let value = self.get(key);
        if value.is_undefined() {
            return Ok(false);
        }
        match value.as_bool() {
            Some(b) => Ok(b),
            None => misuse(
                concat(&[key, " must be true or false, got ", &describe(&value)]),
                expected,
            ),
        }
    }
}

/// A plain object whose keys are all in `allowed` (any keys when `allowed` is empty).
pub fn object(
    value: &JsValue,
    what: &str,
    allowed: &[&str],
    expected: &'static str,
) -> Result<Object, Misuse> {
    if !value.is_object() || value.is_function() || Array::is_array(value) {
        return misuse(
            concat(&[what, " must be an object, got ", &describe(value)]),
            expected,
        );
    }
    let object: Object = value.clone().unchecked_into();
    if !allowed.is_empty() {
        for key in Object::keys(&object).iter() {
            let key = key.as_string().unwrap_or_default();
            if !allowed.contains(&key.as_str()) {
                return misuse(
                    concat(&[
                        what,
                        " have no option '",
                        &key,
                        "' (known: ",
                        &join(allowed, ", "),
                        ")",
                    ]),
                    expected,
                );
            }
        }
    }
    Ok(object)
}

const INIT: &str = "ac('init', deploymentId: string (a UUID), { server?: string, region?: string, \
     cookieDomain?: string, cookieLifetimeDays?: number, sessionTimeoutMinutes?: number, \
     forwardTo?: ('dataLayer' | 'adobeDataLayer')[] })";

fn init(list: &Array) -> Result<(), Misuse> {
    let args = Args {
        list,
        expected: INIT,
    };
    args.at_most(2)?;
    if runtime::is_initialized() {
        return misuse(
            "Beckon is already initialized on this page (call ac('destroy') first to start again)",
            INIT,
        );
    }
    let id = args.string(1, "deploymentId")?;
    let Some(deployment_id) = crate::ids::parse(&id) else {
        return misuse(concat(&["deploymentId '", &id, "' is not a UUID"]), INIT);
    };
    let options = args.options(
        2,
        &[
            "server",
            "region",
            "cookieDomain",
            "cookieLifetimeDays",
            "sessionTimeoutMinutes",
            "forwardTo",
        ],
    )?;
    let text = |key: &str| -> Result<Option<String>, Misuse> {
        let value = options.get(key);
        match value.as_string() {
            _ if value.is_undefined() => Ok(None),
            Some(s) if !s.trim().is_empty() => Ok(Some(s)),
            _ => misuse(
                concat(&[key, " must be a non-empty string, got ", &describe(&value)]),
                INIT,
            ),
        }
    };
    let positive = |key: &str, default: f64| -> Result<f64, Misuse> {
        let value = options.get(key);
        match value.as_f64() {
            _ if value.is_undefined() => Ok(default),
            Some(n) if n > 0.0 && n.is_finite() => Ok(n),
            _ => misuse(
                concat(&[key, " must be a positive number, got ", &describe(&value)]),
                INIT,
            ),
        }
    };
    let server = match text("server")? {
        Some(s) => s,
        None => runtime::default_server(),
    };
    if !server.starts_with("http://") && !server.starts_with("https://") {
        return misuse(
            concat(&["server '", &server, "' must be an http(s) URL"]),
            INIT,
        );
    }
    text("region")?;
    let forward = options.get("forwardTo");
    let names: Vec<String> = if forward.is_undefined() {
        Vec::new()
    } else if let Some(name) = forward.as_string() {
        vec![name]
    } else if Array::is_array(&forward) {
        forward
            .unchecked_into::<Array>()
            .iter()
            .map(|v| v.as_string().unwrap_or_default())
            .collect()
    } else {
        return misuse(
            concat(&["forwardTo must be a list, got ", &describe(&forward)]),
            INIT,
        );
    };
    let mut bridges = Vec::new();
    for name in &names {
        match Bridge::parse(name) {
            Some(bridge) => bridges.push(bridge),
            None => {
                return misuse(
                    concat(&[
                        "forwardTo names '",
                        name,
                        "'; it can only name 'dataLayer' and 'adobeDataLayer'",
                    ]),
                    INIT,
                );
            }
        }
    }
    let settings = CookieSettings {
        domain: text("cookieDomain")?,
        lifetime_days: positive("cookieLifetimeDays", 365.0)?,
        session_timeout_minutes: positive("sessionTimeoutMinutes", 30.0)?,
    };
    let identity = Identity::load(settings);
    let transport = Transport::new(&server, deployment_id);
    events::set_bridges(bridges);
    runtime::install(Runtime::new(identity, transport, Lifecycle::default()));
    Ok(())
}

const PAGEVIEW: &str = "ac('pageview', { location?: string, title?: string, \
     customAttributes?: { [name: string]: number | string | boolean | { dataType, value } } })";

fn pageview(list: &Array) -> Result<(), Misuse> {
    let args = Args {
        list,
        expected: PAGEVIEW,
    };
    args.at_most(1)?;
    let options = args.options(1, &["location", "title", "customAttributes"])?;
    let string = |key: &str| -> Result<Option<String>, Misuse> {
        let value = options.get(key);
        match value.as_string() {
            _ if !given(&value) => Ok(None),
            Some(s) => Ok(Some(s)),
            None => misuse(
                concat(&[key, " must be a string, got ", &describe(&value)]),
                PAGEVIEW,
            ),
        }
    };
    let location = string("location")?;
    let title = string("title")?;
    let custom = options.get("customAttributes");
    let attributes = if custom.is_undefined() {
        JsValue::UNDEFINED
    } else {
        attributes(&custom, PAGEVIEW)?
    };
    require_init(PAGEVIEW)?;
    with_runtime(|rt| {
        let url = location.unwrap_or_else(runtime::current_url);
        rt.route_changed(url.clone());
        rt.track("page_viewed", &attributes, Some(url), title);
    });
    Ok(())
}

const RECORD: &str = "ac('record', eventName: string of letters, digits and _, \
     customAttributes?: { [name: string]: number | string | boolean | { dataType: 'integer' | 'number' | 'string' | 'boolean', value } })";

fn record(list: &Array) -> Result<(), Misuse> {
    let args = Args {
        list,
        expected: RECORD,
    };
    args.at_most(2)?;
    let name = args.string(1, "eventName")?;
    check_event_name(&name, RECORD)?;
    let value = list.get(2);
    let attributes = if given(&value) {
        attributes(&value, RECORD)?
    } else {
        JsValue::UNDEFINED
    };
    require_init(RECORD)?;
    with_runtime(|rt| rt.track(&name, &attributes, None, None));
    Ok(())
}

pub fn check_event_name(name: &str, expected: &'static str) -> Result<(), Misuse> {
    if name.is_empty()
        || name.len() > 255
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return misuse(
            concat(&[
                "event name '",
                name,
                "' may only have letters, digits and _ (1 to 255)",
            ]),
            expected,
        );
    }
    Ok(())
}

/// Whether `value` can be an attribute value: a finite number, a string or a boolean.
fn primitive(value: &JsValue) -> bool {
    value.as_f64().is_some_and(f64::is_finite) || value.is_string() || value.as_bool().is_some()
}

/// Custom attributes: numbers, strings, booleans, or `{ dataType, value }`. Returns a JSON copy,
/// so later changes to the page's object do not reach events recorded from it.
pub fn attributes(value: &JsValue, expected: &'static str) -> Result<JsValue, Misuse> {
    let map = object(value, "customAttributes", &[], expected)?;
    for entry in Object::entries(&map).iter() {
        let entry: Array = entry.unchecked_into();
        let (name, v) = (entry.get(0), entry.get(1));
        let ok = primitive(&v)
            || (v.is_object() && !Array::is_array(&v) && !v.is_function() && {
                let kind = field(&v, "dataType").as_string();
                let inner = field(&v, "value");
                Object::keys(v.unchecked_ref::<Object>()).length() == 2
                    && matches!(
                        kind.as_deref(),
                        Some("integer" | "number" | "string" | "boolean")
                    )
                    && primitive(&inner)
            });
        if !ok {
            return misuse(
                concat(&[
                    "customAttributes.",
                    &name.as_string().unwrap_or_default(),
                    " is ",
                    &describe(&v),
                    ", which is not an attribute value",
                ]),
                expected,
            );
        }
    }
    Ok(to_json(&map).map(|t| from_json(&t)).unwrap_or_default())
}

pub fn require_init(expected: &'static str) -> Result<(), Misuse> {
    if runtime::is_initialized() {
        Ok(())
    } else {
        misuse(
            "Beckon is not initialized; call ac('init', deploymentId) first",
            expected,
        )
    }
}

impl Runtime {
    /// Sends a web event (Genesys `WebEventRequest`) for this page; `attributes` is a checked
    /// object or `undefined`.
    pub fn track(
        &mut self,
        name: &str,
        attributes: &JsValue,
        location: Option<String>,
        title: Option<String>,
    ) {
        let session = self.identity.touch();
        let body = web_event(
            &id_text(&self.identity.customer_id),
            &id_text(&session.id),
            name,
            location,
            title,
            now(),
            attributes,
        );
        self.transport.send(Route::WebEvents, body);
    }
}

const ON: &str = "ac('on' | 'once', topic: '<mediaType>:<state>' | '<mediaType>:all', \
     handler: (event) => void, options?: { replay?: boolean })";
const OFF: &str = "ac('off', topic: '<mediaType>:<state>' | '<mediaType>:all', handler?: function)";

fn topic(args: &Args) -> Result<Topic, Misuse> {
    let text = args.string(1, "the topic")?;
    text.parse::<Topic>()
        .or_else(|e| misuse(e.message(), args.expected))
}

fn subscribe(name: &str, list: &Array) -> Result<(), Misuse> {
    let args = Args { list, expected: ON };
    args.at_most(3)?;
    let topic = topic(&args)?;
    let handler = args.function(2, "the handler")?;
    let replay = args.options(3, &["replay"])?.flag("replay", ON)?;
    let how = if name == "once" {
        Subscription::Once
    } else {
        Subscription::On
    };
    events::subscribe(topic, handler, how, replay);
    Ok(())
}

fn unsubscribe(list: &Array) -> Result<(), Misuse> {
    let args = Args {
        list,
        expected: OFF,
    };
    args.at_most(2)?;
    let topic = topic(&args)?;
    let handler = args.optional_function(2, "the handler")?;
    events::unsubscribe(topic, handler.as_ref());
    Ok(())
}

const SESSION: &str = "ac('api.session.getData' | 'api.session.getId', (err, data) => void)";

fn session(name: &str, list: &Array) -> Result<(), Misuse> {
    let args = Args {
        list,
        expected: SESSION,
    };
    args.at_most(1)?;
    let function = args.function(1, "the callback")?;
    let data = with_runtime(|rt| {
        let session = rt.identity.session();
        let data = Object::new();
        set(&data, "id", &id_text(&session.id).into());
        if name == "api.session.getData" {
            set(&data, "shortId", &session.short_id.into());
            set(
                &data,
                "customerCookieId",
                &id_text(&rt.identity.customer_id).into(),
            );
        }
        data
    });
    let what = concat(&["the ac('", name, "') callback"]);
    match data {
        Some(data) => callback(&what, &function, &JsValue::NULL, &data),
        None => callback(
            &what,
            &function,
            &js_sys::Error::new("Beckon is not initialized; call ac('init', deploymentId) first")
                .into(),
            &JsValue::UNDEFINED,
        ),
    }
    Ok(())
}

fn destroy(list: &Array) -> Result<(), Misuse> {
    Args {
        list,
        expected: "ac('destroy')",
    }
    .at_most(0)?;
    with_runtime(|rt| {
        rt.ignore_shown();
        rt.transport.flush_on_hide();
    });
    // Dropped outside the borrow: removes every element, listener and timer.
    drop(runtime::take());
    events::drain();
    events::clear();
    Ok(())
}
