//! Property test of the newest-sample reads: instant selectors and
//! `last_over_time` at one evaluation time ask storage for each series'
//! newest sample only ([`pulsedb::SelectHints::newest`]); on random data
//! (NaN, staleness markers, gaps, part in blocks and part in the head,
//! deleted ranges, a restart) the answers are exactly those of a store that
//! reads every sample.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use pulsedb::{Db, Engine, Matcher, Querier, SelectHints, Series, StoreError, Value};

use super::rollups_vs_raw::loaded;

const HOUR: i64 = 3_600_000;

/// Delegates to the database with the newest-sample hint taken away.
pub(crate) struct AllSamples<'a>(pub(crate) &'a Db);

impl Querier for AllSamples<'_> {
    fn select(&self, m: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        let mut hints = hints.clone();
        hints.newest = None;
        Querier::select(self.0, m, &hints)
    }
}

/// Each query at each time answers through the newest-sample reads exactly
/// as through full reads (`context` names the data in a failure).
pub(crate) fn assert_newest_reads_match_full_reads(db: &Db, times: &[i64], queries: &[&str], context: &str) {
    let engine = Engine::default();
    for &t in times {
        for q in queries {
            let expr = pulsedb::parse_query(q).unwrap();
            let a = engine.instant_expr(db, &expr, t).unwrap();
            let b = engine.instant_expr(&AllSamples(db), &expr, t).unwrap();
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{q} at {t}, {context}");
        }
    }
}

/// The aggregations folded from each series' newest sample (one group,
/// over a selector, at one step) answer as the general aggregation does
/// (reached through `* 1`, which changes no value), bit for bit.
fn compare_folds(db: &Db, times: &[i64]) -> Result<(), TestCaseError> {
    let engine = Engine::default();
    let selectors = ["{__name__=~\".+\"}", "temperature", "requests_total offset 30m", "temperature @ 10000"];
    for &t in times {
        for op in ["count", "sum", "avg", "min", "max", "group", "stddev", "stdvar"] {
            for selector in selectors {
                let [folded, general] = [format!("{op}({selector})"), format!("{op}(({selector}) * 1)")]
                    .map(|q| engine.instant_expr(db, &pulsedb::parse_query(&q).unwrap(), t).unwrap());
                prop_assert_eq!(format!("{folded:?}"), format!("{general:?}"), "{}({}) at {}", op, selector, t);
            }
        }
    }
    Ok(())
}

/// Answers of every query at every time through both queriers, bit for bit.
fn compare_all(db: &Db, times: &[i64]) -> Result<usize, TestCaseError> {
    let engine = Engine::default();
    let mut compared = 0;
    let queries = [
        "{__name__=~\".+\"}",
        "timestamp({__name__=~\".+\"})",
        "last_over_time({__name__=~\".+\"}[10m])",
        "last_over_time(requests_total[1h])",
        "temperature offset 30m",
        "last_over_time(temperature[3h] @ 20000)",
        "max_over_time(temperature[10m])",
        // Folded from each series' newest sample (`Querier::select_newest`).
        "count({__name__=~\".+\"})",
        "sum(temperature)",
        "avg((requests_total offset 30m))",
        "stddev(temperature)",
        "min(temperature @ 10000)",
        "group(requests_total)",
    ];
    for &t in times {
        for q in queries {
            let expr = pulsedb::parse_query(q).unwrap();
            let (Value::Vector(mut a), Value::Vector(mut b)) =
                (engine.instant_expr(db, &expr, t).unwrap(), engine.instant_expr(&AllSamples(db), &expr, t).unwrap())
            else {
                return Err(TestCaseError::fail(format!("{q}: not vectors")));
            };
            a.sort_by(|x, y| x.labels.cmp(&y.labels));
            b.sort_by(|x, y| x.labels.cmp(&y.labels));
            let bits = |v: &[pulsedb::InstantSample]| -> Vec<(String, i64, u64)> {
                v.iter().map(|s| (s.labels.to_string(), s.t, s.v.to_bits())).collect()
            };
            prop_assert_eq!(bits(&a), bits(&b), "{} at {}", q, t);
            compared += a.len();
        }
    }
    Ok(compared)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(12), ..ProptestConfig::default() })]

    #[test]
    fn newest_sample_reads_match_full_reads(seed in any::<u64>(), cut in 0i64..HOUR) {
        let (dir, db) = loaded(seed);
        // Times in blocks, at the head's edge, in the head, after the data.
        let times: Vec<i64> = [HOUR, 2 * HOUR - 1, 4 * HOUR, 4 * HOUR + cut, 6 * HOUR + cut, 7 * HOUR + cut, 8 * HOUR]
            .into_iter()
            .chain((0..20).map(|i| i * 1_234_567 % (8 * HOUR)))
            .collect();
        let mut compared = compare_all(&db, &times)?;
        compare_folds(&db, &times)?;
        // Deleted ranges, then a restart (head chunks without summaries).
        let all = [Matcher::new(pulsedb::MatchOp::RegexMatch, "__name__", ".+").unwrap()];
        db.delete_series(&all, 5 * HOUR + cut, 6 * HOUR).unwrap();
        compared += compare_all(&db, &times)?;
        compare_folds(&db, &times)?;
        db.close().unwrap();
        let mut options = pulsedb::Options::default();
        options.background_maintenance = false;
        options.retention = std::time::Duration::ZERO;
        let db = Db::open(dir.path(), options).unwrap();
        compared += compare_all(&db, &times)?;
        prop_assert!(compared > 200, "only {} samples compared", compared);
    }
}

/// The newest-sample reads count, against the sample limit, the samples
/// they read: one per series, not the series once for the head and again
/// for the blocks.
#[test]
fn newest_reads_count_one_sample_per_series() {
    let (_dir, db) = loaded(3);
    let all = [Matcher::new(pulsedb::MatchOp::RegexMatch, "__name__", ".+").unwrap()];
    let mut hints = SelectHints::range(0, 7 * HOUR);
    hints.newest = Some(pulsedb::Newest::Any);
    let series = Querier::select(&db, &all, &hints).unwrap();
    let read: usize = series.iter().map(|s| s.samples.len()).sum();
    assert_eq!(read, series.len(), "one sample per series");
    assert!(read > 1, "{read} series");
    hints.max_samples = Some(read);
    let limited = Querier::select(&db, &all, &hints);
    assert!(limited.is_ok(), "{read} newest samples failed a limit of as many: {limited:?}");
}
