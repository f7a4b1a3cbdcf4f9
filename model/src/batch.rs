//! [`Batch`]: the unit of an append. A batch is atomic: every sample in it
//! is accepted and made durable together, or none is.

use crate::{Labels, Sample};

/// Rows of `labels + samples` to append together.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    rows: Vec<(Labels, Vec<Sample>)>,
    samples: usize,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(series: usize) -> Self {
        Self { rows: Vec::with_capacity(series), samples: 0 }
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

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples
    }

    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = (&Labels, &[Sample])> {
        self.rows.iter().map(|(l, s)| (l, s.as_slice()))
    }

    pub fn clear(&mut self) {
        self.rows.clear();
        self.samples = 0;
    }
}
