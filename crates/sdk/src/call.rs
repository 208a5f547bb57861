//! One call of `ac(...)` and the checks of its arguments.
//!
//! Every command checks its arguments before it does anything. A wrong call is reported where it
//! is found ([`Call::wrong`]): one `console.error` naming the command, what was wrong and the
//! expected shape; the check then returns `None`, the command stops at its `?`, and nothing is
//! thrown into the page. Options objects are checked by one function against a table of names
//! and [`Kind`]s ([`Call::options`]), not by code of their own in every command: the SDK has a
//! size budget, and every check written out is code in the module.

use js_sys::{Array, Function, Object};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::browser::{field, from_json, given, js_text, log_error, string_field, to_json};
use crate::ids::decimal;
use crate::runtime;
use beckon_core::text::{concat, join};

/// What the server takes of a web event (`crates/server/src/ingest.rs`): one event over these
/// makes it refuse the whole batch.
pub const MAX_TEXT_BYTES: usize = 4096;
pub const MAX_NAME_BYTES: usize = 255;
pub const MAX_ATTRIBUTES: u32 = 100;
/// Most bytes of custom attributes (or captured form fields) as JSON: with the event's texts at
/// their bounds, the event stays under the server's 64 KiB.
pub const MAX_ATTRIBUTES_JSON: usize = 32 * 1024;

/// The length of `text` as a JSON string's content: quotes and backslashes escaped in two bytes,
/// other control characters in up to six.
pub fn json_len(text: &str) -> usize {
    let mut len = 0;
    for &b in text.as_bytes() {
        len += match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
            0..0x20 => 6,
            _ => 1,
        };
    }
    len
}

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: whether a typed attribute's value reads as its dataType the way
    /// the server reads it; when it does, the value is made that text.
    #[wasm_bindgen(js_name = beckonTyped)]
    fn typed(attribute: &JsValue) -> bool;
}

/// One call: its arguments (the command's name first) and the shape a wrong call is shown.
pub struct Call<'a> {
    pub list: &'a Array,
    pub name: &'a str,
    pub expected: &'static str,
}

/// What an option must be when it is there (`undefined` is always "not given").
#[derive(Clone, Copy)]
pub enum Kind {
    /// A string; `null` reads as not given.
    Text,
    /// A string.
    String,
    /// A string that is not blank.
    NonBlank,
    /// A positive, finite number.
    Positive,
    /// `true` or `false`.
    Flag,
    /// A function.
    Function,
    /// Anything: the command checks it itself.
    Any,
}

impl Kind {
    /// Whether `value` (given) is of this kind, and what it must be when it is not.
    fn check(self, value: &JsValue) -> (bool, &'static str) {
        match self {
            Kind::Text => (value.is_string() || value.is_null(), "a string"),
            Kind::String => (value.is_string(), "a string"),
            Kind::NonBlank => (
                value.as_string().is_some_and(|s| !s.trim().is_empty()),
                "a non-empty string",
            ),
            Kind::Positive => (
                value.as_f64().is_some_and(|n| n > 0.0 && n.is_finite()),
                "a positive number",
            ),
            Kind::Flag => (value.as_bool().is_some(), "true or false"),
            Kind::Function => (value.is_function(), "a function"),
            Kind::Any => (true, ""),
        }
    }
}

impl Call<'_> {
    /// Reports the call as wrong: `ac('<name>'): <problem>. Expected: <shape>`.
    pub fn report(&self, problem: &str) {
        log_error(&concat(&[
            "ac('",
            self.name,
            "'): ",
            problem,
            ". Expected: ",
            self.expected,
        ]));
    }

    /// [`Call::report`], then `None`, for a check to return.
    pub fn wrong<T>(&self, problem: &str) -> Option<T> {
        self.report(problem);
        None
    }

    /// `<what> must be <kind>, got <value>`.
    fn must_be<T>(&self, what: &str, kind: &str, value: &JsValue) -> Option<T> {
        self.wrong(&concat(&[
            what,
            " must be ",
            kind,
            ", got ",
            &describe(value),
        ]))
    }

    pub fn at_most(&self, count: u32) -> Option<()> {
        let given = self.list.length().saturating_sub(1);
        if given > count {
            return self.wrong(&concat(&[
                "takes at most ",
                &decimal(count.into()),
                " arguments, got ",
                &decimal(given.into()),
            ]));
        }
        Some(())
    }

    pub fn string(&self, index: u32, what: &str) -> Option<String> {
        let value = self.list.get(index);
        match value.as_string() {
            Some(s) => Some(s),
            None => self.must_be(what, "a string", &value),
        }
    }

    pub fn function(&self, index: u32, what: &str) -> Option<Function> {
        let value = self.list.get(index);
        match value.is_function() {
            true => Some(value.unchecked_into()),
            false => self.must_be(what, "a function", &value),
        }
    }

    /// A function, or `Some(None)` when the argument is not given.
    pub fn optional_function(&self, index: u32, what: &str) -> Option<Option<Function>> {
        if self.list.get(index).is_undefined() {
            return Some(None);
        }
        self.function(index, what).map(Some)
    }

    /// The options object at `index` (none given reads as empty): every key must be in `table`,
    /// and every value given of its kind. Returns the values in the table's order, `undefined`
    /// for those not given.
    pub fn options(&self, index: u32, table: &[(&str, Kind)]) -> Option<Vec<JsValue>> {
        let value = self.list.get(index);
        if !given(&value) {
            return Some(vec![JsValue::UNDEFINED; table.len()]);
        }
        let mut names = Vec::new();
        for (name, _) in table {
            names.push(*name);
        }
        let object = self.object(&value, "the options", &names)?;
        let mut values = Vec::with_capacity(table.len());
        for (name, kind) in table {
            let value = field(&object, name);
            let (ok, needs) = kind.check(&value);
            if !ok && !value.is_undefined() {
                return self.must_be(name, needs, &value);
            }
            values.push(value);
        }
        Some(values)
    }

    /// A plain object whose keys are all in `allowed` (any keys when `allowed` is empty).
    pub fn object(&self, value: &JsValue, what: &str, allowed: &[&str]) -> Option<Object> {
        if !value.is_object() || value.is_function() || Array::is_array(value) {
            return self.must_be(what, "an object", value);
        }
        let object: Object = value.clone().unchecked_into();
        if !allowed.is_empty() {
            for key in Object::keys(&object).iter() {
                let key = key.as_string().unwrap_or_default();
                if !allowed.contains(&key.as_str()) {
                    return self.wrong(&concat(&[
                        what,
                        " have no option '",
                        &key,
                        "' (known: ",
                        &join(allowed, ", "),
                        ")",
                    ]));
                }
            }
        }
        Some(object)
    }

    /// An event name: letters, digits and `_`, 1 to 255 of them; `at` says where it was given.
    pub fn event_name(&self, at: &str, name: &str) -> Option<()> {
        if name.is_empty()
            || name.len() > MAX_NAME_BYTES
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return self.wrong(&concat(&[
                at,
                "event name '",
                name,
                "' may only have letters, digits and _ (1 to 255)",
            ]));
        }
        Some(())
    }

    /// Custom attributes: numbers, strings, booleans, or `{ dataType, value }` whose value (a
    /// number or boolean read as its text) reads as its dataType the way the server reads it.
    /// Returns a JSON copy, so later changes to the page's object do not reach events recorded
    /// from it, with each typed value as the text the server takes.
    pub fn attributes(&self, value: &JsValue) -> Option<JsValue> {
        let map = self.object(value, "customAttributes", &[])?;
        // `None` when the page's object cannot be copied as JSON (a BigInt, a cycle, a `toJSON`
        // that returns no object): refused below, once every value is checked.
        let text = to_json(&map).unwrap_or_default();
        let copy = Some(from_json(&text)).filter(JsValue::is_object);
        let entries = Object::entries(&map);
        if entries.length() > MAX_ATTRIBUTES {
            return self.wrong(&concat(&[
                "customAttributes may have at most 100 attributes, got ",
                &decimal(entries.length().into()),
            ]));
        }
        for entry in entries.iter() {
            let entry: Array = entry.unchecked_into();
            let (name, v) = (entry.get(0).as_string().unwrap_or_default(), entry.get(1));
            let what = concat(&["customAttributes.", &name]);
            if name.is_empty() || name.len() > MAX_NAME_BYTES {
                return self.wrong(&concat(&[
                    "customAttributes name '",
                    &name,
                    "' must have 1 to 255 characters",
                ]));
            }
            if primitive(&v) {
                self.short(&what, &v.as_string().unwrap_or_default())?;
                continue;
            }
            let value = field(&v, "value");
            let kind = string_field(&v, "dataType").unwrap_or_default();
            if !v.is_object()
                || Array::is_array(&v)
                || Object::keys(v.unchecked_ref::<Object>()).length() != 2
                || !primitive(&value)
                || !matches!(kind.as_str(), "integer" | "number" | "string" | "boolean")
            {
                return self.wrong(&concat(&[
                    &what,
                    " is ",
                    &describe(&v),
                    ", which is not an attribute value",
                ]));
            }
            if let Some(copy) = &copy {
                let typed_value = field(copy, &name);
                if !typed(&typed_value) {
                    return self.must_be(
                        &concat(&[&what, ".value"]),
                        &concat(&["of dataType '", &kind, "'"]),
                        &value,
                    );
                }
                self.short(
                    &what,
                    &string_field(&typed_value, "value").unwrap_or_default(),
                )?;
            }
        }
        if text.len() > MAX_ATTRIBUTES_JSON {
            return self.wrong(&concat(&[
                "customAttributes are ",
                &decimal(text.len() as u64),
                " bytes as JSON; at most 32768 are sent",
            ]));
        }
        match copy {
            Some(copy) => Some(copy),
            None => self.wrong("customAttributes cannot be copied as JSON"),
        }
    }

    /// Refuses a text longer than the server takes: 4096 bytes (UTF-8).
    pub fn short(&self, what: &str, text: &str) -> Option<()> {
        if text.len() > MAX_TEXT_BYTES {
            return self.wrong(&concat(&[what, " is longer than 4096 bytes"]));
        }
        Some(())
    }

    pub fn require_init(&self) -> Option<()> {
        if runtime::is_initialized() {
            return Some(());
        }
        self.wrong("Beckon is not initialized; call ac('init', deploymentId) first")
    }
}

/// Whether `value` can be an attribute value: a finite number, a string or a boolean.
fn primitive(value: &JsValue) -> bool {
    value.as_f64().is_some_and(f64::is_finite) || value.is_string() || value.as_bool().is_some()
}

/// A short description of a value for error messages.
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return concat(&["'", &s, "'"]);
    }
    let text = if value.is_function() {
        "a function"
    } else if Array::is_array(value) {
        "an array"
    } else if value.is_object() {
        "an object"
    } else if value.is_undefined() {
        "nothing"
    } else {
        return js_text(value);
    };
    text.to_owned()
}
