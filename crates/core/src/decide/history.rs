//! What the decision knows about the customer's past, and the deployment's settings.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::Timestamp;
use crate::media::MediaType;
use crate::state::State;

/// The customer's history, as the server keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct History {
    /// The customer's actions with their latest state: this session's (for qualification once
    /// per session, what is on screen, frequency caps) and earlier ones (terminal states).
    /// Conversations with an agent are the webchat actions that reached `engaged`
    /// ([`PastAction::engaged`], or a latest state of `engaged` or `completed`).
    pub actions: Vec<PastAction>,
    /// Offers waiting for a delay, the next visit or the next session, as the previous
    /// decision returned them in [`Decision::pending`](super::Decision::pending).
    pub pending: Vec<Pending>,
    /// Customer-scoped segment assignments, as the previous decision returned them in
    /// [`Decision::assignments`](super::Decision::assignments).
    pub segments: Vec<SegmentAssignment>,
}

/// One earlier action of the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PastAction {
    pub action_map_id: Uuid,
    /// The map's version it qualified with, which it keeps for its whole life; `None` for an
    /// action stored before versions were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_map_version: Option<u32>,
    pub media_type: MediaType,
    pub session_id: Uuid,
    /// The latest state.
    pub state: State,
    /// When it reached that state.
    pub updated_at: Timestamp,
    /// When it was offered, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_at: Option<Timestamp>,
    /// When the server last answered it to a page of `session_id` to show now (not after a
    /// delay, the next visit or the next session), if it did: it is on screen from then (see
    /// rule 5.8 of [`decide`](super#the-rules-in-the-order-they-apply)), before the page
    /// reports `offered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
    /// It reached `engaged` (an agent joined its conversation), whatever its latest state: a
    /// chat that errored afterwards was still a conversation with an agent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub engaged: bool,
}

/// An offer the engine decided to make later. Kept by the server between decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub media_type: MediaType,
    /// The session the map qualified in.
    pub session_id: Uuid,
    pub qualified_at: Timestamp,
    #[serde(flatten)]
    pub until: Until,
}

/// What a pending offer waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "activation")]
pub enum Until {
    /// The end of a delay on one page view.
    #[serde(rename = "delay", rename_all = "camelCase")]
    Delay {
        due_at: Timestamp,
        page_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pageview_at: Option<Timestamp>,
    },
    /// The customer's next visit (a landing page view after this one, or a later session).
    #[serde(rename = "on-next-visit")]
    NextVisit,
    /// The customer's next session.
    #[serde(rename = "on-next-session")]
    NextSession,
}

/// A customer-scoped segment assignment (see the rules in [`decide`](super#the-rules-in-the-order-they-apply)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentAssignment {
    pub segment_id: Uuid,
    /// When it began; `assignmentExpirationDays` count from here.
    pub assigned_at: Timestamp,
    /// The maps that qualified from it: each qualifies once per assignment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action_maps: Vec<Uuid>,
}

/// Agent availability for webchat, as the chat module sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Availability {
    /// At least one agent can take a chat (else `NoAvailableAgents`).
    pub agents_available: bool,
    /// The predicted service level is below target (else, with `isPacingEnabled`,
    /// `ServiceLevelThrottling`).
    pub service_level_throttled: bool,
}

impl Default for Availability {
    fn default() -> Self {
        Availability {
            agents_available: true,
            service_level_throttled: false,
        }
    }
}

/// The deployment's decision settings (Genesys "Action settings", plus terminal suppression).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub webchat: FrequencyCap,
    pub contentoffer: FrequencyCap,
    pub terminal: TerminalSuppression,
}

impl Settings {
    /// The frequency cap of a media type.
    pub fn cap(&self, media: MediaType) -> &FrequencyCap {
        match media {
            MediaType::Webchat => &self.webchat,
            MediaType::Contentoffer => &self.contentoffer,
        }
    }
}

/// A frequency cap for one media type, within one session. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FrequencyCap {
    /// Do not offer this media type again in a session that had a conversation with an agent.
    pub after_agent_conversation: bool,
    /// Do not offer this media type again in a session where an offer of it was rejected.
    pub after_rejection: bool,
    /// Minimum time between two offers of this media type in a session (0: none).
    pub min_wait_seconds: u32,
}

/// How long a terminal state keeps a map from being offered to the customer again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "scope")]
pub enum TerminalSuppression {
    /// For the rest of the session only.
    #[serde(rename = "session")]
    Session,
    /// For the customer, for this many days.
    #[serde(rename = "customer")]
    Customer { days: u32 },
}

impl Default for TerminalSuppression {
    /// The spec's default: the customer, 90 days.
    fn default() -> Self {
        TerminalSuppression::Customer { days: 90 }
    }
}
