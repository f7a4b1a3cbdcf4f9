//! Online snapshots: taken while a writer appends and after data has been
//! flushed and compacted, a snapshot opens as a database of its own with
//! every sample acknowledged before it, and survives the live database
//! compacting away and retention deleting the blocks it links to.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pulsedb::{Batch, Db, Labels, Matcher, Options, Sample};
use pulsedb_testkit::acked::AckedModel;

const HOUR: i64 = 3_600_000;

fn options() -> Options {
    let mut o = Options::default();
    o.background_maintenance = false;
    o.retention = Duration::from_secs(6 * 3600);
    o
}

fn batch(t: i64, series: usize) -> Batch {
    let mut b = Batch::new();
    for s in 0..series {
        b.add(Labels::metric("snap", [("s", s.to_string())]), [Sample::new(t, (t / 1000 + s as i64) as f64)]);
    }
    b
}

#[test]
fn a_snapshot_taken_under_writes_opens_with_everything_acknowledged_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(tmp.path().join("live"), options()).unwrap());
    let mut model = AckedModel::new();
    // 5 h at 1 min: blocks after a flush, the rest in the head.
    for t in (0..5 * HOUR).step_by(60_000) {
        let b = batch(t, 4);
        db.append(&b).unwrap();
        model.record(&b);
    }
    assert!(db.flush().unwrap() >= 2);
    db.compact().unwrap();
    // A writer keeps appending while the snapshot is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut t = 5 * HOUR;
            while !stop.load(Ordering::Relaxed) {
                db.append(&batch(t, 4)).unwrap();
                t += 1_000;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let stats = db.snapshot(tmp.path().join("snap"), false).unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(stats.blocks >= 1 && stats.wal_segments >= 1, "{stats:?}");

    // The live database moves on: more data, a flush, compaction and
    // retention deleting its oldest blocks (which the snapshot links to).
    for t in (6 * HOUR..14 * HOUR).step_by(60_000) {
        db.append(&batch(t, 4)).unwrap();
    }
    db.flush().unwrap();
    db.compact().unwrap();

    let snap = Db::open(tmp.path().join("snap"), options()).unwrap();
    let all = [Matcher::equal("__name__", "snap")];
    let got = AckedModel::read(&snap, &all);
    let missing = model.differences(&got.select(&all, i64::MIN, 5 * HOUR - 1), 10);
    assert!(missing.is_empty(), "{missing:?}");
    assert!(got.samples() > model.samples(), "the writer's samples before the snapshot are there too");
    snap.close().unwrap();
}

#[test]
fn skip_head_keeps_only_the_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path().join("live"), options()).unwrap();
    for t in (0..3 * HOUR).step_by(60_000) {
        db.append(&batch(t, 2)).unwrap();
    }
    db.flush().unwrap();
    let stats = db.snapshot(tmp.path().join("snap"), true).unwrap();
    assert_eq!(stats.wal_segments, 0);
    assert!(db.snapshot(tmp.path().join("snap"), true).is_err(), "an existing target is refused");
    let snap = Db::open(tmp.path().join("snap"), options()).unwrap();
    let got = AckedModel::read(&snap, &[Matcher::equal("__name__", "snap")]);
    // The flushed windows only: hours 0 and 1 (the third is still in the head).
    assert_eq!(got.samples(), 2 * 120, "{}", got.samples());
}
