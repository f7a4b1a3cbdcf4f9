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
//!                       q >= 16: 16 zero bits, then z as 64 bits
//! ```
//! Differences use wrapping arithmetic, so every `i64` round-trips.

use super::bstream::{BitReader, BitWriter};
use crate::codec::{unzigzag, zigzag};

pub(crate) const GROUP: usize = 64;
/// Unary quotients from this on escape to a raw 64-bit value.
const ESCAPE: u64 = 16;

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

#[inline]
fn rice_bits(values: impl Iterator<Item = u64> + Clone, r: u32) -> u64 {
    values.map(|z| if z >> r < ESCAPE { (z >> r) + 1 + u64::from(r) } else { ESCAPE + 64 }).sum()
}

/// The cheapest layout for `values` (already zigzagged or offset): fixed
/// width, or Rice with `r` near log2 of the mean. Rice is only tried when
/// the fixed width is well above the typical value's width, the only case
/// it can win.
fn cheapest(values: impl Iterator<Item = u64> + Clone, len: u64) -> (Layout, u64) {
    let (or, sum) = values.clone().fold((0u64, 0u128), |(or, sum), z| (or | z, sum + u128::from(z)));
    let width = bits_for(or);
    let mut best = (Layout::Fixed { width }, 7 + len * u64::from(width));
    // Outliers, which Rice escapes anyway, would drag the mean up: centre on
    // the mean of the values within four times the mean.
    let mean = sum / u128::from(len.max(1));
    let (kept, kept_sum) = values
        .clone()
        .filter(|&z| u128::from(z) <= mean * 4)
        .fold((0u128, 0u128), |(n, s), z| (n + 1, s + u128::from(z)));
    let center = 128 - (kept_sum / kept.max(1)).leading_zeros();
    if width >= center + 2 {
        for r in center.saturating_sub(1)..=(center + 1).min(63) {
            let bits = 6 + rice_bits(values.clone(), r);
            if bits < best.1 {
                best = (Layout::Rice { r }, bits);
            }
        }
    }
    best
}

fn plan(group: &[i64]) -> Plan {
    let len = group.len() as u64;
    let (zz_layout, zz_bits) = cheapest(group.iter().map(|&v| zigzag(v)), len);
    let (min, max) = group.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let zz_plan = Plan { min: None, layout: zz_layout, bits: 2 + zz_bits };
    // Offsets from the minimum only pay when their range is narrower.
    if group.is_empty() || bits_for(max.wrapping_sub(min) as u64) >= bits_for(zigzag(min).max(zigzag(max))) {
        return zz_plan;
    }
    let (for_layout, for_bits) = cheapest(group.iter().map(|&v| v.wrapping_sub(min) as u64), len);
    let for_bits = for_bits + 7 + u64::from(bits_for(zigzag(min)));
    if for_bits < zz_bits {
        Plan { min: Some(min), layout: for_layout, bits: 2 + for_bits }
    } else {
        zz_plan
    }
}

/// Bits [`write_packed`] uses for `values`.
pub(crate) fn packed_bits(values: &[i64]) -> usize {
    values.chunks(GROUP).map(|g| plan(g).bits as usize).sum()
}

pub(crate) fn write_packed(w: &mut BitWriter, values: &[i64]) {
    for group in values.chunks(GROUP) {
        let plan = plan(group);
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
                        w.write_bits(z, 64);
                    }
                }
            }
        }
    }
}

/// Reads `n` values written by [`write_packed`] into `out`; `None` when the
/// input is short or a parameter is impossible.
pub(crate) fn read_packed(r: &mut BitReader<'_>, n: usize, out: &mut Vec<i64>) -> Option<()> {
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
                        *z = read_rice(r, bits)?;
                        done += 1;
                    }
                }
            }
            Layout::Rice { r: bits } => {
                for z in codes.iter_mut() {
                    *z = read_rice(r, bits)?;
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

/// One Rice code with `bits` low bits, escapes included.
fn read_rice(r: &mut BitReader<'_>, bits: u32) -> Option<u64> {
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
        r.read_bits(64)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn round_trip(values: &[i64]) {
        let mut w = BitWriter::default();
        write_packed(&mut w, values);
        assert_eq!(w.bit_len(), packed_bits(values));
        let bytes = w.finish();
        let mut out = Vec::new();
        read_packed(&mut BitReader::new(&bytes), values.len(), &mut out).unwrap();
        assert_eq!(out, values);
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
                let rice = matches!(plan(&values[..len.min(GROUP)]).layout, Layout::Rice { .. });
                prop_assert!(rice, "a fixed width for e = {}", e);
            }
            round_trip(&values);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..128), n in 0usize..300) {
            let _ = read_packed(&mut BitReader::new(&data), n, &mut Vec::new());
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
        assert_eq!(packed_bits(&[0; 640]), 90, "zero groups cost only their header");
        // Positive increments 1000..3000: 11-bit offsets beat 13-bit zigzag.
        let inc: Vec<i64> = (0..64).map(|i| 1000 + (i * 31) % 2000).collect();
        assert!(packed_bits(&inc) < 64 * 12);
        // Mostly small steps with one outlier: Rice beats the outlier's width.
        let mut steps: Vec<i64> = (0..64).map(|i| (i % 5) - 2).collect();
        steps[10] = 5000;
        assert!(packed_bits(&steps) < 64 * 8, "{}", packed_bits(&steps));
    }
}
