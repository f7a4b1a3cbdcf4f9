//! Records against the recent past: a moving mean that leaves the range
//! the series has held over the last [`RECENT_SPAN_MS`], though not the
//! range it has held since its stream began. A series that burst once
//! early on and then stayed quiet for days sets no record on the record
//! score's other tracks when it bursts again smaller; against the last
//! few days it does. Scored as those tracks are: among `n` exchangeable
//! moving means a record has probability about `1/n`, rarer by
//! `e^(−GAIN·x)` for a margin of `x` times the recent range.
//!
//! Three days, so that a daily rhythm's peak, seen on each of them, is no
//! record, and a series' weekend is measured against the week's end
//! before it. On NAB's files (BENCHMARKS.md) every span from 2.5 to 5
//! days, and each of the value tracks' widths, scored 60.4 to 62.3: a
//! plateau, not a peak.
//!
//! A span is scored against only once its inputs reach back over two of
//! its three days: after a gap, the few samples since make records as
//! certain as a stream's first ones (noise after a four-day gap raised
//! alarms on 46 seeds of 100 when the span was scored from its ninth
//! sample, against 8 with no gap).

use std::collections::VecDeque;

use super::season::DAY_MS;

/// How far back "recent" reaches (ms).
pub(super) const RECENT_SPAN_MS: i64 = 3 * DAY_MS;

/// How far back (ms) the span's inputs must reach for their range to be
/// scored against: two of its three days.
const RECENT_COVERED_MS: i64 = 2 * DAY_MS;

/// The extremes of one input over the last [`RECENT_SPAN_MS`]: monotone
/// queues of `(time, value)` (O(1) a step, amortized), and the times of
/// every input the span holds (for `n`). Memory: one entry a sample of the
/// span at most (a stream of minute means, 4,320).
#[derive(Debug, Default)]
pub(super) struct RecentRange {
    /// The time of the first input: before a whole span has gone by, the
    /// range is not yet the recent past's.
    first: Option<i64>,
    times: VecDeque<i64>,
    /// Decreasing values: the front is the highest in the span.
    highest: VecDeque<(i64, f64)>,
    /// Increasing values: the front is the lowest in the span.
    lowest: VecDeque<(i64, f64)>,
}

impl RecentRange {
    /// Takes the input `x` at `t` (finite; times not decreasing) and answers
    /// the highest and lowest of the `n` inputs of the span before it, as
    /// `(highest, lowest, n)`, once a whole span has gone by. Unless
    /// `SCORED` it only keeps the queues.
    #[inline]
    pub(super) fn step<const SCORED: bool>(&mut self, t: i64, x: f64) -> Option<(f64, f64, usize)> {
        let first = *self.first.get_or_insert(t);
        let cut = t.saturating_sub(RECENT_SPAN_MS);
        while self.times.front().is_some_and(|&at| at <= cut) {
            self.times.pop_front();
        }
        while self.highest.front().is_some_and(|&(at, _)| at <= cut) {
            self.highest.pop_front();
        }
        while self.lowest.front().is_some_and(|&(at, _)| at <= cut) {
            self.lowest.pop_front();
        }
        let before = match (self.highest.front(), self.lowest.front()) {
            (Some(&(_, hi)), Some(&(_, lo))) if SCORED && first <= cut && self.covers(t) => {
                Some((hi, lo, self.times.len()))
            }
            _ => None,
        };
        while self.highest.back().is_some_and(|&(_, v)| v <= x) {
            self.highest.pop_back();
        }
        self.highest.push_back((t, x));
        while self.lowest.back().is_some_and(|&(_, v)| v >= x) {
            self.lowest.pop_back();
        }
        self.lowest.push_back((t, x));
        self.times.push_back(t);
        before
    }

    /// Whether the span's inputs reach back over most of it at `t`: after a
    /// gap, the few inputs since are not yet the recent past's range.
    fn covers(&self, t: i64) -> bool {
        self.times.front().is_some_and(|&at| at <= t.saturating_sub(RECENT_COVERED_MS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    proptest::proptest! {
        /// The extremes and count answered are those of the inputs of the
        /// span before, found by looking at every one of them, once they
        /// reach back two days.
        #[test]
        fn the_range_is_that_of_the_span_before(
            values in proptest::collection::vec(-1e6..1e6f64, 1..300),
            // Mostly short gaps, some longer than the span.
            gaps in proptest::collection::vec(proptest::prop_oneof![9 => 0i64..12 * HOUR, 1 => 0i64..96 * HOUR], 1..50),
        ) {
            let mut recent = RecentRange::default();
            let mut seen: Vec<(i64, f64)> = Vec::new();
            let mut t = 0;
            for (i, &x) in values.iter().enumerate() {
                t += gaps[i % gaps.len()];
                let got = recent.step::<true>(t, x);
                let cut = t - RECENT_SPAN_MS;
                let in_span: Vec<(i64, f64)> = seen.iter().copied().filter(|&(at, _)| at > cut).collect();
                let span: Vec<f64> = in_span.iter().map(|&(_, v)| v).collect();
                let reaches_back = in_span.first().is_some_and(|&(at, _)| at <= t - 2 * 24 * HOUR);
                let want = if seen[..].first().is_some_and(|&(at, _)| at <= cut) && reaches_back {
                    let hi = span.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let lo = span.iter().copied().fold(f64::INFINITY, f64::min);
                    Some((hi, lo, span.len()))
                } else {
                    None
                };
                proptest::prop_assert_eq!(got, want, "input {} at {}", i, t);
                seen.push((t, x));
            }
        }
    }

    #[test]
    fn nothing_is_a_record_before_a_whole_span_has_gone_by() {
        let mut recent = RecentRange::default();
        for h in 0..72 {
            assert_eq!(recent.step::<true>(h * HOUR, 1.0), None);
        }
        assert_eq!(recent.step::<true>(71 * HOUR + 1, 100.0), None, "not yet three days");
        assert_eq!(recent.step::<true>(72 * HOUR, 200.0), Some((100.0, 1.0, 72)));
        // Learning alone keeps the queues but answers nothing.
        assert_eq!(recent.step::<false>(73 * HOUR, 1_000.0), None);
        assert_eq!(recent.step::<true>(74 * HOUR, 2_000.0).map(|r| r.0), Some(1_000.0));
        // After a four-day gap, nothing until the inputs since reach back two days.
        let resume = 74 * HOUR + 96 * HOUR;
        for h in 0..48 {
            assert_eq!(recent.step::<true>(resume + h * HOUR, 1.0), None, "{h} hours after the gap");
        }
        assert_eq!(recent.step::<true>(resume + 48 * HOUR, 5.0), Some((1.0, 1.0, 48)));
    }
}
