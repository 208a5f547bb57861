//! Web events as the SDK sends them, shaped after the Genesys `WebEventRequest`, and the checks
//! that turn a request into something fit to store.
//!
//! Genesys sends every custom attribute as `{ dataType, value }` with the value as a string; the
//! SDK's `ac('record', name, attributes)` also allows plain numbers, strings and booleans. Both
//! arrive here and are stored in the Genesys shape, with the value checked against its type.

use std::collections::BTreeMap;

use beckon_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::record::json_len;

/// Longest accepted text field (URLs, titles, attribute values).
pub const MAX_TEXT: usize = 4096;
/// Most custom attributes on one event.
pub const MAX_ATTRIBUTES: usize = 100;
/// Longest accepted `browser` or `device` object, as JSON text (bytes).
pub const MAX_OBJECT: usize = 4096;
/// Largest web event, as the JSON text the log stores (bytes). Each field has its own bound,
/// but together they would allow an event of megabytes (100 attributes and 100 traits of
/// [`MAX_TEXT`]); sinks send events in batches, which their receivers refuse past a few MB.
/// A page view the SDK sends is well under 2 KiB; the SDK holds custom attributes and a
/// captured form to 32 KiB of JSON, which with its texts at their bounds stays under this.
pub const MAX_EVENT: usize = 64 * 1024;
/// How old an event's `createdDate` may be (Genesys rejects events older than an hour).
pub const MAX_AGE_MILLIS: i64 = 60 * 60 * 1000;
/// How far in the future a `createdDate` may be (clock skew).
pub const MAX_SKEW_MILLIS: i64 = 5 * 60 * 1000;

/// Whether `name` is a valid event name: letters, digits and `_`, 1 to 255 characters.
pub fn is_event_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A web event as the SDK (or a Genesys integration) posts it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebEventRequest {
    pub customer_cookie_id: Uuid,
    pub event_name: String,
    pub page: Page,
    /// Beckon's session id; Genesys requests have none.
    #[serde(default)]
    pub session_id: Option<Uuid>,
    #[serde(default)]
    pub created_date: Option<String>,
    #[serde(default)]
    pub referrer_url: Option<String>,
    #[serde(default)]
    pub user_agent_string: Option<String>,
    #[serde(default)]
    pub search_query: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    #[serde(default)]
    pub traits: BTreeMap<String, Value>,
    /// What the page says of its browser and device (Genesys shapes, kept as sent).
    #[serde(default)]
    pub browser: Option<Value>,
    #[serde(default)]
    pub device: Option<Value>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The page an event happened on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Page {
    pub url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// A custom attribute in the Genesys shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Attribute {
    pub data_type: DataType,
    pub value: String,
}

/// The types an attribute value may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Integer,
    Number,
    String,
    Boolean,
}

/// A web event as stored in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebEvent {
    pub event_id: Uuid,
    pub event_name: String,
    pub customer_cookie_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Uuid>,
    pub page: Page,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_query: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Attribute>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub traits: BTreeMap<String, Attribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub created_date: Timestamp,
}

/// A request field that breaks a rule; `field` is a JSON path into the request, empty when the
/// event as a whole is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field.as_str() {
            "" => f.write_str(&self.reason),
            field => write!(f, "{field}: {}", self.reason),
        }
    }
}

impl std::error::Error for FieldError {}

fn fail<T>(field: impl Into<String>, reason: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError {
        field: field.into(),
        reason: reason.into(),
    })
}

fn text(field: &str, value: &str) -> Result<(), FieldError> {
    if value.len() > MAX_TEXT {
        return fail(field, format!("longer than {MAX_TEXT} bytes"));
    }
    Ok(())
}

/// An object the page describes itself with (`browser`, `device`), kept as sent: bounded as JSON.
fn object(field: &str, value: &Option<Value>) -> Result<(), FieldError> {
    match value {
        Some(v) if json_len(v) > MAX_OBJECT => {
            fail(field, format!("longer than {MAX_OBJECT} bytes as JSON"))
        }
        _ => Ok(()),
    }
}

fn attribute(field: &str, value: &Value) -> Result<Attribute, FieldError> {
    let (data_type, value) = match value {
        Value::Bool(b) => (DataType::Boolean, b.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => (DataType::Integer, n.to_string()),
        Value::Number(n) => (DataType::Number, n.to_string()),
        Value::String(s) => (DataType::String, s.clone()),
        Value::Object(_) => {
            let typed: Attribute = serde_json::from_value(value.clone()).or_else(|e| {
                fail(
                    field,
                    format!("an attribute object is {{ dataType, value }} with dataType integer, number, string or boolean ({e})"),
                )
            })?;
            let ok = match typed.data_type {
                DataType::Integer => typed.value.parse::<i64>().is_ok(),
                DataType::Number => typed.value.parse::<f64>().is_ok_and(f64::is_finite),
                DataType::Boolean => matches!(typed.value.as_str(), "true" | "false"),
                DataType::String => true,
            };
            if !ok {
                return fail(
                    field,
                    format!(
                        "'{}' is not a valid {:?} value",
                        typed.value, typed.data_type
                    )
                    .to_lowercase(),
                );
            }
            (typed.data_type, typed.value)
        }
        _ => {
            return fail(
                field,
                "attribute values are numbers, strings, booleans or { dataType, value }",
            );
        }
    };
    text(field, &value)?;
    Ok(Attribute { data_type, value })
}

fn attributes(
    field: &str,
    raw: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Attribute>, FieldError> {
    if raw.len() > MAX_ATTRIBUTES {
        return fail(field, format!("more than {MAX_ATTRIBUTES} attributes"));
    }
    raw.iter()
        .map(|(name, value)| {
            let path = format!("{field}.{name}");
            if name.is_empty() || name.len() > 255 {
                return fail(path, "attribute names are 1 to 255 characters");
            }
            Ok((name.clone(), attribute(&path, value)?))
        })
        .collect()
}

impl WebEventRequest {
    /// Checks the request and turns it into a storable event, received at `now`.
    pub fn into_event(self, now: Timestamp) -> Result<WebEvent, FieldError> {
        if !is_event_name(&self.event_name) {
            return fail(
                "eventName",
                format!(
                    "'{}' is not an event name: use 1 to 255 letters, digits and _",
                    self.event_name
                ),
            );
        }
        text("page.url", &self.page.url)?;
        match self.page.url.split_once("://") {
            Some(("http" | "https", rest)) if !rest.is_empty() => {}
            _ => return fail("page.url", "must be an absolute http or https URL"),
        }
        text("page.title", &self.page.title)?;
        for (field, value) in [
            ("ipAddress", &self.ip_address),
            ("externalId", &self.external_id),
            ("referrerUrl", &self.referrer_url),
            ("userAgentString", &self.user_agent_string),
            ("searchQuery", &self.search_query),
            ("page.keywords", &self.page.keywords),
            ("page.lang", &self.page.lang),
        ] {
            if let Some(v) = value {
                text(field, v)?;
            }
        }
        object("browser", &self.browser)?;
        object("device", &self.device)?;
        let created_date = match &self.created_date {
            None => now,
            Some(raw) => {
                let t: Timestamp = match raw.parse() {
                    Ok(t) => t,
                    Err(e) => return fail("createdDate", format!("{e}")),
                };
                let age = now.unix_millis() - t.unix_millis();
                if age > MAX_AGE_MILLIS {
                    return fail("createdDate", "the event is more than an hour old");
                }
                if -age > MAX_SKEW_MILLIS {
                    return fail(
                        "createdDate",
                        "the event is more than five minutes in the future",
                    );
                }
                t
            }
        };
        let event = WebEvent {
            event_id: Uuid::new_v4(),
            attributes: attributes("attributes", &self.attributes)?,
            traits: attributes("traits", &self.traits)?,
            event_name: self.event_name,
            customer_cookie_id: self.customer_cookie_id,
            session_id: self.session_id,
            page: self.page,
            referrer_url: self.referrer_url,
            user_agent_string: self.user_agent_string,
            search_query: self.search_query,
            browser: self.browser,
            device: self.device,
            ip_address: self.ip_address,
            external_id: self.external_id,
            created_date,
        };
        // The field path is empty: the event as a whole is at fault.
        let size = json_len(&event);
        if size > MAX_EVENT {
            return fail(
                "",
                format!("the event is {size} bytes as JSON; at most {MAX_EVENT} are accepted"),
            );
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

    fn request(extra: Value) -> Result<WebEvent, FieldError> {
        let mut body = json!({
            "customerCookieId": "8c4cbd41-7d0e-4a4e-9a0c-6a3f0cf1f3c1",
            "eventName": "pageview",
            "page": { "url": "https://shop.example/pricing?utm_source=x", "title": "Pricing" }
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<WebEventRequest>(body)
            .map_err(|e| FieldError {
                field: "json".into(),
                reason: e.to_string(),
            })?
            .into_event(NOW)
    }

    #[test]
    fn plain_and_typed_attributes_are_stored_in_the_genesys_shape() {
        let e = request(json!({ "attributes": {
            "plan": "pro", "seats": 5, "ratio": 0.5, "trial": true,
            "cart": { "dataType": "number", "value": "12.5" }
        }}))
        .unwrap();
        assert_eq!(
            e.attributes["seats"],
            Attribute {
                data_type: DataType::Integer,
                value: "5".into()
            }
        );
        assert_eq!(e.attributes["ratio"].data_type, DataType::Number);
        assert_eq!(e.attributes["trial"].value, "true");
        assert_eq!(e.attributes["cart"].value, "12.5");
        assert_eq!(e.created_date, NOW);
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (json!({ "eventName": "page view" }), "eventName"),
            (
                json!({ "attributes": { "n": { "dataType": "integer", "value": "x" } } }),
                "attributes.n",
            ),
            (json!({ "attributes": { "n": [1] } }), "attributes.n"),
            (
                json!({ "page": { "url": "javascript:alert(1)", "title": "" } }),
                "page.url",
            ),
            (
                json!({ "createdDate": "2020-01-01T00:00:00.000Z" }),
                "createdDate",
            ),
            (json!({ "createdDate": "yesterday" }), "createdDate"),
            (
                json!({ "page": { "url": "https://shop.example/", "lang": "x".repeat(MAX_TEXT + 1) } }),
                "page.lang",
            ),
            (
                json!({ "browser": { "family": "x".repeat(MAX_OBJECT) } }),
                "browser",
            ),
            (
                json!({ "device": ["x".repeat(MAX_OBJECT / 2), "x".repeat(MAX_OBJECT / 2)] }),
                "device",
            ),
        ];
        for (extra, field) in cases {
            let err = request(extra.clone()).unwrap_err();
            assert_eq!(err.field, field, "{extra}: {err}");
        }
    }

    #[test]
    fn an_event_within_every_field_bound_is_still_bounded_as_a_whole() {
        let long = |n: usize| -> BTreeMap<String, Value> {
            (0..n)
                .map(|i| (format!("a{i}"), Value::String("x".repeat(MAX_TEXT))))
                .collect()
        };
        // Fifteen values of 4 KiB and the rest of the event: under 64 KiB.
        let fits = request(json!({ "attributes": long(15) })).unwrap();
        assert!(json_len(&fits) <= MAX_EVENT);
        assert_eq!(json_len(&fits), serde_json::to_string(&fits).unwrap().len());
        let err = request(json!({ "attributes": long(16) })).unwrap_err();
        assert_eq!(err.field, "", "{err}");
        assert!(err.reason.contains("at most 65536"), "{err}");
        assert_eq!(err.to_string(), err.reason);
        let err = request(json!({ "attributes": long(8), "traits": long(8) })).unwrap_err();
        assert_eq!(err.field, "", "{err}");
        // At the object bounds exactly: accepted.
        let at_bound = "x".repeat(MAX_OBJECT - "{\"f\":\"\"}".len());
        request(json!({ "browser": { "f": at_bound }, "device": { "f": at_bound } })).unwrap();
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(request(json!({ "nonsense": 1 })).is_err());
    }
}
