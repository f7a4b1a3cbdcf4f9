//! Millisecond timestamps to and from RFC 3339 text and Unix seconds, and
//! durations in PromQL or float-seconds form, without a date library. The
//! CLI and the HTTP API parse their `time`, `start`, `end` and `step` here.

/// Text that is not a time or a duration; the message says which text and what is accepted.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(String);

/// The earliest and latest times accepted, as Prometheus' API does: the
/// range of milliseconds a float of seconds can hold without surprises.
const MIN_TIME_MS: i64 = -9_223_372_036_854_775 + 1;
const MAX_TIME_MS: i64 = 9_223_372_036_854_775 - 1;

/// `1970-01-01T00:00:00.000Z` style.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2h`, `12h`, `3d`, `90s` for a span in milliseconds.
pub fn span(ms: i64) -> String {
    let s = ms / 1000;
    if s % 86_400 == 0 && s > 0 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Unix seconds (`1700000000.5`) or RFC 3339 (`2023-11-14T22:13:20Z`,
/// `2023-11-14T22:13:20.123+01:00`), to milliseconds.
pub fn parse_time_ms(s: &str) -> Result<i64, TimeError> {
    if let Ok(secs) = s.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        if ms.is_finite() && (MIN_TIME_MS as f64..=MAX_TIME_MS as f64).contains(&ms) {
            return Ok(ms as i64);
        }
        return Err(TimeError(format!("time {s:?} is out of range")));
    }
    let bad = || TimeError(format!("cannot parse {s:?} as a time: use RFC 3339 or Unix seconds"));
    let (date, rest) = s.split_once(['T', 't', ' ']).ok_or_else(bad)?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?,
        d.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?,
        d.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?,
    );
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let i = rest.rfind(['+', '-']).ok_or_else(bad)?;
        let (c, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off.get(1..).and_then(|o| o.split_once(':')).ok_or_else(bad)?;
        let (oh, om): (i64, i64) = (oh.parse().map_err(|_| bad())?, om.parse().map_err(|_| bad())?);
        (c, sign * (oh * 60 + om))
    };
    let mut parts = clock.split(':');
    let h: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let min: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let sec: f64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let fields_ok = (1..=12).contains(&m)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&min)
        && (0.0..61.0).contains(&sec)
        && (0..=9999).contains(&y);
    if !fields_ok {
        return Err(TimeError(format!("{s:?} is not a valid date and time")));
    }
    let days = days_from_civil(y, m, day);
    let ms = ((days * 86_400 + h * 3600 + min * 60 - offset_min * 60) as f64 + sec) * 1000.0;
    Ok(ms.round() as i64)
}

/// `15s`, `1m30s`, `1h`, or seconds (`30`, `0.5`), to milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, TimeError> {
    if let Ok(secs) = s.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        if ms >= 1.0 && ms < MAX_TIME_MS as f64 {
            return Ok(ms as i64);
        }
        if ms >= MAX_TIME_MS as f64 {
            return Err(TimeError(format!("duration {s:?} is too long")));
        }
        return Err(TimeError(format!("duration {s:?} must be positive and at least 1ms")));
    }
    // The PromQL lexer owns duration syntax; borrow it through a range selector.
    match pulsedb_query::parse(&format!("x[{s}]")) {
        Ok(pulsedb_query::Expr::Matrix(m)) if m.range > 0 => Ok(m.range),
        // Said as for seconds: `0s` is a duration, just not a positive one
        // (the lexer refuses a zero range).
        _ if is_zero_duration(s) => Err(TimeError(format!("duration {s:?} must be positive"))),
        _ => Err(TimeError(format!("cannot parse {s:?} as a duration (e.g. 15s, 1m, 1h30m, or seconds)"))),
    }
}

/// `0s`, `0m0s` and the like: zeros with duration units only (a loose
/// test, for the error message of a duration that is not positive).
pub fn is_zero_duration(s: &str) -> bool {
    s.starts_with('0') && s.chars().all(|c| c == '0' || "ywdhms".contains(c))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(span(7_200_000), "2h");
        assert_eq!(span(259_200_000), "3d");
    }

    #[test]
    fn parses_times_and_durations() {
        assert_eq!(parse_time_ms("1700000000.123").unwrap(), 1_700_000_000_123);
        assert_eq!(parse_time_ms("2023-11-14T22:13:20.123Z").unwrap(), 1_700_000_000_123);
        assert_eq!(parse_time_ms("2023-11-14T23:13:20+01:00").unwrap(), 1_700_000_000_000);
        assert!(parse_time_ms("yesterday").is_err());
        assert_eq!(parse_duration_ms("1m30s").unwrap(), 90_000);
        assert_eq!(parse_duration_ms("15").unwrap(), 15_000);
        assert!(parse_duration_ms("-1").is_err());
    }

    #[test]
    fn a_bad_duration_is_named_for_what_is_wrong() {
        let err = |s: &str| parse_duration_ms(s).unwrap_err().to_string();
        assert!(err("0s").contains("must be positive"), "{}", err("0s"));
        assert!(err("0").contains("must be positive"), "{}", err("0"));
        assert!(err("1e30").contains("too long"), "{}", err("1e30"));
        assert!(err("-1h").contains("cannot parse"), "{}", err("-1h"));
        assert!(err("soon").contains("cannot parse"), "{}", err("soon"));
    }
}
