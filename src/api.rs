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
