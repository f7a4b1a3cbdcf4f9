//! Value parsers for command-line flags of `pulsedb serve` and `pulsedb bench`
//! (durations, sync modes), kept with the server whose configuration they fill.

use std::time::Duration;

use pulsedb::SyncMode;
use pulsedb_formats::timefmt::parse_duration_ms;

/// A duration such as `15s`, `10m`, `15d`.
pub fn duration(s: &str) -> Result<Duration, String> {
    let ms = parse_duration_ms(s).map_err(|e| e.to_string())?;
    Ok(Duration::from_millis(ms.unsigned_abs()))
}

/// [`duration`], or zero written as `0`, `0s`, `0ms`….
pub fn duration_or_zero(s: &str) -> Result<Duration, String> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if !digits.is_empty() && digits.bytes().all(|b| b == b'0') {
        return Ok(Duration::ZERO);
    }
    duration(s)
}

/// A positive duration in milliseconds.
pub fn positive_ms(s: &str) -> Result<i64, String> {
    match parse_duration_ms(s) {
        Ok(ms) if ms > 0 => Ok(ms),
        Ok(_) => Err("must be positive".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// `always` or `interval=<duration>`: the modes a server may run in.
pub fn sync_mode(s: &str) -> Result<SyncMode, String> {
    match s.split_once('=') {
        None if s == "always" => Ok(SyncMode::Always),
        Some(("interval", d)) => Ok(SyncMode::Interval(duration(d)?)),
        _ => Err(format!("{s:?}: use `always` or `interval=<duration>` (e.g. interval=1s)")),
    }
}

/// [`sync_mode`] or `never` (no fsync: for bulk loads and benchmarks only).
pub fn sync_mode_or_never(s: &str) -> Result<SyncMode, String> {
    match s {
        "never" => Ok(SyncMode::Never),
        _ => sync_mode(s).map_err(|_| format!("{s:?}: use `always`, `interval=<duration>` or `never`")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sync_modes() {
        assert_eq!(sync_mode("always"), Ok(SyncMode::Always));
        assert_eq!(sync_mode("interval=1s"), Ok(SyncMode::Interval(Duration::from_secs(1))));
        assert!(sync_mode("never").is_err(), "a server never runs without fsync");
        assert_eq!(sync_mode_or_never("never"), Ok(SyncMode::Never));
        assert!(sync_mode_or_never("sometimes").unwrap_err().contains("`never`"));
        assert!(positive_ms("0s").is_err());
        assert_eq!(positive_ms("1m"), Ok(60_000));
        assert_eq!(duration_or_zero("0s"), Ok(Duration::ZERO));
        assert_eq!(duration_or_zero("0"), Ok(Duration::ZERO));
        assert_eq!(duration_or_zero("2m"), Ok(Duration::from_secs(120)));
        assert!(duration_or_zero("s").is_err());
    }
}
