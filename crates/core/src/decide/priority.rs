//! Priority (spec 6.4): the highest weight wins; among equal weights, each customer gets one of
//! the maps, evenly across customers and always the same one for the same customer.
//!
//! The split is rendezvous (highest random weight) hashing: every tied map gets a score
//! `hash(customerId, mapId)` and the highest score wins. Each map wins for 1/n of the
//! customers, a customer's winner never changes while the tied set is the same, and adding or
//! removing a map moves only the customers who win or lose that map. The hash is written here
//! (FNV-1a over the 32 id bytes, then the MurmurHash3 64-bit finalizer for avalanche) because it
//! must never change between versions, hosts or the browser: std's hashers promise none of that.

use uuid::Uuid;

/// A stable 64-bit score of a (customer, map) pair.
pub fn tie_score(customer: Uuid, map: Uuid) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in customer.as_bytes().iter().chain(map.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The position of the winner among `(weight, map id)` candidates, `None` if there are none.
pub fn pick(customer: Uuid, candidates: &[(i64, Uuid)]) -> Option<usize> {
    let best = candidates.iter().map(|c| c.0).max()?;
    candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.0 == best)
        .max_by_key(|(_, c)| (tie_score(customer, c.1), c.1))
        .map(|(i, _)| i)
}
