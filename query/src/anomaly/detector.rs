//! The online detector behind `anomaly_score`.

use pulsedb_model::Sample;

use super::record::{RecordScore, SeasonalError};
use super::season::{Season, DAY_MS, SEASONS};

/// A score at or above this counts as anomalous (the anomalies API and
/// the documentation's alert examples use it): the threshold NAB's
/// standard profile chooses on its 24 shared files for
/// `anomaly_score(x[7d])` (0.4203), rounded down. For `[28d]`, `pulsedb
/// nab`'s default, NAB chooses 0.3947; at 0.42 that range detects fewer
/// windows with fewer false positives (BENCHMARKS.md has both).
pub const ANOMALOUS: f64 = 0.42;

/// How quickly the level follows the series.
const LEVEL_RATE: f64 = 0.2;
/// How quickly the trend follows the level's changes.
const TREND_RATE: f64 = 0.005;
/// In a forecast, how long the trend carries on (ms): its share fades by
/// `e` every such span, so a ramp is extrapolated by about this much of
/// its slope at most, whatever the spacing of the samples (a series that
/// rose for an hour rarely rises for a day).
const TREND_FADES_IN: f64 = 3_600_000.0;
/// How quickly the error scale and predictor errors adapt.
const SCALE_RATE: f64 = 0.01;
/// Samples whose distance from their norm shifts a forecast.
const DEVIATION_SAMPLES: usize = 3;

/// Streaming state over one series' window.
#[derive(Debug)]
pub(crate) struct Detector {
    seen: usize,
    level: f64,
    /// The level's change per sample, averaged. Forecasts only: in the
    /// one-step prediction it cost more in noise on real series (NAB's)
    /// than it gained on ramps.
    trend: f64,
    /// Mean absolute error of each predictor: the level, and each
    /// [`Season`]'s norm (infinite until it has predicted).
    level_error: f64,
    season_errors: [f64; SEASONS],
    /// Robust scale of the chosen predictor's error (for bands).
    scale: f64,
    record: RecordScore,
}

impl Detector {
    /// A detector for any stream.
    pub(crate) fn new() -> Self {
        Self::for_range(i64::MAX)
    }

    /// A detector whose stream learns from at most `range` ms.
    pub(crate) fn for_range(range: i64) -> Self {
        Self {
            seen: 0,
            level: 0.0,
            trend: 0.0,
            level_error: 0.0,
            season_errors: [f64::INFINITY; SEASONS],
            scale: 0.0,
            record: RecordScore::for_range(range),
        }
    }

    /// [`Detector::step_as`] with the score worked out.
    #[cfg(test)]
    pub(crate) fn step(&mut self, samples: &[Sample], i: usize) -> (f64, Option<(f64, f64)>) {
        self.step_as::<true>(samples, i)
    }

    /// The score of `samples[i]` given `samples[..i]` (which this detector
    /// has already been fed), and what it expected of it (prediction and
    /// error scale, as [`Detector::expect`]); then learns from it. Unless
    /// `SCORED`, it learns alone and the score is 0: for samples whose
    /// scores no answer reads (see [`RecordScore::step`]).
    /// Inlined into the stream's loop: its answer came back through
    /// memory, read as one 16-byte load of two 8-byte stores.
    #[inline(always)]
    pub(crate) fn step_as<const SCORED: bool>(&mut self, samples: &[Sample], i: usize) -> (f64, Option<(f64, f64)>) {
        let Sample { t, v } = samples[i];
        if self.seen == 0 {
            if !v.is_finite() {
                return (0.0, None);
            }
            self.level = v;
            self.seen = 1;
            return (self.record.step::<SCORED>(t, v, None, &[None; SEASONS]), None);
        }
        let norms = Season::predictions(samples, i, t);
        let seasonal = self.best_norm(&norms);
        let expected = self.expectation(seasonal);
        if !v.is_finite() {
            return (0.0, Some(expected));
        }
        let error = (v - expected.0).abs();
        // Each season's error; the one gone by (if it beat the level) counts.
        let gone_by = seasonal.filter(|b| b.error < self.level_error).map(|b| b.season);
        let seasons = Season::ALL.map(|season| {
            norms[season.index()].map(|p| SeasonalError {
                error: (v - p).abs(),
                trusted: gone_by == Some(season),
                at: t,
            })
        });
        self.learn(v, error, &norms);
        (self.record.step::<SCORED>(t, v, Some(error), &seasons), Some(expected))
    }

    /// Moves every predictor's recent error, the error scale and the level on.
    fn learn(&mut self, v: f64, error: f64, norms: &[Option<f64>; SEASONS]) {
        self.level_error += SCALE_RATE * ((v - self.level).abs() - self.level_error);
        let level_error = self.level_error;
        for (season_error, norm) in self.season_errors.iter_mut().zip(norms) {
            if let Some(p) = norm {
                let e = (v - p).abs();
                // A season's first error may be luck (last week's norm is one
                // value): it starts no better than the level has done, and
                // must earn its trust.
                *season_error = if season_error.is_finite() {
                    *season_error + SCALE_RATE * (e - *season_error)
                } else {
                    e.max(level_error)
                };
            }
        }
        self.scale +=
            if self.seen < 10 { (error - self.scale) / self.seen as f64 } else { SCALE_RATE * (error - self.scale) };
        let before = self.level;
        self.level += LEVEL_RATE * (v - self.level);
        self.trend += TREND_RATE * (self.level - before - self.trend);
        self.seen += 1;
    }
}

impl Detector {
    /// The level `horizon` ms on, for samples `spacing` ms apart: where the
    /// series is now (the level trails a ramp by `(1 − rate) / rate`
    /// samples' worth of trend), then the trend, fading with time
    /// ([`TREND_FADES_IN`]).
    fn level_in(&self, horizon: f64, spacing: f64) -> f64 {
        let lag = (1.0 - LEVEL_RATE) / LEVEL_RATE;
        // The trend is per sample; over `horizon` it adds the integral of
        // its fading share, in samples.
        let ahead = TREND_FADES_IN / spacing * -(-horizon.max(0.0) / TREND_FADES_IN).exp_m1();
        let level = self.level + self.trend * (lag + ahead);
        if level.is_finite() {
            level
        } else {
            self.level
        }
    }

    /// Among the seasons with a norm here, the one that has erred less
    /// lately (the daily one on a tie).
    fn best_norm(&self, norms: &[Option<f64>; SEASONS]) -> Option<BestNorm> {
        Season::ALL
            .into_iter()
            .filter_map(|season| {
                let norm = norms[season.index()]?;
                Some(BestNorm { season, norm, error: self.season_errors[season.index()] })
            })
            .reduce(|best, other| if other.error < best.error { other } else { best })
    }

    /// The prediction for the next sample (the predictor that has erred
    /// less lately: the best seasonal norm when one exists and has, else
    /// the level) and the scale of its errors, floored so that a constant
    /// series never divides by zero and a change of a tiny fraction of the
    /// level is no surprise.
    fn expectation(&self, seasonal: Option<BestNorm>) -> (f64, f64) {
        let prediction = match seasonal {
            Some(best) if best.error < self.level_error => best.norm,
            _ => self.level,
        };
        let floor = 1e-3 * self.level.abs().max(1e-9);
        (prediction, self.scale.max(floor))
    }

    /// What the detector expects of `samples[i]` before seeing it (it has
    /// been fed `samples[..i]`): prediction and error scale.
    #[cfg(test)]
    pub(crate) fn expect(&self, samples: &[Sample], i: usize) -> Option<(f64, f64)> {
        let norms = Season::predictions(samples, i, samples[i].t);
        (self.seen > 0).then(|| self.expectation(self.best_norm(&norms)))
    }

    /// A forecast of the value `horizon` ms after the last of `samples`
    /// (all fed): the norm of the season that has erred less lately (the
    /// median of the same time on earlier days or weeks), shifted by how
    /// far the series now is from that norm (fading over a day), blended
    /// with the level carried on by its damped trend; that level alone
    /// without a seasonal norm; with the error scale.
    pub(crate) fn forecast(&self, samples: &[Sample], horizon: i64) -> Option<(f64, f64)> {
        let last = samples.last()?;
        if self.seen == 0 {
            return None;
        }
        let (_, scale) = self.expectation(None);
        let n = samples.len();
        let spacing = if n > 1 { (last.t - samples[n - 2].t).max(1) } else { return Some((self.level, scale)) };
        // The season that has erred less lately, among those with a norm
        // then and a prediction made already.
        let norms = Season::ALL.map(|s| s.norm_at(samples, n, last.t + horizon, last.t, spacing));
        let best = self.best_norm(&norms).filter(|b| b.error.is_finite());
        // The level forecast: the level carried on by its fading trend.
        let level = self.level_in(horizon as f64, spacing as f64);
        let Some(BestNorm { season, norm: then, error: es }) = best else { return Some((level, scale)) };
        // How far the last few samples are from their norm, on average.
        let recent = n.saturating_sub(DEVIATION_SAMPLES)..n;
        let deviations: Vec<f64> = recent
            .filter_map(|k| Some(samples[k].v - season.norm_at(samples, k, samples[k].t, samples[k].t, spacing)?))
            .filter(|d| d.is_finite())
            .collect();
        if deviations.is_empty() {
            return Some((level, scale));
        }
        let deviation = deviations.iter().sum::<f64>() / deviations.len() as f64;
        let seasonal = then + deviation * (-(horizon as f64) / DAY_MS as f64).exp();
        // Each forecaster weighted by the inverse square of its recent
        // error, as the level's share (half when both are exact), so that
        // no weight or weighted value can overflow.
        let el = self.level_error;
        let level_share = if es == 0.0 && el == 0.0 { 0.5 } else { es * es / (es * es + el * el) };
        let level_share = if level_share.is_finite() { level_share } else { 0.0 };
        let value = seasonal + level_share * (level - seasonal);
        Some((value, scale))
    }
}

/// The seasonal norm the detector would go by, if it beats the level.
#[derive(Clone, Copy, Debug)]
struct BestNorm {
    season: Season,
    norm: f64,
    /// Its season's recent mean absolute error.
    error: f64,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
#[path = "detector_tests.rs"]
mod tests;
