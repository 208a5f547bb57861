//! `JourneySegment` (Genesys reference section 4): conditions on the visit (`context`) and on
//! the session's events (`journey`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::operator::Operator;
use crate::event::Timestamp;

/// A segment, field for field as `GET /api/v2/journey/segments/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneySegment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default = "super::yes")]
    pub is_active: bool,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Accepted on input (Genesys removed it from requests in 2025) and always returned.
    #[serde(default)]
    pub scope: SegmentScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub should_display_to_agent: Option<bool>,
    #[serde(default)]
    pub context: Context,
    #[serde(default)]
    pub journey: Journey,
    /// A link to a segment in another system; kept, not evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_segment: Option<serde_json::Value>,
    /// A customer-scoped assignment lapses after this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_expiration_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date: Option<Timestamp>,
}

/// `Session` (the assignment ends with the session) or `Customer` (it outlives it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum SegmentScope {
    #[default]
    Session,
    Customer,
    Other(String),
}

impl SegmentScope {
    /// The Genesys spelling.
    pub fn as_str(&self) -> &str {
        match self {
            SegmentScope::Session => "Session",
            SegmentScope::Customer => "Customer",
            SegmentScope::Other(s) => s,
        }
    }
}

impl From<String> for SegmentScope {
    fn from(s: String) -> Self {
        match s.as_str() {
            "Session" => SegmentScope::Session,
            "Customer" => SegmentScope::Customer,
            _ => SegmentScope::Other(s),
        }
    }
}

impl From<SegmentScope> for String {
    fn from(s: SegmentScope) -> Self {
        match s {
            SegmentScope::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// Conditions on the visit: every pattern, and every criterion in it, must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    #[serde(default)]
    pub patterns: Vec<ContextPattern>,
}

/// `ContextPattern`: criteria, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextPattern {
    #[serde(default)]
    pub criteria: Vec<EntityTypeCriteria>,
}

/// `EntityTypeCriteria`: one condition on a visit attribute such as `device.category`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityTypeCriteria {
    pub key: String,
    pub values: Vec<String>,
    #[serde(default)]
    pub should_ignore_case: bool,
    #[serde(default)]
    pub operator: Operator,
    /// Always `visit`.
    #[serde(default = "visit")]
    pub entity_type: String,
}

fn visit() -> String {
    "visit".to_owned()
}

/// Conditions on the session's events: every pattern must occur, each at least `count` times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Journey {
    #[serde(default)]
    pub patterns: Vec<JourneyPattern>,
}

/// `JourneyPattern`: events (optionally of one name) whose criteria all hold, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyPattern {
    #[serde(default)]
    pub criteria: Vec<Criteria>,
    pub count: u32,
    /// `Web`.
    pub stream_type: String,
    /// `web`.
    pub session_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
}

/// `Criteria`: one condition on an event attribute such as `page.url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Criteria {
    pub key: String,
    pub values: Vec<String>,
    #[serde(default)]
    pub should_ignore_case: bool,
    #[serde(default)]
    pub operator: Operator,
}
