#![no_main]
//! Fuzz target: `pulsedb_testkit::fuzzing::query_parser` (see testkit/src/fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb_testkit::fuzzing::query_parser(data));
