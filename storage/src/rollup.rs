//! Rollups: per series, per aligned bucket of a fixed resolution (1 min,
//! 1 h), the summary that `*_over_time`, `rate` and `increase` need to be
//! answered exactly without the raw samples: count, sum, min, max, the first
//! and last sample, and the counter-reset correction inside the bucket.
//! Staleness markers are left out, as range selectors leave them out.
//!
//! Stored in blocks (format version 2) as one blob per series and
//! resolution: its bucket starts and each field as a sealed chunk column, so
//! the same codecs that shrink samples shrink rollups (`rollup_blob`).

use crate::chunk::sealed;
use crate::codec::{put_uvarint, ByteReader, DecodeError};
use crate::{RollupBucket, RollupFields, Sample};

/// Whether a block gets rollups at `resolution`: 1 h rollups always (a
/// fraction of a percent of the samples' space); 1 min rollups (about 15 %
/// at 1 s cadence) only in compacted blocks (`level` ≥ 2) whose window ends
/// (`window_maxt`) within `minute_span` of the newest sample stored. Blocks
/// cut from the head skip them because the head's chunk summaries serve
/// the newest hours and the block is compacted (and given them) soon; old
/// data is asked for at coarse steps, which 1 h rollups serve.
pub(crate) fn kept_in_block(resolution: i64, level: u32, window_maxt: i64, newest: i64, minute_span: i64) -> bool {
    resolution >= 3_600_000 || (level >= 2 && window_maxt >= newest.saturating_sub(minute_span))
}

/// Buckets of `samples` (time-ordered) at `resolution`, for storing.
///
/// Sums (`sum`, `correction`) are rounded to 15 significant digits: float
/// addition leaves digits like `3012.4500000000003` that no decimal codec
/// can store compactly, while the rounding changes them by under 1e-15
/// relative — far inside the 1e-9 that sums promise.
pub(crate) fn compute_for_storage(samples: &[Sample], resolution: i64) -> Vec<RollupBucket> {
    let mut out = pulsedb_model::summarize(samples, resolution);
    for b in &mut out {
        b.sum = round_15(b.sum);
        b.correction = round_15(b.correction);
    }
    out
}

/// `v` rounded to 15 significant decimal digits.
fn round_15(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    format!("{v:.14e}").parse().unwrap_or(v)
}

/// Most buckets in one blob: the decoder refuses more (it bounds its
/// allocations), so the block writer keeps no blob with more — a 1 min
/// rollup of a block longer than about 45 days — and readers compute those
/// buckets from the chunks instead.
pub(crate) const MAX_BUCKETS: usize = sealed::MAX_SAMPLES;

/// Encodes buckets as a blob (at most [`MAX_BUCKETS`]): `n uvarint`, the bucket starts as a sealed
/// chunk's timestamp section, then 9 value columns, each `codec u8 |
/// len uvarint | values` with the smallest sealed-chunk value codec: count,
/// sum, min, max, first t (offset from the start), first v, last t offset,
/// last v, correction. Mostly-constant columns (count, offsets) cost a few
/// bits per 64 buckets.
pub(crate) fn encode(buckets: &[RollupBucket]) -> Vec<u8> {
    debug_assert!(buckets.len() <= MAX_BUCKETS, "{} rollup buckets", buckets.len());
    let mut out = Vec::new();
    put_uvarint(&mut out, buckets.len() as u64);
    if buckets.is_empty() {
        return out;
    }
    let starts: Vec<Sample> = buckets.iter().map(|b| Sample { t: b.start, v: 0.0 }).collect();
    sealed::encode_timestamps(&starts, &mut out);
    for field in FIELDS {
        let values: Vec<f64> = buckets.iter().map(field.get).collect();
        let (codec, body) = sealed::encode_values(&values);
        out.push(codec as u8);
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
pub(crate) fn decode(bytes: &[u8], fields: RollupFields, out: &mut Vec<RollupBucket>) -> Result<(), DecodeError> {
    let first = out.len();
    let result = decode_into(bytes, fields, out);
    if result.is_err() {
        out.truncate(first);
    }
    result
}

fn decode_into(bytes: &[u8], fields: RollupFields, out: &mut Vec<RollupBucket>) -> Result<(), DecodeError> {
    let mut r = ByteReader::new(bytes);
    let n = r.len("rollup bucket count", MAX_BUCKETS)?;
    if n == 0 {
        return Ok(());
    }
    let mut starts = Vec::with_capacity(n);
    sealed::decode_timestamps(&mut r, n, &mut starts)?;
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
    for field in FIELDS {
        let at = r.position();
        let codec = crate::Codec::try_from(r.u8("rollup column codec")?).map_err(|_| DecodeError {
            what: "rollup column codec",
            offset: at,
            reason: "unknown codec",
        })?;
        let len = r.len("rollup column length", r.remaining())?;
        let body_at = r.position();
        let body = r.take(len, "rollup column")?;
        if !fields.contains(field.needed_for) {
            continue;
        }
        sealed::decode_values(codec, body, &mut column).map_err(|e| DecodeError { offset: body_at + e.offset, ..e })?;
        for (b, s) in out.iter_mut().skip(first).zip(&column) {
            (field.set)(b, s.v);
        }
    }
    if !r.is_empty() {
        return Err(DecodeError { what: "rollup blob", offset: r.position(), reason: "trailing bytes" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{RESOLUTIONS, STALE_NAN};
    use proptest::prelude::*;

    #[test]
    fn buckets_summarise_and_skip_stale_markers() {
        let samples = vec![
            Sample::new(0, 5.0),
            Sample::new(15_000, 7.0),
            Sample::new(30_000, 2.0), // reset: correction 7
            Sample::new(45_000, f64::from_bits(STALE_NAN)),
            Sample::new(60_000, 3.0),
        ];
        let b = pulsedb_model::summarize(&samples, 60_000);
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].count, b[0].sum, b[0].min, b[0].max, b[0].correction), (3, 14.0, 2.0, 7.0, 7.0));
        assert_eq!((b[0].first, b[0].last), (Sample::new(0, 5.0), Sample::new(30_000, 2.0)));
        assert_eq!(b[1].start, 60_000);
    }

    proptest! {
        #[test]
        fn blobs_round_trip(values in proptest::collection::vec((1i64..50_000, prop_oneof![any::<u64>().prop_map(f64::from_bits), (0i64..10_000).prop_map(|m| m as f64 / 10.0)]), 0..500)) {
            let mut t = 1_700_000_000_000i64;
            let samples: Vec<Sample> = values.iter().map(|&(d, v)| { t += d; Sample::new(t, v) }).collect();
            for res in RESOLUTIONS {
                let buckets = pulsedb_model::summarize(&samples, res);
                let mut out = Vec::new();
                decode(&encode(&buckets), RollupFields::ALL, &mut out).unwrap();
                prop_assert_eq!(out.len(), buckets.len());
                for (a, b) in out.iter().zip(&buckets) {
                    prop_assert_eq!((a.start, a.count, a.first.t, a.last.t), (b.start, b.count, b.first.t, b.last.t));
                    for (x, y) in [(a.sum, b.sum), (a.min, b.min), (a.max, b.max), (a.first.v, b.first.v), (a.last.v, b.last.v), (a.correction, b.correction)] {
                        prop_assert_eq!(x.to_bits(), y.to_bits());
                    }
                }
            }
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&data, RollupFields::ALL, &mut Vec::new());
        }
    }
}
