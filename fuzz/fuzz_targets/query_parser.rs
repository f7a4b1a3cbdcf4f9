#![no_main]
//! Fuzz target: `pulsedb::fuzzing::query_parser` (see src/fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb::fuzzing::query_parser(data));
