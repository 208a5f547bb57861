//! Drawing actions on the page: content offers and chat invitations (the chat's own form and
//! window, in [`crate::chat`], are drawn the same way).
//!
//! Each presentation lives in its own Shadow DOM under one host element, so the page's CSS cannot
//! reach in and ours cannot leak out. Its content is one piece of markup, set once: built with
//! [`Html`], which escapes every configured value (text and attribute values alike); styles from
//! configuration go only through the whitelist in [`style`]. Its controls say what they do in a
//! `data-do` attribute, and one listener per kind of event on the shadow root answers them all
//! ([`Do`]). One string and a few listeners instead of an element, a setter call and a closure
//! per part keep the module small: every DOM call is an import with its glue, and the SDK has a
//! size budget. What every presentation shares is here: the host, the keyboard (Escape closes a
//! modal from anywhere and anything else from inside it, Tab stays inside a modal), and giving
//! focus back to where it was when a modal closes.
//! Dropping a [`Presented`] removes all of it.

pub mod content_offer;
pub mod invitation;
pub mod style;

use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    Element, Event, EventTarget, HtmlElement, Node, ShadowRoot, ShadowRootInit, ShadowRootMode,
};

use crate::browser::{Listener, child, document, field, select, select_all, string_field, target};
use crate::lifecycle::{Outcome, codes};
use crate::runtime::{Runtime, with_runtime};
use beckon_core::text::concat;

/// The look shared by every presentation; sizes and colours the offer's style may override.
const CSS: &str = include_str!("presenters.css");

/// What can take focus in a presentation, in the order Tab visits it.
pub const FOCUSABLE: &str = "a[href],button:not([disabled]),input,select,textarea";

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: `node.innerHTML = html`, or `insertAdjacentHTML(position,
    /// html)` when a position is given, through a Trusted Types policy where the page enforces
    /// them; the error's message when the page refuses.
    #[wasm_bindgen(js_name = beckonHtml)]
    fn set_html(node: &Node, html: &str, position: Option<&str>) -> Option<String>;
}

/// What the visitor did to a presentation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Do {
    /// Clicked a control with `data-do="accept"` (or middle-clicked such a link), or submitted
    /// a form.
    Accept,
    /// Clicked any other control with a `data-do`, or pressed Escape (see [`Keys`]).
    Reject,
    /// Typed in a field.
    Input,
    /// An image did not load.
    Broken,
}

/// How a presentation answers what the visitor did.
pub type React = fn(&mut Runtime, Uuid, Do);

/// A presentation's keyboard: whether Escape closes it from anywhere on the page (a modal, which
/// holds focus anyway) or only when focus is inside it (a non-modal one: Escape on the page is the
/// page's own, to close its menu), and whether Tab stays inside it (a modal).
#[derive(Clone, Copy)]
pub struct Keys {
    pub anywhere: bool,
    pub trap: bool,
}

/// Markup for [`Presented::show`]: the SDK's own tags are written as they are, everything that
/// comes from configuration, the server or a visitor goes through [`Html::text`] or
/// [`Html::attr`].
#[derive(Default)]
pub struct Html(String);

impl Html {
    /// The SDK's own markup, as it is.
    pub fn raw(&mut self, markup: &str) -> &mut Html {
        self.0.push_str(markup);
        self
    }

    /// Text from outside the SDK: `& < > " '` become character references, so it can be
    /// neither markup nor leave a double-quoted attribute value. U+0000, which HTML cannot
    /// carry, becomes U+FFFD, as a parser would make it.
    pub fn text(&mut self, text: &str) -> &mut Html {
        for c in text.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                '\0' => self.0.push('\u{fffd}'),
                c => self.0.push(c),
            }
        }
        self
    }

    /// ` name="value"`, the value escaped.
    pub fn attr(&mut self, name: &str, value: &str) -> &mut Html {
        self.raw(" ").raw(name).raw("=\"").text(value).raw("\"")
    }
}

/// An action (or the chat's form or window) on screen.
pub struct Presented {
    host: Element,
    root: ShadowRoot,
    previous_focus: Option<HtmlElement>,
    _listeners: Vec<Listener>,
}

impl Presented {
    /// Shows `html` in a new host element at the end of `<body>` (`data-beckon` = `kind`).
    /// What the visitor does goes to `react`. When `focus` is given (a CSS selector), that
    /// element takes focus, and focus goes back where it was when the presentation is removed.
    pub fn show(
        id: Uuid,
        kind: &str,
        html: &Html,
        react: React,
        keys: Keys,
        focus: Option<&str>,
    ) -> Result<Presented, String> {
        let doc = document();
        let host = doc.create_element("div").map_err(describe)?;
        host.set_attribute("data-beckon", kind).map_err(describe)?;
        host.set_attribute("data-beckon-action", &crate::ids::text(&id))
            .map_err(describe)?;
        let root = host
            .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
            .map_err(describe)?;
        let page: EventTarget = doc.clone().into();
        let inside: &EventTarget = &root;
        let sources = [
            (inside, "click", false),
            (inside, "auxclick", false),
            (inside, "submit", false),
            (inside, "input", false),
            // `error` does not bubble: an image's is heard on its way down.
            (inside, "error", true),
            (
                if keys.anywhere { &page } else { inside },
                "keydown",
                keys.anywhere,
            ),
        ];
        let mut listeners = Vec::new();
        for &(source, kind, capture) in &sources {
            let root = root.clone();
            listeners.push(Listener::new(source, kind, capture, move |event| {
                let what = match kind {
                    "click" => {
                        let control =
                            target(&event).and_then(|t| t.closest("[data-do]").ok().flatten());
                        match control.and_then(|c| c.get_attribute("data-do")) {
                            Some(what) if what == "accept" => Do::Accept,
                            Some(_) => Do::Reject,
                            None => return,
                        }
                    }
                    // A middle click opens the call to action in a new tab, with no `click`.
                    "auxclick" => {
                        let link = target(&event)
                            .and_then(|t| t.closest("a[data-do=accept]").ok().flatten());
                        if link.is_none() || field(&event, "button").as_f64() != Some(1.0) {
                            return;
                        }
                        Do::Accept
                    }
                    "submit" => {
                        event.prevent_default();
                        Do::Accept
                    }
                    "input" => Do::Input,
                    "error" => Do::Broken,
                    _ => match string_field(&event, "key").unwrap_or_default().as_str() {
                        "Escape" => Do::Reject,
                        "Tab" if keys.trap => return trap_tab(&root, &event),
                        _ => return,
                    },
                };
                with_runtime(|rt| react(rt, id, what));
            }));
        }
        let markup = concat(&["<style>", CSS, "</style>", &html.0]);
        if let Some(problem) = set_html(&root, &markup, None) {
            return Err(problem);
        }
        let parent: Element = child(&doc, "body")
            .or_else(|| child(&doc, "documentElement"))
            .ok_or("the page has no document element")?
            .unchecked_into();
        parent.append_child(&host).map_err(describe)?;
        let mut shown = Presented {
            host,
            root,
            previous_focus: None,
            _listeners: listeners,
        };
        if let Some(target) = focus.and_then(|f| shown.find(f)) {
            shown.previous_focus = child(&doc, "activeElement").map(JsCast::unchecked_into);
            let _ = target.focus();
        }
        Ok(shown)
    }

    /// The first element in it that matches `selector`.
    pub fn find(&self, selector: &str) -> Option<HtmlElement> {
        let found = select(&self.root, selector).ok().flatten()?;
        Some(found.unchecked_into())
    }

    /// Takes it off the page and gives focus back (modals).
    pub fn remove(self) {
        self.host.remove();
        if let Some(previous) = &self.previous_focus
            && field(previous, "isConnected").is_truthy()
        {
            let _ = previous.focus();
        }
    }
}

/// Adds `html` at the end of `parent` (a part of a presentation).
pub fn append(parent: &Node, html: &Html) -> Result<(), String> {
    set_html(parent, &html.0, Some("beforeend")).map_or(Ok(()), Err)
}

/// The answer of offers and invitations: accepted, rejected, or `errored` when the image did
/// not load.
pub fn settle(rt: &mut Runtime, id: Uuid, what: Do) {
    match what {
        Do::Accept => rt.settle(id, Outcome::Accepted),
        Do::Reject => rt.settle(id, Outcome::Rejected),
        Do::Broken => rt.fail(id, codes::IMAGE_FAILED, "the image did not load".into()),
        Do::Input => {}
    }
}

/// Tab from the last focusable element goes to the first, Shift+Tab from the first to the last,
/// and Tab from outside comes in.
fn trap_tab(root: &ShadowRoot, key: &Event) {
    let focusable = select_all(root, FOCUSABLE);
    let count = focusable.length();
    if count == 0 {
        return;
    }
    let (first, last) = (focusable.get(0), focusable.get(count - 1));
    let active = child(root, "activeElement");
    let at = |node: &JsValue| active.as_ref().is_some_and(|a| a == node);
    let inside = active.is_some();
    let target = match field(key, "shiftKey").is_truthy() {
        true if at(&first) || !inside => last,
        false if at(&last) || !inside => first,
        _ => return,
    };
    key.prevent_default();
    let _ = target.unchecked_into::<HtmlElement>().focus();
}

pub fn describe(error: wasm_bindgen::JsValue) -> String {
    string_field(&error, "message").unwrap_or_else(|| "the page refused a DOM operation".to_owned())
}
