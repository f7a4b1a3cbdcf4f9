//! Tuning knobs of a storage instance, with the defaults a Prometheus user
//! would expect.

use std::time::Duration;

use crate::LabelLimits;
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
    /// before, starting at `block_span`. Empty (the default) means automatic:
    /// 12 h → 3 d → 30 d above `block_span`, each used only when it is at
    /// most a fifth of `retention`, so retention still deletes data in steps
    /// of at most 20 % (Prometheus caps blocks at 10 % of retention). With
    /// the default 15 d retention, blocks stop at 3 d; without retention, at 30 d.
    pub compaction_spans: Vec<Duration>,
    /// Blocks whose newest data is older than this, measured from the newest
    /// sample stored, are deleted (default 15 d; `Duration::ZERO` keeps everything).
    pub retention: Duration,
    /// Limits on label names and values of new series.
    pub label_limits: LabelLimits,
    /// Maximum number of series in the head; appends creating more are
    /// rejected (`None` = unlimited).
    pub max_active_series: Option<usize>,
    /// Maximum number of series entering the head in any 60 s (by the
    /// monotonic clock, to one second): appends bringing more are rejected
    /// with [`Error::SeriesRateLimit`] while series already in the head keep
    /// ingesting (`None`, the default, = unlimited). Counts new series and
    /// series returning after they left the head (each costs head memory).
    /// Bounds churn — short-lived series from e.g. pod or request ids — that
    /// `max_active_series` alone would let fill the head at every flush.
    pub max_new_series_per_minute: Option<usize>,
    /// Samples more than this ahead of the wall clock are rejected with
    /// [`Error::TooFarInFuture`] (`None`, the default, = no limit). One
    /// sample far in the future would move the head's newest time past
    /// every real write, making later real samples out of bounds once its
    /// window is flushed, and retention measure from it.
    pub max_future: Option<Duration>,
    /// Run flushing, compaction and retention in a background thread. When
    /// false they happen only through explicit calls (useful in tests).
    pub background_maintenance: bool,
    /// Take head checkpoints in the background whenever the WAL has grown
    /// by a segment and by the last checkpoint's size (default true), so a
    /// restart after a crash replays only the WAL since then; independent
    /// of `background_maintenance`. When false, only `close` and explicit
    /// `checkpoint` calls take them.
    pub background_checkpoints: bool,
    /// zstd level for block chunk frames (default 3).
    pub zstd_level: i32,
    /// Write rollups into blocks (default true), so long `*_over_time`,
    /// `rate` and `increase` queries read summaries instead of samples;
    /// queries work without them (from samples). Every block gets 1 h
    /// rollups (under 1 % of the space at 1 s cadence); 1 min rollups, about
    /// 15 % at 1 s cadence, only compacted blocks within
    /// [`minute_rollups_for`](Self::minute_rollups_for).
    pub rollups: bool,
    /// How far back from the newest sample stored compacted blocks keep
    /// 1 min rollups (default 7 days): they serve dashboards of recent days
    /// at minute steps; older data is asked for at coarser steps, which 1 h
    /// rollups serve, and compaction rewrites a block without them once its
    /// window is older. Blocks cut from the head get none (the head's chunk
    /// summaries serve the newest hours, and the first compaction adds them).
    pub minute_rollups_for: Duration,
    /// Keep WAL segments from this one on until
    /// [`Storage::release_startup_wal_hold`](crate::Storage::release_startup_wal_hold):
    /// a forwarder's saved position, so nothing it has not sent is truncated
    /// between open and the moment it holds its own segments (default none).
    pub wal_hold_from: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sync: SyncMode::Always,
            wal_segment_size: 128 << 20,
            block_span: Duration::from_secs(2 * 3600),
            out_of_order_window: Duration::from_secs(600),
            compaction_spans: Vec::new(),
            retention: Duration::from_secs(15 * 24 * 3600),
            label_limits: LabelLimits::default(),
            max_active_series: None,
            max_new_series_per_minute: None,
            max_future: None,
            background_maintenance: true,
            background_checkpoints: true,
            zstd_level: 3,
            rollups: true,
            minute_rollups_for: Duration::from_secs(7 * 24 * 3600),
            wal_hold_from: None,
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
    pub(crate) minute_rollups_for: i64,
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

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
        let retention = millis(self.retention);
        let mut spans: Vec<i64> = if self.compaction_spans.is_empty() {
            let automatic = [12 * HOUR_MS, 3 * DAY_MS, 30 * DAY_MS];
            automatic
                .into_iter()
                .filter(|&span| span > block_span && span % block_span == 0)
                .filter(|&span| retention <= 0 || span <= retention / 5)
                .collect()
        } else {
            self.compaction_spans.iter().map(|&d| millis(d)).collect()
        };
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
        if self.max_new_series_per_minute == Some(0) {
            return Err(Error::InvalidOptions(
                "max_new_series_per_minute is 0: no series could ever be created (use None for no limit)".into(),
            ));
        }
        if !(1..=22).contains(&self.zstd_level) {
            return Err(Error::InvalidOptions(format!("zstd_level {} is outside 1..=22", self.zstd_level)));
        }
        Ok(Resolved {
            block_span,
            ooo_window,
            compaction_spans: spans,
            retention,
            minute_rollups_for: millis(self.minute_rollups_for),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const H: u64 = 3600;

    #[test]
    fn automatic_block_spans_stop_at_a_fifth_of_retention() {
        let spans = |retention_h: u64| {
            let o = Options { retention: Duration::from_secs(retention_h * H), ..Options::default() };
            o.resolve().unwrap().compaction_spans.iter().map(|s| s / 3_600_000).collect::<Vec<_>>()
        };
        assert_eq!(spans(15 * 24), vec![2, 12, 72]);
        assert_eq!(spans(0), vec![2, 12, 72, 720]);
        assert_eq!(spans(24), vec![2]);
        let explicit = Options {
            compaction_spans: vec![Duration::from_secs(2 * H), Duration::from_secs(8 * H)],
            retention: Duration::from_secs(24 * H),
            ..Options::default()
        };
        assert_eq!(explicit.resolve().unwrap().compaction_spans, vec![2 * 3_600_000, 8 * 3_600_000]);
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        let o = Options {
            compaction_spans: vec![Duration::from_secs(2 * H), Duration::from_secs(5 * H)],
            ..Options::default()
        };
        assert!(o.resolve().unwrap_err().to_string().contains("multiple"));
        let o = Options { block_span: Duration::from_millis(10), ..Options::default() };
        assert!(o.resolve().unwrap_err().to_string().contains("block_span"));
    }
}
