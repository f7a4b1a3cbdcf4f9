//! The rollup blob: one series' buckets at one resolution, as the bucket
//! starts and nine columns (block format 2 on; column forms of version 6
//! in `forms.rs`).

use super::forms::{self, ABSENT, DERIVED};
use super::MAX_BUCKETS;
use crate::chunk::sealed;
use crate::codec::{put_uvarint, ByteReader, DecodeError};
use crate::{RollupBucket, RollupFields, Sample};

/// Encodes buckets as a blob (at most [`MAX_BUCKETS`]): `n uvarint`, the
/// bucket starts as a sealed chunk's timestamp section, then 9 columns,
/// each `codec u8 | len uvarint | body`: count, sum, min, max, first t
/// (offset from the start), first v, last t offset, last v, correction.
/// A stored column's body is its values with the smallest sealed-chunk
/// value codec (mostly-constant columns, count and offsets, cost a few
/// bits per 64 buckets); min and max are derived from first or last v
/// where that takes fewer bytes ([`forms::derivable`]), and a gauge's
/// correction is left out ([`forms::left_out`]).
pub(crate) fn encode(buckets: &[RollupBucket]) -> Vec<u8> {
    debug_assert!(buckets.len() <= MAX_BUCKETS, "{} rollup buckets", buckets.len());
    let mut out = Vec::new();
    put_uvarint(&mut out, buckets.len() as u64);
    if buckets.is_empty() {
        return out;
    }
    let starts: Vec<Sample> = buckets.iter().map(|b| Sample { t: b.start, v: 0.0 }).collect();
    sealed::encode_timestamps(&starts, &mut out);
    let columns: Vec<Vec<f64>> = FIELDS.iter().map(|f| buckets.iter().map(f.get).collect()).collect();
    for (i, values) in columns.iter().enumerate() {
        let (codec, body) = if forms::left_out(i, &columns) {
            (ABSENT, Vec::new())
        } else {
            let (codec, stored) = sealed::encode_values(values);
            let mut derived = Vec::new();
            if let Some((source, exceptions)) = forms::derivable(i, &columns) {
                forms::encode_derived(source, &exceptions, &mut derived);
            }
            match derived.is_empty() || derived.len() >= stored.len() {
                true => (codec as u8, stored),
                false => (DERIVED, derived),
            }
        };
        out.push(codec);
        put_uvarint(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
    }
    out
}

struct Field {
    get: fn(&RollupBucket) -> f64,
    set: fn(&mut RollupBucket, f64),
    needed_for: RollupFields,
}

const FIELDS: [Field; 9] = [
    Field { get: |b| b.count as f64, set: |b, v| b.count = v as u64, needed_for: RollupFields::COUNT },
    Field { get: |b| b.sum, set: |b, v| b.sum = v, needed_for: RollupFields::SUM },
    Field { get: |b| b.min, set: |b, v| b.min = v, needed_for: RollupFields::MIN },
    Field { get: |b| b.max, set: |b, v| b.max = v, needed_for: RollupFields::MAX },
    Field {
        // Saturating: a damaged blob's offsets are any f64, and must not overflow.
        get: |b| b.first.t.saturating_sub(b.start) as f64,
        set: |b, v| b.first.t = b.start.saturating_add(v as i64),
        needed_for: RollupFields::FIRST,
    },
    Field { get: |b| b.first.v, set: |b, v| b.first.v = v, needed_for: RollupFields::FIRST },
    Field {
        get: |b| b.last.t.saturating_sub(b.start) as f64,
        set: |b, v| b.last.t = b.start.saturating_add(v as i64),
        needed_for: RollupFields::LAST,
    },
    Field { get: |b| b.last.v, set: |b, v| b.last.v = v, needed_for: RollupFields::LAST },
    Field { get: |b| b.correction, set: |b, v| b.correction = v, needed_for: RollupFields::CORRECTION },
];

/// Decodes a blob written by [`encode`], appending buckets to `out`; only
/// the columns `fields` needs are decoded, the others are skipped.
/// `Ok(false)`, with nothing appended, when the blob left out a column
/// `fields` needs: the caller computes the buckets from the samples.
pub(crate) fn decode(bytes: &[u8], fields: RollupFields, out: &mut Vec<RollupBucket>) -> Result<bool, DecodeError> {
    let first = out.len();
    let result = decode_into(bytes, fields, out);
    if !matches!(result, Ok(true)) {
        out.truncate(first);
    }
    result
}

/// A column as found in the blob: its codec byte and where it is, its body
/// and the body's offset.
#[derive(Clone, Copy)]
struct Column<'a> {
    codec: u8,
    codec_at: usize,
    body: &'a [u8],
    at: usize,
}

/// Whether column `i` may take `codec`: a value codec a rollup column is
/// written with (codec 5 is for sealed chunks only), or the form of
/// version 6 that column can have (derived min and max, a left-out and
/// empty correction).
fn allowed(i: usize, codec: u8, len: usize) -> bool {
    match codec {
        DERIVED => i == forms::MIN || i == forms::MAX,
        ABSENT => i == forms::CORRECTION && len == 0,
        c => crate::Codec::try_from(c).is_ok_and(|c| c != crate::Codec::DecimalDeltaBytes),
    }
}

fn decode_into(bytes: &[u8], fields: RollupFields, out: &mut Vec<RollupBucket>) -> Result<bool, DecodeError> {
    let mut r = ByteReader::new(bytes);
    let n = r.len("rollup bucket count", MAX_BUCKETS)?;
    if n == 0 {
        return Ok(true);
    }
    let mut starts = Vec::with_capacity(n);
    sealed::decode_timestamps(&mut r, n, &mut starts)?;
    let mut columns = [Column { codec: 0, codec_at: 0, body: &[], at: 0 }; 9];
    for (i, column) in columns.iter_mut().enumerate() {
        let codec_at = r.position();
        let codec = r.u8("rollup column codec")?;
        let len = r.len("rollup column length", r.remaining())?;
        if !allowed(i, codec, len) {
            return Err(DecodeError {
                what: "rollup column codec",
                offset: codec_at,
                reason: "unknown codec, or a form this column cannot take",
            });
        }
        let at = r.position();
        *column = Column { codec, codec_at, body: r.take(len, "rollup column")?, at };
    }
    if !r.is_empty() {
        return Err(DecodeError { what: "rollup blob", offset: r.position(), reason: "trailing bytes" });
    }
    let needed = |i: usize| FIELDS.get(i).is_some_and(|f| fields.contains(f.needed_for));
    if (0..FIELDS.len()).any(|i| needed(i) && columns[i].codec == ABSENT) {
        return Ok(false);
    }
    let empty = Sample { t: 0, v: 0.0 };
    // Decoded straight into `out`, the fields filled column by column.
    let first = out.len();
    out.extend(starts.iter().map(|s| RollupBucket {
        start: s.t,
        count: 0,
        sum: 0.0,
        min: 0.0,
        max: 0.0,
        first: empty,
        last: empty,
        correction: 0.0,
    }));
    // Offsets need the start, so they are applied after it is set (above).
    let mut column = vec![empty; n];
    for (i, field) in FIELDS.iter().enumerate() {
        if !needed(i) {
            continue;
        }
        let own = columns[i];
        let stored = match own.codec {
            DERIVED => {
                let source = forms::source_of(own.body).map_err(|e| DecodeError { offset: own.at + e.offset, ..e })?;
                columns[source]
            }
            _ => own,
        };
        let codec = crate::Codec::try_from(stored.codec).map_err(|_| DecodeError {
            what: "rollup column codec",
            offset: stored.codec_at,
            reason: "unknown codec",
        })?;
        sealed::decode_values(codec, stored.body, &mut column)
            .map_err(|e| DecodeError { offset: stored.at + e.offset, ..e })?;
        if own.codec == DERIVED {
            forms::apply_exceptions(own.body, &mut column)
                .map_err(|e| DecodeError { offset: own.at + e.offset, ..e })?;
        }
        for (b, s) in out.iter_mut().skip(first).zip(&column) {
            (field.set)(b, s.v);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::RESOLUTIONS;
    use proptest::prelude::*;

    /// Decodes `blob` with every field it has; the correction only when
    /// it kept it (then `true`).
    fn round_trip(buckets: &[RollupBucket]) -> Result<bool, TestCaseError> {
        let blob = encode(buckets);
        let mut out = Vec::new();
        let whole = decode(&blob, RollupFields::ALL, &mut out).unwrap();
        if !whole {
            prop_assert!(out.is_empty(), "a refused decode appends nothing");
            prop_assert!(
                decode(&blob, RollupFields::ALL_BUT_CORRECTION, &mut out).unwrap(),
                "only the correction is left out"
            );
        }
        prop_assert_eq!(out.len(), buckets.len());
        for (a, b) in out.iter().zip(buckets) {
            prop_assert_eq!((a.start, a.count, a.first.t, a.last.t), (b.start, b.count, b.first.t, b.last.t));
            for (x, y) in [(a.sum, b.sum), (a.min, b.min), (a.max, b.max), (a.first.v, b.first.v), (a.last.v, b.last.v)]
            {
                prop_assert_eq!(x.to_bits(), y.to_bits());
            }
            if whole {
                prop_assert_eq!(a.correction.to_bits(), b.correction.to_bits());
            }
        }
        Ok(whole)
    }

    /// The codec byte of each column of `blob`.
    fn column_codecs(blob: &[u8]) -> Vec<u8> {
        let mut r = ByteReader::new(blob);
        let n = r.len("n", MAX_BUCKETS).unwrap();
        sealed::decode_timestamps(&mut r, n, &mut Vec::new()).unwrap();
        (0..FIELDS.len())
            .map(|_| {
                let codec = r.u8("codec").unwrap();
                let len = r.len("len", r.remaining()).unwrap();
                r.take(len, "body").unwrap();
                codec
            })
            .collect()
    }

    proptest! {
        #[test]
        fn blobs_round_trip(values in proptest::collection::vec((1i64..50_000, prop_oneof![any::<u64>().prop_map(f64::from_bits), (0i64..10_000).prop_map(|m| m as f64 / 10.0)]), 0..500)) {
            let mut t = 1_700_000_000_000i64;
            let samples: Vec<Sample> = values.iter().map(|&(d, v)| { t += d; Sample::new(t, v) }).collect();
            for res in RESOLUTIONS {
                round_trip(&pulsedb_model::summarize(&samples, res))?;
            }
        }

        /// Counters with resets now and then: min and max are derived
        /// (with the reset buckets as exceptions), the correction kept.
        #[test]
        fn counters_round_trip_with_derived_columns(
            steps in proptest::collection::vec(1u32..500, 600..3000),
            reset_every in 200usize..2000,
        ) {
            let mut v = 0.0f64;
            let samples: Vec<Sample> = steps.iter().enumerate().map(|(i, &inc)| {
                v = if i > 0 && i % reset_every == 0 { f64::from(inc) / 1000.0 } else { v + f64::from(inc) / 1000.0 };
                Sample::new(1_700_000_000_000 + i as i64 * 1000, v)
            }).collect();
            let buckets = pulsedb_model::summarize(&samples, 60_000);
            prop_assert!(round_trip(&buckets)?, "a counter keeps its correction");
            let codecs = column_codecs(&encode(&buckets));
            if reset_every >= steps.len() {
                prop_assert_eq!((codecs[forms::MIN], codecs[forms::MAX]), (DERIVED, DERIVED));
            }
            prop_assert!(codecs[forms::CORRECTION] != ABSENT);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&data, RollupFields::ALL, &mut Vec::new());
        }
    }
}
