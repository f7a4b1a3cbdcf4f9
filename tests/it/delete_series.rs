//! Deleting series ranges (tombstones): deleted samples stop answering at
//! once — raw reads, rollup-planned queries, the series API — stay deleted
//! across a reopen, and are left out of the blocks that flushes and
//! compactions write; other series and other ranges are untouched.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use pulsedb::{Batch, Db, Labels, MatchOp, Matcher, Options, Sample, Value};
use pulsedb_testkit::acked::AckedModel;

const HOUR: i64 = 3_600_000;

fn options() -> Options {
    let mut o = Options::default();
    o.background_maintenance = false;
    o.retention = Duration::from_secs(365 * 86_400);
    o.compaction_spans = vec![Duration::from_secs(2 * 3600), Duration::from_secs(8 * 3600)];
    o
}

fn load(db: &Db, model: &mut AckedModel, from: i64, to: i64) {
    for t in (from..to).step_by(60_000) {
        let mut b = Batch::new();
        for host in ["a", "b"] {
            b.add(Labels::metric("del", [("host", host)]), [Sample::new(t, (t / 60_000) as f64)]);
        }
        db.append(&b).unwrap();
        model.record(&b);
    }
}

fn host(h: &str) -> Vec<Matcher> {
    vec![Matcher::equal("__name__", "del"), Matcher::equal("host", h)]
}

/// What the model says remains, with `[mint, maxt]` of host `a` deleted.
fn expected(model: &AckedModel, mint: i64, maxt: i64) -> AckedModel {
    let mut want = AckedModel::new();
    for (labels, samples) in model.iter() {
        for (&t, &bits) in samples {
            if !(labels.get("host") == Some("a") && t >= mint && t <= maxt) {
                want.insert(labels, t, f64::from_bits(bits));
            }
        }
    }
    want
}

#[test]
fn deleted_ranges_vanish_at_once_and_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(dir.path(), options()).unwrap();
    let mut model = AckedModel::new();
    load(&db, &mut model, 0, 6 * HOUR);
    db.flush().unwrap();
    load(&db, &mut model, 6 * HOUR, 7 * HOUR);
    let all = [Matcher::new(MatchOp::RegexMatch, "__name__", "del").unwrap()];

    // Hours 1 to 6.5 of host a: in blocks and in the head.
    let (mint, maxt) = (HOUR, 6 * HOUR + HOUR / 2);
    assert_eq!(db.delete_series(&host("a"), mint, maxt).unwrap(), 1);
    let check = |db: &Db, want: &AckedModel, when: &str| {
        let diff = want.differences(&AckedModel::read(db, &all), 5);
        assert!(diff.is_empty(), "{when}: {diff:?}");
        // A query the rollup planner would answer from buckets answers raw.
        let Value::Vector(v) = db.query("sum_over_time(del{host=\"a\"}[1h])", 2 * HOUR).unwrap() else { panic!() };
        assert!(v.is_empty(), "{when}: {v:?}");
        let Value::Vector(v) = db.query("count_over_time(del{host=\"b\"}[1h])", 2 * HOUR).unwrap() else { panic!() };
        assert_eq!(v[0].v, 61.0, "{when}: the other series is whole");
        // The series API: host a has no sample in [2h, 3h], host b has.
        let series = db.series(&all, 2 * HOUR, 3 * HOUR).unwrap();
        assert_eq!(series.len(), 1, "{when}: {series:?}");
        assert_eq!(series[0].get("host"), Some("b"));
    };
    check(&db, &expected(&model, mint, maxt), "right after the delete");

    db.close().unwrap();
    db = Db::open(dir.path(), options()).unwrap();
    check(&db, &expected(&model, mint, maxt), "after a reopen");

    load(&db, &mut model, 7 * HOUR, 9 * HOUR);
    db.flush().unwrap();
    db.compact().unwrap();
    check(&db, &expected(&model, mint, maxt), "after flush and compaction");
    // Compaction merged [0, 8h) and the flush wrote [6h, 8h): the blocks
    // hold exactly the samples left, none of the deleted ones.
    let stats = db.stats().unwrap();
    assert_eq!(stats.blocks, 1, "{stats:?}");
    let left = expected(&model, mint, maxt).select(&all, i64::MIN, 8 * HOUR - 1).samples();
    assert_eq!(stats.block_samples as usize, left);
    assert!(matches!(db.delete_series(&host("a"), 5, 1), Err(pulsedb::Error::InvalidOptions(_))));
    assert_eq!(db.delete_series(&host("nobody"), 0, 1).unwrap(), 0);
    db.close().unwrap();
}

/// Retention forgets deleted ranges only once no block kept can hold them:
/// a block straddling the retention cutoff keeps its deleted samples hidden.
#[test]
fn retention_never_resurrects_deleted_samples() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options();
    o.retention = Duration::from_secs(4 * 3600);
    o.compaction_spans = Vec::new();
    let db = Db::open(dir.path(), o).unwrap();
    let mut model = AckedModel::new();
    load(&db, &mut model, 0, 9 * HOUR + HOUR / 2);
    db.flush().unwrap();
    db.delete_series(&host("a"), 0, 5 * HOUR).unwrap();
    // Newest 9h30: the cutoff 5h30 keeps the block [4h, 6h), which holds
    // deleted samples of 4h to 5h.
    db.compact().unwrap();
    let left = db.select(&host("a"), 4 * HOUR, 5 * HOUR).unwrap();
    assert!(left.is_empty(), "deleted samples came back: {:?}", left.first().map(|s| s.samples.len()));
    assert!(!db.select(&host("b"), 4 * HOUR, 5 * HOUR).unwrap().is_empty());
    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    assert!(db.select(&host("a"), 4 * HOUR, 5 * HOUR).unwrap().is_empty(), "after a reopen");
}
