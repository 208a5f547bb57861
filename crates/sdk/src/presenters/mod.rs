//! Drawing actions on the page: content offers and chat invitations (the chat's own form and
//! window, in [`crate::chat`], are built with the same [`Stage`]).
//!
//! Each presentation lives in its own Shadow DOM under one host element, so the page's CSS cannot
//! reach in and ours cannot leak out. Configured text is only ever set with `textContent`; styles
//! from configuration go through the whitelist in [`style`]. What every presentation shares is
//! here: the host, the keyboard (Escape closes, Tab stays inside a modal), and giving focus back
//! to where it was when a modal closes. Dropping a [`Presented`] removes all of it.

pub mod content_offer;
pub mod invitation;
pub mod style;

use uuid::Uuid;
use wasm_bindgen::JsCast;
use web_sys::{
    Element, Event, EventTarget, HtmlElement, KeyboardEvent, ShadowRoot, ShadowRootInit,
    ShadowRootMode,
};

use crate::browser::{Listener, document};
use crate::lifecycle::Outcome;
use crate::runtime::with_runtime;

/// The look shared by both presenters; sizes and colours the offer's style may override.
const CSS: &str = include_str!("presenters.css");

/// An action on screen.
pub struct Presented {
    host: Element,
    previous_focus: Option<HtmlElement>,
    _listeners: Vec<Listener>,
}

impl Presented {
    /// Takes it off the page and gives focus back (modals).
    pub fn remove(self) {
        self.host.remove();
        if let Some(previous) = &self.previous_focus
            && previous.is_connected()
        {
            let _ = previous.focus();
        }
    }
}

/// A host element with an open shadow root, styled, added at the end of `<body>`.
pub struct Stage {
    pub host: Element,
    pub root: ShadowRoot,
    listeners: Vec<Listener>,
}

impl Stage {
    pub fn new(action_id: Uuid, kind: &str) -> Result<Stage, String> {
        let doc = document();
        let host = doc.create_element("div").map_err(describe)?;
        host.set_attribute("data-beckon", kind).map_err(describe)?;
        host.set_attribute("data-beckon-action", &crate::ids::text(&action_id))
            .map_err(describe)?;
        let root = host
            .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
            .map_err(describe)?;
        let style = doc.create_element("style").map_err(describe)?;
        style.set_text_content(Some(CSS));
        root.append_child(&style).map_err(describe)?;
        let parent: Element = match doc.body() {
            Some(body) => body.into(),
            None => doc
                .document_element()
                .ok_or("the page has no document element")?,
        };
        parent.append_child(&host).map_err(describe)?;
        Ok(Stage {
            host,
            root,
            listeners: Vec::new(),
        })
    }

    /// A child element of `parent` with a class and, optionally, text.
    pub fn add(
        &self,
        parent: &impl AsRef<web_sys::Node>,
        tag: &str,
        class: &str,
        text: Option<&str>,
    ) -> Result<HtmlElement, String> {
        element(parent, tag, class, text)
    }

    /// `outcome` when `element` is clicked.
    pub fn on_click(&mut self, element: &HtmlElement, action_id: Uuid, outcome: Outcome) {
        self.listen(element, "click", move |_| {
            with_runtime(|rt| rt.settle(action_id, outcome));
        });
    }

    /// `on_event` for `kind` events on `target`, for as long as the presentation is shown.
    pub fn listen(
        &mut self,
        target: &EventTarget,
        kind: &'static str,
        on_event: impl FnMut(Event) + 'static,
    ) {
        self.listeners
            .push(Listener::new(target, kind, false, on_event));
    }

    /// Escape rejects; in a modal, Tab and Shift+Tab cycle through `focusable` only.
    pub fn keyboard(&mut self, action_id: Uuid, trap: Option<Vec<HtmlElement>>) {
        self.keys(trap, move || {
            with_runtime(|rt| rt.settle(action_id, Outcome::Rejected));
        });
    }

    /// `on_escape` when Escape is pressed; in a modal, Tab and Shift+Tab cycle through
    /// `focusable` only.
    pub fn keys(&mut self, trap: Option<Vec<HtmlElement>>, on_escape: impl Fn() + 'static) {
        let listener = Listener::new(&document(), "keydown", true, move |event| {
            let Some(key) = event.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            if key.key() == "Escape" {
                on_escape();
            } else if key.key() == "Tab"
                && let Some(focusable) = &trap
            {
                trap_tab(key, focusable);
            }
        });
        self.listeners.push(listener);
    }

    /// Shows it; a modal takes focus (given back when it is removed).
    pub fn finish(self, focus: Option<&HtmlElement>) -> Presented {
        let previous_focus = focus.and_then(|target| {
            let previous = document()
                .active_element()
                .and_then(|e| e.dyn_into::<HtmlElement>().ok());
            let _ = target.focus();
            previous
        });
        Presented {
            host: self.host,
            previous_focus,
            _listeners: self.listeners,
        }
    }
}

/// A child element of `parent` with a class and, optionally, text (set as text, never HTML).
pub fn element(
    parent: &impl AsRef<web_sys::Node>,
    tag: &str,
    class: &str,
    text: Option<&str>,
) -> Result<HtmlElement, String> {
    let element: HtmlElement = document()
        .create_element(tag)
        .map_err(describe)?
        .unchecked_into();
    element.set_class_name(class);
    if let Some(text) = text {
        element.set_text_content(Some(text));
    }
    parent.as_ref().append_child(&element).map_err(describe)?;
    Ok(element)
}

/// Sets each `(name, value)` attribute of `element`.
pub fn attributes(element: &Element, pairs: &[(&str, &str)]) -> Result<(), String> {
    for (name, value) in pairs {
        element.set_attribute(name, value).map_err(describe)?;
    }
    Ok(())
}

fn trap_tab(key: &KeyboardEvent, focusable: &[HtmlElement]) {
    let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
        return;
    };
    let active = focusable
        .first()
        .and_then(|f| f.get_root_node().dyn_into::<ShadowRoot>().ok())
        .and_then(|root| root.active_element());
    let at = |e: &HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == e.unchecked_ref::<Element>())
    };
    let inside = focusable.iter().any(at);
    let target = match (key.shift_key(), inside) {
        (true, _) if at(first) || !inside => last,
        (false, _) if at(last) || !inside => first,
        _ => return,
    };
    key.prevent_default();
    let _ = target.focus();
}

pub fn describe(error: wasm_bindgen::JsValue) -> String {
    js_sys::Error::from(error)
        .message()
        .as_string()
        .unwrap_or_else(|| "the page refused a DOM operation".to_owned())
}
