#![no_main]
//! Fuzz target: `pulsedb_testkit::fuzzing::block_read` (see testkit/src/fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb_testkit::fuzzing::block_read(data));
