//! Head checkpoints: a restart from a checkpoint and the WAL after it
//! rebuilds exactly the head a full replay builds, however appends,
//! out-of-order samples, flushes and checkpoints interleave; and a damaged
//! checkpoint is an error that names it.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::{Batch, Labels, Matcher, Sample};

fn options() -> Options {
    Options {
        background_maintenance: false,
        // Taken by the tests themselves, at known moments.
        background_checkpoints: false,
        sync: crate::SyncMode::Never,
        block_span: Duration::from_secs(120),
        out_of_order_window: Duration::from_secs(30),
        compaction_spans: vec![Duration::from_secs(120), Duration::from_secs(600)],
        retention: Duration::ZERO,
        wal_segment_size: 16 << 10,
        ..Options::default()
    }
}

/// Every stored sample, by series, value bits exact.
fn everything(storage: &Storage) -> Vec<(String, Vec<(i64, u64)>)> {
    let all = storage.select(&[Matcher::equal("__name__", "m")], i64::MIN, i64::MAX).unwrap();
    all.into_iter().map(|s| (s.labels.to_string(), s.samples.iter().map(|s| (s.t, s.v.to_bits())).collect())).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// What a step of the workload does.
#[derive(Clone, Debug)]
enum Step {
    /// One sample of series `series` at the clock plus `offset` ms (negative: out of order).
    Sample {
        series: u8,
        offset: i32,
        value: i32,
    },
    Checkpoint,
    Flush,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        40 => (0u8..6, -25_000i32..3_000, any::<i32>()).prop_map(|(series, offset, value)| Step::Sample { series, offset, value }),
        1 => Just(Step::Checkpoint),
        1 => Just(Step::Flush),
    ]
}

/// Runs `steps` (a second of clock per step, samples batched by four), leaving
/// the directory as a crash would (no close).
fn run(dir: &Path, steps: &[Step]) {
    let storage = Storage::open(dir, options()).unwrap();
    // Held as a forwarder would, so that no segment is deleted and the same
    // directory without its checkpoint can replay everything.
    let _hold = storage.inner.wal.hold(1);
    let mut clock = 0i64;
    let mut batch = Batch::new();
    for step in steps {
        clock += 1000;
        match step {
            Step::Sample { series, offset, value } => {
                let labels = Labels::metric("m", [("s", series.to_string())]);
                batch.add(labels, [Sample::new(clock + i64::from(*offset), f64::from(*value) / 8.0)]);
                if batch.len() >= 4 {
                    // Refusals (too old) are part of the workload: both replays see the same WAL.
                    let _ = storage.append(&std::mem::take(&mut batch));
                }
            }
            Step::Checkpoint => {
                storage.inner.checkpoint().unwrap();
            }
            Step::Flush => {
                storage.flush().unwrap();
            }
        }
    }
    let _ = storage.append(&batch);
    drop(storage);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn checkpoint_and_tail_rebuild_what_a_full_replay_builds(steps in proptest::collection::vec(step(), 1..1500)) {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("db");
        run(&dir, &steps);
        // Every segment stayed (held), so the same directory without its
        // checkpoint replays the whole WAL.
        let full = root.path().join("full");
        copy_dir(&dir, &full);
        let _ = std::fs::remove_file(full.join(CHECKPOINT_FILE));

        let from_checkpoint = Storage::open(&dir, options()).unwrap();
        let replayed = Storage::open(&full, options()).unwrap();
        let want = everything(&replayed);
        prop_assert_eq!(everything(&from_checkpoint), want.clone());
        let (a, b) = (from_checkpoint.stats().unwrap(), replayed.stats().unwrap());
        prop_assert_eq!((a.head_series, a.head_mint, a.head_maxt), (b.head_series, b.head_mint, b.head_maxt));
        // A graceful close checkpoints everything: the next open replays nothing.
        from_checkpoint.close().unwrap();
        let reopened = Storage::open(&dir, options()).unwrap();
        prop_assert_eq!(everything(&reopened), want);
    }
}

/// Opens `dir` and appends one sample a second for `seconds` s to `m{s="a"}`, the value the second.
fn open_with_one_series(dir: &Path, seconds: i64) -> Storage {
    let storage = Storage::open(dir, options()).unwrap();
    let mut batch = Batch::new();
    batch.add(Labels::metric("m", [("s", "a")]), (0..seconds).map(|i| Sample::new(i * 1000, i as f64)));
    storage.append(&batch).unwrap();
    storage
}

#[test]
fn close_then_open_replays_no_wal_and_later_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let labels = Labels::metric("m", [("s", "a")]);
    open_with_one_series(dir.path(), 500).close().unwrap();

    let storage = Storage::open(dir.path(), options()).unwrap();
    // Replay started at the segment the close opened: nothing before it was read.
    let first_read = storage.inner.last_checkpoint.segment();
    assert!(first_read > 1);
    let mut more = Batch::new();
    more.add(labels.clone(), (500..700).map(|i| Sample::new(i * 1000, i as f64)));
    storage.append(&more).unwrap();
    assert_eq!(everything(&storage)[0].1.len(), 700);
    drop(storage);
    let storage = Storage::open(dir.path(), options()).unwrap();
    let got = &everything(&storage)[0].1;
    assert_eq!(got.len(), 700);
    assert_eq!(got[699], (699_000, 699f64.to_bits()));
}

#[test]
fn wal_before_the_checkpoint_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), options()).unwrap();
    for round in 0..20i64 {
        let mut batch = Batch::new();
        for s in 0..20 {
            let labels = Labels::metric("m", [("s", s.to_string())]);
            batch.add(labels, (0..50).map(|i| Sample::new(round * 50_000 + i * 1000, i as f64)));
        }
        storage.append(&batch).unwrap();
    }
    let before = storage.stats().unwrap().wal_segments;
    let stats = storage.checkpoint().unwrap().unwrap();
    assert_eq!(stats.series, 20);
    let after = storage.stats().unwrap().wal_segments;
    assert!(after < before && after == 1, "{before} segments before, {after} after");
    drop(storage);
    let storage = Storage::open(dir.path(), options()).unwrap();
    let all = everything(&storage);
    assert_eq!(all.len(), 20);
    assert!(all.iter().all(|(_, samples)| samples.len() == 1000));
}

#[test]
fn a_damaged_checkpoint_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    open_with_one_series(dir.path(), 10).close().unwrap();
    let path = dir.path().join(CHECKPOINT_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let err = Storage::open(dir.path(), options()).unwrap_err().to_string();
    assert!(err.contains("head.checkpoint") && err.contains("checksum"), "{err}");
}

/// A window whose samples were all deleted is flushed without a block; its
/// chunk file, which the last checkpoint lists, goes only once a checkpoint
/// that does not list it is durable, so the next open still works.
#[test]
fn a_window_flushed_without_a_block_after_a_checkpoint_does_not_stop_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    // Window 0 (a closed chunk in its file once window 1 starts), then window 1.
    let storage = open_with_one_series(dir.path(), 200);
    storage.checkpoint().unwrap().unwrap();
    assert!(dir.path().join(CHUNKS_HEAD_DIR).join("0.chunks").exists());
    storage.delete_series(&[Matcher::equal("__name__", "m")], 0, 119_999).unwrap();
    assert_eq!(storage.flush().unwrap(), 0, "nothing left to write for window 0");
    assert!(!dir.path().join(CHUNKS_HEAD_DIR).join("0.chunks").exists());
    drop(storage);
    let storage = Storage::open(dir.path(), options()).unwrap();
    let got = &everything(&storage)[0].1;
    assert_eq!(got.len(), 80);
    assert_eq!(got[0].0, 120_000);
}
