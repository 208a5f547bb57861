//! Agent presence and what it means for offers: whether an agent can take a chat
//! (`NoAvailableAgents`) and whether the queue already holds more than the free agents can
//! answer (`ServiceLevelThrottling`, for action maps with pacing on).

use beckon_core::decide::Availability;
use serde::{Deserialize, Serialize};

/// What an agent has set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// Takes chats from the queue.
    Available,
    /// Signed in, keeps their conversations, takes no new ones.
    Away,
    #[default]
    Offline,
}

/// One agent as routing and offers see them.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub presence: Presence,
    pub capacity: u32,
    /// Conversations the agent has joined and that have not ended.
    pub active: u32,
}

impl Load {
    /// Conversations this agent could join now.
    pub fn free(&self) -> u32 {
        if self.presence == Presence::Available {
            self.capacity.saturating_sub(self.active)
        } else {
            0
        }
    }
}

/// The rule (`docs/chat.md`): with `free` the sum of free places of available agents and
/// `waiting` the conversations in the queue, an agent is available when `free > 0`, and pacing
/// throttles when `waiting >= free` (every free place is already promised to a waiting visitor).
pub fn availability(agents: impl IntoIterator<Item = Load>, waiting: usize) -> Availability {
    let free: usize = agents.into_iter().map(|a| a.free() as usize).sum();
    Availability {
        agents_available: free > 0,
        service_level_throttled: waiting >= free,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(presence: Presence, capacity: u32, active: u32) -> Load {
        Load {
            presence,
            capacity,
            active,
        }
    }

    #[test]
    fn only_available_agents_with_free_places_count() {
        let nobody = availability(
            [agent(Presence::Away, 3, 0), agent(Presence::Offline, 3, 0)],
            0,
        );
        assert!(!nobody.agents_available);
        let full = availability([agent(Presence::Available, 2, 2)], 0);
        assert!(!full.agents_available);
        let one = availability([agent(Presence::Available, 2, 1)], 0);
        assert!(one.agents_available && !one.service_level_throttled);
    }

    #[test]
    fn pacing_throttles_once_the_queue_fills_the_free_places() {
        let agents = [
            agent(Presence::Available, 2, 0),
            agent(Presence::Available, 1, 0),
        ];
        assert!(!availability(agents, 2).service_level_throttled);
        assert!(availability(agents, 3).service_level_throttled);
    }
}
