//! A failed fsync poisons the WAL: the failing call and every later write,
//! sync, append and rotate return `Error::Poisoned`; the fsync is never
//! retried; a reopen replays what was written.

use std::time::{Duration, Instant};

use crate::common::{open_collect, replay_payloads};
use pulsedb_wal::{Error, Fault, SyncMode, Wal, WalOptions};
use tempfile::TempDir;

fn is_poisoned_by_injected_fsync(err: &Error) -> bool {
    matches!(err, Error::Poisoned { source, .. } if source.to_string().contains("injected fault"))
}

fn assert_everything_refused(wal: &Wal) {
    let pos = wal.stats().written;
    let results = [
        ("write", wal.write(b"more").map(|_| ())),
        ("append", wal.append(b"more").map(|_| ())),
        ("sync", wal.sync()),
        ("sync_to", wal.sync_to(pos)),
        ("rotate", wal.rotate().map(|_| ())),
    ];
    for (call, result) in results {
        let err = result.err().unwrap_or_else(|| panic!("{call} must fail after poisoning"));
        assert!(is_poisoned_by_injected_fsync(&err), "{call}: {err:?}");
    }
}

#[test]
fn failed_fsync_in_append_poisons_always_mode() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), WalOptions::default()).expect("open");
    wal.append(b"a").expect("append a");
    wal.append(b"b").expect("append b");

    wal.inject_fault(Fault::FsyncFails);
    let err = wal.append(b"c").expect_err("fsync fails");
    assert!(is_poisoned_by_injected_fsync(&err), "{err:?}");
    assert!(err.to_string().contains("poisoned"), "{err}");

    let fsyncs = wal.stats().fsyncs;
    assert_everything_refused(&wal);
    assert_eq!(wal.stats().fsyncs, fsyncs, "a poisoned WAL never fsyncs again");
    assert_eq!(wal.stats().frames_written, 3, "nothing more was written");
    let current = wal.current_segment();
    assert!(wal.close().is_err(), "close reports the poison");

    // "c" reached the page cache before its fsync failed, so it replays.
    assert_eq!(replay_payloads(dir.path()).expect("reopen"), [b"a", b"b", b"c"]);
    assert_eq!(current, 1);
}

#[test]
fn failed_fsync_in_rotation_poisons_and_keeps_the_segment() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), WalOptions::new().with_sync(SyncMode::Never)).expect("open");
    wal.write(b"a").expect("write");
    wal.inject_fault(Fault::FsyncFails);
    let err = wal.rotate().expect_err("rotation fsync fails");
    assert!(is_poisoned_by_injected_fsync(&err), "{err:?}");
    assert_eq!(wal.current_segment(), 1);
    assert_eq!(wal.segments().expect("segments"), [1], "no new segment was created");
    assert_everything_refused(&wal);
    drop(wal);
    assert_eq!(replay_payloads(dir.path()).expect("reopen"), [b"a"]);
}

#[test]
fn failed_background_fsync_poisons_interval_mode() {
    let dir = TempDir::new().expect("tempdir");
    let options = WalOptions::new().with_sync(SyncMode::Interval(Duration::from_millis(10)));
    let (wal, _) = open_collect(dir.path(), options).expect("open");
    wal.inject_fault(Fault::FsyncFails);
    let pos = wal.write(b"a").expect("write");

    // The background thread's next fsync fails; sync_to then reports it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while wal.sync_to(pos).is_ok() {
        assert!(Instant::now() < deadline, "background fsync never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_everything_refused(&wal);
    drop(wal); // stops the (already idle) thread without fsyncing
    assert_eq!(replay_payloads(dir.path()).expect("reopen"), [b"a"]);
}

#[test]
fn failed_fsync_on_close_is_reported() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), WalOptions::new().with_sync(SyncMode::Never)).expect("open");
    wal.write(b"a").expect("write");
    wal.inject_fault(Fault::FsyncFails);
    let err = wal.close().expect_err("close fails");
    assert!(is_poisoned_by_injected_fsync(&err), "{err:?}");
    assert_eq!(replay_payloads(dir.path()).expect("reopen"), [b"a"]);
}
