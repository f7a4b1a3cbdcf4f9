//! Anchored streaming: the anomaly functions over a range query's steps in
//! one pass per series, yet each step's answer a function of its own window.
//!
//! A step whose window ends at `hi` (length `range`) learns from the
//! samples since its anchor: the latest multiple of `range / 2` at or
//! before `hi - range / 2`. So between half the range and the whole of it
//! is used, all inside `[hi - range, hi]`, and the anchor depends on `hi`
//! alone: an instant query at T answers what any range query answers at T,
//! and samples after T change nothing at or before T. Consecutive steps
//! that share an anchor share one detector fed forward, so a range query
//! costs each sample at most twice (three times when a step reads scores
//! further back than the steps before it), plus its steps. It keeps the latest
//! sample's record and the scores no later score beats (what `anomaly_max`
//! reads): usually a few, at most one per sample (scores that only fall),
//! 16 bytes each, where a record per sample (40 bytes each, written and
//! freed for every series of `/api/v1/anomalies`) was a sixth of its time.

use pulsedb_model::Sample;

use super::detector::Detector;
use super::record::SCORES_LOOK_BACK;

/// Which scores a step's answer reads: only those are worked out, with the
/// [`SCORES_LOOK_BACK`] scored samples before them that they depend on; earlier
/// samples are learnt from without a score (on `/api/v1/anomalies` most
/// of a day is learnt for the last hour's scores).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Asked {
    /// The scores of the samples after this time (`anomaly_max`).
    ScoresAfter(i64),
    /// The latest sample's score (`anomaly_score`).
    LatestScore,
    /// No score (bands and forecasts).
    NoScore,
    /// Every score (tests that ask at any time).
    #[cfg(test)]
    EveryScore,
}

/// Where the window ending at `hi` (length `range`) starts learning: the
/// latest multiple of `range / 2` at or before `hi - range / 2`.
pub(crate) fn anchor(hi: i64, range: i64) -> i64 {
    let half = (range / 2).max(1);
    (hi - range / 2).div_euclid(half) * half
}

/// What the detector said of one sample, when it was fed.
#[derive(Clone, Copy, Debug)]
struct Record {
    score: f64,
    /// Prediction and error scale before seeing the sample.
    expected: Option<(f64, f64)>,
}

/// One series' stream over a query's steps.
#[derive(Debug)]
pub(crate) struct Stream<'a> {
    samples: &'a [Sample],
    /// How far back before its timestamp a sample summarises (a window
    /// mean's resolution; 0 for raw samples).
    span: i64,
    anchor: Option<i64>,
    last_hi: i64,
    /// Index of the stream's first sample, and of the next to feed.
    start: usize,
    fed: usize,
    /// Index of the first sample fed with its score worked out, and of
    /// the first whose score a step of this epoch read.
    scored_from: usize,
    first_read: usize,
    detector: Detector,
    /// The record of the latest sample fed.
    last: Option<Record>,
    /// (time, score) of the samples fed whose score no later sample's
    /// reaches, oldest first: scores decrease, so the highest score after
    /// any time is the first entry after it.
    peaks: Vec<(i64, f64)>,
}

impl<'a> Stream<'a> {
    /// A stream over raw samples.
    #[cfg(test)]
    pub(crate) fn new(samples: &'a [Sample]) -> Self {
        Self::of_means(samples, 0)
    }

    /// A stream over window means: each sample at `t` the mean of
    /// `(t - span, t]`, so one counts as in a window only if that whole
    /// span is.
    pub(crate) fn of_means(samples: &'a [Sample], span: i64) -> Self {
        Self {
            samples,
            span: span.max(0),
            anchor: None,
            last_hi: i64::MIN,
            start: 0,
            fed: 0,
            scored_from: 0,
            first_read: usize::MAX,
            detector: Detector::new(),
            last: None,
            peaks: Vec::new(),
        }
    }

    /// Moves to the window ending at `hi` of length `range`, where the
    /// answer reads the scores `asked` says; `false` if it holds no sample
    /// since its anchor.
    pub(crate) fn advance(&mut self, hi: i64, range: i64, asked: Asked) -> bool {
        let anchor = anchor(hi, range);
        let first_read = self.first_read(hi, asked);
        let same_epoch = self.anchor == Some(anchor) && hi >= self.last_hi;
        // Within an epoch only a step that reads further back than any
        // before it can need more scores (the look-back only moves with
        // the first score read): steps that read on cost no search.
        if !same_epoch || first_read < self.first_read {
            let scored_from = self.scored_from(first_read);
            // Samples fed without a score that this step depends on (a
            // `recent` argument growing between steps): the epoch is fed
            // again, scoring everything, so that happens once an epoch.
            let unscored = scored_from.max(self.start) < self.scored_from.min(self.fed);
            if !same_epoch || unscored {
                self.anchor = Some(anchor);
                self.start = self.samples.partition_point(|s| s.t - self.span < anchor);
                self.fed = self.start;
                self.scored_from = if same_epoch { 0 } else { scored_from };
                self.detector = Detector::for_range(range);
                self.last = None;
                self.peaks.clear();
            }
            self.scored_from = self.scored_from.min(scored_from);
            self.first_read = first_read;
        }
        self.last_hi = hi;
        let stream = &self.samples[self.start..];
        let end = self.fed + self.samples[self.fed..].partition_point(|s| s.t <= hi);
        // Samples no answer reads the score of: learnt from in a loop of
        // their own, their scores all 0, so only the last one's record and
        // peak are kept (as the general loop would leave them). Most of a
        // ranking's samples are these.
        let unscored_end = end.min(self.scored_from.max(self.fed));
        if self.fed < unscored_end {
            let mut expected = None;
            for k in self.fed..unscored_end {
                expected = self.detector.step_as::<false>(stream, k - self.start).1;
            }
            self.last = Some(Record { score: 0.0, expected });
            self.push_peak(self.samples[unscored_end - 1].t, 0.0);
            self.fed = unscored_end;
        }
        for k in self.fed..end {
            let (score, expected) = self.detector.step_as::<true>(stream, k - self.start);
            self.last = Some(Record { score, expected });
            // Scores are in [0, 1]; a NaN (never seen) would break the
            // stack's order, and the maximum ignored it before.
            self.push_peak(self.samples[k].t, if score.is_nan() { 0.0 } else { score });
        }
        self.fed = end;
        self.last.is_some()
    }

    /// Keeps `(t, score)` of the latest sample fed, dropping the entries
    /// it matches or beats.
    fn push_peak(&mut self, t: i64, score: f64) {
        while self.peaks.last().is_some_and(|&(_, s)| s <= score) {
            self.peaks.pop();
        }
        self.peaks.push((t, score));
    }

    /// The index of the first sample whose score the answer at `hi` reads,
    /// given what it reads (`usize::MAX`: none).
    fn first_read(&self, hi: i64, asked: Asked) -> usize {
        match asked {
            Asked::ScoresAfter(since) => self.samples.partition_point(|s| s.t <= since),
            Asked::LatestScore => self.samples.partition_point(|s| s.t <= hi).saturating_sub(1),
            Asked::NoScore => usize::MAX,
            #[cfg(test)]
            Asked::EveryScore => 0,
        }
    }

    /// The index of the first sample whose score a score at `first_read`
    /// depends on: [`SCORES_LOOK_BACK`] scored samples before it. The
    /// detector scores finite values only (a NaN or infinite one neither
    /// scores nor counts in the quiet period), so they are counted, not
    /// the samples: with ten NaN among the 150 before, ten more.
    fn scored_from(&self, first_read: usize) -> usize {
        if first_read == usize::MAX {
            return usize::MAX;
        }
        let mut from = first_read.min(self.samples.len());
        let mut left = SCORES_LOOK_BACK;
        while left > 0 && from > 0 {
            from -= 1;
            left -= usize::from(self.samples[from].v.is_finite());
        }
        from
    }

    /// The score of the window's latest sample.
    pub(crate) fn score(&self) -> Option<f64> {
        self.last.map(|r| r.score)
    }

    /// The highest score among the window's samples after `since`.
    pub(crate) fn max_after(&self, since: i64) -> Option<f64> {
        let first_after = self.peaks.partition_point(|&(t, _)| t <= since);
        self.peaks.get(first_after).map(|&(_, score)| score)
    }

    /// The band the latest sample was expected in, `width` error scales wide.
    pub(crate) fn band(&self, width: f64) -> Option<(f64, f64)> {
        let (prediction, scale) = self.last?.expected?;
        // Near f64::MAX the band would overflow: it ends at the largest float.
        let finite = |v: f64| v.clamp(f64::MIN, f64::MAX);
        Some((finite(prediction - width * scale), finite(prediction + width * scale)))
    }

    /// The forecast `horizon` ms after the latest sample, and its error scale.
    pub(crate) fn forecast(&self, horizon: i64) -> Option<(f64, f64)> {
        let finite = |v: f64| v.clamp(f64::MIN, f64::MAX);
        self.detector.forecast(&self.samples[self.start..self.fed], horizon).map(|(f, s)| (finite(f), finite(s)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn series(n: i64) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample::new(i * 60_000, 10.0 + ((i * 7) % 13) as f64 + if i > 700 { 30.0 } else { 0.0 }))
            .collect()
    }

    proptest::proptest! {
        /// Whatever the values (huge, tiny, negative, NaN, repeated), every
        /// score is in [0, 1] and every band and forecast is finite.
        #[test]
        fn answers_stay_finite_and_in_range(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    -1e12..1e12f64,
                    proptest::num::f64::NORMAL,
                    proptest::strategy::Just(0.0),
                    proptest::strategy::Just(f64::NAN),
                ],
                1..400,
            ),
            gaps in proptest::collection::vec(1i64..600_000, 1..400),
        ) {
            let mut t = 0;
            let samples: Vec<Sample> = values.iter().zip(gaps.iter().cycle()).map(|(&v, &g)| { t += g; Sample::new(t, v) }).collect();
            let mut stream = Stream::new(&samples);
            for hi in samples.iter().map(|s| s.t).step_by(3) {
                if !stream.advance(hi, 86_400_000, Asked::EveryScore) {
                    continue;
                }
                let score = stream.score().unwrap();
                proptest::prop_assert!((0.0..=1.0).contains(&score), "score {}", score);
                if let Some((lo, up)) = stream.band(3.0) {
                    proptest::prop_assert!(lo.is_finite() && up.is_finite() && lo <= up);
                }
                if let Some((f, scale)) = stream.forecast(3_600_000) {
                    proptest::prop_assert!(f.is_finite() && scale.is_finite(), "forecast {} {}", f, scale);
                }
            }
        }
    }

    proptest::proptest! {
        /// The highest score after any time is the highest of the scores
        /// the samples since then got, one by one.
        #[test]
        fn max_after_is_the_highest_score_since(
            values in proptest::collection::vec(proptest::prop_oneof![0.0..100.0f64, 1e3..1e4f64], 1..300),
            since in proptest::collection::vec(0usize..300, 1..20),
        ) {
            let samples: Vec<Sample> = values.iter().enumerate().map(|(i, &v)| Sample::new(i as i64 * 60_000, v)).collect();
            let range = 10 * 86_400_000;
            let mut stream = Stream::new(&samples);
            let mut scores = Vec::new();
            for s in &samples {
                proptest::prop_assert!(stream.advance(s.t, range, Asked::EveryScore));
                scores.push((s.t, stream.score().unwrap()));
            }
            for k in since {
                let since = k as i64 * 60_000 - 1;
                let want = scores.iter().filter(|(t, _)| *t > since).map(|&(_, s)| s).reduce(f64::max);
                proptest::prop_assert_eq!(stream.max_after(since), want);
            }
        }
    }

    proptest::proptest! {
        /// Working out only the scores an answer reads (and those they
        /// depend on) changes no answer, to the bit: `anomaly_max` at
        /// every `recent` (one that grows between steps too),
        /// `anomaly_score`, bands and forecasts; with NaN and infinite
        /// values (which the quiet period does not count), uneven spacing,
        /// steps between samples and steps that go back.
        #[test]
        fn answers_read_only_the_scores_they_need(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    16 => 0.0..10.0f64,
                    2 => 10.0..500.0f64,
                    1 => proptest::strategy::Just(f64::NAN),
                    1 => proptest::strategy::Just(f64::INFINITY),
                ],
                200..900,
            ),
            gaps in proptest::collection::vec(proptest::prop_oneof![4 => proptest::strategy::Just(60_000i64), 1 => 1i64..600_000], 1..20),
            every in 1usize..20,
            jitters in proptest::collection::vec(0i64..90_000, 1..5),
            backs in proptest::collection::vec(proptest::prop_oneof![6 => proptest::strategy::Just(0i64), 1 => 1i64..10_000_000], 1..6),
            recents in proptest::collection::vec(proptest::sample::select(vec![1_000i64, 60_000, 600_000, 7_200_000]), 1..4),
        ) {
            let mut t = 0;
            let samples: Vec<Sample> = values.iter().zip(gaps.iter().cycle()).map(|(&v, &g)| { t += g; Sample::new(t, v) }).collect();
            let range = 6 * 3_600_000;
            let (mut all, mut max, mut latest, mut none) =
                (Stream::new(&samples), Stream::new(&samples), Stream::new(&samples), Stream::new(&samples));
            let mut scored = 0;
            for (k, s) in samples.iter().enumerate().step_by(every) {
                let hi = s.t + jitters[k % jitters.len()] - backs[k % backs.len()];
                let recent = recents[k % recents.len()];
                let fed = all.advance(hi, range, Asked::EveryScore);
                proptest::prop_assert_eq!(fed, max.advance(hi, range, Asked::ScoresAfter(hi - recent)));
                proptest::prop_assert_eq!(fed, latest.advance(hi, range, Asked::LatestScore));
                proptest::prop_assert_eq!(fed, none.advance(hi, range, Asked::NoScore));
                let bits = |v: Option<f64>| v.map(f64::to_bits);
                proptest::prop_assert_eq!(bits(max.max_after(hi - recent)), bits(all.max_after(hi - recent)), "at {}", hi);
                proptest::prop_assert_eq!(bits(latest.score()), bits(all.score()), "at {}", hi);
                proptest::prop_assert_eq!(none.band(3.0), all.band(3.0));
                proptest::prop_assert_eq!(none.forecast(3_600_000), all.forecast(3_600_000));
                scored += usize::from(all.max_after(hi - recent).is_some_and(|s| s > 0.0));
            }
            // Some answers were scores above 0, not only zeros compared.
            proptest::prop_assume!(scored > 0);
        }
    }

    /// A score at the quiet period's edge: a spike exactly 150 scored
    /// samples before a bigger one keeps the later one quiet (both score
    /// 1), with or without NaN between them, whatever is asked.
    #[test]
    fn the_quiet_period_reaches_back_150_scored_samples() {
        for nans in [0, 10] {
            let mut values: Vec<f64> = (0..400).map(|i| (i % 10) as f64).collect();
            values.push(1e6);
            values.extend(std::iter::repeat_n(f64::NAN, nans));
            values.extend((0..149).map(|i| (i % 10) as f64));
            values.push(1e9);
            let samples: Vec<Sample> =
                values.iter().enumerate().map(|(i, &v)| Sample::new(i as i64 * 60_000, v)).collect();
            let last = samples[samples.len() - 1].t;
            let range = 10 * 86_400_000;
            let mut all = Stream::new(&samples);
            assert!(all.advance(last, range, Asked::EveryScore));
            assert_eq!(all.score(), Some(0.0), "{nans} NaN: the spike 150 before is still in the quiet period");
            let mut latest = Stream::new(&samples);
            assert!(latest.advance(last, range, Asked::LatestScore));
            assert_eq!(latest.score(), Some(0.0), "{nans} NaN");
            let mut max = Stream::new(&samples);
            assert!(max.advance(last, range, Asked::ScoresAfter(last - 1)));
            assert_eq!(max.max_after(last - 1), Some(0.0), "{nans} NaN");
        }
    }

    #[test]
    fn each_step_is_answered_as_if_it_were_alone() {
        let samples = series(1_000);
        let range = 6 * 3_600_000;
        // Raw samples, and the same taken as means of the minute before each.
        for span in [0, 60_000] {
            let mut together = Stream::of_means(&samples, span);
            for hi in (0..1_000i64).map(|i| i * 60_000).step_by(7) {
                let mut alone = Stream::of_means(&samples, span);
                assert_eq!(together.advance(hi, range, Asked::EveryScore), alone.advance(hi, range, Asked::EveryScore));
                assert_eq!(together.score().map(f64::to_bits), alone.score().map(f64::to_bits), "at {hi}");
                assert_eq!(together.band(3.0), alone.band(3.0));
                assert_eq!(together.forecast(3_600_000), alone.forecast(3_600_000));
                for back in [0, 60_000, 3_600_000, range] {
                    assert_eq!(together.max_after(hi - back), alone.max_after(hi - back), "at {hi}, {back} back");
                }
                // Everything it learnt from is inside the window.
                let learnt = &together.samples[together.start..together.fed];
                assert!(learnt.iter().all(|s| s.t - span > hi - range && s.t <= hi));
            }
        }
    }
}
