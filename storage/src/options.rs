//! Tuning knobs of a storage instance, with the defaults a Prometheus user
//! would expect.

use std::time::Duration;

use crate::labels::LabelLimits;
use crate::{Error, Result};
pub use pulsedb_wal::SyncMode;

/// Options for opening a storage instance.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// When an append is acknowledged as durable (default `SyncMode::Always`).
    pub sync: SyncMode,
    /// Size at which a WAL segment is closed and a new one started (default 128 MiB).
    pub wal_segment_size: u64,
    /// Width of the aligned time windows written as blocks (default 2 h).
    pub block_span: Duration,
    /// How far behind a series' newest sample a sample may arrive and still
    /// be accepted (default 10 min).
    pub out_of_order_window: Duration,
    /// Block spans that compaction merges into, each a multiple of the one
    /// before, starting at `block_span` (default 2 h → 12 h → 3 d).
    pub compaction_spans: Vec<Duration>,
    /// Blocks whose newest data is older than this, measured from the newest
    /// sample stored, are deleted (default 15 d; `Duration::ZERO` keeps everything).
    pub retention: Duration,
    /// Limits on label names and values of new series.
    pub label_limits: LabelLimits,
    /// Maximum number of series in the head; appends creating more are
    /// rejected (`None` = unlimited).
    pub max_active_series: Option<usize>,
    /// Run flushing, compaction and retention in a background thread. When
    /// false they happen only through explicit calls (useful in tests).
    pub background_maintenance: bool,
    /// zstd level for block chunk frames (default 3).
    pub zstd_level: i32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sync: SyncMode::Always,
            wal_segment_size: 128 << 20,
            block_span: Duration::from_secs(2 * 3600),
            out_of_order_window: Duration::from_secs(600),
            compaction_spans: vec![
                Duration::from_secs(2 * 3600),
                Duration::from_secs(12 * 3600),
                Duration::from_secs(3 * 24 * 3600),
            ],
            retention: Duration::from_secs(15 * 24 * 3600),
            label_limits: LabelLimits::default(),
            max_active_series: None,
            background_maintenance: true,
            zstd_level: 3,
        }
    }
}

/// Options converted to milliseconds and checked.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) block_span: i64,
    pub(crate) ooo_window: i64,
    pub(crate) compaction_spans: Vec<i64>,
    pub(crate) retention: i64,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Options {
    pub(crate) fn resolve(&self) -> Result<Resolved> {
        let block_span = millis(self.block_span);
        if block_span < 1000 {
            return Err(Error::InvalidOptions(format!("block_span {:?} is shorter than 1 s", self.block_span)));
        }
        let ooo_window = millis(self.out_of_order_window);
        if ooo_window >= block_span * 4 {
            return Err(Error::InvalidOptions(format!(
                "out_of_order_window {:?} must be shorter than 4 block spans ({:?})",
                self.out_of_order_window,
                self.block_span * 4
            )));
        }
        let mut spans: Vec<i64> = self.compaction_spans.iter().map(|&d| millis(d)).collect();
        if spans.first() != Some(&block_span) {
            spans.insert(0, block_span);
        }
        for pair in spans.windows(2) {
            if let [a, b] = pair {
                if b <= a || b % a != 0 {
                    return Err(Error::InvalidOptions(format!(
                        "compaction_spans must grow, each a multiple of the one before (block_span first): {spans:?} ms"
                    )));
                }
            }
        }
        if !(1..=22).contains(&self.zstd_level) {
            return Err(Error::InvalidOptions(format!("zstd_level {} is outside 1..=22", self.zstd_level)));
        }
        Ok(Resolved { block_span, ooo_window, compaction_spans: spans, retention: millis(self.retention) })
    }
}
