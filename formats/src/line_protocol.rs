//! InfluxDB line protocol: `measurement[,tag=v...] field=v[,field=v...] [timestamp]`.
//!
//! Each numeric or boolean field becomes a sample of the metric
//! `<measurement>_<field>` with the tags as labels (names sanitized to
//! Prometheus' alphabet). Integers (`1i`, `1u`), floats and booleans
//! (`t`, `true`, ... → 1 / 0) are accepted; string fields carry no number
//! and are skipped, as VictoriaMetrics does. A line without a timestamp
//! takes the time the body was received. Any bad line rejects the whole
//! body, and the error names the line and the reason.

use std::collections::HashSet;

use super::{sanitize_name, IngestError};
use crate::{Batch, Labels, Sample, METRIC_NAME};

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

/// Parses a whole body; `now_ms` stamps lines without a timestamp. Work and
/// memory are linear in the body: at most [`MAX_TAGS`] tags a line, and the
/// series labels the fields expand into at most [`MAX_EXPANSION`] times the
/// body's size.
pub fn parse(body: &str, precision: Precision, now_ms: i64) -> Result<Batch, IngestError> {
    let mut batch = Batch::new();
    let budget = body.len().saturating_mul(MAX_EXPANSION).saturating_add(EXPANSION_FLOOR);
    let mut expanded = 0usize;
    for (index, line) in body.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        expanded += parse_line_counted(line, precision, now_ms, &mut batch, budget - expanded)
            .map_err(|reason| IngestError::line(index + 1, reason))?;
    }
    Ok(batch)
}

/// Parses a body of bytes, naming the first line that is not UTF-8.
pub fn parse_bytes(body: &[u8], precision: Precision, now_ms: i64) -> Result<Batch, IngestError> {
    match std::str::from_utf8(body) {
        Ok(text) => parse(text, precision, now_ms),
        Err(e) => {
            let line = body[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
            Err(IngestError::line(line, "not valid UTF-8"))
        }
    }
}

/// Parses one line (not blank, not a comment) into `batch`; the error is the reason alone.
pub fn parse_line(line: &str, precision: Precision, now_ms: i64, batch: &mut Batch) -> Result<(), String> {
    parse_line_counted(line, precision, now_ms, batch, usize::MAX).map(|_| ())
}

/// [`parse_line`], returning the bytes of label names and values it added,
/// refusing the line before they pass `budget`.
fn parse_line_counted(
    line: &str,
    precision: Precision,
    now_ms: i64,
    batch: &mut Batch,
    budget: usize,
) -> Result<usize, String> {
    let mut cursor = Cursor { s: line, i: 0 };
    let measurement = cursor.token(b", ");
    if measurement.is_empty() {
        return Err("missing measurement name".into());
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    while cursor.eat(b',') {
        if tags.len() == MAX_TAGS {
            return Err(format!("more than {MAX_TAGS} tags"));
        }
        let key = cursor.token(b"=, ");
        if key.is_empty() {
            return Err("empty tag key".into());
        }
        if !cursor.eat(b'=') {
            return Err(format!("tag {key:?} has no '=value'"));
        }
        let value = cursor.token(b", ");
        let name = sanitize_name(&key, false);
        if name == METRIC_NAME {
            return Err(format!("tag key {key:?} would overwrite the metric name"));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("duplicate tag {key:?} (after making it a valid label name: {name:?})"));
        }
        tags.push((name, value));
    }
    if !cursor.eat(b' ') {
        return Err("missing fields: expected a space after the measurement and tags".into());
    }
    cursor.skip_spaces();
    let mut fields: Vec<(String, Option<f64>)> = Vec::new();
    loop {
        let key = cursor.token(b"=, ");
        if key.is_empty() {
            return Err("empty field key".into());
        }
        if !cursor.eat(b'=') {
            return Err(format!("field {key:?} has no '=value'"));
        }
        let value = cursor.field_value().map_err(|e| format!("field {key:?}: {e}"))?;
        fields.push((key, value));
        if !cursor.eat(b',') {
            break;
        }
    }
    cursor.skip_spaces();
    let rest = cursor.rest().trim_end();
    let t = if rest.is_empty() {
        now_ms
    } else {
        let raw: i64 = rest.parse().map_err(|_| format!("invalid timestamp {rest:?}: expected an integer"))?;
        precision
            .to_millis(raw)
            .ok_or_else(|| format!("timestamp {raw} is out of range for precision {precision:?}"))?
    };
    let prefix = sanitize_name(&measurement, true);
    let tag_bytes: usize = tags.iter().map(|(n, v)| n.len() + v.len()).sum();
    let mut added = 0;
    for (field, value) in fields {
        let Some(v) = value else { continue };
        let metric = format!("{prefix}_{}", sanitize_name(&field, false));
        added += METRIC_NAME.len() + metric.len() + tag_bytes;
        if added > budget {
            return Err(format!(
                "the body expands to more than {MAX_EXPANSION} times its size in series labels (every field \
                 carries every tag of its line): send fewer fields or tags per line"
            ));
        }
        let labels = Labels::new(
            std::iter::once((METRIC_NAME.to_string(), metric)).chain(tags.iter().map(|(n, v)| (n.clone(), v.clone()))),
        );
        batch.add(labels, [Sample::new(t, v)]);
    }
    Ok(added)
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

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn rest(&self) -> &str {
        self.s.get(self.i..).unwrap_or("")
    }

    /// Reads up to an unescaped byte of `stops`, resolving backslash
    /// escapes of `,`, `=`, space and backslash; any other backslash is literal.
    fn token(&mut self, stops: &[u8]) -> String {
        let bytes = self.s.as_bytes();
        let start = self.i;
        let mut out = String::new();
        let mut plain_from = start;
        while let Some(&b) = bytes.get(self.i) {
            if b == b'\\' && bytes.get(self.i + 1).is_some_and(|n| matches!(n, b',' | b'=' | b' ' | b'\\')) {
                out.push_str(&self.s[plain_from..self.i]);
                out.push(char::from(bytes[self.i + 1]));
                self.i += 2;
                plain_from = self.i;
                continue;
            }
            if stops.contains(&b) {
                break;
            }
            self.i += 1;
        }
        out.push_str(&self.s[plain_from..self.i]);
        out
    }

    /// A field value: `Some(number)` or `None` for a string field.
    fn field_value(&mut self) -> Result<Option<f64>, String> {
        if self.eat(b'"') {
            let bytes = self.s.as_bytes();
            while let Some(&b) = bytes.get(self.i) {
                self.i += if b == b'\\' { 2 } else { 1 };
                if b == b'"' {
                    return Ok(None);
                }
            }
            return Err("string value is not closed with '\"'".into());
        }
        let raw = self.token(b", ");
        if raw.is_empty() {
            return Err("missing value".into());
        }
        let number = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        let parsed = match raw.as_str() {
            "t" | "T" | "true" | "True" | "TRUE" => Some(1.0),
            "f" | "F" | "false" | "False" | "FALSE" => Some(0.0),
            r if r.ends_with('i') => r[..r.len() - 1].parse::<i64>().ok().map(|v| v as f64),
            r if r.ends_with('u') => r[..r.len() - 1].parse::<u64>().ok().map(|v| v as f64),
            r if number(r) => r.parse::<f64>().ok(),
            _ => None,
        };
        match parsed {
            Some(v) if v.is_finite() => Ok(Some(v)),
            // As InfluxDB's parser: a literal beyond f64's range is an error, not an infinity.
            Some(_) => Err(format!("invalid value {raw:?}: out of range for a 64-bit float")),
            None => Err(format!(
                "invalid value {raw:?}: expected a float, an integer (1i), an unsigned (1u), a boolean or a \"string\""
            )),
        }
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
