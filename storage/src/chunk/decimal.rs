//! Exact decimal scaling with patches: values are stored as integers `m`
//! with `value == m / 10^k` bit for bit (`k` in -15..=15; a negative `k`
//! strips trailing zeros, `431199000 = 431199 × 10^3`), and the few values that are not
//! exactly such a decimal (float arithmetic leftovers like
//! `94.79799999999999`, NaN staleness markers, -0.0) are patched: their
//! slot holds the nearest mantissa and a patch records the difference of
//! the bit patterns, usually a handful of ulps. Choosing `k` is a size
//! trade-off between wider mantissas and more patches.

/// Largest decimal exponent magnitude tried; `10^k` is exact in f64 up to 22.
pub(crate) const MAX_EXPONENT: i8 = 15;
const EXPONENTS: usize = 2 * MAX_EXPONENT as usize + 1;
/// Mantissas are kept within f64's exact integer range.
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0; // 2^53

const POW10: [f64; MAX_EXPONENT as usize + 1] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

#[inline]
fn pow10(k: i8) -> f64 {
    POW10.get(k.unsigned_abs() as usize).copied().unwrap_or(f64::NAN)
}

/// The value `m / 10^k` exactly as the decoder computes it.
#[inline]
pub(crate) fn unscale(m: i64, k: i8) -> f64 {
    match k {
        0 => m as f64,
        k if k > 0 => m as f64 / pow10(k),
        k => m as f64 * pow10(k),
    }
}

/// The mantissa nearest to `v` at exponent `k`, when `v * 10^k` is in range.
#[inline]
pub(crate) fn nearest_mantissa(v: f64, k: i8) -> Option<i64> {
    let scaled = if k >= 0 { v * pow10(k) } else { v / pow10(k) };
    // Also rejects NaN and infinities.
    (scaled.abs() <= MAX_MANTISSA).then(|| scaled.round() as i64)
}

/// `m` with `unscale(m, k)` bit-identical to `v`, if there is one.
#[inline]
pub(crate) fn exact_mantissa(v: f64, k: i8) -> Option<i64> {
    let m = nearest_mantissa(v, k)?;
    // Rounding of v * 10^k can land one off near 2^53; try the neighbours.
    [m, m - 1, m + 1].into_iter().find(|&m| unscale(m, k).to_bits() == v.to_bits())
}

/// The smallest exponent at which `v` is an exact decimal. Exact at `k`
/// implies exact at every larger `k` while `m` stays below 2^53. Integers
/// get a negative exponent, one per trailing zero (zero itself the lowest).
#[inline]
pub(crate) fn min_exponent(v: f64) -> Option<i8> {
    if let Some(mut m) = exact_mantissa(v, 0) {
        if m == 0 {
            return (v.to_bits() == 0).then_some(-MAX_EXPONENT); // -0.0 is not a decimal
        }
        let mut k = 0;
        while m % 10 == 0 && k > -MAX_EXPONENT {
            m /= 10;
            k -= 1;
        }
        return Some(k);
    }
    (1..=MAX_EXPONENT).find(|&k| exact_mantissa(v, k).is_some())
}

/// Exponents worth trying for `values`: every `k` that is the smallest
/// exact exponent of at least a tenth of the values, once `k` covers at
/// least half of them, plus the smallest `k` covering every exact value.
/// Larger `k` means wider mantissas, smaller means more patches; the caller
/// encodes each candidate and keeps the smallest. Empty when fewer than
/// half the values are decimals at all.
pub(crate) fn candidate_exponents(values: &[f64]) -> Vec<i8> {
    // Arbitrary floats are the costly case (every exponent is tried); a
    // sample of the first values rules most of them out early.
    let probe = &values[..values.len().min(32)];
    if probe.iter().filter(|&&v| min_exponent(v).is_some()).count() * 4 < probe.len() {
        return Vec::new();
    }
    let mut histogram = [0usize; EXPONENTS];
    for &v in values {
        if let Some(k) = min_exponent(v) {
            histogram[(k + MAX_EXPONENT) as usize] += 1;
        }
    }
    let n = values.len();
    let exact: usize = histogram.iter().sum();
    if exact * 2 < n {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut covered = 0;
    for (k, &count) in histogram.iter().enumerate() {
        covered += count;
        let significant = count * 10 >= n && covered * 2 >= n;
        if significant || (covered == exact && count > 0) {
            out.push(k as i8 - MAX_EXPONENT);
        }
        if covered == exact {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_smallest_exponent() {
        assert_eq!(min_exponent(42.0), Some(0));
        assert_eq!(min_exponent(431_199_000.0), Some(-3));
        assert_eq!(min_exponent(0.0), Some(-MAX_EXPONENT));
        assert_eq!(min_exponent(2.5), Some(1));
        assert_eq!(min_exponent(99.99), Some(2));
        assert_eq!(min_exponent(0.132), Some(3));
        for v in [f64::NAN, f64::INFINITY, -0.0, 0.1 + 0.2, 1.0 / 3.0, 1e300, 2f64.powi(60)] {
            assert_eq!(min_exponent(v), None, "{v:?}");
        }
    }

    #[test]
    fn candidates_cover_most_values_cheaply() {
        let mut values: Vec<f64> = (0..100).map(|i| f64::from(i) / 1000.0).collect();
        values[7] = 94.79799999999999; // an arithmetic leftover
        assert_eq!(candidate_exponents(&values), vec![3]);
        let noise: Vec<f64> = (0..100).map(|i| f64::from(i).sin()).collect();
        assert!(candidate_exponents(&noise).is_empty());
        // Mostly 3 decimals, some 2, and a tail of 14-digit leftovers: try 3 and 14, not only 14.
        let mut mixed: Vec<f64> = (0..60).map(|i| f64::from(i) / 1000.0 + 40.0).collect();
        mixed.extend((0..25).map(|i| f64::from(i) / 100.0 + 40.0));
        mixed.extend((0..15).map(|_| 45.75199999999999));
        assert_eq!(candidate_exponents(&mixed), vec![3, 14]);
    }

    proptest! {
        #[test]
        fn exact_mantissas_are_exact(m in -1_000_000_000i64..1_000_000_000, k in -6i8..=6) {
            let v = unscale(m, k);
            let found = min_exponent(v).unwrap();
            prop_assert!(found <= k);
            prop_assert_eq!(unscale(exact_mantissa(v, found).unwrap(), found).to_bits(), v.to_bits());
        }
    }
}
