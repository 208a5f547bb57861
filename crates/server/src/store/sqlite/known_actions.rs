//! The writer's memory of the actions it tracked lately: what a lifecycle check needs of each
//! (its deployment, media, map, customer, state and the states already seen) and where its row
//! is, so that the next event of an action skips the search of the state file's index.
//!
//! That search was about half of the writer's time per action event: action ids are random, so
//! the index pages an event needs are anywhere in an index larger than the page cache. The
//! actions pages report on are mostly those qualified in the last minutes, which this memory
//! holds. It is bounded: two generations of at most [`GENERATION`] actions each; when the young
//! one is full, between two groups, the old one is dropped and the young one becomes old. An
//! action found in neither is read from the state file as before.
//!
//! The writer is the only one to change the state file, so the memory stays true as long as it
//! follows the writer's transactions: a change inside a submission is journaled and undone when
//! the submission rolls back ([`KnownActions::undo_to`]); a group that did not commit whole
//! forgets everything ([`KnownActions::forget`]).

use std::collections::HashMap;

use beckon_core::{MediaType, State};
use foldhash::fast::RandomState;
use uuid::Uuid;

/// Actions in one generation: about 8 MB each, at most two generations.
const GENERATION: usize = 64 * 1024;

/// What a lifecycle check reads of an action, as stored in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownAction {
    pub deployment_id: Uuid,
    pub media: MediaType,
    pub action_map_id: Uuid,
    pub customer_id: Uuid,
    pub state: State,
    /// One bit per state already reported (`state_bit`).
    pub seen: i64,
    /// The action's rowid in `state.actions`.
    pub row: i64,
}

/// Recently tracked actions, with a journal of the changes of the group being committed.
#[derive(Debug, Default)]
pub struct KnownActions {
    young: HashMap<Uuid, KnownAction, RandomState>,
    old: HashMap<Uuid, KnownAction, RandomState>,
    /// Each change of this group: the action and what `young` held for it before.
    journal: Vec<(Uuid, Option<KnownAction>)>,
}

impl KnownActions {
    /// The action as the writer last left it, if remembered.
    pub fn get(&self, action_id: Uuid) -> Option<KnownAction> {
        self.young
            .get(&action_id)
            .or_else(|| self.old.get(&action_id))
            .copied()
    }

    /// Remembers what the writer just stored for an action.
    pub fn put(&mut self, action_id: Uuid, action: KnownAction) {
        let before = self.young.insert(action_id, action);
        self.journal.push((action_id, before));
    }

    /// A mark to undo back to: where the journal stands now.
    pub fn mark(&self) -> usize {
        self.journal.len()
    }

    /// Undoes every change made since `mark` (a submission rolled back to its savepoint).
    pub fn undo_to(&mut self, mark: usize) {
        for (action_id, before) in self.journal.drain(mark..).rev() {
            match before {
                Some(action) => self.young.insert(action_id, action),
                None => self.young.remove(&action_id),
            };
        }
    }

    /// The group committed: its changes stay, and a full young generation becomes the old one.
    pub fn settle(&mut self) {
        self.journal.clear();
        if self.young.len() >= GENERATION {
            // The old generation's table, emptied, is the next young one: no regrowing it.
            std::mem::swap(&mut self.young, &mut self.old);
            self.young.clear();
        }
    }

    /// Forgets everything: the state file may now differ from what was remembered.
    pub fn forget(&mut self) {
        self.young.clear();
        self.old.clear();
        self.journal.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(state: State, row: i64) -> KnownAction {
        KnownAction {
            deployment_id: Uuid::from_u128(1),
            media: MediaType::Webchat,
            action_map_id: Uuid::from_u128(2),
            customer_id: Uuid::from_u128(3),
            state,
            seen: 1 << state.index(),
            row,
        }
    }

    #[test]
    fn a_rolled_back_submission_leaves_what_was_known_before_it() {
        let (a, b) = (Uuid::from_u128(10), Uuid::from_u128(11));
        let mut known = KnownActions::default();
        known.put(a, action(State::Qualified, 1));
        known.settle();
        let mark = known.mark();
        known.put(a, action(State::Offered, 1));
        known.put(b, action(State::Qualified, 2));
        known.put(a, action(State::Accepted, 1));
        known.undo_to(mark);
        assert_eq!(known.get(a), Some(action(State::Qualified, 1)));
        assert_eq!(known.get(b), None);
    }

    #[test]
    fn memory_is_bounded_by_two_generations() {
        let mut known = KnownActions::default();
        let first = Uuid::from_u128(0);
        for n in 0..GENERATION as u128 {
            known.put(Uuid::from_u128(n), action(State::Qualified, n as i64));
        }
        known.settle();
        // The first generation is now the old one: still found.
        assert!(known.get(first).is_some());
        for n in 0..GENERATION as u128 {
            let id = Uuid::from_u128(GENERATION as u128 + n);
            known.put(id, action(State::Qualified, n as i64));
        }
        known.settle();
        assert_eq!(known.get(first), None, "the oldest generation is dropped");
        assert!(known.young.len() + known.old.len() <= 2 * GENERATION);
    }

    #[test]
    fn forgetting_drops_everything() {
        let mut known = KnownActions::default();
        known.put(Uuid::from_u128(1), action(State::Qualified, 1));
        known.forget();
        assert_eq!(known.get(Uuid::from_u128(1)), None);
    }
}
