//! Golden fixtures: `tests/fixtures/v1/` to `v7/` are data directories
//! written by block format versions 1, 2 (adds rollups), 3 (the version in
//! the `index`/`chunks` headers, head chunk file headers), 4 (each
//! series' newest samples in its index entry) and 5 (scaled timestamps and
//! mantissas in sealed chunks; `golden_scaled.rs` holds data that uses
//! them), 6 (rollup columns derived or left out) and 7 (sized escapes and
//! varint mantissas in sealed chunks; `golden_meter.rs`), each with a WAL, a label
//! index, compacted and plain blocks. They are checked in and never
//! regenerated; every later version must open them and read exactly these
//! samples, and answer rollup-planned and newest-sample queries as from
//! raw samples.
//!
//! Each was written once by the ignored test `write_golden` below
//! (`cargo test -p pulsedb --test it golden_fixtures::write_golden -- --ignored`), which
//! writes the current version's directory and refuses to overwrite one.
#![allow(clippy::unwrap_used)]

use pulsedb_testkit::data_dir::copy_dir;

use super::newest_vs_raw::assert_newest_reads_match_full_reads;

use std::path::Path;
use std::time::Duration;

use pulsedb::{Batch, Db, Labels, Matcher, Options, Sample};

const MIN: i64 = 60_000;

fn options() -> Options {
    let mut o = Options::default();
    o.block_span = Duration::from_secs(3600);
    o.out_of_order_window = Duration::from_secs(600);
    o.compaction_spans = vec![Duration::from_secs(3600), Duration::from_secs(7200)];
    o.retention = Duration::ZERO;
    o.background_maintenance = false;
    o
}

fn series(i: usize) -> Labels {
    Labels::metric(
        ["cpu_usage_percent", "http_requests_total", "temperature_celsius", "stale_gauge"][i],
        [("host", "golden-1"), ("region", "eu-west")],
    )
}

/// Every sample the fixture holds, per series, in time order (values chosen
/// to exercise each codec: decimals, counters, arbitrary floats, NaN, -0.0).
fn expected() -> Vec<(Labels, Vec<Sample>)> {
    (0..4)
        .map(|i| {
            let samples = (0..330)
                .map(|n: i64| {
                    let t = n * MIN;
                    let v = match i {
                        0 => ((n * 37) % 1000) as f64 / 10.0,
                        1 => (n * n * 3) as f64,
                        2 => 20.0 + (n as f64 * 0.37).sin() * 3.3,
                        _ => match n % 50 {
                            7 => f64::from_bits(0x7ff0_0000_0000_0002), // Prometheus' stale NaN
                            8 => -0.0,
                            _ => (n % 5) as f64,
                        },
                    };
                    Sample::new(t, v)
                })
                .collect();
            (series(i), samples)
        })
        .collect()
}

fn read_all(db: &Db) -> Vec<(Labels, Vec<Sample>)> {
    db.select(&[Matcher::equal("host", "golden-1")], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect()
}

fn same(a: &[(Labels, Vec<Sample>)], b: &[(Labels, Vec<Sample>)]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((la, sa), (lb, sb))| {
            la == lb
                && sa.len() == sb.len()
                && sa.iter().zip(sb).all(|(x, y)| x.t == y.t && x.v.to_bits() == y.v.to_bits())
        })
}

fn check(fixture: &str) {
    check_with_blocks(fixture, 3);
}

fn check_with_blocks(fixture: &str, blocks: usize) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(fixture), dir.path());
    let db = Db::open(dir.path(), options()).unwrap();
    let stats = db.stats().unwrap();
    assert_eq!(stats.blocks, blocks, "blocks of {fixture}");
    assert!(stats.head_series > 0, "the fixture has samples only in its WAL");
    let mut want = expected();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(same(&read_all(&db), &want), "fixture data differs from what version 1 wrote");
    // Queries the planner answers from rollups (or, for version 1 blocks,
    // from rollups computed on the fly) agree with raw samples.
    let mut raw_options = pulsedb::EngineOptions::default();
    raw_options.use_rollups = false;
    let raw = pulsedb::Engine::new(raw_options);
    for q in [
        "sum_over_time(cpu_usage_percent[1h])",
        "rate(http_requests_total[2h])",
        "max_over_time(temperature_celsius[1h])",
    ] {
        let a = db.query_range(q, 3_600_000, 5 * 3_600_000, 3_600_000).unwrap();
        let b = raw.range(&db, q, 3_600_000, 5 * 3_600_000, 3_600_000).unwrap();
        let (pulsedb::Value::Matrix(a), pulsedb::Value::Matrix(b)) = (a, b) else { panic!("{q}: not matrices") };
        assert_eq!(a.len(), b.len(), "{q}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.labels, y.labels, "{q}");
            assert_eq!(x.points.len(), y.points.len(), "{q}");
            for (p, r) in x.points.iter().zip(&y.points) {
                assert!(p.t == r.t && (p.v - r.v).abs() <= 1e-9 * p.v.abs().max(r.v.abs()), "{q}: {p:?} vs {r:?}");
            }
        }
    }
    newest_reads_match_full_reads(&db, fixture);
    // It keeps working as a live directory: flush the rest and read again,
    // also from the blocks compaction made of the fixture's.
    db.flush().unwrap();
    db.compact().unwrap();
    assert!(same(&read_all(&db), &want));
    newest_reads_match_full_reads(&db, fixture);
}

/// Newest-sample reads (instant selectors, `last_over_time`) answer as
/// full reads, in blocks, at their edges and in the head.
fn newest_reads_match_full_reads(db: &Db, fixture: &str) {
    let times = [0, 3_599_999, 3_600_000, 7_000_000, 4 * 3_600_000 + 60_000, 5 * 3_600_000, 6 * 3_600_000];
    let queries = ["{host=\"golden-1\"}", "last_over_time({host=\"golden-1\"}[1h])", "stale_gauge offset 1m"];
    assert_newest_reads_match_full_reads(db, &times, &queries, fixture);
}

#[test]
fn version_1_directory_opens_and_reads_back_exactly() {
    check("tests/fixtures/v1");
}

#[test]
fn version_2_directory_opens_and_reads_back_exactly() {
    check("tests/fixtures/v2");
}

#[test]
fn version_3_directory_opens_and_reads_back_exactly() {
    check("tests/fixtures/v3");
}

/// Version 4's blocks hold whole Rice escapes (64-bit values), read as
/// such by every later build.
#[test]
fn version_4_directory_opens_and_reads_back_exactly() {
    check("tests/fixtures/v4");
    let blocks = Path::new("tests/fixtures/v4").join("blocks");
    let escapes: u64 = std::fs::read_dir(&blocks)
        .unwrap()
        .flat_map(|b| pulsedb_storage::internals::block_chunk_formats(&b.unwrap().path()).unwrap())
        .map(|(_, _, sized, escapes)| {
            assert!(!sized);
            escapes
        })
        .sum();
    assert!(escapes > 0, "the version 4 fixture holds whole escapes");
}

#[test]
fn version_5_directory_opens_and_reads_back_exactly() {
    check("tests/fixtures/v5");
}

/// Version 6 derives the counter's min and max from its first and last
/// values and leaves out the gauges' corrections: the same data as
/// version 5's fixture takes fewer rollup bytes, and reads the same.
#[test]
fn version_6_directory_opens_and_reads_back_exactly() {
    check("tests/fixtures/v6");
    let rollup_bytes = |fixture: &str| -> u64 {
        let blocks = Path::new(fixture).join("blocks");
        std::fs::read_dir(&blocks)
            .unwrap()
            .map(|b| std::fs::metadata(b.unwrap().path().join("rollups")).unwrap().len())
            .sum()
    };
    let (v5, v6) = (rollup_bytes("tests/fixtures/v5"), rollup_bytes("tests/fixtures/v6"));
    assert!(v6 < v5, "rollups files: version 6 {v6} bytes, version 5 {v5}");
}

/// Version 7 writes every sealed chunk with sized escapes (`golden_meter.rs`
/// holds data that takes codec 5 and escapes too).
#[test]
fn version_7_directory_opens_and_reads_back_exactly() {
    check("tests/fixtures/v7");
    let blocks = Path::new("tests/fixtures/v7").join("blocks");
    for block in std::fs::read_dir(&blocks).unwrap() {
        let formats = pulsedb_storage::internals::block_chunk_formats(&block.unwrap().path()).unwrap();
        assert!(formats.iter().all(|&(_, _, sized, _)| sized), "{formats:?}");
    }
}

/// Appends `expected()` a minute at a time, flushing and compacting after
/// minute 250 (hours 0-4 into blocks); `after(n)` runs after minute `n`.
fn append_expected(db: &Db, mut after: impl FnMut(usize)) {
    let data = expected();
    for n in 0..330usize {
        let mut batch = Batch::new();
        for (labels, samples) in &data {
            batch.add(labels.clone(), [samples[n]]);
        }
        db.append(&batch).unwrap();
        if n == 250 {
            db.flush().unwrap();
            db.compact().unwrap();
        }
        after(n);
    }
}

/// Head checkpoint version 1 with head chunk files version 2: hours 0-4
/// in two compacted blocks; hours 4-5 only in the head, restored from
/// `head.checkpoint` and the closed chunks in `chunks_head/` (the WAL
/// before the checkpoint is deleted); the last half hour in the WAL after it.
#[test]
fn head_checkpoint_version_1_directory_opens_and_reads_back_exactly() {
    let fixture = "tests/fixtures/head-checkpoint-v1";
    assert!(Path::new(fixture).join("head.checkpoint").exists());
    assert!(!Path::new(fixture).join("wal/00000001.wal").exists(), "the WAL before the checkpoint is gone");
    check_with_blocks(fixture, 2);
}

#[test]
#[ignore = "writes the checked-in head checkpoint fixture; run only for a new checkpoint or head chunk file version"]
fn write_checkpoint_golden() {
    let out = Path::new("tests/fixtures/head-checkpoint-v1");
    assert!(!out.exists(), "{} exists: golden fixtures are never regenerated", out.display());
    let db = Db::open(out, options()).unwrap();
    append_expected(&db, |n| {
        if n == 300 {
            db.checkpoint().unwrap();
        }
    });
    // As a crash leaves it: no shutdown snapshot, the tail only in the WAL.
    drop(db);
    for leftover in ["LOCK", "index/LOCK", "index/LOG"] {
        let _ = std::fs::remove_file(out.join(leftover));
    }
}

/// The block format version this build writes (see `storage/docs/format/block.md`).
const CURRENT_VERSION: u32 = 7;

#[test]
#[ignore = "writes the checked-in fixture; run only to create a new format version's fixture"]
fn write_golden() {
    let path = format!("tests/fixtures/v{CURRENT_VERSION}");
    let out = Path::new(&path);
    assert!(!out.exists(), "{path} exists: golden fixtures are never regenerated");
    let db = Db::open(out, options()).unwrap();
    // 5.5 h of data: hours 0-4 in two compacted 2 h blocks, hour 4-5 in a
    // plain 1 h block, the last half hour only in the WAL.
    append_expected(&db, |_| {});
    db.flush().unwrap();
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(out.join("chunks_head")); // rebuilt from the WAL on open
    for leftover in ["LOCK", "index/LOCK", "index/LOG"] {
        let _ = std::fs::remove_file(out.join(leftover));
    }
}
