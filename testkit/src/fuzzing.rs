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
    if let Ok(expr) = pulsedb::parse_query(text) {
        let printed = expr.to_string();
        let again = pulsedb::parse_query(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse again: {e}"));
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

/// Gorilla head chunks: the first two bytes are the sample count. A chunk
/// that decodes whole, with increasing timestamps (what the head writes),
/// re-encodes to samples that decode to the same bits.
pub fn xor_chunk(data: &[u8]) {
    let Some((count, bytes)) = data.split_first_chunk::<2>() else { return };
    let mut samples = Vec::new();
    let whole = internals::xor_decode(bytes, u16::from_le_bytes(*count) as usize, &mut samples);
    if !whole || samples.is_empty() || !samples.windows(2).all(|w| w[0].t < w[1].t) {
        return;
    }
    let (bytes, n) = internals::xor_encode(&samples);
    assert_eq!(n, samples.len());
    let mut again = Vec::new();
    assert!(internals::xor_decode(&bytes, n, &mut again), "re-encoded chunk ends early");
    assert_eq!(bits(&again), bits(&samples));
}

fn bits(samples: &[pulsedb::Sample]) -> Vec<(i64, u64)> {
    samples.iter().map(|s| (s.t, s.v.to_bits())).collect()
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

/// Rollup blobs: decoding never panics, and buckets that decode (with
/// increasing starts and offsets an f64 holds exactly, as blocks write
/// them) re-encode to a blob that decodes to the same bits.
pub fn rollup_blob(data: &[u8]) {
    let Ok((buckets, kept_correction)) = internals::rollup_decode(data) else { return };
    const EXACT: i64 = 1 << 53;
    let sane = buckets.windows(2).all(|w| w[0].start < w[1].start)
        && buckets.iter().all(|b| {
            let offset = |t: i64| t.checked_sub(b.start).is_some_and(|d| d.unsigned_abs() < EXACT as u64);
            offset(b.first.t) && offset(b.last.t) && b.count < EXACT as u64
        });
    if !sane {
        return;
    }
    let (again, kept_again) = internals::rollup_decode(&internals::rollup_encode_buckets(&buckets))
        .unwrap_or_else(|e| panic!("re-encoded rollup blob does not decode: {e}"));
    // A correction is compared where both blobs kept it: the encoder
    // leaves out a gauge's, and the decoded buckets may be one.
    let both = kept_correction && kept_again;
    let key = |b: &pulsedb::RollupBucket| {
        let f = |v: f64| v.to_bits();
        (
            b.start,
            b.count,
            f(b.sum),
            f(b.min),
            f(b.max),
            b.first.t,
            f(b.first.v),
            b.last.t,
            f(b.last.v),
            if both { f(b.correction) } else { 0 },
        )
    };
    assert_eq!(again.iter().map(key).collect::<Vec<_>>(), buckets.iter().map(key).collect::<Vec<_>>());
}

/// The remote-write decoder. An odd first byte means "the rest is the
/// protobuf itself" (the target snappy-compresses it), so the fuzzer reaches
/// the protobuf decoder without having to learn snappy; an even one means
/// "the rest is the HTTP body". The in-place decoder (`remote_wire`, what the
/// server runs) accepts exactly what the prost decoder accepts, with the same
/// batch; a body that decodes re-encodes to the same batch.
pub fn remote_write(data: &[u8]) {
    let Some(body) = snappy_body(data) else { return };
    let in_place =
        pulsedb_formats::remote_wire::decode_write_cached(&body, 1 << 24, &pulsedb_formats::remote_wire::NoCache);
    let decoded = pulsedb_formats::remote::decode_write_request(&body, 1 << 24);
    assert_eq!(in_place.is_ok(), decoded.is_ok(), "the two remote-write decoders disagree");
    let (Ok(in_place), Ok(decoded)) = (in_place, decoded) else { return };
    assert_eq!(rows(&in_place.body.batch), rows(&decoded.batch));
    assert_eq!(in_place.body.metadata, decoded.metadata);
    let batch = decoded.batch;
    let again = pulsedb_formats::remote::decode_write(&pulsedb_formats::remote::encode_write(&batch), 1 << 24)
        .unwrap_or_else(|e| panic!("re-encoded batch does not decode: {e}"));
    assert_eq!(rows(&again), rows(&batch));
}

/// The remote-read request decoder (same framing as [`remote_write`]): a
/// request that decodes re-encodes to one that decodes to the same queries.
pub fn remote_read(data: &[u8]) {
    use pulsedb_formats::remote::{decode_read, encode_read};
    let Some(body) = snappy_body(data) else { return };
    let Ok(queries) = decode_read(&body, 1 << 24) else { return };
    let wire_op = |m: &pulsedb::Matcher| match m.op() {
        pulsedb::MatchOp::Equal => 0,
        pulsedb::MatchOp::NotEqual => 1,
        pulsedb::MatchOp::RegexMatch => 2,
        pulsedb::MatchOp::RegexNoMatch => 3,
    };
    let wire: Vec<(i64, i64, Vec<pulsedb_formats::remote::WireMatcher<'_>>)> = queries
        .iter()
        .map(|q| (q.start_ms, q.end_ms, q.matchers.iter().map(|m| (wire_op(m), m.name(), m.value())).collect()))
        .collect();
    let again = decode_read(&encode_read(&wire), 1 << 24).unwrap_or_else(|e| panic!("re-encoded request: {e}"));
    let key = |qs: &[pulsedb_formats::remote::ReadQuery]| {
        qs.iter()
            .map(|q| (q.start_ms, q.end_ms, q.matchers.iter().map(|m| m.to_string()).collect::<Vec<_>>()))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&again), key(&queries));
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
pub(crate) fn rows(batch: &pulsedb::Batch) -> Vec<(String, Vec<(i64, u64)>)> {
    batch.rows().map(|(l, s)| (l.to_string(), s.iter().map(|x| (x.t, (x.v + 0.0).to_bits())).collect())).collect()
}

/// The line-protocol parser: what parses, written back as lines, parses to the same samples.
pub fn line_protocol(data: &[u8]) {
    use pulsedb_formats::line_protocol::{parse_bytes, write_line, Precision};
    let Ok(batch) = parse_bytes(data, Precision::Nanoseconds, 0) else { return };
    let mut text = String::new();
    for (labels, samples) in batch.rows() {
        for s in samples {
            assert!(write_line(&mut text, labels, *s), "a parsed sample cannot be written: {labels} {s:?}");
        }
    }
    let again = parse_bytes(text.as_bytes(), Precision::Nanoseconds, 0)
        .unwrap_or_else(|e| panic!("written lines do not parse: {e}\n{text}"));
    let exact = |b: &pulsedb::Batch| -> Vec<(String, Vec<(i64, u64)>)> {
        b.rows().map(|(l, s)| (l.to_string(), s.iter().map(|x| (x.t, x.v.to_bits())).collect())).collect()
    };
    assert_eq!(exact(&again), exact(&batch), "{text}");
    line_protocol_cached(data, &batch);
}

/// The same body through a series cache learnt from parsing it once gives
/// the same rows, in the same order, once handles are read as their labels.
fn line_protocol_cached(data: &[u8], uncached: &pulsedb::Batch) {
    use pulsedb::{Labels, Row, SeriesHandle, SeriesRef};
    use pulsedb_formats::line_protocol::{parse_bytes_cached, LineSeriesCache, Precision};

    struct Learnt(std::collections::HashMap<Vec<u8>, (SeriesHandle, usize)>, Vec<Labels>);
    impl LineSeriesCache for Learnt {
        fn get(&self, key: &[u8]) -> Option<(SeriesHandle, usize)> {
            self.0.get(key).copied()
        }
    }
    let mut cache = Learnt(Default::default(), Vec::new());
    let first = parse_bytes_cached(data, Precision::Nanoseconds, 0, &cache).expect("parsed without a cache");
    let rows: Vec<&Labels> = first.batch.rows().map(|(l, _)| l).collect();
    for miss in &first.misses {
        let labels = rows[miss.row];
        let bytes = labels.iter().map(|l| l.name.len() + l.value.len()).sum();
        cache.0.insert(
            miss.wire_labels.clone().expect("line keys"),
            (SeriesHandle::new(0, SeriesRef(cache.1.len() as u64)), bytes),
        );
        cache.1.push(labels.clone());
    }
    let second = parse_bytes_cached(data, Precision::Nanoseconds, 0, &cache).expect("parsed through the cache");
    let expanded: Vec<(String, Vec<(i64, u64)>)> = second
        .batch
        .rows_in_order()
        .map(|row| {
            let (labels, samples) = match row {
                Row::Labels(l, s) => (l, s),
                Row::Handle(h, s) => (&cache.1[h.series().0 as usize], s),
            };
            (labels.to_string(), samples.iter().map(|x| (x.t, x.v.to_bits())).collect())
        })
        .collect();
    let plain: Vec<(String, Vec<(i64, u64)>)> =
        uncached.rows().map(|(l, s)| (l.to_string(), s.iter().map(|x| (x.t, x.v.to_bits())).collect())).collect();
    assert_eq!(expanded, plain);
}

/// The text exposition parser, both dialects, line by line: what parses
/// is written back and parses to the same labels, time and value.
pub fn text_format(data: &[u8]) {
    use pulsedb_formats::text_format::{parse_line, write_sample, Dialect};
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
    use pulsedb_formats::csv::{parse_line, write_row};
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
fn same_sample(a: pulsedb::Sample, b: pulsedb::Sample) -> bool {
    a.t == b.t && (a.v.to_bits() == b.v.to_bits() || (a.v.is_nan() && b.v.is_nan()))
}

/// A scratch directory for one input, removed when dropped. Under
/// `/dev/shm` where there is one: the WAL fsyncs, and fuzzing should not
/// wait for a disk.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(what: &str) -> Option<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("pulsedb-fuzz-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        Some(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Splits `data` into `n` parts: `n - 1` little-endian u16 lengths, then
/// the parts back to back, the last taking the rest (lengths clamped).
fn split_parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let (lengths, mut rest) = data.split_at((2 * (n - 1)).min(data.len()));
    let mut parts = Vec::with_capacity(n);
    for len in lengths.chunks(2) {
        let len = match len {
            [a, b] => usize::from(u16::from_le_bytes([*a, *b])),
            _ => 0,
        };
        let (part, next) = rest.split_at(len.min(rest.len()));
        parts.push(part);
        rest = next;
    }
    parts.resize(n - 1, &[]);
    parts.push(rest);
    parts
}

/// Replay of a whole damaged WAL directory. The first byte says how to
/// lay out the rest: bits 0-1 the number of segment files (`% 3 + 1`),
/// bits 2-3 the first segment number (0-3), bit 4 leaves a number out after
/// the first (a missing segment), bit 5 writes a valid segment header
/// before each file's bytes (so mutations start at the frames). The rest is
/// split by `split_parts` (u16 lengths, the last part taking the rest).
/// Every frame replayed is decoded as a storage record, as recovery does.
///
/// Invariants: open returns `Ok` or a typed error, never panics; after a
/// successful open, a second open replays exactly the same frames (open cut
/// the torn tail, and says so); after a failed one, `repair` followed by
/// open succeeds unless a segment has an unknown format version.
pub fn wal_replay(data: &[u8]) {
    let _ = wal_replay_frames(data);
}

/// [`wal_replay`], returning what the first open replayed: the number of
/// frames, or the error (`None` for inputs too short to lay out).
pub fn wal_replay_frames(data: &[u8]) -> Option<Result<usize, String>> {
    use pulsedb_wal::{Wal, WalOptions};
    let (&control, rest) = data.split_first()?;
    let count = usize::from(control & 0b11) % 3 + 1;
    let first = u64::from((control >> 2) & 0b11);
    let gap = control & 0x10 != 0;
    let header = control & 0x20 != 0;
    let scratch = Scratch::new("wal")?;
    let dir = scratch.0.join("wal");
    std::fs::create_dir_all(&dir).ok()?;
    for (i, part) in split_parts(rest, count).into_iter().enumerate() {
        let number = first + i as u64 + u64::from(gap && i > 0);
        let mut bytes = Vec::with_capacity(part.len() + 8);
        if header {
            bytes.extend_from_slice(b"PWAL\x01\0\0\0");
        }
        bytes.extend_from_slice(part);
        std::fs::write(dir.join(format!("{number:08}.wal")), bytes).ok()?;
    }
    let options = || WalOptions::new().with_sync(pulsedb_wal::SyncMode::Never);
    let replay = |dir: &std::path::Path| -> pulsedb_wal::Result<Vec<Vec<u8>>> {
        let mut frames = Vec::new();
        let wal = Wal::open(dir, options(), |_, payload| {
            let _ = internals::wal_record_decode(payload);
            frames.push(payload.to_vec());
            Ok::<(), std::convert::Infallible>(())
        })?;
        let _ = wal.close();
        Ok(frames)
    };
    let _ = pulsedb_wal::verify(&dir, |_, _| {});
    match replay(&dir) {
        Ok(frames) => {
            let again = replay(&dir).unwrap_or_else(|e| panic!("a WAL that opened does not open again: {e}"));
            assert!(again == frames, "a second open replays other frames ({} vs {})", again.len(), frames.len());
            Some(Ok(frames.len()))
        }
        Err(first) => {
            if pulsedb_wal::repair(&dir).is_ok() {
                if let Err(e) = replay(&dir) {
                    assert!(
                        matches!(e, pulsedb_wal::Error::UnsupportedVersion { .. }),
                        "a repaired WAL does not open: {e}"
                    );
                }
            }
            Some(Err(first.to_string()))
        }
    }
}

/// Opening and reading a damaged block directory. Layout: a flags byte,
/// the `meta.json`, `index` and `chunks` lengths (u16 LE each), then
/// `meta.json`, `index`, `chunks` and `rollups` bytes (the last taking the
/// rest; no `rollups` file when empty, as blocks before format 4 have
/// none). Flag bit 0 recomputes the index checksum and bit 1 every frame's
/// checksum in `chunks` and `rollups`, so mutations reach the decoders
/// behind them. Every series is read whole and in part, with its rollups
/// and newest samples: `Ok` or a typed error, never a panic.
pub fn block_read(data: &[u8]) {
    let _ = block_read_samples(data);
}

/// [`block_read`], returning the samples read or the first error (`None`
/// when the scratch directory cannot be written).
pub fn block_read_samples(data: &[u8]) -> Option<Result<u64, String>> {
    let (&flags, rest) = data.split_first()?;
    let [meta, index, chunks, rollups] = split_parts(rest, 4)[..] else { return None };
    let mut index = index.to_vec();
    let (mut chunks, mut rollups) = (chunks.to_vec(), rollups.to_vec());
    if flags & 1 != 0 {
        fix_index_checksum(&mut index);
    }
    if flags & 2 != 0 {
        fix_frame_checksums(&mut chunks);
        fix_frame_checksums(&mut rollups);
    }
    let scratch = Scratch::new("block")?;
    let dir = &scratch.0;
    for (name, bytes) in [("meta.json", meta), ("index", &index[..]), ("chunks", &chunks[..])] {
        std::fs::write(dir.join(name), bytes).ok()?;
    }
    if !rollups.is_empty() {
        std::fs::write(dir.join("rollups"), &rollups).ok()?;
    }
    Some(internals::block_read_all(dir))
}

/// The index footer's crc32 covers every byte before it (see
/// `storage/docs/format/block.md`).
fn fix_index_checksum(index: &mut [u8]) {
    let Some(at) = index.len().checked_sub(8) else { return };
    let crc = crc32fast::hash(index.get(..at).unwrap_or_default());
    if let Some(field) = index.get_mut(at..at + 4) {
        field.copy_from_slice(&crc.to_le_bytes());
    }
}

/// Walks the frames (of `chunks` or `rollups`) after the 8-byte header (`kind u8 | stored_len
/// u32 | raw_len u32 | crc32(stored) u32 | stored`) and rewrites each crc.
fn fix_frame_checksums(chunks: &mut [u8]) {
    let mut at = 8usize;
    while let Some(header) = chunks.get(at..at + 13) {
        let stored_len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let Some(end) = (at + 13).checked_add(stored_len) else { return };
        let Some(stored) = chunks.get(at + 13..end) else { return };
        let crc = crc32fast::hash(stored);
        if let Some(field) = chunks.get_mut(at + 9..at + 13) {
            field.copy_from_slice(&crc.to_le_bytes());
        }
        at = end;
    }
}

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every entry point, by name (for the corpus replay).
pub const TARGETS: [(&str, Target); 17] = [
    ("query_parser", query_parser),
    ("query_structured", crate::structured::query_structured),
    ("ingest_structured", crate::structured::ingest_structured),
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
    ("wal_replay", wal_replay),
    ("block_read", block_read),
    ("rule_file", crate::rule_fuzzing::rule_file),
    ("dashboard_file", dashboard_file),
];

/// Dashboard files as they come (`pulsedb serve --dashboards`): checking
/// never panics, and a file that checks writes back as JSON that checks
/// again to the same dashboard.
pub fn dashboard_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(dashboard) = pulsedb_server::dashboards::parse("fuzz.json", text) else { return };
    let written = serde_json::to_string(&dashboard).expect("a checked dashboard serializes");
    let again = pulsedb_server::dashboards::parse("again.json", &written).expect("what was written checks again");
    assert_eq!(serde_json::to_string(&again).ok(), Some(written), "the dashboard changed on the round trip");
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulsedb::Sample;

    fn samples() -> Vec<Sample> {
        (0..300).map(|i| Sample::new(1_700_000_000_000 + i * 1_000 + i % 7, (i as f64 * 0.37).sin() * 100.0)).collect()
    }

    /// The round-trip checks run (and pass) on valid encodings, not only on
    /// inputs that fail to decode.
    #[test]
    fn round_trips_hold_on_valid_encodings() {
        let (bytes, n) = internals::xor_encode(&samples());
        let mut input = (n as u16).to_le_bytes().to_vec();
        input.extend_from_slice(&bytes);
        xor_chunk(&input);

        let blob = internals::rollup_encode(&samples(), 60_000);
        assert!(internals::rollup_decode(&blob).is_ok_and(|(b, _)| b.len() >= 4));
        rollup_blob(&blob);

        let request = pulsedb_formats::remote::encode_read(&[(1, 2, vec![(0, "__name__", "up"), (2, "job", "a|b")])]);
        let mut input = vec![0u8];
        input.extend_from_slice(&request);
        remote_read(&input);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Valid encodings with one byte changed: the round-trip checks
        /// never fail on what still decodes, and nothing panics.
        #[test]
        fn damaged_encodings_never_break_a_round_trip(at in 0usize..4096, byte in proptest::prelude::any::<u8>()) {
            let (bytes, n) = internals::xor_encode(&samples());
            let mut xor = (n as u16).to_le_bytes().to_vec();
            xor.extend_from_slice(&bytes);
            let mut rollup = internals::rollup_encode(&samples(), 60_000);
            let mut read = vec![0u8];
            read.extend_from_slice(&pulsedb_formats::remote::encode_read(&[(1, 2, vec![(2, "job", "a.*")])]));
            for input in [&mut xor, &mut rollup, &mut read] {
                let i = at % input.len();
                input[i] = byte;
            }
            xor_chunk(&xor);
            rollup_blob(&rollup);
            remote_read(&read);
        }
    }
}
