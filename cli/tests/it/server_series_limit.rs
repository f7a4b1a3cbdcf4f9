//! `--max-series`: a write that would create series beyond the limit is
//! refused whole with a 400 naming the limit; existing series keep taking
//! samples. `--max-new-series-per-minute` the same with a 429 (retry later).
#![allow(clippy::unwrap_used)]

use pulsedb_testkit::server::{enc, now_ms, TestServer};

#[test]
fn series_limit_refuses_new_series_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--max-series", "3"]);
    let now = now_ms();
    let lines =
        |hosts: std::ops::Range<u32>, t: i64| -> String { hosts.map(|h| format!("lim,host=h{h} v=1 {t}\n")).collect() };
    assert_eq!(server.post("/write?precision=ms", "text/plain", lines(0..3, now - 1000).as_bytes()).0, 204);
    let (code, body) = server.post("/write?precision=ms", "text/plain", lines(0..5, now).as_bytes());
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("series limit reached") && body.contains("the limit is 3"), "{body}");
    // Refused whole: the existing three series did not get the `now` sample either.
    let (_, json) = server.json(&format!("/api/v1/query?query={}&time={}", enc("count(lim_v)"), now as f64 / 1000.0));
    assert_eq!(json["data"]["result"][0]["value"][1], "3");
    let (_, json) =
        server.json(&format!("/api/v1/query?query={}&time={}", enc("count_over_time(lim_v[1m])"), now as f64 / 1000.0));
    assert!(json["data"]["result"].as_array().unwrap().iter().all(|r| r["value"][1] == "1"), "{json}");
    // Existing series still take samples.
    assert_eq!(server.post("/write?precision=ms", "text/plain", lines(0..3, now).as_bytes()).0, 204);
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("pulsedb_head_series 3\n"), "{metrics}");
}

#[test]
fn series_creation_rate_limit_answers_429() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--max-new-series-per-minute", "3"]);
    let now = now_ms();
    let lines = |hosts: std::ops::Range<u32>, t: i64| -> String {
        hosts.map(|h| format!("churn,host=h{h} v=1 {t}\n")).collect()
    };
    assert_eq!(server.post("/write?precision=ms", "text/plain", lines(0..3, now - 1000).as_bytes()).0, 204);
    let (code, body) = server.post("/write?precision=ms", "text/plain", lines(3..4, now).as_bytes());
    assert_eq!(code, 429, "{body}");
    assert!(body.contains("series creation limit reached") && body.contains("the limit is 3 per minute"), "{body}");
    // Existing series still take samples.
    assert_eq!(server.post("/write?precision=ms", "text/plain", lines(0..3, now).as_bytes()).0, 204);
    let (_, json) = server.json(&format!("/api/v1/query?query={}&time={}", enc("count(churn_v)"), now as f64 / 1000.0));
    assert_eq!(json["data"]["result"][0]["value"][1], "3");
}
