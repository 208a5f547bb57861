//! An action as the server hands it to the page (the answer to a web event: `{ "actions": [...] }`).
//!
//! Read in two steps: the [`Head`] (which action, of which map) must parse for the SDK to report
//! anything about it; the rest is the content, and content that does not parse is reported as the
//! action `errored` (spec 3) rather than dropped in silence. Unknown fields are ignored, so the
//! server can add fields without breaking pages that still run an older SDK.

use beckon_core::MediaType;
use serde::Deserialize;
use uuid::Uuid;

/// What identifies an action in every event about it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    pub action_id: Uuid,
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub media_type: MediaType,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    #[serde(default)]
    pub activation: Activation,
    /// Seconds a chat invitation waits for an answer before it is withdrawn (`timedout`).
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    #[serde(default)]
    pub content_offer: Option<ContentOffer>,
    #[serde(default)]
    pub chat_invitation: Option<ChatInvitation>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Activation {
    #[default]
    Immediate,
    #[serde(rename_all = "camelCase")]
    Delay { delay_in_seconds: f64 },
}

/// The Genesys `ContentOffer` (reference section 11).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentOffer {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub image_alt_text: Option<String>,
    pub display_mode: DisplayMode,
    pub layout_mode: LayoutMode,
    #[serde(default)]
    pub call_to_action: Option<CallToAction>,
    /// Checked property by property against a whitelist when the offer is drawn.
    #[serde(default)]
    pub style: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DisplayMode {
    Modal,
    Overlay,
    Toast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum LayoutMode {
    TextOnly,
    ImageOnly,
    LeftText,
    RightText,
    TopText,
    BottomText,
}

impl LayoutMode {
    pub fn class(self) -> &'static str {
        match self {
            LayoutMode::TextOnly => "text-only",
            LayoutMode::ImageOnly => "image-only",
            LayoutMode::LeftText => "left-text",
            LayoutMode::RightText => "right-text",
            LayoutMode::TopText => "top-text",
            LayoutMode::BottomText => "bottom-text",
        }
    }

    pub fn has_text(self) -> bool {
        self != LayoutMode::ImageOnly
    }

    pub fn has_image(self) -> bool {
        self != LayoutMode::TextOnly
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CallToAction {
    pub text: String,
    pub url: String,
    #[serde(default)]
    pub target: Target,
}

/// Where the call to action opens: `Blank` is a new tab.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Target {
    #[default]
    Blank,
    #[serde(rename = "Self")]
    SameTab,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatInvitation {
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub accept_label: Option<String>,
    #[serde(default)]
    pub decline_label: Option<String>,
}
