//! Schedule groups: the business hours an action map's `actionMapScheduleGroups` refer to.
//!
//! In Genesys these are Architect schedule groups (RRULE-based schedules, outside the journey
//! API). Beckon has no Architect, so it defines a small shape of its own (ours): a time zone,
//! weekly opening hours, and closed periods (holidays) in local time. The same shape serves as
//! the emergency group, which is "in effect" while it is open.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A named set of opening hours in one IANA time zone.
///
/// ```json
/// { "id": "…", "name": "Support desk", "timeZone": "Europe/Paris",
///   "openHours": [ { "days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:30" } ],
///   "closedPeriods": [ { "start": "2026-12-24T00:00", "end": "2026-12-27T00:00" } ] }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleGroup {
    pub id: Uuid,
    #[serde(default)]
    pub name: String,
    /// An IANA time zone name such as `America/New_York`; the database is compiled in.
    pub time_zone: String,
    /// Weekly windows; the group is open inside any of them.
    #[serde(default)]
    pub open_hours: Vec<OpenHours>,
    /// Local date-time ranges (start inclusive, end exclusive) when the group is closed anyway.
    #[serde(default)]
    pub closed_periods: Vec<ClosedPeriod>,
}

/// A weekly window. `end` before `start` spans midnight and belongs to the day it starts on;
/// `end` equal to `start` is the whole day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenHours {
    pub days: Vec<Weekday>,
    /// `HH:MM`, local time.
    pub start: String,
    /// `HH:MM`, local time, exclusive.
    pub end: String,
}

/// A local date-time range, `YYYY-MM-DDTHH:MM` (seconds optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosedPeriod {
    pub start: String,
    pub end: String,
}

/// A day of the week, spelled `mon` … `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// Monday = 0 … Sunday = 6.
    pub fn index(self) -> u8 {
        self as u8
    }
}
