//! Golden fixture `tests/fixtures/v5-scaled/`: block format 5's scaled
//! sealed chunks in checked-in bytes. The main fixtures' regular data
//! never needs them; this one holds data that does: timestamps at
//! irregular whole minutes and every 5 minutes with missing intervals
//! (scaled deltas), a reporter backing off a minute or two more each time
//! (scaled dods), readings in steps of 0.002 (scaled mantissa deltas) and
//! a counter in steps of 250 at a varying rate (scaled mantissa dods); the
//! test checks that each form and codec is in the checked-in bytes.
//! Written once by the ignored `write_scaled_golden` below, checked in,
//! never regenerated.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use pulsedb::{Batch, Db, Labels, Options, Sample};
use pulsedb_testkit::data_dir::copy_dir;

use super::fixture_reads::{host_bits, to_bits};

const FIXTURE: &str = "tests/fixtures/v5-scaled";
const MIN: i64 = 60_000;
const DAY: i64 = 24 * 60 * MIN;
/// Three days of data.
const END: i64 = 3 * DAY;

fn options() -> Options {
    let mut o = Options::default();
    o.block_span = Duration::from_secs(86_400);
    o.compaction_spans = vec![Duration::from_secs(86_400), Duration::from_secs(2 * 86_400)];
    o.retention = Duration::ZERO;
    o.background_maintenance = false;
    o
}

fn labels(name: &str) -> Labels {
    Labels::metric(name, [("host", "golden-s")])
}

/// Deterministic steps from `seed` (xorshift), in `0..n`.
fn steps(seed: u64, n: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(seed | 1), |x| {
        let mut x = *x;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(x)
    })
    .map(move |x| x % n)
}

fn expected() -> Vec<(Labels, Vec<Sample>)> {
    let gaps = [4, 5, 5, 5, 6, 9, 10, 15, 20];
    let mut t = 0;
    let speed = steps(7, 9)
        .zip(steps(11, 7))
        .map_while(|(gap, change)| {
            t += gaps[gap as usize] * MIN;
            (t < END).then_some((t, change as f64))
        })
        .scan(60.0, |v, (t, change)| {
            *v = f64::max(0.0, *v + change - 3.0);
            Some(Sample::new(t, *v))
        })
        .collect();
    let five_min = (0..END / (5 * MIN))
        .filter(|i| i % 13 != 5 && i % 29 != 3)
        .map(|i| Sample::new(i * 5 * MIN, (i % 17) as f64 * 0.5))
        .collect();
    let power = steps(3, 41)
        .take((END / MIN) as usize)
        .scan(500i64, |m, change| {
            *m = (*m + change as i64 - 20).max(0);
            Some(*m)
        })
        .enumerate()
        .map(|(i, m)| Sample::new(i as i64 * MIN, (m * 2) as f64 / 1000.0))
        .collect();
    let counter = (0..END / MIN).map(|i| Sample::new(i * MIN, ((i * i / 7) * 250) as f64)).collect();
    // Gaps growing by one or two minutes, back to one minute every 40 samples.
    let backing_off = (0..)
        .scan((0, 0), |(t, gap), i: i64| {
            *gap = if i % 40 == 0 { MIN } else { *gap + (1 + i % 2) * MIN };
            *t += *gap;
            Some(Sample::new(*t, (i % 40) as f64))
        })
        .take_while(|s| s.t < END)
        .collect();
    vec![
        (labels("backing_off"), backing_off),
        (labels("power_kw"), power),
        (labels("speed_irregular"), speed),
        (labels("up_every_5m"), five_min),
        (labels("wh_total"), counter),
    ]
}

/// The value codecs, timestamp forms and escapes of every chunk in the
/// blocks of `dir` (also for `golden_meter.rs`).
pub(super) fn formats(dir: &Path) -> Vec<(&'static str, u8, bool, u64)> {
    let mut all = Vec::new();
    for block in std::fs::read_dir(dir.join("blocks")).unwrap() {
        all.extend(pulsedb_storage::internals::block_chunk_formats(&block.unwrap().path()).unwrap());
    }
    all.sort();
    all.dedup();
    all
}

#[test]
fn version_5_scaled_chunks_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    let found = formats(dir.path());
    for codec in ["decimal-delta-scaled", "decimal-dod-scaled"] {
        assert!(found.iter().any(|&(c, _, _, _)| c == codec), "the fixture holds {codec}: {found:?}");
    }
    for form in [1, 2] {
        assert!(found.iter().any(|&(_, f, _, _)| f == form), "the fixture holds timestamp form {form}: {found:?}");
    }
    assert!(found.iter().all(|&(_, _, sized, _)| !sized), "version 5 chunks have head bit 6 clear: {found:?}");
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(db.stats().unwrap().blocks, 2, "days 0-1 compacted, day 2 a block of its own");
    let want = to_bits(&expected());
    assert_eq!(host_bits(&db, "golden-s"), want);
    // And once the WAL's tail is flushed and compacted with them.
    db.flush().unwrap();
    db.compact().unwrap();
    assert_eq!(host_bits(&db, "golden-s"), want);
}

#[test]
#[ignore = "writes the checked-in fixture; run only to create it"]
fn write_scaled_golden() {
    let out = Path::new(FIXTURE);
    assert!(!out.exists(), "{FIXTURE} exists: golden fixtures are never regenerated");
    let db = Db::open(out, options()).unwrap();
    for (labels, samples) in expected() {
        let mut batch = Batch::new();
        batch.add(labels, samples);
        db.append(&batch).unwrap();
    }
    // A sample of another host two days on moves the head past day 2, so
    // all three days go into blocks (days 0 and 1 compacted into one); it
    // stays in the WAL.
    let mut push = Batch::new();
    push.push(Labels::metric("marker", [("host", "other")]), END + DAY + 3_600_000, 1.0);
    db.append(&push).unwrap();
    db.flush().unwrap();
    db.compact().unwrap();
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(out.join("chunks_head"));
    for leftover in ["LOCK", "index/LOCK", "index/LOG"] {
        let _ = std::fs::remove_file(out.join(leftover));
    }
}
