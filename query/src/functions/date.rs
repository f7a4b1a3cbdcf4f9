//! Functions of time and date: `year`, `month`, `day_of_month`,
//! `day_of_week`, `day_of_year`, `days_in_month`, `hour` and `minute`, of
//! each sample's value read as Unix seconds (UTC), or of the evaluation
//! time when called without an argument. As in Prometheus 2.42 the value is
//! truncated to whole seconds the way Go's `int64(v)` does on amd64, so NaN,
//! ±Inf and values beyond ±2^63 all read as the same far-future instant,
//! and the calendar is Go's (proleptic Gregorian, wrapping as Go's does).

use pulsedb_model::Labels;

use super::{Function, Impl};
use crate::ast::Call;
use crate::error::Result;
use crate::eval::{EvalValue, Evaluator, StepSeries};
use crate::value::ValueType::Vector;

const fn date(name: &'static str) -> Function {
    Function::new(name, &[Vector], Vector, Impl::Call(date_call)).variadic(1)
}

pub(super) static FUNCTIONS: &[Function] = &[
    date("year"),
    date("month"),
    date("day_of_month"),
    date("day_of_week"),
    date("day_of_year"),
    date("days_in_month"),
    date("hour"),
    date("minute"),
];

const SECONDS_PER_DAY: u64 = 86_400;
const DAYS_PER_400_YEARS: u64 = 365 * 400 + 97;
const DAYS_PER_100_YEARS: u64 = 365 * 100 + 24;
const DAYS_PER_4_YEARS: u64 = 365 * 4 + 1;
/// Go's calendar counts from January 1 of this year (a Monday, as is
/// January 1 of 2001: both start a 400-year cycle).
const ABSOLUTE_ZERO_YEAR: i64 = -292_277_022_399;
/// Seconds from that day to the Unix epoch, as Go adds them (wrapping).
const UNIX_TO_ABSOLUTE: i64 = 9_223_372_028_715_321_600;
/// Days before each month in a common year, and the year's length.
const DAYS_BEFORE: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// Go's `int64(v)` on amd64 (CVTTSD2SQ): truncation toward zero, and the
/// "integer indefinite" `i64::MIN` for NaN and anything out of range.
fn go_int64(v: f64) -> i64 {
    // 2^63 is exact in f64; anything at or beyond it (or NaN) is out of range.
    if v.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// A UTC instant split as Go's `time` package splits it.
struct Civil {
    year: i64,
    /// 1–12.
    month: u32,
    /// 1–31.
    day: u32,
    /// 0-based day of the year.
    yday: u32,
    abs: u64,
}

impl Civil {
    fn of_unix(seconds: i64) -> Self {
        let abs = seconds.wrapping_add(UNIX_TO_ABSOLUTE) as u64;
        let mut d = abs / SECONDS_PER_DAY;
        let mut n = d / DAYS_PER_400_YEARS;
        let mut y = 400 * n;
        d -= DAYS_PER_400_YEARS * n;
        // The last 100-year cycle of 400 has a leap day more: its last day
        // would count as a fifth cycle; `n >> 2` takes it back.
        n = d / DAYS_PER_100_YEARS;
        n -= n >> 2;
        y += 100 * n;
        d -= DAYS_PER_100_YEARS * n;
        n = d / DAYS_PER_4_YEARS;
        y += 4 * n;
        d -= DAYS_PER_4_YEARS * n;
        n = d / 365;
        n -= n >> 2;
        y += n;
        d -= 365 * n;
        let year = (y as i64).wrapping_add(ABSOLUTE_ZERO_YEAR);
        let yday = d as u32;
        let (month, day) = month_and_day(year, yday);
        Self { year, month, day, yday, abs }
    }

    /// 0 is Sunday.
    fn weekday(&self) -> u32 {
        // Day 0 of the absolute calendar was a Monday.
        (((self.abs + SECONDS_PER_DAY) % (7 * SECONDS_PER_DAY)) / SECONDS_PER_DAY) as u32
    }

    fn days_in_month(&self) -> u32 {
        let m = self.month as usize;
        let days = DAYS_BEFORE[m] - DAYS_BEFORE[m - 1];
        if m == 2 && is_leap(self.year) {
            days + 1
        } else {
            days
        }
    }
}

fn month_and_day(year: i64, yday: u32) -> (u32, u32) {
    let mut day = yday;
    if is_leap(year) {
        match day.cmp(&(31 + 29 - 1)) {
            std::cmp::Ordering::Greater => day -= 1,
            std::cmp::Ordering::Equal => return (2, 29),
            std::cmp::Ordering::Less => {}
        }
    }
    // Every month has at most 31 days, so this guess is at most one short.
    let mut month = (day / 31) as usize;
    if day >= DAYS_BEFORE[month + 1] {
        month += 1;
    }
    (month as u32 + 1, day - DAYS_BEFORE[month] + 1)
}

fn part(name: &str, c: &Civil) -> f64 {
    f64::from(match name {
        "month" => c.month,
        "day_of_month" => c.day,
        "day_of_week" => c.weekday(),
        "day_of_year" => c.yday + 1,
        "days_in_month" => c.days_in_month(),
        "hour" => ((c.abs % SECONDS_PER_DAY) / 3600) as u32,
        "minute" => ((c.abs % 3600) / 60) as u32,
        _ => return c.year as f64,
    })
}

fn date_call(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let name = c.func.name;
    match c.args.first() {
        // The evaluation time, its milliseconds truncated toward zero.
        None => {
            let points = (0..ev.steps).map(|i| (i, part(name, &Civil::of_unix(ev.ts(i) / 1000)))).collect();
            Ok(EvalValue::Vector(vec![StepSeries { labels: Labels::default(), points }]))
        }
        Some(arg) => {
            let series = ev.eval_vector(arg)?;
            ev.map_values(series, |_, v| Some(part(name, &Civil::of_unix(go_int64(v)))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_the_calendar() {
        let c = Civil::of_unix(1_700_000_000); // 2023-11-14T22:13:20Z, a Tuesday
        assert_eq!((c.year, c.month, c.day, c.yday + 1, c.weekday()), (2023, 11, 14, 318, 2));
        let leap = Civil::of_unix(951_782_400); // 2000-02-29
        assert_eq!((leap.month, leap.day, leap.days_in_month()), (2, 29, 29));
        let before = Civil::of_unix(-1); // 1969-12-31T23:59:59Z
        assert_eq!((before.year, before.month, before.day), (1969, 12, 31));
    }

    #[test]
    fn nan_reads_as_go_reads_it() {
        // Prometheus 2.42: year(vector(NaN)) = 292277026596, month 12, day 4.
        let c = Civil::of_unix(go_int64(f64::NAN));
        assert_eq!((c.year, c.month, c.day), (292_277_026_596, 12, 4));
    }
}
