//! `init` option `forwardTo`: every web action event also goes to the page's tag managers, so a
//! site can route it with the tools it already has and needs no `ac('on', …)` code.
//!
//! - GTM `dataLayer`: `{ event: 'beckon.<mediaType>.<state>', beckon: <event object> }`; GTM
//!   triggers match on `event`, and variables read `beckon.actionId` and so on.
//! - Adobe Client Data Layer `adobeDataLayer`: `{ event: 'beckon.<mediaType>.<state>',
//!   eventInfo: <event object> }`; ACDL passes `eventInfo` to listeners without merging it into its
//!   state, which is right for events.
//!
//! Both arrays are created when missing (the libraries pick up what was pushed before they load).
//! Each push gets its own copy of the event, with `errorCode` and `errorMessage` always there
//! (`undefined` unless `errored`): GTM merges pushes key by key, so a later push clears them.
//! Which layers get which events, and when, is decided here; the push itself is a few lines of
//! JavaScript (`beckonForward` in `js/loader.js`), a fraction of what the same object handling
//! costs in WebAssembly.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: `window[global].push({ event: 'beckon.<mediaType>.<state>',
    /// [key]: <a copy of event> })`, creating the array when the page has none; a layer without
    /// a `push` function or a push that throws is logged with `console.error`.
    #[wasm_bindgen(js_name = beckonForward)]
    fn push(global: &str, key: &str, event: &JsValue);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bridge {
    DataLayer,
    AdobeDataLayer,
}

impl Bridge {
    pub fn parse(name: &str) -> Option<Bridge> {
        match name {
            "dataLayer" => Some(Bridge::DataLayer),
            "adobeDataLayer" => Some(Bridge::AdobeDataLayer),
            _ => None,
        }
    }

    fn global(self) -> &'static str {
        match self {
            Bridge::DataLayer => "dataLayer",
            Bridge::AdobeDataLayer => "adobeDataLayer",
        }
    }

    fn payload_key(self) -> &'static str {
        match self {
            Bridge::DataLayer => "beckon",
            Bridge::AdobeDataLayer => "eventInfo",
        }
    }
}

/// Pushes the event object of spec 4.3 to every layer in `bridges`, in order.
pub fn forward(bridges: &[Bridge], event: &JsValue) {
    for bridge in bridges {
        push(bridge.global(), bridge.payload_key(), event);
    }
}
