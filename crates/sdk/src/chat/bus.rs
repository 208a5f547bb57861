//! Spec 4.4: the seed's enrichment example calls
//! `_genesys.widgets.bus.command('WebChatService.getSessionData')`. When the page has no Genesys
//! Widgets of its own, Beckon provides that one command: a promise of `{ conversationId }` once a
//! chat has started on the page, of `{}` before. Any other command is refused with a rejected
//! promise and a `console.error`. Removed again by `destroy`.
//!
//! The chat decides when the bus is there and which conversation it names; the object on
//! `window._genesys` and its promises are a few lines of JavaScript (`beckonBus` in
//! `js/loader.js`), a fraction of what building them from WebAssembly costs.

use js_sys::Object;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: puts the bus on `window._genesys.widgets` and returns that
    /// object; `None` when the page has something at `_genesys.widgets` already.
    #[wasm_bindgen(js_name = beckonBus)]
    fn put() -> Option<Object>;

    /// Defined in `js/loader.js`: the conversation `getSessionData` answers with.
    #[wasm_bindgen(js_name = beckonBusConversation)]
    fn set_conversation(id: &str);

    /// Defined in `js/loader.js`: forgets the conversation and takes `widgets` off
    /// `window._genesys` if it is still ours.
    #[wasm_bindgen(js_name = beckonBusRemove)]
    fn remove(widgets: &Object);
}

/// Ours on `window._genesys.widgets`; taken away when dropped.
pub struct Bus {
    widgets: Object,
}

/// Installs the bus, unless the page has Genesys Widgets (or anything at `_genesys.widgets`).
pub fn install() -> Option<Bus> {
    put().map(|widgets| Bus { widgets })
}

/// The conversation `id` has started: `getSessionData` answers with it from now on.
pub fn started(id: &str) {
    set_conversation(id);
}

impl Drop for Bus {
    fn drop(&mut self) {
        remove(&self.widgets);
    }
}
