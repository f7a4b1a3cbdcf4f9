//! Rollups: per series, per aligned bucket of a fixed resolution (1 min,
//! 1 h), the summary that `*_over_time`, `rate` and `increase` need to be
//! answered exactly without the raw samples: count, sum, min, max, the first
//! and last sample, and the counter-reset correction inside the bucket.
//! Staleness markers are left out, as range selectors leave them out.
//!
//! Stored in blocks (format version 2) as one blob per series and
//! resolution (`blob.rs`): its bucket starts and each field as a sealed
//! chunk column, so the same codecs that shrink samples shrink rollups;
//! from version 6 a column may instead be derived from another or left
//! out (`forms.rs`).

mod blob;
mod forms;

pub(crate) use blob::{decode, encode};

use crate::chunk::sealed;
use crate::{RollupBucket, Sample};

/// Whether a block gets rollups at `resolution`: 1 h rollups always (a
/// fraction of a percent of the samples' space); 1 min rollups (about 15 %
/// at 1 s cadence) only in compacted blocks (`level` ≥ 2) whose window ends
/// (`window_maxt`) within `minute_span` of the newest sample stored. Blocks
/// cut from the head skip them because the head's chunk summaries serve
/// the newest hours and the block is compacted (and given them) soon; old
/// data is asked for at coarse steps, which 1 h rollups serve.
pub(crate) fn kept_in_block(resolution: i64, level: u32, window_maxt: i64, newest: i64, minute_span: i64) -> bool {
    resolution >= 3_600_000 || (level >= 2 && window_maxt >= newest.saturating_sub(minute_span))
}

/// Buckets of `samples` (time-ordered) at `resolution`, for storing.
///
/// Sums (`sum`, `correction`) are rounded to 15 significant digits: float
/// addition leaves digits like `3012.4500000000003` that no decimal codec
/// can store compactly, while the rounding changes them by under 1e-15
/// relative — far inside the 1e-9 that sums promise.
pub(crate) fn compute_for_storage(samples: &[Sample], resolution: i64) -> Vec<RollupBucket> {
    let mut out = pulsedb_model::summarize(samples, resolution);
    for b in &mut out {
        b.sum = round_15(b.sum);
        b.correction = round_15(b.correction);
    }
    out
}

/// `v` rounded to 15 significant decimal digits.
fn round_15(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    format!("{v:.14e}").parse().unwrap_or(v)
}

/// Most buckets in one blob: the decoder refuses more (it bounds its
/// allocations), so the block writer keeps no blob with more — a 1 min
/// rollup of a block longer than about 45 days — and readers compute those
/// buckets from the chunks instead.
pub(crate) const MAX_BUCKETS: usize = sealed::MAX_SAMPLES;

#[cfg(test)]
mod tests {
    use crate::{Sample, STALE_NAN};

    #[test]
    fn buckets_summarise_and_skip_stale_markers() {
        let samples = vec![
            Sample::new(0, 5.0),
            Sample::new(15_000, 7.0),
            Sample::new(30_000, 2.0), // reset: correction 7
            Sample::new(45_000, f64::from_bits(STALE_NAN)),
            Sample::new(60_000, 3.0),
        ];
        let b = pulsedb_model::summarize(&samples, 60_000);
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].count, b[0].sum, b[0].min, b[0].max, b[0].correction), (3, 14.0, 2.0, 7.0, 7.0));
        assert_eq!((b[0].first, b[0].last), (Sample::new(0, 5.0), Sample::new(30_000, 2.0)));
        assert_eq!(b[1].start, 60_000);
    }
}
