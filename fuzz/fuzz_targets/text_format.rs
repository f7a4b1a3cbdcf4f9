#![no_main]
//! Fuzz target: `pulsedb::fuzzing::text_format` (see src/fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb::fuzzing::text_format(data));
