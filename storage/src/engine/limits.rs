//! Cardinality limits checked at append: the number of series in the head
//! (`max_active_series`) and the rate at which series enter it
//! (`max_new_series_per_minute`). Only batches bringing series into the head
//! are refused; series already there keep ingesting.

use std::collections::VecDeque;

/// Length of the rate window, in seconds.
const WINDOW_SECS: u64 = 60;

/// Series that entered the head during the last [`WINDOW_SECS`] seconds,
/// counted per second of a monotonic clock, so the limit holds over every
/// 60 s window (to one second's granularity) rather than per calendar minute,
/// which would let twice the limit through across a minute boundary.
#[derive(Debug)]
pub(crate) struct CreationRate {
    limit: usize,
    /// (second, series entered in it), oldest first, seconds strictly increasing.
    seconds: VecDeque<(u64, usize)>,
    /// Sum of the counts in `seconds`.
    total: usize,
}

impl CreationRate {
    pub(crate) fn new(limit: usize) -> Self {
        Self { limit, seconds: VecDeque::new(), total: 0 }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Forgets seconds that fell out of the window ending at `now`.
    fn expire(&mut self, now: u64) {
        while let Some(&(second, count)) = self.seconds.front() {
            if second + WINDOW_SECS > now {
                break;
            }
            self.total -= count;
            self.seconds.pop_front();
        }
    }

    /// `Err(created)`, the series that entered in the last minute, when `n`
    /// more would exceed the limit.
    pub(crate) fn check(&mut self, now: u64, n: usize) -> Result<(), usize> {
        self.expire(now);
        if n > 0 && self.total.saturating_add(n) > self.limit {
            return Err(self.total);
        }
        Ok(())
    }

    /// Counts `n` series as entered at `now` (after their WAL write succeeded).
    pub(crate) fn record(&mut self, now: u64, n: usize) {
        if n == 0 {
            return;
        }
        self.expire(now);
        match self.seconds.back_mut() {
            Some((second, count)) if *second >= now => *count += n,
            _ => self.seconds.push_back((now, n)),
        }
        self.total += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_holds_over_every_sliding_minute() {
        let mut rate = CreationRate::new(100);
        assert_eq!(rate.check(0, 60), Ok(()));
        rate.record(0, 60);
        assert_eq!(rate.check(30, 40), Ok(()));
        rate.record(30, 40);
        // At 59 s both are still in the window; at 60 s the first leaves it.
        assert_eq!(rate.check(59, 1), Err(100));
        assert_eq!(rate.check(60, 61), Err(40));
        assert_eq!(rate.check(60, 60), Ok(()));
        rate.record(60, 60);
        assert_eq!(rate.check(89, 1), Err(100));
        assert_eq!(rate.check(90, 40), Ok(()));
        // Checking nothing new never fails, even at the limit.
        assert_eq!(rate.check(90, 0), Ok(()));
        // A batch larger than the limit is refused even when the window is empty.
        assert_eq!(rate.check(10_000, 101), Err(0));
        assert_eq!(rate.check(10_000, 100), Ok(()));
    }

    #[test]
    fn same_second_records_merge() {
        let mut rate = CreationRate::new(10);
        rate.record(5, 3);
        rate.record(5, 4);
        assert_eq!(rate.seconds.len(), 1);
        assert_eq!(rate.check(5, 4), Err(7));
        assert_eq!(rate.check(64, 4), Err(7));
        assert_eq!(rate.check(65, 10), Ok(()));
    }
}
