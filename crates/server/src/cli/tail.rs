//! `beckon tail TOPIC...`: follow a running server's event stream and print NDJSON.
//!
//! Topics are checked here with the same rules as the browser's `ac('on', …)` before anything is
//! sent. A dropped connection is resumed with `Last-Event-ID` (the last id the stream gave, which
//! is the one it opens with until a record matches), so nothing is printed twice and nothing is
//! skipped.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::StreamExt;

use crate::config::StreamTopic;

#[derive(clap::Args)]
pub struct TailArgs {
    /// Topics such as webchat:offered, contentoffer:all, webchat:blocked, web:page_viewed (none: everything).
    topics: Vec<String>,
    /// The server's base URL.
    #[arg(long, env = "BECKON_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A read or admin token (default: BECKON_READ_TOKEN, BECKON_ADMIN_TOKEN, or the data directory's admin-token file).
    #[arg(long)]
    token: Option<String>,
    /// The data directory to read the admin token from when no token is given.
    #[arg(long, env = "BECKON_DATA_DIR", default_value = ".beckon-data")]
    data_dir: std::path::PathBuf,
    /// Start after this sequence number instead of now.
    #[arg(long)]
    after: Option<u64>,
}

fn token(args: &TailArgs) -> anyhow::Result<String> {
    super::token(
        args.token.as_deref(),
        &["BECKON_READ_TOKEN", "BECKON_ADMIN_TOKEN"],
        &args.data_dir,
    )
}

/// Runs until the server closes the stream for good or the process is interrupted.
pub async fn run(args: TailArgs) -> anyhow::Result<()> {
    let mut topics = Vec::with_capacity(args.topics.len());
    for topic in &args.topics {
        topics.push(
            topic
                .parse::<StreamTopic>()
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("invalid topic '{topic}'"))?,
        );
    }
    // Each once, and no more than the server takes (the same rule as its query).
    let topics = crate::config::distinct_topics(topics).map_err(anyhow::Error::msg)?;
    let token = token(&args)?;
    let mut url = super::endpoint(&args.server, "/api/v1/events/stream")?;
    {
        let mut q = url.query_pairs_mut();
        for topic in &topics {
            q.append_pair("topic", &topic.to_string());
        }
        if let Some(after) = args.after {
            q.append_pair("after", &after.to_string());
        }
    }
    let client = reqwest::Client::new();
    let mut reader = SseReader::default();
    let mut failures = 0u32;
    loop {
        let mut request = client.get(url.clone()).bearer_auth(&token);
        if let Some(id) = &reader.last_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if failures < 30 => {
                failures += 1;
                eprintln!("beckon tail: {e}; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            bail!("the server answered {status}: {body}");
        }
        failures = 0;
        let mut body = response.bytes_stream();
        reader.reconnected();
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else { break };
            for data in reader.push(&chunk) {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{data}")?;
                out.flush()?;
            }
        }
        eprintln!("beckon tail: the stream closed; reconnecting");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Server-sent events read from the chunks of a response body. Bytes are held until their line
/// is whole and decoded then, so a character split between two chunks is read whole. Ids are
/// kept as an `EventSource` keeps them: an `id` line sets the id buffer, and each event's end,
/// with data or without (the stream's opening event has none), makes it the last event id.
#[derive(Default)]
struct SseReader {
    pending: Vec<u8>,
    id: Option<String>,
    data: String,
    /// The id to resume from with `Last-Event-ID`, kept across connections.
    last_id: Option<String>,
}

impl SseReader {
    /// Forgets the part of an event a broken connection left unfinished; keeps the last event id.
    fn reconnected(&mut self) {
        self.pending.clear();
        self.data.clear();
        self.id.clone_from(&self.last_id);
    }

    /// Takes the next chunk and returns the data of the events it completes.
    fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(length) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&self.pending[start..start + length]);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            start += length + 1;
            if line.is_empty() {
                self.last_id.clone_from(&self.id);
                if !self.data.is_empty() {
                    events.push(std::mem::take(&mut self.data));
                }
            } else if let Some(v) = line.strip_prefix("data:") {
                self.data.push_str(v.strip_prefix(' ').unwrap_or(v));
            } else if let Some(v) = line.strip_prefix("id:") {
                self.id = Some(v.trim().to_owned());
            }
        }
        self.pending.drain(..start);
        events
    }
}

#[cfg(test)]
mod tests {
    use super::SseReader;

    /// However the stream is cut into chunks, even inside a character, the events read are the
    /// ones sent, with no U+FFFD.
    #[test]
    fn events_are_read_whole_across_chunks() {
        let title = "Tarifs d’été — 日本語のページ ✓";
        let data = format!("{{\"page\":{{\"title\":\"{title}\"}}}}");
        let stream =
            format!(": keep-alive\n\nid: 7\nevent: web:pageview\ndata: {data}\n\ndata: x\r\n\r\n");
        let bytes = stream.as_bytes();
        for size in 1..=bytes.len() {
            let mut reader = SseReader::default();
            let events: Vec<String> = bytes.chunks(size).flat_map(|c| reader.push(c)).collect();
            assert_eq!(events, [data.clone(), "x".into()], "chunks of {size} bytes");
            assert_eq!(
                reader.last_id.as_deref(),
                Some("7"),
                "chunks of {size} bytes"
            );
        }
    }

    /// The stream's opening event has an id and no data: nothing is printed, and a connection
    /// lost before any record matched resumes from that id; half an event is dropped with it.
    #[test]
    fn the_opening_id_is_kept_for_the_reconnection() {
        let mut reader = SseReader::default();
        assert!(reader.push(b"id: 41\n\nid: 42\ndata: {\"half\"").is_empty());
        assert_eq!(reader.last_id.as_deref(), Some("41"));
        reader.reconnected();
        assert_eq!(reader.push(b"data: 1\n\n"), ["1"]);
        assert_eq!(reader.last_id.as_deref(), Some("41"));
    }
}
