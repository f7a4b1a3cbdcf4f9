//! Replays every checked-in fuzz corpus (`fuzz/corpus/<target>/*`, seeds
//! and anything the fuzzers kept, crash reproducers included) through the
//! fuzz entry points, so the default test suite exercises each decoder on
//! them without a fuzzer.
#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn every_corpus_input_passes_its_target() {
    let root =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
            .join("fuzz/corpus");
    let mut total = 0;
    for (target, run) in pulsedb_testkit::fuzzing::TARGETS {
        let dir = root.join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{target} has no corpus");
        for input in inputs {
            run(&std::fs::read(&input).unwrap());
            total += 1;
        }
    }
    eprintln!("{total} corpus inputs replayed");
}

/// The seeds of the targets that build directories are valid, so the
/// fuzzers start from inputs that reach every decoder: each block seed
/// reads back samples, each WAL seed but the torn one replays all 12 frames.
#[test]
fn directory_target_seeds_are_valid() {
    let root =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
            .join("fuzz/corpus");
    for seed in ["v5_block", "v5_block_fix_checksums", "v4_block", "v4_block_fix_checksums", "v1_block_fix_checksums"] {
        let bytes = std::fs::read(root.join("block_read").join(seed)).unwrap();
        let read = pulsedb_testkit::fuzzing::block_read_samples(&bytes).unwrap();
        assert!(matches!(read, Ok(n) if n > 0), "{seed}: {read:?}");
    }
    // Each sealed chunk seed decodes (the target skips inputs that do not,
    // so a seed that stopped decoding would test nothing).
    for seed in ["counter", "floats", "gauge", "scaled", "special", "sized_escapes", "varint_bytes"] {
        let bytes = std::fs::read(root.join("sealed_chunk").join(seed)).unwrap();
        let mut samples = Vec::new();
        pulsedb_storage::internals::sealed_decode(&bytes, &mut samples).unwrap_or_else(|e| panic!("{seed}: {e}"));
        assert!(!samples.is_empty(), "{seed}");
    }
    for (seed, frames) in [("three_segments", 12), ("torn_tail", 11), ("headers_added", 12), ("one_segment", 4)] {
        let bytes = std::fs::read(root.join("wal_replay").join(seed)).unwrap();
        assert_eq!(pulsedb_testkit::fuzzing::wal_replay_frames(&bytes), Some(Ok(frames)), "{seed}");
    }
}
