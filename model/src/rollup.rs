//! Rollup summaries as storage hands them to the query engine: per series,
//! per aligned bucket of a fixed resolution (1 min, 1 h), what
//! `*_over_time`, `rate` and `increase` need to be answered exactly without
//! the raw samples. Storage computes and stores them (`storage/src/rollup.rs`);
//! the query planner decides when they answer a window.

use crate::{Labels, Sample};

/// The resolutions rollups are written at, in milliseconds (1 min, 1 h).
pub const RESOLUTIONS: [i64; 2] = [60_000, 3_600_000];

/// The summary of one bucket `[start, start + resolution)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RollupBucket {
    pub start: i64,
    pub count: u64,
    pub sum: f64,
    /// Smallest non-NaN value (NaN only when all values are NaN), as
    /// Prometheus' `min_over_time` folds.
    pub min: f64,
    pub max: f64,
    pub first: Sample,
    pub last: Sample,
    /// Sum, over consecutive samples inside the bucket where the value
    /// dropped, of the value before the drop (Prometheus' counter-reset
    /// correction).
    pub correction: f64,
}

/// Which bucket fields a reader needs; the others are not decoded (left 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupFields(u16);

impl RollupFields {
    pub const COUNT: Self = Self(1);
    pub const SUM: Self = Self(1 << 1);
    pub const MIN: Self = Self(1 << 2);
    pub const MAX: Self = Self(1 << 3);
    pub const FIRST: Self = Self(1 << 4);
    pub const LAST: Self = Self(1 << 5);
    pub const CORRECTION: Self = Self(1 << 6);
    pub const ALL: Self = Self(0x7f);

    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

/// A series' rollup buckets, time-ordered.
#[derive(Clone, Debug, PartialEq)]
pub struct RollupSeries {
    pub labels: Labels,
    pub buckets: Vec<RollupBucket>,
}
