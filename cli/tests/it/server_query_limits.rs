//! `--query-max-samples` and `--query-timeout`: a query over the limit is
//! refused with Prometheus' error shape and status (422 execution, 503
//! timeout) naming the limit, and the server keeps answering afterwards.
//! Neither depends on the machine's speed: the sample limit counts, and the
//! timeout test uses a zero limit that no evaluation can meet (the engine's
//! own test, `query/tests/it/engine.rs`, times a slow querier against a real
//! limit); and the resolution limit is Prometheus' 11,000 intervals.
#![allow(clippy::unwrap_used)]

use pulsedb_testkit::server::{enc, now_ms, TestServer};

/// 20 series × 300 samples at 1 s, ending now.
fn load(server: &TestServer) -> i64 {
    let now = now_ms() / 1000 * 1000;
    let mut body = String::new();
    for t in 0..300 {
        for h in 0..20 {
            body.push_str(&format!("limits,host=h{h} v={t} {}\n", now - (299 - t) * 1000));
        }
    }
    assert_eq!(server.post("/write?precision=ms", "text/plain", body.as_bytes()).0, 204);
    now
}

fn range(q: &str, now: i64) -> String {
    format!("/api/v1/query_range?query={}&start={}&end={}&step=1", enc(q), (now - 299_000) / 1000, now / 1000)
}

#[test]
fn queries_over_the_sample_limit_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--query-max-samples", "1000"]);
    let now = load(&server);
    // 20 series × 300 steps of a raw selector: 6,000 samples held.
    let (code, json) = server.json(&range("limits_v", now));
    assert_eq!(code, 422, "{json}");
    assert_eq!(json["status"], "error");
    assert_eq!(json["errorType"], "execution");
    assert!(
        json["error"].as_str().unwrap().contains("too many samples")
            && json["error"].as_str().unwrap().contains("1000"),
        "{json}"
    );
    // Under the limit the same server answers.
    let (code, json) = server.json(&range(r#"limits_v{host="h1"}"#, now));
    assert_eq!(code, 200, "{json}");
    assert_eq!(json["data"]["result"][0]["values"].as_array().unwrap().len(), 300);
}

#[test]
fn queries_over_the_time_limit_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--query-timeout", "0s"]);
    let now = load(&server);
    for q in ["sum(rate(limits_v[2m:1s])) * count(limits_v)", "limits_v", "1"] {
        let (code, json) = server.json(&range(q, now));
        assert_eq!(code, 503, "{q}: {json}");
        assert_eq!(json["errorType"], "timeout");
        assert!(json["error"].as_str().unwrap().contains("limit 0 ms"), "{json}");
    }
    // Timed-out queries hold nothing: the same server still takes writes and
    // answers the metadata API with the data written before.
    assert_eq!(
        server.post("/write?precision=ms", "text/plain", format!("limits,host=late v=1 {now}").as_bytes()).0,
        204
    );
    let (code, json) = server.json("/api/v1/label/host/values");
    assert_eq!(code, 200, "{json}");
    assert_eq!(json["data"].as_array().unwrap().len(), 21, "{json}");
    let (_, health) = server.get("/-/healthy");
    assert!(!health.is_empty());
}

#[test]
fn range_queries_up_to_11000_intervals_are_admitted_and_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let q = |intervals: i64| format!("/api/v1/query_range?query=1&start=0&end={intervals}&step=1");
    let (code, json) = server.json(&q(11_000));
    assert_eq!(code, 200, "{json}");
    assert_eq!(json["data"]["result"][0]["values"].as_array().unwrap().len(), 11_001);
    let (code, json) = server.json(&q(11_001));
    assert_eq!(code, 400, "{json}");
    assert!(json["error"].as_str().unwrap().contains("maximum resolution"), "{json}");
}
