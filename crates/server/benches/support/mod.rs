//! What the benchmarks that drive the real `beckon` binary share: starting it on a loopback port
//! with a temporary data directory, and reading percentiles.
#![allow(dead_code)] // each benchmark uses its own part of this module

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const DEPLOYMENT: &str = "5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61";
pub const ORIGIN: &str = "http://bench.local";
pub const ADMIN_TOKEN: &str = "bench";

/// A running `beckon serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the binary with no rate limit or connection cap worth the name (chat_scale holds
    /// 5,000 idle visitor sockets and more, sse_fanout 1,000 streams), one deployment allowing
    /// [`ORIGIN`] (with `deployment` TOML added to its table) and `extra` top-level TOML tables.
    pub fn start(extra: &str, deployment: &str) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let config = data.path().join("beckon.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nadmin_token = \"{ADMIN_TOKEN}\"\n\
                 [limits]\nrequests_per_second = 1000000\nburst = 1000000\nmax_connections = 100000\n{extra}\n\
                 [[deployments]]\nid = \"{DEPLOYMENT}\"\nname = \"bench\"\nallowed_origins = [\"{ORIGIN}\"]\n{deployment}\n",
                data.path().join("data").display()
            ),
        )
        .expect("config");
        let child = Command::new(env!("CARGO_BIN_EXE_beckon"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("beckon starts");
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _data: data,
        }
    }

    /// Waits until `/healthz` answers.
    pub async fn ready(&self, client: &reqwest::Client) {
        for _ in 0..100 {
            if client
                .get(format!("{}/healthz", self.url))
                .send()
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("beckon did not start");
    }

    /// The process's resident memory, in bytes (`VmRSS`).
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kb * 1024
    }
}

/// The `p` percentile (0..=1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Milliseconds, for tables.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
