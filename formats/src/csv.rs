//! CSV of samples: `metric,labels,timestamp,value`, one sample per row.
//!
//! `labels` is a label set in exposition notation (`{host="a",dc="eu"}`,
//! braces optional, empty for none), quoted by CSV rules when it holds
//! commas or quotes. `timestamp` is integer milliseconds since the epoch or
//! RFC 3339. A first row equal to the header is skipped.

use super::{parse_float, parse_label_set, write_label_set, IngestError};
use crate::{Labels, Sample, METRIC_NAME};

pub const HEADER: &str = "metric,labels,timestamp,value";

/// Parses one row; `Ok(None)` for blank lines and the header.
pub fn parse_line(line: &str, line_no: usize) -> Result<Option<(Labels, Sample)>, IngestError> {
    let err = |reason: String| IngestError::line(line_no, reason);
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line == HEADER {
        return Ok(None);
    }
    let fields = split_row(line).map_err(err)?;
    let [metric, labels, timestamp, value] = fields.as_slice() else {
        return Err(err(format!("expected 4 fields (metric,labels,timestamp,value), found {}", fields.len())));
    };
    if metric.is_empty() {
        return Err(err("empty metric name".into()));
    }
    let mut pairs = vec![(METRIC_NAME.to_string(), metric.clone())];
    let labels = labels.trim();
    if !labels.is_empty() {
        let braced = if labels.starts_with('{') { labels.to_string() } else { format!("{{{labels}}}") };
        let (parsed, used) = parse_label_set(&braced).map_err(|e| err(format!("labels: {e}")))?;
        if used != braced.len() {
            return Err(err(format!("labels: unexpected text after '}}': {:?}", &braced[used..])));
        }
        if parsed.iter().any(|(name, _)| name == METRIC_NAME) {
            return Err(err(format!("labels: {METRIC_NAME} belongs in the metric column, not among the labels")));
        }
        pairs.extend(parsed);
    }
    let timestamp = timestamp.trim();
    let t = match timestamp.parse::<i64>() {
        Ok(t) => t,
        Err(_) => crate::timefmt::parse_time_ms(timestamp)
            .ok()
            .filter(|_| timestamp.contains('T'))
            .ok_or_else(|| err(format!("invalid timestamp {timestamp:?}: expected milliseconds or RFC 3339")))?,
    };
    let v = parse_float(value.trim()).ok_or_else(|| err(format!("invalid value {value:?}")))?;
    Ok(Some((Labels::new(pairs), Sample::new(t, v))))
}

/// Splits a CSV row: fields separated by commas, quoted fields may hold
/// commas and doubled quotes.
fn split_row(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("quoted field is not closed".into()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(c) => return Err(format!("unexpected {c:?} after a quoted field")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

/// Appends one row for `sample` of the series `labels`.
pub fn write_row(out: &mut String, labels: &Labels, sample: Sample) {
    write_field(out, labels.metric_name().unwrap_or(""));
    out.push(',');
    let mut set = String::new();
    write_label_set(
        &mut set,
        labels.iter().filter(|l| l.name != METRIC_NAME).map(|l| (l.name.as_str(), l.value.as_str())),
    );
    write_field(out, &set);
    out.push(',');
    out.push_str(&sample.t.to_string());
    out.push(',');
    out.push_str(&crate::api::format_value(sample.v));
    out.push('\n');
}

fn write_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rows() {
        let (labels, s) = parse_line(r#"cpu,"{host=""a"",dc=""eu""}",1700000000000,0.5"#, 1).unwrap().unwrap();
        assert_eq!(labels.to_string(), "cpu{dc=\"eu\", host=\"a\"}");
        assert_eq!(s, Sample::new(1_700_000_000_000, 0.5));
        let (labels, s) = parse_line("up,job=\"x\",2023-11-14T22:13:20Z,1", 1).unwrap().unwrap();
        assert_eq!(labels.to_string(), "up{job=\"x\"}");
        assert_eq!(s.t, 1_700_000_000_000);
        let (labels, _) = parse_line("up,,5,1", 1).unwrap().unwrap();
        assert_eq!(labels.to_string(), "up{}");
        assert!(parse_line(HEADER, 1).unwrap().is_none());
    }

    #[test]
    fn bad_rows_name_line_and_reason() {
        for (row, want) in [
            ("cpu,,1", "expected 4 fields"),
            ("cpu,,x,1", "invalid timestamp"),
            ("cpu,,1,x", "invalid value"),
            (",,1,1", "empty metric name"),
            ("cpu,\"a,1,1", "not closed"),
            ("cpu,{a=1},1,1", "labels"),
            ("cpu,\"{__name__=\"\"mem\"\"}\",1,1", "belongs in the metric column"),
        ] {
            let err = parse_line(row, 4).unwrap_err().to_string();
            assert!(err.starts_with("line 4: ") && err.contains(want), "{row}: {err}");
        }
    }

    proptest! {
        #[test]
        fn write_then_parse(value in proptest::num::f64::ANY, t in any::<i64>(), label in "\\PC{0,8}") {
            let labels = Labels::metric("m", [("l", label.as_str())]);
            let mut row = String::new();
            write_row(&mut row, &labels, Sample::new(t, value));
            let (parsed, s) = parse_line(&row, 1).unwrap().unwrap();
            prop_assert_eq!(parsed, labels);
            prop_assert_eq!(s.t, t);
            prop_assert!(s.v == value || (s.v.is_nan() && value.is_nan()));
        }
    }
}
