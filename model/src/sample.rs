//! Samples, series and their identity: [`Sample`], [`Series`], [`SeriesRef`],
//! and Prometheus' staleness marker.

use crate::Labels;

/// Prometheus marks a series stale with this NaN (its bit pattern; every
/// other NaN is an ordinary value).
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is the staleness marker, [`STALE_NAN`], bit for bit.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN
}

/// One sample: a timestamp in milliseconds since the Unix epoch and a value.
/// Any f64 is legal, NaN included (Prometheus marks staleness with a NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

impl Sample {
    pub fn new(t: i64, v: f64) -> Self {
        Self { t, v }
    }
}

/// Identifies a series for its whole life in one data directory; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesRef(pub u64);

/// One series' labels and its samples in a selected time range, time-ordered.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// One series' newest sample ([`crate::Querier::select_newest`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSample {
    pub labels: Labels,
    pub sample: Sample,
}

impl SeriesSample {
    /// The newest of `series`' samples (time-ordered) that `which` accepts,
    /// if any, with its labels.
    pub fn newest_of(series: Series, which: crate::Newest) -> Option<Self> {
        let sample = series.samples.iter().rev().find(|s| which.accepts(s.v)).copied()?;
        Some(Self { labels: series.labels, sample })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marker_bit_pattern_is_stale() {
        assert!(is_stale_nan(f64::from_bits(STALE_NAN)));
        assert!(!is_stale_nan(f64::NAN));
        assert!(!is_stale_nan(0.0));
    }
}
