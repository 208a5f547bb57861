//! Report counters in SQLite, read by reports.
//!
//! `report_counters` has one row per deployment, granularity (`hour`, `day`), bucket start and
//! action map, with one column per [`Counter`]; an event adds 1 to its column in its hour row and
//! its day row. The writer counts each submission into a [`Tally`] (from `apply_record`, so a
//! rolled-back submission counts nothing) and holds the tallies of committed groups in
//! [`Deferred`], which writes each touched row once, with the commit of a group at most a second
//! later (`WRITE_EVERY`), or before a report is read. Written with every group, the counter rows
//! of a burst of small groups were a third of the writer's time per action event.
//!
//! Counters are derived from the log: `report_counted` holds the last sequence number whose
//! counts the rows hold, written in the same transaction as them, and [`catch_up`] counts the
//! log's records after it at start: what a crash took from memory is counted again, once.
//! `report_blocked_sessions` remembers which sessions were already blocked for a map and reason,
//! and by which record, so that a session is counted in `sessions_<reason>` once: in the bucket of
//! its first block, also when that block is counted again. Map versions are not kept apart.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use beckon_core::{BlockReason, MediaType, Timestamp};
use foldhash::fast::RandomState;
use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::record::Payload;
use crate::reports::{Counter, CounterQuery, CounterRow, Counts, Granularity};

/// One counter row: deployment, granularity, bucket start (unix ms) and action map.
type RowKey = (Uuid, Granularity, i64, Uuid);

/// Counter increments not yet written: what one submission or one commit group counted.
#[derive(Debug, Default)]
pub struct Tally {
    rows: HashMap<RowKey, (MediaType, Counts), RandomState>,
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

    /// Adds everything counted to the stored rows (one upsert per row).
    pub fn write(&self, conn: &Connection) -> rusqlite::Result<()> {
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
        for ((deployment_id, granularity, bucket, map), (media, counts)) in &self.rows {
            let mut row: Vec<Box<dyn rusqlite::ToSql>> = vec![
                Box::new(deployment_id.to_string()),
                Box::new(granularity.as_str()),
                Box::new(*bucket),
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

/// Longest time the writer holds counts before writing them with a group's commit.
const WRITE_EVERY: Duration = Duration::from_secs(1);
/// Most counter rows the writer holds; more are written with the next group's commit.
const MOST_ROWS: usize = 10_000;

/// The writer's counts of committed records that `report_counters` does not hold yet.
#[derive(Debug)]
pub struct Deferred {
    held: Tally,
    since: Instant,
}

impl Default for Deferred {
    fn default() -> Deferred {
        Deferred {
            held: Tally::default(),
            since: Instant::now(),
        }
    }
}

impl Deferred {
    /// Whether the held counts are to be written with the group that counted `group`.
    pub fn due(&self, group: &Tally) -> bool {
        self.since.elapsed() >= WRITE_EVERY || self.held.rows.len() + group.rows.len() >= MOST_ROWS
    }

    /// Writes the held counts inside the open transaction on `conn` and marks the log counted up
    /// to its head (a group's own counts are written beside them). What is held stays held until
    /// [`Deferred::written`]: the transaction may still fail.
    pub fn write(&self, conn: &Connection) -> rusqlite::Result<()> {
        self.held.write(conn)?;
        mark_counted(conn)
    }

    /// Writes the held counts in a transaction of their own: before a report is read.
    pub fn write_now(&mut self, conn: &mut Connection) -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        self.write(&tx)?;
        tx.commit()?;
        self.written();
        Ok(())
    }

    /// The transaction of [`Deferred::write`] committed.
    pub fn written(&mut self) {
        self.held.rows.clear();
        self.since = Instant::now();
    }

    /// Holds a committed group's counts until the next write.
    pub fn hold(&mut self, group: Tally) {
        self.held.merge(group);
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

/// How a record comes to be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Just stored, in the transaction that stores it.
    New,
    /// Counted again by [`catch_up`]: stored and committed earlier, its counts lost.
    Again,
}

/// Counts the log record `seq` into `tally`: an action event in its state's column, a blocked
/// offer in its reason's columns (the session's first block for the map and reason is
/// remembered in `conn`, with `seq`). Web events count nothing.
pub fn count(
    conn: &Connection,
    tally: &mut Tally,
    deployment_id: Uuid,
    seq: u64,
    payload: &Payload,
    counting: Counting,
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
            let key = (deployment_id, b.action_map_id, b.reason, b.session_id);
            if first_block(conn, key, seq, counting)? {
                count(Counter::BlockedSessions(b.reason));
            }
        }
        Payload::Web(_) => {}
    }
    Ok(())
}

/// Whether record `seq` is the session's first block for this map and reason (remembering it if
/// it is the first seen; a record counted again finds itself remembered).
fn first_block(
    conn: &Connection,
    (deployment_id, action_map_id, reason, session_id): (Uuid, Uuid, BlockReason, Uuid),
    seq: u64,
    counting: Counting,
) -> rusqlite::Result<bool> {
    let key = params![
        deployment_id.to_string(),
        action_map_id.to_string(),
        reason.to_string(),
        session_id.to_string(),
        seq as i64
    ];
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO report_blocked_sessions (deployment_id, action_map_id, reason, session_id, seq)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(key)?;
    if inserted == 1 || counting == Counting::New {
        return Ok(inserted == 1);
    }
    conn.prepare_cached(
        "SELECT seq = ?5 FROM report_blocked_sessions
         WHERE deployment_id = ?1 AND action_map_id = ?2 AND reason = ?3 AND session_id = ?4",
    )?
    .query_row(key, |r| r.get(0))
}

/// Counts the log's records after `report_counted` (lost from the writer's memory by a crash)
/// and writes them, in one transaction. On the writer, before it takes submissions.
pub fn catch_up(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    let counted: i64 = tx.query_row("SELECT seq FROM report_counted", [], |r| r.get(0))?;
    let counted = counted as u64;
    let mut tally = Tally::default();
    super::replay_log(&tx, counted, &["action", "blocked"], |r| {
        let again = Counting::Again;
        count(&tx, &mut tally, r.deployment_id, r.seq, &r.payload, again)
    })?;
    tally.write(&tx)?;
    mark_counted(&tx)?;
    tx.commit()
}

/// Records, inside the open transaction, that the stored rows count every record of the log.
fn mark_counted(conn: &Connection) -> rusqlite::Result<()> {
    let head = super::log_head(conn)?;
    conn.prepare_cached("UPDATE report_counted SET seq = ?1")?
        .execute([head as i64])
        .map(drop)
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
    use beckon_core::{ActionEvent, BlockedOffer, State};

    use super::*;
    use crate::reports::{CounterQuery, Granularity};
    use crate::store::sqlite::SqliteStore;
    use crate::store::{Item, Store, Submission};

    const DEPLOYMENT: Uuid = Uuid::from_u128(0x5e1f6c0a_7d2b_4c39_9a4e_0b7c2f1d8e61);
    const MAP: Uuid = Uuid::from_u128(0x7d0c2a51_8d8e_4f3e_a4a4_5a0d9b7e3c21);
    const SESSION: Uuid = Uuid::from_u128(0x9b2f4c1d_3e5a_4f6b_8c7d_0e1f2a3b4c5d);
    const AT: i64 = 1_800_000_000_000;

    fn blocked() -> Item {
        Item::Blocked(BlockedOffer {
            event_id: Uuid::new_v4(),
            action_map_id: MAP,
            action_map_version: 1,
            action_media_type: MediaType::Webchat,
            customer_id: SESSION,
            session_id: SESSION,
            reason: BlockReason::NoAvailableAgents,
            timestamp: Timestamp::from_unix_millis(AT),
        })
    }

    fn qualified() -> Item {
        Item::Action(ActionEvent {
            action_id: Uuid::new_v4(),
            action_state: State::Qualified,
            action_media_type: MediaType::Webchat,
            action_map_id: MAP,
            action_map_version: 1,
            customer_id: SESSION,
            session_id: SESSION,
            error: None,
            event_id: Uuid::new_v4(),
            timestamp: Timestamp::from_unix_millis(AT),
        })
    }

    /// The day's counts of the map: qualified, blocked for no agents, sessions so blocked.
    async fn day(store: &SqliteStore) -> (u64, u64, u64) {
        let rows = store
            .counters(CounterQuery {
                deployment_id: DEPLOYMENT,
                granularity: Granularity::Day,
                from: Timestamp::from_unix_millis(AT - 86_400_000),
                to: Timestamp::from_unix_millis(AT + 86_400_000),
                action_map_id: None,
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let reason = BlockReason::NoAvailableAgents;
        let counts = &rows[0].counts;
        (
            counts.get(Counter::State(State::Qualified)),
            counts.get(Counter::Blocked(reason)),
            counts.get(Counter::BlockedSessions(reason)),
        )
    }

    /// Counts the writer held in memory when the process died are counted from the log at the
    /// next start, once each; a session's first block still counts it once, not twice nor never.
    #[tokio::test]
    async fn counts_a_crash_took_from_memory_are_counted_again_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("beckon.db");
        {
            let store = SqliteStore::open(&db).unwrap();
            for items in [vec![qualified(), blocked()], vec![blocked(), qualified()]] {
                store
                    .commit(Submission::records(DEPLOYMENT, items))
                    .await
                    .unwrap();
            }
            assert_eq!(
                day(&store).await,
                (2, 2, 1),
                "a report shows what was just committed"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // What a crash leaves behind: the records and the sessions' first blocks committed, their
        // counts never written.
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch("DELETE FROM report_counters; UPDATE report_counted SET seq = 0;")
            .unwrap();
        let store = SqliteStore::open(&db).unwrap();
        assert_eq!(day(&store).await, (2, 2, 1));
        // Counted once: the next start has nothing more to count.
        drop(store);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(day(&SqliteStore::open(&db).unwrap()).await, (2, 2, 1));
    }

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
