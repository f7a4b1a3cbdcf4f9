//! Helpers shared by pulsedb's integration tests and fuzz targets (not
//! published): a real `pulsedb serve` process ([`server`]), data-directory
//! helpers ([`data_dir`]), the acknowledged-sample model durability tests
//! compare reads with ([`acked::AckedModel`]), the crash tests' write
//! workload ([`crash_workload`]), a tiny deterministic PRNG,
//! and the fuzz entry
//! points ([`fuzzing`]) that `fuzz/` and the corpus test share.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc, missing_debug_implementations)]

pub mod acked;
pub mod browser;
pub mod crash_workload;
pub mod data_dir;
pub mod fault_proxy;
pub mod fuzzing;
pub mod rule_fuzzing;
pub mod server;
pub mod structured;

/// splitmix64: small, fast, deterministic; good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A value of the kinds real data has: decimals, integers, arbitrary
    /// floats, and now and then NaN, -0.0 or infinity.
    pub fn value(&mut self) -> f64 {
        match self.below(20) {
            0 => f64::from_bits(self.next_u64()),
            1 => f64::NAN,
            2 => -0.0,
            3 => f64::INFINITY,
            4..=9 => self.below(1_000_000) as f64,
            _ => (self.below(100_000) as f64) / 100.0,
        }
    }
}
