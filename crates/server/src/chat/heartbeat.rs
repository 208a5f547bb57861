//! Whether a chat socket's peer is still there. The socket pings it every
//! `[chat] ping_interval_secs` and is dropped once nothing at all (no pong, no frame of any kind)
//! has arrived for two intervals: a connection that died without a close (a laptop's lid shut,
//! a network gone, a NAT that forgot it) then ends like any other, instead of holding its place
//! until a write to it fails.

use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};

/// One socket's ping timer and what it last heard.
pub(super) struct Heartbeat {
    every: Duration,
    ticks: Interval,
    /// When the last frame arrived, or the socket opened.
    heard: Instant,
    /// Whether a ping was sent and no pong has come since: the next pong answers it.
    pinged: bool,
}

impl Heartbeat {
    /// Starts the timer: the first ping is due an interval from now.
    pub(super) fn new(every: Duration) -> Heartbeat {
        let heard = Instant::now();
        let mut ticks = tokio::time::interval_at(heard + every, every);
        // After a wait in a long write, the next ping an interval later, not several at once.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Heartbeat {
            every,
            ticks,
            heard,
            pinged: false,
        }
    }

    /// Waits until a ping is due: `true` to send it now, `false` when nothing has arrived for
    /// two intervals (the peer is taken to be gone). Cancel-safe.
    pub(super) async fn ping_due(&mut self) -> bool {
        self.ticks.tick().await;
        self.pinged = self.heard.elapsed() < 2 * self.every;
        self.pinged
    }

    /// A frame of any kind arrived.
    pub(super) fn heard(&mut self) {
        self.heard = Instant::now();
    }

    /// Whether a pong that arrived answers a ping sent (the first pong after it does).
    pub(super) fn answered(&mut self) -> bool {
        std::mem::take(&mut self.pinged)
    }
}
