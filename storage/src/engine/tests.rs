//! Engine tests that need its insides: failures injected into block writes
//! (`crate::fault`) and WAL writes (`pulsedb_wal::Fault`), head chunk files
//! corrupted under a running instance, a flush racing an append. Each test
//! ends by reopening the directory and checking that every acknowledged
//! sample is still there.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::fault::Fault;
use crate::{Batch, Labels, Matcher, Sample};

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn options() -> Options {
    Options {
        background_maintenance: false,
        sync: crate::SyncMode::Never,
        // Merge four 2 h windows into 8 h, so compaction runs within the few
        // hours of data these tests write.
        compaction_spans: vec![Duration::from_secs(2 * 3600), Duration::from_secs(8 * 3600)],
        ..Options::default()
    }
}

fn open(dir: &Path) -> Storage {
    Storage::open(dir, options()).unwrap()
}

fn host(h: usize) -> Labels {
    Labels::metric("m", [("host", format!("h{h}"))])
}

/// What a test appended and was acknowledged: labels → t → value bits.
type Model = BTreeMap<String, BTreeMap<i64, u64>>;

/// Appends one sample per minute in `[from, to)` for `hosts` series, an
/// hour per batch; records what was acknowledged in `model`.
fn fill(storage: &Storage, model: &mut Model, hosts: usize, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        let end = (t + HOUR).min(to);
        let mut batch = Batch::new();
        for h in 0..hosts {
            let samples: Vec<Sample> =
                (t..end).step_by(MIN as usize).map(|t| Sample::new(t, (t / MIN) as f64 + h as f64)).collect();
            for s in &samples {
                model.entry(host(h).to_string()).or_default().insert(s.t, s.v.to_bits());
            }
            batch.add(host(h), samples);
        }
        storage.append(&batch).unwrap();
        t = end;
    }
}

fn stored(storage: &Storage) -> Model {
    let mut out = Model::new();
    for s in storage.select(&[Matcher::equal("__name__", "m")], i64::MIN, i64::MAX).unwrap() {
        out.insert(s.labels.to_string(), s.samples.iter().map(|s| (s.t, s.v.to_bits())).collect());
    }
    out
}

/// Block directories on disk (registered or not), by name.
fn block_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(BLOCKS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn samples_in(model: &Model) -> usize {
    model.values().map(BTreeMap::len).sum()
}

/// Every acknowledged sample is selectable, with its value, and nothing else is.
#[track_caller]
fn assert_all_there(storage: &Storage, model: &Model) {
    let got = stored(storage);
    for (series, want) in model {
        let have = got.get(series);
        let missing: Vec<i64> =
            want.iter().filter(|&(t, v)| have.and_then(|h| h.get(t)) != Some(v)).map(|(t, _)| *t).collect();
        assert!(
            missing.is_empty(),
            "{series}: {} of {} samples missing or wrong, t={}..={}",
            missing.len(),
            want.len(),
            missing[0],
            missing[missing.len() - 1]
        );
    }
    assert_eq!(got.len(), model.len(), "series");
    assert_eq!(samples_in(&got), samples_in(model), "samples");
}

/// A flush that fails writing its block (a full disk) must not advance
/// anything the next flush, WAL truncation or compaction trust: the next
/// flush writes the same window again, and after compaction and a reopen
/// every acknowledged sample is there.
#[test]
fn failed_flush_is_retried_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 3, 0, 3 * HOUR);
    assert_eq!(storage.flush().unwrap(), 1, "[0, 2h) written");
    fill(&storage, &mut model, 3, 3 * HOUR, 9 * HOUR);

    storage.inner.faults.arm(Fault::BlockWriteNoSpace);
    let err = storage.flush().unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    assert_all_there(&storage, &model);

    // The maintenance thread retries; so does this. The failed window
    // [2h, 4h) comes first, then [4h, 6h) and [6h, 8h).
    assert_eq!(storage.flush().unwrap(), 3);
    assert_all_there(&storage, &model);
    // Compaction may now merge [0, 8h): every window of it is in a block.
    storage.compact().unwrap();
    assert_eq!(block_dirs(dir.path()).len(), 1, "{:?}", block_dirs(dir.path()));
    assert_all_there(&storage, &model);
    storage.close().unwrap();

    let storage = open(dir.path());
    assert_all_there(&storage, &model);
}

/// After a failed flush the WAL keeps the window (truncation keys on what
/// blocks hold, not on `min_valid`) and compaction leaves it alone, so a
/// crash before the retry recovers every sample from the WAL.
#[test]
fn failed_flush_keeps_its_wal_until_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 2, 0, 3 * HOUR);
    assert_eq!(storage.flush().unwrap(), 1);
    fill(&storage, &mut model, 2, 3 * HOUR, 9 * HOUR);
    storage.inner.faults.arm(Fault::BlockWriteNoSpace);
    storage.flush().unwrap_err();
    // What a later flush does after its windows; segment 1 ([0, 3h)) must stay.
    storage.inner.truncate_wal().unwrap();
    storage.compact().unwrap();
    assert_eq!(block_dirs(dir.path()).len(), 1);
    drop(storage); // no retry: recovery must find [2h, 9h) in the WAL

    let storage = open(dir.path());
    assert_all_there(&storage, &model);
}

/// Opening the block just written fails (after its rename): the block is
/// removed, so the retry does not write a second block for the window.
#[test]
fn flushed_block_that_cannot_be_opened_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 2, 0, 5 * HOUR);
    storage.inner.faults.arm(Fault::BlockOpenFails);
    storage.flush().unwrap_err();
    assert_eq!(storage.flush().unwrap(), 2);
    storage.close().unwrap();

    let storage = Storage::open(dir.path(), options()).expect("no overlapping blocks");
    assert_eq!(block_dirs(dir.path()).len(), 2, "{:?}", block_dirs(dir.path()));
    assert_all_there(&storage, &model);
}

/// The same for compaction: a merged block left on disk unregistered would
/// get a twin from the retry, with the same parents, and open would refuse
/// the overlapping pair.
#[test]
fn merged_block_that_cannot_be_opened_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 2, 0, 9 * HOUR);
    assert_eq!(storage.flush().unwrap(), 4);
    storage.inner.faults.arm(Fault::BlockOpenFails);
    storage.compact().unwrap_err();
    storage.compact().unwrap();
    storage.close().unwrap();

    let storage = Storage::open(dir.path(), options()).expect("no overlapping blocks");
    assert_eq!(block_dirs(dir.path()).len(), 1, "one merged block: {:?}", block_dirs(dir.path()));
    assert_all_there(&storage, &model);
}

/// When the unregistered block cannot be removed either, it is removed
/// before the next block is written, and nothing is written until then.
#[test]
fn unremovable_block_blocks_writes_until_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 2, 0, 5 * HOUR);
    storage.inner.faults.arm(Fault::BlockOpenFails);
    storage.inner.faults.arm(Fault::BlockRemoveFails);
    storage.flush().unwrap_err();
    assert_eq!(block_dirs(dir.path()).len(), 1, "the orphan");
    storage.inner.faults.arm(Fault::BlockRemoveFails);
    storage.flush().unwrap_err();
    storage.inner.faults.arm(Fault::BlockRemoveFails);
    storage.compact().unwrap_err();
    assert_eq!(block_dirs(dir.path()).len(), 1, "nothing written while the orphan stays");
    assert_eq!(storage.flush().unwrap(), 2);
    assert_eq!(block_dirs(dir.path()).len(), 2);
    assert_all_there(&storage, &model);
    storage.close().unwrap();

    let storage = open(dir.path());
    assert_all_there(&storage, &model);
}

/// A flush picks its window without the append lock; a batch validated
/// before the window's `min_valid` raise can still bring a new series with
/// older samples. The flush writes their window first instead of dropping
/// them with the head.
#[test]
fn flush_writes_older_samples_that_arrived_after_the_window_was_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 1, 2 * HOUR, 5 * HOUR);
    let (start, end) = storage.inner.next_flushable_window(super::flush::Ready::Passed).unwrap();
    assert_eq!((start, end), (2 * HOUR, 4 * HOUR));
    // Arrives between choosing the window and raising min_valid.
    let mut batch = Batch::new();
    batch.push(host(7), HOUR, 1.0);
    storage.append(&batch).unwrap();
    model.entry(host(7).to_string()).or_default().insert(HOUR, 1.0f64.to_bits());

    assert!(storage.inner.flush_window(start, end).unwrap());
    storage.flush().unwrap();
    assert_eq!(block_dirs(dir.path()).len(), 2);
    assert_all_there(&storage, &model);
    storage.close().unwrap();

    let storage = open(dir.path());
    assert_all_there(&storage, &model);
}

/// A batch whose WAL write fails must not leave its new series in the head:
/// the next batch for them would find them there and write no series
/// record, and after an OS crash (the label index's unsynced writes lost)
/// replay would meet samples for a ref it does not know and refuse to open.
#[test]
fn failed_wal_write_does_not_hide_a_new_series_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 1, 0, HOUR);
    let mut batch = Batch::new();
    batch.push(host(1), HOUR, 1.0).push(host(2), HOUR, 2.0).push(host(0), HOUR, 0.5);
    storage.inner.wal.inject_fault(pulsedb_wal::Fault::WriteFailsNoSpace);
    let err = storage.append(&batch).unwrap_err();
    assert!(matches!(err, Error::Wal(_)), "{err}");
    assert_eq!(storage.stats().unwrap().head_series, 1, "no series entered the head");
    assert_all_there(&storage, &model);

    fill(&storage, &mut model, 3, HOUR, 2 * HOUR);
    assert_all_there(&storage, &model);
    drop(storage);
    // What an OS crash can do to RocksDB's unsynced log: the WAL alone must
    // be enough to rebuild the head and its series.
    std::fs::remove_dir_all(dir.path().join(INDEX_DIR)).unwrap();

    let storage = Storage::open(dir.path(), options()).expect("replay knows every series");
    assert_all_there(&storage, &model);
    assert_eq!(storage.label_values("host", &[]).unwrap(), vec!["h0", "h1", "h2"]);
}

/// `max_new_series_per_minute`: a batch bringing more new series than the
/// last minute leaves room for is refused whole with `SeriesRateLimit`;
/// series already in the head keep ingesting; a minute later there is room
/// again; and what was refused was never written (a reopen finds only what
/// was acknowledged).
#[test]
fn series_creation_rate_is_limited_per_minute() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options();
    o.max_new_series_per_minute = Some(5);
    let storage = Storage::open(dir.path(), o.clone()).unwrap();
    let mut model = Model::new();
    fill(&storage, &mut model, 3, 0, HOUR);
    fill(&storage, &mut model, 5, HOUR, 2 * HOUR); // two more: the limit

    let mut batch = Batch::new();
    batch.push(host(0), 2 * HOUR, 1.0).push(host(5), 2 * HOUR, 1.0);
    let err = storage.append(&batch).unwrap_err();
    assert!(
        matches!(&err, Error::SeriesRateLimit { created: 5, limit: 5, series } if series.contains("h5")),
        "{err:?}"
    );
    assert!(err.to_string().contains("the limit is 5 per minute"), "{err}");
    // Refused whole: host 0 did not get its sample either; it still ingests alone.
    assert_all_there(&storage, &model);
    fill(&storage, &mut model, 5, 2 * HOUR, 3 * HOUR);
    assert_eq!(storage.stats().unwrap().head_series, 5);

    // A minute later (moving the limiter's clock origin back) there is room again.
    {
        let mut state = storage.inner.append.lock();
        state.opened = state.opened.checked_sub(Duration::from_secs(61)).unwrap();
    }
    fill(&storage, &mut model, 10, 3 * HOUR, 4 * HOUR);
    let err = storage.append(Batch::new().push(host(10), 4 * HOUR, 1.0)).unwrap_err();
    assert!(matches!(err, Error::SeriesRateLimit { created: 5, .. }), "{err:?}");
    assert_all_there(&storage, &model);
    storage.close().unwrap();

    let storage = Storage::open(dir.path(), o).unwrap();
    assert_all_there(&storage, &model);
    assert_eq!(storage.stats().unwrap().head_series, 10);
}

#[test]
fn zero_series_per_minute_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options();
    o.max_new_series_per_minute = Some(0);
    let err = Storage::open(dir.path(), o).unwrap_err();
    assert!(matches!(err, Error::InvalidOptions(_)), "{err:?}");
}

/// An error and all its sources, as one string.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out += &format!(": {s}");
        source = s.source();
    }
    out
}

/// Sorted names of the `blocks/` entries starting with `.` (temporary or
/// half-deleted directories).
fn hidden_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(BLOCKS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// A failed WAL fsync poisons the store: the append whose fsync failed is
/// not acknowledged, every later append (of known or new series) fails with
/// `Error::Poisoned` naming the fsync, flushes fail rather than truncate the
/// WAL, reads keep answering, and a reopen recovers every acknowledged
/// sample (plus, at most, the unacknowledged batch, which reached the page
/// cache before its fsync failed).
#[test]
fn failed_fsync_poisons_storage_and_nothing_is_acknowledged_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options();
    o.sync = crate::SyncMode::Always;
    let storage = Storage::open(dir.path(), o.clone()).unwrap();
    let mut model = Model::new();
    fill(&storage, &mut model, 2, 0, 3 * HOUR);

    storage.inner.wal.inject_fault(pulsedb_wal::Fault::FsyncFails);
    let mut unacked = Batch::new();
    unacked.push(host(0), 3 * HOUR, 42.0);
    let err = storage.append(&unacked).unwrap_err();
    assert!(matches!(&err, Error::Poisoned(m) if m.contains("fsync") && m.contains("injected fault")), "{err:?}");
    assert!(err.to_string().contains("accepts no more writes"), "{err}");
    for (i, batch) in [Batch::new().push(host(1), 3 * HOUR, 1.0).clone(), Batch::new().push(host(9), 0, 1.0).clone()]
        .iter()
        .enumerate()
    {
        let err = storage.append(batch).unwrap_err();
        assert!(matches!(&err, Error::Poisoned(m) if m.contains("fsync")), "append {i}: {err:?}");
    }
    assert!(matches!(storage.flush().unwrap_err(), Error::Poisoned(_)), "flush must not truncate the WAL");
    // Reads keep working, and see the unacknowledged sample (it is in the head).
    let got = stored(&storage);
    assert_eq!(got[&host(1).to_string()], model[&host(1).to_string()]);
    assert_eq!(got[&host(0).to_string()].len(), model[&host(0).to_string()].len() + 1);
    assert!(storage.close().is_err(), "close reports the poison");

    let storage = Storage::open(dir.path(), o).unwrap();
    let mut with_unacked = model.clone();
    with_unacked.get_mut(&host(0).to_string()).unwrap().insert(3 * HOUR, 42.0f64.to_bits());
    assert_all_there(&storage, &with_unacked);
    // The reopened store accepts writes again.
    fill(&storage, &mut with_unacked, 2, 4 * HOUR, 5 * HOUR);
    assert_all_there(&storage, &with_unacked);
}

/// ENOSPC on a WAL append: a clear error naming the full disk, the batch
/// not applied, reads unaffected; once space is free (the fault is
/// one-shot) appends succeed again, and a reopen has exactly what was acknowledged.
#[test]
fn wal_append_out_of_space_fails_clearly_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 2, 0, HOUR);
    storage.inner.wal.inject_fault(pulsedb_wal::Fault::WriteFailsNoSpace);
    let err = storage.append(Batch::new().push(host(0), HOUR, 9.0)).unwrap_err();
    assert!(matches!(err, Error::Wal(_)), "{err:?}");
    let chain = error_chain(&err);
    assert!(chain.contains("No space left"), "{chain}");
    assert_all_there(&storage, &model);
    fill(&storage, &mut model, 2, HOUR, 2 * HOUR);
    assert_all_there(&storage, &model);
    storage.close().unwrap();
    let storage = open(dir.path());
    assert_all_there(&storage, &model);
}

/// ENOSPC while compaction writes the merged block: a clear error, the
/// parents stay registered and on disk, no temporary directory is left,
/// reads and appends keep working, and the next compaction (space freed)
/// merges them; after a reopen every acknowledged sample is there once.
#[test]
fn compaction_out_of_space_keeps_parents_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    fill(&storage, &mut model, 3, 0, 9 * HOUR);
    assert_eq!(storage.flush().unwrap(), 4);
    let parents = block_dirs(dir.path());
    assert_eq!(parents.len(), 4);

    storage.inner.faults.arm(Fault::BlockWriteNoSpace);
    let err = storage.compact().unwrap_err();
    let chain = error_chain(&err);
    assert!(chain.contains("No space left"), "{chain}");
    assert_eq!(block_dirs(dir.path()), parents, "parents untouched");
    assert!(hidden_entries(dir.path()).is_empty(), "{:?}", hidden_entries(dir.path()));
    assert_eq!(storage.stats().unwrap().blocks, 4);
    assert_all_there(&storage, &model);
    fill(&storage, &mut model, 3, 9 * HOUR, 10 * HOUR);

    storage.compact().unwrap();
    assert_eq!(block_dirs(dir.path()).len(), 1, "{:?}", block_dirs(dir.path()));
    assert_all_there(&storage, &model);
    storage.close().unwrap();
    let storage = open(dir.path());
    assert_all_there(&storage, &model);
}

/// A closed head chunk damaged on disk (`chunks_head/` is read back with
/// plain reads) is an `Error::Corruption` naming the file and offset on the
/// read that touches it, and fails the flush of its window rather than
/// writing a block without it; the WAL still has everything, so a reopen
/// (which rebuilds `chunks_head/` from it) serves every acknowledged sample.
#[test]
fn damaged_head_chunk_file_is_an_error_not_missing_samples() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    // Window [0, 2h) of each series is a closed chunk once the 2 h sample arrives.
    fill(&storage, &mut model, 2, 0, 3 * HOUR);
    let file = dir.path().join(CHUNKS_HEAD_DIR).join("0.chunks");
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 40, "{} bytes", bytes.len());
    bytes[20] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();

    let err = storage.select(&[Matcher::equal("__name__", "m")], 0, HOUR).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { file: f, kind, .. } if f == &file && kind.contains("checksum")),
        "{err:?}"
    );
    // The open chunks ([2h, 3h)) still answer.
    let recent = storage.select(&[Matcher::equal("__name__", "m")], 2 * HOUR, 3 * HOUR).unwrap();
    assert_eq!(recent.len(), 2);
    assert!(storage.flush().is_err(), "no block is written without the damaged chunk");
    assert!(block_dirs(dir.path()).is_empty());
    drop(storage);

    let storage = open(dir.path());
    assert_all_there(&storage, &model);
}

/// `max_future`: a batch with a sample further ahead of the wall clock than
/// the limit is refused whole, naming the series; samples within it are
/// accepted; without the option nothing is checked.
#[test]
fn samples_too_far_in_the_future_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options();
    o.max_future = Some(Duration::from_secs(600));
    let storage = Storage::open(dir.path(), o).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut batch = Batch::new();
    batch.push(host(0), now, 1.0).push(host(1), now + 5 * MIN, 1.0).push(host(2), now + 3600 * 1000, 2.0);
    let err = storage.append(&batch).unwrap_err();
    assert!(
        matches!(&err, Error::TooFarInFuture { series, timestamp, max_allowed }
            if series.contains("h2") && *timestamp == now + 3_600_000 && *max_allowed >= now + 10 * MIN),
        "{err:?}"
    );
    assert!(err.to_string().contains("too far in the future"), "{err}");
    assert_eq!(storage.stats().unwrap().head_series, 0, "refused whole");
    let mut model = Model::new();
    fill(&storage, &mut model, 2, now - HOUR, now + 5 * MIN);
    assert_all_there(&storage, &model);
    drop(storage);

    let storage = open(&dir.path().join("unlimited"));
    storage.append(Batch::new().push(host(0), now + 365 * 24 * HOUR, 1.0)).unwrap();
}

/// The oldest flushable window is found from the head's bounds without
/// visiting every series while none can be ready, and the same after a
/// reopen restores the head (from its checkpoint) as before it.
#[test]
fn the_oldest_flushable_window_is_found_before_and_after_a_reopen() {
    use super::flush::Ready::PastOutOfOrder;
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let storage = open(dir.path());
    // The newest sample is 5 min past 2 h: inside the 10 min out-of-order window.
    fill(&storage, &mut model, 3, 30 * MIN, 2 * HOUR + 6 * MIN);
    assert_eq!(storage.inner.next_flushable_window(PastOutOfOrder), None);
    fill(&storage, &mut model, 3, 2 * HOUR + 6 * MIN, 2 * HOUR + 16 * MIN);
    assert_eq!(storage.inner.next_flushable_window(PastOutOfOrder), Some((0, 2 * HOUR)));
    storage.close().unwrap();
    let storage = open(dir.path());
    assert_eq!(storage.inner.next_flushable_window(PastOutOfOrder), Some((0, 2 * HOUR)));
    storage.inner.flush(PastOutOfOrder).unwrap();
    assert_eq!(storage.inner.next_flushable_window(PastOutOfOrder), None);
    // The next window is ready once the newest sample is 10 min past its end.
    fill(&storage, &mut model, 1, 2 * HOUR + 16 * MIN, 4 * HOUR + 11 * MIN);
    assert_eq!(storage.inner.next_flushable_window(PastOutOfOrder), Some((2 * HOUR, 4 * HOUR)));
    assert_all_there(&storage, &model);
}

/// Series that leave the head take their label pairs out of the head's key
/// pool (churning pods must not pile up label values); series still there
/// keep theirs and are found by their labels as before.
#[test]
fn label_pairs_leave_the_head_with_their_last_series() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path());
    let pod = |p: usize| Labels::metric("m", [("host", "h0".to_string()), ("pod", format!("pod-{p}"))]);
    let mut batch = Batch::new();
    for p in 0..10 {
        batch.push(pod(p), HOUR, 1.0);
    }
    storage.append(&batch).unwrap();
    // `__name__="m"`, `host="h0"` and ten pods.
    assert_eq!(storage.inner.head.key_pairs(), 12);

    // The old pods' hour goes to a block; two pods live on in the next window.
    let mut batch = Batch::new();
    for p in [3, 10] {
        batch.push(pod(p), 4 * HOUR, 2.0);
    }
    storage.append(&batch).unwrap();
    storage.flush().unwrap();
    assert_eq!(storage.stats().unwrap().head_series, 2);
    assert_eq!(storage.inner.head.key_pairs(), 4, "only pod-3, pod-10 and the shared labels stay");

    let mut batch = Batch::new();
    batch.push(pod(3), 4 * HOUR + MIN, 3.0);
    storage.append(&batch).unwrap();
    assert_eq!(storage.stats().unwrap().head_series, 2, "pod-3's new sample went to its series");
    let got = storage.select(&[Matcher::equal("pod", "pod-3")], i64::MIN, i64::MAX).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].labels, pod(3));
    assert_eq!(got[0].samples.iter().map(|s| s.v).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
}

/// A refused row by handle names its series by labels, as a row by labels
/// does (the append moves the head series out of its entry before the
/// checks that refuse it, so the name must come from where it went).
#[test]
fn a_refused_row_by_handle_names_its_labels() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path());
    let handle = storage.resolve(&host(1)).unwrap();
    let mut batch = Batch::new();
    batch.push_by_handle(handle, 10 * HOUR, 1.0);
    storage.append(&batch).unwrap();
    let mut old = Batch::new();
    old.push_by_handle(handle, HOUR, 2.0);
    let err = storage.append(&old).unwrap_err();
    assert!(matches!(err, Error::OutOfOrder { .. }), "{err:?}");
    assert!(err.to_string().contains(&host(1).to_string()), "{err}");
}

/// Rollup reads of a block cut from the head (no minute rollups) answer the
/// buckets starting within `[mint, maxt]` whatever the range: small reads
/// summarize just their range, reads of half a block or more go through
/// the process-wide cache, and neither returns a bucket after `maxt`.
#[test]
fn minute_buckets_of_a_cut_block_stop_at_maxt() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path());
    let raw: Vec<Sample> = (0..4 * 3_600i64).map(|i| Sample::new(i * 1000, (i % 500) as f64)).collect();
    let mut batch = Batch::new();
    batch.add(host(0), raw.clone());
    storage.append(&batch).unwrap();
    storage.flush().unwrap();
    let fields = crate::RollupFields::COUNT.with(crate::RollupFields::FIRST).with(crate::RollupFields::LAST);
    let matchers = [Matcher::equal("host", "h0")];
    for (mint, maxt) in [(600_000, 900_000), (0, 7_140_000), (60_000, 6_000_000), (3_600_000, 3_660_000)] {
        for _ in 0..2 {
            let got = storage.select_rollups(&matchers, mint, maxt, 60_000, fields).unwrap().unwrap();
            let until = maxt + 59_999;
            let range: Vec<Sample> = raw.iter().copied().filter(|s| s.t >= mint && s.t <= until).collect();
            let mut want = Vec::new();
            pulsedb_model::summarize_fields_into(&mut want, &range, 60_000, fields);
            let starts = |b: &[crate::RollupBucket]| b.iter().map(|b| (b.start, b.count, b.last.t)).collect::<Vec<_>>();
            assert_eq!(starts(&got[0].buckets), starts(&want), "[{mint}, {maxt}]");
        }
    }
}
