//! What each `SyncMode` fsyncs, observed through `stats()`.

use std::time::{Duration, Instant};

use crate::common::{open_collect, replay_payloads};
use pulsedb_wal::{SyncMode, WalOptions};
use tempfile::TempDir;

#[test]
fn interval_mode_syncs_in_the_background() {
    let dir = TempDir::new().expect("tempdir");
    let options = WalOptions::new().with_sync(SyncMode::Interval(Duration::from_millis(20)));
    let (wal, _) = open_collect(dir.path(), options).expect("open");
    let at_open = wal.stats().fsyncs;

    let pos = wal.append(b"a").expect("append");

    let deadline = Instant::now() + Duration::from_secs(5);
    while wal.stats().synced < pos {
        assert!(Instant::now() < deadline, "the background thread never synced");
        std::thread::sleep(Duration::from_millis(5));
    }
    let after_sync = wal.stats().fsyncs;
    assert!(after_sync > at_open, "fsyncs grew without any sync call");

    // Nothing new written: the thread does not fsync for nothing.
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(wal.stats().fsyncs, after_sync);
    wal.close().expect("close");
    assert_eq!(replay_payloads(dir.path()).expect("reopen"), [b"a"]);
}

#[test]
fn interval_mode_append_does_not_wait_for_an_fsync() {
    let dir = TempDir::new().expect("tempdir");
    let options = WalOptions::new().with_sync(SyncMode::Interval(Duration::from_secs(3600)));
    let (wal, _) = open_collect(dir.path(), options).expect("open");
    let at_open = wal.stats().fsyncs;
    let pos = wal.append(b"a").expect("append");
    wal.sync_to(pos).expect("sync_to");
    assert!(wal.stats().synced < pos);
    assert_eq!(wal.stats().fsyncs, at_open);
    wal.sync().expect("sync");
    assert!(wal.stats().synced >= pos);
    wal.close().expect("close");
}

#[test]
fn never_mode_does_not_fsync_until_asked() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), WalOptions::new().with_sync(SyncMode::Never)).expect("open");
    let at_open = wal.stats().fsyncs;

    let mut last = None;
    for i in 0..50u32 {
        last = Some(wal.append(&i.to_le_bytes()).expect("append"));
    }
    let last = last.expect("appended");
    wal.sync_to(last).expect("sync_to returns at once");
    assert_eq!(wal.stats().fsyncs, at_open, "no fsync in Never mode");
    assert!(wal.stats().synced < last);

    wal.sync().expect("explicit sync");
    assert_eq!(wal.stats().fsyncs, at_open + 1, "sync() fsyncs whatever the mode");
    assert!(wal.stats().synced >= last);

    wal.rotate().expect("rotate");
    assert!(wal.stats().fsyncs > at_open + 1, "rotation fsyncs the closed segment");
    wal.close().expect("close");
    assert_eq!(replay_payloads(dir.path()).expect("reopen").len(), 50);
}

#[test]
fn always_mode_syncs_each_append() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), WalOptions::default()).expect("open");
    for i in 0..5u8 {
        let pos = wal.append(&[i]).expect("append");
        assert!(wal.stats().synced >= pos);
    }
    wal.close().expect("close");
}
