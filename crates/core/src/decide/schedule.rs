//! Schedules (spec 6.3 "outside the schedule"): is a schedule group open at an instant?
//!
//! The instant is turned into local time in the group's IANA time zone (with the compiled-in
//! tz database, so daylight saving time is right on any host and in the browser). A group is open
//! when the local time falls in one of its weekly windows and in none of its closed periods.
//! A map with schedule groups is outside its schedule when its normal group is closed, or when
//! its emergency group is open (an emergency is in effect).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use crate::event::Timestamp;
use crate::model::ScheduleGroup;

/// Minutes after midnight of `HH:MM` (`24:00` is accepted as the end of the day).
pub(crate) fn parse_hhmm(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// A local date-time `YYYY-MM-DDTHH:MM[:SS]`.
pub(crate) fn parse_local(text: &str) -> Option<DateTime> {
    if text.len() < 16 {
        return None;
    }
    text.parse().ok()
}

/// A schedule group ready to answer "open at t?".
#[derive(Debug, Clone)]
pub(crate) struct CompiledSchedule {
    tz: TimeZone,
    /// (bit mask of days, Monday = bit 0; start minute; end minute)
    windows: Vec<(u8, u16, u16)>,
    closed: Vec<(DateTime, DateTime)>,
}

impl CompiledSchedule {
    /// Compiles a validated group.
    pub(crate) fn new(group: &ScheduleGroup) -> CompiledSchedule {
        let tz = TimeZone::get(&group.time_zone).unwrap_or(TimeZone::UTC);
        let windows = group
            .open_hours
            .iter()
            .filter_map(|h| {
                let mask = h.days.iter().fold(0u8, |m, d| m | (1 << d.index()));
                Some((mask, parse_hhmm(&h.start)?, parse_hhmm(&h.end)?))
            })
            .collect();
        let closed = group
            .closed_periods
            .iter()
            .filter_map(|p| Some((parse_local(&p.start)?, parse_local(&p.end)?)))
            .collect();
        CompiledSchedule {
            tz,
            windows,
            closed,
        }
    }

    /// Whether the group is open at `now`.
    pub(crate) fn is_open(&self, now: Timestamp) -> bool {
        let Ok(ts) = jiff::Timestamp::from_millisecond(now.unix_millis()) else {
            return false;
        };
        let local = self.tz.to_datetime(ts);
        if self.closed.iter().any(|(s, e)| *s <= local && local < *e) {
            return false;
        }
        let day = local.weekday().to_monday_zero_offset() as u8;
        let yesterday = (day + 6) % 7;
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        self.windows.iter().any(|&(mask, start, end)| {
            let on = |d: u8| mask & (1 << d) != 0;
            match start.cmp(&end) {
                std::cmp::Ordering::Less => on(day) && start <= minute && minute < end,
                std::cmp::Ordering::Equal => on(day),
                std::cmp::Ordering::Greater => {
                    (on(day) && minute >= start) || (on(yesterday) && minute < end)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClosedPeriod, OpenHours, Weekday};

    fn group(tz: &str, start: &str, end: &str, days: Vec<Weekday>) -> CompiledSchedule {
        CompiledSchedule::new(&ScheduleGroup {
            id: uuid::Uuid::nil(),
            name: String::new(),
            time_zone: tz.to_owned(),
            open_hours: vec![OpenHours {
                days,
                start: start.to_owned(),
                end: end.to_owned(),
            }],
            closed_periods: vec![ClosedPeriod {
                start: "2026-12-25T00:00".to_owned(),
                end: "2026-12-26T00:00".to_owned(),
            }],
        })
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn business_hours_across_dst() {
        let g = group("America/New_York", "09:00", "17:00", vec![Weekday::Mon]);
        // Monday 2026-03-02 09:30 EST = 14:30Z; Monday 2026-03-09 09:30 EDT = 13:30Z.
        assert!(g.is_open(at("2026-03-02T14:30:00Z")));
        assert!(g.is_open(at("2026-03-09T13:30:00Z")));
        assert!(!g.is_open(at("2026-03-02T13:30:00Z")));
        assert!(!g.is_open(at("2026-03-03T14:30:00Z")));
    }

    #[test]
    fn overnight_and_holidays() {
        let g = group("UTC", "22:00", "02:00", vec![Weekday::Thu]);
        assert!(g.is_open(at("2026-12-03T23:00:00Z"))); // Thursday night
        assert!(g.is_open(at("2026-12-04T01:00:00Z"))); // Friday early morning
        assert!(!g.is_open(at("2026-12-04T03:00:00Z")));
        let all = group("UTC", "00:00", "00:00", vec![Weekday::Fri]);
        assert!(all.is_open(at("2026-12-18T12:00:00Z")));
        assert!(!all.is_open(at("2026-12-25T12:00:00Z"))); // closed period
    }
}
