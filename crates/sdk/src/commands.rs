//! The command API of spec section 5: `ac(name, ...args)`.
//!
//! Each command is a row of one table ([`COMMANDS`]): its name, what it does, and the shape of a
//! right call, which a wrong one is shown (the checks are in [`crate::call`]). Page callbacks
//! (`api.session.*`, `load`) are called after the SDK's own state is released, so they may call
//! `ac(...)` again. Options are read straight from the page's objects; custom attributes are
//! kept as a JSON copy of what was given.

use std::cell::{Cell, RefCell};

use beckon_core::Topic;
use js_sys::{Array, Object};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::bridges::Bridge;
use crate::browser::{callback, current_url, given, log_error, log_warning, now, set};
use crate::call::{Call, Kind, describe};
use crate::events::{self, Subscription};
use crate::identity::{CookieSettings, Identity};
use crate::ids::text as id_text;
use crate::lifecycle::Lifecycle;
use crate::runtime::{self, Runtime, with_runtime};
use crate::transport::{Route, Transport};
use beckon_core::text::concat;

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: a web event (Genesys `WebEventRequest`) as JSON; the page's URL
    /// and title when none are given.
    #[wasm_bindgen(js_name = beckonWebEvent)]
    pub(crate) fn web_event(
        customer_cookie_id: &str,
        session_id: &str,
        event_name: &str,
        url: Option<&str>,
        title: Option<String>,
        millis: f64,
        attributes: &JsValue,
    ) -> String;

    /// Defined in `js/loader.js`: `url` resolved against the page's `document.baseURI`, `''`
    /// when that is not an http(s) URL of at most 4096 bytes.
    #[wasm_bindgen(js_name = beckonUrl)]
    fn absolute(url: &str) -> String;
}

thread_local! {
    /// Commands made while the SDK was busy; they run when the current entry point ends.
    static DEFERRED: RefCell<Vec<Array>> = const { RefCell::new(Vec::new()) };
    static WARNED_IDENTIFY: Cell<bool> = const { Cell::new(false) };
}

/// A command: its name, what it does, the shape of a right call.
type Command = (&'static str, fn(&Call) -> Option<()>, &'static str);

const COMMANDS: [Command; 11] = [
    ("init", init, INIT),
    ("pageview", pageview, PAGEVIEW),
    ("record", record, RECORD),
    ("forms:track", crate::forms::track, crate::forms::EXPECTED),
    ("load", crate::autotrack::load, crate::autotrack::EXPECTED),
    ("on", subscribe, ON),
    ("once", subscribe, ON),
    ("off", unsubscribe, OFF),
    ("api.session.getData", session, SESSION),
    ("api.session.getId", session, SESSION),
    ("destroy", destroy, "ac('destroy')"),
];

const ONE_OF_COMMANDS: &str = "one of init, pageview, record, forms:track, load, on, once, off, \
     api.session.getData, api.session.getId, destroy";

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
    if name == "identify" {
        if !WARNED_IDENTIFY.with(|w| w.replace(true)) {
            log_warning("ac('identify') was removed by Genesys in 2023 and does nothing in Beckon");
        }
        return;
    }
    let command = COMMANDS.iter().find(|(known, ..)| *known == name);
    let (run, expected) = command
        .map_or((unknown as fn(&Call) -> Option<()>, ONE_OF_COMMANDS), |c| {
            (c.1, c.2)
        });
    run(&Call {
        list: &args,
        name: &name,
        expected,
    });
}

fn unknown(call: &Call) -> Option<()> {
    call.wrong(&concat(&["there is no command '", call.name, "'"]))
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

const INIT: &str = "ac('init', deploymentId: string (a UUID), { server?: string, region?: string, \
     cookieDomain?: string, cookieLifetimeDays?: number, sessionTimeoutMinutes?: number, \
     forwardTo?: ('dataLayer' | 'adobeDataLayer')[] })";

const INIT_OPTIONS: [(&str, Kind); 6] = [
    ("server", Kind::NonBlank),
    ("region", Kind::NonBlank),
    ("cookieDomain", Kind::NonBlank),
    ("cookieLifetimeDays", Kind::Positive),
    ("sessionTimeoutMinutes", Kind::Positive),
    ("forwardTo", Kind::Any),
];

fn init(call: &Call) -> Option<()> {
    call.at_most(2)?;
    if runtime::is_initialized() {
        return call.wrong(
            "Beckon is already initialized on this page (call ac('destroy') first to start again)",
        );
    }
    let id = call.string(1, "deploymentId")?;
    let Some(deployment_id) = crate::ids::parse(&id) else {
        return call.wrong(&concat(&["deploymentId '", &id, "' is not a UUID"]));
    };
    let options = call.options(2, &INIT_OPTIONS)?;
    let server = options[0]
        .as_string()
        .unwrap_or_else(runtime::default_server);
    if !server.starts_with("http://") && !server.starts_with("https://") {
        return call.wrong(&concat(&["server '", &server, "' must be an http(s) URL"]));
    }
    let forward = &options[5];
    let mut names = Vec::new();
    if let Some(name) = forward.as_string() {
        names.push(name);
    } else if Array::is_array(forward) {
        for name in forward.unchecked_ref::<Array>().iter() {
            names.push(name.as_string().unwrap_or_default());
        }
    } else if !forward.is_undefined() {
        return call.wrong(&concat(&[
            "forwardTo must be a name or a list of names, got ",
            &describe(forward),
        ]));
    };
    let mut bridges = Vec::new();
    for name in &names {
        let Some(bridge) = Bridge::parse(name) else {
            return call.wrong(&concat(&[
                "forwardTo names '",
                name,
                "'; it can only name 'dataLayer' and 'adobeDataLayer'",
            ]));
        };
        bridges.push(bridge);
    }
    let domain = options[2].as_string();
    if let Some(domain) = domain.as_deref().filter(|d| !crate::identity::covers(d)) {
        return call.wrong(&concat(&[
            "cookieDomain '",
            domain,
            "' does not include this page's host: the browser would refuse its cookies",
        ]));
    }
    let settings = CookieSettings {
        domain,
        lifetime_days: options[3].as_f64().unwrap_or(365.0),
        session_timeout_minutes: options[4].as_f64().unwrap_or(30.0),
    };
    let identity = Identity::load(settings);
    let transport = Transport::new(&server, deployment_id);
    events::set_bridges(bridges);
    runtime::install(Runtime::new(identity, transport, Lifecycle::default()));
    Some(())
}

const PAGEVIEW: &str = "ac('pageview', { location?: string, title?: string, \
     customAttributes?: { [name: string]: number | string | boolean | { dataType, value } } })";

fn pageview(call: &Call) -> Option<()> {
    call.at_most(1)?;
    let options = call.options(
        1,
        &[
            ("location", Kind::Text),
            ("title", Kind::Text),
            ("customAttributes", Kind::Any),
        ],
    )?;
    let custom = &options[2];
    let attributes = if custom.is_undefined() {
        JsValue::UNDEFINED
    } else {
        call.attributes(custom)?
    };
    // The server takes only an absolute http(s) URL: a relative one is the page's link.
    let mut location = options[0].as_string();
    if let Some(given) = &location {
        let url = absolute(given);
        if url.is_empty() {
            return call.wrong(&concat(&[
                "location '",
                given,
                "' must be an http(s) URL of at most 4096 bytes",
            ]));
        }
        location = Some(url);
    }
    let title = options[1].as_string();
    call.short("title", title.as_deref().unwrap_or_default())?;
    call.require_init()?;
    with_runtime(|rt| {
        rt.page_viewed(location.clone().unwrap_or_else(current_url));
        rt.track("page_viewed", &attributes, location.as_deref(), title);
        rt.last_pageview = Some((call.list.clone(), current_url()));
    });
    Some(())
}

const RECORD: &str = "ac('record', eventName: string of letters, digits and _, \
     customAttributes?: { [name: string]: number | string | boolean | { dataType: 'integer' | 'number' | 'string' | 'boolean', value } })";

fn record(call: &Call) -> Option<()> {
    call.at_most(2)?;
    let name = call.string(1, "eventName")?;
    call.event_name("", &name)?;
    let value = call.list.get(2);
    let attributes = if given(&value) {
        call.attributes(&value)?
    } else {
        JsValue::UNDEFINED
    };
    call.require_init()?;
    with_runtime(|rt| rt.track(&name, &attributes, None, None));
    Some(())
}

impl Runtime {
    /// Sends a web event (Genesys `WebEventRequest`) for this page; `attributes` is a checked
    /// object or `undefined`; `location` is a page view's (its answer is presented there too).
    pub fn track(
        &mut self,
        name: &str,
        attributes: &JsValue,
        location: Option<&str>,
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
        self.transport.send(Route::WebEvents, body, location);
    }
}

const ON: &str = "ac('on' | 'once', topic: '<mediaType>:<state>' | '<mediaType>:all', \
     handler: (event) => void, options?: { replay?: boolean })";
const OFF: &str = "ac('off', topic: '<mediaType>:<state>' | '<mediaType>:all', handler?: function)";

fn topic(call: &Call) -> Option<Topic> {
    let text = call.string(1, "the topic")?;
    match text.parse::<Topic>() {
        Ok(topic) => Some(topic),
        Err(e) => call.wrong(&e.message()),
    }
}

fn subscribe(call: &Call) -> Option<()> {
    call.at_most(3)?;
    let topic = topic(call)?;
    let handler = call.function(2, "the handler")?;
    let replay = call.options(3, &[("replay", Kind::Flag)])?[0].is_truthy();
    let how = if call.name == "once" {
        Subscription::Once
    } else {
        Subscription::On
    };
    events::subscribe(topic, handler, how, replay);
    Some(())
}

fn unsubscribe(call: &Call) -> Option<()> {
    call.at_most(2)?;
    let topic = topic(call)?;
    let handler = call.optional_function(2, "the handler")?;
    events::unsubscribe(topic, handler.as_ref());
    Some(())
}

const SESSION: &str = "ac('api.session.getData' | 'api.session.getId', (err, data) => void)";

fn session(call: &Call) -> Option<()> {
    call.at_most(1)?;
    let function = call.function(1, "the callback")?;
    let data = with_runtime(|rt| {
        let session = rt.identity.session();
        let data = Object::new();
        set(&data, "id", &id_text(&session.id).into());
        if call.name == "api.session.getData" {
            set(&data, "shortId", &session.short_id.into());
            set(
                &data,
                "customerCookieId",
                &id_text(&rt.identity.customer_id).into(),
            );
        }
        data
    });
    let what = concat(&["the ac('", call.name, "') callback"]);
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
    Some(())
}

fn destroy(call: &Call) -> Option<()> {
    call.at_most(0)?;
    with_runtime(|rt| {
        rt.withdraw_all();
        rt.transport.flush_on_hide(true);
    });
    // Dropped outside the borrow: removes every element, listener and timer.
    drop(runtime::take());
    // Also from a handler: what was emitted until now still reaches the handlers of now.
    events::clear();
    Some(())
}
