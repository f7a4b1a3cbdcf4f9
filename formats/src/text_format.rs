//! The Prometheus text exposition format (timestamps in milliseconds) and
//! OpenMetrics text (timestamps in seconds, `# EOF` at the end), for
//! `pulsedb import` and `pulsedb export`.
//!
//! `# HELP`, `# TYPE` and `# UNIT` lines are read by [`parse_metadata_line`]
//! (the importer keeps them as the metric's metadata); OpenMetrics
//! exemplars are read and ignored.

use super::{parse_float, parse_label_set, write_label_set, IngestError};
use crate::api::format_value;
use crate::{Labels, MetricType, Sample, METRIC_NAME};

/// Which dialect a text body is in: it decides the unit of timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Prometheus text format 0.0.4: integer milliseconds.
    Prometheus,
    /// OpenMetrics 1.0: float seconds.
    OpenMetrics,
}

/// Parses one line. `Ok(None)` for comments and blank lines; a sample
/// without a timestamp takes `default_ms`.
pub fn parse_line(
    line: &str,
    dialect: Dialect,
    default_ms: i64,
    line_no: usize,
) -> Result<Option<(Labels, Sample)>, IngestError> {
    let err = |reason: String| IngestError::line(line_no, reason);
    let line = line.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let name_end =
        trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(trimmed.len());
    let name = &trimmed[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(err(format!("expected a metric name at the start of {:?}", truncate(trimmed))));
    }
    let mut rest = &trimmed[name_end..];
    let mut pairs = vec![(METRIC_NAME.to_string(), name.to_string())];
    if rest.starts_with('{') {
        let (labels, used) = parse_label_set(rest).map_err(|e| err(format!("{name}: {e}")))?;
        if labels.iter().any(|(n, _)| n == METRIC_NAME) {
            return Err(err(format!("{name}: label {METRIC_NAME} is not allowed inside the braces")));
        }
        pairs.extend(labels);
        rest = &rest[used..];
    }
    // An OpenMetrics exemplar follows " # "; it is not a sample of this series.
    if let Some(at) = rest.find(" # ") {
        rest = &rest[..at];
    }
    let mut fields = rest.split_ascii_whitespace();
    let value_text = fields.next().ok_or_else(|| err(format!("{name}: missing value")))?;
    let value = parse_float(value_text).ok_or_else(|| err(format!("{name}: invalid value {value_text:?}")))?;
    let t = match fields.next() {
        None => default_ms,
        Some(ts) => parse_timestamp(ts, dialect).ok_or_else(|| err(format!("{name}: invalid timestamp {ts:?}")))?,
    };
    if let Some(extra) = fields.next() {
        return Err(err(format!("{name}: unexpected {extra:?} after the timestamp")));
    }
    Ok(Some((Labels::new(pairs), Sample::new(t, value))))
}

/// One metadata comment: `# HELP name text`, `# TYPE name type` or `# UNIT name unit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataLine {
    Help(String, String),
    Type(String, MetricType),
    Unit(String, String),
}

/// The metadata a comment line carries, or `None` for any other line (a
/// sample, a plain comment, or a `# TYPE` naming no known type).
pub fn parse_metadata_line(line: &str) -> Option<MetadataLine> {
    let rest = line.trim_end_matches(['\r', '\n']).trim_start().strip_prefix('#')?.trim_start();
    let (keyword, rest) = rest.split_once([' ', '\t'])?;
    let rest = rest.trim_start();
    let (name, text) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
    if name.is_empty() {
        return None;
    }
    let name = name.to_string();
    match keyword {
        "HELP" => Some(MetadataLine::Help(name, unescape_help(text))),
        "TYPE" => MetricType::parse(text.trim()).map(|t| MetadataLine::Type(name, t)),
        "UNIT" => Some(MetadataLine::Unit(name, text.trim().to_string())),
        _ => None,
    }
}

impl MetadataLine {
    /// Puts what the line says into its family's entry in `all` (created on
    /// first sight), as a text page's comments build up a family's metadata.
    pub fn apply_to(self, all: &mut std::collections::BTreeMap<String, crate::MetricMetadata>) {
        let name = match &self {
            MetadataLine::Help(name, _) | MetadataLine::Type(name, _) | MetadataLine::Unit(name, _) => name.clone(),
        };
        let entry = all
            .entry(name.clone())
            .or_insert_with(|| crate::MetricMetadata { metric: name, ..crate::MetricMetadata::default() });
        match self {
            MetadataLine::Help(_, help) => entry.help = help,
            MetadataLine::Type(_, kind) => entry.kind = kind,
            MetadataLine::Unit(_, unit) => entry.unit = unit,
        }
    }
}

/// `\\` and `\n` in help text, as the text format escapes them.
fn unescape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn parse_timestamp(ts: &str, dialect: Dialect) -> Option<i64> {
    match dialect {
        Dialect::Prometheus => ts.parse().ok(),
        Dialect::OpenMetrics => {
            let secs: f64 = parse_float(ts)?;
            let ms = (secs * 1000.0).round();
            (ms.is_finite() && ms.abs() < 9.0e18).then_some(ms as i64)
        }
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Appends `name{labels} value timestamp\n` in `dialect`.
pub fn write_sample(out: &mut String, labels: &Labels, sample: Sample, dialect: Dialect) {
    out.push_str(labels.metric_name().unwrap_or(""));
    write_label_set(out, labels.iter().filter(|l| l.name != METRIC_NAME).map(|l| (l.name.as_str(), l.value.as_str())));
    out.push(' ');
    out.push_str(&format_value(sample.v));
    out.push(' ');
    match dialect {
        Dialect::Prometheus => out.push_str(&sample.t.to_string()),
        Dialect::OpenMetrics => {
            let (secs, ms) = (sample.t.div_euclid(1000), sample.t.rem_euclid(1000));
            if ms == 0 {
                out.push_str(&secs.to_string());
            } else if secs >= 0 {
                out.push_str(&format!("{secs}.{ms:03}"));
            } else {
                out.push_str(&format_value(sample.t as f64 / 1000.0));
            }
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn one(line: &str, dialect: Dialect) -> (String, i64, f64) {
        let (labels, s) = parse_line(line, dialect, 7, 1).unwrap().unwrap();
        (labels.to_string(), s.t, s.v)
    }

    #[test]
    fn metadata_comments() {
        use MetadataLine::*;
        let help = parse_metadata_line(r"# HELP http_requests_total The total number\nof requests \\ served.");
        assert_eq!(help, Some(Help("http_requests_total".into(), "The total number\nof requests \\ served.".into())));
        assert_eq!(parse_metadata_line("# TYPE x_total counter"), Some(Type("x_total".into(), MetricType::Counter)));
        assert_eq!(parse_metadata_line("# TYPE x untyped\r\n"), Some(Type("x".into(), MetricType::Unknown)));
        assert_eq!(parse_metadata_line("# UNIT x_seconds seconds"), Some(Unit("x_seconds".into(), "seconds".into())));
        assert_eq!(parse_metadata_line("# HELP x"), Some(Help("x".into(), String::new())));
        assert_eq!(parse_metadata_line("# TYPE x banana"), None);
        assert_eq!(parse_metadata_line("# a plain comment"), None);
        assert_eq!(parse_metadata_line("# HELP"), None);
        assert_eq!(parse_metadata_line("x 1"), None);
        let mut all = std::collections::BTreeMap::new();
        for line in ["# HELP x_total Things.", "# TYPE x_total counter", "# UNIT x_total things"] {
            parse_metadata_line(line).unwrap().apply_to(&mut all);
        }
        let x = &all["x_total"];
        assert_eq!((x.help.as_str(), x.kind, x.unit.as_str()), ("Things.", MetricType::Counter, "things"));
    }

    #[test]
    fn parses_both_dialects() {
        assert_eq!(
            one(r#"http_requests_total{method="post",code="200"} 1027 1395066363000"#, Dialect::Prometheus),
            ("http_requests_total{code=\"200\", method=\"post\"}".into(), 1_395_066_363_000, 1027.0)
        );
        assert_eq!(one("up 1", Dialect::Prometheus), ("up{}".into(), 7, 1.0));
        assert_eq!(one("x_total 3 1395066363.5 # {trace_id=\"a\"} 1", Dialect::OpenMetrics).1, 1_395_066_363_500);
        assert_eq!(one("x +Inf 1", Dialect::Prometheus).2, f64::INFINITY);
        assert!(parse_line("# TYPE x counter", Dialect::Prometheus, 0, 1).unwrap().is_none());
        assert!(parse_line("   ", Dialect::Prometheus, 0, 1).unwrap().is_none());
    }

    #[test]
    fn errors_name_line_and_reason() {
        for (line, want) in [
            ("{a=\"b\"} 1", "expected a metric name"),
            ("x{a=\"b\" 1", "expected ',' or '}'"),
            ("x", "missing value"),
            ("x one", "invalid value \"one\""),
            ("x 1 2.5", "invalid timestamp \"2.5\""),
            ("x 1 2 3", "unexpected \"3\""),
            ("x{__name__=\"y\"} 1", "not allowed"),
        ] {
            let err = parse_line(line, Dialect::Prometheus, 0, 9).unwrap_err().to_string();
            assert!(err.starts_with("line 9: ") && err.contains(want), "{line}: {err}");
        }
    }

    proptest! {
        #[test]
        fn write_then_parse(
            value in proptest::num::f64::ANY,
            t in -4_000_000_000_000i64..4_000_000_000_000,
            label in "\\PC{0,8}",
            om in any::<bool>(),
        ) {
            let dialect = if om { Dialect::OpenMetrics } else { Dialect::Prometheus };
            let labels = Labels::metric("m_x", [("l", label.as_str())]);
            let mut text = String::new();
            write_sample(&mut text, &labels, Sample::new(t, value), dialect);
            let (parsed, s) = parse_line(&text, dialect, 0, 1).unwrap().unwrap();
            prop_assert_eq!(parsed, labels);
            prop_assert_eq!(s.t, t);
            prop_assert!(s.v == value || (s.v.is_nan() && value.is_nan()));
        }
    }
}
