//! Exact decimal scaling: finds the smallest `k` such that every value is
//! bit-for-bit `m / 10^k` for an integer `m`, so decimal-valued data
//! (percentages, readings, float-typed counters) can be stored as small
//! integers. Anything not exactly representable (NaN, ±Inf, -0.0, most
//! results of float arithmetic) makes the whole run fall back to XOR.

/// Largest decimal exponent tried; `10^k` is exact in f64 up to 22.
pub(crate) const MAX_EXPONENT: u8 = 15;
/// Mantissas are kept within f64's exact integer range.
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0; // 2^53

const POW10: [f64; MAX_EXPONENT as usize + 1] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// The value `m / 10^k` exactly as the decoder computes it.
#[inline]
pub(crate) fn unscale(m: i64, k: u8) -> f64 {
    match POW10.get(k as usize) {
        Some(&p) if k > 0 => m as f64 / p,
        _ => m as f64,
    }
}

/// `m` with `unscale(m, k)` bit-identical to `v`, if there is one.
#[inline]
fn mantissa_at(v: f64, k: u8) -> Option<i64> {
    let scaled = v * POW10.get(k as usize)?;
    if !(scaled.abs() <= MAX_MANTISSA) {
        return None; // also rejects NaN and infinities
    }
    let m = scaled.round() as i64;
    // Rounding of v * 10^k can land one off near 2^53; try the neighbours.
    [m, m - 1, m + 1].into_iter().find(|&m| unscale(m, k).to_bits() == v.to_bits())
}

/// Scales all `values` with one common exponent, writing the mantissas to
/// `out`; `None` when some value has no exact decimal form.
pub(crate) fn scale(values: &[f64], out: &mut Vec<i64>) -> Option<u8> {
    // Exact at k implies exact at every larger k (same real quotient, while
    // m stays below 2^53), so the common exponent is the largest minimum.
    let mut k = 0u8;
    for &v in values {
        while mantissa_at(v, k).is_none() {
            k += 1;
            if k > MAX_EXPONENT {
                return None;
            }
        }
    }
    out.clear();
    out.reserve(values.len());
    for &v in values {
        out.push(mantissa_at(v, k)?);
    }
    Some(k)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_smallest_common_exponent() {
        let mut m = Vec::new();
        assert_eq!(scale(&[1.0, 2.5, 3.25], &mut m), Some(2));
        assert_eq!(m, vec![100, 250, 325]);
        assert_eq!(scale(&[42.0, 7.0], &mut m), Some(0));
        assert_eq!(scale(&[0.1, 0.7, 99.99], &mut m), Some(2));
    }

    #[test]
    fn inexact_values_fall_back() {
        let mut m = Vec::new();
        for v in [f64::NAN, f64::INFINITY, -0.0, 0.1 + 0.2, 1.0 / 3.0, 1e300, 2f64.powi(60)] {
            assert_eq!(scale(&[1.0, v], &mut m), None, "{v:?}");
        }
    }

    proptest! {
        #[test]
        fn scaled_values_round_trip(ms in proptest::collection::vec(-1_000_000_000i64..1_000_000_000, 1..100), k in 0u8..=6) {
            let values: Vec<f64> = ms.iter().map(|&m| unscale(m, k)).collect();
            let mut out = Vec::new();
            let found = scale(&values, &mut out).unwrap();
            prop_assert!(found <= k);
            for (&v, &m) in values.iter().zip(&out) {
                prop_assert_eq!(unscale(m, found).to_bits(), v.to_bits());
            }
        }

        #[test]
        fn any_float_either_scales_exactly_or_falls_back(bits in proptest::collection::vec(any::<u64>(), 1..20)) {
            let values: Vec<f64> = bits.into_iter().map(f64::from_bits).collect();
            let mut out = Vec::new();
            if let Some(k) = scale(&values, &mut out) {
                for (&v, &m) in values.iter().zip(&out) {
                    prop_assert_eq!(unscale(m, k).to_bits(), v.to_bits());
                }
            }
        }
    }
}
