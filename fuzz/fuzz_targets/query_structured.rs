#![no_main]
//! Fuzz target: `pulsedb_testkit::structured::query_structured` (see testkit/src/structured.rs): the bytes drive a
//! grammar of deep and long inputs, run on a thread with the server's query stack.

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsedb_testkit::structured::query_structured(data));
