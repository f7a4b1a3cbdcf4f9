//! The anomaly score: how improbable it is that the series just set a
//! record. "Tracks" follow moving means — of the value over 1, 4 and 16
//! samples (records both ways), of the prediction error over 6, and of
//! each season's norm's own error over 6 (upward records only) — each
//! remembering the highest and lowest mean it has seen since it started;
//! the 4-sample mean is also held to its range over the last three days
//! (`recent.rs`: a burst smaller than one long ago, after quiet days).
//! A season's track starts only once its norm exists and counts only while
//! that norm is the prediction gone by: the errors of earlier days,
//! predicted by the level or by a worse season, would otherwise set a
//! record no later error beats, and a rhythm that goes flat or loses its
//! peak (values within the usual range, at the wrong time) would never
//! score. Among `n` exchangeable moving
//! means a new record has probability about `1/n`; one that beats the old
//! extreme by a share `x` of the track's range is rarer, about
//! `e^(−GAIN·x)/n`. The score is the largest `−log10` of that probability
//! over the tracks, over 10, capped at 1 — scale-free, so one threshold
//! serves every series whatever its units and noise. A score is reported
//! only when it beats every score of the previous [`QUIET_SAMPLES`]
//! samples, so an incident is reported at its onset (and again if it
//! grows), not at every sample it lasts.

use std::collections::VecDeque;
use std::sync::LazyLock;

use super::recent::{RecentRange, RECENT_SPAN_MS};
use super::season::{DAY_MS, SEASONS};

/// Widths (samples) of the value's moving means: a spike, a short run, a
/// sustained shift.
const VALUE_WIDTHS: [usize; 3] = [1, 4, 16];
/// Which of [`VALUE_WIDTHS`]' moving means is also held to the recent
/// past's range ([`RecentRange`]): the short run's (4 samples), which
/// one stray sample does not make a record of.
const RECENT_TRACK: usize = 1;
/// Moving sums a recent span needs before a record against it counts:
/// three days of a series sampled daily hold three, whose records are
/// as certain as a stream's first ones. (After a gap, the span waits until
/// its samples reach back over most of it: `recent.rs`.) NAB's hourly
/// file with gaps scored the same from 4 to 8, lost a window from 16.
const RECENT_WARM_UP: usize = 8;
/// The least range (a fraction of the range the same moving sums have
/// held since the stream began) a recent span is scored against: days of
/// one value (a counter's rate of 0) make a range of 0, which any change
/// would beat by infinitely many ranges. On NAB, 0.05 to 0.2 scored within
/// 0.6 of each other (fewer false positives than no floor); 0.3 and up
/// lost windows.
const RECENT_RANGE_FLOOR: f64 = 0.1;
/// Width of the prediction error's moving mean.
const ERROR_WIDTH: usize = 6;
/// Moving means a track needs before a record counts (the first few
/// records of any series are certain, not news).
const WARM_UP: u64 = 24;
/// How long (ms) a season's error track learns before its records count:
/// it starts once its norm exists (two days or a week into a stream) and
/// must see a whole day of how well that norm does first. In time, not
/// samples, so it means the same for 5 min samples, minute means and
/// hour means.
const SEASONAL_WARM_UP_MS: i64 = DAY_MS;
/// How fast improbability grows with the margin of a record, in e-folds
/// per whole range of the track.
const GAIN: f64 = 20.0;
/// `−log10` probability that makes a score of 1 (one in ten billion).
const LOG10_FOR_FULL_SCORE: f64 = 10.0;
/// A score is reported only if it beats the scores of this many samples
/// before it.
const QUIET_SAMPLES: usize = 150;
/// How many scored samples (finite values: [`RecordScore::step`] sees no
/// other) before it a score depends on the scores of.
pub(super) const SCORES_LOOK_BACK: usize = QUIET_SAMPLES;

/// A moving mean of one input and the extremes it has reached.
#[derive(Debug)]
struct Track {
    width: usize,
    two_sided: bool,
    /// The last `width` inputs, a ring: `next` is the oldest once full.
    window: [f64; MAX_WIDTH],
    next: usize,
    filled: usize,
    sum: f64,
    /// The highest and lowest sums of a full window. The means are the
    /// sums over the width, a division that keeps their order, so the
    /// extreme means are these over the width: dividing only when a sum
    /// passes one (a division was a fifth of the detector's time).
    hi_sum: f64,
    lo_sum: f64,
    /// The same over the width, divided once when they are set.
    hi_mean: f64,
    lo_mean: f64,
    means: u64,
}

/// A record must beat the old extreme by more than this share of it.
const ROUNDING: f64 = 1e-12;

/// The widest moving mean.
const MAX_WIDTH: usize = 16;

impl Track {
    fn new(width: usize, two_sided: bool) -> Self {
        debug_assert!((1..=MAX_WIDTH).contains(&width));
        Self {
            width: width.clamp(1, MAX_WIDTH),
            two_sided,
            window: [0.0; MAX_WIDTH],
            next: 0,
            filled: 0,
            sum: 0.0,
            hi_sum: f64::NEG_INFINITY,
            lo_sum: f64::INFINITY,
            hi_mean: f64::NEG_INFINITY,
            lo_mean: f64::INFINITY,
            means: 0,
        }
    }

    /// Takes the next input; `−log10` of the probability of the record it
    /// sets (0 if none). Unless `SCORED` it only keeps the extremes, and
    /// answers 0. Inlined: it runs four to six times a sample, and as calls it
    /// was a fifth of `/api/v1/anomalies`.
    #[inline(always)]
    fn step<const SCORED: bool>(&mut self, x: f64) -> f64 {
        // The sum is updated as the old deque did it — add, then subtract
        // the input leaving — so every score stays the same to the bit.
        self.sum += x;
        let leaving = std::mem::replace(&mut self.window[self.next], x);
        self.next = if self.next + 1 == self.width { 0 } else { self.next + 1 };
        if self.filled == self.width {
            self.sum -= leaving;
        } else {
            self.filled += 1;
            if self.filled < self.width {
                return 0.0;
            }
        }
        self.means += 1;
        let (above, below) = (self.sum > self.hi_sum, self.sum < self.lo_sum);
        if !above && !below {
            return 0.0;
        }
        self.record::<SCORED>(above, below)
    }

    /// The sum of the last `width` inputs, once there are that many.
    fn full_sum(&self) -> Option<f64> {
        (self.filled == self.width).then_some(self.sum)
    }

    /// The new extreme the last mean set (above the highest, below the
    /// lowest, or both for the first): its improbability, and it is kept.
    /// Out of line: after a series' first hours, records are rare.
    #[cold]
    #[inline(never)]
    fn record<const SCORED: bool>(&mut self, above: bool, below: bool) -> f64 {
        let sum = self.sum;
        let mean = sum / self.width as f64;
        let (hi, lo) = (self.hi_mean, self.lo_mean);
        let mut improbability = 0.0;
        if SCORED && self.means > WARM_UP {
            improbability = improbability_of_record(mean, hi, lo, self.two_sided, self.means, 0.0);
        }
        if above {
            (self.hi_sum, self.hi_mean) = (sum, mean);
        }
        if below {
            (self.lo_sum, self.lo_mean) = (sum, mean);
        }
        improbability
    }
}

/// `−log10` of the probability that `x` beats the extremes `hi` and `lo`
/// (only `hi` unless `two_sided`) of `n` exchangeable moving means by as
/// much as it does: `1/n`, times `e^(−GAIN·x)` for a margin of `x` times
/// their range (or of `least_range` where that is wider); 0 when it beats
/// neither.
fn improbability_of_record(x: f64, hi: f64, lo: f64, two_sided: bool, n: u64, least_range: f64) -> f64 {
    let mut excess = x - hi;
    if two_sided {
        excess = excess.max(lo - x);
    }
    // Rounding is no record: a mean computed from other samples (minute
    // means of a constant series) may differ in its last bits.
    if excess > ROUNDING * hi.abs().max(lo.abs()) {
        let range = (hi - lo).max(least_range).max(1e-9);
        log10_of_count(n) + GAIN * (excess / range) / std::f64::consts::LN_10
    } else {
        0.0
    }
}

/// `log10(n)`, from a table computed once for the counts a stream of a
/// few weeks reaches (the same values; glibc's `log10` was 6 % of
/// `/api/v1/anomalies`).
fn log10_of_count(n: u64) -> f64 {
    const COUNTS: usize = 1 << 15;
    static TABLE: LazyLock<Box<[f64]>> = LazyLock::new(|| (0..COUNTS).map(|n| (n as f64).log10()).collect());
    usize::try_from(n).ok().and_then(|i| TABLE.get(i)).copied().unwrap_or_else(|| (n as f64).log10())
}

/// How far a value was from one season's norm, and whether that norm was
/// the prediction the detector went by.
#[derive(Debug, Clone, Copy)]
pub(super) struct SeasonalError {
    pub(super) error: f64,
    pub(super) trusted: bool,
    /// The sample's time.
    pub(super) at: i64,
}

/// The records of one series' values and prediction errors, and the
/// scores of its last [`QUIET_SAMPLES`] samples.
#[derive(Debug)]
pub(super) struct RecordScore {
    values: [Track; 3],
    error: Track,
    /// One per [`Season`](super::season::Season), in its order.
    season_errors: [Track; SEASONS],
    /// When each season's track took its first error.
    season_started: [Option<i64>; SEASONS],
    samples: u64,
    /// The range of [`RECENT_TRACK`]'s moving sums over the last few
    /// days, where a stream can hold that long (`None`: it cannot).
    recent: Option<RecentRange>,
    /// (sample number, score), decreasing scores: the front is the
    /// highest score of the quiet period (a monotone queue, O(1) a sample).
    quiet: VecDeque<(u64, f64)>,
}

impl RecordScore {
    /// Records for a stream that learns from at most `range` ms: the
    /// recent past's records only where that is longer than their span.
    pub(super) fn for_range(range: i64) -> Self {
        Self::with_recent(range > RECENT_SPAN_MS)
    }

    #[cfg(test)]
    pub(super) fn new() -> Self {
        Self::with_recent(true)
    }

    fn with_recent(recent: bool) -> Self {
        Self {
            values: VALUE_WIDTHS.map(|w| Track::new(w, true)),
            error: Track::new(ERROR_WIDTH, false),
            season_errors: std::array::from_fn(|_| Track::new(ERROR_WIDTH, false)),
            season_started: [None; SEASONS],
            samples: 0,
            recent: recent.then(RecentRange::default),
            quiet: VecDeque::new(),
        }
    }

    /// The score of the next value, given its prediction error (`None`
    /// for the first value, which has no prediction) and each season's
    /// norm's error where it exists. Unless `SCORED`, only learns from it
    /// and answers 0: a score depends on the records since the stream
    /// began, but on the scores of only the [`QUIET_SAMPLES`] samples
    /// before it ([`SCORES_LOOK_BACK`]), so the scores of samples no answer
    /// reads, and of none within that many before one, need not be worked
    /// out (the improbability of each record, the quiet period's queue).
    #[inline(always)]
    pub(super) fn step<const SCORED: bool>(
        &mut self,
        t: i64,
        value: f64,
        error: Option<f64>,
        seasons: &[Option<SeasonalError>; SEASONS],
    ) -> f64 {
        let mut improbability = self.values.iter_mut().map(|t| t.step::<SCORED>(value)).fold(0.0, f64::max);
        let recent_sum = self.values[RECENT_TRACK].full_sum().filter(|s| s.is_finite());
        if let (Some(recent), Some(sum)) = (self.recent.as_mut(), recent_sum) {
            match recent.step::<SCORED>(t, sum) {
                Some((hi, lo, n)) if n > RECENT_WARM_UP => {
                    let long_term = &self.values[RECENT_TRACK];
                    let floor = RECENT_RANGE_FLOOR * (long_term.hi_sum - long_term.lo_sum);
                    improbability = improbability.max(improbability_of_record(sum, hi, lo, true, n as u64, floor));
                }
                _ => {}
            }
        }
        if let Some(e) = error {
            improbability = improbability.max(self.error.step::<SCORED>(e));
        }
        for ((track, started), season) in self.season_errors.iter_mut().zip(&mut self.season_started).zip(seasons) {
            if let Some(SeasonalError { error, trusted, at }) = *season {
                let record = track.step::<SCORED>(error);
                let since = *started.get_or_insert(at);
                if trusted && at.saturating_sub(since) >= SEASONAL_WARM_UP_MS {
                    improbability = improbability.max(record);
                }
            }
        }
        let k = self.samples;
        self.samples += 1;
        if !SCORED {
            return 0.0;
        }
        // Most samples set no record. The improbability is never negative
        // or NaN (it starts at 0 and `f64::max` passes over a track's NaN,
        // possible for an infinite mean against extremes `f64::MAX` apart),
        // so this is the score the division gives, and a score of 0 is
        // never reported and never raises the quiet period's highest score:
        // the queue need not hold it.
        if improbability == 0.0 {
            return 0.0;
        }
        let score = (improbability / LOG10_FOR_FULL_SCORE).min(1.0);
        while self.quiet.front().is_some_and(|&(at, _)| at + (QUIET_SAMPLES as u64) < k) {
            self.quiet.pop_front();
        }
        let before = self.quiet.front().map_or(0.0, |&(_, s)| s);
        while self.quiet.back().is_some_and(|&(_, s)| s <= score) {
            self.quiet.pop_back();
        }
        self.quiet.push_back((k, score));
        if score > before {
            score
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: [Option<SeasonalError>; SEASONS] = [None; SEASONS];

    #[test]
    fn a_record_scores_by_its_margin_and_only_once() {
        let mut r = RecordScore::new();
        // 100 values cycling in [0, 10): no record after the first cycle.
        let mut scores: Vec<f64> = (0..100).map(|i| r.step::<true>(0, (i % 10) as f64, Some(1.0), &NONE)).collect();
        assert!(scores[30..].iter().all(|&s| s == 0.0), "{scores:?}");
        // A value far above everything: a full score, once.
        scores.push(r.step::<true>(0, 100.0, Some(1.0), &NONE));
        scores.push(r.step::<true>(0, 100.0, Some(1.0), &NONE));
        assert_eq!(scores[100], 1.0);
        assert_eq!(scores[101], 0.0, "the same record is not news twice");
        // Barely above the old maximum (9): about 1/n, a low score.
        let mut r = RecordScore::new();
        for i in 0..100 {
            r.step::<true>(0, (i % 10) as f64, Some(1.0), &NONE);
        }
        let barely = r.step::<true>(0, 9.09, Some(1.0), &NONE);
        assert!(barely > 0.0 && barely < 0.42, "{barely}");
    }

    /// The track as it was before it kept sums (a mean per step, its
    /// extremes as means), to hold the faster one to the same answers.
    struct MeanTrack {
        width: usize,
        two_sided: bool,
        window: VecDeque<f64>,
        sum: f64,
        hi: f64,
        lo: f64,
        means: u64,
    }

    impl MeanTrack {
        fn step(&mut self, x: f64) -> f64 {
            self.sum += x;
            self.window.push_back(x);
            if self.window.len() > self.width {
                self.sum -= self.window.pop_front().unwrap_or(0.0);
            } else if self.window.len() < self.width {
                return 0.0;
            }
            let mean = self.sum / self.width as f64;
            self.means += 1;
            let mut improbability = 0.0;
            if self.means > WARM_UP {
                let mut excess = mean - self.hi;
                if self.two_sided {
                    excess = excess.max(self.lo - mean);
                }
                if excess > ROUNDING * self.hi.abs().max(self.lo.abs()) {
                    let range = (self.hi - self.lo).max(1e-9);
                    improbability = (self.means as f64).log10() + GAIN * (excess / range) / std::f64::consts::LN_10;
                }
            }
            self.hi = self.hi.max(mean);
            self.lo = self.lo.min(mean);
            improbability
        }
    }

    proptest::proptest! {
        /// Keeping extreme sums instead of means changes no answer, to the
        /// bit, whatever the inputs (NaN, infinities, signed zeros, huge
        /// and tiny values, runs of equal ones).
        #[test]
        fn sums_answer_as_means_did(
            values in proptest::collection::vec(proptest::prop_oneof![
                4 => -1e3..1e3f64,
                2 => proptest::num::f64::ANY,
                1 => proptest::strategy::Just(0.0f64),
                1 => proptest::strategy::Just(-0.0f64),
                1 => proptest::strategy::Just(f64::INFINITY),
                1 => proptest::strategy::Just(f64::NEG_INFINITY),
                1 => proptest::strategy::Just(f64::NAN),
                1 => proptest::strategy::Just(5.0f64),
            ], 1..200),
            width in proptest::sample::select(vec![1usize, 4, 6, 16]),
            two_sided in proptest::bool::ANY,
        ) {
            let mut new = Track::new(width, two_sided);
            let mut old = MeanTrack {
                width, two_sided, window: VecDeque::new(), sum: 0.0, hi: f64::NEG_INFINITY, lo: f64::INFINITY, means: 0,
            };
            for (i, &x) in values.iter().enumerate() {
                let (a, b) = (new.step::<true>(x), old.step(x));
                proptest::prop_assert_eq!(a.to_bits(), b.to_bits(), "step {} of {:?}", i, values);
            }
        }
    }

    #[test]
    fn counts_have_their_exact_log10() {
        for n in [1u64, 2, 10, 1_000, 32_767, 32_768, 1 << 40] {
            assert_eq!(log10_of_count(n).to_bits(), (n as f64).log10().to_bits(), "{n}");
        }
    }

    #[test]
    fn the_quiet_period_ends() {
        let mut r = RecordScore::new();
        for i in 0..100 {
            r.step::<true>(0, (i % 10) as f64, None, &NONE);
        }
        assert_eq!(r.step::<true>(0, 50.0, None, &NONE), 1.0);
        for _ in 0..QUIET_SAMPLES {
            assert_eq!(r.step::<true>(0, 5.0, None, &NONE), 0.0);
        }
        // A record again, after the quiet period: reported.
        assert!(r.step::<true>(0, 1000.0, None, &NONE) > 0.0);
    }
}
