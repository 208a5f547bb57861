//! Properties of the decision engine that no list of cases can show: the tie split is even
//! across customers and stable per customer, and whatever the catalog and history, at most one
//! offer per media type is made, never of a blocked map, never beside one already on screen.

use std::collections::HashSet;

use beckon_core::decide::{
    Availability, History, JourneyEvent, PastAction, Settings, Visit, priority,
};
use beckon_core::model::{ActionMap, Catalog, JourneySegment};
use beckon_core::{DecisionInput, MediaType, State, Timestamp, decide};
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

fn id(kind: u128, n: u128) -> Uuid {
    // UUIDv4-shaped, readable: kind in the last group.
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | (kind << 40) | n)
}

fn segment() -> JourneySegment {
    serde_json::from_value(json!({
        "id": id(0xb, 1), "displayName": "everyone",
        "context": { "patterns": [ { "criteria": [
            { "key": "page.url", "values": ["http"], "operator": "startsWith", "shouldIgnoreCase": true }
        ] } ] }
    }))
    .unwrap()
}

fn map(n: u128, media: &str, weight: i64, url: Option<&str>) -> ActionMap {
    let action = if media == "webchat" {
        json!({ "mediaType": "webchat" })
    } else {
        json!({ "mediaType": "contentOffer", "actionTemplate": { "id": id(0xc, 1) } })
    };
    let conditions = match url {
        Some(u) => json!([{ "values": [u], "operator": "containsAny" }]),
        None => json!([]),
    };
    serde_json::from_value(json!({
        "id": id(0xa, n), "version": 1, "displayName": format!("map {n}"),
        "triggerWithSegments": [id(0xb, 1)], "pageUrlConditions": conditions,
        "weight": weight, "action": action
    }))
    .unwrap()
}

fn template() -> beckon_core::ActionTemplate {
    serde_json::from_value(json!({
        "id": id(0xc, 1), "name": "t", "mediaType": "contentOffer", "state": "Active",
        "contentOffer": { "displayMode": "Toast", "layoutMode": "TextOnly" }
    }))
    .unwrap()
}

fn catalog(maps: Vec<ActionMap>) -> Catalog {
    Catalog::build(maps, vec![segment()], vec![template()], vec![]).unwrap()
}

/// A deterministic stream of customer ids (SplitMix64), so the statistical bound is checked on
/// the same 10,000 customers every run.
fn customers(n: usize) -> impl Iterator<Item = Uuid> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n).map(move |_| {
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let bits = (u128::from(next()) << 64) | u128::from(next());
        uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
    })
}

fn winner(catalog: &Catalog, customer: Uuid) -> Uuid {
    let visit = Visit::from_urls("https://example.com/", None, None);
    let journey = [JourneyEvent::new("page_viewed", Some(visit.page.clone()))];
    let history = History::default();
    let settings = Settings::default();
    let d = decide(
        catalog,
        &DecisionInput {
            customer_id: customer,
            session_id: id(0xf, 1),
            now: Timestamp::from_unix_millis(1_772_442_000_000),
            visit: &visit,
            journey: &journey,
            history: &history,
            availability: Availability::default(),
            settings: &settings,
        },
    );
    assert_eq!(d.offers.len(), 1);
    d.offers[0].action_map_id
}

#[test]
fn equal_weights_split_customers_evenly() {
    const N: usize = 10_000;
    for k in [2u128, 3, 5] {
        let c = catalog((1..=k).map(|n| map(n, "webchat", 2, None)).collect());
        let mut counts = vec![0usize; k as usize];
        for customer in customers(N) {
            let w = winner(&c, customer);
            counts[(w.as_u128() & 0xff) as usize - 1] += 1;
        }
        // Binomial(N, 1/k): within 4.5 standard deviations (a false alarm about 1 in 150,000).
        let p = 1.0 / k as f64;
        let sd = (N as f64 * p * (1.0 - p)).sqrt();
        for (i, &n) in counts.iter().enumerate() {
            let dev = (n as f64 - N as f64 * p).abs();
            assert!(
                dev < 4.5 * sd,
                "{k} tied maps: map {} got {n} of {N} ({counts:?})",
                i + 1
            );
        }
    }
}

#[test]
fn a_higher_weight_always_wins_over_ties() {
    let c = catalog(vec![
        map(1, "webchat", 2, None),
        map(2, "webchat", 2, None),
        map(3, "webchat", 3, None),
    ]);
    for customer in customers(500) {
        assert_eq!(winner(&c, customer), id(0xa, 3));
    }
}

proptest! {
    #[test]
    fn a_customer_always_gets_the_same_side(raw in any::<u128>(), k in 2u128..6) {
        let customer = uuid::Builder::from_random_bytes(raw.to_be_bytes()).into_uuid();
        let c = catalog((1..=k).map(|n| map(n, "webchat", 1, None)).collect());
        let first = winner(&c, customer);
        prop_assert_eq!(winner(&c, customer), first);
        // The list order of the maps does not matter either.
        let reversed = catalog((1..=k).rev().map(|n| map(n, "webchat", 1, None)).collect());
        prop_assert_eq!(winner(&reversed, customer), first);
        // Nor does removing a map that lost: rendezvous hashing keeps the winner.
        let pairs: Vec<(i64, Uuid)> = (1..=k).map(|n| (1, id(0xa, n))).collect();
        let w = priority::pick(customer, &pairs).unwrap();
        prop_assert_eq!(pairs[w].1, first);
        let without_loser: Vec<(i64, Uuid)> = pairs
            .iter()
            .copied()
            .filter(|p| p.1 == first || p.1 != pairs[(w + 1) % pairs.len()].1)
            .collect();
        let w2 = priority::pick(customer, &without_loser).unwrap();
        prop_assert_eq!(without_loser[w2].1, first);
    }

    #[test]
    fn offers_are_never_blocked_and_at_most_one_per_media_type(
        raw in any::<u128>(),
        maps in prop::collection::vec((any::<bool>(), 1i64..=3, prop::option::of(prop::sample::select(vec!["/a", "/b", "example"]))), 1..12),
        on_screen in prop::collection::vec((any::<bool>(), prop::sample::select(vec![State::Offered, State::Accepted, State::Engaged, State::Rejected, State::Qualified])), 0..3),
        page in prop::sample::select(vec!["https://example.com/a", "https://example.com/b", "https://example.com/c"]),
        agents in any::<bool>(),
    ) {
        let customer = uuid::Builder::from_random_bytes(raw.to_be_bytes()).into_uuid();
        let session = id(0xf, 1);
        let c = catalog(
            maps.iter()
                .enumerate()
                .map(|(i, (chat, w, url))| map(i as u128 + 1, if *chat { "webchat" } else { "contentoffer" }, *w, *url))
                .collect(),
        );
        let history = History {
            actions: on_screen
                .iter()
                .enumerate()
                .map(|(i, (chat, state))| PastAction {
                    action_map_id: id(0xa, 100 + i as u128),
                    action_map_version: None,
                    media_type: if *chat { MediaType::Webchat } else { MediaType::Contentoffer },
                    session_id: session,
                    state: *state,
                    updated_at: Timestamp::from_unix_millis(1_772_441_000_000),
                    offered_at: Some(Timestamp::from_unix_millis(1_772_441_000_000)),
                    answered_at: None,
                    engaged: false,
                })
                .collect(),
            ..History::default()
        };
        let visit = Visit::from_urls(page, None, None);
        let journey = [JourneyEvent::new("page_viewed", Some(visit.page.clone()))];
        let settings = Settings::default();
        let d = decide(&c, &DecisionInput {
            customer_id: customer,
            session_id: session,
            now: Timestamp::from_unix_millis(1_772_442_000_000),
            visit: &visit,
            journey: &journey,
            history: &history,
            availability: Availability { agents_available: agents, service_level_throttled: false },
            settings: &settings,
        });
        let blocked: HashSet<Uuid> = d.blocked.iter().map(|b| b.action_map_id).collect();
        let mut media = HashSet::new();
        for o in &d.offers {
            prop_assert!(!blocked.contains(&o.action_map_id));
            prop_assert!(media.insert(o.media_type), "two offers of {}", o.media_type);
            let busy = history.actions.iter().any(|a| a.media_type == o.media_type
                && matches!(a.state, State::Offered | State::Engaged)
                || (a.media_type == o.media_type && a.media_type == MediaType::Webchat && a.state == State::Accepted));
            prop_assert!(!busy, "offered {} beside one on screen", o.media_type);
            prop_assert!(agents || o.media_type != MediaType::Webchat);
        }
        // Every qualified map is either offered or blocked (none is delayed here).
        for q in &d.qualified {
            prop_assert!(blocked.contains(&q.action_map_id) || d.offers.iter().any(|o| o.action_map_id == q.action_map_id));
        }
    }
}
