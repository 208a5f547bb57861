//! The web action event (spec section 4.3): what `ac('on', …)` handlers receive, what the server
//! stores and streams, and what sinks send on.
//!
//! The wire shape is fixed, so (de)serialization goes through [`WireEvent`], which has exactly
//! the spec's field names; turning it into an [`ActionEvent`] checks what the shape alone cannot
//! (UUIDv4 ids, `customerIdType` of `"cookie"`, error fields present exactly on `errored`).
//! Writing one borrows its text from buffers on the stack: the server writes every event it
//! stores and every one it streams, and allocating each field's text was a good part of that. An
//! `ActionEvent` is cheap to copy, because the bus hands every handler a copy of its own.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::media::MediaType;
use crate::state::State;

/// One state change of one action.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "WireEvent")]
pub struct ActionEvent {
    pub action_id: Uuid,
    pub action_state: State,
    pub action_media_type: MediaType,
    pub action_map_id: Uuid,
    pub action_map_version: u32,
    pub customer_id: Uuid,
    pub session_id: Uuid,
    /// Present exactly when `action_state` is `errored`.
    pub error: Option<ActionError>,
    pub event_id: Uuid,
    pub timestamp: Timestamp,
}

/// Why showing or running an action failed (`errorCode`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    pub code: i64,
    pub message: Arc<str>,
}

/// The spec's field names, exactly; the only place they are spelled. Read with `String` text,
/// written with `&str` borrowed from the event's own buffers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WireEvent<S = String> {
    pub action_id: S,
    pub action_state: State,
    pub action_media_type: MediaType,
    pub action_map_id: S,
    pub action_map_version: u32,
    pub customer_id: S,
    pub customer_id_type: S,
    pub session_id: S,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_code: Option<i64>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_message: Option<S>,
    pub event_id: S,
    pub timestamp: S,
}

/// The only customer id type there is.
pub const CUSTOMER_ID_TYPE: &str = "cookie";

/// Longest `errorMessage` a new event may carry, in bytes (the bound of the server's other text
/// fields): the message is stored, streamed and sent to every sink with the event.
pub const MAX_ERROR_MESSAGE: usize = 4096;

/// An event that has the right shape but breaks a rule of spec 4.3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct EventError {
    /// The wire name of the field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl EventError {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        EventError {
            field,
            reason: reason.into(),
        }
    }
}

/// Parses a wire UUIDv4. Only the canonical spelling is accepted (lower case, hyphenated, RFC 9562
/// variant), the one the schema allows and the one this type writes back: `Uuid::parse_str` alone
/// would also take upper case, braces, `urn:uuid:` and the 32-digit form, and any variant.
fn uuid_v4(field: &'static str, text: &str) -> Result<Uuid, EventError> {
    let id = Uuid::parse_str(text)
        .map_err(|e| EventError::new(field, format!("'{text}' is not a UUID ({e})")))?;
    if id.get_version_num() != 4 || id.get_variant() != uuid::Variant::RFC4122 {
        return Err(EventError::new(
            field,
            format!(
                "'{text}' is not a UUIDv4 (version {}, {:?} variant)",
                id.get_version_num(),
                id.get_variant()
            ),
        ));
    }
    if *id.hyphenated().encode_lower(&mut Uuid::encode_buffer()) != *text {
        return Err(EventError::new(
            field,
            format!("'{text}' must be written lower case and hyphenated, as {id}"),
        ));
    }
    Ok(id)
}

/// Parses the wire timestamp: RFC 3339 in UTC with exactly three fractional digits, as written
/// by [`Timestamp`]'s `Display` (other RFC 3339 forms are refused here, as by the schema).
fn wire_timestamp(text: &str) -> Result<Timestamp, EventError> {
    let ts: Timestamp = text
        .parse()
        .map_err(|e: TimestampError| EventError::new("timestamp", e.to_string()))?;
    if ts.write_text(&mut [0; TIMESTAMP_LEN]) != Some(text) {
        return Err(EventError::new(
            "timestamp",
            format!("'{text}' must be RFC 3339 UTC with milliseconds, as {ts}"),
        ));
    }
    Ok(ts)
}

/// `errorCode` / `errorMessage` may be absent, but not `null` (the schema refuses `null`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl TryFrom<WireEvent> for ActionEvent {
    type Error = EventError;

    fn try_from(w: WireEvent) -> Result<Self, Self::Error> {
        if w.customer_id_type != CUSTOMER_ID_TYPE {
            return Err(EventError::new(
                "customerIdType",
                format!("must be \"cookie\", not {:?}", w.customer_id_type),
            ));
        }
        let error = match (w.action_state, w.error_code, w.error_message) {
            (State::Errored, Some(code), Some(message)) => Some(ActionError {
                code,
                message: message.into(),
            }),
            (State::Errored, None, _) => {
                return Err(EventError::new(
                    "errorCode",
                    "required when actionState is errored",
                ));
            }
            (State::Errored, _, None) => {
                return Err(EventError::new(
                    "errorMessage",
                    "required when actionState is errored",
                ));
            }
            (_, Some(_), _) => {
                return Err(EventError::new(
                    "errorCode",
                    "only allowed when actionState is errored",
                ));
            }
            (_, _, Some(_)) => {
                return Err(EventError::new(
                    "errorMessage",
                    "only allowed when actionState is errored",
                ));
            }
            (_, None, None) => None,
        };
        Ok(ActionEvent {
            action_id: uuid_v4("actionId", &w.action_id)?,
            action_state: w.action_state,
            action_media_type: w.action_media_type,
            action_map_id: uuid_v4("actionMapId", &w.action_map_id)?,
            action_map_version: w.action_map_version,
            customer_id: uuid_v4("customerId", &w.customer_id)?,
            session_id: uuid_v4("sessionId", &w.session_id)?,
            error,
            event_id: uuid_v4("eventId", &w.event_id)?,
            timestamp: wire_timestamp(&w.timestamp)?,
        })
    }
}

impl ActionEvent {
    /// The bounds a new event must keep: `errorMessage` at most [`MAX_ERROR_MESSAGE`] bytes.
    /// Not part of reading an event (`TryFrom<WireEvent>`), so that events stored before a bound
    /// existed still read back.
    pub fn check_bounds(&self) -> Result<(), EventError> {
        match &self.error {
            Some(error) if error.message.len() > MAX_ERROR_MESSAGE => Err(EventError::new(
                "errorMessage",
                format!(
                    "{} bytes; at most {MAX_ERROR_MESSAGE} are accepted",
                    error.message.len()
                ),
            )),
            _ => Ok(()),
        }
    }
}

impl Serialize for ActionEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut ids = [Uuid::encode_buffer(); 5];
        let [action, map, customer, session, event] = &mut ids;
        let mut time = [0; TIMESTAMP_LEN];
        let timestamp = self.timestamp.serialized_text(&mut time)?;
        WireEvent::<&str> {
            action_id: self.action_id.hyphenated().encode_lower(action),
            action_state: self.action_state,
            action_media_type: self.action_media_type,
            action_map_id: self.action_map_id.hyphenated().encode_lower(map),
            action_map_version: self.action_map_version,
            customer_id: self.customer_id.hyphenated().encode_lower(customer),
            customer_id_type: CUSTOMER_ID_TYPE,
            session_id: self.session_id.hyphenated().encode_lower(session),
            error_code: self.error.as_ref().map(|err| err.code),
            error_message: self.error.as_ref().map(|err| &*err.message),
            event_id: self.event_id.hyphenated().encode_lower(event),
            timestamp,
        }
        .serialize(serializer)
    }
}

/// A point in time with millisecond precision, written as RFC 3339 UTC (`2026-11-28T21:55:27.123Z`).
///
/// The core has no clock: callers pass the time in, which keeps the domain deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// Writes the RFC 3339 text into `buf` and returns it; `None` outside the years 0 to 9999,
    /// which RFC 3339 cannot write. Civil dates from days by Howard Hinnant's `civil_from_days`.
    fn write_text(self, buf: &mut [u8; TIMESTAMP_LEN]) -> Option<&str> {
        const DAY: i64 = 86_400_000;
        let (days, millis) = (self.0.div_euclid(DAY), self.0.rem_euclid(DAY));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let fields = [
            (0, 4, year),
            (5, 2, month),
            (8, 2, day),
            (11, 2, millis / 3_600_000),
            (14, 2, millis / 60_000 % 60),
            (17, 2, millis / 1000 % 60),
            (20, 3, millis % 1000),
        ];
        *buf = *b"0000-00-00T00:00:00.000Z";
        for (at, width, mut value) in fields {
            for digit in buf[at..at + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        std::str::from_utf8(buf).ok()
    }

    /// [`Timestamp::write_text`] for a serializer, to which a year it cannot write is an error.
    fn serialized_text<E: serde::ser::Error>(
        self,
        buf: &mut [u8; TIMESTAMP_LEN],
    ) -> Result<&str, E> {
        self.write_text(buf)
            .ok_or_else(|| E::custom("the timestamp is outside years 0 to 9999"))
    }
}

/// The length of a [`Timestamp`]'s text: `2026-11-28T21:55:27.123Z`.
const TIMESTAMP_LEN: usize = 24;

/// A timestamp that is not RFC 3339 or is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an RFC 3339 timestamp such as 2026-11-28T21:55:27.123Z")]
pub struct TimestampError(String);

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Accepts any RFC 3339 timestamp; sub-millisecond digits are dropped, offsets normalized.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampError(s.to_owned()))?;
        let millis = t.unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(millis)
            .map(Timestamp)
            .map_err(|_| TimestampError(s.to_owned()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.write_text(&mut [0; TIMESTAMP_LEN]).ok_or(fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.serialized_text(&mut [0; TIMESTAMP_LEN])?)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
