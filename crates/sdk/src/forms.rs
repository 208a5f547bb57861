//! `ac('forms:track', selector, { formName?, captureFormDataOnSubmit?, captureFormDataOnAbandon? })`:
//! web events when a matching form is submitted (`<formName>_submitted`) or abandoned
//! (`<formName>_abandoned`: the visitor typed in it and left the page without submitting).
//! `formName` defaults to `form`. With capture on, the form's fields go along as string
//! attributes, except passwords and hidden fields, which never leave the page.

use js_sys::Object;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;

use crate::browser::{Listener, document, field, select, select_all, set, string_field, target};
use crate::call::{
    Call, Kind, MAX_ATTRIBUTES, MAX_ATTRIBUTES_JSON, MAX_NAME_BYTES, MAX_TEXT_BYTES, json_len,
};
use crate::runtime::{Runtime, with_runtime};
use beckon_core::text::concat;

pub const EXPECTED: &str = "ac('forms:track', selector: string (CSS), { formName?: string of letters, \
     digits and _, captureFormDataOnSubmit?: boolean, captureFormDataOnAbandon?: boolean })";

struct Rule {
    selector: String,
    name: String,
    capture_submit: bool,
    capture_abandon: bool,
}

#[derive(Default)]
pub struct Forms {
    rules: Vec<Rule>,
    /// Forms typed in and not submitted, with the rule that tracks them.
    touched: Vec<(Element, usize)>,
    listeners: Vec<Listener>,
}

pub fn track(call: &Call) -> Option<()> {
    call.at_most(2)?;
    let selector = call.string(1, "the selector")?;
    if select(&document(), &selector).is_err() {
        return call.wrong(&concat(&["'", &selector, "' is not a valid CSS selector"]));
    }
    let options = call.options(
        2,
        &[
            ("formName", Kind::String),
            ("captureFormDataOnSubmit", Kind::Flag),
            ("captureFormDataOnAbandon", Kind::Flag),
        ],
    )?;
    let name = options[0].as_string().unwrap_or_else(|| "form".to_owned());
    call.event_name("", &concat(&[&name, "_submitted"]))?;
    let rule = Rule {
        selector,
        name,
        capture_submit: options[1].is_truthy(),
        capture_abandon: options[2].is_truthy(),
    };
    call.require_init()?;
    with_runtime(|rt| rt.forms.add(rule));
    Some(())
}

impl Forms {
    fn add(&mut self, rule: Rule) {
        if self.listeners.is_empty() {
            let doc = document();
            self.listeners = vec![
                Listener::new(&doc, "submit", true, |event| {
                    if let Some(form) = target(&event) {
                        with_runtime(|rt| rt.form_submitted(&form));
                    }
                }),
                Listener::new(&doc, "input", true, |event| {
                    let form = target(&event).and_then(|t| t.closest("form").ok().flatten());
                    if let Some(form) = form {
                        with_runtime(|rt| rt.forms.touch(form));
                    }
                }),
            ];
        }
        self.rules.push(rule);
    }

    fn rule_for(&self, form: &Element) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| form.matches(&r.selector).unwrap_or(false))
    }

    fn touch(&mut self, form: Element) {
        if let Some(rule) = self.rule_for(&form)
            && !self.touched.iter().any(|(f, _)| *f == form)
        {
            self.touched.push((form, rule));
        }
    }
}

impl Runtime {
    fn form_submitted(&mut self, form: &Element) {
        let Some(index) = self.forms.rule_for(form) else {
            return;
        };
        self.forms.touched.retain(|(f, _)| f != form);
        let rule = &self.forms.rules[index];
        let (name, capture) = (concat(&[&rule.name, "_submitted"]), rule.capture_submit);
        self.track(&name, &fields(form, capture), None, None);
    }

    /// Leaving the page: every form typed in and not submitted is abandoned.
    pub fn forms_abandoned(&mut self) {
        let touched = std::mem::take(&mut self.forms.touched);
        for (form, index) in &touched {
            let rule = &self.forms.rules[*index];
            let (name, capture) = (concat(&[&rule.name, "_abandoned"]), rule.capture_abandon);
            self.track(&name, &fields(form, capture), None, None);
        }
    }
}

/// The form's named fields as string attributes (not passwords, not hidden fields); `undefined`
/// without capture. Held to what the server takes (its refusal would lose the whole batch): the
/// first 100 names of 1 to 255 bytes, each value cut to 4096 bytes, and as many as fit in
/// [`MAX_ATTRIBUTES_JSON`] (the last one that does not fit cut to what is left).
fn fields(form: &Element, capture: bool) -> JsValue {
    if !capture {
        return JsValue::UNDEFINED;
    }
    let map = Object::new();
    let mut names = 0;
    let mut room = MAX_ATTRIBUTES_JSON;
    for control in select_all(form, "input[name], select[name], textarea[name]").iter() {
        let control: Element = control.unchecked_into();
        let kind = control.get_attribute("type").unwrap_or_default();
        if kind.eq_ignore_ascii_case("password") || kind.eq_ignore_ascii_case("hidden") {
            continue;
        }
        if (kind == "checkbox" || kind == "radio") && !field(&control, "checked").is_truthy() {
            continue;
        }
        let name = control.get_attribute("name").unwrap_or_default();
        let new = !Object::has_own(&map, &name.as_str().into());
        if name.is_empty() || name.len() > MAX_NAME_BYTES || (new && names == MAX_ATTRIBUTES) {
            continue;
        }
        let mut value = string_field(&control, "value").unwrap_or_default();
        // `"name":"value",`
        let named = json_len(&name) + 6;
        value.truncate(value.floor_char_boundary(MAX_TEXT_BYTES.min(room.saturating_sub(named))));
        let cost = named + json_len(&value);
        if cost > room {
            continue;
        }
        room -= cost;
        names += u32::from(new);
        set(&map, &name, &value.into());
    }
    map.into()
}
