//! `--query-max-samples` and `--query-timeout`: a query over the limit is
//! refused with Prometheus' error shape and status (422 execution, 503
//! timeout) naming the limit, and the server keeps answering afterwards.
//! Neither depends on the machine's speed: the sample limit counts, and the
//! timeout test uses a zero limit that no evaluation can meet (the engine's
//! own test, `query/tests/it/engine.rs`, times a slow querier against a real
//! limit); and the resolution limit is Prometheus' 11,000 intervals. With
//! a real 1 s limit, queries of billions of steps end by it (a client that
//! hung up too), free their worker, and do not hold up small queries.
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

/// `pulsedb_engine_queries` from `/metrics`.
fn running_queries(server: &TestServer) -> f64 {
    let (_, page) = server.get("/metrics");
    let line = page.lines().find(|l| l.starts_with("pulsedb_engine_queries ")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn slow_queries_stop_at_the_timeout_and_free_their_worker() {
    use std::io::Write;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--query-timeout", "1s"]);
    let now = load(&server);
    // Millions of subquery points, windows of 300,000 for every output
    // step, four times over: 2.7 s alone in a release build, several times
    // the timeout. (`max_over_time` alone over the subquery takes 0.4 s
    // there, since its windows slide, and once finished inside the second
    // in a debug build.)
    let over = |f: &str| format!("{f}(limits_v[5m:1ms])");
    let slow = format!(
        "sum({} + {} + {} + {})",
        over("max_over_time"),
        over("min_over_time"),
        over("avg_over_time"),
        over("count_over_time")
    );
    let slow = range(&slow, now);
    // One client hangs up at once: its evaluation must still end by the timeout.
    let mut quitter = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    quitter.write_all(format!("GET {slow} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
    drop(quitter);
    std::thread::scope(|scope| {
        let slow_ones: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let started = Instant::now();
                    let (code, json) = server.json(&slow);
                    (code, json, started.elapsed())
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        // Small queries are answered while the slow ones still run.
        let (code, json) = server.json(&range(r#"limits_v{host="h1"}"#, now));
        assert_eq!(code, 200, "{json}");
        assert!(running_queries(&server) > 0.0, "the small query was answered only after the slow ones ended");
        for handle in slow_ones {
            let (code, json, took) = handle.join().unwrap();
            assert_eq!(code, 503, "{json}");
            assert_eq!(json["errorType"], "timeout");
            assert!(took < Duration::from_secs(4), "a timed-out query was answered after {took:?}");
        }
    });
    // Every evaluation, the abandoned one too, has ended shortly after its timeout.
    let deadline = Instant::now() + Duration::from_secs(4);
    while running_queries(&server) > 0.0 {
        assert!(Instant::now() < deadline, "evaluations still running past the query timeout");
        std::thread::sleep(Duration::from_millis(50));
    }
}
