//! A WAL damaged outside its tail stops the directory from opening with an
//! error naming the segment and offset; `pulsedb repair-wal` truncates it
//! there, and what came before the damage is served again.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use pulsedb::{Batch, Db, Error, Labels, Matcher, Options};

fn options() -> Options {
    let mut o = Options::default();
    o.background_maintenance = false;
    // No checkpoint: open must read every segment, the damaged one too.
    o.background_checkpoints = false;
    o.wal_segment_size = 1024; // several segments
    o
}

#[test]
fn middle_segment_corruption_is_refused_then_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    for i in 0..200i64 {
        let mut batch = Batch::new();
        batch.push(Labels::metric("m", [("i", (i % 5).to_string())]), 1_000 * i, i as f64);
        db.append(&batch).unwrap();
    }
    // As a crash leaves it: a close would checkpoint the head, and the next
    // open would not read these segments at all.
    drop(db);

    let mut segments: Vec<_> = std::fs::read_dir(dir.path().join("wal")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    assert!(segments.len() >= 4, "{} segments", segments.len());
    let victim = &segments[1];
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(victim, &bytes).unwrap();

    let err = Db::open(dir.path(), options()).unwrap_err();
    assert!(matches!(err, Error::Wal(pulsedb_wal::Error::Corruption { .. })), "{err}");
    assert!(err.to_string().contains("00000002.wal"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_pulsedb")).arg("repair-wal").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("truncated at segment 00000002.wal"), "{report}");

    let db = Db::open(dir.path(), options()).unwrap();
    let series = db.select(&[Matcher::equal("__name__", "m")], i64::MIN, i64::MAX).unwrap();
    let samples: usize = series.iter().map(|s| s.samples.len()).sum();
    assert!(samples > 0 && samples < 200, "kept the samples before the damage: {samples}");
    // Every kept sample is one of the first ones written, in order.
    let mut kept: Vec<i64> = series.iter().flat_map(|s| s.samples.iter().map(|x| x.t)).collect();
    kept.sort_unstable();
    assert_eq!(kept, (0..samples as i64).map(|i| i * 1000).collect::<Vec<_>>());
}
