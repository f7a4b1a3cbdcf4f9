//! Golden fixtures of three days of data in day blocks (`golden_scaled.rs`,
//! `golden_meter.rs`): their options, deterministic draws, writing one
//! once, and checking that it reads back exactly, before and after its
//! WAL's tail is flushed and compacted with the blocks.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use pulsedb::{Batch, Db, Labels, Options, Sample};
use pulsedb_testkit::data_dir::copy_dir;

use super::fixture_reads::{host_bits, to_bits};

pub(crate) const MIN: i64 = 60_000;
pub(crate) const DAY: i64 = 24 * 60 * MIN;
/// Three days of data.
pub(crate) const END: i64 = 3 * DAY;

pub(crate) fn options() -> Options {
    let mut o = Options::default();
    o.block_span = Duration::from_secs(86_400);
    o.compaction_spans = vec![Duration::from_secs(86_400), Duration::from_secs(2 * 86_400)];
    o.retention = Duration::ZERO;
    o.background_maintenance = false;
    o
}

/// Deterministic draws from `seed` (xorshift), in `0..n`.
pub(crate) fn draws(seed: u64, n: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(seed | 1), |x| {
        let mut x = *x;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(x)
    })
    .map(move |x| x % n)
}

/// The value codec, timestamp form, sized-escape flag and escape count of
/// every chunk in the blocks of `dir`, each combination once.
pub(crate) fn formats(dir: &Path) -> Vec<(&'static str, u8, bool, u64)> {
    let mut all = Vec::new();
    for block in std::fs::read_dir(dir.join("blocks")).unwrap() {
        all.extend(pulsedb_storage::internals::block_chunk_formats(&block.unwrap().path()).unwrap());
    }
    all.sort();
    all.dedup();
    all
}

/// Opens a copy of `fixture`: days 0-1 compacted into one block, day 2 in
/// one of its own; `host`'s series read back as `data`, and again once the
/// WAL's tail is flushed and compacted with them.
pub(crate) fn reads_back_exactly(fixture: &str, host: &str, data: &[(Labels, Vec<Sample>)]) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(fixture), dir.path());
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(db.stats().unwrap().blocks, 2, "days 0-1 compacted, day 2 a block of its own");
    let want = to_bits(data);
    assert_eq!(host_bits(&db, host), want);
    db.flush().unwrap();
    db.compact().unwrap();
    assert_eq!(host_bits(&db, host), want);
}

/// Writes `data` as the fixture `out` (which must not exist: golden
/// fixtures are never regenerated).
pub(crate) fn write(out: &str, data: Vec<(Labels, Vec<Sample>)>) {
    let out = Path::new(out);
    assert!(!out.exists(), "{} exists: golden fixtures are never regenerated", out.display());
    let db = Db::open(out, options()).unwrap();
    for (labels, samples) in data {
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
