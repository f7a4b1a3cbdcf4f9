//! Query results in the JSON shapes of Prometheus' HTTP API, so tools
//! built for Prometheus read them unchanged. Used by `pulsedb query
//! --format json` and the server.

use serde_json::{json, Map, Value as Json};

use crate::{Labels, Value};

/// A value as Prometheus' API prints it: Go's shortest 'f' formatting,
/// `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Milliseconds as the API's float seconds.
pub fn format_time(ms: i64) -> Json {
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

pub fn labels_json(labels: &Labels) -> Json {
    let mut m = Map::new();
    for l in labels.iter() {
        m.insert(l.name.clone(), Json::String(l.value.clone()));
    }
    Json::Object(m)
}

/// The `data` object of a query response: `resultType` and `result`.
pub fn query_data(value: &Value) -> Json {
    match value {
        Value::Scalar { t, v } => {
            json!({"resultType": "scalar", "result": [format_time(*t), format_value(*v)]})
        }
        Value::String { t, v } => json!({"resultType": "string", "result": [format_time(*t), v]}),
        Value::Vector(samples) => json!({
            "resultType": "vector",
            "result": samples.iter().map(|s| json!({
                "metric": labels_json(&s.labels),
                "value": [format_time(s.t), format_value(s.v)],
            })).collect::<Vec<_>>(),
        }),
        Value::Matrix(series) => json!({
            "resultType": "matrix",
            "result": series.iter().map(|s| json!({
                "metric": labels_json(&s.labels),
                "values": s.points.iter().map(|p| json!([format_time(p.t), format_value(p.v)])).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    }
}

/// A successful API response around `data`.
pub fn success(data: Json) -> Json {
    json!({"status": "success", "data": data})
}

/// An error response: `errorType` is Prometheus' (`bad_data`, `execution`, `timeout`…).
pub fn error(error_type: &str, message: &str) -> Json {
    json!({"status": "error", "errorType": error_type, "error": message})
}

/// `success(query_data(value))` serialized, written straight into one
/// string: a range query's answer can hold millions of points, and building
/// a JSON tree first costs an allocation or three per point.
pub fn query_response(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"status":"success","data":{"resultType":"#);
    let pair = |out: &mut String, t: i64, v: f64| {
        out.push('[');
        push_time(out, t);
        out.push_str(",\"");
        push_value(out, v);
        out.push_str("\"]");
    };
    match value {
        Value::Scalar { t, v } => {
            out.push_str(r#""scalar","result":"#);
            pair(&mut out, *t, *v);
        }
        Value::String { t, v } => {
            out.push_str(r#""string","result":["#);
            push_time(&mut out, *t);
            out.push(',');
            push_str(&mut out, v);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push_str(r#""vector","result":["#);
            for (i, s) in samples.iter().enumerate() {
                out.push_str(if i == 0 { "{\"metric\":" } else { ",{\"metric\":" });
                push_labels(&mut out, &s.labels);
                out.push_str(",\"value\":");
                pair(&mut out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push_str(r#""matrix","result":["#);
            for (i, s) in series.iter().enumerate() {
                out.push_str(if i == 0 { "{\"metric\":" } else { ",{\"metric\":" });
                push_labels(&mut out, &s.labels);
                out.push_str(",\"values\":[");
                let _ = out.try_reserve(s.points.len() * 24);
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    pair(&mut out, p.t, p.v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push_str("}}");
    out
}

fn push_time(out: &mut String, ms: i64) {
    use std::fmt::Write as _;
    let _ = match format_time(ms) {
        Json::Number(n) => write!(out, "{n}"),
        other => write!(out, "{other}"),
    };
}

fn push_value(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

fn push_str(out: &mut String, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // serde_json's escaping, so the bytes match the tree-built response.
        out.push_str(&Json::String(s.to_string()).to_string());
    } else {
        // Nothing to escape (the common case: label names and values), so
        // no allocation: this ran two per label, 13 % of a 1,600-series answer.
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

fn push_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, &l.name);
        out.push(':');
        push_str(out, &l.value);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pulsedb_query::{InstantSample, Point, SeriesPoints};

    #[test]
    fn direct_response_matches_the_json_tree() {
        let labels = Labels::metric("m\"x", [("a", "é\n\\"), ("b", "2")]);
        let values = [
            Value::Scalar { t: 1500, v: f64::NAN },
            Value::String { t: -2000, v: "q\"\u{1}".into() },
            Value::Vector(vec![]),
            Value::Vector(vec![
                InstantSample { labels: labels.clone(), t: 1_700_000_000_123, v: 0.1 + 0.2 },
                InstantSample { labels: Labels::default(), t: 0, v: f64::NEG_INFINITY },
            ]),
            Value::Matrix(vec![
                SeriesPoints {
                    labels: labels.clone(),
                    points: vec![Point { t: 1000, v: 1e300 }, Point { t: 1001, v: -0.0 }, Point { t: 5, v: 1e-7 }],
                },
                SeriesPoints { labels, points: vec![] },
            ]),
        ];
        for value in &values {
            let direct: Json = serde_json::from_str(&query_response(value)).unwrap();
            assert_eq!(direct, success(query_data(value)), "{value:?}");
        }
    }
}
