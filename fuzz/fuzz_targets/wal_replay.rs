#![no_main]
//! Fuzz target: `pulsedb::fuzzing::wal_replay` (see src/fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb::fuzzing::wal_replay(data));
