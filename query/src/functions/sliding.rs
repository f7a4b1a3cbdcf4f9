//! `max_over_time` and `min_over_time` over windows that move forward step
//! by step: a queue of the samples that may still be a window's extreme,
//! so a range query reads each sample once however much its windows
//! overlap (`x[5m]` at a 15 s step looks at every 1 s sample 20 times by
//! rescanning). The answers are those of Prometheus' fold to the bit:
//! the extreme of the non-NaN values, the earliest of equal ones (so
//! `-0.0` before `0.0` stays `-0.0`), and the window's last value when all
//! are NaN.

use std::collections::VecDeque;

use pulsedb_model::Sample;

/// Which extreme a window keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extreme {
    Min,
    Max,
}

impl Extreme {
    /// Whether `new` displaces `old` (strictly better: equal values keep
    /// the earlier one).
    fn beats(self, new: f64, old: f64) -> bool {
        match self {
            Extreme::Max => new > old,
            Extreme::Min => new < old,
        }
    }
}

/// The extreme of windows `[a, b)` of one series' samples, asked with `a`
/// and `b` that never decrease.
pub(crate) struct SlidingExtreme<'a> {
    extreme: Extreme,
    samples: &'a [Sample],
    /// Indexes of non-NaN samples in the current window that no later
    /// sample beats, oldest (the extreme) first.
    queue: VecDeque<usize>,
    /// Samples before this one were offered to the queue.
    next: usize,
    /// The previous window's start.
    start: usize,
}

impl<'a> SlidingExtreme<'a> {
    pub(crate) fn new(extreme: Extreme, samples: &'a [Sample]) -> Self {
        Self { extreme, samples, queue: VecDeque::new(), next: 0, start: 0 }
    }

    /// The extreme of `samples[a..b]` (non-empty). A window that starts
    /// before the previous one's start (never in a range query) is
    /// computed afresh.
    pub(crate) fn window(&mut self, a: usize, b: usize) -> Option<f64> {
        let last = self.samples.get(a..b)?.last()?.v;
        if a < self.start || b < self.next {
            self.queue.clear();
            self.next = a;
        }
        self.start = a;
        for i in self.next.max(a)..b {
            let v = self.samples[i].v;
            if v.is_nan() {
                continue;
            }
            while self.queue.back().is_some_and(|&j| self.extreme.beats(v, self.samples[j].v)) {
                self.queue.pop_back();
            }
            self.queue.push_back(i);
        }
        self.next = self.next.max(b);
        while self.queue.front().is_some_and(|&j| j < a) {
            self.queue.pop_front();
        }
        // All NaN: the fold's answer is its last value.
        Some(self.queue.front().map_or(last, |&j| self.samples[j].v))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// Prometheus' fold, as `over_time.rs` computes one window.
    fn fold(extreme: Extreme, samples: &[Sample]) -> f64 {
        samples.iter().fold(f64::NAN, |m, s| if extreme.beats(s.v, m) || m.is_nan() { s.v } else { m })
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-5i32..5).prop_map(f64::from),
            Just(0.0),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::from_bits(0x7ff8_0000_0000_0abc)),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ]
    }

    proptest! {
        /// Every window of a forward-moving sequence, bit for bit the fold's.
        #[test]
        fn sliding_windows_answer_as_the_fold(
            values in proptest::collection::vec(value(), 1..200),
            moves in proptest::collection::vec((0usize..6, 0usize..8), 1..80),
            max in any::<bool>(),
        ) {
            let samples: Vec<Sample> = values.iter().enumerate().map(|(i, &v)| Sample { t: i as i64, v }).collect();
            let extreme = if max { Extreme::Max } else { Extreme::Min };
            let mut sliding = SlidingExtreme::new(extreme, &samples);
            let (mut a, mut b) = (0usize, 0usize);
            for (da, db) in moves {
                b = (b + db).min(samples.len());
                a = (a + da).min(b);
                if a == b {
                    continue;
                }
                let got = sliding.window(a, b).unwrap();
                prop_assert_eq!(got.to_bits(), fold(extreme, &samples[a..b]).to_bits(), "window {}..{}", a, b);
            }
        }

        /// Windows that jump back are computed afresh, still the fold's.
        #[test]
        fn windows_out_of_order_are_still_right(
            values in proptest::collection::vec(value(), 1..60),
            windows in proptest::collection::vec((0usize..60, 1usize..60), 1..30),
        ) {
            let samples: Vec<Sample> = values.iter().enumerate().map(|(i, &v)| Sample { t: i as i64, v }).collect();
            let mut sliding = SlidingExtreme::new(Extreme::Max, &samples);
            for (a, len) in windows {
                let a = a % samples.len();
                let b = (a + len).min(samples.len());
                let got = sliding.window(a, b).unwrap();
                prop_assert_eq!(got.to_bits(), fold(Extreme::Max, &samples[a..b]).to_bits());
            }
        }
    }

    #[test]
    fn earliest_of_equal_extremes_and_all_nan_windows() {
        let samples: Vec<Sample> =
            [-0.0, 0.0, f64::NAN, 1.0].iter().enumerate().map(|(i, &v)| Sample { t: i as i64, v }).collect();
        let mut max = SlidingExtreme::new(Extreme::Max, &samples);
        assert_eq!(max.window(0, 2).map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(max.window(1, 3).map(f64::to_bits), Some(0.0f64.to_bits()));
        assert!(max.window(2, 3).is_some_and(f64::is_nan));
        assert_eq!(max.window(2, 4), Some(1.0));
        assert_eq!(max.window(4, 4), None);
    }
}
