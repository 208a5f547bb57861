//! Versioned schema migrations for the SQLite store: each runs once, in order, in a
//! transaction, and is recorded in `schema_migrations`. Never edit a released migration; add one.

use rusqlite::Connection;

/// The migrations, in order. The index + 1 is the version.
const MIGRATIONS: &[&str] = &[
    // 1: the event log, action state, sink cursors and dead letters.
    "
    CREATE TABLE log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        deployment_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        topic TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE actions (
        action_id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL,
        media TEXT NOT NULL,
        action_map_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        state TEXT NOT NULL,
        seen INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE sink_cursors (
        sink TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    );
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sink TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        seqs TEXT NOT NULL,
        error TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX dead_letters_by_sink ON dead_letters (sink, id);
    ",
    // 2: what decisions need between web events (each action's session and offer time, pending
    // offers and segment assignments per customer, each session's journey) and the admin
    // API's objects.
    "
    ALTER TABLE actions ADD COLUMN session_id TEXT;
    ALTER TABLE actions ADD COLUMN offered_at INTEGER;
    CREATE INDEX actions_by_customer ON actions (deployment_id, customer_id);
    CREATE TABLE customers (
        deployment_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        pending TEXT NOT NULL,
        segments TEXT NOT NULL,
        PRIMARY KEY (deployment_id, customer_id)
    );
    CREATE TABLE sessions (
        deployment_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        journey TEXT NOT NULL,
        pageview_url TEXT,
        pageview_at INTEGER,
        PRIMARY KEY (deployment_id, session_id)
    );
    CREATE TABLE entities (
        deployment_id TEXT NOT NULL,
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (deployment_id, collection, id)
    );
    ",
    // 3: web chat: each action's map version (later events carry it), agent accounts and their
    // sign-ins, conversations, and each conversation's entries numbered from 1.
    "
    ALTER TABLE actions ADD COLUMN action_map_version INTEGER;
    CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        capacity INTEGER NOT NULL
    );
    CREATE TABLE agent_sessions (
        token_hash TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL,
        action_id TEXT NOT NULL UNIQUE,
        action_map_id TEXT NOT NULL,
        action_map_version INTEGER NOT NULL,
        customer_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        form TEXT NOT NULL,
        status TEXT NOT NULL,
        agent_id TEXT,
        created_at INTEGER NOT NULL,
        ended_at INTEGER
    );
    CREATE INDEX conversations_open ON conversations (status, created_at);
    CREATE TABLE chat_entries (
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    );
    ",
    // 4: report counters (`store/sqlite/counters.rs`): per deployment, granularity, bucket start
    // (UTC, unix ms) and action map, one column per state and per blocked reason; and the
    // sessions already counted as blocked per map and reason.
    "
    CREATE TABLE report_counters (
        deployment_id TEXT NOT NULL,
        granularity TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        action_map_id TEXT NOT NULL,
        media TEXT NOT NULL,
        state_qualified INTEGER NOT NULL DEFAULT 0,
        state_offered INTEGER NOT NULL DEFAULT 0,
        state_accepted INTEGER NOT NULL DEFAULT 0,
        state_rejected INTEGER NOT NULL DEFAULT 0,
        state_ignored INTEGER NOT NULL DEFAULT 0,
        state_timedout INTEGER NOT NULL DEFAULT 0,
        state_errored INTEGER NOT NULL DEFAULT 0,
        state_started INTEGER NOT NULL DEFAULT 0,
        state_engaged INTEGER NOT NULL DEFAULT 0,
        state_abandoned INTEGER NOT NULL DEFAULT 0,
        state_completed INTEGER NOT NULL DEFAULT 0,
        state_frequencyCapReached INTEGER NOT NULL DEFAULT 0,
        state_qualifiedOutsideSchedule INTEGER NOT NULL DEFAULT 0,
        state_offeredOutsideSchedule INTEGER NOT NULL DEFAULT 0,
        blocked_PageUrlConditionsNotMatching INTEGER NOT NULL DEFAULT 0,
        blocked_ServiceLevelThrottling INTEGER NOT NULL DEFAULT 0,
        blocked_AlreadyExistingOffer INTEGER NOT NULL DEFAULT 0,
        blocked_TriggerDateInFuture INTEGER NOT NULL DEFAULT 0,
        blocked_MultipleSimultaneousOffers INTEGER NOT NULL DEFAULT 0,
        blocked_NoAvailableAgents INTEGER NOT NULL DEFAULT 0,
        blocked_FrequencyCapping INTEGER NOT NULL DEFAULT 0,
        blocked_OfferedOutsideSchedule INTEGER NOT NULL DEFAULT 0,
        blocked_Unknown INTEGER NOT NULL DEFAULT 0,
        sessions_PageUrlConditionsNotMatching INTEGER NOT NULL DEFAULT 0,
        sessions_ServiceLevelThrottling INTEGER NOT NULL DEFAULT 0,
        sessions_AlreadyExistingOffer INTEGER NOT NULL DEFAULT 0,
        sessions_TriggerDateInFuture INTEGER NOT NULL DEFAULT 0,
        sessions_MultipleSimultaneousOffers INTEGER NOT NULL DEFAULT 0,
        sessions_NoAvailableAgents INTEGER NOT NULL DEFAULT 0,
        sessions_FrequencyCapping INTEGER NOT NULL DEFAULT 0,
        sessions_OfferedOutsideSchedule INTEGER NOT NULL DEFAULT 0,
        sessions_Unknown INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (deployment_id, granularity, bucket, action_map_id)
    ) WITHOUT ROWID;
    CREATE TABLE report_blocked_sessions (
        deployment_id TEXT NOT NULL,
        action_map_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        session_id TEXT NOT NULL,
        PRIMARY KEY (deployment_id, action_map_id, reason, session_id)
    ) WITHOUT ROWID;
    ",
    // 5: each action's current state moves to the state file (`store/sqlite/state.rs`), which is
    // rebuilt there from the log's action records on first start.
    "
    DROP INDEX actions_by_customer;
    DROP TABLE actions;
    ",
    // 6: report counters are written behind the log (`store/sqlite/counters.rs`): up to which
    // record they count, and which record was a session's first block (none for the blocks
    // counted before).
    "
    CREATE TABLE report_counted (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL
    );
    INSERT INTO report_counted (id, seq) VALUES (1, (SELECT COALESCE(MAX(seq), 0) FROM log));
    ALTER TABLE report_blocked_sessions ADD COLUMN seq INTEGER;
    ",
    // 7: the actions answered to a session's pages to show now (JSON, `store::Answered`; none
    // when NULL): the engine counts them on screen before the page reports `offered`.
    "
    ALTER TABLE sessions ADD COLUMN answered TEXT;
    ",
];

/// Brings the database up to the newest schema.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )?;
    let current: usize = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch())",
            [index + 1],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let versions: usize = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(versions, MIGRATIONS.len());
    }
}
