//! Sealed chunks: the form a run of samples takes inside a block. Each chunk
//! is re-encoded with whichever value codec is smallest for it, timestamps
//! always as bit-packed delta-of-deltas. Pure codec, no I/O.
//!
//! ```text
//! codec u8 | count uvarint | t0 varint | delta0 uvarint (count >= 2)
//!          | ts_len uvarint | ts bits: packed dods (count - 2)
//!          | values (to the end of the chunk), by codec:
//!   0 Xor           Gorilla XOR bits of every value
//!   1 DecimalDelta  k i8 | m0 varint | bits_len uvarint | packed deltas of m (count - 1) | patches
//!   2 DecimalDod    k i8 | m0 varint | d0 varint (count >= 2) | bits_len uvarint
//!                   | packed dods of m (count - 2) | patches
//! patches := 0 u8                                            no patches
//!          | 1 u8 | n uvarint | (index delta uvarint | bit-pattern difference varint){n}
//!          | 2 u8 | bits_len uvarint | packed differences, one per value (0 = exact)
//! ```
//! A decimal value is `m / 10^k`; a patched one is the f64 whose bit pattern
//! is that of `m / 10^k` plus the difference (`decimal.rs`). "packed" is
//! `packed.rs`. All differences use wrapping arithmetic, so any strictly
//! increasing timestamps and any f64 round-trip.

use super::bstream::{BitReader, BitWriter};
use super::packed::{packed_bits, read_packed, write_packed};
use super::xor::XorState;
use super::{decimal, Codec};
use crate::codec::{put_uvarint, put_varint, ByteReader, DecodeError};
use crate::Sample;

/// Upper bound on samples in one sealed chunk; decoders reject more.
pub(crate) const MAX_SAMPLES: usize = 1 << 16;
const PATCHES_NONE: u8 = 0;
const PATCHES_SPARSE: u8 = 1;
const PATCHES_DENSE: u8 = 2;

/// Encodes `samples` (strictly increasing timestamps, at least one) with
/// the smallest codec and returns the bytes and the codec chosen.
pub(crate) fn encode(samples: &[Sample]) -> (Vec<u8>, Codec) {
    debug_assert!(!samples.is_empty() && samples.len() <= MAX_SAMPLES);
    let mut out = Vec::with_capacity(samples.len() + 32);
    out.push(0); // codec, patched below
    put_uvarint(&mut out, samples.len() as u64);
    encode_timestamps(samples, &mut out);

    let values: Vec<f64> = samples.iter().map(|s| s.v).collect();
    let (codec, body) = encode_values(&values);
    out[0] = codec as u8;
    out.extend_from_slice(&body);
    (out, codec)
}

/// The values part alone, with the smallest codec (rollup columns use it).
pub(crate) fn encode_values(values: &[f64]) -> (Codec, Vec<u8>) {
    let mut best = (Codec::Xor, encode_xor(values));
    for k in decimal::candidate_exponents(values) {
        let (codec, body) = encode_decimal(k, values);
        if body.len() < best.1.len() {
            best = (codec, body);
        }
    }
    best
}

/// Decodes a values part written by [`encode_values`] (all of `bytes`)
/// into the values of `samples`.
pub(crate) fn decode_values(codec: Codec, bytes: &[u8], samples: &mut [Sample]) -> Result<(), DecodeError> {
    let mut r = ByteReader::new(bytes);
    match codec {
        Codec::Xor => decode_xor(&mut r, samples),
        Codec::DecimalDelta | Codec::DecimalDod => decode_decimal(&mut r, codec, samples),
    }
}

pub(crate) fn encode_timestamps(samples: &[Sample], out: &mut Vec<u8>) {
    let mut prev_t = samples[0].t;
    put_varint(out, prev_t);
    let mut dods = Vec::with_capacity(samples.len().saturating_sub(2));
    let mut prev_delta = 0u64;
    for (i, s) in samples.iter().enumerate().skip(1) {
        let delta = s.t.wrapping_sub(prev_t) as u64;
        if i == 1 {
            put_uvarint(out, delta);
        } else {
            dods.push(delta.wrapping_sub(prev_delta) as i64);
        }
        prev_delta = delta;
        prev_t = s.t;
    }
    put_packed(&dods, out);
}

/// `bits_len uvarint | packed bits`.
fn put_packed(values: &[i64], out: &mut Vec<u8>) {
    let mut w = BitWriter::with_capacity(values.len() + 8);
    write_packed(&mut w, values);
    let bits = w.finish();
    put_uvarint(out, bits.len() as u64);
    out.extend_from_slice(&bits);
}

fn encode_xor(values: &[f64]) -> Vec<u8> {
    let mut w = BitWriter::with_capacity(values.len() * 2 + 8);
    let mut state = XorState::default();
    for (i, v) in values.iter().enumerate() {
        state.encode(&mut w, i, v.to_bits());
    }
    w.finish()
}

/// Mantissas at exponent `k` (nearest ones where inexact) and patches,
/// delta- or delta-of-delta-coded, whichever packs smaller.
fn encode_decimal(k: i8, values: &[f64]) -> (Codec, Vec<u8>) {
    let mut m = Vec::with_capacity(values.len());
    let mut patches: Vec<(usize, i64)> = Vec::new();
    let mut prev = 0i64;
    for (i, &v) in values.iter().enumerate() {
        let mantissa = match decimal::exact_mantissa(v, k) {
            Some(exact) => exact,
            None => {
                // Keep the stream smooth: the nearest mantissa, or the previous one.
                let near = decimal::nearest_mantissa(v, k).unwrap_or(prev);
                let diff = v.to_bits().wrapping_sub(decimal::unscale(near, k).to_bits()) as i64;
                patches.push((i, diff));
                near
            }
        };
        m.push(mantissa);
        prev = mantissa;
    }
    let deltas: Vec<i64> = m.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let dods: Vec<i64> = m.windows(3).map(|w| w[2].wrapping_sub(w[1]).wrapping_sub(w[1].wrapping_sub(w[0]))).collect();
    let mut out = vec![k as u8];
    put_varint(&mut out, m[0]);
    let codec = if m.len() >= 2 && packed_bits(&dods) + 64 < packed_bits(&deltas) {
        put_varint(&mut out, m[1].wrapping_sub(m[0]));
        put_packed(&dods, &mut out);
        Codec::DecimalDod
    } else {
        put_packed(&deltas, &mut out);
        Codec::DecimalDelta
    };
    put_patches(&patches, values.len(), &mut out);
    (codec, out)
}

/// A sparse list when patches are few, a packed difference per value when many.
fn put_patches(patches: &[(usize, i64)], count: usize, out: &mut Vec<u8>) {
    if patches.is_empty() {
        out.push(PATCHES_NONE);
        return;
    }
    let mut sparse = vec![PATCHES_SPARSE];
    put_uvarint(&mut sparse, patches.len() as u64);
    let mut last = 0;
    for &(i, diff) in patches {
        put_uvarint(&mut sparse, (i - last) as u64);
        put_varint(&mut sparse, diff);
        last = i;
    }
    if patches.len() * 16 > count {
        let mut diffs = vec![0i64; count];
        for &(i, diff) in patches {
            diffs[i] = diff;
        }
        let mut dense = vec![PATCHES_DENSE];
        put_packed(&diffs, &mut dense);
        if dense.len() < sparse.len() {
            out.extend_from_slice(&dense);
            return;
        }
    }
    out.extend_from_slice(&sparse);
}

/// Decodes a sealed chunk, appending its samples to `out`.
pub(crate) fn decode(bytes: &[u8], out: &mut Vec<Sample>) -> Result<Codec, DecodeError> {
    let mut r = ByteReader::new(bytes);
    let codec = Codec::try_from(r.u8("chunk codec")?).map_err(|_| DecodeError {
        what: "chunk codec",
        offset: 0,
        reason: "unknown codec",
    })?;
    let count = r.len("sample count", MAX_SAMPLES)?;
    if count == 0 {
        return Err(DecodeError { what: "sample count", offset: 1, reason: "empty chunk" });
    }
    let start = out.len();
    let result = decode_timestamps(&mut r, count, out).and_then(|()| {
        let samples = out.get_mut(start..).unwrap_or_default();
        match codec {
            Codec::Xor => decode_xor(&mut r, samples),
            Codec::DecimalDelta | Codec::DecimalDod => decode_decimal(&mut r, codec, samples),
        }
    });
    if result.is_err() {
        out.truncate(start);
    }
    result.map(|()| codec)
}

fn decode_xor(r: &mut ByteReader<'_>, samples: &mut [Sample]) -> Result<(), DecodeError> {
    let at = r.position();
    let mut reader = BitReader::new(r.rest());
    let mut state = XorState::default();
    for (i, s) in samples.iter_mut().enumerate() {
        let bits =
            state.decode(&mut reader, i).ok_or(DecodeError { what: "xor values", offset: at, reason: "end early" })?;
        s.v = f64::from_bits(bits);
    }
    Ok(())
}

fn decode_decimal(r: &mut ByteReader<'_>, codec: Codec, samples: &mut [Sample]) -> Result<(), DecodeError> {
    let count = samples.len();
    let k_at = r.position();
    let k = r.u8("decimal exponent")? as i8;
    if k.unsigned_abs() > decimal::MAX_EXPONENT.unsigned_abs() {
        return Err(DecodeError { what: "decimal exponent", offset: k_at, reason: "too large" });
    }
    let mut m = r.varint("first mantissa")?;
    let dod = codec == Codec::DecimalDod;
    let mut delta = if dod && count >= 2 { r.varint("first delta")? } else { 0 };
    let packed_len = if dod { count.saturating_sub(2) } else { count - 1 };
    let mut residuals = Vec::with_capacity(packed_len);
    read_packed_section(r, packed_len, &mut residuals, "packed mantissas")?;
    let mut residuals = residuals.into_iter();
    for (i, s) in samples.iter_mut().enumerate() {
        if i > 0 {
            if !dod {
                delta = residuals.next().unwrap_or_default();
            } else if i > 1 {
                delta = delta.wrapping_add(residuals.next().unwrap_or_default());
            }
            m = m.wrapping_add(delta);
        }
        s.v = decimal::unscale(m, k);
    }
    let at = r.position();
    match r.u8("patch kind")? {
        PATCHES_NONE => {}
        PATCHES_SPARSE => {
            let patches = r.len("patch count", count)?;
            let mut index = 0usize;
            for n in 0..patches {
                let at = r.position();
                let step = r.len("patch index", count)?;
                index = index.checked_add(step).filter(|&i| i < count && (n == 0 || step > 0)).ok_or(DecodeError {
                    what: "patch index",
                    offset: at,
                    reason: "out of range or not increasing",
                })?;
                let diff = r.varint("patch difference")?;
                if let Some(s) = samples.get_mut(index) {
                    s.v = f64::from_bits(s.v.to_bits().wrapping_add(diff as u64));
                }
            }
        }
        PATCHES_DENSE => {
            let mut diffs = Vec::with_capacity(count);
            read_packed_section(r, count, &mut diffs, "patch differences")?;
            for (s, diff) in samples.iter_mut().zip(diffs) {
                s.v = f64::from_bits(s.v.to_bits().wrapping_add(diff as u64));
            }
        }
        _ => return Err(DecodeError { what: "patch kind", offset: at, reason: "unknown patch kind" }),
    }
    if !r.is_empty() {
        return Err(DecodeError { what: "decimal values", offset: r.position(), reason: "trailing bytes" });
    }
    Ok(())
}

fn read_packed_section(
    r: &mut ByteReader<'_>,
    n: usize,
    out: &mut Vec<i64>,
    what: &'static str,
) -> Result<(), DecodeError> {
    let len = r.len("packed length", r.remaining())?;
    let at = r.position();
    let bits = r.take(len, what)?;
    read_packed(&mut BitReader::new(bits), n, out).ok_or(DecodeError { what, offset: at, reason: "end early" })
}

pub(crate) fn decode_timestamps(
    r: &mut ByteReader<'_>,
    count: usize,
    out: &mut Vec<Sample>,
) -> Result<(), DecodeError> {
    let mut t = r.varint("first timestamp")?;
    out.reserve(count);
    out.push(Sample { t, v: 0.0 });
    let mut delta = if count >= 2 { r.uvarint("first delta")? } else { 0 };
    if count >= 2 {
        t = t.wrapping_add(delta as i64);
        out.push(Sample { t, v: 0.0 });
    }
    let mut dods = Vec::with_capacity(count.saturating_sub(2));
    read_packed_section(r, count.saturating_sub(2), &mut dods, "timestamp bits")?;
    for dod in dods {
        delta = delta.wrapping_add(dod as u64);
        t = t.wrapping_add(delta as i64);
        out.push(Sample { t, v: 0.0 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[Sample]) -> (Codec, usize) {
        let (bytes, codec) = encode(samples);
        let mut out = Vec::new();
        assert_eq!(decode(&bytes, &mut out).unwrap(), codec);
        assert_eq!(out.len(), samples.len());
        for (a, b) in samples.iter().zip(&out) {
            assert_eq!(a.t, b.t);
            assert_eq!(a.v.to_bits(), b.v.to_bits(), "at t={}", a.t);
        }
        (codec, bytes.len())
    }

    fn at_seconds(values: &[f64]) -> Vec<Sample> {
        values.iter().enumerate().map(|(i, &v)| Sample { t: 1_600_000_000_000 + i as i64 * 1000, v }).collect()
    }

    #[test]
    fn picks_decimal_for_percentages_and_xor_for_arbitrary_floats() {
        // A random walk in tenths of a percent.
        let pct: Vec<f64> = (0..500u64)
            .scan((500i64, 0x9e37_79b9_7f4a_7c15u64), |(m, x), _| {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                *m = (*m + (*x % 21) as i64 - 10).clamp(0, 1000);
                Some(*m as f64 / 10.0)
            })
            .collect();
        assert_eq!(round_trip(&at_seconds(&pct)).0, Codec::DecimalDelta);
        let counter: Vec<f64> = (0..500).map(|i| (1000 + i * 250) as f64).collect();
        assert_eq!(round_trip(&at_seconds(&counter)).0, Codec::DecimalDod);
        let noise: Vec<f64> = (0..500).map(|i| (i as f64).sin()).collect();
        assert_eq!(round_trip(&at_seconds(&noise)).0, Codec::Xor);
    }

    #[test]
    fn arithmetic_leftovers_and_staleness_markers_are_patched() {
        // A random walk in thousandths, as a CPU percentage exporter prints it.
        let clean: Vec<f64> = (0..500u64)
            .scan(50_000i64, |m, i| {
                *m += (i.wrapping_mul(2_654_435_761) % 2001) as i64 - 1000;
                Some(*m as f64 / 1000.0)
            })
            .collect();
        let mut values = clean.clone();
        // Leftovers of float arithmetic sit an ulp or two from the decimal.
        values[10] = f64::from_bits(values[10].to_bits() + 1);
        values[11] = f64::from_bits(values[11].to_bits() - 2);
        values[200] = f64::from_bits(0x7ff0_0000_0000_0002); // Prometheus' stale NaN
        let (codec, len) = round_trip(&at_seconds(&values));
        assert_eq!(codec, Codec::DecimalDelta);
        let (_, clean_len) = round_trip(&at_seconds(&clean));
        assert!(len < clean_len + 30, "patches should cost a few bytes each: {len} vs {clean_len}");
        // A quarter of the values a few ulps off: a packed difference per value.
        let mut dense = clean.clone();
        for (i, v) in dense.iter_mut().enumerate().filter(|(i, _)| i % 4 == 1) {
            *v = f64::from_bits(v.to_bits().wrapping_add((i % 3) as u64 + 1));
        }
        let (codec, dense_len) = round_trip(&at_seconds(&dense));
        assert_eq!(codec, Codec::DecimalDelta);
        assert!(dense_len < clean_len + 500 / 4, "{dense_len} vs {clean_len}");
    }

    #[test]
    fn special_values_alone_fall_back_to_xor() {
        let values = [f64::NAN, -0.0, f64::INFINITY, f64::from_bits(0x7ff0_0000_0000_0001), 1.0 / 3.0];
        assert_eq!(round_trip(&at_seconds(&values)).0, Codec::Xor);
    }

    #[test]
    fn single_and_pair_chunks_round_trip() {
        round_trip(&[Sample { t: i64::MIN, v: 3.5 }]);
        round_trip(&[Sample { t: i64::MIN, v: 3.5 }, Sample { t: i64::MAX, v: -7.25 }]);
    }

    #[test]
    fn regular_integer_series_is_tiny() {
        let counter: Vec<f64> = (0..1000).map(|i| (i * 3) as f64).collect();
        let (_, len) = round_trip(&at_seconds(&counter));
        assert!(len < 60, "{len} bytes");
    }

    #[test]
    fn truncations_and_garbage_are_errors() {
        let mut values: Vec<f64> = (0..100).map(|i| ((i * 37) % 1000) as f64 / 10.0).collect();
        values[50] = 0.1 + 0.2;
        let (bytes, _) = encode(&at_seconds(&values));
        for cut in 0..bytes.len() {
            let mut out = Vec::new();
            assert!(decode(&bytes[..cut], &mut out).is_err(), "cut at {cut}");
            assert!(out.is_empty(), "a failed decode leaves nothing behind");
        }
    }

    fn samples() -> impl Strategy<Value = Vec<Sample>> {
        let value = prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            (-100_000i64..100_000).prop_map(|m| m as f64 / 100.0),
            (-100_000i64..100_000).prop_map(|m| m as f64 / 1000.0 * 3.0),
            (0i64..1_000_000).prop_map(|m| m as f64),
            Just(f64::NAN),
            Just(-0.0),
        ];
        let step = prop_oneof![Just(1000i64), 1i64..5000, 1i64..i64::MAX / 1024];
        (any::<i64>(), proptest::collection::vec((step, value), 1..400)).prop_map(|(start, rows)| {
            let mut t = start;
            let mut out = Vec::new();
            for (step, v) in rows {
                out.push(Sample { t, v });
                match t.checked_add(step) {
                    Some(next) => t = next,
                    None => break,
                }
            }
            out
        })
    }

    fn counter_samples() -> impl Strategy<Value = Vec<Sample>> {
        proptest::collection::vec(0i64..500, 1..400).prop_map(|incs| {
            let mut c = 0i64;
            incs.iter()
                .enumerate()
                .map(|(i, &inc)| {
                    c += inc;
                    Sample { t: i as i64 * 15_000, v: c as f64 }
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn arbitrary_chunks_round_trip(samples in samples()) {
            round_trip(&samples);
        }

        #[test]
        fn counters_round_trip(samples in counter_samples()) {
            round_trip(&samples);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&data, &mut Vec::new());
        }
    }
}
