//! Damage is found and named: a flipped byte in a block's chunk file is an
//! `Error::Corruption` naming the file and offset on the query that touches
//! it, while the other blocks keep answering; `pulsedb check` verifies every
//! checksum, reports each damaged file, and exits non-zero.
#![allow(clippy::unwrap_used)]

use pulsedb_testkit::data_dir::block_dirs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pulsedb::{Batch, Db, Error, Labels, Matcher, Options, Sample};

const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % 7_200_000;
const HOUR: i64 = 3_600_000;

fn options() -> Options {
    let mut o = Options::default();
    o.background_maintenance = false;
    o.retention = Duration::from_secs(10 * 365 * 86_400);
    o.wal_segment_size = 64 << 10;
    o
}

/// Three 2 h blocks of 20 series at 10 s.
fn write_blocks(dir: &Path) {
    let db = Db::open(dir, options()).unwrap();
    for step in 0..(6 * 360 + 360) {
        let mut b = Batch::new();
        for s in 0..20 {
            b.push(Labels::metric("temp", [("s", s.to_string())]), T0 + step * 10_000, (step * s) as f64 * 0.25);
        }
        db.append(&b).unwrap();
    }
    assert_eq!(db.flush().unwrap(), 3);
    db.close().unwrap();
}

fn check(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pulsedb")).arg("check").arg(dir).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

fn flip(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn flipped_chunk_byte_is_named_and_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_blocks(dir);
    let (ok, text) = check(dir);
    assert!(ok, "{text}");
    assert!(text.contains("blocks: 3") && text.contains("OK: every checksum verified"), "{text}");

    let blocks = block_dirs(dir);
    assert_eq!(blocks.len(), 3);
    let chunks = blocks[1].join("chunks");
    let len = std::fs::metadata(&chunks).unwrap().len();
    flip(&chunks, len / 2);

    let db = Db::open(dir, options()).unwrap();
    let all = [Matcher::equal("__name__", "temp")];
    match db.select(&all, T0 + 2 * HOUR, T0 + 4 * HOUR - 1) {
        Err(Error::Corruption { file, offset, kind }) => {
            assert_eq!(file, chunks, "the error names the damaged file");
            assert!(offset > 0 && offset <= len, "offset {offset}");
            assert!(!kind.is_empty());
        }
        other => panic!("expected a corruption error, got {other:?}"),
    }
    for (mint, maxt) in [(T0, T0 + 2 * HOUR - 1), (T0 + 4 * HOUR, T0 + 6 * HOUR - 1)] {
        let series = db.select(&all, mint, maxt).unwrap();
        assert_eq!(series.len(), 20);
        assert!(series.iter().all(|s| s.samples.len() == 720), "the undamaged blocks answer in full");
    }
    // The head (the last hour, never flushed) answers too.
    let head: Vec<Sample> = db.select(&all, T0 + 6 * HOUR, i64::MAX).unwrap().remove(0).samples;
    assert_eq!(head.len(), 360);
    db.close().unwrap();

    let (ok, text) = check(dir);
    assert!(!ok, "check must fail on damage: {text}");
    assert!(text.contains("DAMAGED") && text.contains(&chunks.display().to_string()), "{text}");
    assert!(!text.contains(&blocks[0].display().to_string()), "only the damaged block is reported: {text}");
}

#[test]
fn damaged_wal_segment_is_reported_and_torn_tail_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = Db::open(dir, options()).unwrap();
    for step in 0..2000 {
        let mut b = Batch::new();
        for s in 0..10 {
            b.push(Labels::metric("w", [("s", s.to_string())]), T0 + step * 1000, step as f64);
        }
        db.append(&b).unwrap();
    }
    db.close().unwrap();
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir.join("wal")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    assert!(segments.len() >= 3, "{segments:?}");

    // A torn tail on the last segment is normal after a crash: not damage.
    let last = segments.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(last).unwrap().set_len(len - 3).unwrap();
    let (ok, text) = check(dir);
    assert!(ok, "{text}");
    assert!(text.contains("WAL torn tail"), "{text}");

    // A flipped byte in an earlier segment is damage, named by segment and offset.
    flip(&segments[0], 4000);
    let (ok, text) = check(dir);
    assert!(!ok, "{text}");
    assert!(text.contains("DAMAGED: WAL") && text.contains("segment 1 is damaged at byte"), "{text}");
}
