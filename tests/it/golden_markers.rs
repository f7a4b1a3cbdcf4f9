//! Golden fixture `tests/fixtures/v4-markers/`: block format 4's newest
//! samples when a block's last sample of a series is a staleness marker.
//! The main fixtures (`golden_fixtures.rs`) only end blocks on fresh
//! values, so only the "last value is fresh" flag (2) was in checked-in
//! bytes; this one holds the other two: a series whose block ends on a
//! marker after fresh values (flag 1, with the earlier fresh sample) and
//! one with nothing but markers in a block (flag 0). Written once by the
//! ignored `write_markers_golden` below, checked in, never regenerated.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use pulsedb::{Batch, Db, Labels, Options, Sample};
use pulsedb_testkit::data_dir::copy_dir;

use super::fixture_reads::{host_bits, to_bits};
use super::newest_vs_raw::assert_newest_reads_match_full_reads;

const FIXTURE: &str = "tests/fixtures/v4-markers";
const MIN: i64 = 60_000;
/// Prometheus' staleness marker.
const STALE: u64 = 0x7ff0_0000_0000_0002;

fn options() -> Options {
    let mut o = Options::default();
    o.block_span = Duration::from_secs(3600);
    o.compaction_spans = vec![Duration::from_secs(3600), Duration::from_secs(7200)];
    o.retention = Duration::ZERO;
    o.background_maintenance = false;
    o
}

/// `ends_stale`: a value every minute for 2.5 h, a marker at the end of
/// each hour (minutes 59 and 119). `only_stale`: nothing in hour 0, only
/// markers in hour 1 (minutes 65 to 115), values from hour 2.
fn expected() -> Vec<(Labels, Vec<Sample>)> {
    let stale = f64::from_bits(STALE);
    let ends_stale = (0..150).map(|n: i64| Sample::new(n * MIN, if n % 60 == 59 { stale } else { n as f64 })).collect();
    let only_stale = (65..150)
        .step_by(10)
        .map(|n: i64| Sample::new(n * MIN, if n < 120 { stale } else { n as f64 / 2.0 }))
        .collect();
    vec![
        (Labels::metric("ends_stale", [("host", "golden-m")]), ends_stale),
        (Labels::metric("only_stale", [("host", "golden-m")]), only_stale),
    ]
}

/// Instant selectors and `last_over_time` over the markers answer as full
/// reads do, in the blocks, at their edges and in the head.
fn newest_reads_match_full_reads(db: &Db, when: &str) {
    let times = [30 * MIN, 59 * MIN, 60 * MIN - 1, 60 * MIN, 90 * MIN, 119 * MIN, 120 * MIN, 125 * MIN, 160 * MIN];
    let queries =
        ["ends_stale", "only_stale", "last_over_time({host=\"golden-m\"}[1h])", "{host=\"golden-m\"} offset 1m"];
    assert_newest_reads_match_full_reads(db, &times, &queries, when);
}

#[test]
fn version_4_blocks_ending_on_staleness_markers_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(db.stats().unwrap().blocks, 2, "hours 0 and 1 in blocks of their own");
    let want = to_bits(&expected());
    assert_eq!(host_bits(&db, "golden-m"), want);
    newest_reads_match_full_reads(&db, "as written");
    // Compaction merges the two blocks, carrying each series' newest
    // samples (flags 1 and 0) from its parents' entries.
    db.flush().unwrap();
    db.compact().unwrap();
    assert_eq!(host_bits(&db, "golden-m"), want);
    newest_reads_match_full_reads(&db, "after compaction");
}

#[test]
#[ignore = "writes the checked-in fixture; run only to create it"]
fn write_markers_golden() {
    let out = Path::new(FIXTURE);
    assert!(!out.exists(), "{FIXTURE} exists: golden fixtures are never regenerated");
    let db = Db::open(out, options()).unwrap();
    let data = expected();
    for n in 0..150 {
        let mut batch = Batch::new();
        for (labels, samples) in &data {
            batch.add(labels.clone(), samples.iter().filter(|s| s.t == n * MIN).copied());
        }
        db.append(&batch).unwrap();
    }
    // Hours 0 and 1 into blocks; the last half hour stays in the WAL.
    db.flush().unwrap();
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(out.join("chunks_head"));
    for leftover in ["LOCK", "index/LOCK", "index/LOG"] {
        let _ = std::fs::remove_file(out.join(leftover));
    }
}
