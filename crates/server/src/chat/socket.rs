//! Chat sockets: one loop per connected visitor or agent console. A socket subscribes to the
//! desk's notices before it reads the stored entries it missed, then drops notices it has
//! already sent (by `seq`): no gap, no duplicate. Frames it receives are bounded in size and
//! rate (a visitor's rate is its conversation's, shared by its sockets; pings count, pongs that
//! answer the server's pings do not); a refusal is an `error` frame and the socket stays open.
//! Every socket is pinged, and dropped when its peer has gone silent (`heartbeat.rs`) or has
//! stopped reading: a write its peer has not taken within two ping intervals ends the socket,
//! which would otherwise wait on it for good, holding its place and hearing nothing. An
//! agent's socket lasts as long as the sign-in it was opened with: it closes when that ends or
//! expires.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use governor::DefaultDirectRateLimiter;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::entry::{ClientFrame, Party, error_frame};
use super::heartbeat::Heartbeat;
use super::{Chat, ChatError, Notice, SignInEnded, VisitorSocket};
use crate::store::chat::AgentRecord;

/// Close codes (`docs/chat.md`).
pub mod close {
    /// The conversation has ended.
    pub const ENDED: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// A binary frame.
    pub const UNSUPPORTED: u16 = 1003;
    /// The agent's sign-in ended (signed out, account deleted) or expired.
    pub const SIGNED_OUT: u16 = 1008;
    /// A frame or message over [`crate::api::chat::MAX_FRAME_BYTES`].
    pub const TOO_BIG: u16 = 1009;
}

/// Whether a read error is tungstenite's refusal of a frame or message over the configured
/// bound (its `CapacityError::MessageTooLong`; axum does not expose the type).
fn too_big(e: &axum::Error) -> bool {
    e.to_string().contains("Message too long")
}

/// The sign-in an agent's socket was opened with.
pub struct Session {
    token: String,
    expires: beckon_core::Timestamp,
    ended: tokio::sync::broadcast::Receiver<SignInEnded>,
    /// Set when this sign-in may have ended (with the close reason if it has): checked at the
    /// next wait, kept until the check is done.
    check: Option<&'static str>,
}

impl Session {
    /// Listens for the end of sign-ins from now: make it before the socket is served.
    pub fn new(chat: &Chat, token: String, expires: beckon_core::Timestamp) -> Session {
        Session {
            token,
            expires,
            ended: chat.subscribe_sign_ins(),
            // It may have ended between the handshake's check and the subscription.
            check: Some("signed out"),
        }
    }

    /// Waits until this sign-in is no more; the close reason. Cancel-safe: the socket's loop
    /// makes a new wait at each turn.
    pub(super) async fn over(&mut self, chat: &Chat, agent: Uuid) -> &'static str {
        let left = self.expires.unix_millis() - super::now().unix_millis();
        let expiry = tokio::time::sleep(Duration::from_millis(left.max(0) as u64));
        tokio::pin!(expiry);
        loop {
            if let Some(why) = self.check {
                // A store that cannot answer now does not sign the agent out.
                if let Ok(None) = chat.agent_for(&self.token).await {
                    return why;
                }
                self.check = None;
            }
            tokio::select! {
                _ = &mut expiry => return "the sign-in has expired",
                ended = self.ended.recv() => match ended {
                    Ok(e) if e.agent == agent => self.check = Some(e.reason),
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => self.check = Some("signed out"),
                    Err(RecvError::Closed) => std::future::pending().await,
                },
            }
        }
    }
}

/// Who is on the other end of a socket.
enum Side {
    Visitor {
        conversation: Uuid,
    },
    Agent {
        agent: AgentRecord,
        session: Session,
    },
}

impl Side {
    /// Waits until an agent's sign-in is over (its close reason); a visitor's never is.
    async fn signed_in_until(&mut self, chat: &Chat) -> &'static str {
        match self {
            Side::Visitor { .. } => std::future::pending().await,
            Side::Agent { agent, session } => session.over(chat, agent.id).await,
        }
    }

    /// Whether a notice is for this socket.
    fn sees(&self, n: &Notice) -> bool {
        match self {
            Side::Visitor { conversation } => {
                n.conversation_id == Some(*conversation) && n.typing != Some(Party::Visitor)
                    // Agent assignment notices are for consoles.
                    && (n.seq.is_some() || n.typing.is_some())
            }
            Side::Agent { agent, .. } => {
                n.conversation_id.is_none()
                    || (n.agent_id == Some(agent.id) && n.typing != Some(Party::Agent))
            }
        }
    }
}

struct Connection {
    chat: Arc<Chat>,
    socket: WebSocket,
    side: Side,
    /// The highest `seq` sent, per conversation.
    sent: std::collections::HashMap<Uuid, u64>,
    /// The frames this socket may take: a visitor's is its conversation's, shared by all of
    /// that conversation's visitor sockets; an agent console's is its own.
    limiter: Arc<DefaultDirectRateLimiter>,
    /// How long a write may wait for the peer to take it: two ping intervals.
    write_limit: Duration,
}

/// Serves a visitor's socket, first sending the entries after `after`; `admitted` is its place
/// among the conversation's sockets, given back when the socket ends.
pub async fn visitor(
    chat: Arc<Chat>,
    socket: WebSocket,
    admitted: VisitorSocket,
    conversation: Uuid,
    after: u64,
    shutdown: CancellationToken,
) {
    chat.visitor_connected(conversation);
    let limiter = admitted.limiter.clone();
    let mut c = Connection::new(
        chat.clone(),
        socket,
        Side::Visitor { conversation },
        limiter,
    );
    c.run(vec![(conversation, after)], shutdown).await;
    chat.visitor_disconnected(conversation);
    drop(admitted);
}

/// Serves an agent console's socket: queue changes and the agent's conversations, while
/// `session` lasts.
pub async fn agent(
    chat: Arc<Chat>,
    socket: WebSocket,
    agent: AgentRecord,
    session: Session,
    shutdown: CancellationToken,
) {
    // The console reads each conversation's history over HTTP; live entries start now.
    let limiter = Arc::new(super::rate_limiter(&chat.settings));
    let mut c = Connection::new(chat, socket, Side::Agent { agent, session }, limiter);
    c.run(Vec::new(), shutdown).await;
}

impl Connection {
    fn new(
        chat: Arc<Chat>,
        socket: WebSocket,
        side: Side,
        limiter: Arc<DefaultDirectRateLimiter>,
    ) -> Connection {
        let write_limit = 2 * Duration::from_secs(chat.settings.ping_interval_secs);
        Connection {
            limiter,
            chat,
            socket,
            side,
            sent: Default::default(),
            write_limit,
        }
    }

    /// Writes one message; `false` once the socket is gone or its peer has not taken the
    /// message within the write limit (it stopped reading).
    async fn write(&mut self, message: Message) -> bool {
        match tokio::time::timeout(self.write_limit, self.socket.send(message)).await {
            Ok(sent) => sent.is_ok(),
            Err(_) => {
                tracing::debug!("chat socket dropped: its peer took no write for two pings");
                false
            }
        }
    }

    async fn send(&mut self, frame: &str) -> bool {
        self.write(Message::text(frame)).await
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        self.write(close).await;
    }

    /// Sends stored entries after what was sent; `false` once the socket is gone.
    async fn catch_up(&mut self, conversation: Uuid, after: u64) -> bool {
        let Ok(entries) = self.chat.entries(conversation, after).await else {
            return false;
        };
        for (seq, frame) in entries {
            if !self.deliver(conversation, seq, &frame.to_string()).await {
                return false;
            }
        }
        true
    }

    /// Sends an entry unless already sent; `false` once the socket is gone or, for a visitor,
    /// the conversation has ended.
    async fn deliver(&mut self, conversation: Uuid, seq: u64, frame: &str) -> bool {
        let sent = self.sent.entry(conversation).or_default();
        if seq <= *sent {
            return true;
        }
        *sent = seq;
        if !self.send(frame).await {
            return false;
        }
        let ended = frame.contains(r#""type":"ended""#);
        if ended && matches!(self.side, Side::Visitor { .. }) {
            self.close(close::ENDED, "the conversation has ended").await;
            return false;
        }
        true
    }

    async fn run(&mut self, start: Vec<(Uuid, u64)>, shutdown: CancellationToken) {
        let mut notices = match self.side {
            Side::Visitor { conversation } => self.chat.subscribe_conversation(conversation),
            Side::Agent { .. } => self.chat.subscribe(),
        };
        for (conversation, after) in start {
            self.sent.insert(conversation, after);
            if !self.catch_up(conversation, after).await {
                return;
            }
        }
        let mut heartbeat =
            Heartbeat::new(Duration::from_secs(self.chat.settings.ping_interval_secs));
        loop {
            tokio::select! {
                notice = notices.recv() => match notice {
                    Ok(n) if self.side.sees(&n) => {
                        let alive = match (n.conversation_id, n.seq) {
                            (Some(c), Some(seq)) => self.deliver(c, seq, &n.frame).await,
                            _ => self.send(&n.frame).await,
                        };
                        if !alive {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        let behind: Vec<(Uuid, u64)> = self.sent.iter().map(|(c, s)| (*c, *s)).collect();
                        for (conversation, after) in behind {
                            if !self.catch_up(conversation, after).await {
                                return;
                            }
                        }
                    }
                    Err(RecvError::Closed) => return,
                },
                ping = heartbeat.ping_due() => {
                    // Silent for two intervals: the peer is gone, so no close frame is sent.
                    if !ping || !self.write(Message::Ping(Bytes::new())).await {
                        return;
                    }
                }
                incoming = self.socket.recv() => {
                    if let Some(Ok(_)) = incoming {
                        heartbeat.heard();
                    }
                    match incoming {
                        Some(Ok(Message::Text(text))) => {
                            if !self.received(text.as_str()).await {
                                return;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            self.close(close::UNSUPPORTED, "frames are JSON text").await;
                            return;
                        }
                        // A pong that answers the server's ping is free; the client's pings and
                        // other pongs take their share of the rate, so that they cannot be added
                        // to what a client sends (the WebSocket layer answers pings itself).
                        Some(Ok(Message::Pong(_))) if heartbeat.answered() => {}
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                            let _ = self.limiter.check();
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) if too_big(&e) => {
                            self.close(close::TOO_BIG, "frames are limited to 64 KiB").await;
                            return;
                        }
                        Some(Err(_)) | None => return,
                    }
                }
                reason = self.side.signed_in_until(&self.chat) => {
                    self.close(close::SIGNED_OUT, reason).await;
                    return;
                }
                _ = shutdown.cancelled() => {
                    self.close(close::GOING_AWAY, "the server is shutting down").await;
                    return;
                }
            }
        }
    }

    /// Handles one client frame; `false` once the socket is gone.
    async fn received(&mut self, text: &str) -> bool {
        if self.limiter.check().is_err() {
            let s = &self.chat.settings;
            let detail = format!(
                "at most {} frames per second (bursts of {}); this one was dropped",
                s.messages_per_second, s.message_burst
            );
            return self
                .send(&error_frame("rate-limited", detail).to_string())
                .await;
        }
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                let detail = format!("not a chat frame: {e}");
                return self
                    .send(&error_frame("bad-frame", detail).to_string())
                    .await;
            }
        };
        match self.act(frame).await {
            Ok(()) => true,
            Err(e) => {
                let code = match &e {
                    ChatError::Invalid(code, _) | ChatError::Conflict(code, _) => code,
                    ChatError::NotFound(_) => "not-found",
                    ChatError::Forbidden(_) => "forbidden",
                    ChatError::Commit(_) | ChatError::Store(_) | ChatError::Password(_) => {
                        "unavailable"
                    }
                };
                self.send(&error_frame(code, e.to_string()).to_string())
                    .await
            }
        }
    }

    /// The conversation a frame is about, and who sends it.
    fn target(
        &self,
        named: Option<Uuid>,
    ) -> Result<(Uuid, Party, Option<&AgentRecord>), ChatError> {
        match &self.side {
            Side::Visitor { conversation } => Ok((*conversation, Party::Visitor, None)),
            Side::Agent { agent, .. } => {
                let id = named.ok_or_else(|| {
                    ChatError::Invalid("bad-frame", "agents name the conversationId".into())
                })?;
                if !self
                    .chat
                    .conversations_of(agent.id)
                    .iter()
                    .any(|c| c.id == id)
                {
                    return Err(ChatError::Forbidden(
                        "this is not one of your conversations",
                    ));
                }
                Ok((id, Party::Agent, Some(agent)))
            }
        }
    }

    async fn act(&mut self, frame: ClientFrame) -> Result<(), ChatError> {
        match frame {
            ClientFrame::Message {
                conversation_id,
                text,
            } => {
                let (id, party, agent) = self.target(conversation_id)?;
                let agent = agent.cloned();
                self.chat
                    .post(id, party, agent.as_ref(), text)
                    .await
                    .map(drop)
            }
            ClientFrame::Typing { conversation_id } => {
                let (id, party, _) = self.target(conversation_id)?;
                self.chat.typing(id, party);
                Ok(())
            }
            ClientFrame::End { conversation_id } => {
                let (id, party, _) = self.target(conversation_id)?;
                self.chat.end(id, party).await
            }
        }
    }
}
