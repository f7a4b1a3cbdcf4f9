//! Bit-packed unsigned integers in groups of 64, each group prefixed by its
//! 7-bit width: cheap to decode and close to the entropy of small deltas,
//! while one outlier only widens its own group.

use super::bstream::{BitReader, BitWriter};

pub(crate) const GROUP: usize = 64;

/// Bits needed by the widest value of each group, plus the 7-bit headers.
pub(crate) fn packed_bits(values: &[u64]) -> usize {
    values.chunks(GROUP).map(|g| 7 + g.len() * width_of(g) as usize).sum()
}

#[inline]
fn width_of(group: &[u64]) -> u32 {
    64 - group.iter().fold(0u64, |acc, &v| acc | v).leading_zeros()
}

pub(crate) fn write_packed(w: &mut BitWriter, values: &[u64]) {
    for group in values.chunks(GROUP) {
        let width = width_of(group);
        w.write_bits(u64::from(width), 7);
        if width == 0 {
            continue;
        }
        for &v in group {
            w.write_bits(v, width);
        }
    }
}

/// Reads `n` values written by [`write_packed`] into `out`; `None` when the
/// input is short or a width is impossible.
pub(crate) fn read_packed(r: &mut BitReader<'_>, n: usize, out: &mut Vec<u64>) -> Option<()> {
    out.reserve(n);
    let mut left = n;
    while left > 0 {
        let in_group = left.min(GROUP);
        let width = r.read_bits(7)? as u32;
        if width > 64 {
            return None;
        }
        if width == 0 {
            out.extend(std::iter::repeat_n(0, in_group));
        } else if width <= 57 {
            for _ in 0..in_group {
                if !r.ensure(width) {
                    return None;
                }
                out.push(r.peek(width));
                r.consume(width);
            }
        } else {
            for _ in 0..in_group {
                out.push(r.read_bits(width)?);
            }
        }
        left -= in_group;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn packed_round_trip(values in proptest::collection::vec(prop_oneof![0u64..4, 0u64..1000, any::<u64>()], 0..400)) {
            let mut w = BitWriter::default();
            write_packed(&mut w, &values);
            prop_assert_eq!(w.bit_len(), packed_bits(&values));
            let bytes = w.finish();
            let mut out = Vec::new();
            read_packed(&mut BitReader::new(&bytes), values.len(), &mut out).unwrap();
            prop_assert_eq!(out, values);
        }
    }

    #[test]
    fn zero_groups_cost_only_their_header() {
        assert_eq!(packed_bits(&[0; 640]), 70);
    }
}
