//! InfluxDB line protocol: `measurement[,tag=v...] field=v[,field=v...] [timestamp]`.
//!
//! Each numeric or boolean field becomes a sample of the metric
//! `<measurement>_<field>` with the tags as labels (names sanitized to
//! Prometheus' alphabet). Integers (`1i`, `1u`), floats and booleans
//! (`t`, `true`, ... → 1 / 0) are accepted; string fields carry no number
//! and are skipped, as VictoriaMetrics does. A line without a timestamp
//! takes the time the body was received. Any bad line rejects the whole
//! body, and the error names the line and the reason.
//!
//! Parsing is `parse.rs`; a server passes a cache of the series it has seen
//! (`parse_cached`), so that a known series is appended by handle without
//! building its labels.

mod parse;

pub use parse::{
    parse, parse_bytes, parse_bytes_cached, parse_cached, parse_line, CachedLines, LineSeriesCache, NoLineCache,
};

use crate::{Labels, Sample, METRIC_NAME};

/// Most tags one line may carry. Far above any label limit storage applies
/// (30 by default); it keeps a hostile line from costing more than the
/// bytes it brings.
pub const MAX_TAGS: usize = 256;

/// Every field of a line becomes a series carrying all its tags, so a body
/// expands; past this many times its size (plus a floor for tiny bodies)
/// it is refused instead of being held in memory.
pub const MAX_EXPANSION: usize = 16;
const EXPANSION_FLOOR: usize = 1 << 20;

/// The unit of line timestamps (`precision` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
}

impl Precision {
    /// InfluxDB 1.x (`n`, `ns`, `u`, `us`, `µ`, `ms`, `s`, `m`, `h`) and 2.x spellings.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "" | "n" | "ns" => Precision::Nanoseconds,
            "u" | "us" | "µ" | "µs" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            other => return Err(format!("unknown precision {other:?}: use ns, us, ms, s, m or h")),
        })
    }

    /// A timestamp in this unit as milliseconds, or `None` if it does not fit.
    fn to_millis(self, t: i64) -> Option<i64> {
        match self {
            Precision::Nanoseconds => Some(t.div_euclid(1_000_000)),
            Precision::Microseconds => Some(t.div_euclid(1_000)),
            Precision::Milliseconds => Some(t),
            Precision::Seconds => t.checked_mul(1_000),
            Precision::Minutes => t.checked_mul(60_000),
            Precision::Hours => t.checked_mul(3_600_000),
        }
    }
}

/// Appends `sample` of `labels` as one line, nanosecond timestamps. The
/// metric name splits at its last `_` into measurement and field, so that
/// importing the line again gives back the same metric name; a name
/// without `_` becomes field `value` of a measurement of that name.
/// Returns false (writing nothing) for what line protocol cannot carry:
/// NaN or infinite values, a newline in a label, a time beyond ±292 years.
pub fn write_line(out: &mut String, labels: &Labels, sample: Sample) -> bool {
    let Some(ns) = sample.t.checked_mul(1_000_000) else { return false };
    if !sample.v.is_finite() || labels.iter().any(|l| l.value.contains('\n')) {
        return false;
    }
    let name = labels.metric_name().unwrap_or("");
    // The rightmost `_` whose right side parses back unchanged as a field
    // key (the parser turns `:` into `_` and puts `_` before a leading
    // digit), so that `measurement_field` is the name again.
    let split = name.char_indices().rev().filter(|&(i, c)| c == '_' && i > 0).find(|&(i, _)| {
        let field = &name[i + 1..];
        !field.is_empty() && !field.contains(':') && !field.starts_with(|c: char| c.is_ascii_digit())
    });
    let (measurement, field) = match split {
        Some((i, _)) => (&name[..i], &name[i + 1..]),
        None => (name, "value"),
    };
    escape_into(out, measurement, b", ");
    for label in labels.iter().filter(|l| l.name != METRIC_NAME) {
        out.push(',');
        escape_into(out, &label.name, b",= ");
        out.push('=');
        escape_into(out, &label.value, b",= ");
    }
    out.push(' ');
    escape_into(out, field, b",= ");
    out.push('=');
    out.push_str(&format!("{:?}", sample.v));
    out.push(' ');
    out.push_str(&ns.to_string());
    out.push('\n');
    true
}

fn escape_into(out: &mut String, text: &str, special: &[u8]) {
    for c in text.chars() {
        if c == '\\' || (c.is_ascii() && special.contains(&(c as u8))) {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rows(body: &str) -> Vec<(String, i64, f64)> {
        let batch = parse(body, Precision::Nanoseconds, 42).unwrap();
        batch.rows().map(|(l, s)| (l.to_string(), s[0].t, s[0].v)).collect()
    }

    #[test]
    fn fields_become_metrics_and_tags_labels() {
        let got = rows("cpu,host=a,region=eu usage_idle=97.5,usage_user=1i,up=t 1700000000000000000\n");
        assert_eq!(
            got,
            vec![
                ("cpu_usage_idle{host=\"a\", region=\"eu\"}".into(), 1_700_000_000_000, 97.5),
                ("cpu_usage_user{host=\"a\", region=\"eu\"}".into(), 1_700_000_000_000, 1.0),
                ("cpu_up{host=\"a\", region=\"eu\"}".into(), 1_700_000_000_000, 1.0),
            ]
        );
    }

    #[test]
    fn escapes_strings_comments_and_default_time() {
        let got =
            rows("# comment\n\nweather\\ station,city=New\\ York,k\\=x=a\\,b temp=-3.5e1,note=\"a \\\"b\\\", c\"\n");
        assert_eq!(got, vec![("weather_station_temp{city=\"New York\", k_x=\"a,b\"}".into(), 42, -35.0)]);
    }

    #[test]
    fn written_lines_parse_back() {
        let labels = Labels::metric("cpu_usage_idle", [("host", "a b,c=d"), ("x", "back\\slash")]);
        let mut line = String::new();
        assert!(write_line(&mut line, &labels, Sample::new(1_700_000_000_123, 0.25)));
        let batch = parse(&line, Precision::Nanoseconds, 0).unwrap();
        let (parsed, samples) = batch.rows().next().unwrap();
        assert_eq!(parsed, &labels);
        assert_eq!(samples, &[Sample::new(1_700_000_000_123, 0.25)]);
        let mut line = String::new();
        assert!(write_line(&mut line, &Labels::metric("up", [("j", "1")]), Sample::new(0, 1e300)));
        assert!(line.starts_with("up,j=1 value=1e300 0"), "{line}");
        assert!(!write_line(&mut line, &labels, Sample::new(0, f64::NAN)));
    }

    #[test]
    fn written_lines_give_back_names_whose_field_key_was_sanitized() {
        // Field keys the parser rewrites: control bytes and `-` become `_`, a
        // leading digit gets a `_`, `:` (allowed in metric names) becomes `_`.
        for field in ["v\u{13}\u{13}", "v-", "0", "_0", "a:b", "x__", "__"] {
            let batch = parse(&format!("m,t=1 {field}=2 1"), Precision::Nanoseconds, 0).unwrap();
            let (labels, samples) = batch.rows().next().unwrap();
            let mut line = String::new();
            assert!(write_line(&mut line, labels, samples[0]));
            let again = parse(&line, Precision::Nanoseconds, 0).unwrap();
            assert_eq!(again.rows().next().unwrap().0, labels, "{field:?} written as {line:?}");
        }
    }

    #[test]
    fn precisions() {
        for (p, ts, want) in [
            (Precision::Seconds, "1700000000", 1_700_000_000_000),
            (Precision::Milliseconds, "1700000000123", 1_700_000_000_123),
            (Precision::Microseconds, "1700000000123456", 1_700_000_000_123),
            (Precision::Hours, "1", 3_600_000),
            (Precision::Nanoseconds, "-1", -1),
        ] {
            let batch = parse(&format!("m v=1 {ts}"), p, 0).unwrap();
            assert_eq!(batch.rows().next().unwrap().1[0].t, want, "{p:?}");
        }
        assert_eq!(Precision::parse("us"), Ok(Precision::Microseconds));
        assert!(Precision::parse("fortnight").is_err());
    }

    #[test]
    fn many_tags_and_fields_are_refused_in_linear_time() {
        let tags: String = (0..100_000).map(|i| format!(",t{i}=v")).collect();
        let err = parse(&format!("m{tags} f=1 1"), Precision::Seconds, 0).unwrap_err();
        assert!(err.to_string().contains("more than 256 tags"), "{err}");
        let tags: String = (0..MAX_TAGS).map(|i| format!(",t{i}=v")).collect();
        let fields: Vec<String> = (0..20_000).map(|i| format!("f{i}=1")).collect();
        let line = format!("m{tags} {} 1", fields.join(","));
        let err = parse(&line, Precision::Seconds, 0).unwrap_err();
        assert!(err.to_string().contains("expands to more than 16 times"), "{err}");
        let ok = format!("m{tags} f=1,g=2 1");
        assert_eq!(parse(&ok, Precision::Seconds, 0).unwrap().len(), 2);
    }

    #[test]
    fn bad_lines_name_line_and_reason() {
        for (body, want) in [
            ("m v=1\nm\n", "line 2: missing fields"),
            ("m v=abc", "line 1: field \"v\": invalid value \"abc\""),
            ("m v=1 12x", "line 1: invalid timestamp \"12x\""),
            ("m,t v=1", "line 1: tag \"t\" has no '=value'"),
            ("m v=1 9223372036854775807", ""),
            ("m,__name__=x v=1", "would overwrite the metric name"),
            ("m,a-b=1,a_b=2 v=1", "duplicate tag"),
            ("m v=\"open", "not closed"),
            ("m v=NaN", "invalid value"),
            ("m v=-1e999", "out of range"),
            ("m v=1,", "empty field key"),
            ("m =1", "empty field key"),
            (",t=1 v=1", "missing measurement"),
        ] {
            match parse(body, Precision::Nanoseconds, 0) {
                Ok(_) => assert!(want.is_empty(), "{body:?} parsed but should fail with {want}"),
                Err(e) => assert!(!want.is_empty() && e.to_string().contains(want), "{body:?}: {e}"),
            }
        }
        let err = parse("m v=1 9999999999999999", Precision::Hours, 0).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        let err = parse_bytes(b"m v=1\nm v=\xff", Precision::Nanoseconds, 0).unwrap_err();
        assert_eq!(err.to_string(), "line 2: not valid UTF-8");
    }
}
