//! The chat window: a non-modal dialog in its own Shadow DOM with the conversation as a `log`
//! (announced politely), who is typing, a labelled message field and Send. It takes focus when
//! it opens (the visitor just asked for it) and gives it back when closed; Escape inside it and
//! the close button close it. Everything from a message is set as text, never as HTML.

use uuid::Uuid;
use wasm_bindgen::JsValue;
use web_sys::HtmlElement;

use super::{Input, on};
use crate::browser::Timer;
use crate::presenters::{Presented, Stage, attributes, describe, element};

/// How long "typing…" stays after the last typing notice.
const TYPING_SHOWN_MS: f64 = 3000.0;
const CSS: &str = ".chat{right:16px;bottom:16px;width:min(360px,calc(100vw - 32px));flex-direction:column}\
.log{list-style:none;margin:0;padding:0;height:260px;overflow-y:auto;display:flex;flex-direction:column;gap:6px}\
.log li{padding:6px 10px;border-radius:8px;background:#f1f3f4;align-self:flex-start;max-width:85%;white-space:pre-wrap;overflow-wrap:anywhere}\
.log .visitor{background:#2f6fde;color:#fff;align-self:flex-end}.log .system{background:none;color:#59636e;font-size:.9em}\
.who{display:block;font-size:.8em;font-weight:600}.status,.typing{margin:0;min-height:1.2em;color:#59636e;font-size:.9em}\
.compose{display:flex;gap:8px}.compose input{flex:1;font:inherit;padding:6px}";

pub struct Window {
    shown: Presented,
    log: HtmlElement,
    status: HtmlElement,
    typing: HtmlElement,
    input: HtmlElement,
    send: HtmlElement,
    typing_timer: Option<Timer>,
}

impl Window {
    pub fn open(id: Uuid, engaged: bool) -> Result<Window, String> {
        let mut stage = Stage::new(id, "chat")?;
        match draw(&mut stage, engaged) {
            Ok((log, status, typing, input, send)) => Ok(Window {
                shown: stage.finish(Some(&input)),
                log,
                status,
                typing,
                input,
                send,
                typing_timer: None,
            }),
            Err(message) => {
                stage.host.remove();
                Err(message)
            }
        }
    }

    pub fn remove(self) {
        self.shown.remove();
    }

    /// One stored entry: a message, an agent joining, the end.
    pub fn entry(&mut self, kind: &str, from: &str, agent: &str, text: &str) {
        let joined;
        let (class, who, text) = match kind {
            "message" if from == "agent" => ("agent", Some(agent), text),
            "message" if from == "visitor" => ("visitor", None, text),
            "message" => ("system", None, text),
            "joined" => {
                joined = [agent, " joined the chat."].concat();
                self.status.set_text_content(None);
                ("system", None, joined.as_str())
            }
            "ended" => {
                self.ended();
                ("system", None, "The chat has ended.")
            }
            _ => return,
        };
        if from == "agent" {
            self.typing_timer = None;
            self.typing.set_text_content(None);
        }
        let _ = self.line(class, who, text);
    }

    /// A note from the page (not an entry of the conversation).
    pub fn note(&self, text: &str) {
        let _ = self.line("system", None, text);
    }

    fn line(&self, class: &str, who: Option<&str>, text: &str) -> Result<(), String> {
        let item = element(&self.log, "li", class, None)?;
        if let Some(who) = who {
            element(&item, "span", "who", Some(who))?;
        }
        item.append_with_str_1(text).map_err(describe)?;
        self.log.set_scroll_top(self.log.scroll_height());
        Ok(())
    }

    /// The agent is typing (until a message, or a few seconds without notice).
    pub fn typing(&mut self) {
        self.typing.set_text_content(Some("The agent is typing…"));
        let typing = self.typing.clone();
        self.typing_timer = Some(Timer::after(TYPING_SHOWN_MS, move || {
            typing.set_text_content(None);
        }));
    }

    /// Nothing more can be sent.
    pub fn ended(&mut self) {
        self.status.set_text_content(None);
        for control in [&self.input, &self.send] {
            let _ = control.set_attribute("disabled", "");
        }
    }

    /// The message typed (cleared), if there is one.
    pub fn take_text(&self) -> Option<String> {
        let value = js_sys::Reflect::get(&self.input, &"value".into()).ok()?;
        let text = value.as_string()?;
        if text.trim().is_empty() {
            return None;
        }
        let _ = js_sys::Reflect::set(&self.input, &"value".into(), &JsValue::from_str(""));
        Some(text)
    }
}

type Parts = (
    HtmlElement,
    HtmlElement,
    HtmlElement,
    HtmlElement,
    HtmlElement,
);

fn draw(stage: &mut Stage, engaged: bool) -> Result<Parts, String> {
    let root = stage.root.clone();
    stage.add(&root, "style", "", Some(CSS))?;
    let boxed = stage.add(&root, "div", "box chat", None)?;
    attributes(
        &boxed,
        &[
            ("role", "dialog"),
            ("aria-modal", "false"),
            ("aria-labelledby", "beckon-chat-title"),
        ],
    )?;
    stage
        .add(&boxed, "h2", "title", Some("Chat"))?
        .set_id("beckon-chat-title");
    let close = stage.add(&boxed, "button", "close", Some("\u{00d7}"))?;
    attributes(&close, &[("type", "button"), ("aria-label", "Close chat")])?;
    let log = stage.add(&boxed, "ol", "log", None)?;
    attributes(
        &log,
        &[
            ("role", "log"),
            ("aria-live", "polite"),
            ("aria-label", "Conversation"),
            ("tabindex", "0"),
        ],
    )?;
    let waiting = (!engaged).then_some("Waiting for an agent…");
    let status = stage.add(&boxed, "p", "status", waiting)?;
    status.set_attribute("role", "status").map_err(describe)?;
    let typing = stage.add(&boxed, "p", "typing", None)?;
    typing
        .set_attribute("aria-live", "polite")
        .map_err(describe)?;
    let compose = stage.add(&boxed, "form", "compose", None)?;
    let input = stage.add(&compose, "input", "", None)?;
    attributes(
        &input,
        &[
            ("type", "text"),
            ("aria-label", "Message"),
            ("autocomplete", "off"),
            ("maxlength", "4000"),
        ],
    )?;
    let send = stage.add(&compose, "button", "accept", Some("Send"))?;
    send.set_attribute("type", "submit").map_err(describe)?;
    stage.listen(&close, "click", on(Input::Closed));
    stage.listen(&compose, "submit", on(Input::Send));
    stage.listen(&input, "input", on(Input::Typed));
    stage.listen(&boxed, "keydown", on(Input::Key));
    Ok((log, status, typing, input, send))
}
