//! Property: whatever payloads are written, across rotations and a
//! close/reopen, replay returns exactly them, in order, at the positions
//! `write` returned.

use crate::common::{fast, open_collect};
use proptest::prelude::*;
use pulsedb_wal::Position;
use tempfile::TempDir;

fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 1..200), 0..30)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn written_payloads_replay_exactly(
        first in payloads(),
        second in payloads(),
        segment_size in 32u64..600,
    ) {
        let dir = TempDir::new().expect("tempdir");
        let options = fast().with_segment_size(segment_size);
        let mut written: Vec<(Position, Vec<u8>)> = Vec::new();

        for session in [&first, &second] {
            let (wal, replayed) = open_collect(dir.path(), options).expect("open");
            prop_assert_eq!(&replayed, &written);
            for payload in session {
                let pos = wal.write(payload).expect("write");
                prop_assert!(written.last().is_none_or(|(prev, _)| *prev < pos), "positions increase");
                written.push((pos, payload.clone()));
            }
            wal.close().expect("close");
        }

        let (wal, replayed) = open_collect(dir.path(), options).expect("final open");
        prop_assert_eq!(&replayed, &written);
        // A segment exceeds the size only when it holds one oversized frame.
        for segment in wal.segments().expect("segments") {
            let frames = written.iter().filter(|(pos, _)| pos.segment == segment).count();
            let len = crate::common::file_len(dir.path(), segment);
            prop_assert!(len <= segment_size || frames == 1, "segment {} is {} bytes with {} frames", segment, len, frames);
        }
        wal.close().expect("close");
    }
}
