//! Spec 4.4: the seed's enrichment example calls
//! `_genesys.widgets.bus.command('WebChatService.getSessionData')`. When the page has no Genesys
//! Widgets of its own, Beckon provides that one command: a promise of `{ conversationId }` once a
//! chat has started on the page, of `{}` before. Any other command is refused with a rejected
//! promise and a `console.error`. Removed again by `destroy`.

use std::cell::RefCell;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::set;
use crate::action::field;
use crate::browser::{log_error, window};
use crate::commands::given;

const COMMAND: &str = "WebChatService.getSessionData";

thread_local! {
    /// The conversation started on this page (or resumed from an earlier one).
    static CONVERSATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Ours on `window._genesys.widgets`; taken away when dropped.
pub struct Bus {
    widgets: Object,
    _command: Closure<dyn Fn(JsValue) -> Promise>,
}

/// Installs the bus, unless the page has Genesys Widgets (or anything at `_genesys.widgets`).
pub fn install() -> Option<Bus> {
    let page = window();
    let mut genesys = field(&page, "_genesys");
    if given(&field(&genesys, "widgets")) {
        return None;
    }
    if !genesys.is_object() {
        genesys = Object::new().into();
        set(page.as_ref(), "_genesys", &genesys);
    }
    let command = Closure::<dyn Fn(JsValue) -> Promise>::new(|name: JsValue| {
        if name.as_string().as_deref() != Some(COMMAND) {
            let problem = [
                "Beckon provides only _genesys.widgets.bus.command('",
                COMMAND,
                "')",
            ];
            log_error(&problem.concat());
            return Promise::reject(&js_sys::Error::new(&problem.concat()));
        }
        let data = Object::new();
        CONVERSATION.with(|c| {
            if let Some(id) = c.borrow().as_deref() {
                set(&data, "conversationId", &id.into());
            }
        });
        Promise::resolve(&JsValue::from(data))
    });
    let bus = Object::new();
    set(&bus, "command", command.as_ref());
    let widgets = Object::new();
    set(&widgets, "bus", &bus);
    set(genesys.unchecked_ref(), "widgets", &widgets);
    Some(Bus {
        widgets,
        _command: command,
    })
}

/// The conversation `id` has started: `getSessionData` answers with it from now on.
pub fn started(id: &str) {
    CONVERSATION.with(|c| *c.borrow_mut() = Some(id.to_owned()));
}

impl Drop for Bus {
    fn drop(&mut self) {
        CONVERSATION.with(|c| c.borrow_mut().take());
        let genesys = field(&window(), "_genesys");
        if field(&genesys, "widgets") == JsValue::from(&self.widgets) {
            let _ = Reflect::delete_property(genesys.unchecked_ref::<Object>(), &"widgets".into());
        }
    }
}
