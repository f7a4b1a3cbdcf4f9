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
    /// For each row by handle, how many rows by labels came before it: the
    /// order rows were added in, for a repeated timestamp of one series
    /// named both ways (the last value added wins).
    handle_after: Vec<usize>,
    samples: usize,
}

/// A row of a [`Batch`], as [`Batch::rows_in_order`] gives it.
#[derive(Clone, Copy, Debug)]
pub enum Row<'a> {
    Labels(&'a Labels, &'a [Sample]),
    Handle(SeriesHandle, &'a [Sample]),
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(series: usize) -> Self {
        Self { rows: Vec::with_capacity(series), by_handle: Vec::new(), handle_after: Vec::new(), samples: 0 }
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
        self.handle_after.push(self.rows.len());
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

    /// Every row, by labels or by handle, in the order they were added.
    pub fn rows_in_order(&self) -> impl Iterator<Item = Row<'_>> {
        let mut labels = self.rows.iter().enumerate().peekable();
        let mut handles = self.by_handle.iter().zip(&self.handle_after).peekable();
        std::iter::from_fn(move || match (labels.peek(), handles.peek()) {
            (Some(&(i, _)), Some(&(_, &after))) if after <= i => handles.next().map(|((h, s), _)| Row::Handle(*h, s)),
            (Some(_), _) => labels.next().map(|(_, (l, s))| Row::Labels(l, s)),
            (None, _) => handles.next().map(|((h, s), _)| Row::Handle(*h, s)),
        })
    }

    pub fn clear(&mut self) {
        self.rows.clear();
        self.by_handle.clear();
        self.handle_after.clear();
        self.samples = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_in_the_order_they_were_added() {
        let h = |n| SeriesHandle::new(1, SeriesRef(n));
        let mut batch = Batch::new();
        batch.push_by_handle(h(1), 1, 1.0);
        batch.push(Labels::metric("a", [("k", "v")]), 2, 2.0);
        batch.push_by_handle(h(2), 3, 3.0);
        batch.push_by_handle(h(3), 4, 4.0);
        batch.push(Labels::metric("b", [("k", "v")]), 5, 5.0);
        let order: Vec<i64> = batch
            .rows_in_order()
            .map(|row| match row {
                Row::Labels(_, s) | Row::Handle(_, s) => s[0].t,
            })
            .collect();
        assert_eq!(order, vec![1, 2, 3, 4, 5]);
    }
}
