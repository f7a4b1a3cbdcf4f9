//! Summaries of closed head chunks, so that rollup reads (aligned
//! `*_over_time`, `rate`, `increase` windows) and newest-sample reads of
//! fresh data need not decode every chunk.
//!
//! A closed chunk keeps what a rollup bucket needs of its samples (sum,
//! min, max, first and last value, counter-reset correction); a bucket
//! that holds whole chunks is their summaries merged, and only the chunks
//! that straddle a bucket's edge or the read's bounds are decoded. Dense
//! head chunks are cut at whole hours, so the 1 h buckets of fresh data
//! are made of summaries alone.

use pulsedb_model::{is_stale_nan, RollupBucket};

use crate::Sample;

/// Head chunks never span an hour boundary: 1 h rollup buckets are whole chunks.
pub(crate) const CUT_EVERY: i64 = 3_600_000;

/// What a closed chunk's samples add up to, for a chunk without staleness
/// markers (rollup buckets leave markers out; a chunk holding one is read
/// by decoding). Its first sample is at the chunk's `mint`, its last at `maxt`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ChunkSummary {
    sum: f64,
    min: f64,
    max: f64,
    first: f64,
    last: f64,
    /// Sum of the values before each drop (Prometheus' counter-reset correction).
    correction: f64,
}

impl ChunkSummary {
    /// A placeholder where a chunk has no summary (never read as one).
    pub(crate) const NONE: Self = Self { sum: 0.0, min: 0.0, max: 0.0, first: 0.0, last: 0.0, correction: 0.0 };

    /// The summary of a chunk's samples (time-ordered, at least one), `None`
    /// when one of them is a staleness marker.
    pub(crate) fn of(samples: impl IntoIterator<Item = Sample>) -> Option<Self> {
        let mut samples = samples.into_iter();
        let first = samples.next().filter(|s| !is_stale_nan(s.v))?;
        let mut bucket = RollupBucket::of(0, first);
        for s in samples {
            if is_stale_nan(s.v) {
                return None;
            }
            bucket.add(s);
        }
        Some(Self {
            sum: bucket.sum,
            min: bucket.min,
            max: bucket.max,
            first: bucket.first.v,
            last: bucket.last.v,
            correction: bucket.correction,
        })
    }

    /// The rollup bucket starting at `start` holding exactly this chunk,
    /// which has `count` samples from `mint` to `maxt`.
    pub(crate) fn bucket(&self, start: i64, mint: i64, maxt: i64, count: u16) -> RollupBucket {
        RollupBucket {
            start,
            count: u64::from(count),
            sum: self.sum,
            min: self.min,
            max: self.max,
            first: Sample::new(mint, self.first),
            last: Sample::new(maxt, self.last),
            correction: self.correction,
        }
    }

    /// The chunk's newest value (at its `maxt`).
    pub(crate) fn last(&self) -> f64 {
        self.last
    }
}

/// Chunks are cut at an hour only when their series is dense, at least
/// this many samples an hour: a series sampled every minute or slower
/// would otherwise pay a chunk's header and 80 bytes of memory per hour for
/// buckets that decode in microseconds anyway.
const HOUR_CUT_FROM: i64 = 120;

/// Whether a chunk of `len` samples, the first at `first`, must be closed
/// before a sample at `t`: chunks never hold two block windows, nor two
/// hours when their series is dense enough for summaries to pay.
#[inline]
pub(crate) fn must_cut(len: usize, first: i64, t: i64, block_span: i64) -> bool {
    if t.div_euclid(block_span) != first.div_euclid(block_span) {
        return true;
    }
    let dense = (len as i64).saturating_mul(CUT_EVERY) >= HOUR_CUT_FROM.saturating_mul(t.saturating_sub(first));
    dense && t.div_euclid(CUT_EVERY) != first.div_euclid(CUT_EVERY)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stale_markers_leave_a_chunk_unsummarized() {
        let stale = f64::from_bits(pulsedb_model::STALE_NAN);
        assert!(ChunkSummary::of([Sample::new(1, 1.0), Sample::new(2, stale)]).is_none());
        assert!(ChunkSummary::of([]).is_none());
        let s = ChunkSummary::of([Sample::new(1, 5.0), Sample::new(2, 1.0), Sample::new(3, f64::NAN)]).unwrap();
        let b = s.bucket(0, 1, 3, 3);
        assert_eq!((b.count, b.min, b.max, b.first.v, b.correction), (3, 1.0, 5.0, 5.0, 5.0));
        assert!(b.sum.is_nan() && b.last.v.is_nan() && b.last.t == 3);
    }

    #[test]
    fn cuts_at_hours_and_windows() {
        assert!(!must_cut(200, 0, 3_599_999, 7_200_000));
        assert!(must_cut(200, 0, 3_600_000, 7_200_000));
        assert!(must_cut(10, 3_590_000, 3_600_000, 7_200_000), "a dense chunk just begun is cut too");
        assert!(!must_cut(60, 0, 3_600_000, 7_200_000), "a sparse chunk goes on past the hour");
        assert!(must_cut(1, 0, 600_000, 600_000), "never past a block window");
        assert!(must_cut(1, -1, 0, 7_200_000));
    }
}
