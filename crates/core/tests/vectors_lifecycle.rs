//! Runs the shared lifecycle vectors (`testdata/lifecycle.json`) against `Lifecycle`.

use beckon_core::{Lifecycle, MediaType, State};
use serde::Deserialize;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/lifecycle.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    #[allow(dead_code)]
    description: String,
    #[serde(rename = "mediaTypes")]
    media_types: std::collections::BTreeMap<MediaType, Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    allowed: Vec<Transition>,
    #[serde(rename = "final")]
    finals: Vec<State>,
    terminal: Vec<State>,
    reachable: Vec<State>,
    #[serde(rename = "nextStates")]
    next_states: Vec<Next>,
    refused: Vec<Refused>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Transition {
    from: Option<State>,
    to: State,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Next {
    from: Option<State>,
    next: Vec<State>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    from: Option<State>,
    to: State,
    allowed: Vec<State>,
}

fn vectors() -> Vectors {
    let text = std::fs::read_to_string(PATH).expect("read testdata/lifecycle.json");
    serde_json::from_str(&text).expect("parse testdata/lifecycle.json")
}

#[test]
fn both_media_types_have_vectors() {
    let v = vectors();
    let media: Vec<MediaType> = v.media_types.keys().copied().collect();
    assert_eq!(media, MediaType::ALL.to_vec());
}

#[test]
fn allowed_transitions_are_exactly_the_table() {
    for (media, table) in vectors().media_types {
        let lifecycle = Lifecycle::of(media);
        let expected: Vec<(Option<State>, State)> =
            table.allowed.iter().map(|t| (t.from, t.to)).collect();
        let actual: Vec<(Option<State>, State)> = lifecycle.transitions().collect();
        assert_eq!(actual, expected, "{media}");
        for t in &table.allowed {
            assert_eq!(lifecycle.check(t.from, t.to), Ok(()), "{media} {t:?}");
        }
    }
}

impl std::fmt::Debug for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} -> {}", self.from, self.to)
    }
}

#[test]
fn final_terminal_and_reachable_states() {
    for (media, table) in vectors().media_types {
        let lifecycle = Lifecycle::of(media);
        assert_eq!(lifecycle.final_states(), table.finals.as_slice(), "{media}");
        assert_eq!(
            lifecycle.terminal_states(),
            table.terminal.as_slice(),
            "{media}"
        );
        assert_eq!(
            lifecycle.reachable_states().collect::<Vec<_>>(),
            table.reachable,
            "{media}"
        );
        for state in State::ALL {
            assert_eq!(
                lifecycle.is_final(state),
                table.finals.contains(&state),
                "{media} {state}"
            );
            assert_eq!(
                lifecycle.is_terminal(state),
                table.terminal.contains(&state),
                "{media} {state}"
            );
        }
    }
}

#[test]
fn next_states_from_every_state() {
    for (media, table) in vectors().media_types {
        let lifecycle = Lifecycle::of(media);
        assert_eq!(table.next_states.len(), 15, "no state and the 14 states");
        for n in &table.next_states {
            assert_eq!(
                lifecycle.next_states(n.from),
                n.next.as_slice(),
                "{media} from {:?}",
                n.from
            );
        }
    }
}

#[test]
fn refused_transitions_name_the_allowed_next_states() {
    for (media, table) in vectors().media_types {
        let lifecycle = Lifecycle::of(media);
        assert!(table.refused.len() > 100);
        for r in &table.refused {
            let err = lifecycle.check(r.from, r.to).expect_err(&format!(
                "{media}: {:?} -> {} must be refused",
                r.from, r.to
            ));
            assert_eq!(err.media, media);
            assert_eq!(err.current, r.from);
            assert_eq!(err.attempted, r.to);
            assert_eq!(err.allowed, r.allowed.as_slice(), "{media} {:?}", r.from);
            // The message names the action's state, the attempted one and what is allowed.
            let message = err.to_string();
            assert!(message.contains(r.to.as_str()), "{message}");
            for allowed in &r.allowed {
                assert!(message.contains(allowed.as_str()), "{message}");
            }
            if r.allowed.is_empty() {
                assert!(message.contains("final"), "{message}");
            }
        }
        // Together, allowed and refused cover every (from, to) pair.
        assert_eq!(
            table.allowed.len() + table.refused.len(),
            15 * 14,
            "{media}"
        );
    }
}
