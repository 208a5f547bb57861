//! Holds: the customers a sink keeps back because a dead letter has earlier events of theirs.
//!
//! Why it exists: a sink delivers every customer's events in the order they happened, and a dead
//! letter would break that if the sink went on delivering the same customer's later events while
//! the earlier ones wait for a replay. So once a batch is dead-lettered, its customers are held:
//! their later records go to dead letters too (after the first, so a replay of all of them,
//! oldest first, delivers them in order), while every other customer's events flow on. A
//! customer is released when no dead letter of the sink holds their events any more (replayed
//! or discarded).
//!
//! The runner changes holds only together with the dead letters themselves, under one lock:
//! [`Holds::lock`] is taken across the store's write, so what is held is always what the stored
//! dead letters say. How many customers are held is also the sink's `beckon_sink_held_customers`
//! gauge, which the sink list reads without the lock (it must answer while a store write that
//! keeps failing holds it).

use std::collections::HashMap;
use std::sync::Arc;

use prometheus_client::metrics::gauge::Gauge;
use uuid::Uuid;

use crate::record::LogRecord;
use crate::store::DeadLetter;

/// A sink's held customers, behind the lock the runner and the admin API share.
pub struct Holds {
    held: tokio::sync::Mutex<Held>,
    count: Gauge,
}

impl Holds {
    /// No customer held yet; `count` is the sink's gauge of held customers.
    pub fn new(count: Gauge) -> Holds {
        Holds {
            held: tokio::sync::Mutex::new(Held {
                loaded: false,
                customers: HashMap::new(),
                through: 0,
                count: count.clone(),
            }),
            count,
        }
    }

    /// The held customers, to read or change along with the dead letters in the store.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, Held> {
        self.held.lock().await
    }

    /// How many customers are held, as of the last change; without waiting for the lock.
    pub fn count(&self) -> usize {
        self.count.get() as usize
    }
}

/// For each held customer, how many of the sink's dead letters hold events of theirs.
pub struct Held {
    /// Whether the counts were read from the store yet (the runner does that first).
    loaded: bool,
    customers: HashMap<Uuid, usize>,
    /// The highest sequence number in a dead letter stored since the start (or read at it).
    /// Records read again after a restart that broke off a delivery (the cursor was not saved)
    /// up to there, of held customers, are in a dead letter already.
    through: u64,
    /// `customers.len()`, for [`Holds::count`] and the metrics.
    count: Gauge,
}

impl Held {
    /// Counts the customers of the dead letters the store has now.
    pub fn load(&mut self, letters: &[DeadLetter]) {
        self.customers.clear();
        for letter in letters {
            self.add(&letter.records);
        }
        self.loaded = true;
        self.counted();
    }

    fn counted(&self) {
        self.count.set(self.customers.len() as i64);
    }

    /// A dead letter with these records was stored.
    pub fn add(&mut self, records: &[Arc<LogRecord>]) {
        self.through = records.iter().map(|r| r.seq).fold(self.through, u64::max);
        for customer in customers(records) {
            *self.customers.entry(customer).or_default() += 1;
        }
        self.counted();
    }

    /// A dead letter with these records was removed. Before [`Held::load`] nothing is counted
    /// yet, and the load reads the store after the removal.
    pub fn remove(&mut self, records: &[Arc<LogRecord>]) {
        if !self.loaded {
            return;
        }
        for customer in customers(records) {
            if let Some(count) = self.customers.get_mut(&customer) {
                *count -= 1;
                if *count == 0 {
                    self.customers.remove(&customer);
                }
            }
        }
        self.counted();
    }

    /// Splits records, keeping their order, into those of held customers and the others,
    /// leaving out those of held customers a dead letter has already: every record of a held
    /// customer up to `through` (only the part a restart broke off is read again, and
    /// its records of held customers were all dead-lettered).
    pub fn split(&self, records: &[Arc<LogRecord>]) -> (Vec<Arc<LogRecord>>, Vec<Arc<LogRecord>>) {
        let (held, free): (Vec<_>, Vec<_>) = records
            .iter()
            .cloned()
            .partition(|r| self.customers.contains_key(&r.payload.customer_id()));
        let held = held.into_iter().filter(|r| r.seq > self.through).collect();
        (held, free)
    }
}

/// The older dead letter, if any, that holds events of a customer `letter` has: replaying
/// `letter` before it would deliver that customer's events out of order.
pub fn held_behind<'a>(letters: &'a [DeadLetter], letter: &DeadLetter) -> Option<&'a DeadLetter> {
    let own = customers(&letter.records);
    letters.iter().filter(|l| l.id < letter.id).find(|l| {
        l.records
            .iter()
            .any(|r| own.contains(&r.payload.customer_id()))
    })
}

/// The distinct customers of some records.
fn customers(records: &[Arc<LogRecord>]) -> std::collections::HashSet<Uuid> {
    records.iter().map(|r| r.payload.customer_id()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::sinks::testing;
    use beckon_core::{State, Timestamp};

    fn letter(id: i64, records: Vec<Arc<LogRecord>>) -> DeadLetter {
        DeadLetter {
            id,
            sink: "hook".into(),
            first_seq: records[0].seq,
            last_seq: records[records.len() - 1].seq,
            error: "refused".into(),
            created_at: Timestamp::from_unix_millis(0),
            records,
        }
    }

    #[test]
    fn a_customer_is_held_until_every_dead_letter_of_theirs_is_gone() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = vec![
            testing::action(1, a, State::Offered),
            testing::action(2, a, State::Accepted),
        ];
        let second = vec![testing::blocked(5, a)];
        let holds = Holds::new(Gauge::default());
        let mut held = holds.held.try_lock().unwrap();
        held.load(&[letter(1, first.clone())]);
        held.add(&second);
        let later = vec![
            testing::action(7, b, State::Offered),
            testing::action(8, a, State::Offered),
            testing::action(9, b, State::Accepted),
        ];
        let (kept, free) = held.split(&later);
        assert_eq!(kept.iter().map(|r| r.seq).collect::<Vec<_>>(), [8]);
        assert_eq!(free.iter().map(|r| r.seq).collect::<Vec<_>>(), [7, 9]);
        held.remove(&first);
        assert_eq!(
            holds.count(),
            1,
            "the second dead letter still holds the customer"
        );
        held.remove(&second);
        assert_eq!(holds.count(), 0);
        assert_eq!(held.split(&later).0.len(), 0);
    }

    #[test]
    fn records_read_again_after_a_restart_are_not_dead_lettered_twice() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let holds = Holds::new(Gauge::default());
        let mut held = holds.held.try_lock().unwrap();
        // Before the restart: A's event 10 was dead-lettered, B's 11 was being delivered.
        held.load(&[letter(4, vec![testing::action(10, a, State::Offered)])]);
        let again = vec![
            testing::action(10, a, State::Offered),
            testing::action(11, b, State::Offered),
            testing::action(12, a, State::Accepted),
        ];
        let (kept, free) = held.split(&again);
        assert_eq!(kept.iter().map(|r| r.seq).collect::<Vec<_>>(), [12]);
        assert_eq!(free.iter().map(|r| r.seq).collect::<Vec<_>>(), [11]);
    }

    #[test]
    fn removals_before_the_load_count_nothing() {
        let a = Uuid::new_v4();
        let records = vec![testing::action(1, a, State::Offered)];
        let holds = Holds::new(Gauge::default());
        let mut held = holds.held.try_lock().unwrap();
        held.remove(&records);
        held.load(&[letter(3, records.clone())]);
        assert_eq!(holds.count(), 1);
    }

    #[test]
    fn a_dead_letter_is_held_behind_an_older_one_with_the_same_customer() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let letters = [
            letter(1, vec![testing::action(1, a, State::Offered)]),
            letter(2, vec![testing::action(2, b, State::Offered)]),
            letter(3, vec![testing::action(3, a, State::Accepted)]),
        ];
        assert_eq!(held_behind(&letters, &letters[2]).map(|l| l.id), Some(1));
        assert!(held_behind(&letters, &letters[1]).is_none());
        assert!(held_behind(&letters, &letters[0]).is_none());
    }
}
