//! Window means: a long history at a bounded number of points. The mean of
//! each window `(end - resolution, end]` that holds a sample, as a sample
//! at `end`, built as raw samples or rollup buckets come, in time order.
//!
//! Windows are closed on the right, as range selectors are: a sample at a
//! whole minute belongs to the minute that ends with it, so a series
//! sampled every 5 minutes at whole minutes comes out unchanged, and the
//! mean at `end` uses no sample after `end`. A bucket `[start, start +
//! resolution)` therefore gives its first sample to the window ending at
//! `start` when that sample lies on `start`, and the rest to the next.

use crate::{RollupBucket, Sample, STALE_NAN};

/// Window means of one series, built incrementally from time-ordered raw
/// samples ([`WindowMeans::add_sample`]) and buckets
/// ([`WindowMeans::add_bucket`], which need `count`, `sum` and `first`),
/// which may be mixed as long as time goes forward. Building from raw
/// samples directly costs 16 bytes a mean instead of a summary's 80.
#[derive(Debug)]
pub struct WindowMeans {
    resolution: i64,
    means: Vec<Sample>,
    /// The open window: its end, and the count and sum of what it holds.
    end: i64,
    count: u64,
    sum: f64,
    /// Raw samples the means stand for.
    samples: u64,
    /// The end of the window [`WindowMeans::add_sample`] last put a sample
    /// in, when it is a whole multiple of the resolution: the next sample
    /// usually falls in it or the one after, found without a division (a
    /// 64-bit division a sample was a fifth of reading a day of minutes).
    sample_window: Option<i64>,
}

impl WindowMeans {
    pub fn new(resolution: i64) -> Self {
        Self {
            resolution: resolution.max(1),
            means: Vec::new(),
            end: i64::MIN,
            count: 0,
            sum: 0.0,
            samples: 0,
            sample_window: None,
        }
    }

    /// Takes the next raw sample; staleness markers are no values.
    /// Inlined (with what it calls) into the storage's read loops, where a
    /// call a sample cost as much as the work.
    #[inline]
    pub fn add_sample(&mut self, s: Sample) {
        if s.v.to_bits() == STALE_NAN {
            return;
        }
        let end = self.window_holding(s.t);
        self.add(end, 1, s.v);
    }

    /// The end of the window closed on the right that holds `t`: the
    /// multiple of the resolution in `[t, t + resolution)` (saturated at
    /// the ends of time).
    #[inline]
    fn window_holding(&mut self, t: i64) -> i64 {
        let holds = |end: i64| end.checked_sub(t).is_some_and(|d| (0..self.resolution).contains(&d));
        if let Some(last) = self.sample_window {
            if holds(last) {
                return last;
            }
            if let Some(next) = last.checked_add(self.resolution).filter(|&next| holds(next)) {
                self.sample_window = Some(next);
                return next;
            }
        }
        let windows = t.div_euclid(self.resolution) + i64::from(t.rem_euclid(self.resolution) != 0);
        self.sample_window = windows.checked_mul(self.resolution);
        self.sample_window.unwrap_or_else(|| windows.saturating_mul(self.resolution))
    }

    /// Takes time-ordered raw samples, making room first for the means
    /// they can add (one a window they span, at most one a sample): grown
    /// one push at a time, the means were reallocated and copied about
    /// ten times a series.
    pub fn add_samples(&mut self, samples: &[Sample]) {
        if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
            let windows = (last.t.saturating_sub(first.t) / self.resolution).saturating_add(2);
            self.means.reserve(samples.len().min(usize::try_from(windows).unwrap_or(usize::MAX)));
        }
        samples.iter().for_each(|&s| self.add_sample(s));
    }

    /// Whether [`WindowMeans::add_bucket`] takes `b` exactly: a bucket
    /// whose first sample lies on its start gives the rest to the next
    /// window as `sum − first`, unknown when that first value is NaN or
    /// infinite (then read the bucket's raw samples instead).
    pub fn takes_exactly(b: &RollupBucket) -> bool {
        b.count <= 1 || b.first.t != b.start || b.first.v.is_finite()
    }

    /// Takes the next bucket (see [`WindowMeans::takes_exactly`]).
    pub fn add_bucket(&mut self, b: &RollupBucket) {
        let next = b.start.saturating_add(self.resolution);
        if b.count > 0 && b.first.t == b.start {
            self.add(b.start, 1, b.first.v);
            self.add(next, b.count - 1, b.sum - b.first.v);
        } else {
            self.add(next, b.count, b.sum);
        }
    }

    /// How many raw samples the means taken so far stand for.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The means, in time order.
    pub fn finish(mut self) -> Vec<Sample> {
        self.close();
        self.means
    }

    #[inline]
    fn add(&mut self, end: i64, count: u64, sum: f64) {
        if count == 0 {
            return;
        }
        // Saturating: a bucket's count comes from disk.
        self.samples = self.samples.saturating_add(count);
        if end == self.end {
            self.count = self.count.saturating_add(count);
            self.sum += sum;
        } else {
            self.close();
            (self.end, self.count, self.sum) = (end, count, sum);
        }
    }

    #[inline]
    fn close(&mut self) {
        if self.count > 0 {
            self.means.push(Sample::new(self.end, self.sum / self.count as f64));
            self.count = 0;
        }
    }
}

/// The window means of `buckets` (time-ordered; they need `count`, `sum`
/// and `first`).
pub fn window_means(buckets: &[RollupBucket], resolution: i64) -> Vec<Sample> {
    let mut means = WindowMeans::new(resolution);
    buckets.iter().for_each(|b| means.add_bucket(b));
    means.finish()
}

/// The window means of raw, time-ordered `samples`.
pub fn window_means_of_samples(samples: &[Sample], resolution: i64) -> Vec<Sample> {
    let mut means = WindowMeans::new(resolution);
    means.add_samples(samples);
    means.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summarize;

    fn means(samples: &[(i64, f64)], resolution: i64) -> Vec<(i64, f64)> {
        let samples: Vec<Sample> = samples.iter().map(|&(t, v)| Sample::new(t, v)).collect();
        let from_buckets = window_means(&summarize(&samples, resolution), resolution);
        let direct = window_means_of_samples(&samples, resolution);
        assert_eq!(from_buckets, direct, "from buckets and from samples");
        direct.iter().map(|s| (s.t, s.v)).collect()
    }

    proptest::proptest! {
        /// The window a sample falls in, found from the last one, is the
        /// one the division gives, at any resolution and time (the ends of
        /// `i64` included).
        #[test]
        fn each_sample_falls_in_the_window_the_division_gives(
            resolution in proptest::prop_oneof![1i64..5, 1i64..100_000, proptest::strategy::Just(60_000i64), 1i64..i64::MAX],
            start in proptest::prop_oneof![proptest::num::i64::ANY, -1_000_000i64..1_000_000, (i64::MAX - 1_000_000)..=i64::MAX],
            gaps in proptest::collection::vec(proptest::prop_oneof![0i64..3, 0i64..200_000, 0i64..i64::MAX], 1..60),
        ) {
            let mut means = WindowMeans::new(resolution);
            let mut t = start;
            for gap in gaps {
                let windows = t.div_euclid(resolution).saturating_add(i64::from(t.rem_euclid(resolution) != 0));
                proptest::prop_assert_eq!(means.window_holding(t), windows.saturating_mul(resolution), "t {}", t);
                t = t.saturating_add(gap);
            }
        }
    }

    #[test]
    fn sparse_aligned_samples_come_out_unchanged() {
        let every_5_min: Vec<(i64, f64)> = (0..20).map(|i| (i * 300_000, (i * i) as f64)).collect();
        assert_eq!(means(&every_5_min, 60_000), every_5_min);
    }

    #[test]
    fn windows_are_closed_on_the_right() {
        // (0, 60 s] holds 20, 40 and 60 s; (60 s, 120 s] holds 90 s.
        let got = means(&[(0, 1.0), (20_000, 2.0), (40_000, 3.0), (60_000, 4.0), (90_000, 10.0)], 60_000);
        assert_eq!(got, vec![(0, 1.0), (60_000, 3.0), (120_000, 10.0)]);
        // Only a sample at a bucket's start: a window of its own.
        assert_eq!(means(&[(120_000, 7.0)], 60_000), vec![(120_000, 7.0)]);
        // Gaps between buckets.
        assert_eq!(means(&[(30_000, 1.0), (600_000, 2.0)], 60_000), vec![(60_000, 1.0), (600_000, 2.0)]);
        // Negative times and staleness markers.
        assert_eq!(
            means(&[(-90_000, 3.0), (-60_000, 5.0), (-30_000, f64::from_bits(STALE_NAN))], 60_000),
            vec![(-60_000, 4.0)]
        );
        assert!(means(&[], 60_000).is_empty());
    }

    #[test]
    fn buckets_and_samples_mix_and_count_their_samples() {
        let samples: Vec<Sample> = (0..10).map(|i| Sample::new(i * 25_000, i as f64)).collect();
        let mut mixed = WindowMeans::new(60_000);
        summarize(&samples[..5], 60_000).iter().for_each(|b| mixed.add_bucket(b));
        samples[5..].iter().for_each(|&s| mixed.add_sample(s));
        assert_eq!(mixed.samples(), 10);
        assert_eq!(mixed.finish(), window_means_of_samples(&samples, 60_000));
    }

    #[test]
    fn a_bucket_led_by_nan_is_not_taken_exactly() {
        let samples = [Sample::new(60_000, f64::NAN), Sample::new(90_000, 2.0), Sample::new(100_000, 4.0)];
        let buckets = summarize(&samples, 60_000);
        assert!(!WindowMeans::takes_exactly(&buckets[0]));
        // From the samples, the window after the NaN is exact.
        let direct = window_means_of_samples(&samples, 60_000);
        assert!(direct[0].v.is_nan());
        assert_eq!(direct[1], Sample::new(120_000, 3.0));
        let aligned_finite = summarize(&[Sample::new(60_000, 1.0), Sample::new(90_000, f64::NAN)], 60_000);
        assert!(WindowMeans::takes_exactly(&aligned_finite[0]));
    }

    proptest::proptest! {
        /// Every window's mean is the mean of the samples in it, whether
        /// built from buckets or from the samples; times and counts exact.
        #[test]
        fn means_are_the_means_of_their_windows(
            gaps in proptest::collection::vec(1i64..200_000, 1..300),
            values in proptest::collection::vec(-1e6..1e6f64, 1..300),
        ) {
            let mut t = -5_000_000;
            let samples: Vec<Sample> = gaps.iter().zip(values.iter().cycle()).map(|(&g, &v)| { t += g; Sample::new(t, v) }).collect();
            let res = 60_000;
            let mut want: Vec<(i64, f64, u64)> = Vec::new();
            for s in &samples {
                let end = (s.t + res - 1).div_euclid(res) * res;
                match want.last_mut() {
                    Some(w) if w.0 == end => { w.1 += s.v; w.2 += 1; }
                    _ => want.push((end, s.v, 1)),
                }
            }
            for got in [window_means(&summarize(&samples, res), res), window_means_of_samples(&samples, res)] {
                proptest::prop_assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    proptest::prop_assert_eq!(g.t, w.0);
                    let mean = w.1 / w.2 as f64;
                    proptest::prop_assert!((g.v - mean).abs() <= 1e-6 * (1.0 + mean.abs()), "{} vs {}", g.v, mean);
                }
            }
        }
    }
}
