//! `exp`, `log`, `log2` and `log10`.

use std::f64::consts::{FRAC_1_SQRT_2, LOG10_E, LOG2_E};

use super::bits::{frexp, ldexp};

/// Go's amd64 `Exp` (SLEEF's method: reduce by ln 2, a Taylor polynomial
/// of x/16, squared back four times), on its FMA path. Results below the
/// normal range come from Go's portable `exp`.
pub(crate) fn exp(x: f64) -> f64 {
    const LN2_UPPER: f64 = 0.69314718055966295651160180568695068359375;
    const LN2_LOWER: f64 = 0.28235290563031577122588448175013436025525412068e-12;
    const OVERFLOW: f64 = 7.09782712893384e+02;
    /// 1/2, 1, 2, then the Taylor coefficients 1/3! … 1/8!.
    const C: [f64; 9] = [
        0.5,
        1.0,
        2.0,
        1.6666666666666666667e-1,
        4.1666666666666666667e-2,
        8.3333333333333333333e-3,
        1.3888888888888888889e-3,
        1.9841269841269841270e-4,
        2.4801587301587301587e-5,
    ];
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    // CVTSD2SL rounds to nearest even; out of range is i32::MIN, which the
    // saturating cast also gives (such x underflow below).
    let e = (LOG2_E * x).round_ties_even() as i32;
    let ef = f64::from(e);
    let mut r = (-LN2_UPPER).mul_add(ef, x);
    r = (-LN2_LOWER).mul_add(ef, r);
    r *= 0.0625;
    let mut p = C[8];
    for c in [C[7], C[6], C[5], C[4], C[3], C[0], C[1]] {
        p = p.mul_add(r, c);
    }
    let mut y = r * p;
    for _ in 0..3 {
        y *= y + C[2];
    }
    y = y.mul_add(y + C[2], C[1]);
    let biased = e.saturating_add(0x3ff);
    if biased <= 0 {
        return portable_exp(x);
    }
    if biased >= 0x7ff {
        return f64::INFINITY;
    }
    y * f64::from_bits((biased as u64) << 52)
}

/// Go's portable `exp`, for results the assembly would flush to zero.
fn portable_exp(x: f64) -> f64 {
    const LN2_HI: f64 = 6.93147180369123816490e-01;
    const LN2_LO: f64 = 1.90821492927058770002e-10;
    const UNDERFLOW: f64 = -7.45133219101941108420e+02;
    const P: [f64; 5] = [
        1.66666666666666657415e-01,
        -2.77777777770155933842e-03,
        6.61375632143793436117e-05,
        -1.65339022054652515390e-06,
        4.13813679705723846039e-08,
    ];
    if x < UNDERFLOW {
        return 0.0;
    }
    // Only reached for x < -708, so the rounding term is -0.5.
    let k = (LOG2_E * x - 0.5) as i64;
    let hi = x - k as f64 * LN2_HI;
    let lo = k as f64 * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (P[0] + t * (P[1] + t * (P[2] + t * (P[3] + t * P[4]))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    ldexp(y, k)
}

/// Go's amd64 `Log` (FreeBSD's `e_log.c` method). Its fraction/exponent
/// split reads the bits directly, so a subnormal input is taken as
/// `0.5 × 2^-1022` and up, as Prometheus answers it.
pub(crate) fn log(x: f64) -> f64 {
    const LN2_HI: f64 = 6.93147180369123816490e-01;
    const LN2_LO: f64 = 1.90821492927058770002e-10;
    const L: [f64; 7] = [
        6.666666666666735130e-01,
        3.999999999940941908e-01,
        2.857142874366239149e-01,
        2.222219843214978396e-01,
        1.818357216161805012e-01,
        1.531383769920937332e-01,
        1.479819860511658591e-01,
    ];
    let bits = x.to_bits();
    if bits & !(1 << 63) == 0 {
        return f64::NEG_INFINITY;
    }
    if bits >> 63 == 1 {
        return f64::NAN;
    }
    if bits >= f64::INFINITY.to_bits() {
        return x;
    }
    let mut f1 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0.5f64.to_bits());
    let mut k = f64::from(((bits >> 52) & 0x7ff) as i32 - 0x3fe);
    if f1 < FRAC_1_SQRT_2 {
        k -= 1.0;
        f1 *= 2.0;
    }
    let f = f1 - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (L[0] + s4 * (L[2] + s4 * (L[4] + s4 * L[6])));
    let t2 = s4 * (L[1] + s4 * (L[3] + s4 * L[5]));
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// Go's `Log2`: exact for powers of two, else `Log(frac) / ln 2 + exp`.
pub(crate) fn log2(x: f64) -> f64 {
    let (frac, exp) = frexp(x);
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    log(frac) * LOG2_E + exp as f64
}

/// Go's `Log10`: `Log(x) × (1 / ln 10)`.
pub(crate) fn log10(x: f64) -> f64 {
    log(x) * LOG10_E
}
