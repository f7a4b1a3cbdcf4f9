//! The evaluator against an in-memory [`Querier`], inside the query crate
//! (no storage, no RocksDB): the resolution limit as Prometheus counts it,
//! the select hints the engine hands storage, and staleness.
#![allow(clippy::unwrap_used)]

use crate::support::mem_querier::MemQuerier;
use pulsedb_model::{Labels, Matcher, SelectHints, Series, StoreError, STALE_NAN};
use pulsedb_query::{Engine, Error, Querier, Value};

#[test]
fn resolution_limit_counts_intervals_as_prometheus_does() {
    let q = MemQuerier::default().with(Labels::metric("up", [("job", "a")]), [(0, 1.0)]);
    let engine = Engine::default();
    // 11,000 intervals (11,001 points) is the most Prometheus' API admits.
    assert!(engine.range(&q, "up", 0, 11_000_000, 1_000).is_ok());
    let err = engine.range(&q, "up", 0, 11_001_000, 1_000).unwrap_err();
    assert!(matches!(err, Error::BadParameters(_)), "{err}");
    assert!(err.to_string().contains("maximum resolution of 11,000 points"), "{err}");
}

#[test]
fn selects_carry_range_step_and_function_hints() {
    let q = MemQuerier::default().with(Labels::metric("reqs", [("job", "a")]), (0..=600).map(|i| (i * 1000, i as f64)));
    let engine = Engine::default();
    let Value::Matrix(m) = engine.range(&q, "rate(reqs[1m])", 120_000, 600_000, 60_000).unwrap() else {
        panic!("not a matrix")
    };
    assert_eq!(m.len(), 1);
    assert!(m[0].points.iter().all(|p| (p.v - 1.0).abs() < 1e-12), "{:?}", m[0].points);
    let hints = q.hints.lock().unwrap().clone();
    assert_eq!(hints.len(), 1);
    assert_eq!((hints[0].mint, hints[0].maxt), (60_000, 600_000));
    assert_eq!((hints[0].step, hints[0].range, hints[0].func), (60_000, 60_000, Some("rate")));
}

#[test]
fn a_staleness_marker_ends_the_series_at_once() {
    let q = MemQuerier::default()
        .with(Labels::metric("up", [("job", "a")]), [(0, 1.0), (10_000, 1.0), (20_000, f64::from_bits(STALE_NAN))]);
    let engine = Engine::default();
    let Value::Vector(v) = engine.instant(&q, "up", 15_000).unwrap() else { panic!("not a vector") };
    assert_eq!(v.len(), 1);
    let Value::Vector(v) = engine.instant(&q, "up", 25_000).unwrap() else { panic!("not a vector") };
    assert!(v.is_empty(), "stale after the marker, not 5 min later: {v:?}");
}

/// A querier whose selects of `slow` take 300 ms, so a 100 ms limit is
/// exceeded whatever the machine's speed.
struct SlowQuerier(MemQuerier);

impl Querier for SlowQuerier {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        if matchers.iter().any(|m| m.value() == "slow") {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        self.0.select(matchers, hints)
    }
}

#[test]
fn a_query_past_the_timeout_fails_and_the_engine_answers_the_next() {
    let q = SlowQuerier(
        MemQuerier::default()
            .with(Labels::metric("slow", [("job", "a")]), [(0, 1.0)])
            .with(Labels::metric("fast", [("job", "a")]), [(0, 2.0)]),
    );
    let mut options = pulsedb_query::EngineOptions::default();
    options.timeout = std::time::Duration::from_millis(100);
    let engine = Engine::new(options);
    let err = engine.instant(&q, "slow + 1", 0).unwrap_err();
    assert!(matches!(err, Error::Timeout { limit_ms: 100, .. }), "{err}");
    let Value::Vector(v) = engine.instant(&q, "fast", 0).unwrap() else { panic!("not a vector") };
    assert_eq!(v[0].v, 2.0);
}

#[test]
fn functions_refused_on_purpose_say_why() {
    for q in ["histogram_count(x)", "histogram_sum(x)", "histogram_fraction(0, 1, x)", "histogram_avg(x)", "info(x)"] {
        let err = pulsedb_query::parse(q).unwrap_err().to_string();
        assert!(err.contains("is not supported by pulsedb"), "{q}: {err}");
    }
    assert!(pulsedb_query::parse("histogram_count(x)").unwrap_err().to_string().contains("native histograms"));
    let err = pulsedb_query::parse("no_such_function(x)").unwrap_err().to_string();
    assert!(err.contains("unknown function with name \"no_such_function\""), "{err}");
}

/// A noisy daily rhythm with a quieter weekend and a level shift, at 5 min,
/// `n` samples (a week is 2,016).
fn anomaly_series(n: i64) -> Vec<(i64, f64)> {
    let mut rng = 7u64;
    (0..n)
        .map(|i| {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let noise = (rng >> 40) as f64 / (1u64 << 24) as f64;
            let weekday = (i / 288) % 7 < 5;
            let daily =
                (2.0 * std::f64::consts::PI * (i % 288) as f64 / 288.0).sin() * if weekday { 10.0 } else { 3.0 };
            let shift = if i > 1_500 { 25.0 } else { 0.0 };
            (i * 300_000, 50.0 + daily + noise + shift)
        })
        .collect()
}

/// Deleting every sample after T changes nothing at or before T, and an
/// instant query at T equals the range query's point at T, whatever the
/// range query's start; returns the range query's points.
fn assert_causal_and_the_same_however_asked(data: &[(i64, f64)], q: &str, steps: (i64, i64), cuts: &[i64]) -> Vec<f64> {
    let labels = Labels::metric("load", [("host", "a")]);
    let full = MemQuerier::default().with(labels.clone(), data.iter().copied());
    let engine = Engine::default();
    let step = 300_000;
    let (start, end) = (steps.0 * step, steps.1 * step);
    let Value::Matrix(m) = engine.range(&full, q, start, end, step).unwrap() else { panic!("not a matrix") };
    let points = &m[0].points;
    for &cut in cuts {
        let t = cut * step;
        let truncated = MemQuerier::default().with(labels.clone(), data.iter().copied().filter(|&(ts, _)| ts <= t));
        let Value::Matrix(cut_m) = engine.range(&truncated, q, start, t, step).unwrap() else { panic!() };
        let before: Vec<_> = points.iter().filter(|p| p.t <= t).map(|p| (p.t, p.v.to_bits())).collect();
        let after_cut: Vec<_> = cut_m[0].points.iter().map(|p| (p.t, p.v.to_bits())).collect();
        assert_eq!(before, after_cut, "{q}: cut at {t}");
        let Value::Vector(v) = engine.instant(&full, q, t).unwrap() else { panic!() };
        let at_t = points.iter().find(|p| p.t == t).unwrap().v;
        assert_eq!(v[0].v.to_bits(), at_t.to_bits(), "{q}: instant at {t}");
        let Value::Matrix(late) = engine.range(&full, q, t - 3 * step, t, step).unwrap() else { panic!() };
        assert_eq!(late[0].points.last().unwrap().v.to_bits(), at_t.to_bits(), "{q}: late start at {t}");
    }
    points.iter().map(|p| p.v).collect()
}

#[test]
fn anomaly_scores_are_causal_and_the_same_however_asked() {
    let data = anomaly_series(2_000);
    let scores = assert_causal_and_the_same_however_asked(
        &data,
        "anomaly_score(load[2d])",
        (900, 1_900),
        &[1_000, 1_501, 1_700],
    );
    assert!(scores.iter().all(|v| (0.0..=1.0).contains(v)), "scores outside [0, 1]");
    assert!(scores.iter().any(|&v| v >= pulsedb_query::ANOMALOUS), "the level shift was not flagged");
}

#[test]
fn weekly_norms_and_trends_stay_causal() {
    // Three weeks: with a range of 14 days, streams hold 7 to 14 days, so
    // the weekly norm predicts and forecasts carry a trend.
    let data = anomaly_series(3 * 2_016);
    let cuts = [4_100, 5_000, 6_000];
    for q in [
        "forecast(load[14d], 7200)",
        "anomaly_upper(load[14d], 3)",
        "anomaly_score(load[14d])",
        "anomaly_score(load[4d])",
    ] {
        let values = assert_causal_and_the_same_however_asked(&data, q, (4_032, 6_040), &cuts);
        assert!(values.iter().all(|v| v.is_finite()), "{q}: not finite");
    }
}

#[test]
fn a_counter_reset_is_no_anomaly_of_its_rate() {
    // A counter growing about 10 a minute for 3 days; the process restarts
    // on day 2 and counts from 0 again (its first sample after the restart
    // holds the minute's increments).
    let reset = 2 * 1_440;
    let mut rng = 11u64;
    let mut total = 0.0;
    let samples: Vec<(i64, f64)> = (0..3 * 1_440i64)
        .map(|m| {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let increments = 5.0 + (rng >> 60) as f64; // 5 to 20 requests a minute
            total = if m == reset { increments } else { total + increments };
            (m * 60_000, total)
        })
        .collect();
    let q = MemQuerier::default().with(Labels::metric("requests_total", [("job", "a")]), samples);
    let engine = Engine::default();
    let at = (reset + 5) * 60_000;
    let Value::Vector(v) = engine.instant(&q, "anomaly_max(rate(requests_total[5m])[2d:1m], 600)", at).unwrap() else {
        panic!("not a vector")
    };
    assert!(v[0].v < pulsedb_query::ANOMALOUS, "the reset scored {}", v[0].v);
    // The raw counter's drop is flagged: the rate is what handles the reset.
    let Value::Vector(raw) = engine.instant(&q, "anomaly_max(requests_total[2d], 600)", at).unwrap() else {
        panic!("not a vector")
    };
    assert!(raw[0].v >= pulsedb_query::ANOMALOUS, "the raw drop scored {}", raw[0].v);
}

#[test]
fn long_histories_are_learnt_from_minute_means_causally() {
    // Three days at 10 s: a daily rhythm, noise, and a level shift late on day 3.
    let mut rng = 3u64;
    let data: Vec<(i64, f64)> = (0..3 * 8_640i64)
        .map(|i| {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let noise = (rng >> 40) as f64 / (1u64 << 24) as f64;
            let daily = (2.0 * std::f64::consts::PI * (i % 8_640) as f64 / 8_640.0).sin() * 10.0;
            (i * 10_000, 50.0 + daily + noise + if i > 2 * 8_640 + 6_000 { 25.0 } else { 0.0 })
        })
        .collect();
    let labels = Labels::metric("load", [("host", "a")]);
    let full = MemQuerier::default().with(labels.clone(), data.iter().copied());
    let engine = Engine::default();
    let q = "anomaly_score(load[1d])";
    let (start, end, step) = (2 * 86_400_000, 3 * 86_400_000 - 60_000, 60_000);
    let Value::Matrix(m) = engine.range(&full, q, start, end, step).unwrap() else { panic!("not a matrix") };
    let points = &m[0].points;
    assert!(points.iter().any(|p| p.v >= pulsedb_query::ANOMALOUS), "the level shift was not flagged");
    // The model saw the minute means: the same answers from a series that holds only them.
    let samples: Vec<pulsedb_model::Sample> = data.iter().map(|&(t, v)| pulsedb_model::Sample::new(t, v)).collect();
    let means = pulsedb_model::window_means_of_samples(&samples, 60_000);
    let means = MemQuerier::default().with(labels.clone(), means.iter().map(|s| (s.t, s.v)));
    let Value::Matrix(of_means) = engine.range(&means, q, start, end, step).unwrap() else { panic!() };
    assert_eq!(&of_means[0].points, points);
    // Causal, and the same however asked, at cuts on and off the minute.
    for t in [start + 3_600_000, 2 * 86_400_000 + 6_010 * 10_000, end - 25_000] {
        let truncated = MemQuerier::default().with(labels.clone(), data.iter().copied().filter(|&(ts, _)| ts <= t));
        let Value::Vector(cut) = engine.instant(&truncated, q, t).unwrap() else { panic!() };
        let Value::Vector(v) = engine.instant(&full, q, t).unwrap() else { panic!() };
        assert_eq!(cut[0].v.to_bits(), v[0].v.to_bits(), "cut at {t}");
        let on_step = t - (t - start).rem_euclid(step);
        let Value::Vector(at_step) = engine.instant(&full, q, on_step).unwrap() else { panic!() };
        let in_range = points.iter().find(|p| p.t == on_step).unwrap();
        assert_eq!(at_step[0].v.to_bits(), in_range.v.to_bits(), "at {on_step}");
    }
}
