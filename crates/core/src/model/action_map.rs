//! `ActionMap` (Genesys reference section 2): a trigger, page URL conditions, activation,
//! schedule, weight, and exactly one action.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::operator::Operator;
use crate::event::Timestamp;
use crate::media::{MediaType, UnknownMediaType};

/// An action map, field for field as `GET /api/v2/journey/actionmaps/{id}` returns it.
///
/// `id` and `version` are absent in a create body; the admin API assigns them, and
/// [`Catalog::build`](super::Catalog::build) requires them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionMap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(default = "super::yes")]
    pub is_active: bool,
    pub display_name: String,
    /// Segment ids; the map is triggered when the customer has any of them.
    #[serde(default)]
    pub trigger_with_segments: Vec<Uuid>,
    /// Conditions on the session's events; the map is triggered when all of them hold.
    #[serde(default)]
    pub trigger_with_event_conditions: Vec<EventCondition>,
    /// Deprecated Genesys outcome triggers: kept, refused by validation when not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_with_outcome_probability_conditions: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_with_outcome_percentile_conditions: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_with_outcome_quantile_conditions: Option<Vec<serde_json::Value>>,
    /// All must hold for the current page (values within one condition: any).
    #[serde(default)]
    pub page_url_conditions: Vec<UrlCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Priority among maps that qualify together; higher wins. 1 (low) to 3 (high), default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    pub action: ActionMapAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_map_schedule_groups: Option<ActionMapScheduleGroups>,
    #[serde(default)]
    pub ignore_frequency_cap: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date: Option<Timestamp>,
    /// Before it, the map qualifies but is blocked (`TriggerDateInFuture`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Timestamp>,
    /// From it on, the map is not evaluated at all (as if inactive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Timestamp>,
}

impl ActionMap {
    /// The weight Genesys uses when none is given.
    pub const DEFAULT_WEIGHT: i64 = 2;
    /// The weight range Genesys accepts (Low = 1, Medium = 2, High = 3).
    pub const WEIGHT_RANGE: std::ops::RangeInclusive<i64> = 1..=3;

    /// The weight, with the Genesys default.
    pub fn weight(&self) -> i64 {
        self.weight.unwrap_or(Self::DEFAULT_WEIGHT)
    }

    /// The activation, with the default (`immediate`).
    pub fn activation(&self) -> Activation {
        self.activation.clone().unwrap_or_default()
    }
}

/// A condition on the page URL (`UrlCondition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlCondition {
    pub values: Vec<String>,
    pub operator: Operator,
}

/// A condition on the session's events (`EventCondition`), e.g. `page.url` of a `page_viewed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCondition {
    pub key: String,
    pub values: Vec<String>,
    #[serde(default)]
    pub operator: Operator,
    /// `Web` (Beckon tracks web sessions only).
    pub stream_type: String,
    /// `web`.
    pub session_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
}

/// When a qualified map's action is offered (`Activation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activation {
    #[serde(rename = "type")]
    pub kind: ActivationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_in_seconds: Option<u32>,
}

/// `Activation.type`: the four values Genesys accepts, or another spelling kept for validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ActivationType {
    #[default]
    Immediate,
    Delay,
    OnNextVisit,
    OnNextSession,
    Other(String),
}

impl ActivationType {
    /// The Genesys spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ActivationType::Immediate => "immediate",
            ActivationType::Delay => "delay",
            ActivationType::OnNextVisit => "on-next-visit",
            ActivationType::OnNextSession => "on-next-session",
            ActivationType::Other(s) => s,
        }
    }
}

impl From<String> for ActivationType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "immediate" => ActivationType::Immediate,
            "delay" => ActivationType::Delay,
            "on-next-visit" => ActivationType::OnNextVisit,
            "on-next-session" => ActivationType::OnNextSession,
            _ => ActivationType::Other(s),
        }
    }
}

impl From<ActivationType> for String {
    fn from(t: ActivationType) -> Self {
        match t {
            ActivationType::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// The one action of a map (`ActionMapAction`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionMapAction {
    /// The content offer's template; required for `contentOffer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_template: Option<EntityRef>,
    pub media_type: ActionMediaType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_target_id: Option<String>,
    /// Throttle webchat offers on the target's service level (`ServiceLevelThrottling`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_pacing_enabled: Option<bool>,
    /// The webchat invitation's texts and pre-chat form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<ActionProperties>,
    /// Fields of media types Beckon does not run; kept so they round-trip, refused with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architect_flow_fields: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_messaging_offer_fields: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_action_fields: Option<serde_json::Value>,
}

/// `action.mediaType` in the Genesys admin spelling (`webchat`, `contentOffer`). Other names
/// deserialize, round-trip, and are refused by validation with [`UnknownMediaType`]'s message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct ActionMediaType(Result<MediaType, UnknownMediaType>);

impl ActionMediaType {
    /// The media type, or why Beckon does not run it.
    pub fn get(&self) -> Result<MediaType, &UnknownMediaType> {
        self.0.as_ref().copied()
    }
}

impl From<MediaType> for ActionMediaType {
    fn from(m: MediaType) -> Self {
        ActionMediaType(Ok(m))
    }
}

impl From<String> for ActionMediaType {
    fn from(s: String) -> Self {
        ActionMediaType(MediaType::from_genesys_name(&s))
    }
}

impl From<ActionMediaType> for String {
    fn from(m: ActionMediaType) -> Self {
        match m.0 {
            Ok(m) => m.genesys_name().to_owned(),
            Err(e) => e.name,
        }
    }
}

impl fmt::Display for ActionMediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(m) => f.write_str(m.genesys_name()),
            Err(e) => f.write_str(&e.name),
        }
    }
}

/// A reference to another entity: `{ "id": …, "selfUri": … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRef {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `ActionProperties`: the webchat invitation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webchat_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webchat_title_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webchat_accept_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webchat_decline_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webchat_survey: Option<ActionSurvey>,
    /// Ours, beyond Genesys (where the widget sets it): how long the invitation waits for an
    /// answer before it is `timedout` (spec 3.1: default 30 s, per map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webchat_timeout_seconds: Option<u32>,
}

impl ActionProperties {
    /// The invitation's timeout when the map does not set one.
    pub const DEFAULT_TIMEOUT_SECONDS: u32 = 30;
    /// The timeouts a map may set.
    pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 5..=3600;

    /// How long the invitation waits for an answer.
    pub fn timeout_seconds(&self) -> u32 {
        self.webchat_timeout_seconds
            .unwrap_or(Self::DEFAULT_TIMEOUT_SECONDS)
    }
}

/// `ActionSurvey`: the pre-chat form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionSurvey {
    pub questions: Vec<SurveyQuestion>,
}

impl ActionSurvey {
    /// The questions a survey may have: the answers a conversation takes.
    pub const MAX_QUESTIONS: usize = 20;
    /// The bytes (UTF-8) of one answer a conversation takes.
    pub const MAX_ANSWER_BYTES: usize = 1000;
}

/// `JourneySurveyQuestion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SurveyQuestion {
    /// `text`, `hidden`, `select`, `checkbox`, `textarea`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub label: String,
    /// `givenName`, `familyName`, `email`, `phone`, `gender`, `companyName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_property: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mandatory: Option<bool>,
}

/// `ActionMapScheduleGroups`: when offers may be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionMapScheduleGroups {
    /// Offers are made only while this group is open.
    pub action_map_schedule_group: EntityRef,
    /// While this group is open (an emergency is in effect), no offers are made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_action_map_schedule_group: Option<EntityRef>,
}
