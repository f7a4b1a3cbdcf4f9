#![no_main]
//! Fuzz target: `pulsedb_testkit::rule_fuzzing::rule_file` (see testkit/src/rule_fuzzing.rs for the invariants).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb_testkit::rule_fuzzing::rule_file(data));
