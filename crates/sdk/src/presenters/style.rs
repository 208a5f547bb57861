//! The content offer's `style` (Genesys `ContentOffer.style`), applied through a whitelist.
//!
//! Only the properties Genesys documents are read, each mapped to one CSS property of one part of
//! the offer, and each value must have the form its kind allows (a colour, a length, a font
//! size, a font family, an alignment, an opacity). A font size may also be a bare number, as in
//! Genesys's own examples (`"fontSize": "12"`), which is pixels; other lengths need their unit.
//! Anything else is left out with a warning, so configuration can never inject CSS (`url(...)`,
//! `expression`, a `;` that starts another declaration). What passes is set as each part's
//! `style.cssText`.

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};

use crate::browser::{js_text, log_warning};
use crate::call::describe;
use beckon_core::text::concat;

/// The parts of an offer a style can address, as indexes into [`Styles`].
const OFFER: usize = 0;
const CLOSE: usize = 1;
const CTA: usize = 2;
const TITLE: usize = 3;
const HEADLINE: usize = 4;
const BODY: usize = 5;

/// The CSS declarations (`property:value;…`) of each part: the offer's box, the close button,
/// the call to action, the title, the headline, the body.
pub type Styles = [String; 6];

#[derive(Clone, Copy)]
enum Kind {
    Color,
    Length,
    /// A length, or a bare number of pixels.
    FontSize,
    Font,
    Align,
    Opacity,
}

/// A style property: its Genesys name, the CSS property it sets, the values it takes.
type Property = (&'static str, &'static str, Kind);
/// A group of `style` (`offer`, `title`, ...): its name, the part it styles, its properties.
type Group = (&'static str, usize, &'static [Property]);

const TEXT: &[Property] = &[
    ("color", "color", Kind::Color),
    ("font", "font-family", Kind::Font),
    ("fontSize", "font-size", Kind::FontSize),
    ("textAlign", "text-align", Kind::Align),
];

const GROUPS: [Group; 7] = [
    (
        "position",
        OFFER,
        &[
            ("top", "top", Kind::Length),
            ("bottom", "bottom", Kind::Length),
            ("left", "left", Kind::Length),
            ("right", "right", Kind::Length),
        ],
    ),
    (
        "offer",
        OFFER,
        &[
            ("padding", "padding", Kind::Length),
            ("color", "color", Kind::Color),
            ("backgroundColor", "background-color", Kind::Color),
        ],
    ),
    (
        "closeButton",
        CLOSE,
        &[
            ("color", "color", Kind::Color),
            ("opacity", "opacity", Kind::Opacity),
        ],
    ),
    (
        "ctaButton",
        CTA,
        &[
            ("color", "color", Kind::Color),
            ("font", "font-family", Kind::Font),
            ("fontSize", "font-size", Kind::FontSize),
            ("textAlign", "text-align", Kind::Align),
            ("backgroundColor", "background-color", Kind::Color),
        ],
    ),
    ("title", TITLE, TEXT),
    ("headline", HEADLINE, TEXT),
    ("body", BODY, TEXT),
];

/// The `[key, value]` pairs of a plain object; `None` for anything else.
fn entries(value: &JsValue) -> Option<Vec<(String, JsValue)>> {
    if !value.is_object() || Array::is_array(value) || value.is_function() {
        return None;
    }
    let mut pairs = Vec::new();
    for pair in Object::entries(value.unchecked_ref()).iter() {
        let pair: Array = pair.unchecked_into();
        pairs.push((pair.get(0).as_string().unwrap_or_default(), pair.get(1)));
    }
    Some(pairs)
}

/// The declarations `style` allows, per part; what it does not allow is left out with a warning.
pub fn declarations(style: &JsValue) -> Styles {
    let mut styles = Styles::default();
    let Some(style) = entries(style) else {
        log_warning("contentOffer.style is not an object; ignored");
        return styles;
    };
    for (group, value) in &style {
        let Some((_, part, properties)) = GROUPS.iter().find(|(g, ..)| *g == group.as_str()) else {
            log_warning(&concat(&[
                "contentOffer.style.",
                group,
                " is not a style Beckon knows; ignored",
            ]));
            continue;
        };
        let Some(value) = entries(value) else {
            continue;
        };
        for (name, raw) in &value {
            let Some((_, css, kind)) = properties.iter().find(|(p, ..)| *p == name.as_str()) else {
                log_warning(&concat(&[
                    "contentOffer.style.",
                    group,
                    ".",
                    name,
                    " is not allowed; ignored",
                ]));
                continue;
            };
            match validate(*kind, raw) {
                Some(v) => {
                    let declarations = &mut styles[*part];
                    declarations.push_str(css);
                    declarations.push(':');
                    declarations.push_str(&v);
                    declarations.push(';');
                }
                None => log_warning(&concat(&[
                    "contentOffer.style.",
                    group,
                    ".",
                    name,
                    ": ",
                    &describe(raw),
                    " is not a valid ",
                    kind.describe(),
                    "; ignored",
                ])),
            }
        }
    }
    styles
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Color => "colour (#rgb, #rrggbb, rgb(...), or a colour name)",
            Kind::Length => "length (a number with px, em, rem, % or vh/vw)",
            Kind::FontSize => {
                "font size (a number of pixels, or a number with px, em, rem, % or vh/vw)"
            }
            Kind::Font => "font family (letters, digits, spaces, commas, quotes, hyphens)",
            Kind::Align => "alignment (Left, Right or Center)",
            Kind::Opacity => "opacity (a number from 0 to 1)",
        }
    }
}

/// The CSS value for a configured one, if it has the form its kind allows.
fn validate(kind: Kind, raw: &JsValue) -> Option<String> {
    if let (Kind::Opacity | Kind::Length | Kind::FontSize, Some(n)) = (kind, raw.as_f64()) {
        let (ok, unit) = match kind {
            Kind::Opacity => ((0.0..=1.0).contains(&n), ""),
            _ => (n >= 0.0 && n.is_finite(), "px"),
        };
        return ok.then(|| concat(&[&js_text(raw), unit]));
    }
    let text = raw.as_string()?;
    let text = text.trim();
    let ok = match kind {
        Kind::Color => is_color(text),
        Kind::FontSize if is_decimal(text) => return Some(concat(&[text, "px"])),
        Kind::Length | Kind::FontSize => is_length(text),
        Kind::Font => {
            !text.is_empty()
                && text.len() <= 100
                && only(text, |b| {
                    b.is_ascii_alphanumeric() || b" ,'\"-".contains(&b)
                })
        }
        Kind::Align => {
            return ["left", "right", "center"]
                .iter()
                .find(|a| a.eq_ignore_ascii_case(text))
                .map(|a| (*a).to_owned());
        }
        Kind::Opacity => {
            is_decimal(text) && (0.0..=1.0).contains(&js_sys::Number::parse_float(text))
        }
    };
    ok.then(|| text.to_owned())
}

fn is_color(text: &str) -> bool {
    if let Some(hex) = text.strip_prefix('#') {
        return matches!(hex.len(), 3 | 4 | 6 | 8) && only(hex, |b| b.is_ascii_hexdigit());
    }
    for function in &["rgb(", "rgba(", "hsl(", "hsla("] {
        if let Some(inner) = text
            .strip_prefix(function)
            .and_then(|t| t.strip_suffix(')'))
        {
            return only(inner, |b| b.is_ascii_digit() || b" .,%/".contains(&b));
        }
    }
    !text.is_empty() && text.len() <= 30 && only(text, |b| b.is_ascii_alphabetic())
}

/// Whether every byte of `text` is `allowed` (all the characters a value may have are ASCII).
fn only(text: &str, allowed: fn(u8) -> bool) -> bool {
    text.bytes().all(allowed)
}

fn is_length(text: &str) -> bool {
    // CSS separates values by ASCII whitespace only.
    text.split_ascii_whitespace().count() <= 4
        && text.split_ascii_whitespace().all(|part| {
            let number = part
                .bytes()
                .rposition(|b| !(b.is_ascii_alphabetic() || b == b'%'))
                .map_or(0, |last| last + 1);
            let (digits, unit) = part.split_at(number);
            !digits.is_empty()
                && is_decimal(digits)
                && (["px", "em", "rem", "%", "vh", "vw"].contains(&unit) || digits == "0")
        })
}

/// A non-negative decimal number: digits with at most one `.`, and at least one digit.
fn is_decimal(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1
}
