#![no_main]
//! Fuzz target: `pulsedb_testkit::fuzzing::dashboard_file` (dashboard files as `--dashboards` reads them).

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb_testkit::fuzzing::dashboard_file(data));
