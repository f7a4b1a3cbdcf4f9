//! Millisecond timestamps as RFC 3339 UTC text, without a date library.

/// `1970-01-01T00:00:00.000Z` style.
pub(crate) fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
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
pub(crate) fn span(ms: i64) -> String {
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
pub(crate) fn parse_time_ms(s: &str) -> anyhow::Result<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() {
            return Ok((secs * 1000.0).round() as i64);
        }
    }
    let bad = || anyhow::anyhow!("cannot parse {s:?} as a time: use RFC 3339 or Unix seconds");
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
        let (oh, om) = off[1..].split_once(':').ok_or_else(bad)?;
        (c, sign * (oh.parse::<i64>()? * 60 + om.parse::<i64>()?))
    };
    let mut parts = clock.split(':');
    let h: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let min: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let sec: f64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let days = days_from_civil(y, m, day);
    let ms = ((days * 86_400 + h * 3600 + min * 60 - offset_min * 60) as f64 + sec) * 1000.0;
    Ok(ms.round() as i64)
}

/// `15s`, `1m30s`, `1h`, or seconds (`30`, `0.5`), to milliseconds.
pub(crate) fn parse_duration_ms(s: &str) -> anyhow::Result<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs > 0.0 && secs.is_finite() {
            return Ok((secs * 1000.0).round() as i64);
        }
        anyhow::bail!("duration {s:?} must be positive");
    }
    match pulsedb::parse_query(&format!("x[{s}]")) {
        Ok(pulsedb::Expr::Matrix(m)) => Ok(m.range),
        _ => anyhow::bail!("cannot parse {s:?} as a duration (e.g. 15s, 1m, 1h30m)"),
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
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
}
