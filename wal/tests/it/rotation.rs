//! Segment layout: numbering, rotation by size, frames never spanning
//! segments, a new segment per open, and the errors of `write` and `open`.

use crate::common::{fast, file_len, open_collect};
use pulsedb_wal::{Error, Position, Wal, MAX_FRAME_LEN};
use tempfile::TempDir;

#[test]
fn frames_never_span_segments() {
    let dir = TempDir::new().expect("tempdir");
    // Header 8 + two 48-byte frames = 104 fits in 128; a third does not.
    let options = fast().with_segment_size(128);
    let (wal, _) = open_collect(dir.path(), options).expect("open");
    let positions: Vec<Position> = (0..5u8).map(|i| wal.write(&[i; 40]).expect("write")).collect();
    let p = |segment, offset| Position { segment, offset };
    assert_eq!(positions, [p(1, 56), p(1, 104), p(2, 56), p(2, 104), p(3, 56)]);

    // Bigger than a segment: goes into an empty segment of its own.
    let big = wal.write(&[9; 500]).expect("big frame");
    assert_eq!(big, p(4, 8 + 8 + 500));
    let after = wal.write(&[1; 10]).expect("write");
    assert_eq!(after, p(5, 8 + 8 + 10));
    wal.close().expect("close");
    for segment in 1..=3 {
        assert!(file_len(dir.path(), segment) <= 128);
    }

    let (wal, frames) = open_collect(dir.path(), options).expect("reopen");
    let replayed: Vec<Position> = frames.iter().map(|(pos, _)| *pos).collect();
    assert_eq!(replayed, [&positions[..], &[big, after]].concat(), "replay reports the positions write returned");
    assert_eq!(wal.current_segment(), 6, "open always starts a new segment");
    wal.close().expect("close");
}

#[test]
fn first_segment_is_one_and_each_open_adds_one() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(&dir.path().join("nested/wal"), fast()).expect("open creates the directory");
    assert_eq!(wal.current_segment(), 1);
    wal.close().expect("close");
    let (wal, frames) = open_collect(&dir.path().join("nested/wal"), fast()).expect("reopen");
    assert!(frames.is_empty());
    assert_eq!(wal.current_segment(), 2);
    assert_eq!(wal.segments().expect("segments"), [1, 2]);
    assert_eq!(wal.rotate().expect("rotate"), 3);
    wal.close().expect("close");
}

#[test]
fn write_rejects_empty_and_oversized_payloads() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), fast()).expect("open");
    assert!(matches!(wal.write(b""), Err(Error::EmptyFrame)));
    // Zeroed allocation: the pages are never touched, the length is checked first.
    let huge = vec![0u8; MAX_FRAME_LEN + 1];
    assert!(matches!(wal.write(&huge), Err(Error::FrameTooLarge { len }) if len == MAX_FRAME_LEN + 1));
    assert_eq!(wal.stats().frames_written, 0);
    wal.close().expect("close");
}

#[test]
fn a_failing_replay_callback_stops_open_with_its_position() {
    let dir = TempDir::new().expect("tempdir");
    let (wal, _) = open_collect(dir.path(), fast()).expect("open");
    wal.write(b"good").expect("write");
    let bad = wal.write(b"bad").expect("write");
    wal.write(b"never seen").expect("write");
    wal.close().expect("close");

    let mut seen = Vec::new();
    let err = Wal::open(dir.path(), fast(), |_, payload| {
        seen.push(payload.to_vec());
        if payload == b"bad" {
            Err("cannot decode this record")
        } else {
            Ok(())
        }
    })
    .expect_err("open fails");
    assert!(
        matches!(&err, Error::Replay { position, source } if *position == bad && source.to_string() == "cannot decode this record"),
        "{err:?}"
    );
    assert_eq!(seen, [&b"good"[..], &b"bad"[..]]);
    assert_eq!(std::fs::read_dir(dir.path()).expect("read dir").count(), 1, "a failed open creates no segment");
}
