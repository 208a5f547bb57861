//! [`ChatStore`] on SQLite: reads on reader connections, writes on the writer thread.

use async_trait::async_trait;
use beckon_core::Timestamp;
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

use super::{SqliteStore, corrupt, from_json, parsed_column, uuid_column};
use crate::store::StoreError;
use crate::store::chat::{
    AgentRecord, ChatStore, ConversationRecord, ConversationStatus, StoredAction,
};

const CONVERSATION_COLUMNS: &str =
    "id, deployment_id, action_id, action_map_id, action_map_version, customer_id,
     session_id, token_hash, form, status, agent_id, created_at";

fn conversation_row(r: &Row<'_>) -> rusqlite::Result<ConversationRecord> {
    let status: String = r.get(9)?;
    Ok(ConversationRecord {
        id: uuid_column(0, &r.get::<_, String>(0)?)?,
        deployment_id: uuid_column(1, &r.get::<_, String>(1)?)?,
        action_id: uuid_column(2, &r.get::<_, String>(2)?)?,
        action_map_id: uuid_column(3, &r.get::<_, String>(3)?)?,
        action_map_version: r.get(4)?,
        customer_id: uuid_column(5, &r.get::<_, String>(5)?)?,
        session_id: uuid_column(6, &r.get::<_, String>(6)?)?,
        token_hash: r.get(7)?,
        form: from_json(8, &r.get::<_, String>(8)?)?,
        status: ConversationStatus::parse(&status)
            .ok_or_else(|| corrupt(9, format!("unknown status {status}")))?,
        agent_id: r
            .get::<_, Option<String>>(10)?
            .map(|a| uuid_column(10, &a))
            .transpose()?,
        created_at: Timestamp::from_unix_millis(r.get(11)?),
    })
}

#[async_trait]
impl ChatStore for SqliteStore {
    async fn action(&self, action_id: Uuid) -> Result<Option<StoredAction>, StoreError> {
        self.with_reader(move |conn| {
            conn.prepare_cached(
                "SELECT deployment_id, media, action_map_id, action_map_version, customer_id, session_id, state
                 FROM actions WHERE action_id = ?1",
            )?
            .query_row([action_id.to_string()], |r| {
                Ok(StoredAction {
                    deployment_id: uuid_column(0, &r.get::<_, String>(0)?)?,
                    media: parsed_column(1, "media", &r.get::<_, String>(1)?)?,
                    action_map_id: uuid_column(2, &r.get::<_, String>(2)?)?,
                    action_map_version: r.get(3)?,
                    customer_id: uuid_column(4, &r.get::<_, String>(4)?)?,
                    session_id: r
                        .get::<_, Option<String>>(5)?
                        .map(|s| uuid_column(5, &s))
                        .transpose()?,
                    state: parsed_column(6, "state", &r.get::<_, String>(6)?)?,
                })
            })
            .optional()
        })
        .await
    }

    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, email, password_hash, capacity FROM agents ORDER BY name, email",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(AgentRecord {
                    id: uuid_column(0, &r.get::<_, String>(0)?)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    password_hash: r.get(3)?,
                    capacity: r.get(4)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn save_agent(&self, a: AgentRecord) -> Result<Uuid, StoreError> {
        self.with_writer(move |conn| {
            let id: String = conn.query_row(
                "INSERT INTO agents (id, name, email, password_hash, capacity) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (email) DO UPDATE SET name = excluded.name,
                 password_hash = excluded.password_hash, capacity = excluded.capacity
                 RETURNING id",
                params![a.id.to_string(), a.name, a.email, a.password_hash, a.capacity],
                |r| r.get(0),
            )?;
            uuid_column(0, &id)
        })
        .await
    }

    async fn add_agent(&self, a: AgentRecord) -> Result<bool, StoreError> {
        self.with_writer(move |conn| {
            conn.execute(
                "INSERT INTO agents (id, name, email, password_hash, capacity) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (email) DO NOTHING",
                params![a.id.to_string(), a.name, a.email, a.password_hash, a.capacity],
            )
            .map(|inserted| inserted == 1)
        })
        .await
    }

    async fn delete_agent(&self, id: Uuid) -> Result<bool, StoreError> {
        self.with_writer(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM agent_sessions WHERE agent_id = ?1",
                [id.to_string()],
            )?;
            let n = tx.execute("DELETE FROM agents WHERE id = ?1", [id.to_string()])?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    async fn add_agent_session(
        &self,
        token_hash: String,
        agent_id: Uuid,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.with_writer(move |conn| {
            // Expired sign-ins go as new ones come.
            conn.execute(
                "DELETE FROM agent_sessions WHERE expires_at < ?1",
                [super::now().unix_millis()],
            )?;
            conn.execute(
                "INSERT INTO agent_sessions (token_hash, agent_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, agent_id.to_string(), expires_at.unix_millis()],
            )
            .map(drop)
        })
        .await
    }

    async fn agent_session(
        &self,
        token_hash: String,
    ) -> Result<Option<(Uuid, Timestamp)>, StoreError> {
        self.with_reader(move |conn| {
            conn.prepare_cached(
                "SELECT agent_id, expires_at FROM agent_sessions WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok((
                    uuid_column(0, &r.get::<_, String>(0)?)?,
                    Timestamp::from_unix_millis(r.get(1)?),
                ))
            })
            .optional()
        })
        .await
    }

    async fn remove_agent_session(&self, token_hash: String) -> Result<(), StoreError> {
        self.with_writer(move |conn| {
            conn.execute(
                "DELETE FROM agent_sessions WHERE token_hash = ?1",
                [token_hash],
            )
            .map(drop)
        })
        .await
    }

    async fn create_conversation(&self, c: ConversationRecord) -> Result<bool, StoreError> {
        self.with_writer(move |conn| {
            conn.execute(
                &format!(
                    "INSERT INTO conversations ({CONVERSATION_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (action_id) DO NOTHING"
                ),
                params![
                    c.id.to_string(),
                    c.deployment_id.to_string(),
                    c.action_id.to_string(),
                    c.action_map_id.to_string(),
                    c.action_map_version,
                    c.customer_id.to_string(),
                    c.session_id.to_string(),
                    c.token_hash,
                    c.form.to_string(),
                    c.status.as_str(),
                    c.agent_id.map(|a| a.to_string()),
                    c.created_at.unix_millis()
                ],
            )
            .map(|n| n > 0)
        })
        .await
    }

    async fn conversation(&self, id: Uuid) -> Result<Option<ConversationRecord>, StoreError> {
        self.with_reader(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"
            ))?
            .query_row([id.to_string()], conversation_row)
            .optional()
        })
        .await
    }

    async fn open_conversations(&self) -> Result<Vec<ConversationRecord>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE status != 'ended'
                 ORDER BY created_at, rowid"
            ))?;
            let rows = stmt.query_map([], conversation_row)?;
            rows.collect()
        })
        .await
    }

    async fn move_conversation(
        &self,
        id: Uuid,
        from: ConversationStatus,
        to: ConversationStatus,
        agent_id: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        self.with_writer(move |conn| {
            conn.execute(
                "UPDATE conversations SET status = ?3, agent_id = COALESCE(?4, agent_id),
                 ended_at = CASE WHEN ?3 = 'ended' THEN ?5 ELSE ended_at END
                 WHERE id = ?1 AND status = ?2",
                params![
                    id.to_string(),
                    from.as_str(),
                    to.as_str(),
                    agent_id.map(|a| a.to_string()),
                    super::now().unix_millis()
                ],
            )
            .map(|n| n > 0)
        })
        .await
    }

    async fn append_entry(&self, conversation_id: Uuid, body: String) -> Result<u64, StoreError> {
        self.with_writer(move |conn| {
            let id = conversation_id.to_string();
            let seq: i64 = conn.query_row(
                "INSERT INTO chat_entries (conversation_id, seq, body)
                 SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2 FROM chat_entries WHERE conversation_id = ?1
                 RETURNING seq",
                params![id, body],
                |r| r.get(0),
            )?;
            Ok(seq as u64)
        })
        .await
    }

    async fn entries(
        &self,
        conversation_id: Uuid,
        after: u64,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        self.with_reader(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, body FROM chat_entries WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![conversation_id.to_string(), after as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })?;
            rows.collect()
        })
        .await
    }
}
