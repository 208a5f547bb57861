//! The pre-chat form (spec 3.1 `accepted` → `started` or `rejected`), built from the action
//! map's survey (Genesys `ActionSurvey`): `text`, `textarea`, `select`, `checkbox` and `hidden`
//! questions. A modal dialog: focus moves into it and stays there, Escape, Cancel and the close
//! button close it (`rejected`). A mandatory question left empty (a mandatory checkbox left
//! unticked) stops the submission: the field is marked `aria-invalid`, described by its error
//! message, and takes focus. Answers are keyed by the question's label; a hidden question sends
//! its first choice (the model has no other place for a value). Labels and choices are set as
//! text, never as HTML.

use js_sys::{Array, Object, Reflect};
use uuid::Uuid;
use wasm_bindgen::JsValue;
use web_sys::HtmlElement;

use super::{Input, on, set};
use crate::action::field;
use crate::presenters::{Presented, Stage, attributes, describe};
use crate::runtime::{Runtime, with_runtime};

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
    Array::from(&list)
        .iter()
        .filter_map(|q| {
            let label = field(&q, "label").as_string()?;
            let choices = field(&q, "choices");
            Some(Question {
                kind: match field(&q, "type").as_string().as_deref() {
                    Some("textarea") => Kind::Textarea,
                    Some("select") => Kind::Select,
                    Some("checkbox") => Kind::Checkbox,
                    Some("hidden") => Kind::Hidden,
                    _ => Kind::Text,
                },
                label,
                choices: if Array::is_array(&choices) {
                    Array::from(&choices)
                        .iter()
                        .filter_map(|c| c.as_string())
                        .collect()
                } else {
                    Vec::new()
                },
                mandatory: field(&q, "isMandatory").as_bool() == Some(true),
            })
        })
        .collect()
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
    control: HtmlElement,
    error: HtmlElement,
}

pub struct Form {
    shown: Presented,
    fields: Vec<Field>,
    hidden: Object,
}

impl Form {
    pub fn show(id: Uuid, questions: &[Question]) -> Result<Form, String> {
        let mut stage = Stage::new(id, "chat-form")?;
        match draw(&mut stage, questions) {
            Ok((fields, first)) => Ok(Form {
                shown: stage.finish(Some(&first)),
                fields,
                hidden: hidden_answers(questions),
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

    /// The answers, or `None` (and the errors shown) when a mandatory one is missing.
    pub fn answers(&self) -> Option<Object> {
        let answers = Object::assign(&Object::new(), &self.hidden);
        let mut invalid: Option<&HtmlElement> = None;
        for f in &self.fields {
            let value = Reflect::get(&f.control, &"value".into()).unwrap_or_default();
            let value = if f.kind == Kind::Checkbox {
                let checked = Reflect::get(&f.control, &"checked".into()).unwrap_or_default();
                if checked.is_truthy() { "yes" } else { "" }.to_owned()
            } else {
                value.as_string().unwrap_or_default().trim().to_owned()
            };
            let missing = f.mandatory && value.is_empty();
            let _ = f
                .control
                .set_attribute("aria-invalid", if missing { "true" } else { "false" });
            f.error.set_text_content(
                Some(if missing {
                    [&f.label, " is required."].concat()
                } else {
                    String::new()
                })
                .as_deref(),
            );
            if missing {
                invalid = invalid.or(Some(&f.control));
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

fn draw(stage: &mut Stage, questions: &[Question]) -> Result<(Vec<Field>, HtmlElement), String> {
    let root = stage.root.clone();
    stage.add(&root, "div", "backdrop", None)?;
    let boxed = stage.add(&root, "div", "box modal chat-form", None)?;
    attributes(
        &boxed,
        &[
            ("role", "dialog"),
            ("aria-modal", "true"),
            ("aria-labelledby", "beckon-form-title"),
        ],
    )?;
    stage
        .add(&boxed, "h2", "title", Some("Before we start"))?
        .set_id("beckon-form-title");
    let form = stage.add(&boxed, "form", "fields", None)?;
    form.set_attribute("novalidate", "").map_err(describe)?;
    let mut fields = Vec::new();
    let mut focusable = Vec::new();
    for (i, q) in questions.iter().enumerate().filter(|(_, q)| !q.is_hidden()) {
        let name = ["beckon-q", &crate::ids::decimal(i as u64)].concat();
        let error_id = [&name, "-error"].concat();
        let row = stage.add(
            &form,
            "div",
            if q.kind == Kind::Checkbox {
                "field check"
            } else {
                "field"
            },
            None,
        )?;
        let label = stage.add(&row, "label", "", Some(&q.label))?;
        label.set_attribute("for", &name).map_err(describe)?;
        if q.mandatory {
            let mark = stage.add(&label, "span", "", Some(" *"))?;
            mark.set_attribute("aria-hidden", "true")
                .map_err(describe)?;
        }
        let control = match q.kind {
            Kind::Textarea => stage.add(&row, "textarea", "", None)?,
            Kind::Select => {
                let select = stage.add(&row, "select", "", None)?;
                stage
                    .add(&select, "option", "", Some("Choose…"))?
                    .set_attribute("value", "")
                    .map_err(describe)?;
                for choice in &q.choices {
                    stage
                        .add(&select, "option", "", Some(choice))?
                        .set_attribute("value", choice)
                        .map_err(describe)?;
                }
                select
            }
            _ => {
                let input = stage.add(&row, "input", "", None)?;
                let kind = if q.kind == Kind::Checkbox {
                    "checkbox"
                } else {
                    "text"
                };
                input.set_attribute("type", kind).map_err(describe)?;
                input
            }
        };
        if q.kind == Kind::Checkbox {
            // The box before its label, as checkboxes read.
            row.insert_before(&control, Some(&label))
                .map_err(describe)?;
        }
        attributes(&control, &[("id", &name), ("aria-describedby", &error_id)])?;
        if q.mandatory {
            control
                .set_attribute("aria-required", "true")
                .map_err(describe)?;
        }
        let error = stage.add(&row, "p", "error", None)?;
        error.set_id(&error_id);
        focusable.push(control.clone());
        fields.push(Field {
            kind: q.kind,
            label: q.label.clone(),
            mandatory: q.mandatory,
            control,
            error,
        });
    }
    let buttons = stage.add(&form, "div", "actions", None)?;
    let start = stage.add(&buttons, "button", "accept", Some("Start chat"))?;
    start.set_attribute("type", "submit").map_err(describe)?;
    let cancel = stage.add(&buttons, "button", "decline", Some("Cancel"))?;
    let close = stage.add(&boxed, "button", "close", Some("\u{00d7}"))?;
    close
        .set_attribute("aria-label", "Close")
        .map_err(describe)?;
    for button in [&cancel, &close] {
        button.set_attribute("type", "button").map_err(describe)?;
        stage.listen(button, "click", on(Input::FormClosed));
    }
    stage.listen(&form, "submit", on(Input::FormSubmitted));
    let first = focusable.first().cloned().unwrap_or_else(|| start.clone());
    focusable.extend([start, cancel, close]);
    stage.keys(Some(focusable), || {
        with_runtime(Runtime::chat_form_closed);
    });
    Ok((fields, first))
}
