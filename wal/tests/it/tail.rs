//! Reading the log while it is written (`Wal::tail`): every frame after a
//! position, in order, with the positions `write` returned, across
//! rotations and reopens; durable frames only; resumable from a saved
//! position; segments held from truncation until released.

use std::time::Duration;

use crate::common::{fast, open_collect};
use proptest::prelude::*;
use pulsedb_wal::{Error, Position, SyncMode, Wal, WalOptions};
use tempfile::TempDir;

fn read_all(tail: &mut pulsedb_wal::WalTail, max: usize) -> Vec<(Position, Vec<u8>)> {
    let mut out = Vec::new();
    while tail.read(max, |pos, payload| out.push((pos, payload.to_vec()))).expect("tail read") > 0 {}
    out
}

fn start() -> Position {
    Position { segment: 1, offset: 0 }
}

#[test]
fn tail_reads_every_frame_in_order_across_rotations_and_reopens() {
    let dir = TempDir::new().expect("tempdir");
    let options = fast().with_segment_size(256);
    let (wal, _) = open_collect(dir.path(), options).expect("open");
    let mut written: Vec<(Position, Vec<u8>)> =
        (0..20u8).map(|i| (wal.write(&[i; 50]).expect("w"), vec![i; 50])).collect();
    wal.rotate().expect("rotate");
    written.push((wal.write(b"after rotate").expect("w"), b"after rotate".to_vec()));
    wal.close().expect("close");

    let (wal, _) = open_collect(dir.path(), options).expect("reopen");
    written.push((wal.append(b"after reopen").expect("w"), b"after reopen".to_vec()));
    let mut tail = wal.tail(start()).expect("tail");
    assert_eq!(read_all(&mut tail, 3), written);
    assert_eq!(tail.position(), written.last().expect("frames").0);

    // Nothing new: reads return 0 until the next durable write.
    assert_eq!(tail.read(10, |_, _| {}).expect("read"), 0);
    let next = wal.append(b"later").expect("w");
    let mut got = Vec::new();
    assert_eq!(tail.read(10, |pos, p| got.push((pos, p.to_vec()))).expect("read"), 1);
    assert_eq!(got, vec![(next, b"later".to_vec())]);
    wal.close().expect("close");
}

#[test]
fn a_tail_resumes_from_a_saved_position() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), fast().with_segment_size(200)).expect("open");
    let written: Vec<Position> = (0..12u8).map(|i| wal.write(&[i; 30]).expect("w")).collect();
    let mut first = wal.tail(start()).expect("tail");
    let mut seen = Vec::new();
    first.read(5, |pos, _| seen.push(pos)).expect("read");
    let saved = first.position();
    assert_eq!(saved, written[4]);
    drop(first);

    let mut resumed = wal.tail(saved).expect("tail from saved");
    let rest: Vec<Position> = read_all(&mut resumed, 100).into_iter().map(|(p, _)| p).collect();
    assert_eq!(rest, written[5..].to_vec(), "exactly the frames after the saved position");
    wal.close().expect("close");
}

#[test]
fn only_durable_frames_are_read() {
    let dir = TempDir::new().expect("tempdir");
    let options = WalOptions::new().with_sync(SyncMode::Interval(Duration::from_secs(3600)));
    let (wal, _) = open_collect(dir.path(), options).expect("open");
    let mut tail = wal.tail(start()).expect("tail");
    wal.write(b"not yet synced").expect("w");
    assert_eq!(tail.read(10, |_, _| {}).expect("read"), 0, "an unsynced frame is not read");
    wal.sync().expect("sync");
    assert_eq!(read_all(&mut tail, 10).len(), 1);
    wal.close().expect("close");
}

#[test]
fn held_segments_survive_truncation_until_released() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), fast().with_segment_size(100)).expect("open");
    for i in 0..10u8 {
        wal.write(&[i; 40]).expect("w");
    }
    let current = wal.current_segment();
    let mut tail = wal.tail(start()).expect("tail");
    assert_eq!(wal.truncate_before(current).expect("truncate"), 0, "segment 1 on is held");
    let frames = read_all(&mut tail, 4);
    assert_eq!(frames.len(), 10);
    let halfway = frames[5].0;
    tail.release_before(halfway);
    let deleted = wal.truncate_before(current).expect("truncate");
    assert_eq!(deleted as u64, halfway.segment - 1, "only segments before the released position go");
    assert_eq!(wal.segments().expect("list").first().copied(), Some(halfway.segment));

    let hold = wal.hold(halfway.segment);
    drop(tail);
    assert_eq!(wal.truncate_before(current).expect("truncate"), 0, "an explicit hold keeps them too");
    drop(hold);
    assert!(wal.truncate_before(current).expect("truncate") > 0);
    match wal.tail(start()) {
        Err(Error::SegmentGone { segment: 1 }) => {}
        other => panic!("expected SegmentGone for segment 1, got {other:?}"),
    }
    wal.close().expect("close");
}

#[test]
fn a_tail_follows_a_concurrent_writer() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), fast().with_segment_size(4096)).expect("open");
    let wal: std::sync::Arc<Wal> = std::sync::Arc::new(wal);
    let mut tail = wal.tail(start()).expect("tail");
    let writer = {
        let wal = wal.clone();
        std::thread::spawn(move || (0..2_000u32).map(|i| wal.append(&i.to_le_bytes()).expect("w")).collect::<Vec<_>>())
    };
    let mut got = Vec::new();
    while got.len() < 2_000 {
        tail.read(64, |pos, payload| got.push((pos, payload.to_vec()))).expect("read");
    }
    let positions = writer.join().expect("writer");
    let want: Vec<(Position, Vec<u8>)> =
        positions.into_iter().zip(0..2_000u32).map(|(pos, i)| (pos, i.to_le_bytes().to_vec())).collect();
    assert_eq!(got, want);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Whatever the frame sizes, segment size and read batch sizes, a tail
    /// yields exactly the frames written, with their positions.
    #[test]
    fn tail_equals_what_was_written(
        sizes in proptest::collection::vec(1usize..300, 1..60),
        segment_size in 64u64..1024,
        batch in 1usize..8,
    ) {
        let dir = TempDir::new().expect("tempdir");
        let (wal, _) = open_collect(dir.path(), fast().with_segment_size(segment_size)).expect("open");
        let written: Vec<(Position, Vec<u8>)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let payload = vec![i as u8; n];
                (wal.write(&payload).expect("w"), payload)
            })
            .collect();
        let mut tail = wal.tail(start()).expect("tail");
        prop_assert_eq!(read_all(&mut tail, batch), written);
        wal.close().expect("close");
    }
}
