//! WAL records: what storage puts inside the WAL's opaque frames. One frame
//! holds one appended batch: the series it introduces to the head and its
//! samples, so that replay rebuilds the head exactly. Pure codec, no I/O;
//! the layout is in `storage/docs/format/wal-records.md`.
//!
//! ```text
//! frame payload := version u8 (= 1) | record*
//! record        := type u8 | body
//! type 1 series  := count uvarint | (ref uvarint | key_len uvarint | canonical labels key)*
//! type 2 samples := count uvarint | entry*
//! entry          := ref_delta varint | n uvarint | t0_delta varint | (t_delta varint){n-1} | (value u64 LE){n}
//! ```
//! `ref_delta` is from the previous entry's ref, `t0_delta` from the previous
//! entry's first timestamp (both start at 0), so a batch of one sample per
//! series at a shared timestamp costs about 11 bytes per sample.
#![deny(clippy::indexing_slicing)]

use crate::codec::{put_bytes, put_uvarint, put_varint, ByteReader, DecodeError};
use crate::{Sample, SeriesRef};

/// Versions of the WAL record layout (`docs/format/wal-records.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum RecordVersion {
    /// Series records and sample records by series reference.
    V1 = 1,
}

impl RecordVersion {
    pub(crate) const CURRENT: Self = Self::V1;
}

impl TryFrom<u8> for RecordVersion {
    type Error = u8;

    fn try_from(v: u8) -> std::result::Result<Self, u8> {
        match v {
            1 => Ok(Self::V1),
            other => Err(other),
        }
    }
}
const TYPE_SERIES: u8 = 1;
const TYPE_SAMPLES: u8 = 2;
/// Guards allocations while decoding untrusted counts.
const MAX_COUNT: usize = 1 << 28;

/// A sample addressed by series ref, as replay sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RefSample {
    pub(crate) sref: SeriesRef,
    pub(crate) t: i64,
    pub(crate) v: f64,
}

/// Encodes one batch into a frame payload.
#[derive(Debug, Default)]
pub(crate) struct BatchEncoder {
    out: Vec<u8>,
}

impl BatchEncoder {
    pub(crate) fn new() -> Self {
        let mut out = Vec::with_capacity(256);
        out.push(RecordVersion::CURRENT as u8);
        Self { out }
    }

    /// Series record: refs with their canonical label keys.
    pub(crate) fn series<'a>(&mut self, series: impl ExactSizeIterator<Item = (SeriesRef, &'a [u8])>) {
        if series.len() == 0 {
            return;
        }
        self.out.push(TYPE_SERIES);
        put_uvarint(&mut self.out, series.len() as u64);
        for (sref, key) in series {
            put_uvarint(&mut self.out, sref.0);
            put_bytes(&mut self.out, key);
        }
    }

    /// Samples record: per series its samples (at least one each).
    pub(crate) fn samples<'a>(&mut self, entries: impl ExactSizeIterator<Item = (SeriesRef, &'a [Sample])>) {
        if entries.len() == 0 {
            return;
        }
        self.out.push(TYPE_SAMPLES);
        put_uvarint(&mut self.out, entries.len() as u64);
        let (mut prev_ref, mut prev_t0) = (0u64, 0i64);
        for (sref, samples) in entries {
            put_varint(&mut self.out, sref.0.wrapping_sub(prev_ref) as i64);
            prev_ref = sref.0;
            put_uvarint(&mut self.out, samples.len() as u64);
            let mut prev_t = prev_t0;
            for (i, s) in samples.iter().enumerate() {
                put_varint(&mut self.out, s.t.wrapping_sub(prev_t));
                if i == 0 {
                    prev_t0 = s.t;
                }
                prev_t = s.t;
            }
            for s in samples {
                self.out.extend_from_slice(&s.v.to_bits().to_le_bytes());
            }
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Decodes a frame payload, appending series and samples to the outputs
/// (cleared first). Series always precede samples within a frame.
pub(crate) fn decode_batch(
    payload: &[u8],
    series: &mut Vec<(SeriesRef, Vec<u8>)>,
    samples: &mut Vec<RefSample>,
) -> Result<(), DecodeError> {
    series.clear();
    samples.clear();
    let mut r = ByteReader::new(payload);
    let version = r.u8("record version")?;
    if RecordVersion::try_from(version).is_err() {
        return Err(DecodeError { what: "record version", offset: 0, reason: "unsupported record version" });
    }
    while !r.is_empty() {
        let at = r.position();
        match r.u8("record type")? {
            TYPE_SERIES => {
                let count = r.len("series count", MAX_COUNT.min(r.remaining()))?;
                series.reserve(count);
                for _ in 0..count {
                    let sref = SeriesRef(r.uvarint("series ref")?);
                    let key = r.bytes("series labels")?;
                    series.push((sref, key.to_vec()));
                }
            }
            TYPE_SAMPLES => {
                let count = r.len("sample entry count", MAX_COUNT.min(r.remaining()))?;
                let (mut sref, mut t0) = (0u64, 0i64);
                for _ in 0..count {
                    sref = sref.wrapping_add(r.varint("series ref delta")? as u64);
                    let n = r.len("sample count", MAX_COUNT.min(r.remaining()))?;
                    if n == 0 {
                        return Err(DecodeError { what: "sample count", offset: r.position(), reason: "zero" });
                    }
                    let start = samples.len();
                    let mut t = t0;
                    for i in 0..n {
                        t = t.wrapping_add(r.varint("timestamp delta")?);
                        if i == 0 {
                            t0 = t;
                        }
                        samples.push(RefSample { sref: SeriesRef(sref), t, v: 0.0 });
                    }
                    let values = r.take(n * 8, "sample values")?;
                    for (s, bytes) in samples.iter_mut().skip(start).zip(values.chunks_exact(8)) {
                        let mut buf = [0u8; 8];
                        buf.copy_from_slice(bytes);
                        s.v = f64::from_bits(u64::from_le_bytes(buf));
                    }
                }
            }
            _ => return Err(DecodeError { what: "record type", offset: at, reason: "unknown record type" }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    type Batch = (Vec<(u64, Vec<u8>)>, Vec<(u64, Vec<(i64, u64)>)>);

    fn batches() -> impl Strategy<Value = Batch> {
        (
            proptest::collection::vec((any::<u64>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..10),
            proptest::collection::vec(
                (any::<u64>(), proptest::collection::vec((any::<i64>(), any::<u64>()), 1..20)),
                0..20,
            ),
        )
    }

    proptest! {
        #[test]
        fn batches_round_trip((series, entries) in batches()) {
            let mut enc = BatchEncoder::new();
            enc.series(series.iter().map(|(r, k)| (SeriesRef(*r), k.as_slice())));
            let sample_vecs: Vec<(SeriesRef, Vec<Sample>)> = entries
                .iter()
                .map(|(r, ss)| (SeriesRef(*r), ss.iter().map(|&(t, v)| Sample { t, v: f64::from_bits(v) }).collect()))
                .collect();
            enc.samples(sample_vecs.iter().map(|(r, s)| (*r, s.as_slice())));
            let payload = enc.finish();

            let (mut got_series, mut got_samples) = (Vec::new(), Vec::new());
            decode_batch(&payload, &mut got_series, &mut got_samples).unwrap();
            let want_series: Vec<(SeriesRef, Vec<u8>)> = series.into_iter().map(|(r, k)| (SeriesRef(r), k)).collect();
            prop_assert_eq!(got_series, want_series);
            let want: Vec<(u64, i64, u64)> = entries
                .iter()
                .flat_map(|(r, ss)| ss.iter().map(move |&(t, v)| (*r, t, v)))
                .collect();
            let got: Vec<(u64, i64, u64)> = got_samples.iter().map(|s| (s.sref.0, s.t, s.v.to_bits())).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_batch(&data, &mut Vec::new(), &mut Vec::new());
        }
    }

    #[test]
    fn one_sample_per_series_is_compact() {
        let mut enc = BatchEncoder::new();
        let samples: Vec<(SeriesRef, Vec<Sample>)> =
            (0..1000).map(|i| (SeriesRef(i + 1), vec![Sample { t: 1_700_000_000_000, v: i as f64 }])).collect();
        enc.samples(samples.iter().map(|(r, s)| (*r, s.as_slice())));
        let len = enc.finish().len();
        assert!(len < 1000 * 12, "{len} bytes");
    }
}
