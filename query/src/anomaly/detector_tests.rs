//! Tests of the detector: its predictors, bands, forecasts and scores on
//! series whose answer is known (constant, shifted, daily, weekly, ramps).
#![allow(clippy::unwrap_used)]

use super::*;

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

/// The forecast `horizon` ms after the last of `samples`, and its error scale.
fn forecast_last(samples: &[Sample], horizon: i64) -> Option<(f64, f64)> {
    let mut d = Detector::new();
    for i in 0..samples.len() {
        d.step(samples, i);
    }
    d.forecast(samples, horizon)
}

/// The score of the last of `samples` (time order) given the ones before it.
fn score_last(samples: &[Sample]) -> Option<f64> {
    let mut d = Detector::new();
    let mut score = None;
    for i in 0..samples.len() {
        score = Some(d.step(samples, i).0);
    }
    score
}

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
    // Huge values too: the blend of the forecasters must not overflow.
    for v in [0.0, 5.0, -3.0, 1e300, -1e300] {
        let s = series(std::iter::repeat_n(v, 600));
        let (lo, hi) = band_last(&s, 3.0).unwrap();
        let (f, scale) = forecast_last(&s, 3_600_000).unwrap();
        assert!(lo.is_finite() && hi.is_finite() && lo <= v && v <= hi, "{lo} {hi}");
        assert!(f.is_finite() && scale.is_finite() && (f - v).abs() < 1e-9, "{f}");
    }
}

#[test]
fn huge_swings_and_far_horizons_stay_finite() {
    // Alternating ±1e300: differences near f64::MAX, errors as large.
    let s = series((0..600).map(|i| if i % 2 == 0 { 1e300 } else { -1e300 }));
    let (f, scale) = forecast_last(&s, 3_600_000).unwrap();
    assert!(f.is_finite() && scale.is_finite(), "{f} {scale}");
    // Ten days of a daily rhythm, forecast 30 years ahead: answered
    // from the nearest earlier days, without walking every day between.
    let per_day = 288;
    let s = series((0..per_day * 10).map(|i| (i % per_day) as f64));
    let (f, _) = forecast_last(&s, 1_000_000_000_000_000).unwrap();
    assert!(f.is_finite(), "{f}");
}

#[test]
fn a_new_season_earns_its_trust() {
    // A daily rhythm with noise: a week in, last week's value is the
    // weekly norm's first prediction. However lucky that first error,
    // the daily norm stays the one gone by.
    let per_day = 288;
    let s = series((0..per_day * 7 + 1).map(|i| (i % per_day) as f64 + ((i * 7919) % 13) as f64 / 13.0));
    let mut d = Detector::new();
    for i in 0..s.len() {
        d.step(&s, i);
    }
    let [daily, weekly] = d.season_errors;
    assert!(weekly.is_finite(), "the weekly norm has predicted once");
    assert!(weekly >= d.level_error && daily < weekly, "daily {daily}, weekly {weekly}, level {}", d.level_error);
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
fn a_flat_day_is_flagged_whatever_the_spacing() {
    // Hourly samples: the seasonal track's warm-up is a day of time, not a
    // count of samples (288 hourly samples would be 12 days).
    let mut rng = 5u64;
    let hourly: Vec<Sample> = (0..24 * 10)
        .map(|h| {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = ((rng >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 4.0;
            let v = if h / 24 == 8 {
                50.0
            } else if (8..18).contains(&(h % 24)) {
                80.0
            } else {
                20.0
            };
            Sample::new(h as i64 * 3_600_000, v + noise)
        })
        .collect();
    let mut d = Detector::new();
    let scores: Vec<f64> = (0..hourly.len()).map(|i| d.step(&hourly, i).0).collect();
    let flat = scores[24 * 8..24 * 9].iter().copied().fold(0.0, f64::max);
    let normal = scores[24 * 4..24 * 8].iter().copied().fold(0.0, f64::max);
    assert!(flat >= ANOMALOUS, "the flat day scored {flat}");
    assert!(normal < ANOMALOUS, "normal days scored {normal}");
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

/// A series that burst when its stream began and then stayed quiet for
/// days: a later, smaller burst sets no record since the stream began,
/// but leaves the range of the last three days, and is flagged; the quiet
/// days before it are not. Without the recent past's records (a stream
/// too short to hold their span) it goes unflagged.
#[test]
fn a_burst_smaller_than_an_old_one_is_flagged_after_quiet_days() {
    let mut rng = 7u64;
    let mut noise = || {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((rng >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    // 5 min samples: a burst to 1,000 in the first hours, five quiet days
    // around 10, then 100 for an hour.
    let quiet_until = 6 * 288;
    let values: Vec<f64> = (0..quiet_until + 12)
        .map(|i| match i {
            12..36 => 1_000.0 + 50.0 * noise(),
            i if i >= quiet_until => 100.0 + noise(),
            _ => 10.0 + noise(),
        })
        .collect();
    let s = series(values);
    let scores = |mut d: Detector| -> Vec<f64> { (0..s.len()).map(|i| d.step(&s, i).0).collect() };
    let with = scores(Detector::new());
    let quiet = with[300..quiet_until].iter().copied().fold(0.0, f64::max);
    let burst = with[quiet_until..].iter().copied().fold(0.0, f64::max);
    assert!(burst >= ANOMALOUS, "the burst scored {burst}");
    assert!(quiet < ANOMALOUS, "quiet days scored {quiet}");
    let without = scores(Detector::for_range(crate::anomaly::recent::RECENT_SPAN_MS));
    let burst = without[quiet_until..].iter().copied().fold(0.0, f64::max);
    assert!(burst < ANOMALOUS, "without the recent past the burst scored {burst}");
}

/// Scores of every sample of `s` from a detector for `range`.
fn scores_for_range(s: &[Sample], range: i64) -> Vec<f64> {
    let mut d = Detector::for_range(range);
    (0..s.len()).map(|i| d.step(s, i).0).collect()
}

/// A uniform draw in [−0.5, 0.5) from a seeded generator.
fn uniform(rng: &mut u64) -> f64 {
    *rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*rng >> 33) as f64 / (1u64 << 31) as f64) - 0.5
}

/// After a gap longer than the recent span, the span holds only the few
/// samples since: records among them are as certain as a stream's first
/// ones, and are not scored until the span's samples reach back over
/// most of it. Over the three days after a four-day gap, noise raises no
/// more alarms than the same noise with no gap (7 seeds of 100 against 8): scored
/// from the span's ninth sample on, it raised them on 46.
#[test]
fn a_long_gap_raises_no_more_alarms_than_no_gap() {
    const DAY: i64 = 86_400_000;
    let alarms = |gap: i64| {
        (1..=100u64)
            .filter(|&seed| {
                let mut rng = seed;
                let mut s: Vec<Sample> =
                    (0..5 * 288i64).map(|i| Sample::new(i * 300_000, 10.0 + uniform(&mut rng))).collect();
                let resume = s.last().map_or(0, |l| l.t) + gap + 300_000;
                s.extend((0..3 * 288i64).map(|i| Sample::new(resume + i * 300_000, 10.0 + uniform(&mut rng))));
                let scores = scores_for_range(&s, 28 * DAY);
                scores[5 * 288..].iter().any(|&v| v >= ANOMALOUS)
            })
            .count()
    };
    let (after_gap, no_gap) = (alarms(4 * DAY), alarms(0));
    assert!(after_gap <= no_gap + 3, "alarms after a gap on {after_gap} seeds of 100, without one on {no_gap}");
}

/// A series sampled once a day: three days hold three samples, never
/// enough to score against, so the recent past changes none of its scores.
#[test]
fn a_daily_series_scores_the_same_with_or_without_the_recent_past() {
    const DAY: i64 = 86_400_000;
    let mut rng = 5u64;
    let s: Vec<Sample> = (0..90i64).map(|d| Sample::new(d * DAY, 100.0 + 10.0 * uniform(&mut rng))).collect();
    let with = scores_for_range(&s, 90 * DAY);
    let without = scores_for_range(&s, crate::anomaly::recent::RECENT_SPAN_MS);
    assert_eq!(with, without);
}

/// Days of one value (a counter's rate of 0) make a recent range of 0:
/// it is scored against a tenth of the range the series has held since
/// its stream began, so a change of a hundredth of that is no anomaly,
/// while a return to half the old level is.
#[test]
fn a_small_change_after_flat_days_is_measured_against_the_series_own_range() {
    let seed = 9u64;
    let flat_from = 5 * 288;
    let flat_until = flat_from + 4 * 288;
    let values = |after: f64| -> Vec<f64> {
        let mut rng = seed;
        (0..flat_until + 12)
            .map(|i| match i {
                i if i < flat_from => 50.0 + 100.0 * uniform(&mut rng),
                i if i < flat_until => 0.0,
                _ => after,
            })
            .collect()
    };
    let range = 28 * 86_400_000;
    let small = scores_for_range(&series(values(1.0)), range);
    let small_max = small[flat_until..].iter().copied().fold(0.0, f64::max);
    assert!(small_max < ANOMALOUS, "a change of 1 in a range of 100 scored {small_max}");
    let half = scores_for_range(&series(values(50.0)), range);
    let half_max = half[flat_until..].iter().copied().fold(0.0, f64::max);
    assert!(half_max >= ANOMALOUS, "a return to half the old level scored {half_max}");
}
