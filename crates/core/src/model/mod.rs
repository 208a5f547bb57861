//! The configuration Beckon decides with: action maps, action templates (content offers),
//! journey segments and schedule groups, in the exact JSON shapes of the Genesys admin API
//! (`/api/v2/journey/actionmaps`, `/actiontemplates`, `/segments`).
//!
//! Two kinds of mistakes are told apart:
//! - a wrong *shape* (a string where a number belongs, an id that is not a UUID, a date that is
//!   not RFC 3339) fails deserialization, as for any JSON body;
//! - a wrong *value* (an operator outside the twelve, `webMessagingOffer`, a weight of 7, a start
//!   after the end, a segment that does not exist) deserializes, round-trips unchanged, and is
//!   reported by [`Catalog::build`] as a [`ValidationError`] naming the field and the reason.
//!
//! So enum-like fields ([`Operator`], [`ActionMediaType`], [`ActivationType`], …) keep the
//! spelling they were given when it is not one Beckon knows, and documented Genesys fields that
//! Beckon does not run (outcome triggers, Architect flow fields) are kept as JSON values.

mod action_map;
mod catalog;
mod operator;
mod schedule;
mod segment;
mod template;
mod validate;

pub(crate) use validate::attribute_name;

pub use action_map::{
    ActionMap, ActionMapAction, ActionMapScheduleGroups, ActionMediaType, ActionProperties,
    ActionSurvey, Activation, ActivationType, EntityRef, EventCondition, SurveyQuestion,
    UrlCondition,
};
pub use catalog::Catalog;
pub use operator::Operator;
pub use schedule::{ClosedPeriod, OpenHours, ScheduleGroup, Weekday};
pub use segment::{
    Context, ContextPattern, Criteria, EntityTypeCriteria, Journey, JourneyPattern, JourneySegment,
    SegmentScope,
};
pub use template::{
    ActionTemplate, CallToAction, CloseButtonStyle, ContentOffer, ContentOfferStyle,
    ContentPosition, CtaButtonStyle, OfferStyle, TemplateState, TextStyle,
};

use std::fmt;

/// One thing wrong with the configuration: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValidationError {
    /// A JSON-path-like location, starting at the object that is wrong, e.g.
    /// `actionMaps[3].pageUrlConditions[0].values[1]` or `segments[0].context.patterns[0]`.
    pub field: String,
    /// What is wrong, in a sentence for a person.
    pub reason: String,
}

impl ValidationError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ValidationError {}

/// Serde helper: `true` when a boolean is absent (Genesys defaults `isActive` to true).
pub(crate) fn yes() -> bool {
    true
}
