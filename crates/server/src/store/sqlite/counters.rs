//! Report counters in SQLite: counted inside the commit that stores an event (from the writer's
//! `apply_item`, so a rolled-back submission counts nothing), read by reports.
//!
//! `report_counters` has one row per deployment, granularity (`hour`, `day`), bucket start and
//! action map, with one column per [`Counter`]; an event adds 1 to its column in its hour row and
//! its day row. The writer adds a whole commit group's events up in a [`Tally`] first and writes
//! each touched row once at the end of the group's transaction: a burst of events for a few maps
//! costs a few row updates per commit, not two per event. `report_blocked_sessions` remembers
//! which sessions were already blocked for a map and reason, so that a session is counted in
//! `sessions_<reason>` once: in the bucket of its first block. Map versions are not kept apart.

use std::collections::HashMap;

use beckon_core::{BlockReason, MediaType, Timestamp};
use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::record::Payload;
use crate::reports::{Counter, CounterQuery, CounterRow, Counts, Granularity};

/// One counter row: deployment, granularity, bucket start (unix ms) and action map.
type RowKey = (Uuid, Granularity, i64, Uuid);

/// Counter increments not yet written: what one submission or one commit group counted.
#[derive(Debug, Default)]
pub struct Tally {
    rows: HashMap<RowKey, (MediaType, Counts)>,
}

impl Tally {
    /// Adds `n` to `counter` in the hour and day buckets holding `at`.
    pub fn add(
        &mut self,
        deployment_id: Uuid,
        action_map_id: Uuid,
        media: MediaType,
        at: Timestamp,
        counter: Counter,
        n: u64,
    ) {
        for granularity in Granularity::ALL {
            let key = (
                deployment_id,
                granularity,
                granularity.bucket(at).unix_millis(),
                action_map_id,
            );
            let (_, counts) = self
                .rows
                .entry(key)
                .or_insert_with(|| (media, Counts::default()));
            counts.0[counter.index()] += n;
        }
    }

    /// Moves everything `other` counted into this tally.
    pub fn merge(&mut self, other: Tally) {
        for (key, (media, counts)) in other.rows {
            let (_, mine) = self
                .rows
                .entry(key)
                .or_insert_with(|| (media, Counts::default()));
            for (total, n) in mine.0.iter_mut().zip(counts.0) {
                *total += n;
            }
        }
    }

    /// Adds everything counted to the stored rows (one upsert per row) and empties the tally.
    pub fn write(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let columns: Vec<String> = Counter::all().map(Counter::column).collect();
        let values: Vec<String> = (6..6 + columns.len()).map(|i| format!("?{i}")).collect();
        let sums: Vec<String> = columns
            .iter()
            .map(|c| format!("{c} = {c} + excluded.{c}"))
            .collect();
        let mut upsert = conn.prepare_cached(&format!(
            "INSERT INTO report_counters (deployment_id, granularity, bucket, action_map_id, media, {})
             VALUES (?1, ?2, ?3, ?4, ?5, {})
             ON CONFLICT (deployment_id, granularity, bucket, action_map_id) DO UPDATE SET {}",
            columns.join(", "),
            values.join(", "),
            sums.join(", ")
        ))?;
        for ((deployment_id, granularity, bucket, map), (media, counts)) in self.rows.drain() {
            let mut row: Vec<Box<dyn rusqlite::ToSql>> = vec![
                Box::new(deployment_id.to_string()),
                Box::new(granularity.as_str()),
                Box::new(bucket),
                Box::new(map.to_string()),
                Box::new(media.as_str()),
            ];
            row.extend(
                counts
                    .0
                    .map(|n| Box::new(n as i64) as Box<dyn rusqlite::ToSql>),
            );
            upsert.execute(rusqlite::params_from_iter(row.iter()))?;
        }
        Ok(())
    }
}

/// Adds `n` to `counter` in the hour and day buckets holding `at`, in the stored rows now.
pub fn add(
    conn: &Connection,
    deployment_id: Uuid,
    action_map_id: Uuid,
    media: MediaType,
    at: Timestamp,
    counter: Counter,
    n: u64,
) -> rusqlite::Result<()> {
    let mut tally = Tally::default();
    tally.add(deployment_id, action_map_id, media, at, counter, n);
    tally.write(conn)
}

/// Counts a record just stored into `tally`: an action event in its state's column, a blocked
/// offer in its reason's columns (the session's first block for the map and reason is
/// remembered in `conn` now). Web events count nothing.
pub fn count(
    conn: &Connection,
    tally: &mut Tally,
    deployment_id: Uuid,
    payload: &Payload,
) -> rusqlite::Result<()> {
    match payload {
        Payload::Action(e) => tally.add(
            deployment_id,
            e.action_map_id,
            e.action_media_type,
            e.timestamp,
            Counter::State(e.action_state),
            1,
        ),
        Payload::Blocked(b) => {
            let mut count = |counter| {
                tally.add(
                    deployment_id,
                    b.action_map_id,
                    b.action_media_type,
                    b.timestamp,
                    counter,
                    1,
                )
            };
            count(Counter::Blocked(b.reason));
            if first_block(conn, deployment_id, b.action_map_id, b.reason, b.session_id)? {
                count(Counter::BlockedSessions(b.reason));
            }
        }
        Payload::Web(_) => {}
    }
    Ok(())
}

/// Whether this is the session's first block for this map and reason (and remembers it).
fn first_block(
    conn: &Connection,
    deployment_id: Uuid,
    action_map_id: Uuid,
    reason: BlockReason,
    session_id: Uuid,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO report_blocked_sessions (deployment_id, action_map_id, reason, session_id)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        deployment_id.to_string(),
        action_map_id.to_string(),
        reason.to_string(),
        session_id.to_string()
    ])
    .map(|inserted| inserted == 1)
}

/// The counter rows of a report's range, ordered by bucket and action map.
pub fn read(conn: &Connection, q: &CounterQuery) -> rusqlite::Result<Vec<CounterRow>> {
    let columns: Vec<String> = Counter::all().map(Counter::column).collect();
    let sql = format!(
        "SELECT bucket, action_map_id, media, {} FROM report_counters
         WHERE deployment_id = ?1 AND granularity = ?2 AND bucket >= ?3 AND bucket < ?4
           AND (?5 IS NULL OR action_map_id = ?5)
         ORDER BY bucket, action_map_id",
        columns.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            q.deployment_id.to_string(),
            q.granularity.as_str(),
            q.from.unix_millis(),
            q.to.unix_millis(),
            q.action_map_id.map(|id| id.to_string())
        ],
        |r| {
            let media: String = r.get(2)?;
            let mut counts = Counts::default();
            for (i, value) in counts.0.iter_mut().enumerate() {
                *value = r.get::<_, i64>(3 + i)? as u64;
            }
            Ok(CounterRow {
                bucket: Timestamp::from_unix_millis(r.get(0)?),
                action_map_id: super::uuid_column(1, &r.get::<_, String>(1)?)?,
                media: media.parse().map_err(|_| {
                    rusqlite::Error::FromSqlConversionFailure(
                        2,
                        rusqlite::types::Type::Text,
                        format!("unknown media {media}").into(),
                    )
                })?,
                counts,
            })
        },
    )?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migration_has_a_column_for_every_counter() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('report_counters')")
            .unwrap();
        let have: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for counter in Counter::all() {
            assert!(have.contains(&counter.column()), "{}", counter.column());
        }
    }
}
