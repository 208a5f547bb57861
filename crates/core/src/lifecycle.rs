//! The lifecycle tables of spec section 3, kept as data.
//!
//! Both the browser (which must never emit an illegal transition) and the server (which answers
//! 409 to one) ask these tables, so the two sides cannot disagree. A lifecycle starts from no
//! state at all: only `qualified` may come first, and only the server produces it.

use std::fmt;

use crate::media::MediaType;
use crate::state::State;
use crate::text::concat;

use State::*;

/// The lifecycle of one media type: which states may follow which, and which states end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    media: MediaType,
    transitions: &'static [(Option<State>, &'static [State])],
    finals: &'static [State],
    terminals: &'static [State],
}

/// Spec 3.1.
static WEBCHAT: Lifecycle = Lifecycle {
    media: MediaType::Webchat,
    transitions: &[
        (None, &[Qualified]),
        (Some(Qualified), &[Offered]),
        (
            Some(Offered),
            &[Accepted, Rejected, Ignored, Timedout, Errored],
        ),
        (Some(Accepted), &[Rejected, Started, Errored]),
        (Some(Started), &[Engaged, Abandoned, Errored]),
        (Some(Engaged), &[Completed, Errored]),
    ],
    finals: &[Rejected, Ignored, Timedout, Errored, Abandoned, Completed],
    terminals: &[Rejected, Ignored, Timedout],
};

/// Spec 3.2.
static CONTENTOFFER: Lifecycle = Lifecycle {
    media: MediaType::Contentoffer,
    transitions: &[
        (None, &[Qualified]),
        (Some(Qualified), &[Offered]),
        (Some(Offered), &[Accepted, Rejected, Ignored, Errored]),
    ],
    finals: &[Accepted, Rejected, Ignored, Errored],
    terminals: &[Accepted, Rejected, Ignored],
};

impl Lifecycle {
    /// The lifecycle of a media type.
    pub fn of(media: MediaType) -> &'static Lifecycle {
        match media {
            MediaType::Webchat => &WEBCHAT,
            MediaType::Contentoffer => &CONTENTOFFER,
        }
    }

    /// The media type this lifecycle belongs to.
    pub fn media(&self) -> MediaType {
        self.media
    }

    /// The states allowed to follow `current` (`None`: the action has no state yet).
    pub fn next_states(&self, current: Option<State>) -> &'static [State] {
        self.transitions
            .iter()
            .find(|(from, _)| *from == current)
            .map_or(&[], |(_, to)| to)
    }

    /// Every allowed transition, in table order.
    pub fn transitions(&self) -> impl Iterator<Item = (Option<State>, State)> + '_ {
        self.transitions
            .iter()
            .flat_map(|(from, to)| to.iter().map(move |to| (*from, *to)))
    }

    /// States this media type can ever be in.
    pub fn reachable_states(&self) -> impl Iterator<Item = State> + '_ {
        State::ALL
            .into_iter()
            .filter(|s| self.transitions().any(|(_, to)| to == *s))
    }

    /// No transition leaves a final state: the action is over.
    pub fn is_final(&self, state: State) -> bool {
        self.finals.contains(&state)
    }

    /// A terminal state stops the customer from being offered the same action map again.
    pub fn is_terminal(&self, state: State) -> bool {
        self.terminals.contains(&state)
    }

    /// The final states, in spec order.
    pub fn final_states(&self) -> &'static [State] {
        self.finals
    }

    /// The terminal states, in spec order.
    pub fn terminal_states(&self) -> &'static [State] {
        self.terminals
    }

    /// Checks that `to` may follow `current`.
    pub fn check(&self, current: Option<State>, to: State) -> Result<(), TransitionError> {
        let allowed = self.next_states(current);
        if allowed.contains(&to) {
            Ok(())
        } else {
            Err(TransitionError {
                media: self.media,
                current,
                attempted: to,
                allowed,
            })
        }
    }
}

/// A transition the lifecycle tables do not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TransitionError {
    /// The media type of the action.
    pub media: MediaType,
    /// The state the action is in (`None`: it has none yet).
    pub current: Option<State>,
    /// The state that was asked for.
    pub attempted: State,
    /// The states that may follow `current` (empty when `current` is final).
    pub allowed: &'static [State],
}

impl TransitionError {
    /// What [`fmt::Display`] writes, built without `core::fmt` (the browser SDK's WebAssembly
    /// has a size budget and links no formatting machinery).
    pub fn message(&self) -> String {
        let current = self.current.map_or("(no state)", State::as_str);
        let mut message = concat(&[
            "a ",
            self.media.as_str(),
            " action cannot go from ",
            current,
            " to ",
            self.attempted.as_str(),
            "; ",
        ]);
        if self.allowed.is_empty() {
            message.push_str(current);
            message.push_str(" is final, nothing may follow it");
        } else {
            message.push_str("allowed next: ");
            State::push_names(&mut message, self.allowed);
        }
        message
    }
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}
