//! The webhook sink: CloudEvents 1.0 batches POSTed to a URL, signed with HMAC-SHA256.
//!
//! Why it exists: the simplest way to get every event into any system is an HTTP endpoint, and
//! signing lets that endpoint check that a request really came from this Beckon and is fresh.
//!
//! Delivery guarantee: at least once, in log order (the runner's guarantee). A batch goes out
//! in requests of at most `max_batch_bytes` of body each (a record larger than that alone), one
//! after the other, each a part of the batch for the runner ([`Sink::parts`]). A 2xx answer
//! counts as delivered; 408, 429, 5xx, timeouts and connection errors are retried; any other
//! answer refuses the request's records, which the runner then sends one at a time so that only
//! those refused alone are dead-lettered. Receivers deduplicate on the CloudEvent `id` (the
//! record's `eventId`).
//!
//! Signature: `Beckon-Timestamp: <unix seconds>` and
//! `Beckon-Signature: v1=<hex(HMAC-SHA256(secret, "<timestamp>.<body>"))>`, where `<body>` is the
//! exact request body. Receivers recompute it, compare in constant time, and refuse timestamps
//! too far from their clock (docs/sinks.md has an example).

use std::ops::Range;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Failure, Sink, cloudevents};
use crate::record::LogRecord;

/// The header carrying the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "Beckon-Timestamp";
/// The header carrying the signature, `v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "Beckon-Signature";

/// The signature of `body` sent at `timestamp` (Unix seconds): the value of `Beckon-Signature`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs CloudEvents batches to one URL.
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    secret: String,
    /// Most bytes in one request body (a record larger than that goes alone).
    max_batch_bytes: usize,
}

impl Webhook {
    pub fn new(
        client: reqwest::Client,
        url: String,
        secret: String,
        max_batch_bytes: usize,
    ) -> Webhook {
        Webhook {
            client,
            url,
            secret,
            max_batch_bytes,
        }
    }

    /// The request for a batch, signed at `timestamp`.
    fn request(&self, batch: &[Arc<LogRecord>], timestamp: u64) -> reqwest::RequestBuilder {
        let body = cloudevents::batch(batch);
        let signature = sign(self.secret.as_bytes(), timestamp, &body);
        self.client
            .post(&self.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                cloudevents::BATCH_CONTENT_TYPE,
            )
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
    }
}

#[async_trait]
impl Sink for Webhook {
    async fn deliver(&self, batch: &[Arc<LogRecord>]) -> Result<(), Failure> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        super::send(self.request(batch, now)).await
    }

    /// Requests of at most `max_batch_bytes` of body (the JSON array `[e1,e2,…]`).
    fn parts(&self, batch: &[Arc<LogRecord>]) -> Vec<Range<usize>> {
        let sizes: Vec<usize> = batch
            .iter()
            .map(|r| crate::record::json_len(&cloudevents::event(r)))
            .collect();
        super::runs_within(&sizes, 2, self.max_batch_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::sinks::testing;
    use beckon_core::State;
    use uuid::Uuid;

    #[test]
    fn signature_covers_timestamp_and_body() {
        let webhook = Webhook::new(
            testing::client(),
            "http://127.0.0.1:9/hook".into(),
            "s3cret".into(),
            1024 * 1024,
        );
        let c = Uuid::new_v4();
        let batch = vec![
            testing::action(1, c, State::Qualified),
            testing::action(2, c, State::Offered),
        ];
        let request = webhook.request(&batch, 1_795_902_927).build().unwrap();
        let headers = request.headers();
        assert_eq!(
            headers["content-type"],
            "application/cloudevents-batch+json"
        );
        assert_eq!(headers["beckon-timestamp"], "1795902927");
        let body = request.body().unwrap().as_bytes().unwrap();
        // Recompute as a receiver would.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(format!("1795902927.{}", std::str::from_utf8(body).unwrap()).as_bytes());
        let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(headers["beckon-signature"], expected.as_str());
        // A different timestamp or body gives a different signature.
        assert_ne!(sign(b"s3cret", 1_795_902_928, body), expected);
        assert_ne!(sign(b"s3cret", 1_795_902_927, b"[]"), expected);
        let events: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(events.as_array().unwrap().len(), 2);
        assert_eq!(events[1]["type"], "dev.beckon.webaction.offered");
    }

    #[test]
    fn known_signature_vector() {
        // The example in docs/sinks.md, computed independently with Python's hmac module.
        assert_eq!(
            sign(
                b"whsec_example",
                1_795_902_927,
                br#"[{"specversion":"1.0"}]"#
            ),
            "v1=f9ca81c91eed8f9bc862ef8ea6374b6fa56a46b06b6a2827a6e29c0d0170921d"
        );
    }
}
