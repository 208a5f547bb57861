//! What a decision returns.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::history::{Pending, SegmentAssignment};
use crate::blocked::BlockReason;
use crate::event::Timestamp;
use crate::media::MediaType;

/// The outcome of one decision. Every list is in a fixed order (offers by media type in spec
/// order, the others by action map id), so equal inputs give equal outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Offer these now (at most one per media type).
    pub offers: Vec<Offer>,
    /// Delays started by this decision: offer when they end, if still eligible (the engine
    /// checks again when asked at or after `due_at`).
    pub scheduled: Vec<Scheduled>,
    /// Maps that qualified now, for the first time in this session: emit `qualified` (or
    /// `qualifiedOutsideSchedule`) for each.
    pub qualified: Vec<Qualified>,
    /// Qualified maps not offered now, with the Genesys reason.
    pub blocked: Vec<Blocked>,
    /// Everything still waiting (delays, next visit, next session) after this decision: the
    /// server stores it in place of [`History::pending`](super::History::pending).
    pub pending: Vec<Pending>,
    /// Segments the customer has now.
    pub segments: Vec<Uuid>,
    /// The customer-scoped segment assignments after this decision: the server stores them in
    /// place of [`History::segments`](super::History::segments).
    pub assignments: Vec<SegmentAssignment>,
}

/// An offer to present now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub media_type: MediaType,
    /// How it came to be offered now.
    pub activation: OfferedBy,
}

/// Which activation led to the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OfferedBy {
    #[serde(rename = "immediate")]
    Immediate,
    /// A delay ended on the page, or the visitor came back to its page.
    #[serde(rename = "delay")]
    Delay,
    #[serde(rename = "on-next-visit")]
    NextVisit,
    #[serde(rename = "on-next-session")]
    NextSession,
}

/// A delay started now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scheduled {
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub media_type: MediaType,
    pub due_at: Timestamp,
}

/// A map that qualified now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Qualified {
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub media_type: MediaType,
    /// It qualified while its schedule was closed (`qualifiedOutsideSchedule`).
    pub outside_schedule: bool,
}

/// A qualified map not offered now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocked {
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub media_type: MediaType,
    pub reason: BlockReason,
}
