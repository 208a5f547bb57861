//! What a conversation holds, in order, and what goes over the chat sockets: entries are
//! stored with a per-conversation sequence number (`seq`) so that a client that reconnects
//! with `after=<seq>` gets exactly what it missed; typing indicators and queue changes are live
//! only.

use beckon_core::{ActionEvent, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// Who wrote or did something in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    Visitor,
    Agent,
    /// The server (e.g. a visitor who left and did not come back within the grace period).
    System,
}

/// One stored entry of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Entry {
    #[serde(rename_all = "camelCase")]
    Message {
        from: Party,
        /// The agent's display name, for agent messages.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
        text: String,
        sent_at: Timestamp,
    },
    /// An agent joined: the action is `engaged`.
    #[serde(rename_all = "camelCase")]
    Joined {
        agent_name: String,
        sent_at: Timestamp,
        /// The stored `engaged` event's `eventId` and `timestamp`.
        #[serde(flatten)]
        event: EventIdentity,
    },
    /// The conversation is over (the action `abandoned` or `completed`); nothing follows.
    #[serde(rename_all = "camelCase")]
    Ended {
        by: Party,
        sent_at: Timestamp,
        /// The stored `abandoned` or `completed` event's `eventId` and `timestamp`.
        #[serde(flatten)]
        event: EventIdentity,
    },
}

/// Which stored lifecycle event an entry (or the create answer) stands for, so that the page
/// emits that event to its handlers with the same `eventId` and `timestamp` (spec 4.3). Both
/// absent in entries stored before they were kept, or when the event was not recorded; the
/// timestamp as Unix milliseconds, which the SDK reads without a date parser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventIdentity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_millis: Option<i64>,
}

impl EventIdentity {
    /// The identity of a stored event.
    pub fn of(event: &ActionEvent) -> EventIdentity {
        EventIdentity {
            event_id: Some(event.event_id),
            event_millis: Some(event.timestamp.unix_millis()),
        }
    }
}

impl Entry {
    /// The socket frame of this entry: its JSON with `conversationId` and `seq`.
    pub fn frame(&self, conversation_id: Uuid, seq: u64) -> Value {
        let mut v = serde_json::to_value(self).expect("entries serialize");
        v["conversationId"] = json!(conversation_id);
        v["seq"] = json!(seq);
        v
    }

    /// The frame of a stored entry; a corrupt one becomes a system message saying so.
    pub fn stored_frame(conversation_id: Uuid, seq: u64, body: &str) -> Value {
        let entry = serde_json::from_str::<Entry>(body).unwrap_or_else(|e| Entry::Message {
            from: Party::System,
            agent_name: None,
            text: format!("(this entry could not be read: {e})"),
            sent_at: Timestamp::from_unix_millis(0),
        });
        entry.frame(conversation_id, seq)
    }
}

/// What a client sends on a chat socket.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientFrame {
    /// A message; agents name the conversation.
    #[serde(rename_all = "camelCase")]
    Message {
        #[serde(default)]
        conversation_id: Option<Uuid>,
        text: String,
    },
    /// The sender is typing (shown to the other side, not stored).
    #[serde(rename_all = "camelCase")]
    Typing {
        #[serde(default)]
        conversation_id: Option<Uuid>,
    },
    /// The sender ends the conversation.
    #[serde(rename_all = "camelCase")]
    End {
        #[serde(default)]
        conversation_id: Option<Uuid>,
    },
}

/// A refusal sent on the socket, which stays open (`docs/chat.md` lists the codes).
pub fn error_frame(code: &str, detail: impl Into<String>) -> Value {
    json!({ "type": "error", "error": code, "detail": detail.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_carry_their_event_identity_and_older_ones_read_without_it() {
        let id = Uuid::new_v4();
        let event = EventIdentity {
            event_id: Some(id),
            event_millis: Some(1_764_530_000_123),
        };
        let joined = Entry::Joined {
            agent_name: "Ada".into(),
            sent_at: Timestamp::from_unix_millis(1_764_530_000_200),
            event,
        };
        let body = serde_json::to_string(&joined).unwrap();
        let frame = Entry::stored_frame(Uuid::nil(), 1, &body);
        assert_eq!(frame["eventId"], json!(id));
        assert_eq!(frame["eventMillis"], 1_764_530_000_123_i64);
        assert_eq!(frame["agentName"], "Ada");

        // Stored before the identity was kept: read as before, no identity in the frame.
        let old = r#"{"type":"ended","by":"agent","sentAt":"2026-11-30T10:00:00.000Z"}"#;
        let frame = Entry::stored_frame(Uuid::nil(), 2, old);
        assert_eq!(frame["type"], "ended");
        assert_eq!(frame["by"], "agent");
        assert!(frame.get("eventId").is_none() && frame.get("eventMillis").is_none());
    }
}
