//! `sin`, `cos` and `tan` as Go computes them: Cephes' polynomials on the
//! argument reduced modulo π/4 in three parts, and for arguments of 2^29
//! and more the Payne–Hanek reduction with the bits of 4/π.

use std::f64::consts::PI;

use super::bits::{BIAS, MASK, SHIFT};

/// π/4 in three parts, for the extended-precision reduction.
const PI4A: f64 = 7.85398125648498535156e-1;
const PI4B: f64 = 3.77489470793079817668e-8;
const PI4C: f64 = 2.69515142907905952645e-15;
/// From here on the three-part reduction loses precision.
const REDUCE_THRESHOLD: f64 = (1u64 << 29) as f64;

const SIN: [f64; 6] = [
    1.58962301576546568060e-10,
    -2.50507477628578072866e-8,
    2.75573136213857245213e-6,
    -1.98412698295895385996e-4,
    8.33333333332211858878e-3,
    -1.66666666666666307295e-1,
];
const COS: [f64; 6] = [
    -1.13585365213876817300e-11,
    2.08757008419747316778e-9,
    -2.75573141792967388112e-7,
    2.48015872888517045348e-5,
    -1.38888888888730564116e-3,
    4.16666666666665929218e-2,
];

/// 4/π in binary: `Σ FOUR_OVER_PI[i] × 2^(-64 i)` (computed to 1,280 bits).
const FOUR_OVER_PI: [u64; 20] = [
    0x0000000000000001,
    0x45f306dc9c882a53,
    0xf84eafa3ea69bb81,
    0xb6c52b3278872083,
    0xfca2c757bd778ac3,
    0x6e48dc74849ba5c0,
    0x0c925dd413a32439,
    0xfc3bd63962534e7d,
    0xd1046bea5d768909,
    0xd338e04d68befc82,
    0x7323ac7306a673e9,
    0x3908bf177bf25076,
    0x3ff12fffbc0b301f,
    0xde5e2316b414da3e,
    0xda6cfd9e4f96136e,
    0x9e8c7ecd3cbfd45a,
    0xea4f758fd7cbe2f6,
    0x7a0e73ef14a525d4,
    0xd7f6bf623f1aba10,
    0xac06608df8f6d757,
];

// Go's shifts by 64 or more give 0; Rust's would overflow.
fn shl(x: u64, n: u32) -> u64 {
    x.checked_shl(n).unwrap_or(0)
}

fn shr(x: u64, n: u32) -> u64 {
    x.checked_shr(n).unwrap_or(0)
}

/// The octant and the reduced argument of a huge positive `x` (Payne–Hanek).
fn reduce_huge(x: f64) -> (u64, f64) {
    const PI4: f64 = PI / 4.0;
    if x < PI4 {
        return (0, x);
    }
    let mut ix = x.to_bits();
    let exp = ((ix >> SHIFT) & MASK) as i64 - BIAS - i64::from(SHIFT);
    ix &= !(MASK << SHIFT);
    ix |= 1 << SHIFT;
    // Three words of 4/π such that the product's leading digit has exponent -61.
    let digit = ((exp + 61) / 64) as usize;
    let shift = ((exp + 61) % 64) as u32;
    let word = |i: usize| shl(FOUR_OVER_PI[digit + i], shift) | shr(FOUR_OVER_PI[digit + i + 1], 64 - shift);
    let (z0, z1, z2) = (word(0), word(1), word(2));
    let z2hi = ((u128::from(z2) * u128::from(ix)) >> 64) as u64;
    let p1 = u128::from(z1) * u128::from(ix);
    let (z1hi, z1lo) = ((p1 >> 64) as u64, p1 as u64);
    let z0lo = z0.wrapping_mul(ix);
    let (lo, carry) = z1lo.overflowing_add(z2hi);
    let hi = z0lo.wrapping_add(z1hi).wrapping_add(u64::from(carry));
    let mut j = hi >> 61;
    let mut frac = hi << 3 | lo >> 61;
    let lz = frac.leading_zeros();
    let e = (BIAS as u64).wrapping_sub(u64::from(lz) + 1);
    frac = shl(frac, lz + 1) | shr(lo, 64 - (lz + 1));
    frac >>= 64 - SHIFT;
    frac |= e << SHIFT;
    let mut z = f64::from_bits(frac);
    if j & 1 == 1 {
        j = (j + 1) & 7;
        z -= 1.0;
    }
    (j, z * PI4)
}

/// The octant (before `& 7` for `tan`, which needs only bit 1) and the
/// reduced argument of a positive finite `x`.
fn reduce(x: f64) -> (u64, f64) {
    if x >= REDUCE_THRESHOLD {
        return reduce_huge(x);
    }
    let mut j = (x * (4.0 / PI)) as u64;
    let mut y = j as f64;
    // Map zeros to the origin.
    if j & 1 == 1 {
        j += 1;
        y += 1.0;
    }
    (j, ((x - y * PI4A) - y * PI4B) - y * PI4C)
}

fn sin_poly(z: f64, zz: f64) -> f64 {
    z + z * zz * ((((((SIN[0] * zz) + SIN[1]) * zz + SIN[2]) * zz + SIN[3]) * zz + SIN[4]) * zz + SIN[5])
}

fn cos_poly(zz: f64) -> f64 {
    1.0 - 0.5 * zz + zz * zz * ((((((COS[0] * zz) + COS[1]) * zz + COS[2]) * zz + COS[3]) * zz + COS[4]) * zz + COS[5])
}

pub(crate) fn sin(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let mut negate = x < 0.0;
    let (j, z) = reduce(x.abs());
    let mut j = j & 7;
    if j > 3 {
        negate = !negate;
        j -= 4;
    }
    let zz = z * z;
    let y = if j == 1 || j == 2 { cos_poly(zz) } else { sin_poly(z, zz) };
    if negate {
        -y
    } else {
        y
    }
}

pub(crate) fn cos(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let mut negate = false;
    let (j, z) = reduce(x.abs());
    let mut j = j & 7;
    if j > 3 {
        j -= 4;
        negate = !negate;
    }
    if j > 1 {
        negate = !negate;
    }
    let zz = z * z;
    let y = if j == 1 || j == 2 { sin_poly(z, zz) } else { cos_poly(zz) };
    if negate {
        -y
    } else {
        y
    }
}

pub(crate) fn tan(x: f64) -> f64 {
    const P: [f64; 3] = [-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7];
    const Q: [f64; 4] =
        [1.36812963470692954678e4, -1.32089234440210967447e6, 2.50083801823357915839e7, -5.38695755929454629881e7];
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (j, z) = reduce(x.abs());
    let zz = z * z;
    let mut y = if zz > 1e-14 {
        z + z * (zz * ((P[0] * zz + P[1]) * zz + P[2]) / ((((zz + Q[0]) * zz + Q[1]) * zz + Q[2]) * zz + Q[3]))
    } else {
        z
    };
    if j & 2 == 2 {
        y = -1.0 / y;
    }
    if x < 0.0 {
        -y
    } else {
        y
    }
}
