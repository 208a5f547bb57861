//! The visitor's web chat (issue 6; spec 3.1 and 4.4): what follows an accepted chat invitation.
//!
//! Accepted → the pre-chat form built from the map's survey ([`form`]; closing it, or leaving the
//! page or the route with it open, is `rejected`)
//! → `POST …/conversations` → the chat window ([`window`]) and the visitor's WebSocket
//! ([`socket`]). The server records `started`, `engaged`, `abandoned` and `completed` itself
//! (docs/chat.md), so the page only emits them to `ac('on')` handlers ([`Runtime::observe`]), as
//! the events it stored: the create answer and the `joined`/`ended` entries say which (`eventId`,
//! `eventMillis`);
//! what only the page knows, `rejected` at the form and `errored` when the conversation cannot be
//! created or its connection not kept after [`RETRIES`] reconnections, it reports as usual.
//!
//! The conversation outlives the page: `{ conversationId, token }`, the action and whether an
//! agent joined are kept in `sessionStorage`, so the next page of the site reconnects with
//! `after=0` and shows the whole history, and emits only what the earlier page did not. A dropped
//! socket reconnects with `after=<last seq shown>`; entries are numbered, so none is shown twice.

mod bus;
mod form;
mod socket;
mod window;

use beckon_core::{State, Timestamp};
use js_sys::Object;
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::Event;

use crate::action::Head;
use crate::browser::{Timer, field, from_json, log_error, now, once, set, string_field, to_json};
use crate::ids::{decimal, text as id_text};
use crate::lifecycle::codes;
use crate::runtime::{Runtime, with_runtime};
use crate::transport::{Reply, post};
use beckon_core::text::concat;

const STORED: &str = "beckon_chat";
/// Reconnections (and attempts to create the conversation) before the chat is `errored`.
const RETRIES: u32 = 5;
/// The wait before the first retry, doubled for each next one.
const FIRST_WAIT_MS: f64 = 250.0;
/// The least time between two typing notices sent (docs/chat.md).
const TYPING_EVERY_MS: f64 = 2000.0;

/// The page's chat: at most one invitation, form or conversation at a time (the server offers
/// one webchat at a time).
pub struct Chat {
    /// The survey of the chat invitation on screen.
    invited: Option<(Uuid, JsValue)>,
    form: Option<(Uuid, form::Form)>,
    talk: Option<Conversation>,
    retry: Option<Timer>,
    _bus: Option<bus::Bus>,
}

struct Conversation {
    head: Head,
    id: String,
    token: String,
    engaged: bool,
    /// The `seq` of the last entry shown: a reconnection asks for what follows it.
    seen: u64,
    /// `None` once the visitor closed it (the socket stays until the server confirms the end).
    window: Option<window::Window>,
    socket: Option<socket::Socket>,
    failures: u32,
    /// Frames written while the socket was not open; sent when it opens.
    outbox: Vec<String>,
    ended: bool,
    typed_at: f64,
}

impl Chat {
    pub fn new() -> Chat {
        Chat {
            invited: None,
            form: None,
            talk: None,
            retry: None,
            _bus: bus::install(),
        }
    }

    /// A chat invitation is on screen; `survey` is its pre-chat form, if it has one.
    pub fn invited(&mut self, id: Uuid, survey: JsValue) {
        self.invited = Some((id, survey));
    }
}

/// `destroy` takes the form and the window off the page (the conversation goes on: the next
/// page of the site picks it up).
impl Drop for Chat {
    fn drop(&mut self) {
        if let Some((_, form)) = self.form.take() {
            form.remove();
        }
        if let Some(window) = self.talk.take().and_then(|t| t.window) {
            window.remove();
        }
    }
}

/// What the chat hears from its socket.
#[derive(Clone, Copy)]
enum Input {
    Opened,
    Frame,
    Dropped,
}

/// The socket's listener for `input`: one closure type for the three.
fn on(input: Input) -> impl FnMut(Event) + 'static {
    move |event| {
        with_runtime(|rt| match input {
            Input::Opened => rt.chat_opened(),
            Input::Frame => {
                if let Some(text) = string_field(&event, "data") {
                    rt.chat_frame(&text);
                }
            }
            Input::Dropped => rt.chat_dropped(),
        });
    }
}

/// Which stored event the server's answer or frame stands for: its `eventId` and `eventMillis`
/// (the event's `timestamp` in Unix milliseconds), when it says.
fn stored_event(from: &JsValue) -> Option<(Uuid, Timestamp)> {
    let id = crate::ids::parse(&string_field(from, "eventId")?)?;
    let millis = field(from, "eventMillis").as_f64()?;
    Some((id, Timestamp::from_unix_millis(millis as i64)))
}

fn storage() -> Option<web_sys::Storage> {
    crate::browser::storage("sessionStorage")
}

impl Runtime {
    /// The visitor accepted the invitation `id`: the form, or the conversation at once when the
    /// survey asks nothing the visitor can answer.
    pub fn chat_accepted(&mut self, id: Uuid) {
        let survey = match self.chat.invited.take() {
            Some((invited, survey)) if invited == id => survey,
            _ => JsValue::UNDEFINED,
        };
        let questions = form::questions(&survey);
        if questions.iter().all(form::Question::is_hidden) {
            self.create(id, form::hidden_answers(&questions), 0);
            return;
        }
        match form::Form::show(id, &questions) {
            Ok(shown) => self.chat.form = Some((id, shown)),
            Err(message) => self.chat_failed(id, codes::NOT_SHOWN, &message),
        }
    }

    fn chat_form_submitted(&mut self) {
        let Some(answers) = self.chat.form.as_ref().and_then(|(_, f)| f.answers()) else {
            return;
        };
        if let Some((id, form)) = self.chat.form.take() {
            form.remove();
            self.create(id, answers, 0);
        }
    }

    pub(crate) fn chat_form_closed(&mut self) {
        if let Some((id, form)) = self.chat.form.take() {
            form.remove();
            self.transition(id, State::Rejected, None);
        }
    }

    /// `POST …/conversations`. The page's `accepted` may still be on its way to the server (a
    /// 409 until it lands), so refusals that can pass are tried again.
    fn create(&mut self, id: Uuid, answers: Object, attempt: u32) {
        let body = Object::new();
        set(&body, "actionId", &id_text(&id).into());
        set(
            &body,
            "customerId",
            &id_text(&self.identity.customer_id).into(),
        );
        set(
            &body,
            "sessionId",
            &id_text(&self.identity.session().id).into(),
        );
        set(&body, "form", &answers);
        let Some(body) = to_json(&body) else { return };
        let start = self.transport.id;
        let reply = once(move |reply| {
            with_runtime(|rt| rt.created(id, answers, attempt, start, reply.unchecked_into()));
        });
        post(&self.transport.url("conversations"), &body).then(&reply);
    }

    /// The answer to the conversation's creation; ignored when the start that asked
    /// (`Transport::id`) is no longer the SDK's: after `destroy` and `init` the chat it would
    /// fail or end is another.
    fn created(&mut self, id: Uuid, answers: Object, attempt: u32, start: u64, reply: Reply) {
        if start != self.transport.id {
            return;
        }
        let status = reply.status();
        let answer = from_json(&reply.body());
        let conversation = string_field(&answer, "conversationId");
        let token = string_field(&answer, "token");
        let (Some(conversation), Some(token), Some((head, _))) =
            (conversation, token, self.action_of(id))
        else {
            if matches!(status, 0 | 409 | 429 | 500..=599) && attempt < RETRIES {
                self.chat.retry = Some(Timer::after(wait(attempt), move || {
                    with_runtime(|rt| rt.create(id, answers, attempt + 1));
                }));
            } else {
                let message = [
                    "the conversation was not created (",
                    &decimal(status.into()),
                    ")",
                ];
                self.chat_failed(id, codes::CHAT_FAILED, &concat(&message));
            }
            return;
        };
        self.chat.retry = None;
        self.converse(head, conversation, token, false);
        self.observe(id, State::Started, stored_event(&answer));
    }

    /// On a new page: the conversation an earlier page of this session started.
    pub fn resume_chat(&mut self) {
        let stored = storage()
            .and_then(|s| s.get_item(STORED).ok().flatten())
            .map(|text| from_json(&text))
            .unwrap_or_default();
        let (Ok(head), Some(conversation), Some(token)) = (
            Head::read(&stored),
            string_field(&stored, "conversationId"),
            string_field(&stored, "token"),
        ) else {
            return;
        };
        let engaged = field(&stored, "engaged").is_truthy();
        self.adopt(
            head,
            if engaged {
                State::Engaged
            } else {
                State::Started
            },
        );
        self.converse(head, conversation, token, engaged);
    }

    /// The conversation exists: the window, the socket, and the page's copy of it.
    fn converse(&mut self, head: Head, id: String, token: String, engaged: bool) {
        bus::started(&id);
        let window = match window::Window::open(head.action_id, engaged) {
            Ok(window) => Some(window),
            Err(message) => {
                log_error(&concat(&["the chat window could not be shown: ", &message]));
                None
            }
        };
        self.chat.talk = Some(Conversation {
            head,
            id,
            token,
            engaged,
            seen: 0,
            window,
            socket: None,
            failures: 0,
            outbox: Vec::new(),
            ended: false,
            typed_at: 0.0,
        });
        self.keep();
        self.connect();
    }

    /// Writes the conversation to `sessionStorage` (or clears it when it is over).
    fn keep(&self) {
        let Some(storage) = storage() else { return };
        let Some(talk) = self.chat.talk.as_ref().filter(|t| !t.ended) else {
            let _ = storage.remove_item(STORED);
            return;
        };
        let stored = Object::new();
        let head = &talk.head;
        set(&stored, "actionId", &id_text(&head.action_id).into());
        set(&stored, "actionMapId", &id_text(&head.action_map_id).into());
        set(&stored, "actionMapVersion", &head.action_map_version.into());
        set(&stored, "mediaType", &"webchat".into());
        if let Some(session) = head.session_id {
            set(&stored, "sessionId", &id_text(&session).into());
        }
        set(&stored, "conversationId", &talk.id.as_str().into());
        set(&stored, "token", &talk.token.as_str().into());
        set(&stored, "engaged", &talk.engaged.into());
        if let Some(text) = to_json(&stored) {
            let _ = storage.set_item(STORED, &text);
        }
    }

    fn connect(&mut self) {
        self.chat.retry = None;
        let Some(talk) = self.chat.talk.as_mut() else {
            return;
        };
        let path = concat(&[
            "conversations/",
            &talk.id,
            "/ws?access_token=",
            &talk.token,
            "&after=",
            &decimal(talk.seen),
        ]);
        let url = self.transport.url(&path);
        let url = concat(&["ws", url.strip_prefix("http").unwrap_or(&url)]);
        match socket::Socket::open(&url) {
            Ok(socket) => talk.socket = Some(socket),
            Err(message) => {
                log_error(&concat(&["the chat could not connect: ", &message]));
                self.chat_dropped();
            }
        }
    }

    fn chat_opened(&mut self) {
        if let Some(talk) = self.chat.talk.as_mut() {
            talk.failures = 0;
            let outbox = std::mem::take(&mut talk.outbox);
            for frame in &outbox {
                talk.send(frame);
            }
        }
    }

    /// The socket closed: over when the conversation ended, else reconnect after a wait, and
    /// `errored` after [`RETRIES`] failures in a row.
    fn chat_dropped(&mut self) {
        let Some(talk) = self.chat.talk.as_mut() else {
            return;
        };
        talk.socket = None;
        if talk.ended {
            return;
        }
        talk.failures += 1;
        if talk.failures > RETRIES {
            let id = talk.head.action_id;
            self.chat_failed(id, codes::CHAT_FAILED, "the chat connection was lost");
            return;
        }
        self.chat.retry = Some(Timer::after(wait(talk.failures - 1), || {
            with_runtime(Runtime::connect);
        }));
    }

    /// One frame from the server (docs/chat.md, "The WebSocket protocol").
    fn chat_frame(&mut self, text: &str) {
        let frame = from_json(text);
        let kind = string_field(&frame, "type").unwrap_or_default();
        let Some(talk) = self.chat.talk.as_mut() else {
            return;
        };
        let text = |key: &str| string_field(&frame, key).unwrap_or_default();
        if kind == "typing" {
            if let Some(window) = talk.window.as_mut() {
                window.typing();
            }
            return;
        }
        if kind == "error" {
            if let Some(window) = &talk.window {
                window.note(&concat(&["Not sent: ", &text("detail")]));
            }
            return;
        }
        let seq = field(&frame, "seq").as_f64().unwrap_or(0.0) as u64;
        if seq <= talk.seen {
            return;
        }
        talk.seen = seq;
        if let Some(window) = talk.window.as_mut() {
            window.entry(&kind, &text("from"), &text("agentName"), &text("text"));
        }
        let id = talk.head.action_id;
        match kind.as_str() {
            "joined" if !talk.engaged => {
                talk.engaged = true;
                self.keep();
                self.observe(id, State::Engaged, stored_event(&frame));
            }
            "ended" => {
                talk.ended = true;
                talk.socket = None;
                let closed = talk.window.is_none();
                let engaged = talk.engaged;
                self.keep();
                if closed {
                    self.chat.talk = None;
                }
                let state = if engaged {
                    State::Completed
                } else {
                    State::Abandoned
                };
                if self.action_of(id).is_some_and(|(_, s)| s != state) {
                    self.observe(id, state, stored_event(&frame));
                }
            }
            _ => {}
        }
    }

    fn chat_send(&mut self) {
        let Some(talk) = self.chat.talk.as_mut().filter(|t| !t.ended) else {
            return;
        };
        let Some(text) = talk.window.as_ref().and_then(window::Window::take_text) else {
            return;
        };
        let frame = Object::new();
        set(&frame, "type", &"message".into());
        set(&frame, "text", &text.into());
        if let Some(frame) = to_json(&frame) {
            talk.send(&frame);
        }
    }

    fn chat_typed(&mut self) {
        if let Some(talk) = self.chat.talk.as_mut()
            && !talk.ended
            && now() - talk.typed_at >= TYPING_EVERY_MS
            && talk.socket.as_ref().is_some_and(socket::Socket::is_open)
        {
            talk.typed_at = now();
            talk.send(r#"{"type":"typing"}"#);
        }
    }

    /// The visitor closes the window: the conversation ends (`abandoned` before an agent
    /// joined, else `completed`, when the server confirms).
    fn chat_closed(&mut self) {
        let Some(talk) = self.chat.talk.as_mut() else {
            return;
        };
        if let Some(window) = talk.window.take() {
            window.remove();
        }
        if talk.ended {
            self.chat.talk = None;
        } else {
            talk.send(r#"{"type":"end"}"#);
        }
    }

    /// The chat cannot go on: `errored`, and the window says so.
    fn chat_failed(&mut self, id: Uuid, code: i64, message: &str) {
        log_error(&concat(&["the chat failed: ", message]));
        if let Some((_, form)) = self.chat.form.take() {
            form.remove();
        }
        if let Some(talk) = self.chat.talk.as_mut() {
            talk.ended = true;
            talk.socket = None;
            if let Some(window) = talk.window.as_mut() {
                window.note("The chat was disconnected.");
                window.ended();
            }
        }
        self.chat.retry = None;
        self.keep();
        self.errored(id, code, message);
    }
}

impl Conversation {
    /// Sends `frame` now, or when the socket opens.
    fn send(&mut self, frame: &str) {
        match &self.socket {
            Some(socket) if socket.is_open() => socket.send(frame),
            _ => self.outbox.push(frame.to_owned()),
        }
    }
}

/// The wait before retry number `attempt` (from 0).
fn wait(attempt: u32) -> f64 {
    FIRST_WAIT_MS * f64::from(1u32 << attempt.min(10))
}
