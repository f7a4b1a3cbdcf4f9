//! A write that fails halfway (a full disk) leaves no partial frame: the file
//! is cut back to where the frame started, the caller gets `Error::Io`, and
//! the WAL keeps working. Only if that cut fails is the WAL poisoned.

use crate::common::{fast, file_len, open_collect, replay_payloads};
use pulsedb_wal::{Error, Fault, Position};
use tempfile::TempDir;

const ENOSPC: i32 = 28;

#[test]
fn failed_write_leaves_no_partial_frame_and_the_wal_recovers() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), fast()).expect("open");
    let a = wal.append(b"a: before the disk filled up").expect("append a");

    wal.inject_fault(Fault::WriteFailsNoSpace);
    let big = vec![0x5a; 4096];
    let err = wal.append(&big).expect_err("write fails");
    assert!(matches!(&err, Error::Io { source, .. } if source.raw_os_error() == Some(ENOSPC)), "{err:?}");
    assert!(err.to_string().contains("00000001.wal"), "the message names the file: {err}");
    assert_eq!(file_len(dir.path(), 1), a.offset, "the half-written frame was cut off");
    assert_eq!(wal.stats().frames_written, 1);
    assert_eq!(wal.stats().written, a);

    // Space is back: the next frame starts exactly where the failed one did.
    let c = wal.append(b"c: after space was freed").expect("append c");
    assert_eq!(c, Position { segment: 1, offset: a.offset + 8 + 24 });
    wal.close().expect("close");

    assert_eq!(
        replay_payloads(dir.path()).expect("reopen"),
        [&b"a: before the disk filled up"[..], &b"c: after space was freed"[..]]
    );
}

#[test]
fn failed_cleanup_of_a_partial_frame_poisons() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), fast()).expect("open");
    wal.append(b"a").expect("append a");

    wal.inject_fault(Fault::WriteFailsNoSpace);
    wal.inject_fault(Fault::SetLenFails);
    let err = wal.append(&[7; 512]).expect_err("write fails");
    assert!(matches!(err, Error::Poisoned { .. }), "{err:?}");
    assert!(matches!(wal.write(b"b"), Err(Error::Poisoned { .. })));
    drop(wal);

    // The half frame is still on disk: replay cuts it as a torn tail.
    assert_eq!(replay_payloads(dir.path()).expect("reopen"), [b"a"]);
}
