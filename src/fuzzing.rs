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
    let payload = internals::wal_record_encode_raw(&series, &samples);
    let (series2, samples2) =
        internals::wal_record_decode(&payload).unwrap_or_else(|e| panic!("re-encoded record does not decode: {e}"));
    assert_eq!(series2, series);
    let bits = |s: &[(u64, i64, f64)]| s.iter().map(|&(r, t, v)| (r, t, v.to_bits())).collect::<Vec<_>>();
    assert_eq!(bits(&samples2), bits(&samples));
}

/// Rollup blobs: decoding never panics.
pub fn rollup_blob(data: &[u8]) {
    let _ = internals::rollup_decode(data);
}

/// The remote-write decoder. An odd first byte means "the rest is the
/// protobuf itself" (the target snappy-compresses it), so the fuzzer reaches
/// the protobuf decoder without having to learn snappy; an even one means
/// "the rest is the HTTP body". A body that decodes re-encodes to the same batch.
pub fn remote_write(data: &[u8]) {
    let Some(body) = snappy_body(data) else { return };
    let Ok(batch) = crate::ingest::remote::decode_write(&body, 1 << 24) else { return };
    let again = crate::ingest::remote::decode_write(&crate::ingest::remote::encode_write(&batch), 1 << 24)
        .unwrap_or_else(|e| panic!("re-encoded batch does not decode: {e}"));
    assert_eq!(rows(&again), rows(&batch));
}

/// The remote-read request decoder (same framing as [`remote_write`]): never panics.
pub fn remote_read(data: &[u8]) {
    let Some(body) = snappy_body(data) else { return };
    let _ = crate::ingest::remote::decode_read(&body, 1 << 24);
}

fn snappy_body(data: &[u8]) -> Option<Vec<u8>> {
    let (first, rest) = data.split_first()?;
    if first % 2 == 1 {
        snap::raw::Encoder::new().compress_vec(rest).ok()
    } else {
        Some(rest.to_vec())
    }
}

/// A batch as comparable rows; -0.0 compares as 0.0 (protobuf drops the sign of a zero).
fn rows(batch: &crate::Batch) -> Vec<(String, Vec<(i64, u64)>)> {
    batch.rows().map(|(l, s)| (l.to_string(), s.iter().map(|x| (x.t, (x.v + 0.0).to_bits())).collect())).collect()
}

/// The line-protocol parser: what parses, written back as lines, parses to the same samples.
pub fn line_protocol(data: &[u8]) {
    use crate::ingest::line_protocol::{parse_bytes, write_line, Precision};
    let Ok(batch) = parse_bytes(data, Precision::Nanoseconds, 0) else { return };
    let mut text = String::new();
    for (labels, samples) in batch.rows() {
        for s in samples {
            assert!(write_line(&mut text, labels, *s), "a parsed sample cannot be written: {labels} {s:?}");
        }
    }
    let again = parse_bytes(text.as_bytes(), Precision::Nanoseconds, 0)
        .unwrap_or_else(|e| panic!("written lines do not parse: {e}\n{text}"));
    let exact = |b: &crate::Batch| -> Vec<(String, Vec<(i64, u64)>)> {
        b.rows().map(|(l, s)| (l.to_string(), s.iter().map(|x| (x.t, x.v.to_bits())).collect())).collect()
    };
    assert_eq!(exact(&again), exact(&batch), "{text}");
}

/// The text exposition parser, both dialects, line by line: what parses
/// is written back and parses to the same labels, time and value.
pub fn text_format(data: &[u8]) {
    use crate::ingest::text_format::{parse_line, write_sample, Dialect};
    let Ok(text) = std::str::from_utf8(data) else { return };
    for line in text.lines() {
        for dialect in [Dialect::Prometheus, Dialect::OpenMetrics] {
            let Ok(Some((labels, sample))) = parse_line(line, dialect, 0, 1) else { continue };
            let mut out = String::new();
            write_sample(&mut out, &labels, sample, dialect);
            let again = parse_line(&out, dialect, 0, 1).unwrap_or_else(|e| panic!("{out:?} does not parse: {e}"));
            let Some((labels2, sample2)) = again else { panic!("{out:?} parsed as nothing") };
            assert_eq!(labels2, labels);
            assert!(same_sample(sample, sample2), "{line:?} → {out:?}");
        }
    }
}

/// The CSV row parser: what parses is written back and parses the same.
pub fn csv(data: &[u8]) {
    use crate::ingest::csv::{parse_line, write_row};
    let Ok(text) = std::str::from_utf8(data) else { return };
    for line in text.lines() {
        let Ok(Some((labels, sample))) = parse_line(line, 1) else { continue };
        let mut out = String::new();
        write_row(&mut out, &labels, sample);
        let again = parse_line(&out, 1).unwrap_or_else(|e| panic!("{out:?} does not parse: {e}"));
        let Some((labels2, sample2)) = again else { panic!("{out:?} parsed as nothing") };
        assert_eq!(labels2, labels);
        assert!(same_sample(sample, sample2), "{line:?} → {out:?}");
    }
}

/// Equal time and value; any NaN equals any NaN (text has one NaN).
fn same_sample(a: crate::Sample, b: crate::Sample) -> bool {
    a.t == b.t && (a.v.to_bits() == b.v.to_bits() || (a.v.is_nan() && b.v.is_nan()))
}

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every entry point, by name (for the corpus replay).
pub const TARGETS: [(&str, Target); 11] = [
    ("query_parser", query_parser),
    ("sealed_chunk", sealed_chunk),
    ("xor_chunk", xor_chunk),
    ("wal_frame", wal_frame),
    ("wal_record", wal_record),
    ("rollup_blob", rollup_blob),
    ("remote_write", remote_write),
    ("remote_read", remote_read),
    ("line_protocol", line_protocol),
    ("text_format", text_format),
    ("csv", csv),
];
