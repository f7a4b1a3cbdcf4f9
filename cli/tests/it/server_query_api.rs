//! Prometheus' query API on a running server: instant and range queries by
//! GET and form POST, every time and step spelling, the metadata
//! endpoints, and the Prometheus error object for each bad parameter.
#![allow(clippy::unwrap_used)]

use pulsedb::{Batch, Labels, Sample};
use pulsedb_formats::remote::encode_write;
use pulsedb_testkit::server::{enc, TestServer};

/// 2023-11-14T22:13:20Z
const T0: i64 = 1_700_000_000_000;

fn load(server: &TestServer) {
    let mut b = Batch::new();
    for (job, instance, scale) in [("api", "a", 1.0), ("api", "b", 2.0), ("db", "c", 10.0)] {
        let samples: Vec<Sample> = (0..=600).map(|i| Sample::new(T0 + i * 1000, i as f64 * scale)).collect();
        b.add(Labels::metric("http_requests_total", [("job", job), ("instance", instance)]), samples);
        b.add(Labels::metric("up", [("job", job), ("instance", instance)]), [Sample::new(T0 + 600_000, 1.0)]);
    }
    let (code, body) = server.remote_write(&encode_write(&b));
    assert_eq!(code, 204, "{body}");
}

fn assert_error(server: &TestServer, path: &str, status: u16, error_type: &str, want: &str) {
    let (code, json) = server.json(path);
    assert_eq!(code, status, "{path}: {json}");
    assert_eq!(json["status"], "error", "{path}: {json}");
    assert_eq!(json["errorType"], error_type, "{path}: {json}");
    let message = json["error"].as_str().unwrap();
    assert!(message.contains(want), "{path}: {message:?} does not mention {want:?}");
}

#[test]
fn query_api_shapes_parameters_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--max-future", "1000000d"]);
    load(&server);
    let q = enc("sum by (job) (rate(http_requests_total[1m]))");

    // Instant query: Unix seconds and RFC 3339 agree; the body has Prometheus' shape.
    let (code, unix) = server.json(&format!("/api/v1/query?query={q}&time=1700000300"));
    assert_eq!(code, 200);
    let (_, rfc) = server.json(&format!("/api/v1/query?query={q}&time=2023-11-14T22:18:20Z"));
    assert_eq!(unix, rfc);
    assert_eq!(
        unix,
        serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "api"}, "value": [1700000300, "3"]},
            {"metric": {"job": "db"}, "value": [1700000300, "10"]},
        ]}})
    );
    let body = serde_json::to_string(&unix).unwrap();
    assert!(body.starts_with("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\""), "{body}");

    // Form POST gives the same answer as GET.
    let form = format!("query={q}&time=1700000300");
    let (code, posted) = server.post("/api/v1/query", "application/x-www-form-urlencoded", form.as_bytes());
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&posted).unwrap(), unix);

    // Scalars and strings.
    let (_, scalar) = server.json("/api/v1/query?query=1%2B1&time=1700000000.5");
    assert_eq!(scalar["data"], serde_json::json!({"resultType": "scalar", "result": [1700000000.5, "2"]}));

    // Range query: step as a duration or float seconds; POST form too.
    let range = |step: &str| format!("/api/v1/query_range?query={q}&start=1700000060&end=1700000600&step={step}");
    let (code, by_duration) = server.json(&range("1m"));
    assert_eq!(code, 200, "{by_duration}");
    let (_, by_seconds) = server.json(&range("60"));
    assert_eq!(by_duration, by_seconds);
    let matrix = &by_duration["data"];
    assert_eq!(matrix["resultType"], "matrix");
    assert_eq!(matrix["result"][0]["metric"], serde_json::json!({"job": "api"}));
    assert_eq!(matrix["result"][0]["values"].as_array().unwrap().len(), 10);
    assert_eq!(matrix["result"][0]["values"][0], serde_json::json!([1700000060, "3"]));
    let form = format!("query={q}&start=2023-11-14T22:14:20Z&end=1700000600&step=60.0");
    let (code, posted) = server.post("/api/v1/query_range", "application/x-www-form-urlencoded", form.as_bytes());
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&posted).unwrap(), by_duration);

    // Series, labels, label values, with and without match[].
    let (code, series) =
        server.json(&format!("/api/v1/series?match[]={}&match[]={}", enc("up{job=\"db\"}"), enc("up{instance=\"a\"}")));
    assert_eq!(code, 200);
    assert_eq!(
        series["data"],
        serde_json::json!([
            {"__name__": "up", "instance": "a", "job": "api"},
            {"__name__": "up", "instance": "c", "job": "db"},
        ])
    );
    let form = format!("match[]={}&start=1700000000&end=1700000600", enc("{job=\"api\"}"));
    let (code, posted) = server.post("/api/v1/series", "application/x-www-form-urlencoded", form.as_bytes());
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&posted).unwrap()["data"].as_array().unwrap().len(), 4);
    let (_, labels) = server.json("/api/v1/labels");
    assert_eq!(labels["data"], serde_json::json!(["__name__", "instance", "job"]));
    let (_, names) = server.json("/api/v1/label/__name__/values");
    assert_eq!(names["data"], serde_json::json!(["http_requests_total", "up"]));
    let (_, jobs) = server.json(&format!("/api/v1/label/instance/values?match[]={}", enc("up{job=\"api\"}")));
    assert_eq!(jobs["data"], serde_json::json!(["a", "b"]));
    let (_, labels) = server.json(&format!("/api/v1/labels?match[]={}", enc("up")));
    assert_eq!(labels["data"], serde_json::json!(["__name__", "instance", "job"]));

    // Build info, metadata, exemplars: the shapes Grafana reads.
    let (code, build) = server.json("/api/v1/status/buildinfo");
    assert_eq!(code, 200);
    assert!(build["data"]["version"].as_str().unwrap().starts_with("2."));
    let (_, metadata) = server.json("/api/v1/metadata");
    assert_eq!(metadata, serde_json::json!({"status": "success", "data": {}}));
    let (_, exemplars) = server.json("/api/v1/query_exemplars?query=up&start=1&end=2");
    assert_eq!(exemplars["data"], serde_json::json!([]));

    // Bad parameters: 400 bad_data naming the parameter; bad queries by type.
    assert_error(&server, "/api/v1/query", 400, "bad_data", "missing parameter \"query\"");
    assert_error(&server, "/api/v1/query?query=up&time=yesterday", 400, "bad_data", "invalid parameter \"time\"");
    assert_error(&server, "/api/v1/query?query=sum(", 400, "bad_data", "parse error");
    assert_error(&server, &format!("/api/v1/query?query={}", enc("rate(up)")), 400, "bad_data", "range vector");
    assert_error(&server, "/api/v1/query_range?query=up&end=2&step=1", 400, "bad_data", "missing parameter \"start\"");
    assert_error(&server, "/api/v1/query_range?query=up&start=1&end=2", 400, "bad_data", "missing parameter \"step\"");
    assert_error(
        &server,
        "/api/v1/query_range?query=up&start=5&end=2&step=1",
        400,
        "bad_data",
        "end timestamp must not be before start time",
    );
    assert_error(
        &server,
        "/api/v1/query_range?query=up&start=1&end=2&step=0",
        400,
        "bad_data",
        "zero or negative query resolution step",
    );
    assert_error(&server, "/api/v1/query_range?query=up&start=1&end=2&step=-5", 400, "bad_data", "zero or negative");
    assert_error(&server, "/api/v1/query_range?query=up&start=1&end=2&step=0s", 400, "bad_data", "zero or negative");
    assert_error(
        &server,
        "/api/v1/query_range?query=up&start=1&end=2&step=fast",
        400,
        "bad_data",
        "invalid parameter \"step\"",
    );
    assert_error(&server, "/api/v1/query_range?query=up&start=0&end=100000&step=1", 400, "bad_data", "11,000 points");
    assert_error(&server, "/api/v1/series", 400, "bad_data", "no match[]");
    assert_error(
        &server,
        &format!("/api/v1/series?match[]={}", enc("{job=~\".*\"}")),
        400,
        "bad_data",
        "non-empty matcher",
    );
    assert_error(
        &server,
        &format!("/api/v1/series?match[]={}", enc("rate(up[1m])")),
        400,
        "bad_data",
        "not a series selector",
    );
    assert_error(&server, &format!("/api/v1/series?match[]={}", enc("{job=~\"(\"}")), 400, "bad_data", "match[]");
    assert_error(&server, "/api/v1/label/bad-name/values", 400, "bad_data", "invalid label name");
    let many_to_many = enc("up + on() up");
    assert_error(&server, &format!("/api/v1/query?query={many_to_many}&time=1700000600"), 422, "execution", "");

    let (code, _) = server.get("/api/v1/nope");
    assert_eq!(code, 404);
}
