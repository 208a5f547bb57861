//! Report counters in SQLite: incremented inside the commit that stores an event (called from
//! the writer's `apply_item`, so a rolled-back submission counts nothing), read by reports.
//!
//! `report_counters` has one row per deployment, granularity (`hour`, `day`), bucket start and
//! action map, with one column per [`Counter`]; an event adds 1 to its column in its hour row and
//! its day row. `report_blocked_sessions` remembers which sessions were already blocked for a map
//! and reason, so that a session is counted in `sessions_<reason>` once: in the bucket of its
//! first block. Map versions are not kept apart.

use beckon_core::{BlockReason, MediaType, Timestamp};
use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::record::Payload;
use crate::reports::{Counter, CounterQuery, CounterRow, Counts, Granularity};

/// Adds `n` to `counter` in the hour and day buckets holding `at`.
pub fn add(
    conn: &Connection,
    deployment_id: Uuid,
    action_map_id: Uuid,
    media: MediaType,
    at: Timestamp,
    counter: Counter,
    n: u64,
) -> rusqlite::Result<()> {
    let column = counter.column();
    let mut upsert = conn.prepare_cached(&format!(
        "INSERT INTO report_counters (deployment_id, granularity, bucket, action_map_id, media, {column})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (deployment_id, granularity, bucket, action_map_id)
         DO UPDATE SET {column} = {column} + excluded.{column}"
    ))?;
    for granularity in Granularity::ALL {
        upsert.execute(params![
            deployment_id.to_string(),
            granularity.as_str(),
            granularity.bucket(at).unix_millis(),
            action_map_id.to_string(),
            media.as_str(),
            n as i64
        ])?;
    }
    Ok(())
}

/// Counts a record just stored: an action event in its state's column, a blocked offer in its
/// reason's columns. Web events count nothing.
pub fn count(conn: &Connection, deployment_id: Uuid, payload: &Payload) -> rusqlite::Result<()> {
    match payload {
        Payload::Action(e) => add(
            conn,
            deployment_id,
            e.action_map_id,
            e.action_media_type,
            e.timestamp,
            Counter::State(e.action_state),
            1,
        ),
        Payload::Blocked(b) => {
            let count = |counter| {
                add(
                    conn,
                    deployment_id,
                    b.action_map_id,
                    b.action_media_type,
                    b.timestamp,
                    counter,
                    1,
                )
            };
            count(Counter::Blocked(b.reason))?;
            if first_block(conn, deployment_id, b.action_map_id, b.reason, b.session_id)? {
                count(Counter::BlockedSessions(b.reason))?;
            }
            Ok(())
        }
        Payload::Web(_) => Ok(()),
    }
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
