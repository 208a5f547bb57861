//! Each action's current state, kept in a second database file attached to every connection as
//! `state`: what lifecycle checks, decisions and web chat read, and the only table whose rows go
//! in at random places (it is keyed by the clients' random action ids, and so is its customer
//! index).
//!
//! It is derived: a function of the log's action records. So it is written in the same
//! transaction as the log, but this file alone runs with `synchronous = NORMAL`: the main file's
//! WAL (the log, with the counters and decision state) is synced after every group (`durable`),
//! this file's only at its checkpoints. A group's fsync therefore covers the log's few appended
//! pages, not one page per new action. SQLite commits the main file first; `applied` holds the
//! sequence number of the last action record whose effect this file holds (a group without action
//! records, web events alone, leaves the file untouched and its commit writes the main file only),
//! and [`catch_up`] replays the log's action records after it, at start (after a crash lost this
//! file's last commits) and whenever a commit got the log through but not this file. A file of
//! another [`VERSION`], or one ahead of the log (the disk kept this file's last commits but lost
//! the log's, which were not yet synced nor acknowledged), is rebuilt from the whole log.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use crate::record::Payload;

/// The layout of the state file; another version is dropped and rebuilt from the log.
const VERSION: i64 = 1;

/// The state file beside the database at `db`: `beckon.db` keeps it in `beckon.state.db`.
fn path(db: &Path) -> PathBuf {
    db.with_extension("state.db")
}

/// Attaches the state file (creating it if needed) to a connection of the database at `db`.
pub fn attach(conn: &Connection, db: &Path, cache_kib: i64) -> rusqlite::Result<()> {
    conn.execute("ATTACH DATABASE ?1 AS state", [path(db).to_string_lossy()])?;
    conn.pragma_update(Some("state"), "journal_mode", "WAL")?;
    conn.pragma_update(Some("state"), "synchronous", "NORMAL")?;
    conn.pragma_update(Some("state"), "cache_size", -cache_kib)
}

/// Creates the tables, or recreates them empty when the file has another layout; then replays
/// what the log holds beyond them. On the writer, before it takes submissions.
pub fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA state.user_version", [], |r| r.get(0))?;
    if version != VERSION || applied(conn)? > super::log_head(conn)? {
        conn.execute_batch(&format!(
            "BEGIN;
            DROP TABLE IF EXISTS state.actions;
            DROP TABLE IF EXISTS state.applied;
            CREATE TABLE state.actions (
                action_id TEXT PRIMARY KEY,
                deployment_id TEXT NOT NULL,
                media TEXT NOT NULL,
                action_map_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                state TEXT NOT NULL,
                seen INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                session_id TEXT,
                offered_at INTEGER,
                action_map_version INTEGER
            );
            CREATE INDEX state.actions_by_customer ON actions (deployment_id, customer_id);
            CREATE TABLE state.applied (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                seq INTEGER NOT NULL
            );
            INSERT INTO state.applied (id, seq) VALUES (1, 0);
            PRAGMA state.user_version = {VERSION};
            COMMIT;"
        ))?;
    }
    catch_up(conn)
}

/// The sequence number of the last action record whose effect the state holds (or, after a
/// catch-up, the log's head).
fn applied(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT seq FROM state.applied", [], |r| r.get::<_, i64>(0))
        .map(|seq| seq as u64)
}

/// Records, inside the commit, that the state holds the effects of the log's action records up to
/// `seq`.
pub fn set_applied(conn: &Connection, seq: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE state.applied SET seq = ?1 WHERE id = 1")?
        .execute(params![seq as i64])
        .map(drop)
}

/// Replays the log's action records beyond `applied` into the state, in one transaction.
pub fn catch_up(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    let mut known = super::KnownActions::default();
    super::replay_log(&tx, applied(&tx)?, &["action"], |record| {
        if let Payload::Action(event) = &record.payload {
            // Each was checked when it was committed, in this order; replaying it moves the
            // action exactly as it did then.
            super::track_action(
                &tx,
                &mut known,
                record.deployment_id,
                0,
                (event, record.recorded_at),
            )
            .map_err(|e| {
                rusqlite::Error::ToSqlConversionFailure(
                    format!("replaying log record {}: {e}", record.seq).into(),
                )
            })?;
            // Kept only while the replay runs; each record is its own step.
            known.settle();
        }
        Ok(())
    })?;
    // Every record up to the head is applied now, the last ones perhaps web events.
    set_applied(&tx, super::log_head(&tx)?)?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use beckon_core::{ActionEvent, MediaType, State, Timestamp};
    use uuid::Uuid;

    use crate::store::sqlite::SqliteStore;
    use crate::store::{CommitError, Item, Outcome, Store, Submission};

    const DEPLOYMENT: Uuid = Uuid::from_u128(0x5e1f6c0a_7d2b_4c39_9a4e_0b7c2f1d8e61);
    const MAP: Uuid = Uuid::from_u128(0x7d0c2a51_8d8e_4f3e_a4a4_5a0d9b7e3c21);
    const SESSION: Uuid = Uuid::from_u128(0x9b2f4c1d_3e5a_4f6b_8c7d_0e1f2a3b4c5d);

    fn event(action_id: Uuid, customer_id: Uuid, state: State) -> ActionEvent {
        ActionEvent {
            action_id,
            action_state: state,
            action_media_type: MediaType::Webchat,
            action_map_id: MAP,
            action_map_version: 1,
            customer_id,
            session_id: SESSION,
            error: None,
            event_id: Uuid::new_v4(),
            timestamp: Timestamp::from_unix_millis(1_800_000_000_000),
        }
    }

    async fn commit(store: &SqliteStore, e: ActionEvent) -> Result<Vec<Outcome>, CommitError> {
        store
            .commit(Submission::records(DEPLOYMENT, vec![Item::Action(e)]))
            .await
    }

    /// Whether reporting `offered` again for the action is taken as a duplicate (it was applied).
    async fn offered_again_is_a_duplicate(
        store: &SqliteStore,
        action: Uuid,
        customer: Uuid,
    ) -> bool {
        let outcome = commit(store, event(action, customer, State::Offered)).await;
        outcome.unwrap() == vec![Outcome::Duplicate]
    }

    /// A store at `db` with one action qualified and offered, closed again: its (action,
    /// customer).
    async fn offered_action(db: &std::path::Path) -> (Uuid, Uuid) {
        let (action, customer) = (Uuid::new_v4(), Uuid::new_v4());
        {
            let store = SqliteStore::open(db).unwrap();
            for state in [State::Qualified, State::Offered] {
                commit(&store, event(action, customer, state))
                    .await
                    .unwrap();
            }
        }
        // The writer thread lets go of its connections once the store is dropped.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        (action, customer)
    }

    /// A submission refused for one of its records leaves every action where it was, in the
    /// state file and in the writer's memory of recent actions: its other records can be sent
    /// again and are stored, not taken for duplicates.
    #[tokio::test]
    async fn a_refused_submission_moves_no_action() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("beckon.db")).unwrap();
        let (action, customer) = (Uuid::new_v4(), Uuid::new_v4());
        commit(&store, event(action, customer, State::Qualified))
            .await
            .unwrap();
        let refused = store
            .commit(Submission::records(
                DEPLOYMENT,
                vec![
                    Item::Action(event(action, customer, State::Offered)),
                    // Never qualified: no lifecycle starts at `accepted`.
                    Item::Action(event(Uuid::new_v4(), customer, State::Accepted)),
                ],
            ))
            .await;
        assert!(matches!(
            refused,
            Err(CommitError::UnknownAction { index: 1, .. })
        ));
        let offered = commit(&store, event(action, customer, State::Offered))
            .await
            .unwrap();
        assert!(matches!(offered[..], [Outcome::Stored { seq: 2 }]));
        let context = store
            .customer_context(DEPLOYMENT, customer, SESSION)
            .await
            .unwrap();
        assert_eq!(context.actions[0].1.state, State::Offered);
    }

    /// A lost or deleted state file is rebuilt from the log: lifecycle checks, duplicates and
    /// customer reads go on as if it had never gone.
    #[tokio::test]
    async fn a_deleted_state_file_is_rebuilt_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("beckon.db");
        let (action, customer) = offered_action(&db).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", super::path(&db).display()));
        }
        let store = SqliteStore::open(&db).unwrap();
        assert!(offered_again_is_a_duplicate(&store, action, customer).await);
        assert!(matches!(
            commit(&store, event(action, customer, State::Qualified)).await,
            Ok(v) if v == vec![Outcome::Duplicate]
        ));
        assert!(matches!(
            commit(&store, event(action, Uuid::new_v4(), State::Accepted)).await,
            Err(CommitError::Mismatch { .. })
        ));
        let accepted = commit(&store, event(action, customer, State::Accepted))
            .await
            .unwrap();
        assert!(matches!(accepted[..], [Outcome::Stored { seq: 3 }]));
        let context = store
            .customer_context(DEPLOYMENT, customer, SESSION)
            .await
            .unwrap();
        assert_eq!(context.actions.len(), 1);
        assert_eq!(context.actions[0].1.state, State::Accepted);
        assert!(context.actions[0].1.offered_at.is_some());
    }

    /// The history a decision reads knows that an agent joined a chat, also once the chat
    /// went on to `errored` (the frequency cap after a conversation with an agent).
    #[tokio::test]
    async fn a_chat_that_errored_after_an_agent_joined_was_engaged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("beckon.db")).unwrap();
        let (action, customer) = (Uuid::new_v4(), Uuid::new_v4());
        for state in [
            State::Qualified,
            State::Offered,
            State::Accepted,
            State::Started,
            State::Engaged,
            State::Errored,
        ] {
            commit(&store, event(action, customer, state))
                .await
                .unwrap();
        }
        let context = store
            .customer_context(DEPLOYMENT, customer, SESSION)
            .await
            .unwrap();
        let past = &context.actions[0].1;
        assert_eq!(past.state, State::Errored);
        assert!(past.engaged);
    }

    /// A commit of web events alone leaves the state file as it was, and a state file that then
    /// loses its last commit is caught up across them: the action is where the log says.
    #[tokio::test]
    async fn web_events_leave_the_state_file_alone_and_catch_up_skips_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("beckon.db");
        let (action, customer) = offered_action(&db).await;
        {
            let store = SqliteStore::open(&db).unwrap();
            let web: crate::ingest::WebEventRequest = serde_json::from_value(serde_json::json!({
                "customerCookieId": customer,
                "sessionId": SESSION,
                "eventName": "pageview",
                "page": { "url": "https://shop.example/", "title": "Shop" }
            }))
            .unwrap();
            let web = web.into_event(Timestamp::from_unix_millis(1_800_000_000_000));
            let stored = store
                .commit(Submission::records(
                    DEPLOYMENT,
                    vec![Item::Web(std::sync::Arc::new(web.unwrap()))],
                ))
                .await
                .unwrap();
            assert!(matches!(stored[..], [Outcome::Stored { seq: 3 }]));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let state = rusqlite::Connection::open(super::path(&db)).unwrap();
        let applied: i64 = state
            .query_row("SELECT seq FROM applied", [], |r| r.get(0))
            .unwrap();
        assert_eq!(applied, 2, "the web event's commit wrote the state file");
        // What the state file holds had it lost the commit of `offered` (record 2).
        state
            .execute_batch(
                "UPDATE applied SET seq = 1;
                 UPDATE actions SET state = 'qualified', seen = 1, offered_at = NULL;",
            )
            .unwrap();
        drop(state);
        let store = SqliteStore::open(&db).unwrap();
        assert!(offered_again_is_a_duplicate(&store, action, customer).await);
        let accepted = commit(&store, event(action, customer, State::Accepted))
            .await
            .unwrap();
        assert!(matches!(accepted[..], [Outcome::Stored { seq: 4 }]));
    }

    /// The state file kept a commit the log lost (a power loss before the log's WAL was synced,
    /// after this file's pages reached the disk): it is rebuilt, so the action is where the log
    /// says and the lost state can be reported again.
    #[tokio::test]
    async fn a_state_file_ahead_of_the_log_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("beckon.db");
        let (action, customer) = offered_action(&db).await;
        // What `accepted`, logged as record 3 and then lost with the log's last frames, left.
        rusqlite::Connection::open(super::path(&db))
            .unwrap()
            .execute_batch(
                "UPDATE applied SET seq = 3;
                 UPDATE actions SET state = 'accepted', seen = seen | (1 << 2);",
            )
            .unwrap();
        let store = SqliteStore::open(&db).unwrap();
        let accepted = commit(&store, event(action, customer, State::Accepted))
            .await
            .unwrap();
        assert!(matches!(accepted[..], [Outcome::Stored { seq: 3 }]));
    }
}
