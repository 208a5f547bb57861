//! The command API of spec section 5: `ac(name, ...args)`.
//!
//! Every command checks its arguments before it does anything. A wrong call is a [`Misuse`]: one
//! `console.error` naming the command, what was wrong and the expected shape, and nothing else
//! happens (nothing is thrown into the page). Page callbacks (`api.session.*`, `load`) are called
//! after the SDK's own state is released, so they may call `ac(...)` again.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use beckon_core::Topic;
use js_sys::{Array, Function, Object, Reflect};
use serde_json::{Map, Value, json};
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::bridges::Bridge;
use crate::browser::{document, log_error, log_warning, now, window};
use crate::events::{self, Subscription};
use crate::identity::{CookieSettings, Identity};
use crate::lifecycle::Lifecycle;
use crate::runtime::{self, Runtime, with_runtime};
use crate::transport::{Route, Transport};

/// A wrong call: reported, never thrown.
pub struct Misuse {
    pub problem: String,
    pub expected: &'static str,
}

fn misuse<T>(problem: impl Into<String>, expected: &'static str) -> Result<T, Misuse> {
    Err(Misuse {
        problem: problem.into(),
        expected,
    })
}

const COMMANDS: &str = "init, pageview, record, forms:track, load, on, once, off, \
     api.session.getData, api.session.getId, destroy";

thread_local! {
    /// Commands made while the SDK was busy; they run when the current entry point ends.
    static DEFERRED: RefCell<VecDeque<Array>> = const { RefCell::new(VecDeque::new()) };
    static WARNED_IDENTIFY: Cell<bool> = const { Cell::new(false) };
}

pub fn run(args: Array) {
    if runtime::is_busy() {
        DEFERRED.with(|d| d.borrow_mut().push_back(args));
        return;
    }
    let name = args.get(0).as_string();
    let Some(name) = name else {
        log_error(&format!(
            "ac(...) needs a command name as its first argument, got {}; commands: {COMMANDS}",
            describe(&args.get(0))
        ));
        return;
    };
    if let Err(m) = dispatch(&name, &args) {
        log_error(&format!(
            "ac('{name}'): {}. Expected: {}",
            m.problem, m.expected
        ));
    }
}

pub fn run_deferred() {
    while let Some(args) = DEFERRED.with(|d| d.borrow_mut().pop_front()) {
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
            format!("there is no command '{name}'"),
            "one of init, pageview, record, forms:track, load, on, once, off, api.session.getData, api.session.getId, destroy",
        ),
    }
}

/// A short description of a value for error messages.
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return format!("'{s}'");
    }
    if value.is_function() {
        return "a function".into();
    }
    if Array::is_array(value) {
        return "an array".into();
    }
    if value.is_object() {
        return "an object".into();
    }
    value
        .js_typeof()
        .as_string()
        .unwrap_or_default()
        .replace("undefined", "nothing")
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
                format!("takes at most {count} arguments, got {given}"),
                self.expected,
            );
        }
        Ok(())
    }

    pub fn string(&self, index: u32, what: &str) -> Result<String, Misuse> {
        let value = self.list.get(index);
        value.as_string().ok_or(()).or_else(|_| {
            misuse(
                format!("{what} must be a string, got {}", describe(&value)),
                self.expected,
            )
        })
    }

    pub fn function(&self, index: u32, what: &str) -> Result<Function, Misuse> {
        let value = self.list.get(index);
        value.dyn_into::<Function>().or_else(|v| {
            misuse(
                format!("{what} must be a function, got {}", describe(&v)),
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

    /// An optional plain object whose keys are all in `allowed`, as JSON.
    pub fn options(&self, index: u32, allowed: &[&str]) -> Result<Map<String, Value>, Misuse> {
        let value = self.list.get(index);
        if value.is_undefined() || value.is_null() {
            return Ok(Map::new());
        }
        object(&value, "the options", allowed, self.expected)
    }
}

/// A plain object whose keys are all in `allowed`, as JSON (functions are refused).
pub fn object(
    value: &JsValue,
    what: &str,
    allowed: &[&str],
    expected: &'static str,
) -> Result<Map<String, Value>, Misuse> {
    if !value.is_object() || value.is_function() || Array::is_array(value) {
        return misuse(
            format!("{what} must be an object, got {}", describe(value)),
            expected,
        );
    }
    for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !allowed.is_empty() && !allowed.contains(&key.as_str()) {
            return misuse(
                format!(
                    "{what} have no option '{key}' (known: {})",
                    allowed.join(", ")
                ),
                expected,
            );
        }
    }
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => misuse(format!("{what} cannot be read as JSON"), expected),
    }
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
    let Ok(deployment_id) = Uuid::parse_str(&id) else {
        return misuse(format!("deploymentId '{id}' is not a UUID"), INIT);
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
        match options.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(other) => misuse(
                format!("{key} must be a non-empty string, got {other}"),
                INIT,
            ),
        }
    };
    let positive = |key: &str, default: f64| -> Result<f64, Misuse> {
        match options.get(key) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(n) if n > 0.0 && n.is_finite() => Ok(n),
                _ => misuse(format!("{key} must be a positive number, got {v}"), INIT),
            },
        }
    };
    let server = match text("server")? {
        Some(s) => s,
        None => runtime::origin(|o| {
            web_sys::Url::new(&o.script_base)
                .map(|u| u.origin())
                .unwrap_or_default()
        }),
    };
    if !server.starts_with("http://") && !server.starts_with("https://") {
        return misuse(format!("server '{server}' must be an http(s) URL"), INIT);
    }
    text("region")?;
    let forward = match options.get("forwardTo") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect(),
        Some(other) => return misuse(format!("forwardTo must be a list, got {other}"), INIT),
    };
    let bridges = forward
        .iter()
        .map(|name| {
            Bridge::parse(name).ok_or(()).or_else(|_| {
                misuse(
                    format!("forwardTo names '{name}'; it can only name 'dataLayer' and 'adobeDataLayer'"),
                    INIT,
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let settings = CookieSettings {
        domain: text("cookieDomain")?,
        lifetime_days: positive("cookieLifetimeDays", 365.0)?,
        session_timeout_minutes: positive("sessionTimeoutMinutes", 30.0)?,
    };
    let identity = Identity::load(settings);
    let transport = Transport::new(&server, deployment_id);
    events::set_bridges(bridges);
    runtime::install(Runtime::new(identity, transport, Lifecycle::default()));
    with_runtime(Runtime::resume_delays);
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
        match options.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => misuse(format!("{key} must be a string, got {other}"), PAGEVIEW),
        }
    };
    let location = string("location")?;
    let title = string("title")?;
    let attributes = match options.get("customAttributes") {
        None => Map::new(),
        Some(v) => attributes(v, PAGEVIEW)?,
    };
    require_init(PAGEVIEW)?;
    with_runtime(|rt| {
        let url = location.clone().unwrap_or_else(runtime::current_url);
        rt.route_changed(url.clone());
        rt.track("page_viewed", attributes, Some(url), title);
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
    let attributes = if value.is_undefined() || value.is_null() {
        Map::new()
    } else {
        let map = object(&value, "customAttributes", &[], RECORD)?;
        attributes(&Value::Object(map), RECORD)?
    };
    require_init(RECORD)?;
    with_runtime(|rt| rt.track(&name, attributes, None, None));
    Ok(())
}

pub fn check_event_name(name: &str, expected: &'static str) -> Result<(), Misuse> {
    if name.is_empty()
        || name.len() > 255
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return misuse(
            format!("event name '{name}' may only have letters, digits and _ (1 to 255)"),
            expected,
        );
    }
    Ok(())
}

/// Custom attributes: numbers, strings, booleans, or `{ dataType, value }`.
pub fn attributes(value: &Value, expected: &'static str) -> Result<Map<String, Value>, Misuse> {
    let Some(map) = value.as_object() else {
        return misuse(
            format!("customAttributes must be an object, got {value}"),
            expected,
        );
    };
    for (name, v) in map {
        let ok = match v {
            Value::Number(_) | Value::String(_) | Value::Bool(_) => true,
            Value::Object(typed) => {
                let kind = typed.get("dataType").and_then(Value::as_str);
                let inner = typed.get("value");
                typed.len() == 2
                    && matches!(kind, Some("integer" | "number" | "string" | "boolean"))
                    && matches!(
                        inner,
                        Some(Value::Number(_) | Value::String(_) | Value::Bool(_))
                    )
            }
            _ => false,
        };
        if !ok {
            return misuse(
                format!("customAttributes.{name} is {v}, which is not an attribute value"),
                expected,
            );
        }
    }
    Ok(map.clone())
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
    /// Sends a web event (Genesys `WebEventRequest`) for this page.
    pub fn track(
        &mut self,
        name: &str,
        attributes: Map<String, Value>,
        location: Option<String>,
        title: Option<String>,
    ) {
        let session = self.identity.touch();
        let doc = document();
        let referrer = doc.referrer();
        let mut event = json!({
            "customerCookieId": self.identity.customer_id,
            "sessionId": session.id,
            "eventName": name,
            "page": {
                "url": location.unwrap_or_else(runtime::current_url),
                "title": title.unwrap_or_else(|| doc.title()),
            },
            "createdDate": beckon_core::Timestamp::from_unix_millis(now() as i64).to_string(),
        });
        if !referrer.is_empty() {
            event["referrerUrl"] = referrer.into();
        }
        if !attributes.is_empty() {
            event["attributes"] = Value::Object(attributes);
        }
        if let Ok(agent) = window().navigator().user_agent() {
            event["userAgentString"] = agent.into();
        }
        self.transport.send(Route::WebEvents, &event);
    }
}

const ON: &str = "ac('on' | 'once', topic: '<mediaType>:<state>' | '<mediaType>:all', \
     handler: (event) => void, options?: { replay?: boolean })";
const OFF: &str = "ac('off', topic: '<mediaType>:<state>' | '<mediaType>:all', handler?: function)";

fn topic(args: &Args) -> Result<Topic, Misuse> {
    let text = args.string(1, "the topic")?;
    text.parse::<Topic>()
        .or_else(|e| misuse(e.to_string(), args.expected))
}

fn subscribe(name: &str, list: &Array) -> Result<(), Misuse> {
    let args = Args { list, expected: ON };
    args.at_most(3)?;
    let topic = topic(&args)?;
    let handler = args.function(2, "the handler")?;
    let options = args.options(3, &["replay"])?;
    let replay = match options.get("replay") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return misuse(format!("replay must be true or false, got {other}"), ON),
    };
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
    let callback = args.function(1, "the callback")?;
    let data = with_runtime(|rt| {
        let session = rt.identity.session();
        let data = Object::new();
        let _ = Reflect::set(&data, &"id".into(), &session.id.to_string().into());
        if name == "api.session.getData" {
            let _ = Reflect::set(&data, &"shortId".into(), &session.short_id.into());
            let _ = Reflect::set(
                &data,
                &"customerCookieId".into(),
                &rt.identity.customer_id.to_string().into(),
            );
        }
        data
    });
    let result = match data {
        Some(data) => callback.call2(&JsValue::NULL, &JsValue::NULL, &data),
        None => callback.call1(
            &JsValue::NULL,
            &js_sys::Error::new("Beckon is not initialized; call ac('init', deploymentId) first")
                .into(),
        ),
    };
    if let Err(error) = result {
        web_sys::console::error_2(
            &format!("Beckon: the ac('{name}') callback failed:").into(),
            &error,
        );
        crate::browser::rethrow_later(&error);
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
