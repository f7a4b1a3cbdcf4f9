//! The online detector behind `anomaly_score`.

use pulsedb_model::Sample;

/// A score at or above this counts as anomalous (the anomalies API and
/// the documentation's alert examples use it): the threshold NAB's
/// standard profile chooses on its 24 shared files (0.7345), rounded down.
pub const ANOMALOUS: f64 = 0.73;

const DAY_MS: i64 = 86_400_000;
/// How quickly the level follows the series.
const LEVEL_RATE: f64 = 0.2;
/// How quickly the error scale and predictor errors adapt.
const SCALE_RATE: f64 = 0.01;
/// Samples in the short-term mean of surprise.
const SHORT: usize = 6;
/// How quickly the long-term distribution of surprise adapts.
const LONG_RATE: f64 = 0.002;
/// Samples before any score other than 0.
const WARM_UP: usize = 24;
/// How fast novelty (a value beyond the window's range, as a share of it) saturates.
const NOVELTY_GAIN: f64 = 20.0;
/// A score that counts as a report, after which scores are damped…
const REPORT: f64 = 0.9;
/// …for this many samples…
const QUIET_SAMPLES: usize = 150;
/// …by this factor.
const QUIET_DAMPING: f64 = 0.3;
/// Earlier days the seasonal predictor looks at.
const SEASON_DAYS: i64 = 7;

/// Streaming state over one series' window.
#[derive(Debug)]
pub(crate) struct Detector {
    seen: usize,
    level: f64,
    /// Mean absolute error of each predictor (level, seasonal).
    level_error: f64,
    seasonal_error: f64,
    /// Robust scale of the chosen predictor's error.
    scale: f64,
    recent: std::collections::VecDeque<f64>,
    recent_sum: f64,
    long_mean: f64,
    long_var: f64,
    /// The highest and lowest values seen so far in the window.
    hi: f64,
    lo: f64,
    /// No full score before this many samples (after a report).
    quiet_until: usize,
}

impl Detector {
    pub(crate) fn new() -> Self {
        Self {
            seen: 0,
            level: 0.0,
            level_error: 0.0,
            seasonal_error: f64::INFINITY,
            scale: 0.0,
            recent: std::collections::VecDeque::with_capacity(SHORT),
            recent_sum: 0.0,
            long_mean: 0.0,
            long_var: 0.0,
            hi: f64::NEG_INFINITY,
            lo: f64::INFINITY,
            quiet_until: 0,
        }
    }

    /// The score of `samples[i]` given `samples[..i]` (which this detector
    /// has already been fed), then learns from it.
    pub(crate) fn step(&mut self, samples: &[Sample], i: usize) -> f64 {
        let Sample { t, v } = samples[i];
        if !v.is_finite() {
            return 0.0;
        }
        if self.seen == 0 {
            self.level = v;
            self.seen = 1;
            return 0.0;
        }
        let seasonal = seasonal_prediction(samples, i, t);
        let level_err = (v - self.level).abs();
        let seasonal_err = seasonal.map(|p| (v - p).abs());
        // The predictor that has erred less lately makes the prediction.
        let use_seasonal = seasonal.is_some() && self.seasonal_error < self.level_error;
        let error = if use_seasonal { seasonal_err.unwrap_or(level_err) } else { level_err };
        // A floor on the scale: a constant series never divides by zero,
        // and a change of a tiny fraction of its level is no surprise.
        let floor = 1e-3 * self.level.abs().max(1e-9);
        let scale = self.scale.max(floor);
        let surprise = if self.seen < 2 { 0.0 } else { (error / scale).min(1e3) };

        // Learn.
        self.level_error += SCALE_RATE * (level_err - self.level_error);
        if let Some(e) = seasonal_err {
            self.seasonal_error = if self.seasonal_error.is_finite() {
                self.seasonal_error + SCALE_RATE * (e - self.seasonal_error)
            } else {
                e
            };
        }
        self.scale +=
            if self.seen < 10 { (error - self.scale) / self.seen as f64 } else { SCALE_RATE * (error - self.scale) };
        self.level += LEVEL_RATE * (v - self.level);
        self.seen += 1;

        // Short-term mean of surprise against its long-term distribution.
        self.recent.push_back(surprise);
        self.recent_sum += surprise;
        if self.recent.len() > SHORT {
            self.recent_sum -= self.recent.pop_front().unwrap_or(0.0);
        }
        let short = self.recent_sum / self.recent.len() as f64;
        let deviation = short - self.long_mean;
        let spread = self.long_var.sqrt().max(1e-3);
        let mut score = if self.seen < WARM_UP { 0.0 } else { unlikeliness(deviation / spread) };
        let delta = surprise - self.long_mean;
        self.long_mean += LONG_RATE * delta;
        self.long_var = (1.0 - LONG_RATE) * (self.long_var + LONG_RATE * delta * delta);
        // Novelty: a value beyond everything the window has seen, by a share
        // of the range it has seen.
        if self.seen >= WARM_UP {
            let range = (self.hi - self.lo).max(1e-9);
            let exceed = (v - self.hi).max(self.lo - v).max(0.0) / range;
            score = score.max(1.0 - (-NOVELTY_GAIN * exceed).exp());
        }
        self.hi = self.hi.max(v);
        self.lo = self.lo.min(v);
        // Once it has reported, the detector stays quieter for a while: an
        // incident is one event, not a run of alerts.
        if self.seen < self.quiet_until {
            score *= QUIET_DAMPING;
        } else if score >= REPORT {
            self.quiet_until = self.seen + QUIET_SAMPLES;
        }
        score
    }
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

/// The median of the values at the same time of day on up to
/// [`SEASON_DAYS`] earlier days within the window, if at least two exist.
fn seasonal_prediction(samples: &[Sample], i: usize, t: i64) -> Option<f64> {
    let mut values = [0.0; SEASON_DAYS as usize];
    let mut n = 0;
    let spacing = if i > 0 { (t - samples[i - 1].t).max(1) } else { return None };
    for day in 1..=SEASON_DAYS {
        let target = t - day * DAY_MS;
        if samples[0].t > target {
            break;
        }
        let j = samples[..i].partition_point(|s| s.t < target);
        let nearest = [j.checked_sub(1), Some(j)]
            .into_iter()
            .flatten()
            .filter(|&k| k < i)
            .min_by_key(|&k| (samples[k].t - target).abs());
        if let Some(k) = nearest.filter(|&k| (samples[k].t - target).abs() <= spacing) {
            if samples[k].v.is_finite() {
                values[n] = samples[k].v;
                n += 1;
            }
        }
    }
    if n < 2 {
        return None;
    }
    let values = &mut values[..n];
    values.sort_by(f64::total_cmp);
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

/// How unlikely a standard normal value of at least `z` is, as a score in
/// [0, 1]: `-log10` of the upper tail probability, over 10 (a one-in-ten-
/// billion run scores 1). Working in logs keeps distinct scores far into
/// the tail, where a plain probability would round to 1 and leave the
/// threshold nothing to choose between.
fn unlikeliness(z: f64) -> f64 {
    if z <= 0.0 {
        return 0.0;
    }
    // erfc(x) ≈ t·P(t)·exp(-x²) (Abramowitz–Stegun 7.1.26), in logs.
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let ln_tail = (0.5 * poly).ln() - x * x;
    (-ln_tail / std::f64::consts::LN_10 / 10.0).clamp(0.0, 1.0)
}

/// The score of the last of `samples` (time order) given the ones before it.
pub(crate) fn score_last(samples: &[Sample]) -> Option<f64> {
    let mut d = Detector::new();
    let mut score = None;
    for i in 0..samples.len() {
        score = Some(d.step(samples, i));
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: impl IntoIterator<Item = f64>) -> Vec<Sample> {
        values.into_iter().enumerate().map(|(i, v)| Sample::new(i as i64 * 300_000, v)).collect()
    }

    #[test]
    fn a_constant_series_never_scores_high_or_nan() {
        let s = series(std::iter::repeat_n(5.0, 500));
        let mut d = Detector::new();
        for i in 0..s.len() {
            let score = d.step(&s, i);
            assert!(score.is_finite() && score < 0.6, "{i}: {score}");
        }
        let zeros = series(std::iter::repeat_n(0.0, 300));
        assert!(score_last(&zeros).is_some_and(|x| x.is_finite() && x < 0.6));
    }

    #[test]
    fn a_level_shift_is_flagged_within_a_few_points() {
        let mut rng = 1u64;
        let mut noise = || {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((rng >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let values: Vec<f64> = (0..600).map(|i| if i < 500 { 10.0 + noise() } else { 20.0 + noise() }).collect();
        let s = series(values);
        let mut d = Detector::new();
        let scores: Vec<f64> = (0..s.len()).map(|i| d.step(&s, i)).collect();
        let before = scores[100..500].iter().copied().fold(0.0, f64::max);
        let after = scores[500..505].iter().copied().fold(0.0, f64::max);
        assert!(after >= ANOMALOUS, "shift scored {after}");
        assert!(before < ANOMALOUS, "noise scored {before}");
    }

    #[test]
    fn daily_seasonality_is_not_an_anomaly() {
        // 10 days at 5 min of a daily sine: after the first days, the
        // seasonal predictor explains it.
        let per_day = 288;
        let values: Vec<f64> = (0..per_day * 10)
            .map(|i| 50.0 + 40.0 * (2.0 * std::f64::consts::PI * (i % per_day) as f64 / per_day as f64).sin())
            .collect();
        let s = series(values);
        let mut d = Detector::new();
        let scores: Vec<f64> = (0..s.len()).map(|i| d.step(&s, i)).collect();
        let late = scores[per_day * 3..].iter().copied().fold(0.0, f64::max);
        assert!(late < ANOMALOUS, "seasonal series scored {late}");
    }
}
