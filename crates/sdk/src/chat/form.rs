//! The pre-chat form (spec 3.1 `accepted` → `started` or `rejected`), built from the action
//! map's survey (Genesys `ActionSurvey`): `text`, `textarea`, `select`, `checkbox` and `hidden`
//! questions. A modal dialog: focus moves into it and stays there, Escape, Cancel and the close
//! button close it (`rejected`). A mandatory question left empty (a mandatory checkbox left
//! unticked) stops the submission: the field is marked `aria-invalid`, described by its error
//! message, and takes focus; so does an answer over the server's 1000 bytes (`<label> is too
//! long.`; UTF-8 bytes, which a field's `maxlength` would not count: it counts UTF-16 units).
//! Answers are keyed by the question's label; a hidden question sends its first choice (the
//! model has no other place for a value). Labels and choices are escaped into the form's markup
//! ([`Html`]).

use js_sys::{Array, Object};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlElement;

use crate::browser::{field, set, string_field};
use crate::presenters::{Do, FOCUSABLE, Html, Keys, Presented};
use crate::runtime::Runtime;
use beckon_core::model::ActionSurvey;
use beckon_core::text::concat;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Textarea,
    Select,
    Checkbox,
    Hidden,
}

pub struct Question {
    kind: Kind,
    label: String,
    choices: Vec<String>,
    mandatory: bool,
}

impl Question {
    pub fn is_hidden(&self) -> bool {
        self.kind == Kind::Hidden
    }
}

/// The survey's questions; one without a label is skipped, an unknown type is a text field.
pub fn questions(survey: &JsValue) -> Vec<Question> {
    let list = field(survey, "questions");
    if !Array::is_array(&list) {
        return Vec::new();
    }
    let mut questions = Vec::new();
    for q in list.unchecked_into::<Array>().iter() {
        let Some(label) = string_field(&q, "label") else {
            continue;
        };
        let mut choices = Vec::new();
        let given = field(&q, "choices");
        if Array::is_array(&given) {
            for choice in given.unchecked_ref::<Array>().iter() {
                if let Some(choice) = choice.as_string() {
                    choices.push(choice);
                }
            }
        }
        questions.push(Question {
            kind: match string_field(&q, "type").as_deref() {
                Some("textarea") => Kind::Textarea,
                Some("select") => Kind::Select,
                Some("checkbox") => Kind::Checkbox,
                Some("hidden") => Kind::Hidden,
                _ => Kind::Text,
            },
            label,
            choices,
            mandatory: field(&q, "isMandatory").as_bool() == Some(true),
        });
    }
    questions
}

/// The answers of the hidden questions (all a form without visible questions sends).
pub fn hidden_answers(questions: &[Question]) -> Object {
    let answers = Object::new();
    for q in questions.iter().filter(|q| q.is_hidden()) {
        set(&answers, &q.label, &hidden_value(q).into());
    }
    answers
}

fn hidden_value(question: &Question) -> &str {
    question.choices.first().map_or("", String::as_str)
}

struct Field {
    kind: Kind,
    label: String,
    mandatory: bool,
    /// The control's id; its error message's is this and `-error`.
    name: String,
}

pub struct Form {
    shown: Presented,
    fields: Vec<Field>,
    hidden: Object,
}

impl Form {
    pub fn show(id: Uuid, questions: &[Question]) -> Result<Form, String> {
        let mut h = Html::default();
        h.raw(
            "<div class=\"backdrop\"></div><div class=\"box modal chat-form\" role=\"dialog\" \
             aria-modal=\"true\" aria-labelledby=\"beckon-form-title\"><h2 class=\"title\" \
             id=\"beckon-form-title\">Before we start</h2><form class=\"fields\" novalidate>",
        );
        let mut fields = Vec::new();
        for (i, q) in questions.iter().enumerate().filter(|(_, q)| !q.is_hidden()) {
            let name = concat(&["beckon-q", &crate::ids::decimal(i as u64)]);
            let check = q.kind == Kind::Checkbox;
            h.raw(if check {
                "<div class=\"field check\">"
            } else {
                "<div class=\"field\">"
            });
            // The box before its label, as checkboxes read.
            if check {
                control(&mut h, q, &name);
            }
            h.raw("<label").attr("for", &name).raw(">").text(&q.label);
            if q.mandatory {
                h.raw("<span aria-hidden=\"true\"> *</span>");
            }
            h.raw("</label>");
            if !check {
                control(&mut h, q, &name);
            }
            h.raw("<p class=\"error\"")
                .attr("id", &concat(&[&name, "-error"]))
                .raw("></p></div>");
            fields.push(Field {
                kind: q.kind,
                label: q.label.clone(),
                mandatory: q.mandatory,
                name,
            });
        }
        h.raw(
            "<div class=\"actions\"><button class=\"accept\" type=\"submit\">Start chat</button>\
             <button class=\"decline\" type=\"button\" data-do=\"reject\">Cancel</button></div>\
             </form><button class=\"close\" type=\"button\" aria-label=\"Close\" \
             data-do=\"reject\">\u{00d7}</button></div>",
        );
        let keys = Keys {
            anywhere: true,
            trap: true,
        };
        let shown = Presented::show(id, "chat-form", &h, react, keys, Some(FOCUSABLE))?;
        Ok(Form {
            shown,
            fields,
            hidden: hidden_answers(questions),
        })
    }

    pub fn remove(self) {
        self.shown.remove();
    }

    /// The answers, or `None` (and the errors shown) when a mandatory one is missing or one is
    /// too long.
    pub fn answers(&self) -> Option<Object> {
        let answers = Object::assign(&Object::new(), &self.hidden);
        let mut invalid: Option<HtmlElement> = None;
        for f in &self.fields {
            let control = self.shown.find(&concat(&["#", &f.name]))?;
            let value = if f.kind == Kind::Checkbox {
                let checked = field(&control, "checked");
                if checked.is_truthy() { "yes" } else { "" }.to_owned()
            } else {
                let value = field(&control, "value");
                value.as_string().unwrap_or_default().trim().to_owned()
            };
            let problem = if f.mandatory && value.is_empty() {
                " is required."
            } else if value.len() > ActionSurvey::MAX_ANSWER_BYTES {
                " is too long."
            } else {
                ""
            };
            let bad = !problem.is_empty();
            let _ = control.set_attribute("aria-invalid", if bad { "true" } else { "false" });
            if let Some(error) = self.shown.find(&concat(&["#", &f.name, "-error"])) {
                let message = if bad {
                    concat(&[&f.label, problem])
                } else {
                    String::new()
                };
                set(&error, "textContent", &message.into());
            }
            if bad {
                invalid = invalid.or(Some(control));
            } else if !value.is_empty() || f.kind == Kind::Checkbox {
                set(
                    &answers,
                    &f.label,
                    &if value.is_empty() { "no" } else { &value }.into(),
                );
            }
        }
        match invalid {
            Some(control) => {
                let _ = control.focus();
                None
            }
            None => Some(answers),
        }
    }
}

/// The question's control, `id` = `name`, described by its error message.
fn control(h: &mut Html, q: &Question, name: &str) {
    h.raw(match q.kind {
        Kind::Textarea => "<textarea",
        Kind::Select => "<select",
        Kind::Checkbox => "<input type=\"checkbox\"",
        _ => "<input type=\"text\"",
    })
    .attr("id", name)
    .attr("aria-describedby", &concat(&[name, "-error"]));
    if q.mandatory {
        h.raw(" aria-required=\"true\"");
    }
    h.raw(">");
    match q.kind {
        Kind::Textarea => {
            h.raw("</textarea>");
        }
        Kind::Select => {
            h.raw("<option value=\"\">Choose\u{2026}</option>");
            for choice in &q.choices {
                h.raw("<option")
                    .attr("value", choice)
                    .raw(">")
                    .text(choice)
                    .raw("</option>");
            }
            h.raw("</select>");
        }
        _ => {}
    }
}

/// Submitting checks and sends the answers; Cancel, the close button and Escape reject.
fn react(rt: &mut Runtime, _: Uuid, what: Do) {
    match what {
        Do::Accept => rt.chat_form_submitted(),
        Do::Reject => rt.chat_form_closed(),
        Do::Input | Do::Broken => {}
    }
}
