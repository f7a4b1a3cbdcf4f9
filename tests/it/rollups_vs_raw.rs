//! Property test of the rollup planner: on random data (counters with
//! resets, gauges, NaN, staleness markers, series starting and stopping
//! mid-window, part in blocks and part in the head), every query the
//! planner answers from rollups gives what the raw plan gives: exactly for
//! count, min, max and last, within 1e-9 relative (1e-12 absolute near
//! zero) for sums, averages, rates and increases.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use pulsedb::{
    Batch, Db, Engine, EngineOptions, Labels, Matcher, Options, Querier, RollupFields, RollupSeries, Sample,
    SelectHints, Series, StoreError, Value,
};
use pulsedb_testkit::Rng;

const HOUR: i64 = 3_600_000;

/// Delegates to the database and counts rollup reads, to prove the rollup plan ran.
struct Counting<'a> {
    db: &'a Db,
    rollup_reads: AtomicUsize,
}

impl Querier for Counting<'_> {
    fn select(&self, m: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        Querier::select(self.db, m, hints)
    }

    fn select_rollups(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
        res: i64,
        fields: RollupFields,
    ) -> Result<Option<Vec<RollupSeries>>, StoreError> {
        self.rollup_reads.fetch_add(1, Ordering::Relaxed);
        Querier::select_rollups(self.db, m, mint, maxt, res, fields)
    }
}

/// A database with [`load`]'s data, no background work, nothing expiring.
pub(crate) fn loaded(seed: u64) -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::default();
    options.background_maintenance = false;
    options.retention = Duration::ZERO;
    options.sync = pulsedb::SyncMode::Never;
    // 1 h blocks, compacted into 4 h: compacted blocks hold 1 min and
    // 1 h rollups, blocks cut from the head 1 h rollups only.
    options.block_span = Duration::from_secs(3600);
    options.compaction_spans = vec![Duration::from_secs(3600), Duration::from_secs(4 * 3600)];
    let db = Db::open(dir.path(), options).unwrap();
    load(&db, seed);
    let levels: Vec<u32> = pulsedb_storage::inspect(dir.path()).unwrap().blocks.iter().map(|b| b.level).collect();
    assert!(levels.contains(&1) && levels.contains(&2), "block levels {levels:?}");
    (dir, db)
}

fn load(db: &Db, seed: u64) {
    let mut rng = Rng::new(seed);
    for s in 0..4u64 {
        let counter = s % 2 == 0;
        let start = rng.below(90) as i64 * 60_000;
        let stop = 7 * HOUR - rng.below(120) as i64 * 60_000;
        let mut t = start;
        let mut v = rng.below(100) as f64;
        let mut samples = Vec::new();
        while t < stop {
            if counter {
                v += rng.below(30) as f64;
                if rng.chance(3) {
                    v = rng.below(5) as f64; // reset
                }
            } else {
                v = (v + (rng.below(41) as f64 - 20.0) / 4.0).clamp(-50.0, 50.0);
            }
            let value = match rng.below(200) {
                0 => f64::NAN,
                1 => f64::from_bits(pulsedb::STALE_NAN),
                _ => v,
            };
            samples.push(Sample::new(t, value));
            // Irregular spacing; now and then exactly on a bucket edge, now and then a gap.
            t += match rng.below(10) {
                0 => 60_000 - t.rem_euclid(60_000),
                1 => rng.below(900_000) as i64,
                _ => 5_000 + rng.below(25_000) as i64,
            }
            .max(1);
        }
        let mut batch = Batch::new();
        batch.add(
            Labels::metric(if counter { "requests_total" } else { "temperature" }, [("s", s.to_string())]),
            samples,
        );
        db.append(&batch).unwrap();
    }
    // Finished windows become blocks, the older ones compacted; the rest
    // stays in the head.
    db.flush().unwrap();
    db.compact().unwrap();
}

fn close(a: f64, b: f64, exact: bool) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    // Relative 1e-9; near zero an absolute 1e-12, since summing in a
    // different order (or Prometheus' incremental mean) leaves ~1e-17
    // where the exact answer is 0.
    a == b || (!exact && (a - b).abs() <= (1e-9 * a.abs().max(b.abs())).max(1e-12))
}

/// Compares two matrices; returns how many points were compared.
fn compare(q: &str, a: &Value, b: &Value, exact: bool) -> Result<usize, TestCaseError> {
    let (Value::Matrix(a), Value::Matrix(b)) = (a, b) else {
        return Err(TestCaseError::fail(format!("{q}: not matrices")));
    };
    prop_assert_eq!(a.len(), b.len(), "{}: series count", q);
    for (x, y) in a.iter().zip(b) {
        prop_assert_eq!(&x.labels, &y.labels, "{}", q);
        prop_assert_eq!(x.points.len(), y.points.len(), "{} {}: points", q, x.labels);
        for (p, r) in x.points.iter().zip(&y.points) {
            prop_assert_eq!(p.t, r.t, "{}", q);
            prop_assert!(close(p.v, r.v, exact), "{} {} at {}: rollups {} raw {}", q, x.labels, p.t, p.v, r.v);
        }
    }
    Ok(a.iter().map(|s| s.points.len()).sum())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(12), ..ProptestConfig::default() })]

    #[test]
    fn rollup_plans_match_raw_plans(seed in any::<u64>()) {
        let (_dir, db) = loaded(seed);
        let querier = Counting { db: &db, rollup_reads: AtomicUsize::new(0) };
        let mut raw_options = EngineOptions::default();
        raw_options.use_rollups = false;
        let raw = Engine::new(raw_options);
        let rolled = Engine::default();
        let mut points = 0;
        for func in ["count_over_time", "min_over_time", "max_over_time", "last_over_time", "sum_over_time", "avg_over_time", "rate", "increase"] {
            let exact = matches!(func, "count_over_time" | "min_over_time" | "max_over_time" | "last_over_time");
            for (range, step) in [("1h", HOUR), ("2h", HOUR), ("5m", 60_000), ("1m", 300_000), ("30m", 120_000)] {
                let metric = if func == "rate" || func == "increase" { "requests_total" } else { "{__name__=~\".+\"}" };
                let q = format!("{func}({metric}[{range}])");
                let a = rolled.range_expr(&querier, &pulsedb::parse_query(&q).unwrap(), 0, 8 * HOUR, step).unwrap();
                let b = raw.range_expr(&querier, &pulsedb::parse_query(&q).unwrap(), 0, 8 * HOUR, step).unwrap();
                points += compare(&q, &a, &b, exact)?;
            }
            // (From before the first sample to after the last: steps without data on both sides.)
            // With @, every step's window is the same one.
            let metric = if func == "rate" || func == "increase" { "requests_total" } else { "temperature" };
            for at in [HOUR, 5 * HOUR] {
                let q = format!("{func}({metric}[1h] @ {})", at / 1000);
                let a = rolled.range_expr(&querier, &pulsedb::parse_query(&q).unwrap(), 0, 8 * HOUR, HOUR).unwrap();
                let b = raw.range_expr(&querier, &pulsedb::parse_query(&q).unwrap(), 0, 8 * HOUR, HOUR).unwrap();
                points += compare(&q, &a, &b, exact)?;
            }
            // With offset and @, still aligned.
            let q = format!("{func}(requests_total[1h] offset 1h)");
            let a = rolled.instant_expr(&querier, &pulsedb::parse_query(&q).unwrap(), 6 * HOUR).unwrap();
            let b = raw.instant_expr(&querier, &pulsedb::parse_query(&q).unwrap(), 6 * HOUR).unwrap();
            let (Value::Vector(a), Value::Vector(b)) = (a, b) else { panic!() };
            prop_assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                prop_assert!(close(x.v, y.v, exact), "{}: {} vs {}", q, x.v, y.v);
            }
        }
        prop_assert!(querier.rollup_reads.load(Ordering::Relaxed) > 40, "the rollup plan was not used");
        prop_assert!(points > 500, "only {} points compared", points);
    }

    #[test]
    fn window_means_from_rollups_match_raw(seed in any::<u64>(), cut in 0i64..3_600_000) {
        let (_dir, db) = loaded(seed);
        let all = [Matcher::new(pulsedb::MatchOp::RegexMatch, "__name__", ".+").unwrap()];
        let mut points = 0;
        for (mint, maxt) in [(0, 7 * HOUR), (HOUR + cut, 6 * HOUR - cut), (2 * HOUR, 2 * HOUR)] {
            // 7 min does not divide the 1 h blocks: no rollups, and head
            // buckets could straddle the blocks' end (read raw instead).
            for res in [60_000, 420_000, HOUR] {
                points += compare_window_means(&db, &all, mint, maxt, res)?;
            }
        }
        // Deleted samples are left out of the means too.
        db.delete_series(&all, 2 * HOUR + cut, 3 * HOUR).unwrap();
        points += compare_window_means(&db, &all, 0, 7 * HOUR, 60_000)?;
        prop_assert!(points > 300, "only {} points compared", points);
    }
}

/// Delegates only `select`: the model's default window means, from raw samples.
struct RawOnly<'a>(&'a Db);

impl Querier for RawOnly<'_> {
    fn select(&self, m: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        Querier::select(self.0, m, hints)
    }
}

/// Window means read through the storage's rollups and head equal those
/// the model computes from raw samples: same windows, means within 1e-9.
fn compare_window_means(db: &Db, m: &[Matcher], mint: i64, maxt: i64, res: i64) -> Result<usize, TestCaseError> {
    let hints = SelectHints::range(mint, maxt);
    let mut a = Querier::select_window_means(db, m, &hints, res).unwrap();
    let mut b = Querier::select_window_means(&RawOnly(db), m, &hints, res).unwrap();
    a.sort_by(|x, y| x.labels.cmp(&y.labels));
    b.sort_by(|x, y| x.labels.cmp(&y.labels));
    prop_assert_eq!(a.len(), b.len(), "series at {} {}..{}", res, mint, maxt);
    for (x, y) in a.iter().zip(&b) {
        prop_assert_eq!(&x.labels, &y.labels);
        let times = |s: &Series| s.samples.iter().map(|p| p.t).collect::<Vec<_>>();
        prop_assert_eq!(times(x), times(y), "{} at {}", x.labels, res);
        for (p, r) in x.samples.iter().zip(&y.samples) {
            prop_assert!(close(p.v, r.v, false), "{} at {}: storage {} raw {}", x.labels, p.t, p.v, r.v);
            prop_assert!(p.t % res == 0 && p.t >= mint && p.t <= maxt);
        }
    }
    Ok(a.iter().map(|s| s.samples.len()).sum())
}

/// A query answered from summaries counts, against the sample limit, the
/// raw samples its buckets stand for: it may not read more through
/// rollups than it could raw.
#[test]
fn summaries_count_the_samples_they_stand_for() {
    let (_dir, db) = loaded(7);
    let querier = Counting { db: &db, rollup_reads: AtomicUsize::new(0) };
    let q = pulsedb::parse_query("count_over_time({__name__=~\".+\"}[1h])").unwrap();
    let Value::Matrix(counts) = Engine::default().range_expr(&querier, &q, 2 * HOUR, 7 * HOUR, HOUR).unwrap() else {
        panic!("not a matrix")
    };
    assert!(querier.rollup_reads.load(Ordering::Relaxed) > 0, "the rollup plan was not used");
    let samples: f64 = counts.iter().flat_map(|s| &s.points).map(|p| p.v).sum();
    assert!(samples > 1_000.0, "only {samples} samples");
    let mut options = EngineOptions::default();
    options.max_samples = (samples / 2.0) as usize;
    let limited = Engine::new(options).range_expr(&querier, &q, 2 * HOUR, 7 * HOUR, HOUR);
    assert!(
        matches!(limited, Err(pulsedb::QueryError::TooManySamples { .. })),
        "{} buckets' worth of samples passed a limit of {}: {limited:?}",
        samples,
        samples / 2.0
    );
}

/// Blocks written with a 30 min block span, then the database reopened
/// with 1 h blocks: the old blocks start and end inside 1 h buckets. The
/// rollup plan and the window means must still answer what raw samples
/// give (they decline, or read the head raw, where a bucket would come in
/// two parts).
#[test]
fn a_block_span_changed_between_opens_changes_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let options = |span_minutes: u64| {
        let mut options = Options::default();
        options.background_maintenance = false;
        options.retention = Duration::ZERO;
        options.sync = pulsedb::SyncMode::Never;
        options.block_span = Duration::from_secs(span_minutes * 60);
        options.compaction_spans = vec![options.block_span];
        options
    };
    let db = Db::open(dir.path(), options(30)).unwrap();
    load(&db, 11);
    db.close().unwrap();
    let db = Db::open(dir.path(), options(60)).unwrap();
    let mut raw_options = EngineOptions::default();
    raw_options.use_rollups = false;
    let (raw, rolled) = (Engine::new(raw_options), Engine::default());
    for q in ["count_over_time(temperature[1h])", "sum_over_time(temperature[1h])", "increase(requests_total[1h])"] {
        let expr = pulsedb::parse_query(q).unwrap();
        let a = rolled.range_expr(&db, &expr, HOUR, 7 * HOUR, HOUR).unwrap();
        let b = raw.range_expr(&db, &expr, HOUR, 7 * HOUR, HOUR).unwrap();
        compare(q, &a, &b, q.starts_with("count")).unwrap();
    }
    let all = [Matcher::new(pulsedb::MatchOp::RegexMatch, "__name__", ".+").unwrap()];
    assert!(compare_window_means(&db, &all, 0, 7 * HOUR, HOUR).unwrap() > 10);
}
