//! Splitting a float into fraction and exponent and back, as Go's `Frexp`,
//! `Ldexp` and `Modf` do (subnormals included).

pub(super) const SHIFT: u32 = 52;
pub(super) const MASK: u64 = 0x7ff;
pub(super) const BIAS: i64 = 1023;

/// `x = frac × 2^exp` with `|frac|` in `[0.5, 1)`; zero, infinities and NaN as they are.
pub(super) fn frexp(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (mut x, mut exp) = (x, 0);
    if x.abs() < f64::MIN_POSITIVE {
        x *= (1u64 << 52) as f64;
        exp = -52;
    }
    let mut bits = x.to_bits();
    exp += ((bits >> SHIFT) & MASK) as i64 - BIAS + 1;
    bits &= !(MASK << SHIFT);
    bits |= ((BIAS - 1) as u64) << SHIFT;
    (f64::from_bits(bits), exp)
}

/// `frac × 2^exp`, rounding once when the result is subnormal.
pub(super) fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || !frac.is_finite() {
        return frac;
    }
    let (mut frac, mut exp) = (frac, exp);
    if frac.abs() < f64::MIN_POSITIVE {
        frac *= (1u64 << 52) as f64;
        exp -= 52;
    }
    let mut bits = frac.to_bits();
    exp += ((bits >> SHIFT) & MASK) as i64 - BIAS;
    if exp < -1075 {
        return 0.0f64.copysign(frac);
    }
    if exp > 1023 {
        return f64::INFINITY.copysign(frac);
    }
    let mut scale = 1.0;
    if exp < -1022 {
        exp += 53;
        scale = 1.0 / (1u64 << 53) as f64;
    }
    bits &= !(MASK << SHIFT);
    bits |= ((exp + BIAS) as u64) << SHIFT;
    scale * f64::from_bits(bits)
}

/// Integer part (toward zero) and fraction, both with `f`'s sign.
pub(super) fn modf(f: f64) -> (f64, f64) {
    if f < 1.0 {
        if f < 0.0 {
            let (int, frac) = modf(-f);
            return (-int, -frac);
        }
        if f == 0.0 {
            return (f, f);
        }
        return (0.0, f);
    }
    let mut bits = f.to_bits();
    let exp = ((bits >> SHIFT) & MASK) as i64 - BIAS;
    if exp < 52 {
        bits &= !((1u64 << (52 - exp)) - 1);
    }
    let int = f64::from_bits(bits);
    (int, f - int)
}
