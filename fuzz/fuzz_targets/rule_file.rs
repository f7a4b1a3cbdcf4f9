#![no_main]
//! Fuzz target: `pulsedb_testkit::fuzzing::rule_file` (see testkit/src/fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb_testkit::fuzzing::rule_file(data));
