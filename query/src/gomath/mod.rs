//! Go's float64 math, bit for bit as Prometheus 2.42 (Debian's amd64 build)
//! computes it, so functions and operators give the same last bits as the
//! reference: `exp` is Go's amd64 assembly (the FMA path, with Go's
//! portable code for results below the normal range), `log` Go's amd64
//! assembly (whose exponent split reads subnormal inputs as if they were
//! normal), the trigonometric functions Go's Cephes-derived code with its
//! Payne–Hanek reduction of huge arguments, `pow` Go's repeated squaring.
//! Rust's `f64` methods call the C library, whose correctly rounded results
//! differ from these in the last bit for a fifth to a third of all inputs.
//!
//! `tests.rs` replays 9,000 answers recorded from a real Prometheus 2.42
//! (`query/testdata/gomath/record.py`).
#![allow(clippy::excessive_precision)]

mod bits;
mod exp_log;
mod format;
mod hyperbolic;
mod inverse;
mod pow;
#[cfg(test)]
mod tests;
mod trig;

pub(crate) use exp_log::{exp, log, log10, log2};
pub use format::format_float;
pub(crate) use hyperbolic::{acosh, asinh, atanh, cosh, sinh, tanh};
pub(crate) use inverse::{acos, asin, atan, atan2};
pub(crate) use pow::pow;
pub(crate) use trig::{cos, sin, tan};

/// Prometheus' `deg`: `v * 180 / π`, in that order.
pub(crate) fn deg(v: f64) -> f64 {
    v * 180.0 / std::f64::consts::PI
}

/// Prometheus' `rad`: `v * π / 180`, in that order.
pub(crate) fn rad(v: f64) -> f64 {
    v * std::f64::consts::PI / 180.0
}
