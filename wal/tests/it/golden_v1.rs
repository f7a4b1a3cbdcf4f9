//! The checked-in format-version-1 WAL (`tests/fixtures/v1`, written by an
//! independent encoder from `docs/format/wal.md`) still opens and replays
//! exactly its frames, at exactly their positions.

use std::path::Path;

use crate::common::{fast, open_collect};
use pulsedb_wal::Position;
use tempfile::TempDir;

#[test]
fn version_1_fixture_replays_exactly() {
    // Opening writes (a new segment), so work on a copy.
    let dir = TempDir::new().expect("tempdir");
    let fixture =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
            .join("tests/fixtures/v1");
    for name in ["00000001.wal", "00000002.wal"] {
        std::fs::copy(fixture.join(name), dir.path().join(name)).expect("copy fixture");
    }

    let (wal, frames) = open_collect(dir.path(), fast()).expect("open v1 fixture");
    let big: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let all_bytes: Vec<u8> = (0..=255).collect();
    let p = |segment, offset| Position { segment, offset };
    let expected = vec![
        (p(1, 8 + 8 + 5), b"alpha".to_vec()),
        (p(1, 21 + 8 + 4), b"beta".to_vec()),
        (p(1, 33 + 8 + 256), all_bytes),
        (p(2, 8 + 8 + 5), b"gamma".to_vec()),
        (p(2, 21 + 8 + 3000), big),
    ];
    assert_eq!(frames, expected);
    assert_eq!(wal.current_segment(), 3);
    wal.close().expect("close");
}
