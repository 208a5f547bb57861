//! An action as the server hands it to the page (the answer to a web event: `{ "actions": [...] }`).
//!
//! Read in two steps: the [`Head`] (which action, of which map) must read for the SDK to report
//! anything about it; the rest is the content, and content that does not read is reported as the
//! action `errored` (spec 3) rather than dropped in silence. Unknown fields are ignored, so the
//! server can add fields without breaking pages that still run an older SDK. Actions are read
//! straight from the parsed JavaScript object.

use beckon_core::MediaType;
use uuid::Uuid;
use wasm_bindgen::JsValue;

use crate::browser::{field, given, string_field};
use beckon_core::text::{concat, join};

/// What identifies an action in every event about it.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    pub action_id: Uuid,
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub media_type: MediaType,
    /// The session it was offered in (`sessionId`, which the server's answers carry): its
    /// events belong to it, also after the visitor's session rolled over.
    pub session_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub activation: Activation,
    /// Seconds a chat invitation waits for an answer before it is withdrawn (`timedout`).
    pub timeout_seconds: Option<f64>,
    pub content_offer: Option<ContentOffer>,
    pub chat_invitation: Option<ChatInvitation>,
    /// The pre-chat form (Genesys `ActionSurvey`), read when the invitation is accepted.
    pub survey: JsValue,
}

#[derive(Debug, Clone, Copy, Default)]
pub enum Activation {
    #[default]
    Immediate,
    Delay {
        delay_in_seconds: f64,
    },
}

/// The Genesys `ContentOffer` (reference section 11).
#[derive(Debug, Clone)]
pub struct ContentOffer {
    pub title: Option<String>,
    pub headline: Option<String>,
    pub body: Option<String>,
    pub image_url: Option<String>,
    pub image_alt_text: Option<String>,
    pub display_mode: DisplayMode,
    pub layout_mode: LayoutMode,
    pub call_to_action: Option<CallToAction>,
    /// Checked property by property against a whitelist when the offer is drawn.
    pub style: Option<JsValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    Modal,
    Overlay,
    Toast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutMode {
    TextOnly,
    ImageOnly,
    LeftText,
    RightText,
    TopText,
    BottomText,
}

/// Each layout: its Genesys name, its CSS class.
const LAYOUTS: [(&str, LayoutMode, &str); 6] = [
    ("TextOnly", LayoutMode::TextOnly, "text-only"),
    ("ImageOnly", LayoutMode::ImageOnly, "image-only"),
    ("LeftText", LayoutMode::LeftText, "left-text"),
    ("RightText", LayoutMode::RightText, "right-text"),
    ("TopText", LayoutMode::TopText, "top-text"),
    ("BottomText", LayoutMode::BottomText, "bottom-text"),
];

impl LayoutMode {
    pub fn class(self) -> &'static str {
        LAYOUTS[self as usize].2
    }

    pub fn has_text(self) -> bool {
        self != LayoutMode::ImageOnly
    }

    pub fn has_image(self) -> bool {
        self != LayoutMode::TextOnly
    }
}

/// Genesys `CallToAction`: `url` is required, `text` (the button's label) is not.
#[derive(Debug, Clone)]
pub struct CallToAction {
    pub text: Option<String>,
    pub url: String,
    pub target: Target,
}

/// Where the call to action opens: `Blank` is a new tab.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Target {
    #[default]
    Blank,
    SameTab,
}

#[derive(Debug, Clone, Default)]
pub struct ChatInvitation {
    pub prompt: Option<String>,
    pub title: Option<String>,
    pub accept_label: Option<String>,
    pub decline_label: Option<String>,
}

/// A field that must be there (and not `null`), or an error naming it.
fn required(object: &JsValue, key: &str) -> Result<JsValue, String> {
    let value = field(object, key);
    if given(&value) {
        Ok(value)
    } else {
        Err(concat(&[key, " is missing"]))
    }
}

fn optional_text(object: &JsValue, key: &str) -> Result<Option<String>, String> {
    let value = field(object, key);
    match value.as_string() {
        _ if !given(&value) => Ok(None),
        Some(s) => Ok(Some(s)),
        None => Err(concat(&[key, " must be a string"])),
    }
}

fn text(object: &JsValue, key: &str) -> Result<String, String> {
    required(object, key)?
        .as_string()
        .ok_or_else(|| concat(&[key, " must be a string"]))
}

fn number(value: &JsValue, key: &str) -> Result<f64, String> {
    value
        .as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| concat(&[key, " must be a number"]))
}

/// A string field that must be one of `names`: which one. Not generic over what the names
/// stand for, so it is in the module once.
fn choice(object: &JsValue, key: &str, names: &[&str]) -> Result<usize, String> {
    let value = required(object, key)?.as_string().unwrap_or_default();
    names
        .iter()
        .position(|name| *name == value)
        .ok_or_else(|| concat(&[key, " must be one of ", &join(names, ", ")]))
}

impl Head {
    pub fn read(raw: &JsValue) -> Result<Head, String> {
        let id = |key: &str| -> Result<Uuid, String> {
            string_field(raw, key)
                .and_then(|s| crate::ids::parse(&s))
                .ok_or_else(|| concat(&[key, " is not a UUID"]))
        };
        let version = field(raw, "actionMapVersion")
            .as_f64()
            .filter(|v| v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(v))
            .ok_or("actionMapVersion is not a whole number")?;
        let media_type = string_field(raw, "mediaType")
            .and_then(|m| m.parse::<MediaType>().ok())
            .ok_or("mediaType is not webchat or contentoffer")?;
        Ok(Head {
            action_id: id("actionId")?,
            action_map_id: id("actionMapId")?,
            action_map_version: version as u32,
            media_type,
            session_id: string_field(raw, "sessionId").and_then(|s| crate::ids::parse(&s)),
        })
    }
}

impl Action {
    pub fn read(raw: &JsValue) -> Result<Action, String> {
        let activation = field(raw, "activation");
        let activation = if given(&activation) {
            match string_field(&activation, "type").as_deref() {
                Some("immediate") => Activation::Immediate,
                Some("delay") => Activation::Delay {
                    delay_in_seconds: number(
                        &required(&activation, "delayInSeconds")?,
                        "activation.delayInSeconds",
                    )?,
                },
                _ => return Err("activation.type must be immediate or delay".into()),
            }
        } else {
            Activation::Immediate
        };
        let timeout = field(raw, "timeoutSeconds");
        let offer = field(raw, "contentOffer");
        let invitation = field(raw, "chatInvitation");
        Ok(Action {
            survey: field(raw, "webchatSurvey"),
            activation,
            timeout_seconds: if given(&timeout) {
                Some(number(&timeout, "timeoutSeconds")?)
            } else {
                None
            },
            content_offer: if given(&offer) {
                Some(ContentOffer::read(&offer).map_err(|e| concat(&["contentOffer.", &e]))?)
            } else {
                None
            },
            chat_invitation: if given(&invitation) {
                Some(
                    ChatInvitation::read(&invitation)
                        .map_err(|e| concat(&["chatInvitation.", &e]))?,
                )
            } else {
                None
            },
        })
    }
}

impl ContentOffer {
    fn read(raw: &JsValue) -> Result<ContentOffer, String> {
        let cta = field(raw, "callToAction");
        let style = field(raw, "style");
        Ok(ContentOffer {
            title: optional_text(raw, "title")?,
            headline: optional_text(raw, "headline")?,
            body: optional_text(raw, "body")?,
            image_url: optional_text(raw, "imageUrl")?,
            image_alt_text: optional_text(raw, "imageAltText")?,
            display_mode: [DisplayMode::Modal, DisplayMode::Overlay, DisplayMode::Toast]
                [choice(raw, "displayMode", &["Modal", "Overlay", "Toast"])?],
            layout_mode: LAYOUTS[choice(raw, "layoutMode", &LAYOUTS.map(|(n, ..)| n))?].1,
            call_to_action: if given(&cta) {
                Some(CallToAction::read(&cta).map_err(|e| concat(&["callToAction.", &e]))?)
            } else {
                None
            },
            style: given(&style).then_some(style),
        })
    }
}

impl CallToAction {
    fn read(raw: &JsValue) -> Result<CallToAction, String> {
        Ok(CallToAction {
            text: optional_text(raw, "text")?,
            url: text(raw, "url")?,
            target: if given(&field(raw, "target")) {
                [Target::Blank, Target::SameTab][choice(raw, "target", &["Blank", "Self"])?]
            } else {
                Target::Blank
            },
        })
    }
}

impl ChatInvitation {
    fn read(raw: &JsValue) -> Result<ChatInvitation, String> {
        Ok(ChatInvitation {
            prompt: optional_text(raw, "prompt")?,
            title: optional_text(raw, "title")?,
            accept_label: optional_text(raw, "acceptLabel")?,
            decline_label: optional_text(raw, "declineLabel")?,
        })
    }
}
