//! Rollup summaries as storage hands them to the query engine: per series,
//! per aligned bucket of a fixed resolution (1 min, 1 h), what
//! `*_over_time`, `rate` and `increase` need to be answered exactly without
//! the raw samples. Storage computes and stores them (`storage/src/rollup/`);
//! the query planner decides when they answer a window.

use crate::{Labels, Sample, STALE_NAN};

/// The resolutions rollups are written at, in milliseconds (1 min, 1 h).
pub const RESOLUTIONS: [i64; 2] = [60_000, 3_600_000];

/// The summary of one bucket `[start, start + resolution)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RollupBucket {
    pub start: i64,
    pub count: u64,
    pub sum: f64,
    /// Smallest non-NaN value (NaN only when all values are NaN), as
    /// Prometheus' `min_over_time` folds.
    pub min: f64,
    pub max: f64,
    pub first: Sample,
    pub last: Sample,
    /// Sum, over consecutive samples inside the bucket where the value
    /// dropped, of the value before the drop (Prometheus' counter-reset
    /// correction).
    pub correction: f64,
}

/// Which bucket fields a reader needs; the others are not decoded (left 0)
/// or, summarized from raw samples, not kept up (they hold no meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RollupFields(u16);

impl RollupFields {
    pub const COUNT: Self = Self(1);
    pub const SUM: Self = Self(1 << 1);
    pub const MIN: Self = Self(1 << 2);
    pub const MAX: Self = Self(1 << 3);
    pub const FIRST: Self = Self(1 << 4);
    pub const LAST: Self = Self(1 << 5);
    pub const CORRECTION: Self = Self(1 << 6);
    pub const ALL: Self = Self(0x7f);
    /// Every field a blob always keeps (block format 6 may leave out a
    /// gauge's correction).
    pub const ALL_BUT_CORRECTION: Self = Self(0x3f);

    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

/// A series' rollup buckets, time-ordered.
#[derive(Clone, Debug, PartialEq)]
pub struct RollupSeries {
    pub labels: Labels,
    pub buckets: Vec<RollupBucket>,
}

/// Buckets of `samples` (time-ordered) at `resolution`, sums added in time
/// order. Staleness markers are left out.
pub fn summarize(samples: &[Sample], resolution: i64) -> Vec<RollupBucket> {
    let mut out = Vec::new();
    summarize_into(&mut out, samples, resolution);
    out
}

/// [`summarize_into`] for a reader that needs only `fields`: the others
/// hold no meaning.
pub fn summarize_fields_into(out: &mut Vec<RollupBucket>, samples: &[Sample], resolution: i64, fields: RollupFields) {
    let mut summarizer = Summarizer::with_fields(out, resolution, fields);
    if !COUNT_AND_ENDS.contains(fields) {
        summarizer.extend(samples.iter().copied());
        return;
    }
    // Count and ends of a bucket are its run's length and end samples;
    // only a bucket with a drop or a staleness marker is walked sample by
    // sample. Samples that continue the open bucket go that way too.
    let continuing = samples.partition_point(|s| s.t < summarizer.end);
    let (continuing, mut rest) = samples.split_at(continuing);
    summarizer.extend(continuing.iter().copied());
    let mut guess = 1;
    while let Some(first) = rest.first() {
        let start = first.t.div_euclid(resolution).saturating_mul(resolution);
        let end = start.saturating_add(resolution);
        // At least the sample the bucket starts from: `end` saturates at
        // `i64::MAX`, which a sample there is not before.
        guess = run_length(rest, end, guess).max(1);
        let (run, after) = rest.split_at(guess);
        rest = after;
        if let Some(bucket) = bucket_without_drops(start, run) {
            summarizer.out.push(bucket);
        } else {
            summarizer.extend(run.iter().copied());
        }
    }
}

/// How many of `samples` (time-ordered) are before `end`, trying `guess`
/// (the last bucket's length: regular samples fill every bucket alike)
/// before a search that widens from the front, as the answer is near it.
fn run_length(samples: &[Sample], end: i64, guess: usize) -> usize {
    let before = |i: usize| samples.get(i).is_some_and(|s| s.t < end);
    if guess > 0 && before(guess - 1) && !before(guess) {
        return guess;
    }
    let mut hi = 1;
    while before(hi) {
        hi *= 2;
    }
    let lo = hi / 2;
    lo + samples.get(lo..hi.min(samples.len())).map_or(0, |s| s.partition_point(|s| s.t < end))
}

/// Count and ends of the bucket at `start` holding `run` (time-ordered,
/// at least one sample), when no value in it drops and none is a
/// staleness marker: what [`Summarizer`] leaves in those fields, without
/// a walk that carries a bucket from sample to sample (both checks are
/// folds the compiler vectorizes).
fn bucket_without_drops(start: i64, run: &[Sample]) -> Option<RollupBucket> {
    let (first, last) = (*run.first()?, *run.last()?);
    let stale = run.iter().fold(false, |any, s| any | (s.v.to_bits() == STALE_NAN));
    let drops = run.iter().zip(&run[1..]).fold(false, |any, (a, b)| any | (b.v < a.v));
    (!stale && !drops).then(|| RollupBucket { count: run.len() as u64, last, ..RollupBucket::of(start, first) })
}

/// [`summarize`] continuing `out`: samples in the bucket `out` ends with
/// (and later than its samples) are added to it.
pub fn summarize_into(out: &mut Vec<RollupBucket>, samples: &[Sample], resolution: i64) {
    Summarizer::new(out, resolution).extend(samples.iter().copied());
}

/// [`summarize_into`] as a sink: samples (time-ordered, later than those
/// `out` summarizes) extended into it go into buckets as they come, so a
/// decoder can summarize without collecting its samples first.
#[derive(Debug)]
pub struct Summarizer<'a> {
    out: &'a mut Vec<RollupBucket>,
    resolution: i64,
    /// The open bucket's end: samples before it (and not before its start,
    /// as time-ordered samples never are) join it without a division.
    end: i64,
    /// What the reader needs: without sum, min and max (`rate`,
    /// `increase`) each sample costs a third as much.
    fields: RollupFields,
}

impl<'a> Summarizer<'a> {
    /// Buckets with every field.
    pub fn new(out: &'a mut Vec<RollupBucket>, resolution: i64) -> Self {
        Self::with_fields(out, resolution, RollupFields::ALL)
    }

    /// Buckets whose `fields` are right; the others hold no meaning.
    pub fn with_fields(out: &'a mut Vec<RollupBucket>, resolution: i64, fields: RollupFields) -> Self {
        let end = out.last().map_or(i64::MIN, |b| b.start.saturating_add(resolution));
        Self { out, resolution, end, fields }
    }

    /// Adds time-ordered samples; `FULL` keeps sum, min and max as well.
    fn run<const FULL: bool>(&mut self, samples: impl Iterator<Item = Sample>) {
        // The open bucket is taken out of the vector and kept in a local
        // while samples join it: through the vector every field was loaded
        // and stored again per sample, and summarizing was a third of a
        // `rate(x[1m])` over blocks without minute rollups.
        let mut open = self.out.pop();
        for s in samples.filter(|s| s.v.to_bits() != STALE_NAN) {
            match open.as_mut() {
                Some(b) if s.t < self.end && s.t >= b.start => {
                    if FULL {
                        b.add(s);
                    } else {
                        b.add_to_count_and_ends(s);
                    }
                }
                _ => {
                    let start = s.t.div_euclid(self.resolution) * self.resolution;
                    self.end = start.saturating_add(self.resolution);
                    if let Some(done) = open.replace(RollupBucket::of(start, s)) {
                        self.out.push(done);
                    }
                }
            }
        }
        if let Some(b) = open {
            self.out.push(b);
        }
    }
}

/// The fields a bucket keeps without its sum, min and max.
const COUNT_AND_ENDS: RollupFields =
    RollupFields::COUNT.with(RollupFields::FIRST).with(RollupFields::LAST).with(RollupFields::CORRECTION);

impl Extend<Sample> for Summarizer<'_> {
    fn extend<I: IntoIterator<Item = Sample>>(&mut self, samples: I) {
        if COUNT_AND_ENDS.contains(self.fields) {
            self.run::<false>(samples.into_iter());
        } else {
            self.run::<true>(samples.into_iter());
        }
    }
}

/// Appends `bucket`, or merges it into the last bucket of `out` when both
/// have the same start (then `bucket`'s samples are the later ones).
pub fn push_bucket(out: &mut Vec<RollupBucket>, bucket: RollupBucket) {
    match out.last_mut() {
        Some(b) if b.start == bucket.start => b.merge(&bucket),
        _ => out.push(bucket),
    }
}

impl RollupBucket {
    /// The bucket starting at `start` holding only `s`.
    pub fn of(start: i64, s: Sample) -> Self {
        Self { start, count: 1, sum: s.v, min: s.v, max: s.v, first: s, last: s, correction: 0.0 }
    }

    /// Adds a sample later than every sample in the bucket.
    pub fn add(&mut self, s: Sample) {
        self.count += 1;
        self.sum += s.v;
        if s.v < self.min || self.min.is_nan() {
            self.min = s.v;
        }
        if s.v > self.max || self.max.is_nan() {
            self.max = s.v;
        }
        if s.v < self.last.v {
            self.correction += self.last.v;
        }
        self.last = s;
    }

    /// [`RollupBucket::add`] for count, first, last and correction only.
    #[inline]
    fn add_to_count_and_ends(&mut self, s: Sample) {
        self.count += 1;
        if s.v < self.last.v {
            self.correct_for_reset();
        }
        self.last = s;
    }

    /// A counter reset before the sample after `last`. Out of line, so the
    /// common case is a branch, not an addition on every sample's path.
    #[cold]
    #[inline(never)]
    fn correct_for_reset(&mut self) {
        self.correction += self.last.v;
    }

    /// Adds the summary of samples all later than this bucket's: the
    /// result is the summary of both runs together (count, min, max,
    /// first, last exactly; sum and correction add the same terms in
    /// another order).
    pub fn merge(&mut self, later: &RollupBucket) {
        if later.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = RollupBucket { start: self.start, ..*later };
            return;
        }
        self.count += later.count;
        self.sum += later.sum;
        if later.min < self.min || self.min.is_nan() {
            self.min = later.min;
        }
        if later.max > self.max || self.max.is_nan() {
            self.max = later.max;
        }
        self.correction += later.correction;
        if later.first.v < self.last.v {
            self.correction += self.last.v;
        }
        self.last = later.last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::{Just, Strategy};

    /// Up to `most` values: ordinary ones, NaN, staleness markers and both zeros.
    fn values(most: usize) -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(
            proptest::prop_oneof![
                8 => -1e6..1e6f64,
                1 => Just(f64::NAN),
                1 => Just(f64::from_bits(STALE_NAN)),
                1 => Just(0.0f64),
                1 => Just(-0.0f64),
            ],
            1..most,
        )
    }

    proptest::proptest! {
        /// Summaries of consecutive runs merged are the summary of the
        /// whole run: count, min, max, first and last exactly, sums and
        /// corrections to rounding.
        #[test]
        fn merged_summaries_are_the_summary_of_the_whole(
            values in values(200),
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let samples: Vec<Sample> = values.iter().enumerate().map(|(i, &v)| Sample::new(i as i64 * 7_000, v)).collect();
            let res = 60_000;
            let whole = summarize(&samples, res);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (samples.len() + 1)).collect();
            cuts.push(0);
            cuts.push(samples.len());
            cuts.sort_unstable();
            let mut merged = Vec::new();
            for run in cuts.windows(2) {
                for b in summarize(&samples[run[0]..run[1]], res) {
                    push_bucket(&mut merged, b);
                }
            }
            let mut continued = Vec::new();
            for run in cuts.windows(2) {
                summarize_into(&mut continued, &samples[run[0]..run[1]], res);
            }
            let bits = |bs: &[RollupBucket]| -> Vec<[u64; 9]> {
                bs.iter().map(|b| [b.start as u64, b.count, b.sum.to_bits(), b.min.to_bits(), b.max.to_bits(),
                    b.first.v.to_bits(), b.last.v.to_bits(), b.correction.to_bits(), b.last.t as u64]).collect()
            };
            proptest::prop_assert_eq!(bits(&continued), bits(&whole));
            proptest::prop_assert_eq!(merged.len(), whole.len());
            for (m, w) in merged.iter().zip(&whole) {
                // Values are at most 1e6: another order of adding moves a
                // sum by rounding errors of at most that size each.
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * 1e6 * w.count as f64;
                proptest::prop_assert_eq!((m.start, m.count), (w.start, w.count));
                proptest::prop_assert_eq!(m.min.to_bits(), w.min.to_bits());
                proptest::prop_assert_eq!(m.max.to_bits(), w.max.to_bits());
                proptest::prop_assert_eq!((m.first.t, m.first.v.to_bits()), (w.first.t, w.first.v.to_bits()));
                proptest::prop_assert_eq!((m.last.t, m.last.v.to_bits()), (w.last.t, w.last.v.to_bits()));
                proptest::prop_assert!(close(m.sum, w.sum) || (m.sum.is_nan() && w.sum.is_nan()), "{} vs {}", m.sum, w.sum);
                proptest::prop_assert!(close(m.correction, w.correction) || (m.correction.is_nan() && w.correction.is_nan()));
            }
        }

        /// A reader of count, first, last and correction gets them to the
        /// bit as the full summary has them, however its samples come in.
        #[test]
        fn fields_of_a_light_summary_are_the_full_ones(
            values in values(300),
            spacing in 1i64..40_000,
            cut in 0usize..300,
        ) {
            let samples: Vec<Sample> = values.iter().enumerate().map(|(i, &v)| Sample::new(i as i64 * spacing, v)).collect();
            let full = summarize(&samples, 60_000);
            let mut light = Vec::new();
            let cut = cut.min(samples.len());
            for run in [&samples[..cut], &samples[cut..]] {
                summarize_fields_into(&mut light, run, 60_000, COUNT_AND_ENDS);
            }
            let kept = |bs: &[RollupBucket]| -> Vec<[u64; 6]> {
                bs.iter().map(|b| [b.start as u64, b.count, b.first.v.to_bits(), b.last.v.to_bits(), b.last.t as u64, b.correction.to_bits()]).collect()
            };
            proptest::prop_assert_eq!(kept(&light), kept(&full));
        }
    }
}
