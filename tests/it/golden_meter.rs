//! Golden fixture `tests/fixtures/v7-meter/`: block format 7's sealed
//! chunks in checked-in bytes, on a household meter's 1-minute readings:
//! a sub-meter idle at 0 and switching to a few levels, active power in
//! steps of 0.002 kW with an appliance switching on and off, a voltage in
//! hundredths (these take value codec 5, varint bytes for the frame's
//! zstd), and a reporter whose readings come a few milliseconds late and
//! stop for hours now and then (its timestamps' Rice groups escape the
//! outages, sized). The test checks that codec 5, the sized-escape flag
//! and sized escapes are in the checked-in bytes, and that the fixture
//! reads back exactly, before and after compaction.
//! Written once by the ignored `write_meter_golden` below, checked in,
//! never regenerated.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use pulsedb::{Batch, Db, Labels, Options, Sample};
use pulsedb_testkit::data_dir::copy_dir;

use super::fixture_reads::{host_bits, to_bits};
use super::golden_scaled::formats;

const FIXTURE: &str = "tests/fixtures/v7-meter";
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
    Labels::metric(name, [("host", "golden-m")])
}

/// Deterministic draws from `seed` (xorshift), in `0..n`.
fn draws(seed: u64, n: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(seed | 1), |x| {
        let mut x = *x;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(x)
    })
    .map(move |x| x % n)
}

fn minutes(values: impl Iterator<Item = f64>) -> Vec<Sample> {
    values.take((END / MIN) as usize).enumerate().map(|(i, v)| Sample::new(i as i64 * MIN, v)).collect()
}

fn expected() -> Vec<(Labels, Vec<Sample>)> {
    // Idle most minutes; on for a while at 17-19 Wh, now and then 1.
    let sub_meter = minutes(draws(5, 1000).scan(0.0, |wh, d| {
        *wh = match (*wh == 0.0, d) {
            (true, 0..=19) => 17.0 + (d % 3) as f64,
            (true, 20..=29) => 1.0,
            (true, _) => 0.0,
            (false, 0..=99) => 0.0,
            (false, 100..=299) => f64::max(1.0, *wh + (d % 3) as f64 - 1.0),
            (false, _) => *wh,
        };
        Some(*wh)
    }));
    // Steps of 0.002 kW, an appliance adding 1.5 kW for a while.
    let power = minutes(draws(9, 1000).scan((400i64, false), |(m, on), d| {
        *m = (*m + (d % 9) as i64 - 4).max(40);
        if d < 8 {
            *on = !*on;
        }
        Some(((*m + if *on { 750 } else { 0 }) * 2) as f64 / 1000.0)
    }));
    let voltage = minutes(draws(13, 81).scan(24_000i64, |cv, d| {
        *cv = (*cv + d as i64 - 40).clamp(22_500, 25_200);
        Some(*cv as f64 / 100.0)
    }));
    // Every minute, up to 30 ms late; an outage of 1-3 hours about once a day.
    let reporter: Vec<Sample> = draws(17, 1440)
        .scan(0i64, |minute, d| {
            *minute += if d == 0 { 60 + (*minute % 121) } else { 1 };
            Some(Sample::new(*minute * MIN + (d % 31) as i64, 1.0))
        })
        .take_while(|s| s.t < END)
        .collect();
    vec![
        (labels("active_power_kw"), power),
        (labels("reporter_up"), reporter),
        (labels("sub_metering_wh"), sub_meter),
        (labels("voltage"), voltage),
    ]
}

#[test]
fn version_7_meter_chunks_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    let found = formats(dir.path());
    assert!(found.iter().any(|&(c, _, _, _)| c == "decimal-delta-bytes"), "the fixture holds codec 5: {found:?}");
    assert!(found.iter().all(|&(_, _, sized, _)| sized), "every version 7 chunk has sized escapes: {found:?}");
    assert!(found.iter().any(|&(_, _, _, escapes)| escapes > 0), "the fixture holds sized escapes: {found:?}");
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(db.stats().unwrap().blocks, 2, "days 0-1 compacted, day 2 a block of its own");
    let want = to_bits(&expected());
    assert_eq!(host_bits(&db, "golden-m"), want);
    db.flush().unwrap();
    db.compact().unwrap();
    assert_eq!(host_bits(&db, "golden-m"), want);
}

#[test]
#[ignore = "writes the checked-in fixture; run only to create it"]
fn write_meter_golden() {
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
