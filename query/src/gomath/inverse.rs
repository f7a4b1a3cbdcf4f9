//! `atan`, `asin`, `acos` and the `atan2` operator, from Cephes' rational
//! approximation of atan on [0, 0.66] as Go computes them.

use std::f64::consts::PI;

/// atan on [0, 0.66].
fn atan_kernel(x: f64) -> f64 {
    const P: [f64; 5] = [
        -8.750608600031904122785e-01,
        -1.615753718733365076637e+01,
        -7.500855792314704667340e+01,
        -1.228866684490136173410e+02,
        -6.485021904942025371773e+01,
    ];
    const Q: [f64; 5] = [
        2.485846490142306297962e+01,
        1.650270098316988542046e+02,
        4.328810604912902668951e+02,
        4.853903996359136964868e+02,
        1.945506571482613964425e+02,
    ];
    let mut z = x * x;
    z = z * ((((P[0] * z + P[1]) * z + P[2]) * z + P[3]) * z + P[4])
        / (((((z + Q[0]) * z + Q[1]) * z + Q[2]) * z + Q[3]) * z + Q[4]);
    x * z + x
}

/// atan of a positive `x`, reduced into the kernel's range.
fn atan_positive(x: f64) -> f64 {
    /// π/2 = PI/2 + MOREBITS in double-double.
    const MOREBITS: f64 = 6.123233995736765886130e-17;
    const TAN_3PI_8: f64 = 2.41421356237309504880;
    if x <= 0.66 {
        return atan_kernel(x);
    }
    if x > TAN_3PI_8 {
        return PI / 2.0 - atan_kernel(1.0 / x) + MOREBITS;
    }
    PI / 4.0 + atan_kernel((x - 1.0) / (x + 1.0)) + 0.5 * MOREBITS
}

pub(crate) fn atan(x: f64) -> f64 {
    if x == 0.0 {
        x
    } else if x > 0.0 {
        atan_positive(x)
    } else {
        -atan_positive(-x)
    }
}

pub(crate) fn asin(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    let negative = x < 0.0;
    let x = x.abs();
    if x > 1.0 {
        return f64::NAN;
    }
    let root = (1.0 - x * x).sqrt();
    let a = if x > 0.7 { PI / 2.0 - atan_positive(root / x) } else { atan_positive(x / root) };
    if negative {
        -a
    } else {
        a
    }
}

pub(crate) fn acos(x: f64) -> f64 {
    PI / 2.0 - asin(x)
}

/// `y atan2 x`: the angle of the point (x, y), with C99's special cases.
pub(crate) fn atan2(y: f64, x: f64) -> f64 {
    if y.is_nan() || x.is_nan() {
        return f64::NAN;
    }
    if y == 0.0 {
        return if x >= 0.0 && !x.is_sign_negative() { 0.0f64.copysign(y) } else { PI.copysign(y) };
    }
    if x == 0.0 {
        return (PI / 2.0).copysign(y);
    }
    if x.is_infinite() {
        let angle = match (x > 0.0, y.is_infinite()) {
            (true, true) => PI / 4.0,
            (true, false) => 0.0,
            (false, true) => 3.0 * PI / 4.0,
            (false, false) => PI,
        };
        return angle.copysign(y);
    }
    if y.is_infinite() {
        return (PI / 2.0).copysign(y);
    }
    let q = atan(y / x);
    if x < 0.0 {
        if q <= 0.0 {
            return q + PI;
        }
        return q - PI;
    }
    q
}
