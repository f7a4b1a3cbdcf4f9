//! Sealed chunks: the form a run of samples takes inside a block. Each chunk
//! is re-encoded with whichever value codec is smallest for it, timestamps
//! always as bit-packed delta-of-deltas. Pure codec, no I/O.
//!
//! ```text
//! codec u8 | count uvarint | t0 varint | delta0 uvarint (count >= 2)
//!          | ts_len uvarint | ts bits: packed zigzag dods (count - 2)
//!          | values (to the end of the chunk), by codec:
//!   0 Xor           Gorilla XOR bits of every value
//!   1 DecimalDelta  k u8 | m0 varint | packed zigzag deltas of m (count - 1)
//!   2 DecimalDod    k u8 | m0 varint | d0 varint (count >= 2) | packed zigzag dods (count - 2)
//! ```
//! Every value is `m / 10^k` for the decimal codecs; all differences use
//! wrapping arithmetic, so any strictly increasing timestamps round-trip.

use super::bstream::{BitReader, BitWriter};
use super::packed::{packed_bits, read_packed, write_packed};
use super::xor::XorState;
use super::{decimal, Codec};
use crate::codec::{put_uvarint, put_varint, unzigzag, zigzag, ByteReader, DecodeError};
use crate::Sample;

/// Upper bound on samples in one sealed chunk; decoders reject more.
pub(crate) const MAX_SAMPLES: usize = 1 << 16;

/// Encodes `samples` (strictly increasing timestamps, at least one) with
/// the smallest codec and returns the bytes and the codec chosen.
pub(crate) fn encode(samples: &[Sample]) -> (Vec<u8>, Codec) {
    debug_assert!(!samples.is_empty() && samples.len() <= MAX_SAMPLES);
    let mut out = Vec::with_capacity(samples.len() + 32);
    out.push(0); // codec, patched below
    put_uvarint(&mut out, samples.len() as u64);
    encode_timestamps(samples, &mut out);

    let values: Vec<f64> = samples.iter().map(|s| s.v).collect();
    let xor = encode_xor(&values);
    let mut mantissas = Vec::new();
    let decimal = decimal::scale(&values, &mut mantissas).map(|k| encode_decimal(k, &mantissas));
    let (codec, body) = match decimal {
        Some((codec, body)) if body.len() <= xor.len() => (codec, body),
        _ => (Codec::Xor, xor),
    };
    out[0] = codec as u8;
    out.extend_from_slice(&body);
    (out, codec)
}

fn encode_timestamps(samples: &[Sample], out: &mut Vec<u8>) {
    let mut prev_t = samples[0].t;
    put_varint(out, prev_t);
    let mut dods = Vec::with_capacity(samples.len().saturating_sub(2));
    let mut prev_delta = 0u64;
    for (i, s) in samples.iter().enumerate().skip(1) {
        let delta = s.t.wrapping_sub(prev_t) as u64;
        if i == 1 {
            put_uvarint(out, delta);
        } else {
            dods.push(zigzag(delta.wrapping_sub(prev_delta) as i64));
        }
        prev_delta = delta;
        prev_t = s.t;
    }
    let mut w = BitWriter::with_capacity(packed_bits(&dods).div_ceil(8));
    write_packed(&mut w, &dods);
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

/// Chooses delta or delta-of-delta coding of the mantissas, whichever packs smaller.
fn encode_decimal(k: u8, m: &[i64]) -> (Codec, Vec<u8>) {
    let deltas: Vec<u64> = m.windows(2).map(|w| zigzag(w[1].wrapping_sub(w[0]))).collect();
    let dods: Vec<u64> = m
        .windows(3)
        .map(|w| zigzag(w[2].wrapping_sub(w[1]).wrapping_sub(w[1].wrapping_sub(w[0]))))
        .collect();
    let mut out = vec![k];
    put_varint(&mut out, m[0]);
    let mut w = BitWriter::default();
    let codec = if m.len() >= 2 && packed_bits(&dods) + 64 < packed_bits(&deltas) {
        put_varint(&mut out, m[1].wrapping_sub(m[0]));
        write_packed(&mut w, &dods);
        Codec::DecimalDod
    } else {
        write_packed(&mut w, &deltas);
        Codec::DecimalDelta
    };
    out.extend_from_slice(&w.finish());
    (codec, out)
}

/// Decodes a sealed chunk, appending its samples to `out`.
pub(crate) fn decode(bytes: &[u8], out: &mut Vec<Sample>) -> Result<Codec, DecodeError> {
    let mut r = ByteReader::new(bytes);
    let codec_pos = r.position();
    let codec = Codec::try_from(r.u8("chunk codec")?).map_err(|_| DecodeError {
        what: "chunk codec",
        offset: codec_pos,
        reason: "unknown codec",
    })?;
    let count = r.len("sample count", MAX_SAMPLES)?;
    if count == 0 {
        return Err(DecodeError { what: "sample count", offset: 1, reason: "empty chunk" });
    }
    let start = out.len();
    decode_timestamps(&mut r, count, out)?;
    let values_at = r.position();
    let short = |what| DecodeError { what, offset: values_at, reason: "value bits end early" };
    let samples = &mut out[start..];
    match codec {
        Codec::Xor => {
            let mut reader = BitReader::new(r.rest());
            let mut state = XorState::default();
            for (i, s) in samples.iter_mut().enumerate() {
                s.v = f64::from_bits(state.decode(&mut reader, i).ok_or_else(|| short("xor values"))?);
            }
        }
        Codec::DecimalDelta | Codec::DecimalDod => {
            let k = r.u8("decimal exponent")?;
            if k > decimal::MAX_EXPONENT {
                return Err(DecodeError { what: "decimal exponent", offset: values_at, reason: "too large" });
            }
            let mut m = r.varint("first mantissa")?;
            let mut delta = if codec == Codec::DecimalDod && count >= 2 { r.varint("first delta")? } else { 0 };
            let packed_len = match codec {
                Codec::DecimalDod => count.saturating_sub(2),
                _ => count - 1,
            };
            let mut residuals = Vec::with_capacity(packed_len);
            read_packed(&mut BitReader::new(r.rest()), packed_len, &mut residuals)
                .ok_or_else(|| short("packed mantissas"))?;
            let mut residuals = residuals.into_iter();
            for (i, s) in samples.iter_mut().enumerate() {
                if i > 0 {
                    if codec == Codec::DecimalDelta {
                        delta = unzigzag(residuals.next().unwrap_or_default());
                    } else if i > 1 {
                        delta = delta.wrapping_add(unzigzag(residuals.next().unwrap_or_default()));
                    }
                    m = m.wrapping_add(delta);
                }
                s.v = decimal::unscale(m, k);
            }
        }
    }
    Ok(codec)
}

fn decode_timestamps(r: &mut ByteReader<'_>, count: usize, out: &mut Vec<Sample>) -> Result<(), DecodeError> {
    let mut t = r.varint("first timestamp")?;
    out.reserve(count);
    out.push(Sample { t, v: 0.0 });
    if count == 1 {
        let _ = r.len("timestamp bits length", r.remaining())?;
        return Ok(());
    }
    let mut delta = r.uvarint("first delta")?;
    t = t.wrapping_add(delta as i64);
    out.push(Sample { t, v: 0.0 });
    let bits_len = r.len("timestamp bits length", r.remaining())?;
    let bits_at = r.position();
    let bits = r.take(bits_len, "timestamp bits")?;
    let mut dods = Vec::with_capacity(count - 2);
    read_packed(&mut BitReader::new(bits), count - 2, &mut dods).ok_or(DecodeError {
        what: "timestamp bits",
        offset: bits_at,
        reason: "end early",
    })?;
    for dod in dods {
        delta = delta.wrapping_add(unzigzag(dod) as u64);
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

    fn round_trip(samples: &[Sample]) -> Codec {
        let (bytes, codec) = encode(samples);
        let mut out = Vec::new();
        assert_eq!(decode(&bytes, &mut out).unwrap(), codec);
        assert_eq!(out.len(), samples.len());
        for (a, b) in samples.iter().zip(&out) {
            assert_eq!(a.t, b.t);
            assert_eq!(a.v.to_bits(), b.v.to_bits(), "at t={}", a.t);
        }
        codec
    }

    fn at_seconds(values: &[f64]) -> Vec<Sample> {
        values.iter().enumerate().map(|(i, &v)| Sample { t: 1_600_000_000_000 + i as i64 * 1000, v }).collect()
    }

    #[test]
    fn picks_decimal_for_percentages_and_xor_for_arbitrary_floats() {
        let pct: Vec<f64> = (0..500).map(|i| ((i * 37) % 1000) as f64 / 10.0).collect();
        assert_eq!(round_trip(&at_seconds(&pct)), Codec::DecimalDelta);
        let counter: Vec<f64> = (0..500).map(|i| (1000 + i * 250) as f64).collect();
        assert_eq!(round_trip(&at_seconds(&counter)), Codec::DecimalDod);
        let noise: Vec<f64> = (0..500).map(|i| (i as f64).sin()).collect();
        assert_eq!(round_trip(&at_seconds(&noise)), Codec::Xor);
    }

    #[test]
    fn special_values_fall_back_to_xor() {
        let values = [1.0, -0.0, f64::NAN, f64::INFINITY, f64::from_bits(0x7ff0_0000_0000_0001)];
        assert_eq!(round_trip(&at_seconds(&values)), Codec::Xor);
    }

    #[test]
    fn single_and_pair_chunks_round_trip() {
        round_trip(&[Sample { t: i64::MIN, v: 3.5 }]);
        round_trip(&[Sample { t: i64::MIN, v: 3.5 }, Sample { t: i64::MAX, v: -7.25 }]);
    }

    #[test]
    fn regular_integer_series_is_tiny() {
        let counter: Vec<f64> = (0..1000).map(|i| (i * 3) as f64).collect();
        let (bytes, _) = encode(&at_seconds(&counter));
        assert!(bytes.len() < 60, "{} bytes", bytes.len());
    }

    #[test]
    fn truncations_and_garbage_are_errors() {
        let pct: Vec<f64> = (0..100).map(|i| ((i * 37) % 1000) as f64 / 10.0).collect();
        let (bytes, _) = encode(&at_seconds(&pct));
        for cut in 0..bytes.len() {
            let mut out = Vec::new();
            assert!(decode(&bytes[..cut], &mut out).is_err(), "cut at {cut}");
        }
    }

    fn samples() -> impl Strategy<Value = Vec<Sample>> {
        let value = prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            (-100_000i64..100_000).prop_map(|m| m as f64 / 100.0),
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
