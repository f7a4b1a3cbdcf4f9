//! Packed integers in groups of 64. Each group takes the smallest of four
//! layouts: values as zigzag (signed values around zero, a random walk's
//! steps) or as offsets from the group minimum (frame of reference: a
//! counter's always-positive increments), each either at a fixed bit width
//! or Rice-coded (a unary quotient and `r` low bits: close to the entropy of
//! the two-sided geometric spread deltas usually have, where a fixed width
//! pays for the group's largest value). One outlier only affects its group.
//!
//! ```text
//! group  := mode u2 | body
//! mode 0 := width u7 | zigzag(v) as width bits, per value
//! mode 1 := width u7 | min | (v - min) as width bits, per value
//! mode 2 := r u6 | rice(zigzag(v)), per value
//! mode 3 := r u6 | min | rice(v - min), per value
//! min    := min_width u7 | zigzag(min) as min_width bits
//! rice(z):= q = z >> r; q < 16: q zero bits, a one bit, then the low r bits of z
//!                       q >= 16: 16 zero bits, then the escape:
//! escape := z as 64 bits                                   (Escape::Whole)
//!         | (bit length of z) - 1 as 6 bits, z in that many (Escape::Sized)
//! ```
//! Which escape a stream uses is not in it: its container says (a sealed
//! chunk's head from block version 7 on, `sealed.rs`). A sized escape costs
//! 22 bits plus the value's own, not 80: spikes in a series of small steps
//! (a sub-meter switching on, a request burst) no longer price Rice out.
//! Differences use wrapping arithmetic, so every `i64` round-trips.

use super::bstream::{BitReader, BitWriter};
use crate::codec::{unzigzag, zigzag};

pub(crate) const GROUP: usize = 64;
/// Unary quotients from this on escape (see [`Escape`]).
const ESCAPE: u64 = 16;
/// Bits of a sized escape's length field.
const ESCAPE_LENGTH_BITS: u32 = 6;

/// How a Rice code whose quotient reaches [`ESCAPE`] writes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Escape {
    /// All 64 bits (sealed chunks of block versions 2-6, rollup columns).
    Whole,
    /// Its bit length less one in 6 bits, then that many bits (sealed
    /// chunks from block version 7 on).
    Sized,
}

impl Escape {
    /// Bits of the escape that follows the 16 zero bits, for a value
    /// `length` bits long (at least 5: an escaped quotient is at least 16).
    #[inline]
    fn bits_for_length(self, length: u32) -> u64 {
        match self {
            Escape::Whole => 64,
            Escape::Sized => u64::from(ESCAPE_LENGTH_BITS + length),
        }
    }
}

#[inline]
fn bits_for(v: u64) -> u32 {
    64 - v.leading_zeros()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Fixed { width: u32 },
    Rice { r: u32 },
}

/// How a group is written: by minimum or zigzag, and its layout.
#[derive(Clone, Copy, Debug)]
struct Plan {
    min: Option<i64>,
    layout: Layout,
    bits: u64,
}

/// Bits of `values` as Rice codes at `r`, one by one ([`cheapest`] prices
/// every `r` at once; tests hold it to this).
#[cfg(test)]
fn rice_bits(values: impl Iterator<Item = u64> + Clone, r: u32, escape: Escape) -> u64 {
    values
        .map(
            |z| {
                if z >> r < ESCAPE {
                    (z >> r) + 1 + u64::from(r)
                } else {
                    ESCAPE + escape.bits_for_length(bits_for(z))
                }
            },
        )
        .sum()
}

/// The cheapest layout for `values` (already zigzagged or offset): fixed
/// width, or Rice at whichever `r` costs least. Every `r` below the fixed
/// width is priced (from that width on Rice costs more than fixed): with
/// spikes among small steps the best `r` is far from log2 of the mean, on
/// either side, and a search near it missed a tenth of NAB's bits.
///
/// Pricing is one pass over the values, not one per `r`: a value of bit
/// length `b` costs `1 + r` bits for `r >= b` (its quotient is 0), an
/// escape for `r <= b - 5` (its quotient has 5 bits or more), and needs
/// its quotient only for the four `r` between.
fn cheapest(values: impl Iterator<Item = u64> + Clone, len: u64, escape: Escape) -> (Layout, u64) {
    let width = bits_for(values.clone().fold(0u64, |or, z| or | z));
    let fixed = (Layout::Fixed { width }, 7 + len * u64::from(width));
    if width < 2 {
        // Nothing to price: Rice at r = 0 costs at least one bit a value.
        return fixed;
    }
    let mut of_length = [0u64; 65];
    // `quotients[r + 4]`: the sum of the quotients at `r` of the values
    // whose quotient there is 1 to 15; entries 0-3 collect the shifts
    // below 0 (values shorter than 4 bits), never read.
    let mut quotients = [0u64; 68];
    for z in values {
        let b = bits_for(z) as usize;
        of_length[b] += 1;
        for k in 1..=4 {
            quotients[b + 4 - k] += z.wrapping_shr((b as u32).wrapping_sub(k as u32));
        }
    }
    let mut best = fixed;
    // Escape bits of the values of length `b` and longer, for every `b`.
    let mut escapes = [0u64; 66];
    for b in (0..=width as usize).rev() {
        escapes[b] = escapes[b + 1] + of_length[b] * (ESCAPE + escape.bits_for_length(b as u32));
    }
    let mut quotient_below_escape = of_length[..4].iter().sum::<u64>();
    for r in 0..width - 1 {
        let ru = r as usize;
        // Values of length up to r + 4 take a unary quotient, its stop bit and r low bits.
        quotient_below_escape += of_length.get(ru + 4).copied().unwrap_or(0);
        let escaped = escapes.get(ru + 5).copied().unwrap_or(0);
        let bits = 6 + quotient_below_escape * (1 + u64::from(r)) + quotients[ru + 4] + escaped;
        if bits < best.1 {
            best = (Layout::Rice { r }, bits);
        }
    }
    best
}

fn plan(group: &[i64], escape: Escape) -> Plan {
    let len = group.len() as u64;
    let (zz_layout, zz_bits) = cheapest(group.iter().map(|&v| zigzag(v)), len, escape);
    let (min, max) = group.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let zz_plan = Plan { min: None, layout: zz_layout, bits: 2 + zz_bits };
    // Offsets from the minimum only pay when their range is narrower.
    if group.is_empty() || bits_for(max.wrapping_sub(min) as u64) >= bits_for(zigzag(min).max(zigzag(max))) {
        return zz_plan;
    }
    let (for_layout, for_bits) = cheapest(group.iter().map(|&v| v.wrapping_sub(min) as u64), len, escape);
    let for_bits = for_bits + 7 + u64::from(bits_for(zigzag(min)));
    if for_bits < zz_bits {
        Plan { min: Some(min), layout: for_layout, bits: 2 + for_bits }
    } else {
        zz_plan
    }
}

/// Bits [`write_packed`] uses for `values`.
pub(crate) fn packed_bits(values: &[i64], escape: Escape) -> usize {
    values.chunks(GROUP).map(|g| plan(g, escape).bits as usize).sum()
}

pub(crate) fn write_packed(w: &mut BitWriter, values: &[i64], escape: Escape) {
    for group in values.chunks(GROUP) {
        let plan = plan(group, escape);
        let mode = u64::from(plan.min.is_some()) | if matches!(plan.layout, Layout::Rice { .. }) { 2 } else { 0 };
        w.write_bits(mode, 2);
        match plan.layout {
            Layout::Fixed { width } => w.write_bits(u64::from(width), 7),
            Layout::Rice { r } => w.write_bits(u64::from(r), 6),
        }
        if let Some(min) = plan.min {
            let zmin = zigzag(min);
            let min_width = bits_for(zmin);
            w.write_bits(u64::from(min_width), 7);
            w.write_bits(zmin, min_width);
        }
        let encoded = |v: i64| match plan.min {
            Some(min) => v.wrapping_sub(min) as u64,
            None => zigzag(v),
        };
        for &v in group {
            let z = encoded(v);
            match plan.layout {
                Layout::Fixed { width } => w.write_bits(z, width),
                Layout::Rice { r } => {
                    let q = z >> r;
                    if q < ESCAPE {
                        w.write_bits(1, q as u32 + 1);
                        w.write_bits(z & ((1u64 << r) - 1), r);
                    } else {
                        w.write_bits(0, ESCAPE as u32);
                        match escape {
                            Escape::Whole => w.write_bits(z, 64),
                            Escape::Sized => {
                                let len = bits_for(z);
                                w.write_bits(u64::from(len - 1), ESCAPE_LENGTH_BITS);
                                w.write_bits(z, len);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Reads `n` values written by [`write_packed`] into `out`; `None` when the
/// input is short or a parameter is impossible.
pub(crate) fn read_packed(r: &mut BitReader<'_>, n: usize, out: &mut Vec<i64>, escape: Escape) -> Option<()> {
    out.reserve(n);
    let mut left = n;
    while left > 0 {
        let in_group = left.min(GROUP);
        let mode = r.read_bits(2)?;
        let layout = if mode & 2 == 0 {
            let width = r.read_bits(7)? as u32;
            if width > 64 {
                return None;
            }
            Layout::Fixed { width }
        } else {
            Layout::Rice { r: r.read_bits(6)? as u32 }
        };
        let min = if mode & 1 == 1 {
            let min_width = r.read_bits(7)? as u32;
            if min_width > 64 {
                return None;
            }
            Some(unzigzag(r.read_bits(min_width)?))
        } else {
            None
        };
        // Codes go to a local group first, and are offset or unzigzagged
        // in a second pass: pushed one by one, each value reloaded the
        // vector's length and capacity from memory.
        let mut codes = [0u64; GROUP];
        let codes = &mut codes[..in_group];
        match layout {
            Layout::Fixed { width: 0 } => {}
            Layout::Fixed { width } if width <= 57 => {
                // A copy of the reader that never escapes stays in registers.
                let mut fast = r.clone();
                for z in codes.iter_mut() {
                    if !fast.ensure(width) {
                        return None;
                    }
                    *z = fast.peek(width);
                    fast.consume(width);
                }
                *r = fast;
            }
            Layout::Fixed { width } => {
                for z in codes.iter_mut() {
                    *z = r.read_bits(width)?;
                }
            }
            // While the register holds a whole code (a quotient below the
            // escape, its stop bit and `bits` low bits: at most 57 bits),
            // a value is one peek and one shift; `read_rice` takes the
            // stream's last codes and escapes. (Reading field by field was
            // a third of a `rate(x[1m])` over blocks without minute rollups.)
            Layout::Rice { r: bits } if bits <= RICE_FAST_BITS => {
                let mut done = 0;
                while done < codes.len() {
                    done += read_rice_while_whole(r, bits, &mut codes[done..]);
                    if let Some(z) = codes.get_mut(done) {
                        *z = read_rice(r, bits, escape)?;
                        done += 1;
                    }
                }
            }
            Layout::Rice { r: bits } => {
                for z in codes.iter_mut() {
                    *z = read_rice(r, bits, escape)?;
                }
            }
        }
        match min {
            Some(min) => out.extend(codes.iter().map(|&z| min.wrapping_add(z as i64))),
            None => out.extend(codes.iter().map(|&z| unzigzag(z))),
        }
        left -= in_group;
    }
    Some(())
}

/// Widths of a Rice code's low part for which a whole code fits the
/// reader's 57-bit register.
const RICE_FAST_BITS: u32 = 57 - ESCAPE as u32;

/// Reads Rice codes with `bits <= RICE_FAST_BITS` low bits into `codes`
/// while the register holds a whole code (a quotient below the escape,
/// its stop bit and the low bits: at most 57 bits), each one peek and one
/// shift; returns how many it read, stopping before an escape or the
/// stream's last bits (which [`read_rice`] takes). The reader is copied
/// into a local that never escapes, so it stays in registers: through
/// the caller's reader, in memory, reading was a third of a `rate(x[1m])`
/// over blocks without minute rollups.
#[inline]
fn read_rice_while_whole(r: &mut BitReader<'_>, bits: u32, codes: &mut [u64]) -> usize {
    // The longest code that is not an escape: 15 zeros, the stop bit, `bits` bits.
    let longest = ESCAPE as u32 + bits;
    let low = (1u64 << bits) - 1;
    let mut fast = r.clone();
    let mut read = 0;
    for z in codes.iter_mut() {
        if !fast.ensure(longest) {
            break;
        }
        let q = fast.leading_zeros(ESCAPE as u32);
        if q >= ESCAPE as u32 {
            break;
        }
        let len = q + 1 + bits;
        *z = (u64::from(q) << bits) | (fast.peek(len) & low);
        fast.consume(len);
        read += 1;
    }
    *r = fast;
    read
}

thread_local! {
    /// Escapes this thread has read: format tests check that checked-in
    /// bytes hold them ([`escapes_read`]). Touched only on an escape.
    static ESCAPES_READ: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many Rice escapes this thread has read so far.
pub(crate) fn escapes_read() -> u64 {
    ESCAPES_READ.with(std::cell::Cell::get)
}

/// One Rice code with `bits` low bits, escapes included.
fn read_rice(r: &mut BitReader<'_>, bits: u32, escape: Escape) -> Option<u64> {
    r.ensure(ESCAPE as u32 + 1);
    let q = u64::from(r.leading_zeros(ESCAPE as u32));
    if q < ESCAPE {
        if !r.ensure(q as u32 + 1) {
            return None;
        }
        r.consume(q as u32 + 1);
        Some((q << bits) | r.read_bits(bits)?)
    } else {
        r.consume(ESCAPE as u32);
        ESCAPES_READ.with(|n| n.set(n.get() + 1));
        match escape {
            Escape::Whole => r.read_bits(64),
            Escape::Sized => {
                let len = r.read_bits(ESCAPE_LENGTH_BITS)? as u32 + 1;
                r.read_bits(len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// Round-trips `values` with either escape; returns the sized escape's bits.
    fn round_trip(values: &[i64]) -> usize {
        let mut bits = 0;
        for escape in [Escape::Whole, Escape::Sized] {
            let mut w = BitWriter::default();
            write_packed(&mut w, values, escape);
            bits = packed_bits(values, escape);
            assert_eq!(w.bit_len(), bits);
            let bytes = w.finish();
            let mut out = Vec::new();
            read_packed(&mut BitReader::new(&bytes), values.len(), &mut out, escape).unwrap();
            assert_eq!(out, values, "{escape:?}");
        }
        bits
    }

    proptest! {
        #[test]
        fn packed_round_trip(values in proptest::collection::vec(prop_oneof![-4i64..4, 0i64..1000, 1000i64..3000, any::<i64>()], 0..400)) {
            round_trip(&values);
        }

        #[test]
        fn skewed_values_round_trip(values in proptest::collection::vec((0u32..20, any::<bool>()).prop_map(|(e, neg)| {
            let v = 1i64 << e;
            if neg { -v } else { v }
        }), 0..300)) {
            round_trip(&values);
        }

        /// Rice groups at every low-bit width, fast path and general one
        /// (widths above `RICE_FAST_BITS`), escapes and the stream's end.
        #[test]
        fn rice_groups_of_every_width_round_trip(
            e in 0u32..62,
            noise in proptest::collection::vec(0i64..8, 1..300),
            outliers in proptest::collection::vec((0usize..300, any::<i64>()), 0..4),
        ) {
            // Small multiples of 2^e with one far outlier a group: Rice
            // with about e low bits beats any fixed width.
            let base = 1i64 << e;
            let mut values: Vec<i64> = noise.iter().map(|&n| base * (n % 4)).collect();
            for v in values.iter_mut().step_by(GROUP) {
                *v = i64::MAX / 2;
            }
            let len = values.len();
            for (i, v) in outliers {
                values[i % len] = v;
            }
            if len >= 16 && e < 40 {
                for escape in [Escape::Whole, Escape::Sized] {
                    let rice = matches!(plan(&values[..len.min(GROUP)], escape).layout, Layout::Rice { .. });
                    prop_assert!(rice, "a fixed width for e = {} with {:?}", e, escape);
                }
            }
            round_trip(&values);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..128), n in 0usize..300) {
            let _ = read_packed(&mut BitReader::new(&data), n, &mut Vec::new(), Escape::Whole);
            let _ = read_packed(&mut BitReader::new(&data), n, &mut Vec::new(), Escape::Sized);
        }

        /// Rice is chosen at the cheapest `r`: no other `r` packs the
        /// group in fewer bits.
        #[test]
        fn rice_takes_the_cheapest_r(
            steps in proptest::collection::vec(-3i64..4, 64),
            spikes in proptest::collection::vec((0usize..64, -5000i64..5000), 0..6),
        ) {
            let mut group = steps;
            for (i, v) in spikes {
                group[i] = v;
            }
            for escape in [Escape::Whole, Escape::Sized] {
                let chosen = plan(&group, escape).bits;
                let zigzags = group.iter().map(|&v| zigzag(v));
                for r in 0..63 {
                    prop_assert!(chosen <= 2 + 6 + rice_bits(zigzags.clone(), r, escape), "r = {} beats the plan", r);
                }
            }
        }
    }

    /// A sized escape costs its value's bits, not 64: small steps with a
    /// spike a group pack far smaller, and every length round-trips.
    #[test]
    fn sized_escapes_cost_their_values_bits() {
        let mut steps: Vec<i64> = (0..640).map(|i| (i % 3) - 1).collect();
        for v in steps.iter_mut().step_by(40) {
            *v = 700;
        }
        let sized = round_trip(&steps);
        assert!(sized < packed_bits(&steps, Escape::Whole) - 16 * 40, "{sized}");
        for len in 5..=64u32 {
            let z = 1u64 << (len - 1);
            round_trip(&[0, 1, -1, 0, unzigzag(z), 1, unzigzag(z | 1), 0]);
        }
    }

    /// The bits of a sized escape, field by field: 63 zeros at `r = 0`
    /// (a stop bit each), then 1,000 (zigzag 2,000, 11 bits): 16 zero
    /// bits, its length less one in 6 bits, its 11 bits.
    #[test]
    fn a_sized_escape_is_laid_out_as_documented() {
        let mut group = vec![0i64; 63];
        group.push(1000);
        let mut w = BitWriter::default();
        write_packed(&mut w, &group, Escape::Sized);
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bits(2), Some(2), "mode 2: Rice of zigzags");
        assert_eq!(r.read_bits(6), Some(0), "r = 0");
        for _ in 0..63 {
            assert_eq!(r.read_bits(1), Some(1), "a zero: quotient 0, its stop bit");
        }
        assert_eq!(r.read_bits(16), Some(0), "the escape's 16 zero bits");
        assert_eq!(r.read_bits(6), Some(10), "bit length 11, less one");
        assert_eq!(r.read_bits(11), Some(2000), "zigzag(1000)");
        assert_eq!(packed_bits(&group, Escape::Sized), 2 + 6 + 63 + 16 + 6 + 11);
        let before = escapes_read();
        round_trip(&group);
        assert_eq!(escapes_read() - before, 2, "one escape read per escape kind");
    }

    /// Width-64 values among zeros: priced as written, at the cheapest `r`.
    #[test]
    fn full_width_values_are_priced_as_written() {
        let mut group = vec![0i64; 60];
        group.extend([i64::MIN, i64::MAX, -1, 1 << 62]);
        round_trip(&group);
        for escape in [Escape::Whole, Escape::Sized] {
            let zigzags = group.iter().map(|&v| zigzag(v));
            let best = (0..63).map(|r| 2 + 6 + rice_bits(zigzags.clone(), r, escape)).min().unwrap();
            assert_eq!(plan(&group, escape).bits, best.min(2 + 7 + 64 * 64), "{escape:?}");
        }
    }

    #[test]
    fn extremes_round_trip() {
        round_trip(&[i64::MIN, i64::MAX, 0, -1, 1]);
        round_trip(&[i64::MAX; 70]);
        round_trip(&[i64::MIN; 3]);
        // Rice escapes: mostly small, one huge.
        let mut v = vec![1i64; 63];
        v.push(1 << 40);
        round_trip(&v);
    }

    #[test]
    fn layouts_are_chosen_by_size() {
        assert_eq!(packed_bits(&[0; 640], Escape::Sized), 90, "zero groups cost only their header");
        // Positive increments 1000..3000: 11-bit offsets beat 13-bit zigzag.
        let inc: Vec<i64> = (0..64).map(|i| 1000 + (i * 31) % 2000).collect();
        assert!(packed_bits(&inc, Escape::Sized) < 64 * 12);
        // Mostly small steps with one outlier: Rice beats the outlier's width.
        let mut steps: Vec<i64> = (0..64).map(|i| (i % 5) - 2).collect();
        steps[10] = 5000;
        assert!(packed_bits(&steps, Escape::Whole) < 64 * 8, "{}", packed_bits(&steps, Escape::Whole));
    }
}
