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
