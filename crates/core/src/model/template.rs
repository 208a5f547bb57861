//! `ActionTemplate` and `ContentOffer` (Genesys reference section 3): what a content offer shows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::action_map::ActionMediaType;
use crate::event::Timestamp;

/// An action template, field for field as `GET /api/v2/journey/actiontemplates/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// `contentOffer` (the only template media type Beckon runs).
    pub media_type: ActionMediaType,
    pub state: TemplateState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_offer: Option<ContentOffer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date: Option<Timestamp>,
}

/// `Active`, `Inactive` (a draft) or `Deleted` (soft-deleted). Maps may not refer to a deleted
/// template; an inactive one keeps working in the maps that use it, as in Genesys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TemplateState {
    Active,
    Inactive,
    Deleted,
    Other(String),
}

impl TemplateState {
    /// The Genesys spelling.
    pub fn as_str(&self) -> &str {
        match self {
            TemplateState::Active => "Active",
            TemplateState::Inactive => "Inactive",
            TemplateState::Deleted => "Deleted",
            TemplateState::Other(s) => s,
        }
    }
}

impl From<String> for TemplateState {
    fn from(s: String) -> Self {
        match s.as_str() {
            "Active" => TemplateState::Active,
            "Inactive" => TemplateState::Inactive,
            "Deleted" => TemplateState::Deleted,
            _ => TemplateState::Other(s),
        }
    }
}

impl From<TemplateState> for String {
    fn from(s: TemplateState) -> Self {
        match s {
            TemplateState::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// `ContentOffer`. `displayMode` (`Modal`, `Overlay`, `Toast`) and `layoutMode` (`TextOnly`,
/// `ImageOnly`, `LeftText`, `RightText`, `TopText`, `BottomText`) are checked by validation, and
/// so is `imageUrl`, which every layout but `TextOnly` requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentOffer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    pub display_mode: String,
    pub layout_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_to_action: Option<CallToAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<ContentOfferStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_alt_text: Option<String>,
}

impl ContentOffer {
    /// The display modes Genesys defines.
    pub const DISPLAY_MODES: [&'static str; 3] = ["Modal", "Overlay", "Toast"];
    /// The layout modes Genesys defines.
    pub const LAYOUT_MODES: [&'static str; 6] = [
        "TextOnly",
        "ImageOnly",
        "LeftText",
        "RightText",
        "TopText",
        "BottomText",
    ];
}

/// `CallToAction`: the button; `target` is `Blank` (new tab) or `Self`. `text` is optional, as in
/// Genesys: the SDK labels a button without one "Learn more".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// `ContentOfferStylingConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentOfferStyle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<ContentPosition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_button: Option<CloseButtonStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cta_button: Option<CtaButtonStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<TextStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<TextStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<TextStyle>,
}

/// `ContentPositionProperties`: CSS offsets such as `10px`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentPosition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<String>,
}

/// `ContentOfferStyleProperties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferStyle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
}

/// `CloseButtonStyleProperties`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseButtonStyle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opacity: Option<f64>,
}

/// `CtaButtonStyleProperties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CtaButtonStyle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_align: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
}

/// `TextStyleProperties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextStyle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_align: Option<String>,
}
