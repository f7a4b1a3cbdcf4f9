//! Aggregations straight over a selector tell storage which labels they
//! keep ([`pulsedb::SelectHints::only_labels`]), and storage decodes no
//! other. Their answers must be exactly those of a store that returns every
//! label: on series with several labels, NaN, staleness markers, part in
//! blocks and part in the head, deleted ranges and a restart; and the hint
//! must reach storage only where it is safe (not through functions, not
//! for `without`, `topk` and the like).
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use pulsedb::{
    Batch, Db, Engine, Labels, Matcher, Querier, RollupFields, RollupSeries, Sample, SelectHints, Series, StoreError,
    Value,
};
use pulsedb_testkit::Rng;

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// Delegates to the database with the hint taken away.
struct AllLabels<'a>(&'a Db);

impl Querier for AllLabels<'_> {
    fn select(&self, m: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        let mut hints = hints.clone();
        hints.only_labels = None;
        Querier::select(self.0, m, &hints)
    }

    fn select_rollups(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        fields: RollupFields,
    ) -> Result<Option<Vec<RollupSeries>>, StoreError> {
        Querier::select_rollups(self.0, m, mint, maxt, resolution, fields)
    }
}

/// Delegates to the database and remembers the hints it was given.
struct Seen<'a>(&'a Db, Mutex<Vec<Option<Vec<String>>>>);

impl Querier for Seen<'_> {
    fn select(&self, m: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        self.1.lock().unwrap().push(hints.only_labels.clone());
        Querier::select(self.0, m, hints)
    }
}

fn load(db: &Db, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut batch = Batch::new();
    for i in 0..60u64 {
        let name = if i % 4 == 0 { "n" } else { "m" };
        let labels =
            Labels::metric(name, [("a", format!("a{}", i % 3)), ("b", format!("b{}", i % 2)), ("c", format!("c{i}"))]);
        let start = rng.below(3) as i64 * HOUR;
        let samples = (0..rng.below(400) + 1).map(|k| {
            let t = start + k as i64 * MIN + rng.below(MIN as u64) as i64;
            let v = match rng.below(50) {
                0 => f64::NAN,
                1 => f64::from_bits(pulsedb::STALE_NAN),
                _ => rng.below(1_000_000) as f64 / 7.0 - 50_000.0,
            };
            Sample::new(t, v)
        });
        batch.add(labels, samples.collect::<Vec<_>>());
    }
    db.append(&batch).unwrap();
    db.flush().unwrap();
}

const HINTED: [&str; 9] = [
    "count(m)",
    "sum(m)",
    "sum by (a) (m)",
    "avg by (a, b) ((m))",
    "max by (__name__) ({__name__=~\"m|n\"})",
    "min by (b) (m offset 10m)",
    "stddev by (c) (m)",
    "group by (a) ({__name__=~\"m|n\"})",
    "count by (absent) (m)",
];

const NOT_HINTED: [&str; 5] =
    ["count without (a) (m)", "sum(rate(m[5m]))", "topk(2, m)", "count(m * 2)", "quantile(0.5, m)"];

fn bits(v: &Value) -> Vec<(String, i64, u64)> {
    let mut out: Vec<(String, i64, u64)> = match v {
        Value::Vector(v) => v.iter().map(|s| (s.labels.to_string(), s.t, s.v.to_bits())).collect(),
        Value::Matrix(m) => {
            m.iter().flat_map(|s| s.points.iter().map(|p| (s.labels.to_string(), p.t, p.v.to_bits()))).collect()
        }
        other => panic!("{other:?}"),
    };
    out.sort();
    out
}

/// Every query, instant at several times and as a range, through both.
fn compare(db: &Db) -> usize {
    let engine = Engine::default();
    let mut compared = 0;
    for q in HINTED.iter().chain(&NOT_HINTED) {
        let expr = pulsedb::parse_query(q).unwrap();
        for t in [HOUR, 2 * HOUR + 17_000, 3 * HOUR, 5 * HOUR, 9 * HOUR] {
            let (a, b) =
                (engine.instant_expr(db, &expr, t).unwrap(), engine.instant_expr(&AllLabels(db), &expr, t).unwrap());
            assert_eq!(bits(&a), bits(&b), "{q} at {t}");
            compared += bits(&a).len();
        }
        let (a, b) = (
            engine.range_expr(db, &expr, 0, 8 * HOUR, 5 * MIN).unwrap(),
            engine.range_expr(&AllLabels(db), &expr, 0, 8 * HOUR, 5 * MIN).unwrap(),
        );
        assert_eq!(bits(&a), bits(&b), "{q} as a range");
        compared += bits(&a).len();
    }
    compared
}

#[test]
fn aggregations_read_only_their_labels_and_answer_the_same() {
    for seed in [1, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let mut options = pulsedb::Options::default();
        options.background_maintenance = false;
        options.retention = std::time::Duration::ZERO;
        let db = Db::open(dir.path(), options.clone()).unwrap();
        load(&db, seed);
        let mut compared = compare(&db);
        let all = [Matcher::new(pulsedb::MatchOp::RegexMatch, "__name__", ".+").unwrap()];
        db.delete_series(&all, HOUR + 20 * MIN, 2 * HOUR).unwrap();
        compared += compare(&db);
        db.close().unwrap();
        let db = Db::open(dir.path(), options).unwrap();
        compared += compare(&db);
        assert!(compared > 1_000, "only {compared} samples compared");
    }
}

#[test]
fn only_aggregations_straight_over_a_selector_pass_the_hint() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), pulsedb::Options::default()).unwrap();
    load(&db, 7);
    let engine = Engine::default();
    for (q, want) in [
        ("count(m)", Some(vec![])),
        ("sum by (a, b) ((m))", Some(vec!["a".to_string(), "b".to_string()])),
        ("count without (a) (m)", None),
        ("sum(rate(m[5m]))", None),
        ("topk(2, m)", None),
    ] {
        let seen = Seen(&db, Mutex::new(Vec::new()));
        engine.instant_expr(&seen, &pulsedb::parse_query(q).unwrap(), 2 * HOUR).unwrap();
        assert_eq!(*seen.1.lock().unwrap(), vec![want], "{q}");
    }
    // The hinted answer leaves the other labels out of what storage returns.
    let mut hints = SelectHints::range(0, 9 * HOUR);
    hints.only_labels = Some(vec!["a".to_string()]);
    let series = Querier::select(&db, &[Matcher::equal("__name__", "m")], &hints).unwrap();
    assert!(!series.is_empty());
    assert!(series.iter().all(|s| s.labels.len() == 1 && s.labels.get("a").is_some()), "{:?}", series[0].labels);
}
