//! Blocked offers (spec section 3.4): a qualified action the server decided not to show.
//!
//! Only the server produces them; they are recorded, reported and streamed, but never shown to
//! `ac('on', …)` handlers in the browser.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::Timestamp;
use crate::media::MediaType;

/// Why a qualified action was not offered. The names are the Genesys ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BlockReason {
    PageUrlConditionsNotMatching,
    ServiceLevelThrottling,
    AlreadyExistingOffer,
    TriggerDateInFuture,
    MultipleSimultaneousOffers,
    NoAvailableAgents,
    FrequencyCapping,
    OfferedOutsideSchedule,
    Unknown,
}

impl BlockReason {
    /// Every reason, in the order the spec lists them.
    pub const ALL: [BlockReason; 9] = [
        BlockReason::PageUrlConditionsNotMatching,
        BlockReason::ServiceLevelThrottling,
        BlockReason::AlreadyExistingOffer,
        BlockReason::TriggerDateInFuture,
        BlockReason::MultipleSimultaneousOffers,
        BlockReason::NoAvailableAgents,
        BlockReason::FrequencyCapping,
        BlockReason::OfferedOutsideSchedule,
        BlockReason::Unknown,
    ];
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One blocked offer, as stored and streamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockedOffer {
    pub event_id: Uuid,
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub action_media_type: MediaType,
    pub customer_id: Uuid,
    pub session_id: Uuid,
    pub reason: BlockReason,
    pub timestamp: Timestamp,
}
