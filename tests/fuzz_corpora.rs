//! Replays every checked-in fuzz corpus (`fuzz/corpus/<target>/*`, seeds
//! and anything the fuzzers kept, crash reproducers included) through the
//! fuzz entry points, so the default test suite exercises each decoder on
//! them without a fuzzer.
#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn every_corpus_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut total = 0;
    for (target, run) in pulsedb::fuzzing::TARGETS {
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
