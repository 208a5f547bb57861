//! Test-only entry points (cargo feature `test-hooks`, never in the served build): the loader
//! puts them on `ac.__test` so browser tests can show an action without a decision engine, emit
//! arbitrary events for the shared dispatch vectors, and time delivery.

use beckon_core::{ActionEvent, MediaType, State, Timestamp};
use wasm_bindgen::prelude::*;

use crate::browser::{from_json, now};
use crate::ids::new_uuid;
use crate::runtime::with_runtime;

/// Hands an action (the server's JSON shape) to the lifecycle, as a web-events answer would.
#[wasm_bindgen]
pub fn test_present(action: &str) {
    crate::boundary(|| {
        let action = from_json(action);
        if action.is_undefined() {
            crate::browser::log_error("test_present: not JSON");
        } else {
            with_runtime(|rt| rt.receive(action));
        }
    });
}

fn event(media: MediaType, state: State) -> ActionEvent {
    let (customer_id, session_id) = with_runtime(|rt| {
        let session = rt.identity.session();
        (rt.identity.customer_id, session.id)
    })
    .unwrap_or_else(|| (new_uuid(), new_uuid()));
    ActionEvent {
        action_id: new_uuid(),
        action_state: state,
        action_media_type: media,
        action_map_id: new_uuid(),
        action_map_version: 1,
        customer_id,
        session_id,
        error: (state == State::Errored).then(|| beckon_core::ActionError {
            code: 1,
            message: "test".into(),
        }),
        event_id: new_uuid(),
        timestamp: Timestamp::from_unix_millis(now() as i64),
    }
}

/// Emits one event of that media type and state, with `tag` as its `actionMapVersion` (so a
/// handler can tell which event it got); returns its `eventId`.
#[wasm_bindgen]
pub fn test_emit(media: &str, state: &str, tag: u32) -> Option<String> {
    let (media, state) = (media.parse().ok()?, state.parse().ok()?);
    let event = ActionEvent {
        action_map_version: tag,
        ..event(media, state)
    };
    let id = crate::ids::text(&event.event_id);
    crate::boundary(|| crate::events::emit(event));
    Some(id)
}

/// Forgets every handler and past event.
#[wasm_bindgen]
pub fn test_reset() {
    crate::events::clear();
}

/// Emits `count` events (in chunks, each delivered before the next) and returns the milliseconds
/// it took to deliver them all.
#[wasm_bindgen]
pub fn test_bench(count: u32) -> f64 {
    let template = event(MediaType::Webchat, State::Offered);
    let start = now();
    let mut left = count;
    while left > 0 {
        let chunk = left.min(10_000);
        crate::boundary(|| {
            for _ in 0..chunk {
                crate::events::emit(ActionEvent {
                    event_id: new_uuid(),
                    timestamp: Timestamp::from_unix_millis(now() as i64),
                    ..template.clone()
                });
            }
        });
        left -= chunk;
    }
    now() - start
}
