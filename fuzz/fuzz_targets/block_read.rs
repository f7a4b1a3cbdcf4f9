#![no_main]
//! Fuzz target: `pulsedb::fuzzing::block_read` (see src/fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb::fuzzing::block_read(data));
