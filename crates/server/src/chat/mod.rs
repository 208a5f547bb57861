//! Web chat, server side: conversations between a visitor who accepted a chat invitation and
//! an agent, the queue that routes them, agents' presence, and the lifecycle events a
//! conversation causes (spec 3.1: `started` when it is created, `engaged` when an agent joins,
//! `abandoned` when the visitor leaves before that, `completed` when it ends after).
//!
//! [`Chat`] is the one desk: it keeps the open conversations, the agents' accounts and presence
//! in memory (rebuilt from the store at start; presence starts offline), stores every change
//! before announcing it, and announces to chat sockets ([`socket`]) through one broadcast
//! channel. Entries of one conversation are appended and announced one at a time, so their
//! sequence numbers reach every socket in order. The protocol and rules are in `docs/chat.md`.

pub mod agents;
pub mod entry;
mod heartbeat;
pub mod presence;
pub mod socket;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use beckon_core::decide::Availability;
use beckon_core::{ActionEvent, MediaType, State, Timestamp};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::config::Deployment;
use crate::store::chat::{AgentRecord, ConversationRecord, ConversationStatus};
use crate::store::{CommitError, Item, Outcome, Store, StoreError, Submission};
use agents::{AgentConfig, AgentView, PasswordWork};
use entry::{Entry, EventIdentity, Party};
use presence::{Load, Presence};

/// `[chat]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatSettings {
    /// How long an agent's sign-in lasts.
    pub session_hours: u64,
    /// How long a waiting conversation keeps without a visitor connected before it is
    /// abandoned.
    pub abandon_after_secs: u64,
    /// Largest message text, in bytes.
    pub max_message_bytes: usize,
    /// Frames a visitor (all sockets of a conversation together) or an agent's socket may send
    /// per second, sustained.
    pub messages_per_second: u32,
    /// Frames they may send at once before the rate applies.
    pub message_burst: u32,
    /// Seconds between the server's pings on each chat socket; a socket from which nothing has
    /// arrived for two intervals, or whose peer has not taken a write for two intervals, is
    /// dropped, its peer taken to be gone.
    pub ping_interval_secs: u64,
    /// Agent sign-in attempts one client address may make per minute, sustained (a sign-in
    /// that succeeds is not counted).
    pub sign_ins_per_minute: u32,
    /// Attempts one client address may make at once before that rate applies.
    pub sign_in_burst: u32,
    /// Sign-in attempts per minute for one email address, from any client, sustained.
    pub sign_ins_per_minute_per_email: u32,
    /// Attempts for one email address at once before that rate applies.
    pub sign_in_burst_per_email: u32,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            session_hours: 12,
            abandon_after_secs: 60,
            max_message_bytes: 4096,
            messages_per_second: 5,
            message_burst: 10,
            ping_interval_secs: 20,
            sign_ins_per_minute: 10,
            sign_in_burst: 20,
            sign_ins_per_minute_per_email: 2,
            sign_in_burst_per_email: 10,
        }
    }
}

/// Why a chat operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Conflict(&'static str, String),
    #[error("{0}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] agents::PasswordError),
}

/// One live notice for the chat sockets.
#[derive(Debug)]
pub struct Notice {
    /// The conversation it is about; `None` for queue changes (every agent).
    pub conversation_id: Option<Uuid>,
    /// The agent of that conversation, who sees it too.
    pub agent_id: Option<Uuid>,
    /// The entry's sequence number; `None` for live-only notices.
    pub seq: Option<u64>,
    /// Who is typing, for typing notices (not sent back to that side).
    pub typing: Option<Party>,
    pub frame: String,
}

/// An agent's sign-in ended: their console sockets check theirs and close if it went.
#[derive(Debug, Clone, Copy)]
pub struct SignInEnded {
    pub agent: Uuid,
    /// The close reason their sockets give.
    pub reason: &'static str,
}

/// Most visitor sockets one conversation may have open at once (a visitor with the chat on a
/// few tabs, or reconnecting while the server has not yet seen the old socket go); one more is
/// refused at the handshake (429 `too-many-sockets`).
pub const MAX_VISITOR_SOCKETS: usize = 16;

/// The rate limiter of `[chat] messages_per_second` and `message_burst`.
pub(crate) fn rate_limiter(s: &ChatSettings) -> DefaultDirectRateLimiter {
    let quota =
        Quota::per_second(NonZeroU32::new(s.messages_per_second).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(s.message_burst).unwrap_or(NonZeroU32::MIN));
    RateLimiter::direct(quota)
}

struct Live {
    record: ConversationRecord,
    /// Visitor sockets connected now.
    visitors: usize,
    /// Visitor sockets admitted ([`Chat::visitor_socket`]): connected, or still in their
    /// handshake. At most [`MAX_VISITOR_SOCKETS`].
    sockets: usize,
    /// The frames the visitor may send, shared by all of the conversation's visitor sockets.
    limiter: Arc<DefaultDirectRateLimiter>,
    /// When the last visitor socket went (or the conversation was created with none).
    left_at: Option<Instant>,
    /// Held while an entry is appended and announced.
    order: Arc<tokio::sync::Mutex<()>>,
}

impl Live {
    fn new(record: ConversationRecord, settings: &ChatSettings) -> Live {
        Live {
            record,
            visitors: 0,
            sockets: 0,
            limiter: Arc::new(rate_limiter(settings)),
            left_at: Some(Instant::now()),
            order: Default::default(),
        }
    }
}

/// A visitor socket admitted to a conversation: holds its place among the conversation's
/// [`MAX_VISITOR_SOCKETS`] until dropped (the socket ended, or its handshake never finished).
pub struct VisitorSocket {
    chat: Arc<Chat>,
    conversation: Uuid,
    /// Whether a place was taken (not for a conversation that has ended).
    counted: bool,
    /// The conversation's rate limiter.
    pub(crate) limiter: Arc<DefaultDirectRateLimiter>,
}

impl Drop for VisitorSocket {
    fn drop(&mut self) {
        if self.counted
            && let Some(live) = self.chat.desk().open.get_mut(&self.conversation)
        {
            live.sockets = live.sockets.saturating_sub(1);
        }
    }
}

/// A visitor socket refused: the conversation has [`MAX_VISITOR_SOCKETS`] open already.
#[derive(Debug, thiserror::Error)]
#[error(
    "this conversation has {MAX_VISITOR_SOCKETS} visitor sockets open already; close one first"
)]
pub struct TooManySockets;

#[derive(Default)]
struct Desk {
    accounts: HashMap<Uuid, AgentRecord>,
    presence: HashMap<Uuid, Presence>,
    /// Conversations not ended.
    open: HashMap<Uuid, Live>,
}

impl Desk {
    fn load(&self, agent: &AgentRecord) -> Load {
        Load {
            presence: self.presence.get(&agent.id).copied().unwrap_or_default(),
            capacity: agent.capacity,
            active: self
                .open
                .values()
                .filter(|l| l.record.agent_id == Some(agent.id))
                .count() as u32,
        }
    }

    /// Whether the agent may take a chat now: available, and below their capacity.
    fn may_take(&self, agent: &AgentRecord) -> Result<(), ChatError> {
        let load = self.load(agent);
        if load.presence != Presence::Available {
            return Err(ChatError::Conflict(
                "not-available",
                "set your presence to available to take chats".into(),
            ));
        }
        if load.active >= load.capacity {
            return Err(ChatError::Conflict(
                "at-capacity",
                format!("you have {} chats, your capacity", load.active),
            ));
        }
        Ok(())
    }

    /// The conversation the agent would take next: the one that has waited longest.
    fn next_for(&self, agent: &AgentRecord) -> Result<Uuid, ChatError> {
        self.may_take(agent)?;
        self.waiting()
            .first()
            .map(|r| r.id)
            .ok_or_else(|| ChatError::Conflict("queue-empty", "no conversation is waiting".into()))
    }

    /// Waiting conversations, first come first.
    fn waiting(&self) -> Vec<&ConversationRecord> {
        let mut w: Vec<&ConversationRecord> = self
            .open
            .values()
            .map(|l| &l.record)
            .filter(|r| r.status == ConversationStatus::Waiting)
            .collect();
        w.sort_by_key(|r| (r.created_at, r.id));
        w
    }
}

/// The web chat desk, shared by every request and socket.
pub struct Chat {
    store: Arc<dyn Store>,
    pub settings: ChatSettings,
    desk: Mutex<Desk>,
    /// Every notice, for agent consoles (few: they filter what is theirs).
    notices: broadcast::Sender<Arc<Notice>>,
    /// Each conversation's notices, for its visitor sockets: a message wakes the sockets of its
    /// conversation only, not every connected visitor. A channel goes when its conversation
    /// ends and when its last visitor socket does.
    conversations: Mutex<HashMap<Uuid, broadcast::Sender<Arc<Notice>>>>,
    /// Sign-ins that ended (signed out, account deleted), for that agent's console sockets.
    sign_ins_ended: broadcast::Sender<SignInEnded>,
    /// Password hashing and checking, one run per two cores at a time (at least one run).
    passwords: PasswordWork,
}

fn now() -> Timestamp {
    crate::api::ingest::now()
}

impl Chat {
    /// Saves the configured agents, then reads accounts and open conversations; waiting ones
    /// count as left by their visitor until a socket connects.
    pub async fn load(
        store: Arc<dyn Store>,
        settings: ChatSettings,
        configured: &[AgentConfig],
    ) -> Result<Arc<Chat>, StoreError> {
        for a in configured {
            store.save_agent(agents::configured(a)).await?;
        }
        let mut desk = Desk::default();
        for a in store.agents().await? {
            desk.accounts.insert(a.id, a);
        }
        for record in store.open_conversations().await? {
            desk.open.insert(record.id, Live::new(record, &settings));
        }
        let waiting: Vec<Uuid> = desk.waiting().iter().map(|r| r.id).collect();
        let chat = Arc::new(Chat {
            store,
            settings,
            desk: Mutex::new(desk),
            notices: broadcast::channel(4096).0,
            conversations: Mutex::default(),
            sign_ins_ended: broadcast::channel(64).0,
            passwords: {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                let turns = agents::password_turns(cores);
                PasswordWork::new(turns, turns * agents::WAITING_PER_TURN)
            },
        });
        for id in waiting {
            chat.watch_abandonment(id);
        }
        Ok(chat)
    }

    fn desk(&self) -> std::sync::MutexGuard<'_, Desk> {
        self.desk.lock().expect("chat desk")
    }

    /// Every live notice, for an agent console.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.notices.subscribe()
    }

    /// Ended sign-ins, for agent console sockets.
    pub fn subscribe_sign_ins(&self) -> broadcast::Receiver<SignInEnded> {
        self.sign_ins_ended.subscribe()
    }

    /// The live notices of one conversation, for its visitor sockets.
    pub fn subscribe_conversation(&self, id: Uuid) -> broadcast::Receiver<Arc<Notice>> {
        let mut channels = self.conversations.lock().expect("chat channels");
        channels
            .entry(id)
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    /// Drops the channel of a conversation that has no visitor socket left (or has ended: its
    /// sockets read what was sent, then see the channel closed).
    fn drop_channel(&self, id: Uuid, only_unused: bool) {
        let mut channels = self.conversations.lock().expect("chat channels");
        if channels
            .get(&id)
            .is_some_and(|c| !only_unused || c.receiver_count() == 0)
        {
            channels.remove(&id);
        }
    }

    fn announce(&self, notice: Notice) {
        let notice = Arc::new(notice);
        if let Some(id) = notice.conversation_id {
            let mut channels = self.conversations.lock().expect("chat channels");
            if let Some(channel) = channels.get(&id)
                && channel.send(notice.clone()).is_err()
            {
                channels.remove(&id);
            }
        }
        let _ = self.notices.send(notice);
    }

    fn announce_queue(&self) {
        let waiting = self.desk().waiting().len();
        self.announce(Notice {
            conversation_id: None,
            agent_id: None,
            seq: None,
            typing: None,
            frame: json!({ "type": "queue", "waiting": waiting }).to_string(),
        });
    }

    /// What webchat decisions of `deployment` are told (`docs/chat.md`).
    pub fn availability(&self, deployment: &Deployment) -> Availability {
        if deployment.assume_agents_available {
            return Availability::default();
        }
        let desk = self.desk();
        presence::availability(
            desk.accounts.values().map(|a| desk.load(a)),
            desk.waiting().len(),
        )
    }

    // --- agents ---------------------------------------------------------------------------

    /// Every account, by name.
    pub fn agents(&self) -> Vec<AgentView> {
        let desk = self.desk();
        let mut all: Vec<AgentView> = desk.accounts.values().map(AgentView::from).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name).then(a.email.cmp(&b.email)));
        all
    }

    /// Creates an account (409 if the email is taken).
    pub async fn add_agent(
        &self,
        name: &str,
        email: &str,
        password: String,
        capacity: u32,
    ) -> Result<AgentView, ChatError> {
        agents::check_account(name, email, capacity)
            .map_err(|(field, detail)| ChatError::Invalid(field, detail))?;
        let email = agents::normalize_email(email);
        let taken = || {
            ChatError::Conflict(
                "already-exists",
                format!("an agent with email {email} exists"),
            )
        };
        // Checked here to spare the hash; the store decides (two creates may both pass here).
        if self.desk().accounts.values().any(|a| a.email == email) {
            return Err(taken());
        }
        let password_hash = self.passwords.hash(password).await?;
        let record = AgentRecord {
            id: Uuid::new_v4(),
            name: name.trim().to_owned(),
            email: email.clone(),
            password_hash,
            capacity,
        };
        if !self.store.add_agent(record.clone()).await? {
            return Err(taken());
        }
        let view = AgentView::from(&record);
        self.desk().accounts.insert(record.id, record);
        Ok(view)
    }

    /// Removes an account and its sign-ins (its console sockets close); its conversations stay
    /// with it until they end.
    pub async fn remove_agent(&self, id: Uuid) -> Result<bool, ChatError> {
        let removed = self.store.delete_agent(id).await?;
        {
            let mut desk = self.desk();
            desk.accounts.remove(&id);
            desk.presence.remove(&id);
        }
        let _ = self.sign_ins_ended.send(SignInEnded {
            agent: id,
            reason: "the account was deleted",
        });
        Ok(removed)
    }

    /// Checks an email and password; a new sign-in token with its expiry.
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
    ) -> Result<Option<(String, Timestamp, AgentView)>, ChatError> {
        let email = agents::normalize_email(email);
        let account = self
            .desk()
            .accounts
            .values()
            .find(|a| a.email == email)
            .cloned();
        // One argon2 verification either way: without an account it is against a constant
        // hash, so timing does not tell emails apart.
        let phc = match &account {
            Some(a) => a.password_hash.clone(),
            None => agents::UNKNOWN_ACCOUNT.to_owned(),
        };
        let ok = self.passwords.verify(password, phc).await?;
        let Some(account) = account.filter(|_| ok) else {
            return Ok(None);
        };
        let token = agents::new_token();
        let hours = self.settings.session_hours as i64;
        let expires = Timestamp::from_unix_millis(now().unix_millis() + hours * 3_600_000);
        self.store
            .add_agent_session(agents::token_hash(&token), account.id, expires)
            .await?;
        Ok(Some((token, expires, AgentView::from(&account))))
    }

    /// The agent a sign-in token belongs to and its expiry, if it has not expired.
    pub async fn agent_for(
        &self,
        token: &str,
    ) -> Result<Option<(AgentRecord, Timestamp)>, ChatError> {
        let Some((agent, expires)) = self.store.agent_session(agents::token_hash(token)).await?
        else {
            return Ok(None);
        };
        if expires.unix_millis() <= now().unix_millis() {
            return Ok(None);
        }
        Ok(self
            .desk()
            .accounts
            .get(&agent)
            .map(|a| (a.clone(), expires)))
    }

    /// Ends a sign-in (its console sockets close); the agent goes offline.
    pub async fn sign_out(&self, agent: Uuid, token: &str) -> Result<(), ChatError> {
        self.store
            .remove_agent_session(agents::token_hash(token))
            .await?;
        let _ = self.sign_ins_ended.send(SignInEnded {
            agent,
            reason: "signed out",
        });
        self.set_presence(agent, Presence::Offline);
        Ok(())
    }

    pub fn set_presence(&self, agent: Uuid, presence: Presence) {
        self.desk().presence.insert(agent, presence);
        // Queue counts do not change, but what agents can take does.
        self.announce_queue();
    }

    /// The agent's presence, capacity and conversations in progress, and the message size
    /// limit (for the console to check before sending).
    pub fn status(&self, agent: &AgentRecord) -> Value {
        let desk = self.desk();
        let load = desk.load(agent);
        json!({
            "agent": AgentView::from(agent),
            "presence": load.presence,
            "capacity": load.capacity,
            "active": load.active,
            "maxMessageBytes": self.settings.max_message_bytes,
        })
    }

    // --- conversations --------------------------------------------------------------------

    /// Creates the conversation of an accepted webchat action and records `started`; answers
    /// it with the visitor's token and the identity of the `started` event stored (none when a
    /// retry found it stored already).
    pub async fn start(
        self: &Arc<Self>,
        deployment_id: Uuid,
        action_id: Uuid,
        customer_id: Uuid,
        session_id: Option<Uuid>,
        form: Value,
    ) -> Result<(ConversationRecord, String, EventIdentity), ChatError> {
        let action = self
            .store
            .action(action_id)
            .await?
            .filter(|a| a.deployment_id == deployment_id)
            .ok_or(ChatError::NotFound("action"))?;
        if action.media != MediaType::Webchat {
            return Err(ChatError::Invalid(
                "actionId",
                format!(
                    "action {action_id} is a {} action, not webchat",
                    action.media
                ),
            ));
        }
        if action.customer_id != customer_id {
            return Err(ChatError::Forbidden(
                "the action belongs to another customer",
            ));
        }
        let version = action.action_map_version.ok_or_else(|| {
            ChatError::Conflict(
                "action-too-old",
                "the action was stored before map versions were kept; it cannot start a chat"
                    .into(),
            )
        })?;
        let token = agents::new_token();
        let record = ConversationRecord {
            id: Uuid::new_v4(),
            deployment_id,
            action_id,
            action_map_id: action.action_map_id,
            action_map_version: version,
            customer_id,
            session_id: action.session_id.or(session_id).unwrap_or(customer_id),
            token_hash: agents::token_hash(&token),
            form,
            status: ConversationStatus::Waiting,
            agent_id: None,
            created_at: now(),
        };
        // `started` first: its lifecycle check refuses an action that was not accepted. A
        // retry after a failure below finds `started` (a duplicate) and creates the
        // conversation then.
        let started = self.lifecycle(&record, State::Started);
        let stored = EventIdentity::of(&started);
        let identity = match self.record(&record, started).await? {
            Outcome::Stored { .. } => stored,
            Outcome::Duplicate => EventIdentity::default(),
        };
        if !self.store.create_conversation(record.clone()).await? {
            return Err(ChatError::Conflict(
                "conversation-exists",
                format!("action {action_id} already has a conversation"),
            ));
        }
        self.desk()
            .open
            .insert(record.id, Live::new(record.clone(), &self.settings));
        self.watch_abandonment(record.id);
        self.announce_queue();
        Ok((record, token, identity))
    }

    /// A lifecycle event of the conversation's action, not yet recorded: its `eventId` and
    /// `timestamp` are what the page's copy of it carries too (spec 4.3).
    fn lifecycle(&self, c: &ConversationRecord, state: State) -> ActionEvent {
        ActionEvent {
            action_id: c.action_id,
            action_state: state,
            action_media_type: MediaType::Webchat,
            action_map_id: c.action_map_id,
            action_map_version: c.action_map_version,
            customer_id: c.customer_id,
            session_id: c.session_id,
            error: None,
            event_id: Uuid::new_v4(),
            timestamp: now(),
        }
    }

    /// Records a lifecycle event of the conversation's action in the event log.
    async fn record(
        &self,
        c: &ConversationRecord,
        event: ActionEvent,
    ) -> Result<Outcome, CommitError> {
        let outcome = self
            .store
            .commit(Submission::records(
                c.deployment_id,
                vec![Item::Action(event)],
            ))
            .await?;
        Ok(outcome.into_iter().next().unwrap_or(Outcome::Duplicate))
    }

    /// A conversation, current as the desk knows it.
    pub async fn conversation(&self, id: Uuid) -> Result<ConversationRecord, ChatError> {
        if let Some(live) = self.desk().open.get(&id) {
            return Ok(live.record.clone());
        }
        self.store
            .conversation(id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))
    }

    /// The conversation a visitor's token opens (in its deployment).
    pub async fn for_visitor(
        &self,
        deployment_id: Uuid,
        id: Uuid,
        token: &str,
    ) -> Result<ConversationRecord, ChatError> {
        let c = self.conversation(id).await?;
        if c.deployment_id != deployment_id {
            return Err(ChatError::NotFound("conversation"));
        }
        if !crate::api::auth::same(&c.token_hash, &agents::token_hash(token)) {
            return Err(ChatError::Forbidden(
                "this token does not open this conversation",
            ));
        }
        Ok(c)
    }

    /// The queue, first come first.
    pub fn queue(&self) -> Vec<ConversationRecord> {
        self.desk().waiting().into_iter().cloned().collect()
    }

    /// The agent's conversations in progress, oldest first.
    pub fn conversations_of(&self, agent: Uuid) -> Vec<ConversationRecord> {
        let desk = self.desk();
        let mut mine: Vec<ConversationRecord> = desk
            .open
            .values()
            .filter(|l| l.record.agent_id == Some(agent))
            .map(|l| l.record.clone())
            .collect();
        mine.sort_by_key(|r| (r.created_at, r.id));
        mine
    }

    /// The agent joins the conversation that has waited longest, if they are available and
    /// below their capacity; records `engaged`. Done during the conversation's turn, as an end
    /// is: a visitor closing it at the same moment either comes first (the agent gets the next
    /// one) or after (it is `completed`), never in between.
    pub async fn accept_next(&self, agent: &AgentRecord) -> Result<ConversationRecord, ChatError> {
        loop {
            let id = self.desk().next_for(agent)?;
            let Ok(_turn) = self.turn(id).await else {
                continue; // it ended while this waited: the next one
            };
            let record = {
                let mut desk = self.desk();
                // Meanwhile the agent may have taken another, or another agent this one.
                desk.may_take(agent)?;
                let Some(live) = desk
                    .open
                    .get_mut(&id)
                    .filter(|l| l.record.status == ConversationStatus::Waiting)
                else {
                    continue;
                };
                live.record.status = ConversationStatus::Active;
                live.record.agent_id = Some(agent.id);
                live.record.clone()
            };
            return self.join(record, agent).await;
        }
    }

    /// Records that the agent joined a conversation (during its turn) and tells everyone.
    async fn join(
        &self,
        record: ConversationRecord,
        agent: &AgentRecord,
    ) -> Result<ConversationRecord, ChatError> {
        self.store
            .move_conversation(
                record.id,
                ConversationStatus::Waiting,
                ConversationStatus::Active,
                Some(agent.id),
            )
            .await?;
        let engaged = self.lifecycle(&record, State::Engaged);
        let stored = EventIdentity::of(&engaged);
        let event = match self.record(&record, engaged).await {
            Ok(Outcome::Stored { .. }) => stored,
            Ok(Outcome::Duplicate) => EventIdentity::default(),
            Err(e) => {
                tracing::warn!(conversation = %record.id, error = %e, "could not record engaged");
                EventIdentity::default()
            }
        };
        self.write(
            record.id,
            Entry::Joined {
                agent_name: agent.name.clone(),
                sent_at: now(),
                event,
            },
        )
        .await?;
        self.announce(Notice {
            conversation_id: Some(record.id),
            agent_id: Some(agent.id),
            seq: None,
            typing: None,
            frame: json!({ "type": "assigned", "conversationId": record.id }).to_string(),
        });
        self.announce_queue();
        Ok(record)
    }

    /// The turn of a conversation still open: held while an entry is stored and announced.
    async fn turn(&self, id: Uuid) -> Result<tokio::sync::OwnedMutexGuard<()>, ChatError> {
        let ended =
            || ChatError::Conflict("conversation-ended", "the conversation has ended".into());
        let order = self
            .desk()
            .open
            .get(&id)
            .map(|l| l.order.clone())
            .ok_or_else(ended)?;
        let turn = order.lock_owned().await;
        // It may have ended while this waited.
        if !self.desk().open.contains_key(&id) {
            return Err(ended());
        }
        Ok(turn)
    }

    /// Stores an entry with the next sequence number and announces it (during the turn).
    async fn write(&self, id: Uuid, entry: Entry) -> Result<u64, ChatError> {
        let body = serde_json::to_string(&entry).expect("entries serialize");
        let seq = self.store.append_entry(id, body).await?;
        let agent_id = self.desk().open.get(&id).and_then(|l| l.record.agent_id);
        self.announce(Notice {
            conversation_id: Some(id),
            agent_id,
            seq: Some(seq),
            typing: None,
            frame: entry.frame(id, seq).to_string(),
        });
        Ok(seq)
    }

    async fn append(&self, id: Uuid, entry: Entry) -> Result<u64, ChatError> {
        let _turn = self.turn(id).await?;
        self.write(id, entry).await
    }

    /// A message from the visitor or the conversation's agent.
    pub async fn post(
        &self,
        id: Uuid,
        from: Party,
        agent: Option<&AgentRecord>,
        text: String,
    ) -> Result<u64, ChatError> {
        if text.len() > self.settings.max_message_bytes {
            return Err(ChatError::Invalid(
                "too-large",
                format!(
                    "messages are limited to {} bytes",
                    self.settings.max_message_bytes
                ),
            ));
        }
        if text.trim().is_empty() {
            return Err(ChatError::Invalid("empty", "the message is empty".into()));
        }
        let entry = Entry::Message {
            from,
            agent_name: agent.map(|a| a.name.clone()),
            text,
            sent_at: now(),
        };
        self.append(id, entry).await
    }

    /// Shows the other side that `from` is typing.
    pub fn typing(&self, id: Uuid, from: Party) {
        let agent_id = self.desk().open.get(&id).and_then(|l| l.record.agent_id);
        self.announce(Notice {
            conversation_id: Some(id),
            agent_id,
            seq: None,
            typing: Some(from),
            frame: json!({ "type": "typing", "conversationId": id, "from": from }).to_string(),
        });
    }

    /// Ends a conversation: `abandoned` if no agent had joined, else `completed`.
    pub async fn end(&self, id: Uuid, by: Party) -> Result<(), ChatError> {
        let _turn = self.turn(id).await?;
        let before = self.desk().open.get(&id).map(|l| l.record.clone());
        let before = before.expect("open during its turn");
        let state = match before.status {
            ConversationStatus::Waiting => State::Abandoned,
            _ => State::Completed,
        };
        // The event is made first so that the entry carries its identity; it is recorded after
        // the entry, as before.
        let ended = self.lifecycle(&before, state);
        let entry = Entry::Ended {
            by,
            sent_at: now(),
            event: EventIdentity::of(&ended),
        };
        self.write(id, entry).await?;
        self.desk().open.remove(&id);
        self.drop_channel(id, false);
        self.store
            .move_conversation(id, before.status, ConversationStatus::Ended, None)
            .await?;
        if let Err(e) = self.record(&before, ended).await {
            tracing::warn!(conversation = %id, error = %e, "could not record the end");
        }
        if before.status == ConversationStatus::Waiting {
            self.announce_queue();
        }
        Ok(())
    }

    /// The frames of the entries after `after`.
    pub async fn entries(&self, id: Uuid, after: u64) -> Result<Vec<(u64, Value)>, ChatError> {
        Ok(self
            .store
            .entries(id, after)
            .await?
            .into_iter()
            .map(|(seq, body)| (seq, Entry::stored_frame(id, seq, &body)))
            .collect())
    }

    /// Admits one more visitor socket to a conversation, before its handshake is answered:
    /// refused when it has [`MAX_VISITOR_SOCKETS`] already. The place is taken at once, so
    /// handshakes at the same moment cannot all pass; it is given back when the returned guard
    /// drops. A conversation that has ended takes no place (its socket sends what was stored
    /// and closes).
    pub fn visitor_socket(self: &Arc<Self>, id: Uuid) -> Result<VisitorSocket, TooManySockets> {
        let mut desk = self.desk();
        let (counted, limiter) = match desk.open.get_mut(&id) {
            Some(live) if live.sockets >= MAX_VISITOR_SOCKETS => return Err(TooManySockets),
            Some(live) => {
                live.sockets += 1;
                (true, live.limiter.clone())
            }
            None => (false, Arc::new(rate_limiter(&self.settings))),
        };
        Ok(VisitorSocket {
            chat: self.clone(),
            conversation: id,
            counted,
            limiter,
        })
    }

    /// A visitor socket connected; the first one tells the agent the visitor is there.
    pub fn visitor_connected(&self, id: Uuid) {
        let mut desk = self.desk();
        let Some(live) = desk.open.get_mut(&id) else {
            return;
        };
        live.visitors += 1;
        live.left_at = None;
        if let (1, Some(agent)) = (live.visitors, live.record.agent_id) {
            // Told under the desk's lock, so that a close and an open announce in their order.
            self.announce_visitor(id, agent, true);
        }
    }

    /// Whether a visitor socket of the conversation is connected now.
    pub fn has_visitor(&self, id: Uuid) -> bool {
        self.desk().open.get(&id).is_some_and(|l| l.visitors > 0)
    }

    /// Tells the conversation's agent that its visitor connected or left (live only). Called
    /// with the desk locked; takes only the channels' lock, which is never held while the desk
    /// is taken.
    fn announce_visitor(&self, id: Uuid, agent: Uuid, connected: bool) {
        self.announce(Notice {
            conversation_id: Some(id),
            agent_id: Some(agent),
            seq: None,
            typing: None,
            frame: json!({ "type": "visitor", "conversationId": id, "connected": connected })
                .to_string(),
        });
    }

    /// A visitor socket went (its receiver dropped); with none left, the conversation's channel
    /// goes, its agent is told, and a waiting conversation is abandoned after the grace period
    /// unless a socket comes back.
    pub fn visitor_disconnected(self: &Arc<Self>, id: Uuid) {
        self.drop_channel(id, true);
        let gone = {
            let mut desk = self.desk();
            let Some(live) = desk.open.get_mut(&id) else {
                return;
            };
            live.visitors = live.visitors.saturating_sub(1);
            if live.visitors == 0 {
                live.left_at = Some(Instant::now());
                if let Some(agent) = live.record.agent_id {
                    self.announce_visitor(id, agent, false);
                }
            }
            live.visitors == 0
        };
        if gone {
            self.watch_abandonment(id);
        }
    }

    fn grace(&self) -> Duration {
        Duration::from_secs(self.settings.abandon_after_secs)
    }

    /// After the grace period, abandons the conversation if it still waits with no visitor.
    fn watch_abandonment(self: &Arc<Self>, id: Uuid) {
        let chat = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(chat.grace()).await;
            let abandoned = chat.desk().open.get(&id).is_some_and(|l| {
                l.record.status == ConversationStatus::Waiting
                    && l.visitors == 0
                    && l.left_at.is_some_and(|t| t.elapsed() >= chat.grace())
            });
            if abandoned && let Err(e) = chat.end(id, Party::System).await {
                tracing::warn!(conversation = %id, error = %e, "could not abandon");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    async fn chat(dir: &tempfile::TempDir) -> Arc<Chat> {
        let store = SqliteStore::open(&dir.path().join("beckon.db")).unwrap();
        Chat::load(Arc::new(store), ChatSettings::default(), &[])
            .await
            .unwrap()
    }

    fn channels(chat: &Chat) -> usize {
        chat.conversations.lock().unwrap().len()
    }

    /// An open conversation on the desk, stored as waiting.
    async fn open(chat: &Chat) -> Uuid {
        let record = ConversationRecord {
            id: Uuid::new_v4(),
            deployment_id: Uuid::new_v4(),
            action_id: Uuid::new_v4(),
            action_map_id: Uuid::new_v4(),
            action_map_version: 1,
            customer_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
            token_hash: String::new(),
            form: json!({}),
            status: ConversationStatus::Waiting,
            agent_id: None,
            created_at: now(),
        };
        assert!(
            chat.store
                .create_conversation(record.clone())
                .await
                .unwrap()
        );
        let id = record.id;
        let live = Live {
            left_at: None,
            ..Live::new(record, &chat.settings)
        };
        chat.desk().open.insert(id, live);
        id
    }

    #[tokio::test]
    async fn a_conversation_admits_a_few_visitor_sockets_sharing_one_rate() {
        let dir = tempfile::tempdir().unwrap();
        let chat = chat(&dir).await;
        let id = open(&chat).await;
        let mut admitted: Vec<VisitorSocket> = (0..MAX_VISITOR_SOCKETS)
            .map(|_| chat.visitor_socket(id).unwrap())
            .collect();
        assert!(chat.visitor_socket(id).is_err());
        assert!(Arc::ptr_eq(&admitted[0].limiter, &admitted[1].limiter));
        // A socket that goes gives its place back.
        admitted.pop();
        admitted.push(chat.visitor_socket(id).unwrap());
        assert!(chat.visitor_socket(id).is_err());
        // An ended conversation counts nothing (its sockets close after catching up).
        chat.end(id, Party::Visitor).await.unwrap();
        drop(admitted);
        assert!(chat.visitor_socket(id).is_ok());
    }

    #[tokio::test]
    async fn a_conversation_channel_goes_when_it_ends_or_its_last_socket_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let chat = chat(&dir).await;

        // Ended with its socket still subscribed: the socket reads `ended`, the channel goes.
        let ended = open(&chat).await;
        chat.visitor_connected(ended);
        let mut socket = chat.subscribe_conversation(ended);
        assert_eq!(channels(&chat), 1);
        chat.end(ended, Party::Visitor).await.unwrap();
        assert_eq!(channels(&chat), 0);
        assert!(
            socket
                .recv()
                .await
                .unwrap()
                .frame
                .contains(r#""type":"ended""#)
        );

        // The last of two sockets leaving takes the channel; the first does not.
        let left = open(&chat).await;
        let (first, second) = (
            chat.subscribe_conversation(left),
            chat.subscribe_conversation(left),
        );
        chat.visitor_connected(left);
        chat.visitor_connected(left);
        drop(first);
        chat.visitor_disconnected(left);
        assert_eq!(channels(&chat), 1);
        drop(second);
        chat.visitor_disconnected(left);
        assert_eq!(channels(&chat), 0);
    }

    #[tokio::test]
    async fn an_agent_socket_session_is_over_at_its_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let chat = chat(&dir).await;
        let ada = chat
            .add_agent("Ada", "ada@shop.test", "correct horse".into(), 1)
            .await
            .unwrap();
        let (token, _, _) = chat
            .sign_in("ada@shop.test", "correct horse".into())
            .await
            .unwrap()
            .unwrap();
        let expires = Timestamp::from_unix_millis(now().unix_millis() + 300);
        let mut session = socket::Session::new(&chat, token, expires);
        let started = Instant::now();
        let reason = tokio::time::timeout(Duration::from_secs(5), session.over(&chat, ada.id))
            .await
            .expect("over at its expiry");
        assert_eq!(reason, "the sign-in has expired");
        assert!(started.elapsed() >= Duration::from_millis(250));
    }
}
