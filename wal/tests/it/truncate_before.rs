//! `truncate_before` deletes exactly the older segments, never the current one.

use crate::common::{fast, open_collect, replay_payloads};
use tempfile::TempDir;

#[test]
fn deletes_exactly_the_older_segments() {
    let dir = TempDir::new().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), b"keep me").expect("write");
    let (wal, _) = open_collect(dir.path(), fast()).expect("open");
    for i in 1..=3u8 {
        wal.append(&[i]).expect("append");
        wal.rotate().expect("rotate");
    }
    wal.append(&[4]).expect("append");
    assert_eq!(wal.current_segment(), 4);
    assert_eq!(wal.segments().expect("segments"), [1, 2, 3, 4]);

    assert_eq!(wal.truncate_before(0).expect("truncate"), 0);
    assert_eq!(wal.truncate_before(3).expect("truncate"), 2);
    assert_eq!(wal.segments().expect("segments"), [3, 4]);
    assert_eq!(wal.truncate_before(3).expect("truncate again"), 0);

    // Clamped: the current segment survives whatever the argument.
    assert_eq!(wal.truncate_before(u64::MAX).expect("truncate"), 1);
    assert_eq!(wal.segments().expect("segments"), [4]);
    assert_eq!(wal.current_segment(), 4);
    assert!(dir.path().join("notes.txt").exists(), "unrelated files are kept");

    wal.append(&[5]).expect("the current segment still takes frames");
    wal.close().expect("close");

    // A WAL need not start at segment 1.
    let (wal, frames) = open_collect(dir.path(), fast()).expect("reopen");
    let payloads: Vec<_> = frames.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(payloads, [[4], [5]]);
    assert!(frames.iter().all(|(pos, _)| pos.segment == 4));
    assert_eq!(wal.current_segment(), 5);
    wal.close().expect("close");
    assert_eq!(replay_payloads(dir.path()).expect("reopen").len(), 2);
}
