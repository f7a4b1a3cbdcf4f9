//! A series' out-of-order samples waiting to be merged into its chunks:
//! sorted by time, one value per timestamp (the newest write wins). Nearly
//! every series has none, so an empty buffer is one null pointer, not an
//! empty vector's 24 bytes.

use std::ops::Deref;

use crate::Sample;

#[derive(Debug, Default)]
#[expect(clippy::box_collection, reason = "a thin pointer in every series; the box exists only while samples wait")]
pub(crate) struct OutOfOrder(Option<Box<Vec<Sample>>>);

impl From<Vec<Sample>> for OutOfOrder {
    /// `samples` must be sorted by time with unique timestamps.
    fn from(samples: Vec<Sample>) -> Self {
        Self((!samples.is_empty()).then(|| Box::new(samples)))
    }
}

impl Deref for OutOfOrder {
    type Target = [Sample];

    fn deref(&self) -> &[Sample] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl OutOfOrder {
    /// Adds `sample`, replacing one at the same timestamp.
    pub(crate) fn put(&mut self, sample: Sample) {
        let samples = self.0.get_or_insert_with(Box::default);
        match samples.binary_search_by_key(&sample.t, |s| s.t) {
            Ok(i) => samples[i] = sample,
            Err(i) => samples.insert(i, sample),
        }
    }

    /// Every sample, leaving the buffer empty.
    pub(crate) fn take(&mut self) -> Vec<Sample> {
        self.0.take().map(|samples| *samples).unwrap_or_default()
    }

    /// Drops the samples before `t`.
    pub(crate) fn keep_from(&mut self, t: i64) {
        if let Some(samples) = &mut self.0 {
            samples.retain(|s| s.t >= t);
            if samples.is_empty() {
                self.0 = None;
            }
        }
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |s| std::mem::size_of::<Vec<Sample>>() + s.capacity() * std::mem::size_of::<Sample>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_newest_wins_and_empty_again_when_dropped() {
        let mut ooo = OutOfOrder::default();
        assert!(ooo.is_empty());
        assert_eq!(ooo.heap_bytes(), 0);
        for (t, v) in [(5, 1.0), (2, 2.0), (9, 3.0), (5, 4.0)] {
            ooo.put(Sample::new(t, v));
        }
        let got: Vec<(i64, f64)> = ooo.iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(got, [(2, 2.0), (5, 4.0), (9, 3.0)]);
        ooo.keep_from(5);
        assert_eq!(ooo.len(), 2);
        ooo.keep_from(10);
        assert!(ooo.0.is_none(), "an emptied buffer frees its vector");
        ooo.put(Sample::new(1, 1.0));
        assert_eq!(ooo.take().len(), 1);
        assert!(ooo.0.is_none());
        assert!(OutOfOrder::from(Vec::new()).0.is_none());
    }
}
