//! The catalog compiled for deciding, and its indexes.
//!
//! Deciding must not scan every map: a map can only qualify through a segment the customer has
//! or an event the session saw, and a map already qualified in the session is named by the
//! customer's history. So the maps are indexed by trigger (segment → maps, event name → maps),
//! their page URL conditions by value (see [`super::page_url`]), and each segment's and map's
//! conditions are compiled once (operators prepared, values lower-cased, keys resolved to
//! fields).

use std::collections::HashMap;

use uuid::Uuid;

use super::operators::Test;
use super::page_url::UrlConditions;
use super::schedule::CompiledSchedule;
use super::visit::{JourneyEvent, Page, Visit};
use crate::event::Timestamp;
use crate::media::MediaType;
use crate::model::{ActionMap, ActivationType, Catalog, JourneySegment, Operator, SegmentScope};

/// A criteria key resolved to the field it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    EventName,
    SearchQuery,
    Page(PageField),
    Referrer(RefField),
    Attribute(Box<str>),
    DeviceCategory,
    DeviceType,
    DeviceIsMobile,
    OsFamily,
    OsVersion,
    DeviceManufacturer,
    BrowserFamily,
    BrowserVersion,
    BrowserLang,
    Campaign(u8),
    Geo(u8),
    IpOrganization,
    Authenticated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageField {
    Url,
    Title,
    Hostname,
    Domain,
    Pathname,
    QueryString,
    Fragment,
    Keywords,
    Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefField {
    Url,
    Medium,
    Hostname,
    Domain,
    Pathname,
    QueryString,
    Fragment,
    Keywords,
    Name,
}

impl Key {
    /// Resolves a key validation accepted.
    pub(crate) fn parse(key: &str) -> Key {
        if let Some(name) = crate::model::attribute_name(key) {
            return Key::Attribute(name.into());
        }
        let page = |f| Key::Page(f);
        let referrer = |f| Key::Referrer(f);
        match key {
            "eventName" => Key::EventName,
            "searchQuery" => Key::SearchQuery,
            "page.url" => page(PageField::Url),
            "page.title" => page(PageField::Title),
            "page.hostname" => page(PageField::Hostname),
            "page.domain" => page(PageField::Domain),
            "page.pathname" => page(PageField::Pathname),
            "page.queryString" => page(PageField::QueryString),
            "page.fragment" => page(PageField::Fragment),
            "page.keywords" => page(PageField::Keywords),
            "page.lang" => page(PageField::Lang),
            "referrer.url" => referrer(RefField::Url),
            "referrer.medium" => referrer(RefField::Medium),
            "referrer.hostname" => referrer(RefField::Hostname),
            "referrer.domain" => referrer(RefField::Domain),
            "referrer.pathname" => referrer(RefField::Pathname),
            "referrer.queryString" => referrer(RefField::QueryString),
            "referrer.fragment" => referrer(RefField::Fragment),
            "referrer.keywords" => referrer(RefField::Keywords),
            "referrer.name" => referrer(RefField::Name),
            "device.category" => Key::DeviceCategory,
            "device.type" => Key::DeviceType,
            "device.isMobile" => Key::DeviceIsMobile,
            "device.osFamily" | "os.family" => Key::OsFamily,
            "device.osVersion" | "os.version" => Key::OsVersion,
            "device.manufacturer" => Key::DeviceManufacturer,
            "browser.family" => Key::BrowserFamily,
            "browser.version" => Key::BrowserVersion,
            "browser.lang" => Key::BrowserLang,
            "mktCampaign.source" => Key::Campaign(0),
            "mktCampaign.medium" => Key::Campaign(1),
            "mktCampaign.name" => Key::Campaign(2),
            "mktCampaign.term" => Key::Campaign(3),
            "mktCampaign.content" => Key::Campaign(4),
            "mktCampaign.clickId" => Key::Campaign(5),
            "mktCampaign.network" => Key::Campaign(6),
            "geolocation.country" => Key::Geo(0),
            "geolocation.countryName" => Key::Geo(1),
            "geolocation.region" => Key::Geo(2),
            "geolocation.regionName" => Key::Geo(3),
            "geolocation.locality" => Key::Geo(4),
            "geolocation.postalCode" => Key::Geo(5),
            "geolocation.timezone" => Key::Geo(6),
            "ipOrganization" => Key::IpOrganization,
            _ => Key::Authenticated,
        }
    }
}

fn page_field(page: &Page, f: PageField) -> Option<&str> {
    match f {
        PageField::Url => Some(page.url.as_str()),
        PageField::Title => page.title.as_deref(),
        PageField::Hostname => page.hostname.as_deref(),
        PageField::Domain => page.domain.as_deref(),
        PageField::Pathname => page.pathname.as_deref(),
        PageField::QueryString => page.query_string.as_deref(),
        PageField::Fragment => page.fragment.as_deref(),
        PageField::Keywords => page.keywords.as_deref(),
        PageField::Lang => page.lang.as_deref(),
    }
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The value of a key for the visit (`page.*` is the current page; event-only keys are absent).
pub(crate) fn visit_value<'a>(visit: &'a Visit, key: &Key) -> Option<&'a str> {
    match key {
        Key::EventName | Key::Attribute(_) => None,
        Key::SearchQuery => visit.search_query.as_deref(),
        Key::Page(f) => page_field(&visit.page, *f),
        Key::Referrer(f) => {
            let r = visit.referrer.as_ref()?;
            match f {
                RefField::Url => Some(r.url.as_str()),
                RefField::Medium => Some(r.medium.as_str()),
                RefField::Hostname => r.hostname.as_deref(),
                RefField::Domain => r.domain.as_deref(),
                RefField::Pathname => r.pathname.as_deref(),
                RefField::QueryString => r.query_string.as_deref(),
                RefField::Fragment => r.fragment.as_deref(),
                RefField::Keywords => r.keywords.as_deref(),
                RefField::Name => r.name.as_deref(),
            }
        }
        Key::DeviceCategory => visit.device.category.as_deref(),
        Key::DeviceType => visit.device.kind.as_deref(),
        Key::DeviceIsMobile => visit.device.is_mobile.map(bool_str),
        Key::OsFamily => visit.device.os_family.as_deref(),
        Key::OsVersion => visit.device.os_version.as_deref(),
        Key::DeviceManufacturer => visit.device.manufacturer.as_deref(),
        Key::BrowserFamily => visit.browser.family.as_deref(),
        Key::BrowserVersion => visit.browser.version.as_deref(),
        Key::BrowserLang => visit.browser.lang.as_deref(),
        Key::Campaign(i) => {
            let c = &visit.mkt_campaign;
            [
                &c.source,
                &c.medium,
                &c.name,
                &c.term,
                &c.content,
                &c.click_id,
                &c.network,
            ][*i as usize]
                .as_deref()
        }
        Key::Geo(i) => {
            let g = &visit.geolocation;
            [
                &g.country,
                &g.country_name,
                &g.region,
                &g.region_name,
                &g.locality,
                &g.postal_code,
                &g.timezone,
            ][*i as usize]
                .as_deref()
        }
        Key::IpOrganization => visit.ip_organization.as_deref(),
        Key::Authenticated => Some(bool_str(visit.authenticated)),
    }
}

/// The value of a key for one event of the journey: the event's own fields, and the visit's
/// for visit keys (`device.category` is the same for every event of the session).
pub(crate) fn event_value<'a>(
    event: &'a JourneyEvent,
    visit: &'a Visit,
    key: &Key,
) -> Option<&'a str> {
    match key {
        Key::EventName => Some(event.event_name.as_str()),
        Key::Attribute(name) => event.attributes.get(&**name).map(String::as_str),
        Key::SearchQuery => event.search_query.as_deref(),
        Key::Page(f) => page_field(event.page.as_ref()?, *f),
        other => visit_value(visit, other),
    }
}

/// One criterion: a key and its test.
#[derive(Debug, Clone)]
pub(crate) struct Criterion {
    pub(crate) key: Key,
    pub(crate) test: Test,
}

impl Criterion {
    fn new(key: &str, operator: &Operator, values: &[String], ignore_case: bool) -> Criterion {
        Criterion {
            key: Key::parse(key),
            test: Test::new(operator, values, ignore_case),
        }
    }
}

/// A journey pattern: events (of one name, if given) whose criteria all hold, counted.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) event_name: Option<Box<str>>,
    pub(crate) criteria: Vec<Criterion>,
    pub(crate) count: u32,
}

/// A segment, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) id: Uuid,
    pub(crate) active: bool,
    pub(crate) customer_scope: bool,
    pub(crate) expiration_days: Option<u32>,
    /// Context criteria of all patterns (all must hold).
    pub(crate) context: Vec<Criterion>,
    pub(crate) journey: Vec<Pattern>,
}

/// An event condition of a trigger.
#[derive(Debug, Clone)]
pub(crate) struct EventCondition {
    pub(crate) event_name: Option<Box<str>>,
    pub(crate) criterion: Criterion,
}

/// A map, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Map {
    pub(crate) id: Uuid,
    pub(crate) version: u32,
    pub(crate) media: MediaType,
    pub(crate) active: bool,
    pub(crate) weight: i64,
    pub(crate) activation: ActivationType,
    pub(crate) delay_ms: i64,
    pub(crate) start: Option<Timestamp>,
    pub(crate) end: Option<Timestamp>,
    /// Positions in [`Compiled::segments`].
    pub(crate) segments: Vec<u32>,
    pub(crate) event_conditions: Vec<EventCondition>,
    /// Positions in [`Compiled::urls`].
    pub(crate) url_conditions: Box<[u32]>,
    pub(crate) schedule: Option<u32>,
    pub(crate) emergency: Option<u32>,
    pub(crate) ignore_frequency_cap: bool,
    pub(crate) pacing: bool,
}

/// What deciding needs, prepared once per catalog.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compiled {
    pub(crate) maps: Vec<Map>,
    pub(crate) map_by_id: HashMap<Uuid, u32>,
    pub(crate) segments: Vec<Segment>,
    pub(crate) segment_by_id: HashMap<Uuid, u32>,
    /// Per segment (same positions as `segments`): the maps it triggers.
    pub(crate) maps_by_segment: Vec<Vec<u32>>,
    /// Event-condition maps by the event name their conditions require.
    pub(crate) maps_by_event_name: HashMap<Box<str>, Vec<u32>>,
    /// Event-condition maps whose conditions name no event: candidates on any event.
    pub(crate) maps_on_any_event: Vec<u32>,
    pub(crate) schedules: Vec<CompiledSchedule>,
    /// The distinct page URL conditions, indexed.
    pub(crate) urls: UrlConditions,
}

fn compile_segment(s: &JourneySegment) -> Segment {
    Segment {
        id: s.id.unwrap_or_default(),
        active: s.is_active,
        customer_scope: s.scope == SegmentScope::Customer,
        expiration_days: s.assignment_expiration_days,
        context: s
            .context
            .patterns
            .iter()
            .flat_map(|p| &p.criteria)
            .map(|c| Criterion::new(&c.key, &c.operator, &c.values, c.should_ignore_case))
            .collect(),
        journey: s
            .journey
            .patterns
            .iter()
            .map(|p| Pattern {
                event_name: p.event_name.as_deref().map(Into::into),
                criteria: p
                    .criteria
                    .iter()
                    .map(|c| Criterion::new(&c.key, &c.operator, &c.values, c.should_ignore_case))
                    .collect(),
                count: p.count,
            })
            .collect(),
    }
}

impl Compiled {
    pub(crate) fn new(catalog: &Catalog) -> Compiled {
        let segments: Vec<Segment> = catalog.segments().iter().map(compile_segment).collect();
        let segment_pos: HashMap<Uuid, u32> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i as u32))
            .collect();
        let schedule_pos: HashMap<Uuid, u32> = catalog
            .schedule_groups()
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id, i as u32))
            .collect();
        let schedules = catalog
            .schedule_groups()
            .iter()
            .map(CompiledSchedule::new)
            .collect();
        let (urls, url_conditions) =
            UrlConditions::compile(catalog.maps().iter().map(|m| &m.page_url_conditions[..]));
        let mut compiled = Compiled {
            maps_by_segment: vec![Vec::new(); segments.len()],
            segments,
            segment_by_id: segment_pos,
            schedules,
            urls,
            ..Compiled::default()
        };
        for (m, urls) in catalog.maps().iter().zip(url_conditions) {
            let i = compiled.maps.len() as u32;
            let map = compile_map(m, urls, &compiled.segment_by_id, &schedule_pos);
            for &s in &map.segments {
                compiled.maps_by_segment[s as usize].push(i);
            }
            if !map.event_conditions.is_empty() {
                match map
                    .event_conditions
                    .iter()
                    .find_map(|c| c.event_name.clone())
                {
                    Some(name) => compiled.maps_by_event_name.entry(name).or_default().push(i),
                    None => compiled.maps_on_any_event.push(i),
                }
            }
            compiled.map_by_id.insert(map.id, i);
            compiled.maps.push(map);
        }
        compiled
    }
}

fn compile_map(
    m: &ActionMap,
    url_conditions: Box<[u32]>,
    segment_pos: &HashMap<Uuid, u32>,
    schedule_pos: &HashMap<Uuid, u32>,
) -> Map {
    let activation = m.activation();
    let groups = m.action_map_schedule_groups.as_ref();
    Map {
        id: m.id.unwrap_or_default(),
        version: m.version.unwrap_or(1),
        media: m.action.media_type.get().unwrap_or(MediaType::Webchat),
        active: m.is_active,
        weight: m.weight(),
        delay_ms: i64::from(activation.delay_in_seconds.unwrap_or(0)) * 1000,
        activation: activation.kind,
        start: m.start_date,
        end: m.end_date,
        segments: m
            .trigger_with_segments
            .iter()
            .filter_map(|s| segment_pos.get(s).copied())
            .collect(),
        event_conditions: m
            .trigger_with_event_conditions
            .iter()
            .map(|c| EventCondition {
                event_name: c.event_name.as_deref().map(Into::into),
                // EventCondition has no shouldIgnoreCase; Genesys says expressions are not
                // case-sensitive, so these compare ignoring case.
                criterion: Criterion::new(&c.key, &c.operator, &c.values, true),
            })
            .collect(),
        url_conditions,
        schedule: groups.and_then(|g| schedule_pos.get(&g.action_map_schedule_group.id).copied()),
        emergency: groups
            .and_then(|g| g.emergency_action_map_schedule_group.as_ref())
            .and_then(|e| schedule_pos.get(&e.id).copied()),
        ignore_frequency_cap: m.ignore_frequency_cap,
        pacing: m.action.is_pacing_enabled.unwrap_or(true),
    }
}
