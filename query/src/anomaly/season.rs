//! Seasonal norms: what a series usually does at this time of day, or of
//! the week — the median of its values at the same time on earlier days
//! (or weeks) of its window. A median, so one bad day does not move it
//! once there are three or more.
//! The detector keeps one running error per season and goes by the season
//! that has erred less lately, so a series with a weekend (orders, office
//! traffic) is predicted from last week once its window holds one, and a
//! purely daily one keeps its daily norm.

use pulsedb_model::Sample;

/// A day, in ms.
pub(super) const DAY_MS: i64 = 86_400_000;

/// How many seasons there are.
pub(super) const SEASONS: usize = Season::ALL.len();

/// A seasonal period the detector learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Season {
    Daily,
    Weekly,
}

impl Season {
    /// Every season, in the order their errors are kept.
    pub(super) const ALL: [Season; 2] = [Season::Daily, Season::Weekly];

    /// Where this season's running error is kept.
    pub(super) fn index(self) -> usize {
        self as usize
    }

    fn period(self) -> i64 {
        match self {
            Season::Daily => DAY_MS,
            Season::Weekly => 7 * DAY_MS,
        }
    }

    /// How many earlier cycles the norm looks at, and how many it needs.
    /// A week's norm makes do with last week alone: needing two would keep
    /// it out of every window shorter than four weeks (a stream holds half
    /// its range to all of it).
    fn cycles(self) -> (usize, usize) {
        match self {
            Season::Daily => (7, 2),
            Season::Weekly => (4, 1),
        }
    }

    /// Every season's norm for `samples[i]` (at `t`), in [`Season::ALL`]'s
    /// order. A stream's first day has none, said once for all seasons:
    /// asked at every sample, it was a twentieth of `/api/v1/anomalies`.
    pub(super) fn predictions(samples: &[Sample], i: usize, t: i64) -> [Option<f64>; SEASONS] {
        let shortest = Season::ALL.map(Season::period).into_iter().min().unwrap_or(DAY_MS);
        if samples.first().is_none_or(|first| first.t > t.saturating_sub(shortest)) {
            return [None; SEASONS];
        }
        Season::ALL.map(|season| season.prediction(samples, i, t))
    }

    /// The norm for `samples[i]` (at `t`), from the samples before it.
    pub(super) fn prediction(self, samples: &[Sample], i: usize, t: i64) -> Option<f64> {
        let spacing = if i > 0 { (t - samples[i - 1].t).max(1) } else { return None };
        // No cycle back yet (a stream's first day or week): said before
        // the norm's search starts, as it is asked at every sample.
        if samples[0].t > t.saturating_sub(self.period()) {
            return None;
        }
        self.norm_at(samples, i, t, t, spacing)
    }

    /// The median of the values of `samples[..i]` within `spacing` of `t`
    /// minus whole periods (the nearest cycles that are not after `now`),
    /// if enough exist.
    pub(super) fn norm_at(self, samples: &[Sample], i: usize, t: i64, now: i64, spacing: i64) -> Option<f64> {
        const MOST: usize = 7;
        let (most, least) = self.cycles();
        let most = most.min(MOST);
        let period = self.period();
        let mut values = [0.0; MOST];
        let mut n = 0;
        // The first cycle back from `t` that is not after `now`: a far
        // horizon starts there instead of stepping over every cycle between.
        let (first, last) = if t > now {
            let first = (t - now + period - 1) / period;
            (first, first + most as i64)
        } else {
            (1, most as i64)
        };
        for cycle in first..=last {
            let target = t - cycle * period;
            if samples.first().is_none_or(|s| s.t > target) || n == most {
                break;
            }
            let j = samples[..i].partition_point(|s| s.t < target);
            let nearest = [j.checked_sub(1), Some(j)]
                .into_iter()
                .flatten()
                .filter(|&k| k < i)
                .min_by_key(|&k| (samples[k].t - target).abs());
            if let Some(k) = nearest.filter(|&k| (samples[k].t - target).abs() <= spacing) {
                if samples[k].v.is_finite() {
                    values[n] = samples[k].v;
                    n += 1;
                }
            }
        }
        if n < least {
            return None;
        }
        let values = &mut values[..n];
        values.sort_by(f64::total_cmp);
        // Halves first: the sum of two huge values would overflow.
        Some(if n % 2 == 1 { values[n / 2] } else { values[n / 2 - 1] / 2.0 + values[n / 2] / 2.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly(days: i64, value: impl Fn(i64) -> f64) -> Vec<Sample> {
        (0..days * 24).map(|h| Sample::new(h * 3_600_000, value(h))).collect()
    }

    #[test]
    fn a_daily_norm_needs_two_days_and_a_weekly_one_last_week() {
        let s = hourly(10, |h| (h % 24) as f64);
        // Hour 24 has one earlier day: no daily norm yet; hour 48 has two.
        assert_eq!(Season::Daily.prediction(&s, 24, s[24].t), None);
        assert_eq!(Season::Daily.prediction(&s, 48, s[48].t), Some(0.0));
        assert_eq!(Season::Weekly.prediction(&s, 167, s[167].t), None);
        assert_eq!(Season::Weekly.prediction(&s, 168 + 5, s[168 + 5].t), Some(5.0));
    }

    #[test]
    fn the_median_ignores_one_odd_cycle() {
        let s = hourly(8, |h| if h / 24 == 3 { 1000.0 } else { 7.0 });
        assert_eq!(Season::Daily.prediction(&s, 7 * 24, s[7 * 24].t), Some(7.0));
    }

    #[test]
    fn a_norm_ahead_of_now_uses_only_cycles_up_to_now() {
        let s = hourly(15, |h| h as f64);
        let last = (s.len() - 1) as f64;
        let now = s[s.len() - 1].t;
        // Two days ahead: 5 and 12 days before now (the hours 120 and 288
        // before the last), not 2 days after it; the median of the two.
        let then = now + 2 * DAY_MS;
        assert_eq!(Season::Weekly.norm_at(&s, s.len(), then, now, 3_600_000), Some(last - 204.0));
        // Far ahead, the same rule: the nearest cycles not after now.
        let far = now + 7 * DAY_MS * 1_000_000 + 2 * DAY_MS;
        assert_eq!(Season::Weekly.norm_at(&s, s.len(), far, now, 3_600_000), Some(last - 204.0));
    }
}
