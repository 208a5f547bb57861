//! Topics: what a subscriber listens to (spec section 4.1).
//!
//! A topic is `<mediaType>:<state>` or `<mediaType>:all`, exactly and case-sensitively. The
//! browser's `ac('on', …)`, the server's event stream and `beckon tail` all parse topics here, so a
//! topic means the same thing everywhere. Refusals explain what is wrong and, where one is close,
//! suggest the nearest valid topic.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::media::MediaType;
use crate::state::State;
use crate::text::concat;

/// A parsed topic: one media type, and one state or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic {
    /// The media type the topic is about.
    pub media: MediaType,
    /// The state it selects; `None` is `all`.
    pub state: Option<State>,
}

impl Topic {
    /// The topic `<media>:<state>`.
    pub const fn exact(media: MediaType, state: State) -> Topic {
        Topic {
            media,
            state: Some(state),
        }
    }

    /// The topic `<media>:all`.
    pub const fn all(media: MediaType) -> Topic {
        Topic { media, state: None }
    }

    /// Whether an event of this media type and state is delivered to this topic's subscribers.
    #[inline]
    pub fn matches(&self, media: MediaType, state: State) -> bool {
        self.media == media && self.state.is_none_or(|s| s == state)
    }

    /// `<media>:<state>` or `<media>:all`, as [`fmt::Display`] writes it, without `core::fmt`
    /// (the browser SDK's WebAssembly has a size budget and links no formatting machinery).
    pub fn text(&self) -> String {
        concat(&[
            self.media.as_str(),
            ":",
            self.state.map_or("all", State::as_str),
        ])
    }

    /// Every valid topic, as text (used for suggestions and documentation).
    pub fn all_valid() -> impl Iterator<Item = Topic> {
        MediaType::ALL.into_iter().flat_map(|media| {
            std::iter::once(Topic::all(media))
                .chain(State::ALL.into_iter().map(move |s| Topic::exact(media, s)))
        })
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state {
            Some(state) => write!(f, "{}:{}", self.media, state),
            None => write!(f, "{}:all", self.media),
        }
    }
}

impl FromStr for Topic {
    type Err = TopicError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((media, state)) = text.split_once(':') else {
            return Err(TopicError::new(
                text,
                if text.is_empty() {
                    TopicErrorKind::Empty
                } else {
                    TopicErrorKind::MissingState
                },
            ));
        };
        let media = match media {
            "webchat" => MediaType::Webchat,
            "contentoffer" => MediaType::Contentoffer,
            _ => return Err(TopicError::new(text, TopicErrorKind::UnknownMediaType)),
        };
        if state == "all" {
            return Ok(Topic::all(media));
        }
        match state.parse::<State>() {
            Ok(state) => Ok(Topic::exact(media, state)),
            Err(_) if state.contains(':') => {
                Err(TopicError::new(text, TopicErrorKind::TooManyParts))
            }
            Err(_) => Err(TopicError::new(text, TopicErrorKind::UnknownState)),
        }
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What is wrong with a refused topic. The names are the ones the shared test vectors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TopicErrorKind {
    /// The topic is the empty string.
    Empty,
    /// There is no `:<state>` part (`webchat`, `all`).
    MissingState,
    /// The part before `:` is not `webchat` or `contentoffer` (this includes wrong case).
    UnknownMediaType,
    /// The part after `:` is neither `all` nor one of the fourteen states (`*` included).
    UnknownState,
    /// More than one `:`.
    TooManyParts,
}

/// A refused topic, with the reason and the nearest valid topic when one is close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TopicError {
    /// The topic as given.
    pub topic: String,
    /// What is wrong with it.
    pub kind: TopicErrorKind,
    /// The nearest valid topic, if one is close enough to be a likely intent.
    pub suggestion: Option<Topic>,
}

impl TopicError {
    fn new(topic: &str, kind: TopicErrorKind) -> TopicError {
        TopicError {
            topic: topic.to_owned(),
            kind,
            suggestion: suggest(topic),
        }
    }
}

impl TopicError {
    /// What [`fmt::Display`] writes, built without `core::fmt` (see [`Topic::text`]).
    pub fn message(&self) -> String {
        let topic = self.topic.as_str();
        let mut message = match self.kind {
            TopicErrorKind::Empty => "the topic is empty".to_owned(),
            TopicErrorKind::MissingState => concat(&["topic '", topic, "' has no ':<state>' part"]),
            TopicErrorKind::UnknownMediaType => {
                let media = topic.split(':').next().unwrap_or_default();
                concat(&[
                    "topic '",
                    topic,
                    "' names an unknown media type '",
                    media,
                    "' (media types are lower case)",
                ])
            }
            TopicErrorKind::UnknownState => {
                let state = topic.split_once(':').map_or("", |(_, s)| s);
                concat(&[
                    "topic '",
                    topic,
                    "' names an unknown state '",
                    state,
                    "' (states are case-sensitive; use 'all' for every state)",
                ])
            }
            TopicErrorKind::TooManyParts => concat(&["topic '", topic, "' has more than one ':'"]),
        };
        message.push_str(
            "; a topic is '<mediaType>:<state>' or '<mediaType>:all', where mediaType is webchat or contentoffer and state is one of ",
        );
        State::push_names(&mut message, &State::ALL);
        if let Some(suggestion) = self.suggestion {
            message.push_str("; did you mean '");
            message.push_str(&suggestion.text());
            message.push_str("'?");
        }
        message
    }
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// The valid topic closest to `text`, judged case-insensitively by edit distance, treating `*`
/// as `all` and a lone media type as `<media>:all`. Only slow paths (refusals) call this.
fn suggest(text: &str) -> Option<Topic> {
    let wanted = normalize(text);
    if wanted.is_empty() {
        return None;
    }
    // The topics of `all_valid`, in its order, by plain loops: the browser SDK links this, and
    // the iterator adapters would be code of their own in its size-budgeted module.
    let mut best: Option<(Topic, usize)> = None;
    for &media in &MediaType::ALL {
        for index in 0..State::ALL.len() + 1 {
            let topic = Topic {
                media,
                state: index.checked_sub(1).map(|i| State::ALL[i]),
            };
            let distance = edit_distance(&wanted, &topic.text().to_ascii_lowercase());
            if best.is_none_or(|(_, d)| distance < d) {
                best = Some((topic, distance));
            }
        }
    }
    let (best, distance) = best?;
    let tolerance = (wanted.chars().count() / 3).max(2);
    (distance <= tolerance).then_some(best)
}

fn normalize(text: &str) -> String {
    let mut lower = String::new();
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        lower.push(c.to_ascii_lowercase());
    }
    match lower.split_once(':') {
        None if MediaType::ALL.iter().any(|m| m.as_str() == lower) => lower + ":all",
        None if lower == "all" || lower == "*" => String::new(),
        Some((media, "*" | "" | "any")) => concat(&[media, ":all"]),
        _ => lower,
    }
}

/// Levenshtein distance over chars; topics are short, so the quadratic table is fine. `b` is
/// read again for each char of `a` rather than collected once (no `Vec<char>` code in the SDK).
fn edit_distance(a: &str, b: &str) -> usize {
    let mut row = Vec::new();
    for j in 0..b.chars().count() + 1 {
        row.push(j);
    }
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.chars().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[row.len() - 1]
}
