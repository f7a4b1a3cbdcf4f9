//! Group commit in `SyncMode::Always`: concurrent appenders share fsyncs, and
//! each `append` returns only once its frame is covered by a completed fsync.

use std::sync::Arc;
use std::thread;

use crate::common::{open_collect, replay_payloads};
use pulsedb_wal::{SyncMode, Wal, WalOptions};
use tempfile::TempDir;

const THREADS: u64 = 8;
const APPENDS: u64 = 150;

fn payload(thread: u64, seq: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&thread.to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.resize(64, 0xab);
    p
}

#[test]
fn concurrent_appends_share_fsyncs_and_all_replay() {
    let dir = TempDir::new().expect("tempdir");
    let options = WalOptions::new().with_sync(SyncMode::Always);
    let (wal, replayed) = open_collect(dir.path(), options).expect("open");
    assert!(replayed.is_empty());
    let wal = Arc::new(wal);
    let fsyncs_at_open = wal.stats().fsyncs;

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = Arc::clone(&wal);
            thread::spawn(move || {
                let mut positions = Vec::new();
                for seq in 0..APPENDS {
                    let pos = wal.append(&payload(t, seq)).expect("append");
                    // Durable means: covered by the synced position.
                    let synced = wal.stats().synced;
                    assert!(pos <= synced, "append returned {pos:?} but only {synced:?} is synced");
                    positions.push(pos);
                }
                positions
            })
        })
        .collect();
    let mut positions: Vec<_> = handles.into_iter().flat_map(|h| h.join().expect("appender thread")).collect();

    let stats = wal.stats();
    let frames = THREADS * APPENDS;
    assert_eq!(stats.frames_written, frames);
    let fsyncs = stats.fsyncs - fsyncs_at_open;
    assert!(fsyncs < frames, "group commit should share fsyncs: {fsyncs} fsyncs for {frames} frames");
    println!("{frames} appends from {THREADS} threads took {fsyncs} fsyncs");

    positions.sort();
    positions.dedup();
    assert_eq!(positions.len() as u64, frames, "every frame has its own position");

    Arc::into_inner(wal).expect("last handle").close().expect("close");
    let replayed = replay_payloads(dir.path()).expect("reopen");
    assert_eq!(replayed.len() as u64, frames);
    // Each thread's frames replay in the order it appended them.
    for t in 0..THREADS {
        let seqs: Vec<u64> = replayed
            .iter()
            .filter(|p| p.get(..8) == Some(&t.to_le_bytes()[..]))
            .map(|p| u64::from_le_bytes(p.get(8..16).and_then(|s| s.try_into().ok()).expect("seq")))
            .collect();
        assert_eq!(seqs, (0..APPENDS).collect::<Vec<_>>(), "thread {t}");
    }
}

#[test]
fn write_alone_is_not_synced_until_sync_to() {
    let dir = TempDir::new().expect("tempdir");
    let wal = Wal::open(dir.path(), WalOptions::default(), |_, _| Ok::<(), std::io::Error>(())).expect("open");
    let pos = wal.write(b"not yet durable").expect("write");
    assert!(wal.stats().synced < pos);
    wal.sync_to(pos).expect("sync_to");
    assert!(wal.stats().synced >= pos);
    // Already covered: no further fsync.
    let fsyncs = wal.stats().fsyncs;
    wal.sync_to(pos).expect("sync_to again");
    assert_eq!(wal.stats().fsyncs, fsyncs);
    wal.close().expect("close");
}
