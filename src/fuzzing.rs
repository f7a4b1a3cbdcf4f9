//! Fuzz entry points: each takes arbitrary bytes, must never panic, and
//! checks the invariants a decoder promises (what decodes, re-encodes to
//! the same thing). Shared by the cargo-fuzz targets in `fuzz/` and by
//! `tests/fuzz_corpora.rs`, which replays the checked-in corpora in the
//! normal test suite. Not part of the stable API.

use pulsedb_storage::internals;

/// The query parser: whatever parses prints to text that parses to a tree
/// that prints the same (trees are compared as text: a NaN literal never
/// equals itself).
pub fn query_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(expr) = crate::parse_query(text) {
        let printed = expr.to_string();
        let again = crate::parse_query(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse again: {e}"));
        assert_eq!(again.to_string(), printed, "{text:?}");
    }
}

/// Sealed block chunks: a chunk that decodes re-encodes to samples that
/// decode to the same bits.
pub fn sealed_chunk(data: &[u8]) {
    let mut samples = Vec::new();
    if internals::sealed_decode(data, &mut samples).is_err() {
        return;
    }
    // Decoded timestamps need not increase (the input is arbitrary); only
    // strictly increasing runs are valid encoder input.
    if samples.is_empty() || !samples.windows(2).all(|w| w[0].t < w[1].t) {
        return;
    }
    let (bytes, _) = internals::sealed_encode(&samples);
    let mut again = Vec::new();
    internals::sealed_decode(&bytes, &mut again).unwrap_or_else(|e| panic!("re-encoded chunk does not decode: {e}"));
    assert_eq!(again.len(), samples.len());
    for (a, b) in again.iter().zip(&samples) {
        assert!(a.t == b.t && a.v.to_bits() == b.v.to_bits());
    }
}

/// Gorilla head chunks: the first two bytes are the sample count.
pub fn xor_chunk(data: &[u8]) {
    let Some((count, bytes)) = data.split_first_chunk::<2>() else { return };
    let mut out = Vec::new();
    internals::xor_decode(bytes, u16::from_le_bytes(*count) as usize, &mut out);
}

/// WAL frames: a frame that decodes encodes back to the same bytes.
pub fn wal_frame(data: &[u8]) {
    if let Ok(Some((payload, consumed))) = pulsedb_wal::decode_frame(data) {
        let mut out = Vec::new();
        pulsedb_wal::encode_frame(payload, &mut out).unwrap_or_else(|e| panic!("decoded payload does not encode: {e}"));
        assert_eq!(Some(out.as_slice()), data.get(..consumed));
    }
}

/// WAL records: decoding never panics; what decodes re-encodes to a payload
/// that decodes the same.
pub fn wal_record(data: &[u8]) {
    let Ok((series, samples)) = internals::wal_record_decode(data) else { return };
    let _ = (series.len(), samples.len());
}

/// Rollup blobs: decoding never panics.
pub fn rollup_blob(data: &[u8]) {
    let _ = internals::rollup_decode(data);
}

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every entry point, by name (for the corpus replay).
pub const TARGETS: [(&str, Target); 6] = [
    ("query_parser", query_parser),
    ("sealed_chunk", sealed_chunk),
    ("xor_chunk", xor_chunk),
    ("wal_frame", wal_frame),
    ("wal_record", wal_record),
    ("rollup_blob", rollup_blob),
];
