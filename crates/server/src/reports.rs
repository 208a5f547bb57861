//! Reports (Genesys reference section 10): the action maps report and the blocked actions report,
//! read from counters that the store keeps up to date as events are committed
//! (`store/sqlite/counters.rs`), so a report costs one indexed range read however long the log is.
//!
//! Counters are kept per deployment, action map, bucket and [`Counter`]; buckets are UTC hours
//! and UTC days, by the event's own `timestamp`. A report is a [`Table`]: named columns, the same
//! for JSON (each entity an object with the columns as keys) and CSV (the header row). Metric
//! definitions are in `docs/reports.md`.

use beckon_core::{BlockReason, MediaType, State, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// Milliseconds in an hour.
const HOUR_MS: i64 = 3_600_000;
/// Milliseconds in a day.
const DAY_MS: i64 = 24 * HOUR_MS;

/// The width of a report's time buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    /// Both, in the order the store keeps them.
    pub const ALL: [Granularity; 2] = [Granularity::Hour, Granularity::Day];

    pub const fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }

    /// A bucket's length in milliseconds.
    pub const fn millis(self) -> i64 {
        match self {
            Granularity::Hour => HOUR_MS,
            Granularity::Day => DAY_MS,
        }
    }

    /// The start of the (UTC) bucket holding `at`.
    pub fn bucket(self, at: Timestamp) -> Timestamp {
        let ms = at.unix_millis();
        Timestamp::from_unix_millis(ms - ms.rem_euclid(self.millis()))
    }

    /// Whether `at` is the start of a bucket.
    pub fn is_boundary(self, at: Timestamp) -> bool {
        at.unix_millis().rem_euclid(self.millis()) == 0
    }

    /// The longest range one report may cover, in days.
    pub const fn max_days(self) -> i64 {
        match self {
            Granularity::Hour => 31,
            Granularity::Day => 366,
        }
    }
}

impl std::str::FromStr for Granularity {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Granularity::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or(())
    }
}

/// One counted quantity: events reaching a state, blocked offers for a reason, and the
/// sessions first blocked for a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    State(State),
    Blocked(BlockReason),
    BlockedSessions(BlockReason),
}

/// How many counters there are.
pub const COUNTERS: usize = State::ALL.len() + 2 * BlockReason::ALL.len();

impl Counter {
    /// Every counter, in index order.
    pub fn all() -> impl Iterator<Item = Counter> {
        let states = State::ALL.into_iter().map(Counter::State);
        let blocked = BlockReason::ALL.into_iter().map(Counter::Blocked);
        let sessions = BlockReason::ALL.into_iter().map(Counter::BlockedSessions);
        states.chain(blocked).chain(sessions)
    }

    /// A dense index (0..[`COUNTERS`]).
    pub const fn index(self) -> usize {
        let states = State::ALL.len();
        let reasons = BlockReason::ALL.len();
        match self {
            Counter::State(s) => s.index(),
            Counter::Blocked(r) => states + r as usize,
            Counter::BlockedSessions(r) => states + reasons + r as usize,
        }
    }

    /// The store's column for it, e.g. `state_offered`, `blocked_NoAvailableAgents`.
    pub fn column(self) -> String {
        match self {
            Counter::State(s) => format!("state_{s}"),
            Counter::Blocked(r) => format!("blocked_{r}"),
            Counter::BlockedSessions(r) => format!("sessions_{r}"),
        }
    }
}

/// Every counter's value for one action map and bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub [u64; COUNTERS]);

impl Default for Counts {
    fn default() -> Self {
        Counts([0; COUNTERS])
    }
}

impl Counts {
    pub fn get(&self, counter: Counter) -> u64 {
        self.0[counter.index()]
    }

    fn state(&self, state: State) -> u64 {
        self.get(Counter::State(state))
    }

    /// Blocked offers for every reason.
    fn blocked(&self) -> u64 {
        BlockReason::ALL
            .into_iter()
            .map(|r| self.get(Counter::Blocked(r)))
            .sum()
    }
}

/// What a report asks the store for.
#[derive(Debug, Clone)]
pub struct CounterQuery {
    pub deployment_id: Uuid,
    pub granularity: Granularity,
    /// The first bucket's start.
    pub from: Timestamp,
    /// The end of the range (exclusive).
    pub to: Timestamp,
    pub action_map_id: Option<Uuid>,
}

/// The counters of one action map in one bucket, as the store answers them.
#[derive(Debug, Clone)]
pub struct CounterRow {
    pub bucket: Timestamp,
    pub action_map_id: Uuid,
    pub media: MediaType,
    pub counts: Counts,
}

/// A map's display name by id (`None` once the map is deleted).
pub type MapNames<'a> = &'a dyn Fn(Uuid) -> Option<String>;

/// A report: columns and rows of JSON values (numbers, strings, `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// Each row as an object keyed by the columns.
    pub fn entities(&self) -> Vec<Value> {
        self.rows
            .iter()
            .map(|row| {
                Value::Object(
                    self.columns
                        .iter()
                        .cloned()
                        .zip(row.iter().cloned())
                        .collect(),
                )
            })
            .collect()
    }

    /// RFC 4180 CSV: a header row, then one line per row; `null` is an empty cell.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let mut line = |cells: Vec<String>| {
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        };
        line(self.columns.iter().map(|c| csv_cell(c)).collect());
        for row in &self.rows {
            line(
                row.iter()
                    .map(|v| match v {
                        Value::Null => String::new(),
                        Value::String(s) => csv_cell(s),
                        other => other.to_string(),
                    })
                    .collect(),
            );
        }
        out
    }
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// `part` as a percentage of `whole`, to one decimal; `null` when `whole` is 0.
fn percent(part: u64, whole: u64) -> Value {
    if whole == 0 {
        return Value::Null;
    }
    json!((1000.0 * part as f64 / whole as f64).round() / 10.0)
}

/// The columns every report starts with: which bucket and which action map.
fn row_start(row: &CounterRow, name: MapNames<'_>) -> Vec<Value> {
    vec![
        json!(row.bucket),
        json!(row.action_map_id),
        json!(name(row.action_map_id)),
        json!(row.media),
    ]
}

const ROW_START: [&str; 4] = ["bucket", "actionMapId", "actionMapName", "mediaType"];

/// The action maps report: one row per action map and bucket with events. `name` gives a map's
/// display name (`null` once the map is deleted).
pub fn action_maps(rows: &[CounterRow], name: MapNames<'_>) -> Table {
    let mut columns: Vec<String> = ROW_START.iter().map(|c| c.to_string()).collect();
    columns.extend(["qualified", "blocked"].map(String::from));
    columns.extend(BlockReason::ALL.map(|r| format!("blocked{r}")));
    columns.extend(
        [
            "offered",
            "offeredPercent",
            "accepted",
            "acceptedPercent",
            "engaged",
            "engagedPercent",
            "rejected",
            "ignored",
            "timedOut",
            "errored",
        ]
        .map(String::from),
    );
    let rows = rows
        .iter()
        .map(|row| {
            let c = &row.counts;
            let (qualified, offered) = (c.state(State::Qualified), c.state(State::Offered));
            let (accepted, engaged) = (c.state(State::Accepted), c.state(State::Engaged));
            let mut cells = row_start(row, name);
            cells.extend([json!(qualified), json!(c.blocked())]);
            cells.extend(BlockReason::ALL.map(|r| json!(c.get(Counter::Blocked(r)))));
            cells.extend([
                json!(offered),
                percent(offered, qualified),
                json!(accepted),
                percent(accepted, offered),
                json!(engaged),
                percent(engaged, accepted),
                json!(c.state(State::Rejected)),
                json!(c.state(State::Ignored)),
                json!(c.state(State::Timedout)),
                json!(c.state(State::Errored)),
            ]);
            cells
        })
        .collect();
    Table { columns, rows }
}

/// The blocked actions report: one row per bucket, action map and reason with blocked offers,
/// with the sessions first blocked (a session counts once per map and reason) and the count.
pub fn blocked(rows: &[CounterRow], name: MapNames<'_>) -> Table {
    let mut columns: Vec<String> = ROW_START.iter().map(|c| c.to_string()).collect();
    columns.extend(["reason", "sessions", "count"].map(String::from));
    let rows = rows
        .iter()
        .flat_map(|row| {
            BlockReason::ALL.into_iter().filter_map(move |r| {
                let count = row.counts.get(Counter::Blocked(r));
                (count > 0).then(|| {
                    let mut cells = row_start(row, name);
                    let sessions = row.counts.get(Counter::BlockedSessions(r));
                    cells.extend([json!(r), json!(sessions), json!(count)]);
                    cells
                })
            })
        })
        .collect();
    Table { columns, rows }
}

/// The blocked actions report's totals per reason over the whole range (reasons with blocks).
pub fn blocked_totals(rows: &[CounterRow]) -> Vec<Value> {
    BlockReason::ALL
        .into_iter()
        .filter_map(|r| {
            let sum = |counter| rows.iter().map(|row| row.counts.get(counter)).sum::<u64>();
            let count = sum(Counter::Blocked(r));
            (count > 0).then(|| {
                json!({ "reason": r, "sessions": sum(Counter::BlockedSessions(r)), "count": count })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(set: &[(Counter, u64)]) -> CounterRow {
        let mut counts = Counts::default();
        for (c, n) in set {
            counts.0[c.index()] = *n;
        }
        CounterRow {
            bucket: Timestamp::from_unix_millis(0),
            action_map_id: Uuid::nil(),
            media: MediaType::Webchat,
            counts,
        }
    }

    #[test]
    fn counter_indexes_are_dense_and_columns_distinct() {
        let all: Vec<Counter> = Counter::all().collect();
        assert_eq!(all.len(), COUNTERS);
        for (i, c) in all.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
        let mut columns: Vec<String> = all.iter().map(|c| c.column().to_lowercase()).collect();
        columns.dedup();
        assert_eq!(columns.len(), COUNTERS);
    }

    #[test]
    fn buckets_are_utc_hours_and_days() {
        let t: Timestamp = "2026-03-01T13:45:10.000Z".parse().unwrap();
        assert_eq!(
            Granularity::Hour.bucket(t).to_string(),
            "2026-03-01T13:00:00.000Z"
        );
        assert_eq!(
            Granularity::Day.bucket(t).to_string(),
            "2026-03-01T00:00:00.000Z"
        );
        assert!(Granularity::Day.is_boundary(Granularity::Day.bucket(t)));
        assert!(!Granularity::Hour.is_boundary(t));
    }

    #[test]
    fn percentages_are_of_the_previous_step_and_null_without_one() {
        let s = Counter::State;
        let table = action_maps(
            &[row(&[
                (s(State::Qualified), 3),
                (s(State::Offered), 2),
                (s(State::Accepted), 1),
            ])],
            &|_| None,
        );
        let e = &table.entities()[0];
        assert_eq!(e["offeredPercent"], json!(66.7));
        assert_eq!(e["acceptedPercent"], json!(50.0));
        assert_eq!(e["engagedPercent"], json!(0.0));
        let empty = action_maps(&[row(&[])], &|_| None);
        assert_eq!(empty.entities()[0]["offeredPercent"], Value::Null);
    }

    #[test]
    fn csv_quotes_what_needs_it_and_leaves_null_empty() {
        let table = Table {
            columns: vec!["a".into(), "b".into(), "c".into()],
            rows: vec![vec![json!("x, \"y\""), Value::Null, json!(1.5)]],
        };
        assert_eq!(table.csv(), "a,b,c\r\n\"x, \"\"y\"\"\",,1.5\r\n");
    }
}
