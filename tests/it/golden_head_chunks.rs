//! Golden fixture `tests/fixtures/head-chunks-v3/`: head chunk files
//! version 3, whose dense chunks carry minute summaries
//! (`storage/docs/format/chunks.md`). 30 minutes of two series at 1 s, all
//! in the head: the first 20 minutes restored from `head.checkpoint` and
//! the closed chunks in `chunks_head/`, the rest from the WAL after it.
//! Checked in and never regenerated; every later version must read exactly
//! these samples and answer 1 min rollup queries as from raw samples.
//!
//! Written once by the ignored test `write_head_chunks_golden`
//! (`cargo test -p pulsedb --test it golden_head_chunks::write_head_chunks_golden -- --ignored`).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use pulsedb::{Batch, Db, Engine, EngineOptions, Labels, Options, Sample, Value};
use pulsedb_testkit::data_dir::copy_dir;

use super::fixture_reads::{host_bits, to_bits};

const FIXTURE: &str = "tests/fixtures/head-chunks-v3";
const SECONDS: i64 = 1800;

fn options() -> Options {
    let mut o = Options::default();
    o.block_span = Duration::from_secs(3600);
    o.retention = Duration::ZERO;
    o.background_maintenance = false;
    o
}

/// A counter with resets and a gauge with a NaN and a staleness marker,
/// one sample a second (a few seconds missing) from t = 0.
fn expected() -> Vec<(Labels, Vec<Sample>)> {
    let times = || (0..SECONDS).filter(|s| s % 97 != 5).map(|s| s * 1000);
    let counter = times().map(|t| Sample::new(t, ((t / 1000) % 400 * 3) as f64)).collect();
    let gauge = times()
        .map(|t| {
            let v = match t / 1000 {
                100 => f64::NAN,
                777 => f64::from_bits(pulsedb::STALE_NAN),
                s => 40.0 + (s as f64 * 0.1).sin() * 7.5,
            };
            Sample::new(t, v)
        })
        .collect();
    vec![
        (Labels::metric("requests_total", [("host", "golden-dense")]), counter),
        (Labels::metric("temperature", [("host", "golden-dense")]), gauge),
    ]
}

#[test]
fn head_chunks_version_3_directory_opens_and_reads_back_exactly() {
    let chunks = std::fs::read(Path::new(FIXTURE).join("chunks_head/0.chunks")).unwrap();
    assert_eq!((&chunks[..4], chunks[4]), (&b"PBHC"[..], 3), "the fixture holds version 3 head chunk files");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    let db = Db::open(dir.path(), options()).unwrap();
    let mut want = to_bits(&expected());
    want.sort();
    assert_eq!(host_bits(&db, "golden-dense"), want);
    let mut raw_options = EngineOptions::default();
    raw_options.use_rollups = false;
    let raw = Engine::new(raw_options);
    for q in [
        "rate(requests_total[1m])",
        "increase(requests_total[2m])",
        "sum_over_time(temperature[1m])",
        "max_over_time(temperature[1m])",
        "count_over_time(temperature[5m])",
    ] {
        let (Value::Matrix(a), Value::Matrix(b)) = (
            db.query_range(q, 60_000, 1_740_000, 60_000).unwrap(),
            raw.range(&db, q, 60_000, 1_740_000, 60_000).unwrap(),
        ) else {
            panic!("{q}: not matrices")
        };
        assert_eq!(a.len(), b.len(), "{q}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!((&x.labels, x.points.len()), (&y.labels, y.points.len()), "{q}");
            for (p, r) in x.points.iter().zip(&y.points) {
                let close = p.v.to_bits() == r.v.to_bits() || (p.v - r.v).abs() <= 1e-9 * p.v.abs().max(r.v.abs());
                assert!(p.t == r.t && close, "{q}: {p:?} vs {r:?}");
            }
        }
    }
}

#[test]
#[ignore = "writes the checked-in head chunk fixture; run only for a new head chunk file version"]
fn write_head_chunks_golden() {
    let out = Path::new(FIXTURE);
    assert!(!out.exists(), "{} exists: golden fixtures are never regenerated", out.display());
    let db = Db::open(out, options()).unwrap();
    let data = expected();
    for minute in 0..SECONDS / 60 {
        let mut batch = Batch::new();
        for (labels, samples) in &data {
            let this_minute = samples.iter().filter(|s| s.t / 60_000 == minute).copied();
            batch.add(labels.clone(), this_minute.collect::<Vec<_>>());
        }
        db.append(&batch).unwrap();
        if minute == 19 {
            db.checkpoint().unwrap();
        }
    }
    // As a crash leaves it: no shutdown snapshot, the tail only in the WAL.
    drop(db);
    for leftover in ["LOCK", "index/LOCK", "index/LOG"] {
        let _ = std::fs::remove_file(out.join(leftover));
    }
}
