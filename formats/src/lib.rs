//! Ingest formats: decoders that turn untrusted bytes into a [`Batch`]
//! (Prometheus remote-write, InfluxDB line protocol, Prometheus/OpenMetrics
//! text exposition, CSV) and the writers `pulsedb export` uses for the same
//! text formats. Every decoder either returns the whole batch or an error
//! naming what was wrong (and, for text, the line); none panics, and none
//! hands back a partial batch, so a rejected request changes nothing.
//!
//! [`Batch`]: crate::Batch

pub mod api;
pub mod api_compare;
pub mod csv;
mod label_set;
pub mod line_protocol;
pub mod prompb;
pub mod remote;
pub mod remote_encode;
pub mod remote_wire;
pub mod text_format;
pub mod timefmt;

use pulsedb_model::{Batch, Labels, MatchOp, Matcher, MetricMetadata, MetricType, Sample, Series, METRIC_NAME};
use pulsedb_query::Value;

pub use label_set::{parse_label_set, write_label_set};

/// A body or file that does not decode. `line` is 1-based and set for text formats.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("{0}")]
    Body(String),
}

impl IngestError {
    pub(crate) fn line(line: usize, reason: impl Into<String>) -> Self {
        IngestError::Line { line, reason: reason.into() }
    }
}

/// Makes `raw` a valid Prometheus label or metric name: every byte outside
/// `[a-zA-Z0-9_]` (and `:` when `metric`) becomes `_`, and a leading digit
/// gets a `_` prefix, as Prometheus' own converters (OTLP, Influx) do.
pub(crate) fn sanitize_name(raw: &str, metric: bool) -> String {
    let mut out = String::with_capacity(raw.len() + 1);
    if raw.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':') { c } else { '_' }),
    );
    out
}

/// Go's `strconv.ParseFloat` spellings that Rust's parser also takes
/// (`NaN`, `+Inf`, `-Inf`, `Inf`, decimals, exponents); `None` for anything else.
pub fn parse_float(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_'))
        && !s.contains('_');
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize_name("cpu.usage-idle", true), "cpu_usage_idle");
        assert_eq!(sanitize_name("9lives", false), "_9lives");
        assert_eq!(sanitize_name("a:b", false), "a_b");
        assert_eq!(sanitize_name("a:b", true), "a:b");
        assert_eq!(sanitize_name("héllo", false), "h_llo");
    }

    #[test]
    fn floats_in_go_spelling() {
        assert_eq!(parse_float("1.5e3"), Some(1500.0));
        assert!(parse_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(""), None);
        assert_eq!(parse_float("1 2"), None);
        assert_eq!(parse_float("0x10"), None);
    }
}
