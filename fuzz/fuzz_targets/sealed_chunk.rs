#![no_main]
//! Fuzz target: `pulsedb::fuzzing::sealed_chunk` (see src/fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb::fuzzing::sealed_chunk(data));
