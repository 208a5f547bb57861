//! The value rules of each configuration object, with paths relative to the object.
//!
//! Rules that need other objects (does segment X exist?) live in [`super::Catalog`].

use super::ValidationError;
use super::action_map::{
    ActionMap, ActionProperties, ActionSurvey, ActivationType, EventCondition, UrlCondition,
};
use super::operator::Operator;
use super::schedule::{ClosedPeriod, ScheduleGroup};
use super::segment::{JourneySegment, SegmentScope};
use super::template::{ActionTemplate, ContentOffer, TemplateState};
use crate::media::MediaType;

/// Visit attribute keys (Genesys reference 4.3, context criteria; plus the parts of the page,
/// the referrer and the device that the web event response carries).
pub(crate) const VISIT_KEYS: &[&str] = &[
    "device.category",
    "device.type",
    "device.isMobile",
    "device.osFamily",
    "device.osVersion",
    "device.manufacturer",
    "os.family",
    "os.version",
    "browser.family",
    "browser.version",
    "browser.lang",
    "mktCampaign.source",
    "mktCampaign.medium",
    "mktCampaign.name",
    "mktCampaign.term",
    "mktCampaign.content",
    "mktCampaign.clickId",
    "mktCampaign.network",
    "geolocation.countryName",
    "geolocation.country",
    "geolocation.locality",
    "geolocation.region",
    "geolocation.regionName",
    "geolocation.postalCode",
    "geolocation.timezone",
    "ipOrganization",
    "referrer.url",
    "referrer.medium",
    "referrer.hostname",
    "referrer.domain",
    "referrer.pathname",
    "referrer.queryString",
    "referrer.fragment",
    "referrer.keywords",
    "referrer.name",
    "authenticated",
];

/// Event keys (Genesys reference 4.3, journey criteria and event conditions), besides
/// `attributes.<name>.value`.
pub(crate) const EVENT_KEYS: &[&str] = &[
    "eventName",
    "page.url",
    "page.title",
    "page.hostname",
    "page.domain",
    "page.fragment",
    "page.keywords",
    "page.pathname",
    "page.queryString",
    "page.lang",
    "searchQuery",
];

/// Whether `key` names a custom event attribute, `attributes.<name>.value`.
pub(crate) fn attribute_name(key: &str) -> Option<&str> {
    let name = key.strip_prefix("attributes.")?.strip_suffix(".value")?;
    (!name.is_empty()).then_some(name)
}

pub(crate) fn is_known_key(key: &str) -> bool {
    VISIT_KEYS.contains(&key) || EVENT_KEYS.contains(&key) || attribute_name(key).is_some()
}

fn unknown_key(key: &str) -> String {
    format!(
        "unknown key '{key}'; expected a visit key such as device.category, browser.family, \
         mktCampaign.source, geolocation.country or referrer.hostname, an event key such as \
         eventName or page.url, or attributes.<name>.value"
    )
}

/// Checks one operator with its values, as used in criteria and event conditions.
fn check_operator(
    errors: &mut Vec<ValidationError>,
    path: &str,
    operator: &Operator,
    values: &[String],
) {
    if let Operator::Other(name) = operator {
        errors.push(ValidationError::new(
            format!("{path}.operator"),
            Operator::unknown_reason(name),
        ));
    }
    if values.is_empty() {
        errors.push(ValidationError::new(
            format!("{path}.values"),
            "at least one value is required",
        ));
    }
    if operator.is_numeric() {
        for (i, v) in values.iter().enumerate() {
            if crate::decide::operators::parse_number(v).is_none() {
                errors.push(ValidationError::new(
                    format!("{path}.values[{i}]"),
                    format!("'{v}' is not a number, and {operator} compares numbers"),
                ));
            }
        }
    }
}

fn check_key(errors: &mut Vec<ValidationError>, path: &str, key: &str) {
    if !is_known_key(key) {
        errors.push(ValidationError::new(
            format!("{path}.key"),
            unknown_key(key),
        ));
    }
}

fn check_stream(
    errors: &mut Vec<ValidationError>,
    path: &str,
    stream_type: &str,
    session_type: &str,
) {
    if stream_type != "Web" {
        errors.push(ValidationError::new(
            format!("{path}.streamType"),
            format!("'{stream_type}' is not supported; Beckon tracks the Web stream only"),
        ));
    }
    if session_type != "web" {
        errors.push(ValidationError::new(
            format!("{path}.sessionType"),
            format!("'{session_type}' is not supported; Beckon tracks web sessions only"),
        ));
    }
}

fn has_protocol(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Page URL conditions (Genesys "Apply to pages"): the syntax is checked, `equal`, `notEqual`
/// and `startsWith` need a full URL with its protocol, and an `equal` condition stands alone.
fn check_url_conditions(errors: &mut Vec<ValidationError>, conditions: &[UrlCondition]) {
    let has_equal = conditions.iter().any(|c| c.operator == Operator::Equal);
    for (i, c) in conditions.iter().enumerate() {
        let path = format!("pageUrlConditions[{i}]");
        match &c.operator {
            Operator::Other(name) => errors.push(ValidationError::new(
                format!("{path}.operator"),
                Operator::unknown_reason(name),
            )),
            op if op.is_numeric() => errors.push(ValidationError::new(
                format!("{path}.operator"),
                format!("{op} compares numbers and cannot be used on a page URL"),
            )),
            _ => {}
        }
        if has_equal && conditions.len() > 1 && c.operator == Operator::Equal {
            errors.push(ValidationError::new(
                format!("{path}.operator"),
                "an equal condition must be the only page URL condition (list the URLs as \
                 values of it instead)",
            ));
        }
        if c.values.is_empty() {
            errors.push(ValidationError::new(
                format!("{path}.values"),
                "at least one value is required",
            ));
        }
        let needs_protocol = matches!(
            c.operator,
            Operator::Equal | Operator::NotEqual | Operator::StartsWith
        );
        for (j, v) in c.values.iter().enumerate() {
            let vpath = format!("{path}.values[{j}]");
            if v.trim().is_empty() {
                errors.push(ValidationError::new(vpath, "must not be empty"));
            } else if v.chars().any(char::is_whitespace) {
                errors.push(ValidationError::new(vpath, "a URL must not contain spaces"));
            } else if needs_protocol && !has_protocol(v) {
                errors.push(ValidationError::new(
                    vpath,
                    format!(
                        "{} needs a full URL with its protocol, e.g. https://example.com/pricing",
                        c.operator
                    ),
                ));
            } else if needs_protocol && url::Url::parse(v).is_err() {
                errors.push(ValidationError::new(
                    vpath,
                    format!("'{v}' is not a valid URL"),
                ));
            }
        }
    }
}

fn check_event_condition(errors: &mut Vec<ValidationError>, path: &str, c: &EventCondition) {
    check_key(errors, path, &c.key);
    check_operator(errors, path, &c.operator, &c.values);
    check_stream(errors, path, &c.stream_type, &c.session_type);
}

impl ActionMap {
    /// The rules this map must follow on its own; paths are relative to the map.
    /// References to segments, templates and schedule groups are checked by
    /// [`Catalog::check_map`](super::Catalog::check_map).
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        if self.display_name.trim().is_empty() {
            errors.push(ValidationError::new("displayName", "must not be empty"));
        }
        match (
            self.trigger_with_segments.is_empty(),
            self.trigger_with_event_conditions.is_empty(),
        ) {
            (true, true) => errors.push(ValidationError::new(
                "triggerWithSegments",
                "a map needs a trigger: triggerWithSegments or triggerWithEventConditions",
            )),
            (false, false) => errors.push(ValidationError::new(
                "triggerWithEventConditions",
                "segment triggers cannot be combined with event conditions (as in Genesys)",
            )),
            _ => {}
        }
        for (name, list) in [
            (
                "triggerWithOutcomeProbabilityConditions",
                &self.trigger_with_outcome_probability_conditions,
            ),
            (
                "triggerWithOutcomePercentileConditions",
                &self.trigger_with_outcome_percentile_conditions,
            ),
            (
                "triggerWithOutcomeQuantileConditions",
                &self.trigger_with_outcome_quantile_conditions,
            ),
        ] {
            if list.as_ref().is_some_and(|l| !l.is_empty()) {
                errors.push(ValidationError::new(
                    name,
                    "outcome triggers are deprecated by Genesys and not supported by Beckon",
                ));
            }
        }
        for (i, c) in self.trigger_with_event_conditions.iter().enumerate() {
            check_event_condition(&mut errors, &format!("triggerWithEventConditions[{i}]"), c);
        }
        check_url_conditions(&mut errors, &self.page_url_conditions);
        if let Some(a) = &self.activation {
            match &a.kind {
                ActivationType::Other(t) => errors.push(ValidationError::new(
                    "activation.type",
                    format!(
                        "unknown activation type '{t}'; expected immediate, delay, \
                         on-next-visit or on-next-session"
                    ),
                )),
                ActivationType::Delay => match a.delay_in_seconds {
                    None | Some(0) => errors.push(ValidationError::new(
                        "activation.delayInSeconds",
                        "a delay activation needs delayInSeconds of at least 1",
                    )),
                    Some(d) if d > 86_400 => errors.push(ValidationError::new(
                        "activation.delayInSeconds",
                        format!("{d} s is longer than a day; a delay is counted on one page"),
                    )),
                    _ => {}
                },
                _ => {}
            }
        }
        if let Some(w) = self.weight
            && !Self::WEIGHT_RANGE.contains(&w)
        {
            errors.push(ValidationError::new(
                "weight",
                format!("{w} is out of range; weight is 1 (low), 2 (medium) or 3 (high)"),
            ));
        }
        if let Some(t) = self
            .action
            .props
            .as_ref()
            .and_then(|p| p.webchat_timeout_seconds)
            && !ActionProperties::TIMEOUT_RANGE.contains(&t)
        {
            errors.push(ValidationError::new(
                "action.props.webchatTimeoutSeconds",
                format!(
                    "{t} s is out of range; an invitation waits {} to {} s",
                    ActionProperties::TIMEOUT_RANGE.start(),
                    ActionProperties::TIMEOUT_RANGE.end()
                ),
            ));
        }
        if let Some(survey) = self
            .action
            .props
            .as_ref()
            .and_then(|p| p.webchat_survey.as_ref())
            && survey.questions.len() > ActionSurvey::MAX_QUESTIONS
        {
            errors.push(ValidationError::new(
                "action.props.webchatSurvey.questions",
                format!(
                    "{} questions; a pre-chat form has at most {}",
                    survey.questions.len(),
                    ActionSurvey::MAX_QUESTIONS
                ),
            ));
        }
        match self.action.media_type.get() {
            Err(e) => errors.push(ValidationError::new("action.mediaType", e.to_string())),
            Ok(MediaType::Contentoffer) if self.action.action_template.is_none() => {
                errors.push(ValidationError::new(
                    "action.actionTemplate",
                    "a contentOffer action needs an actionTemplate",
                ))
            }
            Ok(_) => {}
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date)
            && start >= end
        {
            errors.push(ValidationError::new(
                "endDate",
                format!("must be after startDate ({start})"),
            ));
        }
        errors
    }
}

impl JourneySegment {
    /// The rules this segment must follow; paths are relative to the segment.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        if self.display_name.trim().is_empty() {
            errors.push(ValidationError::new("displayName", "must not be empty"));
        }
        if let Some(color) = &self.color {
            let ok = color.len() == 7
                && color.starts_with('#')
                && color[1..].chars().all(|c| c.is_ascii_hexdigit());
            if !ok {
                errors.push(ValidationError::new(
                    "color",
                    format!("'{color}' is not a color of the form #RRGGBB"),
                ));
            }
        }
        if let SegmentScope::Other(s) = &self.scope {
            errors.push(ValidationError::new(
                "scope",
                format!("unknown scope '{s}'; expected Session or Customer"),
            ));
        }
        if self.context.patterns.is_empty() && self.journey.patterns.is_empty() {
            errors.push(ValidationError::new(
                "context.patterns",
                "a segment needs at least one condition (context or journey)",
            ));
        }
        for (i, p) in self.context.patterns.iter().enumerate() {
            if p.criteria.is_empty() {
                errors.push(ValidationError::new(
                    format!("context.patterns[{i}].criteria"),
                    "at least one criterion is required",
                ));
            }
            for (j, c) in p.criteria.iter().enumerate() {
                let path = format!("context.patterns[{i}].criteria[{j}]");
                check_key(&mut errors, &path, &c.key);
                check_operator(&mut errors, &path, &c.operator, &c.values);
                if c.entity_type != "visit" {
                    errors.push(ValidationError::new(
                        format!("{path}.entityType"),
                        format!("'{}' is not supported; it is always visit", c.entity_type),
                    ));
                }
            }
        }
        for (i, p) in self.journey.patterns.iter().enumerate() {
            let path = format!("journey.patterns[{i}]");
            if p.count == 0 {
                errors.push(ValidationError::new(
                    format!("{path}.count"),
                    "must be at least 1",
                ));
            }
            check_stream(&mut errors, &path, &p.stream_type, &p.session_type);
            if p.criteria.is_empty() && p.event_name.is_none() {
                errors.push(ValidationError::new(
                    format!("{path}.criteria"),
                    "a journey pattern needs criteria or an eventName",
                ));
            }
            for (j, c) in p.criteria.iter().enumerate() {
                let cpath = format!("{path}.criteria[{j}]");
                check_key(&mut errors, &cpath, &c.key);
                check_operator(&mut errors, &cpath, &c.operator, &c.values);
            }
        }
        errors
    }
}

impl ActionTemplate {
    /// The rules this template must follow; paths are relative to the template.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(ValidationError::new("name", "must not be empty"));
        }
        match self.media_type.get() {
            Err(e) => errors.push(ValidationError::new("mediaType", e.to_string())),
            Ok(MediaType::Webchat) => errors.push(ValidationError::new(
                "mediaType",
                "Beckon templates are content offers: mediaType must be contentOffer",
            )),
            Ok(MediaType::Contentoffer) => {}
        }
        if let TemplateState::Other(s) = &self.state {
            errors.push(ValidationError::new(
                "state",
                format!("unknown state '{s}'; expected Active, Inactive or Deleted"),
            ));
        }
        match &self.content_offer {
            None => errors.push(ValidationError::new(
                "contentOffer",
                "a contentOffer template needs its contentOffer",
            )),
            Some(offer) => {
                if !ContentOffer::DISPLAY_MODES.contains(&offer.display_mode.as_str()) {
                    errors.push(ValidationError::new(
                        "contentOffer.displayMode",
                        format!(
                            "unknown display mode '{}'; expected Modal, Overlay or Toast",
                            offer.display_mode
                        ),
                    ));
                }
                if !ContentOffer::LAYOUT_MODES.contains(&offer.layout_mode.as_str()) {
                    errors.push(ValidationError::new(
                        "contentOffer.layoutMode",
                        format!(
                            "unknown layout mode '{}'; expected one of {}",
                            offer.layout_mode,
                            ContentOffer::LAYOUT_MODES.join(", ")
                        ),
                    ));
                }
                // Every layout but TextOnly shows the image: without one the SDK could show only
                // part of what the layout promises, on every page view.
                if offer.layout_mode != "TextOnly"
                    && ContentOffer::LAYOUT_MODES.contains(&offer.layout_mode.as_str())
                    && offer
                        .image_url
                        .as_deref()
                        .is_none_or(|u| u.trim().is_empty())
                {
                    errors.push(ValidationError::new(
                        "contentOffer.imageUrl",
                        format!(
                            "layoutMode {} shows an image, so imageUrl is required (or use \
                             layoutMode TextOnly)",
                            offer.layout_mode
                        ),
                    ));
                }
                // The SDK resolves an image's URL against the page (a path is fine) and draws
                // only http(s) ones: anything else (`javascript:`, `data:`) is refused here rather
                // than saved to fail on every page view as an `errored` offer.
                if let Some(problem) = offer
                    .image_url
                    .as_deref()
                    .filter(|u| !u.trim().is_empty())
                    .and_then(image_url_problem)
                {
                    errors.push(ValidationError::new("contentOffer.imageUrl", problem));
                }
                if let Some(cta) = &offer.call_to_action {
                    match url::Url::parse(&cta.url) {
                        Err(_) => errors.push(ValidationError::new(
                            "contentOffer.callToAction.url",
                            format!("'{}' is not an absolute URL", cta.url),
                        )),
                        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                            errors.push(ValidationError::new(
                                "contentOffer.callToAction.url",
                                format!(
                                    "'{}' must be an http or https URL, not {}:",
                                    cta.url,
                                    u.scheme()
                                ),
                            ))
                        }
                        Ok(_) => {}
                    }
                    if let Some(t) = &cta.target
                        && t != "Blank"
                        && t != "Self"
                    {
                        errors.push(ValidationError::new(
                            "contentOffer.callToAction.target",
                            format!("unknown target '{t}'; expected Blank or Self"),
                        ));
                    }
                }
            }
        }
        errors
    }
}

/// Why an image URL could not be drawn, resolved as the SDK resolves it on an http(s) page:
/// another scheme (`javascript:`, `data:`), or text that is no URL; `None` for an http(s) URL or
/// a path.
fn image_url_problem(image: &str) -> Option<String> {
    let page = url::Url::parse("https://page.invalid/").ok()?;
    match url::Url::options().base_url(Some(&page)).parse(image) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => None,
        Ok(u) => Some(format!(
            "'{image}' must be an http or https URL (or a path), not {}:",
            u.scheme()
        )),
        Err(e) => Some(format!("'{image}' is not a URL ({e})")),
    }
}

impl ScheduleGroup {
    /// The rules this schedule group must follow; paths are relative to it.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            errors.push(ValidationError::new(
                "timeZone",
                format!(
                    "unknown time zone '{}'; expected an IANA name such as Europe/Paris",
                    self.time_zone
                ),
            ));
        }
        for (i, h) in self.open_hours.iter().enumerate() {
            if h.days.is_empty() {
                errors.push(ValidationError::new(
                    format!("openHours[{i}].days"),
                    "at least one day is required",
                ));
            }
            for (name, value) in [("start", &h.start), ("end", &h.end)] {
                if crate::decide::schedule::parse_hhmm(value).is_none() {
                    errors.push(ValidationError::new(
                        format!("openHours[{i}].{name}"),
                        format!("'{value}' is not a time of day HH:MM"),
                    ));
                }
            }
        }
        for (i, ClosedPeriod { start, end }) in self.closed_periods.iter().enumerate() {
            let s = crate::decide::schedule::parse_local(start);
            let e = crate::decide::schedule::parse_local(end);
            if s.is_none() {
                errors.push(ValidationError::new(
                    format!("closedPeriods[{i}].start"),
                    format!("'{start}' is not a local date-time YYYY-MM-DDTHH:MM"),
                ));
            }
            if e.is_none() {
                errors.push(ValidationError::new(
                    format!("closedPeriods[{i}].end"),
                    format!("'{end}' is not a local date-time YYYY-MM-DDTHH:MM"),
                ));
            }
            if let (Some(s), Some(e)) = (s, e)
                && s >= e
            {
                errors.push(ValidationError::new(
                    format!("closedPeriods[{i}].end"),
                    "must be after start",
                ));
            }
        }
        errors
    }
}
