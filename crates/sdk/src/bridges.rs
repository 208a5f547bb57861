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
//! Each push gets its own copy of the event.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::browser::{log_error, window};

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

pub fn forward(bridges: &[Bridge], event: &JsValue) {
    let [media, state] = ["actionMediaType", "actionState"].map(|k| {
        Reflect::get(event, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    });
    let name = JsValue::from_str(&["beckon.", &media, ".", &state].concat());
    for bridge in bridges {
        let message = Object::new();
        let _ = Reflect::set(&message, &"event".into(), &name);
        let _ = Reflect::set(
            &message,
            &bridge.payload_key().into(),
            &Object::assign(&Object::new(), event.unchecked_ref()),
        );
        if let Err(error) = push(bridge.global(), &message) {
            web_sys::console::error_2(
                &["Beckon: pushing to window.", bridge.global(), " failed:"]
                    .concat()
                    .into(),
                &error,
            );
        }
    }
}

/// `window[global].push(message)`, creating the array when the page has none.
fn push(global: &str, message: &JsValue) -> Result<(), JsValue> {
    let window = window();
    let mut layer = Reflect::get(&window, &global.into())?;
    if layer.is_undefined() || layer.is_null() {
        layer = Array::new().into();
        Reflect::set(&window, &global.into(), &layer)?;
    }
    let push = Reflect::get(&layer, &"push".into())?;
    match push.dyn_ref::<js_sys::Function>() {
        Some(push) => push.call1(&layer, message).map(drop),
        None => {
            log_error(&["window.", global, " has no push function"].concat());
            Ok(())
        }
    }
}
