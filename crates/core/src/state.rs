//! The fourteen Genesys state names (spec section 3), valid in every topic.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A state of a web action. Names are the Genesys ones and serialize exactly as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum State {
    Qualified,
    Offered,
    Accepted,
    Rejected,
    Ignored,
    Timedout,
    Errored,
    Started,
    Engaged,
    Abandoned,
    Completed,
    FrequencyCapReached,
    QualifiedOutsideSchedule,
    OfferedOutsideSchedule,
}

impl State {
    /// Every state, in the order the spec lists them.
    pub const ALL: [State; 14] = [
        State::Qualified,
        State::Offered,
        State::Accepted,
        State::Rejected,
        State::Ignored,
        State::Timedout,
        State::Errored,
        State::Started,
        State::Engaged,
        State::Abandoned,
        State::Completed,
        State::FrequencyCapReached,
        State::QualifiedOutsideSchedule,
        State::OfferedOutsideSchedule,
    ];

    /// Appends the wire names of `states` to `text`, separated by `, ` (refusal messages). A
    /// loop rather than an iterator collected and joined: the browser SDK links this, and each
    /// iterator chain is code of its own in its size-budgeted module.
    pub fn push_names(text: &mut String, states: &[State]) {
        for (at, state) in states.iter().enumerate() {
            if at > 0 {
                text.push_str(", ");
            }
            text.push_str(state.as_str());
        }
    }

    /// The wire name, e.g. `timedout` or `frequencyCapReached`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Qualified => "qualified",
            State::Offered => "offered",
            State::Accepted => "accepted",
            State::Rejected => "rejected",
            State::Ignored => "ignored",
            State::Timedout => "timedout",
            State::Errored => "errored",
            State::Started => "started",
            State::Engaged => "engaged",
            State::Abandoned => "abandoned",
            State::Completed => "completed",
            State::FrequencyCapReached => "frequencyCapReached",
            State::QualifiedOutsideSchedule => "qualifiedOutsideSchedule",
            State::OfferedOutsideSchedule => "offeredOutsideSchedule",
        }
    }

    /// A small dense index (0..14), handy for per-state tables and counters.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the fourteen state names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state '{0}'")]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    /// Parses a wire name exactly (case-sensitive, as topics require).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "qualified" => State::Qualified,
            "offered" => State::Offered,
            "accepted" => State::Accepted,
            "rejected" => State::Rejected,
            "ignored" => State::Ignored,
            "timedout" => State::Timedout,
            "errored" => State::Errored,
            "started" => State::Started,
            "engaged" => State::Engaged,
            "abandoned" => State::Abandoned,
            "completed" => State::Completed,
            "frequencyCapReached" => State::FrequencyCapReached,
            "qualifiedOutsideSchedule" => State::QualifiedOutsideSchedule,
            "offeredOutsideSchedule" => State::OfferedOutsideSchedule,
            other => return Err(UnknownState(other.to_owned())),
        })
    }
}
