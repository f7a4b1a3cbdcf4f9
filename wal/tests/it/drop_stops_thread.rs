//! Dropping a `Wal` without `close` stops its interval-sync thread: no
//! thread outlives its WAL. Alone in its binary so no other test's WAL
//! threads are counted.

use std::time::{Duration, Instant};

use crate::common::open_collect;
use pulsedb_wal::{SyncMode, WalOptions};
use tempfile::TempDir;

/// Threads of this process named like the interval-sync thread (Linux
/// truncates thread names to 15 bytes).
fn sync_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "pulsedb-wal-syn")
        .count()
}

fn eventually(condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !condition() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

#[test]
fn drop_without_close_stops_the_interval_thread() {
    let dir = TempDir::new().expect("tempdir");
    let mut wals = Vec::new();
    for (i, every) in [Duration::from_millis(5), Duration::from_secs(3600), Duration::MAX].into_iter().enumerate() {
        let options = WalOptions::new().with_sync(SyncMode::Interval(every));
        let (wal, _) = open_collect(&dir.path().join(i.to_string()), options).expect("open");
        wal.write(b"unsynced").expect("write");
        wals.push(wal);
    }
    // A thread names itself once running, and the kernel reaps it shortly
    // after its join, so both counts are awaited (briefly).
    assert!(eventually(|| sync_threads() == 3), "three sync threads run");
    drop(wals);
    assert!(eventually(|| sync_threads() == 0), "every thread was stopped on drop");
    // The WALs reopen with their frames.
    for i in 0..3 {
        let replayed = crate::common::replay_payloads(&dir.path().join(i.to_string())).expect("reopen");
        assert_eq!(replayed, [b"unsynced"]);
    }
}
