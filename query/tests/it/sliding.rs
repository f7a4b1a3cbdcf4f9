//! `max_over_time` and `min_over_time` over overlapping windows (`x[5m]`
//! at small steps, computed by a moving queue in a range query) answer at
//! every step exactly what an instant query at that step answers (one
//! window, Prometheus' fold), with offsets, `@`, NaN, signed zeros and
//! gaps in the data.
#![allow(clippy::unwrap_used)]

use crate::support::mem_querier::MemQuerier;
use proptest::prelude::*;
use pulsedb_model::Labels;
use pulsedb_query::{Engine, Value};

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-20i32..20).prop_map(f64::from),
        1 => Just(-0.0),
        1 => Just(0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn extremes_of_overlapping_windows_equal_instant_queries(
        rows in proptest::collection::vec((1i64..30, value()), 1..300),
        range_s in 1i64..120,
        step_s in 1i64..40,
        modifier in prop_oneof![Just(""), Just(" offset 17s"), Just(" offset -9s"), Just(" @ 100")],
        max in any::<bool>(),
    ) {
        let mut t = 0;
        let samples: Vec<(i64, f64)> = rows.iter().map(|&(gap, v)| { t += gap * 1000; (t, v) }).collect();
        let q = MemQuerier::default().with(Labels::metric("x", [("a", "b")]), samples.iter().copied());
        let engine = Engine::default();
        let query = format!("{}_over_time(x[{range_s}s]{modifier})", if max { "max" } else { "min" });
        let (start, end, step) = (0, t + 60_000, step_s * 1000);
        let Value::Matrix(m) = engine.range(&q, &query, start, end, step).unwrap() else { panic!("not a matrix") };
        let points: Vec<(i64, u64)> = m.first().map(|s| s.points.iter().map(|p| (p.t, p.v.to_bits())).collect()).unwrap_or_default();
        let mut at = start;
        let mut want = Vec::new();
        while at <= end {
            let Value::Vector(v) = engine.instant(&q, &query, at).unwrap() else { panic!("not a vector") };
            want.extend(v.first().map(|s| (at, s.v.to_bits())));
            at += step;
        }
        prop_assert_eq!(points, want, "{}", query);
    }
}
