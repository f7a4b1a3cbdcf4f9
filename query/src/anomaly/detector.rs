//! The online detector behind `anomaly_score`.

use pulsedb_model::Sample;

use super::record::{RecordScore, SeasonalError};
use super::season::{Season, SEASONS};

/// A score at or above this counts as anomalous (the anomalies API and
/// the documentation's alert examples use it): the threshold NAB's
/// standard profile chooses on its 24 shared files (0.4203), rounded down.
pub const ANOMALOUS: f64 = 0.42;

const DAY_MS: i64 = 86_400_000;
/// How quickly the level follows the series.
const LEVEL_RATE: f64 = 0.2;
/// How quickly the trend follows the level's changes.
const TREND_RATE: f64 = 0.005;
/// In a forecast, the share of the trend each further sample keeps: a ramp
/// is extrapolated, but no further than about 1 / (1 − this) samples (a
/// series that rose for an hour rarely rises for a day).
const TREND_DAMPING: f64 = 0.9;
/// How quickly the error scale and predictor errors adapt.
const SCALE_RATE: f64 = 0.01;
/// Samples whose distance from their norm shifts a forecast.
const DEVIATION_SAMPLES: usize = 3;

/// Streaming state over one series' window.
#[derive(Debug)]
pub(crate) struct Detector {
    seen: usize,
    level: f64,
    /// The level's change per sample, averaged (for forecasts).
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
    pub(crate) fn new() -> Self {
        Self {
            seen: 0,
            level: 0.0,
            trend: 0.0,
            level_error: 0.0,
            season_errors: [f64::INFINITY; SEASONS],
            scale: 0.0,
            record: RecordScore::new(),
        }
    }

    /// The score of `samples[i]` given `samples[..i]` (which this detector
    /// has already been fed), and what it expected of it (prediction and
    /// error scale, as [`Detector::expect`]); then learns from it.
    pub(crate) fn step(&mut self, samples: &[Sample], i: usize) -> (f64, Option<(f64, f64)>) {
        let Sample { t, v } = samples[i];
        if self.seen == 0 {
            if !v.is_finite() {
                return (0.0, None);
            }
            self.level = v;
            self.seen = 1;
            return (self.record.step(v, None, &[None; SEASONS]), None);
        }
        let norms = Season::ALL.map(|season| season.prediction(samples, i, t));
        let seasonal = self.best_norm(&norms);
        let expected = self.expectation(seasonal);
        if !v.is_finite() {
            return (0.0, Some(expected));
        }
        let error = (v - expected.0).abs();
        // Each season's error; the one gone by (if it beat the level) counts.
        let gone_by = seasonal.filter(|b| b.error < self.level_error).map(|b| b.season);
        let seasons = Season::ALL.map(|season| {
            norms[season.index()].map(|p| SeasonalError { error: (v - p).abs(), trusted: gone_by == Some(season) })
        });
        self.learn(v, error, &norms);
        (self.record.step(v, Some(error), &seasons), Some(expected))
    }

    /// Moves every predictor's recent error, the error scale and the level on.
    fn learn(&mut self, v: f64, error: f64, norms: &[Option<f64>; SEASONS]) {
        self.level_error += SCALE_RATE * ((v - self.next_level()).abs() - self.level_error);
        for (season_error, norm) in self.season_errors.iter_mut().zip(norms) {
            if let Some(p) = norm {
                let e = (v - p).abs();
                *season_error =
                    if season_error.is_finite() { *season_error + SCALE_RATE * (e - *season_error) } else { e };
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
    /// The level as a one-step prediction: without the trend, which on
    /// real series (NAB's) costs more in noise than it gains on ramps.
    fn next_level(&self) -> f64 {
        self.level
    }

    /// The level `steps` samples on: where the series is now (the level
    /// trails a ramp by `(1 − rate) / rate` samples' worth of trend), then
    /// the trend, damped at each further sample.
    fn level_in(&self, steps: f64) -> f64 {
        let d = TREND_DAMPING;
        let lag = (1.0 - LEVEL_RATE) / LEVEL_RATE;
        self.level + self.trend * (lag + d * (1.0 - d.powf(steps.max(0.0))) / (1.0 - d))
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
            _ => self.next_level(),
        };
        let floor = 1e-3 * self.level.abs().max(1e-9);
        (prediction, self.scale.max(floor))
    }

    /// What the detector expects of `samples[i]` before seeing it (it has
    /// been fed `samples[..i]`): prediction and error scale.
    #[cfg(test)]
    pub(crate) fn expect(&self, samples: &[Sample], i: usize) -> Option<(f64, f64)> {
        let norms = Season::ALL.map(|season| season.prediction(samples, i, samples[i].t));
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
        // The season that has erred less lately, among those with a norm then.
        let season = Season::ALL
            .into_iter()
            .filter(|s| self.season_errors[s.index()].is_finite())
            .filter_map(|s| Some((s, s.norm_at(samples, n, last.t + horizon, last.t, spacing)?)))
            .min_by(|a, b| self.season_errors[a.0.index()].total_cmp(&self.season_errors[b.0.index()]));
        // The level forecast: the level and its damped trend, as many
        // samples on as the horizon spans.
        let level = self.level_in(horizon as f64 / spacing as f64);
        let Some((season, then)) = season else { return Some((level, scale)) };
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
        // Each forecaster weighted by the inverse square of its recent error.
        let (ws, wl) =
            (1.0 / self.season_errors[season.index()].max(1e-12).powi(2), 1.0 / self.level_error.max(1e-12).powi(2));
        let value = (ws * seasonal + wl * level) / (ws + wl);
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
/// The band the detector expected the last of `samples` in, given the ones
/// before it: prediction ± `width` error scales.
fn band_last(samples: &[Sample], width: f64) -> Option<(f64, f64)> {
    let last = samples.len().checked_sub(1)?;
    let mut d = Detector::new();
    for i in 0..last {
        d.step(samples, i);
    }
    let (prediction, scale) = d.expect(samples, last)?;
    Some((prediction - width * scale, prediction + width * scale))
}

#[cfg(test)]
/// The forecast `horizon` ms after the last of `samples`, and its error scale.
fn forecast_last(samples: &[Sample], horizon: i64) -> Option<(f64, f64)> {
    let mut d = Detector::new();
    for i in 0..samples.len() {
        d.step(samples, i);
    }
    d.forecast(samples, horizon)
}

#[cfg(test)]
/// The score of the last of `samples` (time order) given the ones before it.
fn score_last(samples: &[Sample]) -> Option<f64> {
    let mut d = Detector::new();
    let mut score = None;
    for i in 0..samples.len() {
        score = Some(d.step(samples, i).0);
    }
    score
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn series(values: impl IntoIterator<Item = f64>) -> Vec<Sample> {
        values.into_iter().enumerate().map(|(i, v)| Sample::new(i as i64 * 300_000, v)).collect()
    }

    #[test]
    fn a_constant_series_never_scores_high_or_nan() {
        let s = series(std::iter::repeat_n(5.0, 500));
        let mut d = Detector::new();
        for i in 0..s.len() {
            let score = d.step(&s, i).0;
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
        let scores: Vec<f64> = (0..s.len()).map(|i| d.step(&s, i).0).collect();
        let before = scores[100..500].iter().copied().fold(0.0, f64::max);
        let after = scores[500..505].iter().copied().fold(0.0, f64::max);
        assert!(after >= ANOMALOUS, "shift scored {after}");
        assert!(before < ANOMALOUS, "noise scored {before}");
    }

    #[test]
    fn bands_and_forecasts_follow_a_daily_rhythm() {
        let per_day = 288;
        let wave = |i: usize| 50.0 + 40.0 * (2.0 * std::f64::consts::PI * (i % per_day) as f64 / per_day as f64).sin();
        let s = series((0..per_day * 8).map(wave));
        // The band for the last sample contains it, and is narrow.
        let (lo, hi) = band_last(&s, 3.0).unwrap();
        let last = s.last().unwrap().v;
        assert!(lo <= last && last <= hi, "{lo} {last} {hi}");
        assert!(hi - lo < 10.0, "band {lo}..{hi}");
        // An hour ahead (12 samples): the seasonal forecast, not the level.
        let (f, _) = forecast_last(&s, 3_600_000).unwrap();
        let truth = wave(per_day * 8 - 1 + 12);
        assert!((f - truth).abs() < 2.0, "forecast {f}, truth {truth}");
    }

    #[test]
    fn a_ramp_is_followed_and_extrapolated() {
        // A disk filling at one unit per 5 min, for three days.
        let s = series((0..864).map(|i| 1000.0 + i as f64));
        let last = s.last().unwrap().v;
        let (lo, hi) = band_last(&s, 3.0).unwrap();
        assert!(lo <= last && last <= hi, "band {lo}..{hi} for {last}");
        // An hour ahead (12 samples): above the last value, by a damped
        // share of the 12 the ramp will add (the level alone trails the
        // ramp by 4 samples' worth: a forecast of it would be below).
        let (f, _) = forecast_last(&s, 3_600_000).unwrap();
        assert!(f > last + 5.0 && f <= last + 12.0, "forecast {f} after {last}");
    }

    #[test]
    fn flat_series_give_finite_bands_and_forecasts() {
        for v in [0.0, 5.0, -3.0] {
            let s = series(std::iter::repeat_n(v, 600));
            let (lo, hi) = band_last(&s, 3.0).unwrap();
            let (f, scale) = forecast_last(&s, 3_600_000).unwrap();
            assert!(lo.is_finite() && hi.is_finite() && lo <= v && v <= hi, "{lo} {hi}");
            assert!(f.is_finite() && scale.is_finite() && (f - v).abs() < 1e-9, "{f}");
        }
    }

    /// A workday rhythm (high from 8:00 to 18:00) with noise, 5 min
    /// samples, `days` long; `change` rewrites the samples of day 8.
    fn workdays(days: usize, change: impl Fn(usize, f64) -> f64) -> Vec<Sample> {
        let per_day = 288;
        let mut rng = 7u64;
        let values = (0..per_day * days).map(|i| {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = ((rng >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 4.0;
            let busy = (96..216).contains(&(i % per_day));
            let v = if busy { 80.0 } else { 20.0 } + noise;
            if i / per_day == 8 {
                change(i % per_day, v)
            } else {
                v
            }
        });
        series(values)
    }

    /// The highest score during normal days 3 to 7, and during day 8 up to
    /// the end of its first two busy hours.
    fn normal_and_changed(s: &[Sample]) -> (f64, f64) {
        let mut d = Detector::new();
        let scores: Vec<f64> = (0..s.len()).map(|i| d.step(s, i).0).collect();
        let max = |r: std::ops::Range<usize>| scores[r].iter().copied().fold(0.0, f64::max);
        (max(288 * 3..288 * 8), max(288 * 8..288 * 8 + 120))
    }

    #[test]
    fn a_daily_rhythm_that_goes_flat_or_loses_its_peak_is_flagged() {
        // Values stay within the usual range, at the wrong time of day:
        // only the seasonal prediction's error tells.
        let flat = workdays(10, |_, v| 50.0 + (v - v.round()));
        let no_peak = workdays(10, |_, v| if v > 50.0 { v - 30.0 } else { v });
        for (name, s) in [("flat", flat), ("no peak", no_peak)] {
            let (normal, changed) = normal_and_changed(&s);
            assert!(changed >= ANOMALOUS, "{name}: the change scored {changed}");
            assert!(normal < ANOMALOUS, "{name}: normal days scored {normal}");
        }
        let (normal, unchanged) = normal_and_changed(&workdays(10, |_, v| v));
        assert!(normal.max(unchanged) < ANOMALOUS, "the rhythm itself scored {normal} {unchanged}");
    }

    /// Five weeks at 15 min of office traffic: busy from 8:00 to 18:00 on
    /// weekdays, quiet on weekends (day 0 is a Monday); `change` rewrites
    /// the samples of day 30 (a Wednesday).
    fn office_weeks(change: impl Fn(f64) -> f64) -> Vec<Sample> {
        let per_day = 96;
        let mut rng = 11u64;
        let values = (0..per_day * 35).map(|i| {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = ((rng >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 4.0;
            let (day, slot) = (i / per_day, i % per_day);
            let busy = day % 7 < 5 && (32..72).contains(&slot);
            let v = if busy { 80.0 } else { 20.0 } + noise;
            if day == 30 {
                change(v)
            } else {
                v
            }
        });
        (0..).zip(values).map(|(i, v)| Sample::new(i * 900_000, v)).collect()
    }

    #[test]
    fn a_weekly_rhythm_is_learnt() {
        let s = office_weeks(|v| v);
        // Saturday of week 4 (day 26), 9:00: forecast 10:00 from the samples up to 9:00.
        let nine = 26 * 96 + 36;
        let (f, _) = forecast_last(&s[..=nine], 3_600_000).unwrap();
        assert!((f - 20.0).abs() < 5.0, "Saturday forecast {f}: a weekday's, not last Saturday's");
        // Its band at 10:00 holds the quiet value, and is narrow.
        let (lo, hi) = band_last(&s[..=nine + 4], 3.0).unwrap();
        assert!(lo <= 20.0 && 20.0 <= hi && hi - lo < 20.0, "band {lo}..{hi}");
        // Weekends are no anomaly once a week is known.
        let mut d = Detector::new();
        let scores: Vec<f64> = (0..s.len()).map(|i| d.step(&s, i).0).collect();
        let late = scores[96 * 14..].iter().copied().fold(0.0, f64::max);
        assert!(late < ANOMALOUS, "the weekly rhythm scored {late}");
    }

    #[test]
    fn a_workday_without_its_busy_hours_is_flagged_once_weeks_are_learnt() {
        // Quiet all Wednesday, as on a weekend: normal for the time of day
        // on two of the last seven days, not for a Wednesday.
        let s = office_weeks(|v| if v > 50.0 { v - 60.0 } else { v });
        let mut d = Detector::new();
        let scores: Vec<f64> = (0..s.len()).map(|i| d.step(&s, i).0).collect();
        let wednesday = scores[96 * 30..96 * 31].iter().copied().fold(0.0, f64::max);
        assert!(wednesday >= ANOMALOUS, "a quiet Wednesday scored {wednesday}");
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
        let scores: Vec<f64> = (0..s.len()).map(|i| d.step(&s, i).0).collect();
        let late = scores[per_day * 3..].iter().copied().fold(0.0, f64::max);
        assert!(late < ANOMALOUS, "seasonal series scored {late}");
    }
}
