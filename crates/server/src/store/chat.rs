//! The store seam of web chat: agent accounts and their sessions, conversations and the entries
//! of each conversation (messages, joins, ends) numbered per conversation, and the stored state
//! of the action a conversation comes from.
//!
//! Plain records only: what they mean (presence, routing, tokens, the lifecycle events a
//! conversation causes) lives in [`crate::chat`].

use async_trait::async_trait;
use beckon_core::{MediaType, State, Timestamp};
use uuid::Uuid;

use super::StoreError;

/// An action as the store knows it, with the identity its later events must carry.
#[derive(Debug, Clone)]
pub struct StoredAction {
    pub deployment_id: Uuid,
    pub media: MediaType,
    pub action_map_id: Uuid,
    /// Unknown for actions stored before versions were kept.
    pub action_map_version: Option<u32>,
    pub customer_id: Uuid,
    /// Unknown for actions stored before sessions were kept.
    pub session_id: Option<Uuid>,
    pub state: State,
}

/// An agent account.
#[derive(Debug, Clone)]
pub struct AgentRecord {
    pub id: Uuid,
    pub name: String,
    /// Unique, compared as given (lower-cased by [`crate::chat::agents`]).
    pub email: String,
    /// An argon2 PHC string.
    pub password_hash: String,
    /// Most conversations the agent handles at once.
    pub capacity: u32,
}

/// Where a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// In the queue: no agent has joined.
    Waiting,
    /// An agent has joined.
    Active,
    Ended,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Waiting => "waiting",
            ConversationStatus::Active => "active",
            ConversationStatus::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<ConversationStatus> {
        [
            ConversationStatus::Waiting,
            ConversationStatus::Active,
            ConversationStatus::Ended,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// A conversation as stored.
#[derive(Debug, Clone)]
pub struct ConversationRecord {
    pub id: Uuid,
    pub deployment_id: Uuid,
    /// The webchat action it comes from (one conversation per action).
    pub action_id: Uuid,
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub customer_id: Uuid,
    pub session_id: Uuid,
    /// SHA-256 (hex) of the visitor's token.
    pub token_hash: String,
    /// The pre-chat form's answers, as sent.
    pub form: serde_json::Value,
    pub status: ConversationStatus,
    pub agent_id: Option<Uuid>,
    pub created_at: Timestamp,
}

/// Web chat storage; every write goes through the store's writer.
#[async_trait]
pub trait ChatStore: Send + Sync + 'static {
    /// An action's stored state and identity.
    async fn action(&self, action_id: Uuid) -> Result<Option<StoredAction>, StoreError>;

    /// Every agent account, by name.
    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError>;

    /// Creates an account, or updates the one with the same email (keeping its id); answers the
    /// stored id. For accounts from configuration, which the file decides.
    async fn save_agent(&self, agent: AgentRecord) -> Result<Uuid, StoreError>;

    /// Creates an account unless one has its email; `false` (and nothing changed) if one has.
    async fn add_agent(&self, agent: AgentRecord) -> Result<bool, StoreError>;

    /// Removes an account and its sessions; `false` if there was none.
    async fn delete_agent(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Keeps a sign-in: the SHA-256 of its token, whose it is and until when.
    async fn add_agent_session(
        &self,
        token_hash: String,
        agent_id: Uuid,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// The agent and expiry of a sign-in.
    async fn agent_session(
        &self,
        token_hash: String,
    ) -> Result<Option<(Uuid, Timestamp)>, StoreError>;

    /// Ends a sign-in.
    async fn remove_agent_session(&self, token_hash: String) -> Result<(), StoreError>;

    /// Stores a new conversation; `false` if its action already has one.
    async fn create_conversation(&self, c: ConversationRecord) -> Result<bool, StoreError>;

    async fn conversation(&self, id: Uuid) -> Result<Option<ConversationRecord>, StoreError>;

    /// Conversations not ended, oldest first.
    async fn open_conversations(&self) -> Result<Vec<ConversationRecord>, StoreError>;

    /// Moves a conversation from `from` to `to` (with the agent, when given); `false` if it was
    /// not in `from`.
    async fn move_conversation(
        &self,
        id: Uuid,
        from: ConversationStatus,
        to: ConversationStatus,
        agent_id: Option<Uuid>,
    ) -> Result<bool, StoreError>;

    /// Appends an entry (JSON text) with the conversation's next sequence number, which it
    /// answers.
    async fn append_entry(&self, conversation_id: Uuid, body: String) -> Result<u64, StoreError>;

    /// The entries after `after`, in order, with their sequence numbers.
    async fn entries(
        &self,
        conversation_id: Uuid,
        after: u64,
    ) -> Result<Vec<(u64, String)>, StoreError>;
}
