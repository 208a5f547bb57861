//! The two kinds of web action Beckon runs (spec section 2).
//!
//! Events and topics spell them `webchat` and `contentoffer`; the Genesys admin API spells the
//! second `contentOffer` inside action maps and templates. Both spellings live here so that no
//! other module has to know about the difference.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The media type of a web action, as it appears in events and topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    /// A proactive chat invitation that can lead to a conversation with an agent.
    Webchat,
    /// A content offer (a template shown as a modal, overlay or toast).
    Contentoffer,
}

/// Media types the Genesys admin API knows but Beckon does not run; refused by name.
pub const UNSUPPORTED_GENESYS_MEDIA_TYPES: [&str; 4] = [
    "webMessagingOffer",
    "architectFlow",
    "openAction",
    "integrationAction",
];

impl MediaType {
    /// Both media types, in the order the spec lists them.
    pub const ALL: [MediaType; 2] = [MediaType::Webchat, MediaType::Contentoffer];

    /// The spelling used in events and topics.
    pub const fn as_str(self) -> &'static str {
        match self {
            MediaType::Webchat => "webchat",
            MediaType::Contentoffer => "contentoffer",
        }
    }

    /// The spelling used by the Genesys admin API (`actionMaps`, `actionTemplates`).
    pub const fn genesys_name(self) -> &'static str {
        match self {
            MediaType::Webchat => "webchat",
            MediaType::Contentoffer => "contentOffer",
        }
    }

    /// Parses the Genesys admin API spelling, naming unsupported Genesys media types as such.
    pub fn from_genesys_name(name: &str) -> Result<MediaType, UnknownMediaType> {
        match name {
            "webchat" => Ok(MediaType::Webchat),
            "contentOffer" => Ok(MediaType::Contentoffer),
            other => Err(UnknownMediaType::new(other)),
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediaType {
    type Err = UnknownMediaType;

    /// Parses the event spelling (`webchat`, `contentoffer`), exactly and case-sensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "webchat" => Ok(MediaType::Webchat),
            "contentoffer" => Ok(MediaType::Contentoffer),
            other => Err(UnknownMediaType::new(other)),
        }
    }
}

/// A media type name that Beckon does not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct UnknownMediaType {
    /// The name as it was given.
    pub name: String,
}

impl UnknownMediaType {
    fn new(name: &str) -> Self {
        UnknownMediaType {
            name: name.to_owned(),
        }
    }

    /// Whether the name is a Genesys media type that Beckon deliberately does not support.
    pub fn is_unsupported_genesys_type(&self) -> bool {
        UNSUPPORTED_GENESYS_MEDIA_TYPES.contains(&self.name.as_str())
    }

    fn describe(&self) -> String {
        if self.is_unsupported_genesys_type() {
            format!(
                "media type '{}' is a Genesys media type that Beckon does not support; supported: webchat, contentoffer",
                self.name
            )
        } else {
            format!(
                "unknown media type '{}'; supported: webchat, contentoffer",
                self.name
            )
        }
    }
}
