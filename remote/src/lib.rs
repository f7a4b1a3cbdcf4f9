//! Forwarding to other stores: every destination (a VictoriaMetrics
//! cluster's vminsert, Mimir, Cortex, Thanos Receive — anything that takes
//! Prometheus remote-write 1.0) gets what pulsedb appended, read from the
//! WAL itself after a durable, fsynced position, so nothing acknowledged to
//! a writer is lost between pulsedb and the destination — after a crash it is
//! at most sent again.
//!
//! - [`config`]: destinations from a flag or a Prometheus `remote_write:` file;
//! - `forwarder`: one destination's reader and shards, in WAL order per series;
//! - `client`: one request and the remote-write spec's retry rules;
//! - `position`: the saved positions under `<data-dir>/forward/`;
//! - `relabel`: which series go where; `stats`: metrics and status;

mod client;
pub mod config;
mod forwarder;
mod position;
mod relabel;
mod stats;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use config::{ConfigError, Destination};
pub use forwarder::WalSource;

/// The running destinations of one database.
#[derive(Debug, Default)]
pub struct Forwarding {
    running: Vec<forwarder::Forwarder>,
}

impl Forwarding {
    /// Starts every destination, each from its saved position (a new one
    /// from the WAL's end: what is appended from now on). Call
    /// `release_startup_wal_hold` on the database afterwards.
    pub fn start(
        source: Arc<dyn WalSource>,
        destinations: Vec<Destination>,
        external_labels: pulsedb::Labels,
        data_dir: &Path,
    ) -> Result<Self, String> {
        let running = destinations
            .into_iter()
            .map(|d| forwarder::Forwarder::start(source.clone(), d, external_labels.clone(), data_dir))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { running })
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Stops reading and gives what was read up to `timeout` to be sent;
    /// the saved positions cover what was.
    pub fn stop(self, timeout: Duration) {
        let threads: Vec<_> = self.running.into_iter().map(|f| std::thread::spawn(move || f.stop(timeout))).collect();
        for t in threads {
            let _ = t.join();
        }
    }

    /// Each destination's figures, for `/api/v1/status/forwarding`.
    pub fn status(&self) -> serde_json::Value {
        serde_json::Value::Array(self.running.iter().map(|f| f.stats.json()).collect())
    }

    /// Each destination's metrics in the text format, for `/metrics`.
    pub fn render_metrics(&self) -> String {
        if self.running.is_empty() {
            return String::new();
        }
        stats::render(&self.running.iter().map(|f| &*f.stats).collect::<Vec<_>>())
    }
}

/// The oldest WAL segment a saved position still needs (for
/// `Options::wal_hold_from` when the database opens), if any.
pub fn oldest_saved_segment(data_dir: &Path) -> Option<u64> {
    position::all(data_dir).into_iter().map(|(_, p)| p.segment).min()
}

/// Every saved position under `data_dir` (for `pulsedb inspect`).
pub fn saved_positions(data_dir: &Path) -> Vec<(String, pulsedb::WalPosition)> {
    position::all(data_dir)
}
