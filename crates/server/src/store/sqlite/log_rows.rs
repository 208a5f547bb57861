//! The log rows of one commit group, numbered as its submissions are applied and inserted
//! together just before the group commits.
//!
//! One `INSERT` per record paid, for every record, the statement's set-up and reset, the
//! `AUTOINCREMENT` bookkeeping in `sqlite_sequence` and a search from the root for the log's
//! end: about a fifth of the writer's time per action event in batches. A statement of many
//! rows pays them once, and appends each row after the last without a search.
//!
//! The numbers continue from `sqlite_sequence` (which `AUTOINCREMENT` keeps at or above every
//! sequence number ever used), or the log's last row should that ever be higher, read when the
//! group starts: the writer is the only connection that inserts, so nothing else takes a number
//! in between. A submission rolled back to its
//! savepoint takes its rows and numbers back ([`LogRows::undo_to`]), so the numbers stay
//! gapless in the order the submissions were applied.

use std::sync::{Arc, LazyLock};

use rusqlite::Connection;

/// Rows per statement, largest first: a group's rows go in as few statements as these sizes
/// allow (100 rows: 64, 16, 16 and 4). Each size is one cached statement.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// The `INSERT` of each size in [`CHUNKS`].
static INSERTS: LazyLock<[String; 4]> = LazyLock::new(|| {
    CHUNKS.map(|rows| {
        let values = vec!["(?, ?, ?, ?, ?, ?)"; rows].join(", ");
        format!(
            "INSERT INTO log (seq, deployment_id, kind, topic, recorded_at, body) VALUES {values}"
        )
    })
});

/// One record as the log table stores it.
pub struct LogRow {
    pub deployment: Arc<str>,
    pub kind: &'static str,
    pub topic: String,
    pub recorded_at: i64,
    pub body: String,
}

/// A group's rows not inserted yet: the first is numbered `after + 1`, and so on.
pub struct LogRows {
    after: u64,
    rows: Vec<LogRow>,
}

impl LogRows {
    /// Rows for a group starting after the highest sequence number the log has used.
    pub fn after_head(conn: &Connection) -> rusqlite::Result<LogRows> {
        let head: i64 = conn
            .prepare_cached(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'log'), 0),
                            COALESCE((SELECT MAX(seq) FROM log), 0))",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(LogRows {
            after: head as u64,
            rows: Vec::new(),
        })
    }

    /// Takes the next sequence number for `row`.
    pub fn push(&mut self, row: LogRow) -> u64 {
        self.rows.push(row);
        self.after + self.rows.len() as u64
    }

    /// Where a submission starts: what [`LogRows::undo_to`] goes back to.
    pub fn mark(&self) -> usize {
        self.rows.len()
    }

    /// Drops the rows pushed since `mark`, and with them their numbers.
    pub fn undo_to(&mut self, mark: usize) {
        self.rows.truncate(mark);
    }

    /// Inserts every row, in order, inside the open transaction on `conn`.
    pub fn insert(self, conn: &Connection) -> rusqlite::Result<()> {
        let mut rows = self.rows.iter().zip(self.after + 1..);
        let mut left = self.rows.len();
        for (size, sql) in CHUNKS.iter().zip(INSERTS.iter()) {
            while left >= *size {
                let mut insert = conn.prepare_cached(sql)?;
                for (i, (row, seq)) in rows.by_ref().take(*size).enumerate() {
                    let at = i * 6;
                    insert.raw_bind_parameter(at + 1, seq as i64)?;
                    insert.raw_bind_parameter(at + 2, &*row.deployment)?;
                    insert.raw_bind_parameter(at + 3, row.kind)?;
                    insert.raw_bind_parameter(at + 4, &row.topic)?;
                    insert.raw_bind_parameter(at + 5, row.recorded_at)?;
                    insert.raw_bind_parameter(at + 6, &row.body)?;
                }
                insert.raw_execute()?;
                left -= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(body: String) -> LogRow {
        LogRow {
            deployment: "d".into(),
            kind: "web",
            topic: "web:pageview".into(),
            recorded_at: 1,
            body,
        }
    }

    fn stored(conn: &Connection) -> Vec<(u64, String)> {
        let mut select = conn
            .prepare("SELECT seq, body FROM log ORDER BY seq")
            .unwrap();
        select
            .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn rows_are_numbered_without_gaps_and_numbers_are_never_reused() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate(&mut conn).unwrap();
        let mut rows = LogRows::after_head(&conn).unwrap();
        let mut seqs: Vec<u64> = (0..40).map(|n| rows.push(row(format!("{n}")))).collect();
        // A submission rolled back: its rows and numbers go.
        let mark = rows.mark();
        for n in 0..10 {
            rows.push(row(format!("dropped {n}")));
        }
        rows.undo_to(mark);
        seqs.extend((40..101).map(|n| rows.push(row(format!("{n}")))));
        assert_eq!(seqs, (1..=101).collect::<Vec<u64>>());
        rows.insert(&conn).unwrap();
        let expected: Vec<(u64, String)> = (1..=101).map(|n| (n, format!("{}", n - 1))).collect();
        assert_eq!(stored(&conn), expected);

        // The newest rows deleted: the next group still numbers after them.
        conn.execute("DELETE FROM log WHERE seq > 99", []).unwrap();
        let mut rows = LogRows::after_head(&conn).unwrap();
        assert_eq!(rows.push(row("next".into())), 102);
        rows.insert(&conn).unwrap();
        assert_eq!(stored(&conn).last(), Some(&(102, "next".to_owned())));

        // A sqlite_sequence behind the log (a repair, a copy that left it out): after the log.
        conn.execute("UPDATE sqlite_sequence SET seq = 5 WHERE name = 'log'", [])
            .unwrap();
        let mut rows = LogRows::after_head(&conn).unwrap();
        assert_eq!(rows.push(row("after".into())), 103);
        rows.insert(&conn).unwrap();
    }
}
