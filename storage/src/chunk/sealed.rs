//! Sealed chunks: the form a run of samples takes inside a block. Each chunk
//! is re-encoded with whichever value codec is smallest for it, and its
//! timestamps in whichever of three forms is smallest. Pure codec, no I/O.
//!
//! ```text
//! head u8 (value codec in bits 0-3, timestamp form in bits 4-5, sized escapes in bit 6)
//!          | count uvarint
//!          | timestamps, by form:
//!   0 dods          t0 varint | delta0 uvarint (count >= 2) | bits_len uvarint | packed dods (count - 2)
//!   1 scaled dods   t0 varint | g uvarint | delta0 uvarint (count >= 2) | bits_len uvarint
//!                   | packed dods / g (count - 2)
//!   2 scaled deltas t0 varint | g uvarint | bits_len uvarint | packed deltas / g (count - 1)
//!          | values (to the end of the chunk), by codec:
//!   0 Xor                 Gorilla XOR bits of every value
//!   1 DecimalDelta        k i8 | m0 varint | bits_len uvarint | packed deltas of m (count - 1) | patches
//!   2 DecimalDod          k i8 | m0 varint | d0 varint (count >= 2) | bits_len uvarint
//!                         | packed dods of m (count - 2) | patches
//!   3 DecimalDeltaScaled  k i8 | m0 varint | g uvarint | bits_len uvarint | packed deltas / g | patches
//!   4 DecimalDodScaled    k i8 | m0 varint | d0 varint (count >= 2) | g uvarint | bits_len uvarint
//!                         | packed dods / g | patches
//!   5 DecimalDeltaBytes   k i8 | m0 varint | g uvarint | bytes_len uvarint
//!                         | zigzag(delta / g) uvarint (count - 1) | patches
//! patches := 0 u8                                            no patches
//!          | 1 u8 | n uvarint | (index delta uvarint | bit-pattern difference varint){n}
//!          | 2 u8 | bits_len uvarint | packed differences, one per value (0 = exact)
//! ```
//! A decimal value is `m / 10^k`; a patched one is the f64 whose bit pattern
//! is that of `m / 10^k` plus the difference (`decimal.rs`). "packed" is
//! `packed.rs`, with sized escapes when head bit 6 is set (every chunk
//! from block version 7 on), whole 64-bit ones before. `g` is the
//! greatest common divisor of what follows it (at least 2; in form 2 and
//! codec 5, 1 when there is none): timestamps in whole seconds or minutes
//! at irregular spacing, and readings in steps (0.002 kW, 5 units), pack
//! their quotients in far fewer bits. Forms 1-2 and codecs 3-4 appear from block version 5 on.
//! Codec 5 (block version 7 on) writes bytes, not bits, for the block
//! frame's zstd to code: it finds what Rice codes of single values cannot,
//! how often each delta comes and what repeats (a sub-meter's idle zeros
//! and its switching on and off), and takes about what a store of varints
//! under zstd takes. A chunk is written with it when zstd packs it smaller
//! than the best packed codec. All
//! differences use wrapping arithmetic, so any strictly increasing
//! timestamps and any f64 round-trip.

use super::bstream::{BitReader, BitWriter};
use super::packed::{packed_bits, read_packed, write_packed, Escape};
use super::xor::XorState;
use super::{decimal, Codec};
use crate::codec::{put_uvarint, put_varint, unzigzag, zigzag, ByteReader, DecodeError};
use crate::Sample;
use std::cell::RefCell;

/// Upper bound on samples in one sealed chunk; decoders reject more.
pub(crate) const MAX_SAMPLES: usize = 1 << 16;
const PATCHES_NONE: u8 = 0;
const PATCHES_SPARSE: u8 = 1;
const PATCHES_DENSE: u8 = 2;

/// Encodes `samples` (strictly increasing timestamps, at least one) with
/// the smallest codec and returns the bytes and the codec chosen.
pub(crate) fn encode(samples: &[Sample]) -> (Vec<u8>, Codec) {
    encode_escaped(samples, CHUNK_ESCAPE)
}

/// [`encode`] with either escape (whole ones are what blocks of versions
/// 2-6 hold; tests write them to check they are still read).
fn encode_escaped(samples: &[Sample], escape: Escape) -> (Vec<u8>, Codec) {
    debug_assert!(!samples.is_empty() && samples.len() <= MAX_SAMPLES);
    let mut out = Vec::with_capacity(samples.len() + 32);
    out.push(0); // head, set below
    put_uvarint(&mut out, samples.len() as u64);
    let form = encode_chunk_timestamps(samples, &mut out, escape);

    let values: Vec<f64> = samples.iter().map(|s| s.v).collect();
    let (codec, body) = encode_chunk_values(&values, escape);
    let flags = if escape == Escape::Sized { SIZED_ESCAPES } else { 0 };
    out[0] = codec as u8 | (form as u8) << FORM_SHIFT | flags;
    out.extend_from_slice(&body);
    (out, codec)
}

/// The value codec and timestamp form a chunk's head byte names.
fn read_head(bytes: &[u8]) -> Result<(Codec, TimestampForm, Escape), DecodeError> {
    let head = ByteReader::new(bytes).u8("chunk codec")?;
    let codec = Codec::try_from(head & CODEC_MASK).map_err(|_| DecodeError {
        what: "chunk codec",
        offset: 0,
        reason: "unknown codec",
    })?;
    if head & UNKNOWN_FLAGS != 0 {
        return Err(DecodeError { what: "chunk head", offset: 0, reason: "unknown flag" });
    }
    let escape = if head & SIZED_ESCAPES != 0 { Escape::Sized } else { Escape::Whole };
    let form = match (head >> FORM_SHIFT) & FORM_MASK {
        0 => TimestampForm::Dods,
        1 => TimestampForm::ScaledDods,
        2 => TimestampForm::ScaledDeltas,
        _ => return Err(DecodeError { what: "timestamp form", offset: 0, reason: "unknown timestamp form" }),
    };
    Ok((codec, form, escape))
}

/// The value codec, timestamp form (0-2) and whether its escapes are
/// sized, of a sealed chunk.
pub(crate) fn head_parts(bytes: &[u8]) -> Result<(Codec, u8, bool), DecodeError> {
    read_head(bytes).map(|(codec, form, escape)| (codec, form as u8, escape == Escape::Sized))
}

/// Bits 4-5 of a sealed chunk's head byte: how its timestamps are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum TimestampForm {
    Dods = 0,
    ScaledDods = 1,
    ScaledDeltas = 2,
}

const FORM_SHIFT: u8 = 4;
const FORM_MASK: u8 = 0x03;
const CODEC_MASK: u8 = 0x0f;
/// Head bit 6: the chunk's packed streams escape with sized values.
const SIZED_ESCAPES: u8 = 0x40;
const UNKNOWN_FLAGS: u8 = 0x80;
/// The escape this build writes into sealed chunks (block version 7).
const CHUNK_ESCAPE: Escape = Escape::Sized;

/// The greatest common divisor of the magnitudes of `values` (0 when all
/// are 0): what every one of them is a multiple of.
fn common_divisor(values: &[i64]) -> u64 {
    let gcd = |mut a: u64, mut b: u64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    values.iter().fold(0, |g, v| if g == 1 { 1 } else { gcd(g, v.unsigned_abs()) })
}

/// Bytes of `v` as a uvarint.
fn uvarint_len(v: u64) -> usize {
    (64 - v.leading_zeros()).max(1).div_ceil(7) as usize
}

/// `values`, or their quotients by their common divisor `g` (at least 2)
/// when those pack in fewer bits, what writing `g` costs included; with
/// the packed size in bits.
fn maybe_scaled(values: Vec<i64>, escape: Escape) -> (Option<i64>, Vec<i64>, usize) {
    let bits = packed_bits(&values, escape);
    // An `i64` divisor, so each quotient times `g` is its value again.
    if let Some(g) = i64::try_from(common_divisor(&values)).ok().filter(|&g| g >= 2) {
        let quotients: Vec<i64> = values.iter().map(|v| v / g).collect();
        let scaled_bits = packed_bits(&quotients, escape);
        if scaled_bits + 8 * uvarint_len(g as u64) < bits {
            return (Some(g), quotients, scaled_bits);
        }
    }
    (None, values, bits)
}

/// The timestamps of a sealed chunk in the smallest form; returns the form.
/// Deltas beat dods where spacing is irregular (a dod then carries two
/// deltas' jitter).
fn encode_chunk_timestamps(samples: &[Sample], out: &mut Vec<u8>, escape: Escape) -> TimestampForm {
    let deltas: Vec<i64> = samples.windows(2).map(|w| w[1].t.wrapping_sub(w[0].t)).collect();
    let dods: Vec<i64> = deltas.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    // What each form writes besides the packed bits (t0 and the packed
    // length aside, which all write): dod forms `delta0`, scaled ones `g`.
    let delta0_bits = deltas.first().map_or(0, |&d| 8 * uvarint_len(d as u64));
    let (g, dods, dod_bits) = maybe_scaled(dods, escape);
    let mut best = match g {
        Some(g) => (TimestampForm::ScaledDods, dod_bits + delta0_bits + 8 * uvarint_len(g as u64), g, dods),
        None => (TimestampForm::Dods, dod_bits + delta0_bits, 1, dods),
    };
    let g = i64::try_from(common_divisor(&deltas)).unwrap_or(1).max(1);
    let quotients: Vec<i64> = deltas.iter().map(|d| d / g).collect();
    let bits = packed_bits(&quotients, escape) + 8 * uvarint_len(g as u64);
    if bits < best.1 {
        best = (TimestampForm::ScaledDeltas, bits, g, quotients);
    }
    let (form, _, g, packed) = best;
    put_varint(out, samples[0].t);
    if form != TimestampForm::Dods {
        put_uvarint(out, g as u64);
    }
    if form != TimestampForm::ScaledDeltas && samples.len() >= 2 {
        put_uvarint(out, deltas[0] as u64);
    }
    put_packed(&packed, out, escape);
    form
}

/// The values part alone, with the smallest codec (rollup columns use it,
/// with whole escapes).
pub(crate) fn encode_values(values: &[f64]) -> (Codec, Vec<u8>) {
    encode_values_escaped(values, Escape::Whole)
}

/// A chunk's values: the smallest of [`encode_values_escaped`]'s codecs,
/// or for a decimal one the same mantissas as codec 5 when the block
/// frame's zstd makes those smaller (new chunks only: sized escapes and
/// codec 5 both come with block version 7).
fn encode_chunk_values(values: &[f64], escape: Escape) -> (Codec, Vec<u8>) {
    let ((codec, body), mantissas) = smallest_values(values, escape);
    let Some(mantissas) = mantissas.filter(|_| escape == Escape::Sized) else {
        return (codec, body);
    };
    let bytes = encode_decimal_bytes(&mantissas, escape);
    if zstd_len(&bytes) < zstd_len(&body) {
        (Codec::DecimalDeltaBytes, bytes)
    } else {
        (codec, body)
    }
}

/// What `bytes` take in a block frame compressed at the default level
/// (an estimate: the frame holds neighbouring chunks too, and a data
/// directory may set another `zstd_level`; the choice between two bodies
/// rarely turns on the level).
fn zstd_len(bytes: &[u8]) -> usize {
    const FRAME_LEVEL: i32 = 3;
    thread_local! {
        // One context per thread: making one per chunk cost more than
        // compressing the chunk.
        static ZSTD: RefCell<Option<zstd::bulk::Compressor<'static>>> =
            RefCell::new(zstd::bulk::Compressor::new(FRAME_LEVEL).ok());
    }
    let compressed = ZSTD.with(|z| z.borrow_mut().as_mut().and_then(|c| c.compress(bytes).ok()).map(|c| c.len()));
    compressed.unwrap_or(bytes.len()).min(bytes.len())
}

fn encode_values_escaped(values: &[f64], escape: Escape) -> (Codec, Vec<u8>) {
    smallest_values(values, escape).0
}

/// The smallest codec and its body for `values`, with the mantissas it
/// was made of when it is a decimal codec.
fn smallest_values(values: &[f64], escape: Escape) -> ((Codec, Vec<u8>), Option<Mantissas>) {
    let mut best = (Codec::Xor, encode_xor(values));
    let mut best_mantissas = None;
    for k in decimal::candidate_exponents(values) {
        let mantissas = Mantissas::of(k, values);
        let (codec, body) = encode_decimal(&mantissas, escape);
        if body.len() < best.1.len() {
            best = (codec, body);
            best_mantissas = Some(mantissas);
        }
    }
    (best, best_mantissas)
}

/// Decodes a values part written by [`encode_values`] (all of `bytes`)
/// into the values of `samples`.
pub(crate) fn decode_values(codec: Codec, bytes: &[u8], samples: &mut [Sample]) -> Result<(), DecodeError> {
    decode_values_from(&mut ByteReader::new(bytes), codec, samples, Escape::Whole)
}

fn decode_values_from(
    r: &mut ByteReader<'_>,
    codec: Codec,
    samples: &mut [Sample],
    escape: Escape,
) -> Result<(), DecodeError> {
    match codec {
        Codec::Xor => decode_xor(r, samples),
        _ => decode_decimal(r, codec, samples, escape),
    }
}

/// Timestamps in form 0, as rollup blobs' bucket starts write them (whole
/// escapes).
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
    put_packed(&dods, out, Escape::Whole);
}

/// `bits_len uvarint | packed bits`.
fn put_packed(values: &[i64], out: &mut Vec<u8>, escape: Escape) {
    let mut w = BitWriter::with_capacity(values.len() + 8);
    write_packed(&mut w, values, escape);
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

/// `mantissas` delta- or delta-of-delta-coded, whichever packs smaller.
fn encode_decimal(mantissas: &Mantissas, escape: Escape) -> (Codec, Vec<u8>) {
    let Mantissas { k, m, patches } = mantissas;
    let deltas: Vec<i64> = m.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let dods: Vec<i64> = m.windows(3).map(|w| w[2].wrapping_sub(w[1]).wrapping_sub(w[1].wrapping_sub(w[0]))).collect();
    let (delta_scale, deltas, delta_bits) = maybe_scaled(deltas, escape);
    let (dod_scale, dods, dod_bits) = maybe_scaled(dods, escape);
    let mut out = vec![*k as u8];
    put_varint(&mut out, m[0]);
    let codec = if m.len() >= 2 && dod_bits + 64 < delta_bits {
        put_varint(&mut out, m[1].wrapping_sub(m[0]));
        put_scale_and_packed(dod_scale, &dods, &mut out, escape);
        if dod_scale.is_some() {
            Codec::DecimalDodScaled
        } else {
            Codec::DecimalDod
        }
    } else {
        put_scale_and_packed(delta_scale, &deltas, &mut out, escape);
        if delta_scale.is_some() {
            Codec::DecimalDeltaScaled
        } else {
            Codec::DecimalDelta
        }
    };
    put_patches(patches, m.len(), &mut out, escape);
    (codec, out)
}

/// Codec 5: the mantissas' deltas divided by their common divisor,
/// zigzagged, as uvarints.
fn encode_decimal_bytes(mantissas: &Mantissas, escape: Escape) -> Vec<u8> {
    let Mantissas { k, m, patches } = mantissas;
    let deltas: Vec<i64> = m.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let g = i64::try_from(common_divisor(&deltas)).unwrap_or(1).max(1);
    let mut varints = Vec::with_capacity(deltas.len() + 8);
    for d in &deltas {
        put_uvarint(&mut varints, zigzag(d / g));
    }
    let mut out = vec![*k as u8];
    put_varint(&mut out, m[0]);
    put_uvarint(&mut out, g as u64);
    put_uvarint(&mut out, varints.len() as u64);
    out.extend_from_slice(&varints);
    put_patches(patches, m.len(), &mut out, escape);
    out
}

/// A chunk's values as mantissas at exponent `k` (the nearest ones where
/// inexact) and the patches that make those exact: made once per
/// candidate `k`, for every decimal codec.
struct Mantissas {
    k: i8,
    m: Vec<i64>,
    patches: Vec<(usize, i64)>,
}

impl Mantissas {
    fn of(k: i8, values: &[f64]) -> Self {
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
        Self { k, m, patches }
    }
}

fn put_scale_and_packed(scale: Option<i64>, values: &[i64], out: &mut Vec<u8>, escape: Escape) {
    if let Some(g) = scale {
        put_uvarint(out, g as u64);
    }
    put_packed(values, out, escape);
}

/// A sparse list when patches are few, a packed difference per value when many.
fn put_patches(patches: &[(usize, i64)], count: usize, out: &mut Vec<u8>, escape: Escape) {
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
        put_packed(&diffs, &mut dense, escape);
        if dense.len() < sparse.len() {
            out.extend_from_slice(&dense);
            return;
        }
    }
    out.extend_from_slice(&sparse);
}

/// Decodes a sealed chunk, appending its samples to `out`.
pub(crate) fn decode(bytes: &[u8], out: &mut Vec<Sample>) -> Result<Codec, DecodeError> {
    let (codec, form, escape) = read_head(bytes)?;
    let mut r = ByteReader::new(bytes);
    r.u8("chunk codec")?;
    let count = r.len("sample count", MAX_SAMPLES)?;
    if count == 0 {
        return Err(DecodeError { what: "sample count", offset: 1, reason: "empty chunk" });
    }
    let start = out.len();
    let result = decode_chunk_timestamps(&mut r, form, count, out, escape).and_then(|()| {
        let samples = out.get_mut(start..).unwrap_or_default();
        decode_values_from(&mut r, codec, samples, escape)
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

fn decode_decimal(
    r: &mut ByteReader<'_>,
    codec: Codec,
    samples: &mut [Sample],
    escape: Escape,
) -> Result<(), DecodeError> {
    let count = samples.len();
    let k_at = r.position();
    let k = r.u8("decimal exponent")? as i8;
    if k.unsigned_abs() > decimal::MAX_EXPONENT.unsigned_abs() {
        return Err(DecodeError { what: "decimal exponent", offset: k_at, reason: "too large" });
    }
    let mut m = r.varint("first mantissa")?;
    let dod = matches!(codec, Codec::DecimalDod | Codec::DecimalDodScaled);
    let mut delta = if dod && count >= 2 { r.varint("first delta")? } else { 0 };
    let scale = match codec {
        Codec::DecimalDeltaScaled | Codec::DecimalDodScaled | Codec::DecimalDeltaBytes => {
            read_scale(r, "mantissa scale")?
        }
        _ => 1,
    };
    let packed_len = if dod { count.saturating_sub(2) } else { count - 1 };
    let mut residuals = Vec::with_capacity(packed_len);
    if codec == Codec::DecimalDeltaBytes {
        read_varint_section(r, packed_len, &mut residuals)?;
    } else {
        read_packed_section(r, packed_len, &mut residuals, "packed mantissas", escape)?;
    }
    // The samples the packed residuals do not cover (the first, and the
    // second of a dod chunk, whose delta came first), then one tight loop
    // per codec over the rest.
    let (head, rest) = samples.split_at_mut(count - packed_len);
    for (i, s) in head.iter_mut().enumerate() {
        if i > 0 {
            m = m.wrapping_add(delta);
        }
        s.v = decimal::unscale(m, k);
    }
    let residuals = residuals.iter().map(|q| q.wrapping_mul(scale));
    if dod {
        for (s, dod) in rest.iter_mut().zip(residuals) {
            delta = delta.wrapping_add(dod);
            m = m.wrapping_add(delta);
            s.v = decimal::unscale(m, k);
        }
    } else {
        for (s, delta) in rest.iter_mut().zip(residuals) {
            m = m.wrapping_add(delta);
            s.v = decimal::unscale(m, k);
        }
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
            read_packed_section(r, count, &mut diffs, "patch differences", escape)?;
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
    escape: Escape,
) -> Result<(), DecodeError> {
    let len = r.len("packed length", r.remaining())?;
    let at = r.position();
    let bits = r.take(len, what)?;
    read_packed(&mut BitReader::new(bits), n, out, escape).ok_or(DecodeError { what, offset: at, reason: "end early" })
}

/// `bytes_len uvarint | n zigzagged uvarints`, exactly.
fn read_varint_section(r: &mut ByteReader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), DecodeError> {
    let len = r.len("varint length", r.remaining())?;
    let at = r.position();
    let bytes = r.take(len, "varint mantissas")?;
    out.reserve(n);
    let mut i = 0;
    for _ in 0..n {
        // One byte is the common case (a quotient within ±64): no
        // reader, no error path.
        if let Some(&b) = bytes.get(i).filter(|&&b| b < 0x80) {
            out.push(unzigzag(u64::from(b)));
            i += 1;
            continue;
        }
        let mut rest = ByteReader::new(bytes.get(i..).unwrap_or_default());
        let z = rest.uvarint("varint mantissa").map_err(|e| DecodeError { offset: at + i + e.offset, ..e })?;
        out.push(unzigzag(z));
        i += rest.position();
    }
    if i != bytes.len() {
        return Err(DecodeError { what: "varint mantissas", offset: at + i, reason: "trailing bytes" });
    }
    Ok(())
}

/// A common divisor `g`: at least 1 and an `i64`.
fn read_scale(r: &mut ByteReader<'_>, what: &'static str) -> Result<i64, DecodeError> {
    let at = r.position();
    let g = r.uvarint(what)?;
    i64::try_from(g).ok().filter(|&g| g >= 1).ok_or(DecodeError { what, offset: at, reason: "zero or too large" })
}

fn decode_chunk_timestamps(
    r: &mut ByteReader<'_>,
    form: TimestampForm,
    count: usize,
    out: &mut Vec<Sample>,
    escape: Escape,
) -> Result<(), DecodeError> {
    if form == TimestampForm::Dods {
        return decode_timestamps_escaped(r, count, out, escape);
    }
    let mut t = r.varint("first timestamp")?;
    let scale = read_scale(r, "timestamp scale")?;
    out.reserve(count);
    out.push(Sample { t, v: 0.0 });
    let mut delta = if form == TimestampForm::ScaledDods && count >= 2 { r.uvarint("first delta")? as i64 } else { 0 };
    if form == TimestampForm::ScaledDods && count >= 2 {
        t = t.wrapping_add(delta);
        out.push(Sample { t, v: 0.0 });
    }
    let packed_len = if form == TimestampForm::ScaledDods { count.saturating_sub(2) } else { count - 1 };
    let mut quotients = Vec::with_capacity(packed_len);
    read_packed_section(r, packed_len, &mut quotients, "timestamp bits", escape)?;
    // Extended from the slice, not pushed one by one: each push reloaded
    // the vector's length and capacity.
    let dods = form == TimestampForm::ScaledDods;
    out.extend(quotients.iter().map(|q| {
        let step = q.wrapping_mul(scale);
        delta = if dods { delta.wrapping_add(step) } else { step };
        t = t.wrapping_add(delta);
        Sample { t, v: 0.0 }
    }));
    Ok(())
}

/// Timestamps in form 0 as rollup blobs' bucket starts write them.
pub(crate) fn decode_timestamps(
    r: &mut ByteReader<'_>,
    count: usize,
    out: &mut Vec<Sample>,
) -> Result<(), DecodeError> {
    decode_timestamps_escaped(r, count, out, Escape::Whole)
}

fn decode_timestamps_escaped(
    r: &mut ByteReader<'_>,
    count: usize,
    out: &mut Vec<Sample>,
    escape: Escape,
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
    read_packed_section(r, count.saturating_sub(2), &mut dods, "timestamp bits", escape)?;
    out.extend(dods.iter().map(|&dod| {
        delta = delta.wrapping_add(dod as u64);
        t = t.wrapping_add(delta as i64);
        Sample { t, v: 0.0 }
    }));
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

    /// Irregular spacing in whole minutes, as traffic sensors report.
    fn irregular_minutes(n: usize) -> Vec<i64> {
        let gaps = [5, 5, 4, 6, 5, 9, 5, 10, 5, 15, 5, 5, 6, 20, 5, 4];
        (0..n)
            .scan(1_441_000_000_000i64, |t, i| {
                *t += gaps[(i * 7 + i / 3) % gaps.len()] * 60_000;
                Some(*t)
            })
            .collect()
    }

    fn codec_and_form(bytes: &[u8]) -> (Codec, u8) {
        (Codec::try_from(bytes[0] & CODEC_MASK).unwrap(), (bytes[0] >> FORM_SHIFT) & FORM_MASK)
    }

    #[test]
    fn irregular_whole_minutes_pack_their_quotients() {
        let samples: Vec<Sample> = irregular_minutes(2000).into_iter().map(|t| Sample { t, v: 60.0 }).collect();
        round_trip(&samples);
        let (bytes, _) = encode(&samples);
        assert_eq!(codec_and_form(&bytes).1, TimestampForm::ScaledDeltas as u8);
        // Gaps of 4-20 minutes: a few bits each, where milliseconds took about twenty.
        assert!(bytes.len() < 2000 * 5 / 8 + 40, "{} bytes", bytes.len());
        // The same gaps with a millisecond of jitter: no common divisor, deltas unscaled.
        let jittered: Vec<Sample> =
            samples.iter().enumerate().map(|(i, s)| Sample { t: s.t + (i % 2) as i64, ..*s }).collect();
        round_trip(&jittered);
    }

    #[test]
    fn each_timestamp_form_wins_where_it_should() {
        let form = |ts: &[i64]| {
            let samples: Vec<Sample> = ts.iter().map(|&t| Sample { t, v: 1.0 }).collect();
            round_trip(&samples);
            codec_and_form(&encode(&samples).0).1
        };
        // Regular: nothing to divide.
        let regular: Vec<i64> = (0..3000).map(|i| 1_400_000_000_000 + i * 15_000).collect();
        assert_eq!(form(&regular), TimestampForm::Dods as u8);
        // A reporter backing off, each gap one or two whole minutes longer
        // than the last: the gaps spread wide, their changes in steps of a minute.
        let backing_off: Vec<i64> = (0..300i64)
            .scan((1_400_000_000_000i64, 60_000i64), |(t, gap), i| {
                *gap += (1 + i % 2) * 60_000;
                *t += *gap;
                Some(*t)
            })
            .collect();
        assert_eq!(form(&backing_off), TimestampForm::ScaledDods as u8);
        // Gaps of 4 to 20 minutes in no order: the gaps themselves.
        assert_eq!(form(&irregular_minutes(3000)), TimestampForm::ScaledDeltas as u8);
    }

    #[test]
    fn readings_in_steps_pack_their_quotients() {
        // A power meter's random walk in steps of 0.002 kW.
        let power: Vec<f64> = (0..2000u64)
            .scan(500i64, |m, i| {
                *m = (*m + (i.wrapping_mul(2_654_435_761) % 41) as i64 - 20).max(0);
                Some((*m * 2) as f64 / 1000.0)
            })
            .collect();
        round_trip(&at_seconds(&power));
        let (codec, len) = packed(&power);
        assert_eq!(codec, Codec::DecimalDeltaScaled);
        // One reading in three a thousandth off the steps: no common divisor.
        let unscaled: Vec<f64> =
            power.iter().enumerate().map(|(i, v)| v + u8::from(i % 3 == 0) as f64 / 1000.0).collect();
        round_trip(&at_seconds(&unscaled));
        let (codec, unscaled_len) = packed(&unscaled);
        assert!(matches!(codec, Codec::DecimalDelta | Codec::DecimalDod), "{codec:?}");
        assert!(len + 2000 / 8 <= unscaled_len + 16, "a bit less per value: {len} vs {unscaled_len}");
        // A counter in steps of 250 with a varying rate: dods scaled.
        let counter: Vec<f64> = (0..2000i64).map(|i| (i * i / 7 * 250) as f64).collect();
        assert_eq!(round_trip(&at_seconds(&counter)).0, Codec::DecimalDodScaled);
    }

    /// The smallest bit-packed values codec for `values` and its bytes
    /// (what a chunk holds unless codec 5 is smaller under zstd).
    fn packed(values: &[f64]) -> (Codec, usize) {
        let (codec, body) = encode_values_escaped(values, CHUNK_ESCAPE);
        (codec, body.len())
    }

    /// A gauge of small steps with spikes (a sub-meter switching on and
    /// off, a request burst): written with sized escapes it takes fewer
    /// bytes than with whole ones, and both read back exactly, as blocks of
    /// versions 2-6 hold the whole ones.
    #[test]
    fn spikes_escape_sized_and_whole_escapes_still_read() {
        let values: Vec<f64> = (0..2000u64)
            .scan(0i64, |m, i| {
                let x = i.wrapping_mul(2_654_435_761) >> 7;
                *m = if x % 50 == 0 { (x % 4000) as i64 } else { (*m + (x % 3) as i64 - 1).max(0) };
                Some(*m as f64 / 10.0)
            })
            .collect();
        let samples = at_seconds(&values);
        round_trip(&samples);
        let (new, _) = encode(&samples);
        assert_ne!(new[0] & SIZED_ESCAPES, 0, "chunks are written with sized escapes");
        let (whole, whole_codec) = encode_escaped(&samples, Escape::Whole);
        assert_eq!(whole[0] & SIZED_ESCAPES, 0);
        let mut out = Vec::new();
        assert_eq!(decode(&whole, &mut out).unwrap(), whole_codec);
        let bits = |samples: &[Sample]| samples.iter().map(|s| (s.t, s.v.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&out), bits(&samples));
        let (sized, sized_len) = packed(&values);
        let whole_len = encode_values_escaped(&values, Escape::Whole).1.len();
        assert!(sized_len * 10 < whole_len * 9, "sized {sized_len} bytes, whole {whole_len}");
        assert!(matches!(sized, Codec::DecimalDelta | Codec::DecimalDeltaScaled), "{sized:?}");
        let mut flagged = new.clone();
        flagged[0] |= UNKNOWN_FLAGS;
        assert_eq!(decode(&flagged, &mut Vec::new()).unwrap_err().reason, "unknown flag");
    }

    /// A sub-meter idle at 0 most minutes, switching to a few levels and
    /// back: its deltas repeat, which zstd finds in bytes and Rice codes
    /// of single values cannot. The chunk takes codec 5, smaller under
    /// zstd than the best packed codec, and reads back exactly; cut or
    /// padded varints are errors.
    #[test]
    fn idle_and_switching_readings_take_varint_bytes() {
        let values: Vec<f64> = (0..2000u64)
            .map(|i| {
                let x = (i / 7).wrapping_mul(2_654_435_761) >> 9;
                match x % 5 {
                    0..=2 => 0.0,
                    3 => 17.0 + (x % 2) as f64,
                    _ => 1.0,
                }
            })
            .collect();
        let samples = at_seconds(&values);
        let (codec, _) = round_trip(&samples);
        assert_eq!(codec, Codec::DecimalDeltaBytes);
        let (chunk, _) = encode(&samples);
        let (_, body) = encode_values_escaped(&values, CHUNK_ESCAPE);
        let bytes = encode_decimal_bytes(&Mantissas::of(0, &values), CHUNK_ESCAPE);
        assert!(zstd_len(&bytes) < zstd_len(&body), "{} vs {}", zstd_len(&bytes), zstd_len(&body));
        // A quotient of several bytes (a jump of 10,000) reads back too.
        let mut jumps = values.clone();
        jumps[100] = 10_000.0;
        round_trip(&at_seconds(&jumps));
        for cut in 0..chunk.len() {
            assert!(decode(&chunk[..cut], &mut Vec::new()).is_err(), "cut at {cut}");
        }
    }

    /// A varint section holds exactly its count of varints: a length one
    /// short or one long, or a varint cut at the end, is an error naming it.
    #[test]
    fn varint_sections_hold_exactly_their_count() {
        let section = |len: usize, bytes: &[u8], n: usize| {
            let mut data = Vec::new();
            put_uvarint(&mut data, len as u64);
            data.extend_from_slice(bytes);
            let mut out = Vec::new();
            read_varint_section(&mut ByteReader::new(&data), n, &mut out).map(|()| out)
        };
        // 0, -1, 1, -300 (zigzag 599: two bytes).
        let bytes = [0x00, 0x01, 0x02, 0xd7, 0x04];
        assert_eq!(section(5, &bytes, 4).unwrap(), vec![0, -1, 1, -300]);
        let err = section(5, &bytes, 3).unwrap_err();
        assert_eq!((err.what, err.reason), ("varint mantissas", "trailing bytes"));
        assert_eq!(section(4, &bytes[..4], 4).unwrap_err().what, "varint mantissa");
        assert!(section(6, &bytes, 4).is_err(), "a length past the input");
        assert!(section(5, &bytes, 5).is_err(), "fewer varints than the count");
    }

    #[test]
    fn unknown_timestamp_forms_and_zero_scales_are_errors() {
        let samples: Vec<Sample> = irregular_minutes(100).into_iter().map(|t| Sample { t, v: 2.5 }).collect();
        let (bytes, _) = encode(&samples);
        let mut bad = bytes.clone();
        bad[0] |= 3 << FORM_SHIFT;
        assert_eq!(decode(&bad, &mut Vec::new()).unwrap_err().reason, "unknown timestamp form");
        // The scale follows the count (1 byte here) and t0 (6 bytes); a
        // first byte 0 makes it 0.
        let mut zero = bytes.clone();
        let scale_at = 1 + 1 + 6;
        assert_eq!(zero[scale_at - 1] & 0x80, 0, "t0 ends before the scale");
        zero[scale_at] = 0;
        let err = decode(&zero, &mut Vec::new()).unwrap_err();
        assert_eq!((err.what, err.reason), ("timestamp scale", "zero or too large"));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], &mut Vec::new()).is_err(), "cut at {cut}");
        }
    }

    fn samples() -> impl Strategy<Value = Vec<Sample>> {
        let value = prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            (-100_000i64..100_000).prop_map(|m| m as f64 / 100.0),
            (-100_000i64..100_000).prop_map(|m| m as f64 / 1000.0 * 3.0),
            (0i64..1_000_000).prop_map(|m| m as f64),
            (-50_000i64..50_000).prop_map(|m| (m * 2) as f64 / 1000.0),
            Just(f64::NAN),
            Just(-0.0),
        ];
        let step = prop_oneof![Just(1000i64), 1i64..5000, (1i64..30).prop_map(|m| m * 60_000), 1i64..i64::MAX / 1024];
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

        /// Whole steps of time and value: the scaled forms and codecs, and
        /// their edges (huge divisors, wrapping differences).
        #[test]
        fn stepped_chunks_round_trip(
            start in any::<i64>(),
            time_step in prop_oneof![Just(60_000i64), 1i64..1_000_000, Just(1i64 << 40)],
            value_step in prop_oneof![Just(2i64), 1i64..1000, Just(1i64 << 50)],
            rows in proptest::collection::vec((1i64..20, -30i64..30), 1..300),
        ) {
            let (mut t, mut m) = (start, 0i64);
            let mut samples = Vec::new();
            for (gap, change) in rows {
                samples.push(Sample { t, v: m as f64 / 1000.0 });
                m = m.wrapping_add(change.wrapping_mul(value_step));
                match t.checked_add(gap.saturating_mul(time_step)) {
                    Some(next) => t = next,
                    None => break,
                }
            }
            round_trip(&samples);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&data, &mut Vec::new());
        }
    }
}
