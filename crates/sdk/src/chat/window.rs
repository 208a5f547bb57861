//! The chat window: a non-modal dialog in its own Shadow DOM with the conversation as a `log`
//! (announced politely), who is typing, a labelled message field and Send. It takes focus when
//! it opens (the visitor just asked for it) and gives it back when closed; Escape inside it and
//! the close button close it. Everything from a message is escaped into the log's markup.

use uuid::Uuid;
use wasm_bindgen::JsValue;
use web_sys::HtmlElement;

use crate::browser::{Timer, field, set};
use crate::presenters::{Do, Html, Keys, Presented, append};
use crate::runtime::Runtime;
use beckon_core::text::concat;

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
        let mut h = Html::default();
        h.raw("<style>").raw(CSS).raw(
            "</style><div class=\"box chat\" role=\"dialog\" aria-modal=\"false\" \
             aria-labelledby=\"beckon-chat-title\"><h2 class=\"title\" id=\"beckon-chat-title\">\
             Chat</h2><button class=\"close\" type=\"button\" aria-label=\"Close chat\" \
             data-do=\"reject\">\u{00d7}</button><ol class=\"log\" role=\"log\" aria-live=\"polite\" \
             aria-label=\"Conversation\" tabindex=\"0\"></ol><p class=\"status\" role=\"status\">",
        );
        if !engaged {
            h.raw("Waiting for an agent\u{2026}");
        }
        h.raw(
            "</p><p class=\"typing\" aria-live=\"polite\"></p><form class=\"compose\"><input \
             type=\"text\" aria-label=\"Message\" autocomplete=\"off\" maxlength=\"4000\">\
             <button class=\"accept\" type=\"submit\">Send</button></form></div>",
        );
        let keys = Keys {
            anywhere: false,
            trap: false,
        };
        let shown = Presented::show(id, "chat", &h, react, keys, Some("input"))?;
        let part = |selector: &str| shown.find(selector).ok_or("the chat window lost a part");
        Ok(Window {
            log: part(".log")?,
            status: part(".status")?,
            typing: part(".typing")?,
            input: part("input")?,
            send: part(".accept")?,
            typing_timer: None,
            shown,
        })
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
                joined = concat(&[agent, " joined the chat."]);
                set(&self.status, "textContent", &"".into());
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
            set(&self.typing, "textContent", &"".into());
        }
        self.line(class, who, text);
    }

    /// A note from the page (not an entry of the conversation).
    pub fn note(&self, text: &str) {
        self.line("system", None, text);
    }

    fn line(&self, class: &str, who: Option<&str>, text: &str) {
        let mut h = Html::default();
        h.raw("<li class=\"").raw(class).raw("\">");
        if let Some(who) = who {
            h.raw("<span class=\"who\">").text(who).raw("</span>");
        }
        h.text(text).raw("</li>");
        if append(&self.log, &h).is_ok() {
            set(&self.log, "scrollTop", &field(&self.log, "scrollHeight"));
        }
    }

    /// The agent is typing (until a message, or a few seconds without notice).
    pub fn typing(&mut self) {
        set(&self.typing, "textContent", &"The agent is typing…".into());
        let typing = self.typing.clone();
        self.typing_timer = Some(Timer::after(TYPING_SHOWN_MS, move || {
            set(&typing, "textContent", &"".into());
        }));
    }

    /// Nothing more can be sent.
    pub fn ended(&mut self) {
        set(&self.status, "textContent", &"".into());
        for control in [&self.input, &self.send] {
            let _ = control.set_attribute("disabled", "");
        }
    }

    /// The message typed (cleared), if there is one.
    pub fn take_text(&self) -> Option<String> {
        let value = field(&self.input, "value");
        let text = value.as_string()?;
        if text.trim().is_empty() {
            return None;
        }
        set(&self.input, "value", &JsValue::from_str(""));
        Some(text)
    }
}

/// Send sends, typing tells the agent, the close button and Escape close the chat.
fn react(rt: &mut Runtime, _: Uuid, what: Do) {
    match what {
        Do::Accept => rt.chat_send(),
        Do::Reject => rt.chat_closed(),
        Do::Input => rt.chat_typed(),
        Do::Broken => {}
    }
}
