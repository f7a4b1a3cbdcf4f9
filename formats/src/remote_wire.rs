//! A remote-write body decoded in place: the protobuf `WriteRequest` read
//! straight from the decompressed bytes, each series' labels looked up by
//! their wire bytes in a [`SeriesCache`] before anything is built. A known
//! series becomes a row by handle (no strings, no `Labels`, no key to hash
//! in storage); only a series the cache does not know builds its labels,
//! and is returned as a [`Miss`] for the caller to cache once the append
//! has created it.
//!
//! It accepts and refuses exactly what the prost decoder
//! (`remote::decode_write_request`) does — wire types, lengths, UTF-8 of
//! every label, last value wins for a repeated scalar field — and yields
//! the same batch (`tests` below and the `remote_write` fuzz target compare
//! the two). Series without samples are skipped, their labels still checked.

use prost::Message as _;

use super::prompb;
use super::remote::{metadata_of, unsnappy, WriteBody};
use super::IngestError;
use crate::{Labels, Sample};
use pulsedb_model::SeriesHandle;

/// Series the caller has seen before, by the exact bytes of their label
/// fields in a `TimeSeries` message.
pub trait SeriesCache {
    fn get(&self, wire_labels: &[u8]) -> Option<SeriesHandle>;
}

/// A cache that knows nothing: every series builds its labels.
#[derive(Debug)]
pub struct NoCache;

impl SeriesCache for NoCache {
    fn get(&self, _: &[u8]) -> Option<SeriesHandle> {
        None
    }
}

/// A series the cache did not know: its row in the batch (by labels) and
/// its label fields' bytes, to cache under once it exists. `None` when its
/// label fields were not contiguous in the message (no key to cache).
#[derive(Debug)]
pub struct Miss {
    pub row: usize,
    pub wire_labels: Option<Vec<u8>>,
}

/// A decoded remote-write request, and the series the cache missed.
#[derive(Debug, Default)]
pub struct CachedWrite {
    pub body: WriteBody,
    pub misses: Vec<Miss>,
}

/// Decodes a snappy-compressed remote-write body, looking series up in `cache`.
pub fn decode_write_cached(
    body: &[u8],
    max_decompressed: usize,
    cache: &dyn SeriesCache,
) -> Result<CachedWrite, IngestError> {
    let raw = unsnappy(body, max_decompressed)?;
    decode_request(&raw, cache).map_err(|e| IngestError::Body(format!("bad protobuf WriteRequest: {e}")))
}

fn decode_request(raw: &[u8], cache: &dyn SeriesCache) -> Result<CachedWrite, String> {
    let mut out = CachedWrite::default();
    let mut r = Reader::new(raw);
    let mut samples = Vec::new();
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => {
                let series = r.message(wire, "WriteRequest.timeseries")?;
                add_series(series, cache, &mut samples, &mut out)?;
            }
            3 => {
                let m = prompb::MetricMetadata::decode(r.message(wire, "WriteRequest.metadata")?)
                    .map_err(|e| e.to_string())?;
                out.body.metadata.extend(metadata_of(m));
            }
            _ => r.skip(field, wire)?,
        }
    }
    Ok(out)
}

/// One `TimeSeries`: its label fields (where they lie) and samples.
fn add_series(
    message: &[u8],
    cache: &dyn SeriesCache,
    samples: &mut Vec<Sample>,
    out: &mut CachedWrite,
) -> Result<(), String> {
    samples.clear();
    let mut r = Reader::new(message);
    // The span of the label fields, while they are contiguous.
    let (mut span, mut contiguous, mut labels) = (None::<(usize, usize)>, true, 0usize);
    let short_labels = r.skip_short_labels();
    if short_labels > 0 {
        (span, labels) = (Some((0, r.pos)), short_labels);
    }
    r.add_short_samples(samples)?;
    loop {
        let start = r.pos;
        let Some((field, wire)) = r.key()? else { break };
        match field {
            1 => {
                r.message(wire, "TimeSeries.labels")?;
                labels += 1;
                span = match span {
                    None => Some((start, r.pos)),
                    Some((s, e)) if e == start => Some((s, r.pos)),
                    Some(other) => {
                        contiguous = false;
                        Some(other)
                    }
                };
            }
            2 => samples.push(sample(r.message(wire, "TimeSeries.samples")?)?),
            _ => r.skip(field, wire)?,
        }
    }
    let wire_labels = span.filter(|_| contiguous).map(|(s, e)| &message[s..e]);
    let handle = match wire_labels {
        // A series with no labels is never cached: storage refuses it by labels.
        Some(bytes) if !samples.is_empty() && labels > 0 => cache.get(bytes),
        _ => None,
    };
    if let Some(handle) = handle {
        out.body.batch.add_by_handle(handle, samples.iter().copied());
        return Ok(());
    }
    // Labels are checked even for a series without samples, as prost does.
    let labels = series_labels(message)?;
    if samples.is_empty() {
        return Ok(());
    }
    out.misses.push(Miss { row: out.body.batch.rows().len(), wire_labels: wire_labels.map(<[u8]>::to_vec) });
    out.body.batch.add(labels, samples.iter().copied());
    Ok(())
}

/// The labels of a `TimeSeries` message, in message order.
fn series_labels(message: &[u8]) -> Result<Labels, String> {
    let mut pairs = Vec::new();
    let mut r = Reader::new(message);
    while let Some((field, wire)) = r.key()? {
        if field != 1 {
            r.skip(field, wire)?;
            continue;
        }
        let mut label = Reader::new(r.message(wire, "TimeSeries.labels")?);
        let (mut name, mut value) = ("", "");
        while let Some((field, wire)) = label.key()? {
            match field {
                1 => name = label.string(wire, "Label.name")?,
                2 => value = label.string(wire, "Label.value")?,
                _ => label.skip(field, wire)?,
            }
        }
        pairs.push((name, value));
    }
    Ok(Labels::new(pairs))
}

/// A `Sample` message: value (double) and timestamp (int64), each last-wins.
fn sample(message: &[u8]) -> Result<Sample, String> {
    // What every sender writes: the value's field, then the timestamp's.
    if let [0x09, v @ .., 0x10] = message.get(..10).unwrap_or_default() {
        let mut r = Reader { buf: message, pos: 10 };
        if let (Ok(t), true) = (r.varint(), r.pos == message.len()) {
            let mut le = [0u8; 8];
            le.copy_from_slice(v);
            return Ok(Sample::new(t as i64, f64::from_bits(u64::from_le_bytes(le))));
        }
    }
    let mut r = Reader::new(message);
    let (mut v, mut t) = (0.0, 0i64);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => v = f64::from_bits(r.fixed64(wire, "Sample.value")?),
            2 => t = r.varint_field(wire, "Sample.timestamp")? as i64,
            _ => r.skip(field, wire)?,
        }
    }
    Ok(Sample::new(t, v))
}

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;
/// prost's recursion limit, which bounds nested groups too.
const MAX_GROUP_DEPTH: usize = 100;

/// A cursor over protobuf bytes; every read checks its bounds.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Skips the label fields at the cursor as every sender writes them
    /// (key `0x0a`, a one-byte length, all in bounds) and returns how many;
    /// the general loop reads whatever follows, exactly as it would have
    /// read these. A quarter of a steady-state request's decoding was the
    /// general reader's calls for these fields.
    #[inline]
    fn skip_short_labels(&mut self) -> usize {
        let mut skipped = 0;
        while let [0x0a, len @ 0..=0x7f, ..] = self.buf[self.pos..] {
            let end = self.pos + 2 + usize::from(len);
            if end > self.buf.len() {
                break;
            }
            self.pos = end;
            skipped += 1;
        }
        skipped
    }

    /// Reads the sample fields at the cursor written as
    /// [`skip_short_labels`](Self::skip_short_labels) expects labels: key
    /// `0x12`, a one-byte length, in bounds.
    #[inline]
    fn add_short_samples(&mut self, samples: &mut Vec<Sample>) -> Result<(), String> {
        while let [0x12, len @ 0..=0x7f, ..] = self.buf[self.pos..] {
            let end = self.pos + 2 + usize::from(len);
            let Some(message) = self.buf.get(self.pos + 2..end) else { break };
            samples.push(sample(message)?);
            self.pos = end;
        }
        Ok(())
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, String> {
        // Keys and lengths are mostly one byte.
        if let Some(&byte) = self.buf.get(self.pos).filter(|&&b| b < 0x80) {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        let mut value = 0u64;
        for i in 0..10 {
            let &byte = self.buf.get(self.pos).ok_or("buffer underflow")?;
            self.pos += 1;
            // The tenth byte may only carry the top bit of a u64.
            if i == 9 && byte > 1 {
                return Err("invalid varint".into());
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err("invalid varint".into())
    }

    /// The next field's number and wire type; `None` at the end.
    #[inline]
    fn key(&mut self) -> Result<Option<(u32, u8)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(format!("invalid key value: {key}"));
        }
        let wire = (key & 7) as u8;
        if wire > FIXED32 {
            return Err(format!("invalid wire type value: {wire}"));
        }
        let field = (key >> 3) as u32;
        if field == 0 {
            return Err("invalid field number: 0".into());
        }
        Ok(Some((field, wire)))
    }

    #[inline]
    fn expect(wire: u8, want: u8, what: &str) -> Result<(), String> {
        if wire == want {
            Ok(())
        } else {
            Err(format!("{what}: invalid wire type: {wire} (expected {want})"))
        }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("buffer underflow")?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// A length-delimited field's bytes.
    #[inline]
    fn message(&mut self, wire: u8, what: &str) -> Result<&'a [u8], String> {
        Self::expect(wire, LEN, what)?;
        let len = usize::try_from(self.varint()?).map_err(|_| "buffer underflow")?;
        self.take(len)
    }

    fn string(&mut self, wire: u8, what: &str) -> Result<&'a str, String> {
        let bytes = self.message(wire, what)?;
        std::str::from_utf8(bytes).map_err(|_| format!("{what}: invalid string value: data is not UTF-8 encoded"))
    }

    fn fixed64(&mut self, wire: u8, what: &str) -> Result<u64, String> {
        Self::expect(wire, FIXED64, what)?;
        let bytes = self.take(8)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(le))
    }

    fn varint_field(&mut self, wire: u8, what: &str) -> Result<u64, String> {
        Self::expect(wire, VARINT, what)?;
        self.varint()
    }

    /// Skips a field this decoder does not read; a group (wire types 3
    /// and 4, long deprecated) is skipped to its matching end, as prost does.
    fn skip(&mut self, field: u32, wire: u8) -> Result<(), String> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| "buffer underflow")?;
                self.take(len).map(drop)
            }
            FIXED32 => self.take(4).map(drop),
            START_GROUP => self.skip_group(field),
            _ => Err("unexpected end group tag".into()),
        }
    }

    fn skip_group(&mut self, field: u32) -> Result<(), String> {
        let mut open = vec![field];
        while let Some(&inner) = open.last() {
            let (f, wire) = self.key()?.ok_or("buffer underflow")?;
            match wire {
                START_GROUP if open.len() >= MAX_GROUP_DEPTH => return Err("recursion limit reached".into()),
                START_GROUP => open.push(f),
                END_GROUP if f == inner => {
                    open.pop();
                }
                END_GROUP => return Err("unexpected end group tag".into()),
                other => self.skip(f, other)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::remote::{decode_write_request, encode_write};
    use crate::Batch;
    use pulsedb_model::SeriesRef;

    /// Caches by wire bytes, handing out handles in order.
    #[derive(Default)]
    struct Map(Mutex<HashMap<Vec<u8>, SeriesHandle>>);

    impl SeriesCache for Map {
        fn get(&self, wire_labels: &[u8]) -> Option<SeriesHandle> {
            self.0.lock().unwrap().get(wire_labels).copied()
        }
    }

    fn batch(series: usize, t: i64) -> Batch {
        let mut b = Batch::new();
        for s in 0..series {
            let labels = Labels::metric("up", [("job", "node"), ("instance", &format!("h{s}:9100"))]);
            b.add(labels, [Sample::new(t, s as f64), Sample::new(t + 15_000, -0.5)]);
        }
        b
    }

    fn rows(b: &Batch) -> Vec<(String, Vec<(i64, u64)>)> {
        b.rows().map(|(l, s)| (l.to_string(), s.iter().map(|x| (x.t, x.v.to_bits())).collect())).collect()
    }

    #[test]
    fn without_a_cache_it_decodes_what_prost_decodes() {
        let body = encode_write(&batch(50, 1_000));
        let ours = decode_write_cached(&body, 1 << 20, &NoCache).unwrap();
        let prost = decode_write_request(&body, 1 << 20).unwrap();
        assert_eq!(rows(&ours.body.batch), rows(&prost.batch));
        assert_eq!(ours.misses.len(), 50);
        assert!(ours.misses.iter().enumerate().all(|(i, m)| m.row == i && m.wire_labels.is_some()));
    }

    #[test]
    fn cached_series_become_rows_by_handle() {
        let body = encode_write(&batch(3, 1_000));
        let first = decode_write_cached(&body, 1 << 20, &NoCache).unwrap();
        let cache = Map::default();
        for (i, miss) in first.misses.iter().enumerate() {
            cache
                .0
                .lock()
                .unwrap()
                .insert(miss.wire_labels.clone().unwrap(), SeriesHandle::new(7, SeriesRef(i as u64)));
        }
        // The next scrape of the same series: by handle, samples as sent.
        let again = decode_write_cached(&encode_write(&batch(4, 31_000)), 1 << 20, &cache).unwrap();
        let by_handle: Vec<_> = again.body.batch.rows_by_handle().map(|(h, s)| (h.series().0, s.to_vec())).collect();
        assert_eq!(by_handle.len(), 3);
        assert_eq!(by_handle[1], (1, vec![Sample::new(31_000, 1.0), Sample::new(46_000, -0.5)]));
        // The series the cache does not know comes by labels, as a miss.
        assert_eq!(again.body.batch.rows().len(), 1);
        assert_eq!(again.misses.len(), 1);
        assert_eq!(again.misses[0].row, 0);
    }

    /// Label fields with one-byte and two-byte lengths, and a sample
    /// between labels: each series is cached under its label fields' span
    /// and found again, and a series whose labels are not contiguous is
    /// never cached.
    #[test]
    fn series_of_any_label_lengths_are_cached_and_found() {
        let long = "v".repeat(200);
        let label = |n: &str, v: &str| prompb::Label { name: n.into(), value: v.into() };
        let sample = |t| prompb::Sample { value: 1.5, timestamp: t };
        let request = |t| prompb::WriteRequest {
            timeseries: vec![
                prompb::TimeSeries {
                    labels: vec![label("a", "1"), label("b", &long), label("c", "3")],
                    samples: vec![sample(t)],
                },
                prompb::TimeSeries { labels: vec![label("a", &long), label("b", "2")], samples: vec![sample(t)] },
            ],
            metadata: vec![],
        };
        let mut split = request(5).encode_to_vec();
        // A third series: a label, its sample, then another label.
        let series = [label("a", "x").encode_to_vec(), sample(5).encode_to_vec(), label("b", "y").encode_to_vec()];
        let mut message = Vec::new();
        for (field, bytes) in [(0x0a, &series[0]), (0x12, &series[1]), (0x0a, &series[2])] {
            message.extend([field, bytes.len() as u8]);
            message.extend(bytes);
        }
        split.extend([0x0a, message.len() as u8]);
        split.extend(message);
        let body = snap::raw::Encoder::new().compress_vec(&split).unwrap();
        let first = decode_write_cached(&body, 1 << 20, &NoCache).unwrap();
        assert_eq!(first.misses.len(), 3);
        assert!(first.misses[2].wire_labels.is_none(), "labels around a sample are not one span");
        let cache = Map::default();
        for (i, miss) in first.misses.iter().enumerate() {
            if let Some(wire) = &miss.wire_labels {
                cache.0.lock().unwrap().insert(wire.clone(), SeriesHandle::new(7, SeriesRef(i as u64)));
            }
        }
        let mut again = request(6).encode_to_vec();
        again.extend_from_slice(&split[request(5).encode_to_vec().len()..]);
        let body = snap::raw::Encoder::new().compress_vec(&again).unwrap();
        let again = decode_write_cached(&body, 1 << 20, &cache).unwrap();
        let refs: Vec<_> = again.body.batch.rows_by_handle().map(|(h, s)| (h.series().0, s.to_vec())).collect();
        assert_eq!(refs, vec![(0, vec![Sample::new(6, 1.5)]), (1, vec![Sample::new(6, 1.5)])]);
        assert_eq!(again.misses.len(), 1);
    }

    #[test]
    fn bad_bodies_are_refused_as_prost_refuses_them() {
        let good = snap::raw::Encoder::new().compress_vec(&prompb_bytes()).unwrap();
        assert!(decode_write_cached(&good, 1 << 20, &NoCache).is_ok());
        for raw in [
            vec![0x0a, 0x05, 0x0a],                                                 // truncated TimeSeries
            vec![0x0b],                                                             // field 1 as a group
            vec![0x13, 0x0a],                                                       // an unknown group, never ended
            vec![0x08, 0x01],                                                       // field 1 as a varint
            vec![0x0a, 0x04, 0x0a, 0x02, 0x0a, 0x80],                               // truncated label name length
            vec![0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe],                   // label name not UTF-8
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // overlong varint
        ] {
            let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
            let ours = decode_write_cached(&body, 1 << 20, &NoCache);
            let prost = decode_write_request(&body, 1 << 20);
            assert!(ours.is_err() && prost.is_err(), "{raw:?}: ours {:?}, prost {:?}", ours.is_ok(), prost.is_ok());
            assert!(ours.unwrap_err().to_string().starts_with("bad protobuf WriteRequest: "));
        }
    }

    fn prompb_bytes() -> Vec<u8> {
        prompb::WriteRequest {
            timeseries: vec![prompb::TimeSeries {
                labels: vec![prompb::Label { name: "__name__".into(), value: "x".into() }],
                samples: vec![prompb::Sample { value: 1.0, timestamp: 5 }],
            }],
            metadata: vec![],
        }
        .encode_to_vec()
    }

    proptest::proptest! {
        /// Any bytes: both decoders fail, or both give the same batch and metadata.
        #[test]
        fn it_agrees_with_prost_on_any_bytes(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
            let ours = decode_write_cached(&body, 1 << 20, &NoCache);
            let prost = decode_write_request(&body, 1 << 20);
            proptest::prop_assert_eq!(ours.is_ok(), prost.is_ok(), "{:?}", raw);
            if let (Ok(ours), Ok(prost)) = (ours, prost) {
                proptest::prop_assert_eq!(rows(&ours.body.batch), rows(&prost.batch));
                proptest::prop_assert_eq!(ours.body.metadata, prost.metadata);
            }
        }

        /// Well-formed requests with odd contents: the same batch as prost's.
        #[test]
        fn it_agrees_with_prost_on_requests(
            series in proptest::collection::vec(
                // Values past 127 bytes take a two-byte length: the general reader's case.
                (proptest::collection::vec(("[a-c_]{0,3}", "[x-z\u{e9}]{0,3}|[a-z]{118,130}"), 0..4),
                 proptest::collection::vec((proptest::num::i64::ANY, proptest::num::f64::ANY), 0..4)),
                0..6,
            ),
        ) {
            let request = prompb::WriteRequest {
                timeseries: series.iter().map(|(labels, samples)| prompb::TimeSeries {
                    labels: labels.iter().map(|(n, v)| prompb::Label { name: n.clone(), value: v.clone() }).collect(),
                    samples: samples.iter().map(|&(t, v)| prompb::Sample { value: v, timestamp: t }).collect(),
                }).collect(),
                metadata: vec![],
            };
            let body = snap::raw::Encoder::new().compress_vec(&request.encode_to_vec()).unwrap();
            let ours = decode_write_cached(&body, 1 << 20, &NoCache).unwrap();
            let prost = decode_write_request(&body, 1 << 20).unwrap();
            proptest::prop_assert_eq!(rows(&ours.body.batch), rows(&prost.batch));
            // A series is cached under exactly its label fields' bytes (none without labels).
            let sampled = request.timeseries.iter().filter(|t| !t.samples.is_empty());
            proptest::prop_assert_eq!(ours.misses.len(), sampled.clone().count());
            for (series, miss) in sampled.zip(&ours.misses) {
                let labels = prompb::TimeSeries { labels: series.labels.clone(), samples: vec![] }.encode_to_vec();
                proptest::prop_assert_eq!(miss.wire_labels.as_ref(), (!labels.is_empty()).then_some(&labels));
            }
        }
    }
}
