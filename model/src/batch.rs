//! [`Batch`]: the unit of an append. A batch is atomic: every sample in it
//! is accepted and made durable together, or none is. A row names its
//! series by label set, or by a [`SeriesHandle`] a store issued for it
//! (no labels to hash and compare: the fast path for known series).

use crate::{Labels, Sample, SeriesRef};

/// A series as the store that issued it knows it: append to it without
/// its labels. Only that store (the same open `Db`) accepts it; another
/// store, or the same one after the series left its head, answers with a
/// typed error, never another series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeriesHandle {
    store: u64,
    series: SeriesRef,
}

impl SeriesHandle {
    /// For stores: `store` identifies the issuing store instance.
    pub fn new(store: u64, series: SeriesRef) -> Self {
        Self { store, series }
    }

    pub fn store(&self) -> u64 {
        self.store
    }

    pub fn series(&self) -> SeriesRef {
        self.series
    }
}

/// Rows of `labels + samples` and `handle + samples` to append together.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    rows: Vec<(Labels, Vec<Sample>)>,
    by_handle: Vec<(SeriesHandle, Vec<Sample>)>,
    samples: usize,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(series: usize) -> Self {
        Self { rows: Vec::with_capacity(series), by_handle: Vec::new(), samples: 0 }
    }

    /// Adds samples of one series (any order; a repeated timestamp keeps the last value).
    pub fn add(&mut self, labels: Labels, samples: impl IntoIterator<Item = Sample>) -> &mut Self {
        let samples: Vec<Sample> = samples.into_iter().collect();
        self.samples += samples.len();
        self.rows.push((labels, samples));
        self
    }

    /// Adds a single sample.
    pub fn push(&mut self, labels: Labels, t: i64, v: f64) -> &mut Self {
        self.add(labels, [Sample { t, v }])
    }

    /// Adds samples of the series `handle` names (any order; a repeated
    /// timestamp keeps the last value, also across rows for one series).
    pub fn add_by_handle(&mut self, handle: SeriesHandle, samples: impl IntoIterator<Item = Sample>) -> &mut Self {
        let samples: Vec<Sample> = samples.into_iter().collect();
        self.samples += samples.len();
        self.by_handle.push((handle, samples));
        self
    }

    /// Adds a single sample by handle.
    pub fn push_by_handle(&mut self, handle: SeriesHandle, t: i64, v: f64) -> &mut Self {
        self.add_by_handle(handle, [Sample { t, v }])
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples
    }

    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// The rows that name their series by labels.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = (&Labels, &[Sample])> {
        self.rows.iter().map(|(l, s)| (l, s.as_slice()))
    }

    /// The rows that name their series by handle.
    pub fn rows_by_handle(&self) -> impl ExactSizeIterator<Item = (SeriesHandle, &[Sample])> {
        self.by_handle.iter().map(|(h, s)| (*h, s.as_slice()))
    }

    pub fn clear(&mut self) {
        self.rows.clear();
        self.by_handle.clear();
        self.samples = 0;
    }
}
