//! Directory states a crash can leave between the steps of a flush or a
//! compaction, rebuilt by hand (copying files from before the step back in
//! after it), and what a reopen makes of each: nothing acknowledged lost,
//! nothing duplicated, no leftover kept, and damage that cannot be a crash
//! refused with a typed error rather than guessed around.
#![allow(clippy::unwrap_used)]

use pulsedb_testkit::acked::AckedModel;
use pulsedb_testkit::data_dir::{block_dirs, copy_dir};

use std::path::Path;
use std::time::Duration;

use pulsedb::{Batch, Db, Error, Labels, Matcher, Options, Sample, SyncMode};

const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % 28_800_000;
const HOUR: i64 = 3_600_000;
const STEP: i64 = 60_000;
const SERIES: usize = 5;

fn options() -> Options {
    let mut o = Options::default();
    o.background_maintenance = false;
    o.sync = SyncMode::Never;
    o.retention = Duration::ZERO;
    o.compaction_spans = vec![Duration::from_secs(2 * 3600), Duration::from_secs(8 * 3600)];
    o
}

fn labels(j: usize) -> Labels {
    Labels::metric("crash_state", [("s", j.to_string())])
}

/// One sample per minute for every series in `[from, to)` (hours after T0),
/// an hour per batch.
fn fill(db: &Db, model: &mut AckedModel, from: i64, to: i64) {
    for hour in from..to {
        let mut batch = Batch::new();
        for j in 0..SERIES {
            let samples: Vec<Sample> = (0..60)
                .map(|m| T0 + hour * HOUR + m * STEP)
                .map(|t| Sample::new(t, (t - T0) as f64 / 1000.0 + j as f64))
                .collect();
            batch.add(labels(j), samples);
        }
        db.append(&batch).unwrap();
        model.record(&batch);
    }
}

/// Every acknowledged sample once, with its value, and nothing else: also
/// counted from the storage's own stats so a sample held twice (block and
/// head) shows even though reads merge duplicates.
#[track_caller]
fn assert_exactly(db: &Db, model: &AckedModel) {
    model.assert_matches(db, &[Matcher::equal("__name__", "crash_state")]);
    let stats = db.stats().unwrap();
    let head_samples: usize = {
        let flushed_until = stats.head_mint.unwrap_or(i64::MAX);
        model.iter().map(|(_, m)| m.range(flushed_until..).count()).sum()
    };
    let total = model.samples();
    assert_eq!(stats.block_samples as usize + head_samples, total, "a sample is held twice or not at all: {stats:?}");
}

fn hidden_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("blocks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// A crash after a flush renamed its block into place but before the WAL
/// segments it covers were deleted: the block and the WAL both hold the
/// window. Replay skips what the block holds, so nothing is doubled, and the
/// head keeps only the rest.
#[test]
fn block_written_but_wal_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let saved = tempfile::tempdir().unwrap();
    let mut model = AckedModel::new();
    let db = Db::open(dir.path(), options()).unwrap();
    fill(&db, &mut model, 0, 5);
    // The WAL as it was before the flush (SyncMode::Never: the bytes are in
    // the page cache, which a copy reads).
    copy_dir(&dir.path().join("wal"), saved.path());
    assert_eq!(db.flush().unwrap(), 2);
    drop(db); // no close: a crash
    std::fs::remove_dir_all(dir.path().join("wal")).unwrap();
    copy_dir(saved.path(), &dir.path().join("wal"));

    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(block_dirs(dir.path()).len(), 2);
    let stats = db.stats().unwrap();
    assert_eq!(stats.head_mint, Some(T0 + 4 * HOUR), "the head holds only what no block has: {stats:?}");
    assert_exactly(&db, &model);
    // Flushing again writes only the rest, not the windows again.
    fill(&db, &mut model, 5, 9);
    assert_eq!(db.flush().unwrap(), 2);
    assert_eq!(block_dirs(dir.path()).len(), 4);
    assert_exactly(&db, &model);
    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    assert_exactly(&db, &model);
}

/// A crash in the middle of a compaction, after the merged block was
/// renamed into place but before its parents were deleted: the child names
/// its parents in `meta.json`, so open deletes the parents and keeps the
/// child, rather than refusing two overlapping blocks or counting twice.
#[test]
fn compaction_child_written_parents_not_removed() {
    let dir = tempfile::tempdir().unwrap();
    let saved = tempfile::tempdir().unwrap();
    let mut model = AckedModel::new();
    let db = Db::open(dir.path(), options()).unwrap();
    fill(&db, &mut model, 0, 9);
    assert_eq!(db.flush().unwrap(), 4);
    let parents = block_dirs(dir.path());
    for p in &parents {
        copy_dir(p, &saved.path().join(p.file_name().unwrap()));
    }
    db.compact().unwrap();
    assert_eq!(block_dirs(dir.path()).len(), 1);
    drop(db);
    for p in &parents {
        copy_dir(&saved.path().join(p.file_name().unwrap()), p);
    }
    assert_eq!(block_dirs(dir.path()).len(), 5, "child and its four parents");

    let db = Db::open(dir.path(), options()).unwrap();
    let blocks = block_dirs(dir.path());
    assert_eq!(blocks.len(), 1, "parents removed on open: {blocks:?}");
    assert!(!parents.contains(&blocks[0]), "the child is kept");
    assert_eq!(db.stats().unwrap().blocks, 1);
    assert_exactly(&db, &model);
    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    assert_exactly(&db, &model);
}

/// A crash while a flush was writing its block: a `.tmp-` directory with a
/// half-written `meta.json` (and whatever else got written). The block was
/// never renamed into place, so the WAL still holds its window: open removes
/// the directory and replays the window into the head. The same for a
/// compaction's temporary child (its parents are still registered) and a
/// half-done removal (`.deleted-`).
#[test]
fn half_written_meta_json_and_leftover_temp_directories_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = AckedModel::new();
    let db = Db::open(dir.path(), options()).unwrap();
    fill(&db, &mut model, 0, 5);
    assert_eq!(db.flush().unwrap(), 2, "[0, 4h) in blocks");
    db.close().unwrap();
    let blocks = block_dirs(dir.path());
    // A flush of [4h, 6h) interrupted while writing meta.json: a copy of a
    // real block with its meta.json cut in half.
    let tmp = dir.path().join("blocks/.tmp-01JFLUSHINTERRUPTED0000000");
    copy_dir(&blocks[1], &tmp);
    let meta = std::fs::read(tmp.join("meta.json")).unwrap();
    std::fs::write(tmp.join("meta.json"), &meta[..meta.len() / 2]).unwrap();
    // A compaction's child that never got its meta.json, and a removal that
    // renamed the block away but did not finish deleting it.
    let child = dir.path().join("blocks/.tmp-01JCOMPACTINTERRUPTED000000");
    copy_dir(&blocks[0], &child);
    std::fs::remove_file(child.join("meta.json")).unwrap();
    copy_dir(&blocks[0], &dir.path().join("blocks/.deleted-01JREMOVALINTERRUPTED0000"));
    assert_eq!(hidden_entries(dir.path()).len(), 3);

    let db = Db::open(dir.path(), options()).unwrap();
    assert!(hidden_entries(dir.path()).is_empty(), "{:?}", hidden_entries(dir.path()));
    assert_eq!(block_dirs(dir.path()), blocks);
    assert_exactly(&db, &model);
    fill(&db, &mut model, 5, 9);
    assert_eq!(db.flush().unwrap(), 2, "[4h, 8h) written normally");
    assert_exactly(&db, &model);
}

/// A `meta.json` cut short inside a block that has its final name cannot
/// come from a crash (it is fsynced before the rename); it is damage. Open
/// refuses with `Error::Corruption` naming the file, rather than dropping the
/// block's samples or guessing its window; `pulsedb check` names it too.
#[test]
fn truncated_meta_json_in_a_registered_block_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = AckedModel::new();
    let db = Db::open(dir.path(), options()).unwrap();
    fill(&db, &mut model, 0, 5);
    assert_eq!(db.flush().unwrap(), 2);
    db.close().unwrap();
    let meta_path = block_dirs(dir.path())[0].join("meta.json");
    let meta = std::fs::read(&meta_path).unwrap();
    std::fs::write(&meta_path, &meta[..meta.len() / 2]).unwrap();

    let err = Db::open(dir.path(), options()).unwrap_err();
    assert!(matches!(&err, Error::Corruption { file, .. } if file == &meta_path), "{err:?}");
    assert!(err.to_string().contains("meta.json"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pulsedb")).arg("check").arg(dir.path()).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("meta.json"), "{report}");
}
