//! beckon-sdk: the browser runtime of Beckon, compiled to WebAssembly.
//!
//! The page talks to it through one function, `ac(...)` (spec section 5), which the loader
//! (`js/loader.js`) forwards to [`command`]. Everything the SDK does starts at one of a few entry
//! points: a command, a DOM event, a timer, a server response. Each runs through [`boundary`],
//! which is where the rule "never throw into the page" is kept and where the work a handler may
//! have queued (commands made while the SDK was busy, events to deliver) is finished.
//!
//! | concern | module |
//! |---|---|
//! | the command API | [`commands`] |
//! | one call of it and its argument checks | [`call`] |
//! | the on/once/off bus glue (beckon-core's `Bus`) | [`events`] |
//! | customer cookie and session | [`identity`] |
//! | random UUIDv4s and their text | [`ids`] |
//! | batching, beacon, retry, offline queue | [`transport`] |
//! | actions from the server, their lifecycle, activation | [`action`], [`lifecycle`] |
//! | content offers and chat invitations on the page | [`presenters`] |
//! | the visitor's web chat: pre-chat form, conversation, window, `_genesys.widgets.bus` | [`chat`] |
//! | GTM `dataLayer` and Adobe Client Data Layer | [`bridges`] |
//! | `load` modules and `forms:track` | [`autotrack`], [`forms`] |
//! | the state of an initialized SDK | [`runtime`] |
//!
//! Everything a page downloads counts against the SDK's size budget (issue 5), which shapes the
//! code: the DOM is read through a few loader helpers rather than a web-sys import per property,
//! and vectors are filled by plain loops rather than collected from iterator chains (each chain
//! is code of its own in the module).

// The crate's public surface is the JavaScript API; these docs are a code map for maintainers
// (built with --document-private-items), so they link private modules on purpose.
#![allow(rustdoc::private_intra_doc_links)]

mod action;
mod autotrack;
mod bridges;
mod browser;
mod call;
mod chat;
mod commands;
mod events;
mod forms;
mod identity;
mod ids;
mod lifecycle;
mod presenters;
mod runtime;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod transport;

use std::cell::Cell;

use wasm_bindgen::prelude::*;

thread_local! {
    /// How deep in entry points the SDK is (a handler can call `ac(...)` from inside one).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Called once by the loader when the module is ready, with the origin the script came from
/// (the default server).
#[wasm_bindgen]
pub fn start(origin: String) {
    runtime::set_default_server(origin);
}

/// `ac(name, ...args)`. Never throws: a wrong call is reported with `console.error`.
#[wasm_bindgen]
pub fn command(args: js_sys::Array) {
    boundary(|| commands::run(args));
}

/// Runs one entry point of the SDK. When the outermost entry point ends, the commands that arrived
/// while the SDK was busy run, and the events raised meanwhile are delivered (spec 4.2 rule 6).
pub(crate) fn boundary(work: impl FnOnce()) {
    let depth = DEPTH.with(|d| {
        d.set(d.get() + 1);
        d.get()
    });
    work();
    if depth == 1 {
        loop {
            commands::run_deferred();
            if !events::drain() {
                break;
            }
        }
    }
    DEPTH.with(|d| d.set(d.get() - 1));
}

/// Talc instead of the default dlmalloc: a few kilobytes smaller, and faster.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
