//! Model test: random appends (in order, out of order, overwrites, too
//! old), flushes, compactions and reopens against an in-memory
//! acknowledged-sample oracle (`AckedModel`), comparing `select` over random matchers and ranges
//! after every step. `PULSEDB_MODEL_SEEDS=200` runs more seeds.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use pulsedb::{Batch, Db, Error, Labels, MatchOp, Matcher, Options};
use pulsedb_testkit::acked::AckedModel;
use pulsedb_testkit::Rng;

const SERIES: usize = 12;
const OOO_MS: i64 = 60_000;

fn options() -> Options {
    let mut o = Options::default();
    o.background_maintenance = false;
    o.block_span = Duration::from_secs(600);
    o.out_of_order_window = Duration::from_millis(OOO_MS as u64);
    o.compaction_spans = vec![Duration::from_secs(600), Duration::from_secs(1800), Duration::from_secs(7200)];
    o.retention = Duration::ZERO;
    o.wal_segment_size = 64 << 10;
    o
}

fn labels(j: usize) -> Labels {
    Labels::metric(
        if j.is_multiple_of(3) { "up" } else { "load" },
        [("host", format!("h{}", j % 4)), ("job", format!("j{}", j % 3)), ("idx", j.to_string())],
    )
}

fn check(db: &Db, oracle: &AckedModel, rng: &mut Rng, step: usize) {
    let matchers = match rng.below(5) {
        0 => vec![Matcher::equal("host", format!("h{}", rng.below(4)))],
        1 => vec![Matcher::new(MatchOp::RegexMatch, "job", "j0|j2").unwrap()],
        2 => vec![Matcher::equal("__name__", "load"), Matcher::new(MatchOp::NotEqual, "host", "h1").unwrap()],
        3 => vec![Matcher::new(MatchOp::RegexMatch, "idx", "1.*").unwrap()],
        _ => vec![Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap()],
    };
    let (mint, maxt) = if rng.chance(50) {
        (i64::MIN, i64::MAX)
    } else {
        let a = rng.below(8 * 3_600_000) as i64;
        (a, a + rng.below(3_600_000) as i64)
    };
    let got = db.select(&matchers, mint, maxt).unwrap();
    assert!(got.windows(2).all(|w| w[0].labels < w[1].labels), "step {step}: select not sorted by labels");
    let got = AckedModel::from_series(got);
    let want = oracle.select(&matchers, mint, maxt);
    let diff = want.differences(&got, 5);
    assert!(diff.is_empty(), "step {step}: select {matchers:?} [{mint}, {maxt}]:\n{}", diff.join("\n"));
}

fn run(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(seed);
    let mut db = Db::open(dir.path(), options()).unwrap();
    let mut oracle = AckedModel::new();
    let mut newest: HashMap<usize, i64> = HashMap::new();
    let mut clock = 0i64;
    for step in 0..250 {
        match rng.below(100) {
            0..=74 => {
                clock += rng.below(20_000) as i64;
                let mut batch = Batch::new();
                let mut rows = Vec::new();
                for _ in 0..=rng.below(6) {
                    let j = rng.below(SERIES as u64) as usize;
                    let t = match rng.below(10) {
                        0..=5 => clock,
                        6..=7 => clock - rng.below(OOO_MS as u64) as i64,
                        8 => oracle.get(&labels(j)).and_then(|s| s.keys().next_back().copied()).unwrap_or(clock),
                        _ => clock - rng.below(10 * OOO_MS as u64) as i64,
                    };
                    let v = rng.value();
                    batch.push(labels(j), t, v);
                    rows.push((j, t, v));
                }
                match db.append(&batch) {
                    Ok(()) => {
                        for (j, t, v) in rows {
                            let n = newest.get(&j).copied();
                            assert!(n.is_none_or(|n| t >= n - OOO_MS), "step {step}: accepted a sample too old");
                            oracle.insert(&labels(j), t, v);
                        }
                        for j in 0..SERIES {
                            if let Some((&t, _)) = oracle.get(&labels(j)).and_then(|s| s.iter().next_back()) {
                                newest.insert(j, t);
                            }
                        }
                    }
                    Err(Error::OutOfOrder { timestamp, min_allowed, .. }) => {
                        assert!(timestamp < min_allowed);
                    }
                    Err(Error::OutOfBounds { .. }) => {}
                    Err(e) => panic!("step {step}: {e}"),
                }
            }
            75..=84 => {
                db.flush().unwrap();
            }
            85..=89 => db.compact().unwrap(),
            _ => {
                db.close().unwrap();
                db = Db::open(dir.path(), options()).unwrap();
            }
        }
        check(&db, &oracle, &mut rng, step);
    }
    let stored = oracle.samples();
    assert!(stored > 100, "seed {seed}: too few samples accepted ({stored}) to prove anything");
    assert!(db.stats().unwrap().blocks > 0, "seed {seed}: nothing was flushed");
}

#[test]
fn random_operations_match_a_map_oracle() {
    let seeds: u64 = std::env::var("PULSEDB_MODEL_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    for seed in 0..seeds {
        run(seed);
    }
}
