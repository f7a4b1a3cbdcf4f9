//! `sinh`, `cosh`, `tanh` and their inverses, as Go computes them (Hart &
//! Cheney's and Cephes' approximations near zero, `Exp`/`Log` elsewhere).

use std::f64::consts::LN_2;

use super::exp_log::{exp, log};

/// `-x` for negative `x`: unlike `abs`, keeps -0.0, as Go's code does.
fn flip_negative(x: f64) -> (bool, f64) {
    if x < 0.0 {
        (true, -x)
    } else {
        (false, x)
    }
}

fn signed(negative: bool, v: f64) -> f64 {
    if negative {
        -v
    } else {
        v
    }
}

pub(crate) fn sinh(x: f64) -> f64 {
    const P: [f64; 4] = [
        -0.6307673640497716991184787251e+6,
        -0.8991272022039509355398013511e+5,
        -0.2894211355989563807284660366e+4,
        -0.2630563213397497062819489000e+2,
    ];
    const Q: [f64; 3] =
        [-0.6307673640497716991212077277e+6, 0.1521517378790019070696485176e+5, -0.173678953558233699533450911e+3];
    let (negative, x) = flip_negative(x);
    let v = if x > 21.0 {
        exp(x) * 0.5
    } else if x > 0.5 {
        let ex = exp(x);
        (ex - 1.0 / ex) * 0.5
    } else {
        let sq = x * x;
        (((P[3] * sq + P[2]) * sq + P[1]) * sq + P[0]) * x / (((sq + Q[2]) * sq + Q[1]) * sq + Q[0])
    };
    signed(negative, v)
}

pub(crate) fn cosh(x: f64) -> f64 {
    let x = x.abs();
    if x > 21.0 {
        return exp(x) * 0.5;
    }
    let ex = exp(x);
    (ex + 1.0 / ex) * 0.5
}

pub(crate) fn tanh(x: f64) -> f64 {
    const P: [f64; 3] = [-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3];
    const Q: [f64; 3] = [1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3];
    /// ln(2^127).
    const MAXLOG: f64 = 8.8029691931113054295988e+01;
    let z = x.abs();
    if z > 0.5 * MAXLOG {
        return if x < 0.0 { -1.0 } else { 1.0 };
    }
    if z >= 0.625 {
        let s = exp(2.0 * z);
        return signed(x < 0.0, 1.0 - 2.0 / (s + 1.0));
    }
    if x == 0.0 {
        return x;
    }
    let s = x * x;
    x + x * s * ((P[0] * s + P[1]) * s + P[2]) / (((s + Q[0]) * s + Q[1]) * s + Q[2])
}

const NEAR_ZERO: f64 = 1.0 / (1u64 << 28) as f64;
const LARGE: f64 = (1u64 << 28) as f64;

pub(crate) fn asinh(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let (negative, x) = flip_negative(x);
    let v = if x > LARGE {
        log(x) + LN_2
    } else if x > 2.0 {
        log(2.0 * x + 1.0 / ((x * x + 1.0).sqrt() + x))
    } else if x < NEAR_ZERO {
        x
    } else {
        libm::log1p(x + x * x / (1.0 + (1.0 + x * x).sqrt()))
    };
    signed(negative, v)
}

pub(crate) fn acosh(x: f64) -> f64 {
    if x < 1.0 || x.is_nan() {
        return f64::NAN;
    }
    if x == 1.0 {
        return 0.0;
    }
    if x >= LARGE {
        return log(x) + LN_2;
    }
    if x > 2.0 {
        return log(2.0 * x - 1.0 / (x + (x * x - 1.0).sqrt()));
    }
    let t = x - 1.0;
    libm::log1p(t + (2.0 * t + t * t).sqrt())
}

pub(crate) fn atanh(x: f64) -> f64 {
    if !(-1.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 1.0 || x == -1.0 {
        return f64::INFINITY.copysign(x);
    }
    let (negative, x) = flip_negative(x);
    let v = if x < NEAR_ZERO {
        x
    } else if x < 0.5 {
        let twice = x + x;
        0.5 * libm::log1p(twice + twice * x / (1.0 - x))
    } else {
        0.5 * libm::log1p((x + x) / (1.0 - x))
    };
    signed(negative, v)
}
