//! Remote-write into a running server, read back through the query API,
//! and every kind of bad body refused with a 4xx in Prometheus' error
//! format, changing nothing.
#![allow(clippy::unwrap_used)]

use pulsedb::{Batch, Labels, Sample};
use pulsedb_formats::remote::encode_write;
use pulsedb_testkit::server::{enc, now_ms, TestServer};

fn batch(rows: &[(&str, &str, i64, f64)]) -> Batch {
    let mut b = Batch::new();
    for (metric, host, t, v) in rows {
        b.push(Labels::metric(metric, [("host", *host)]), *t, *v);
    }
    b
}

fn assert_bad_data(code: u16, body: &str, want: &str) {
    assert!((400..500).contains(&code), "status {code}: {body}");
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    assert_eq!(json["status"], "error", "{body}");
    assert_eq!(json["errorType"], "bad_data", "{body}");
    let message = json["error"].as_str().unwrap();
    assert!(message.contains(want), "error {message:?} does not mention {want:?}");
}

fn count(server: &TestServer, selector: &str) -> usize {
    let (code, json) =
        server.json(&format!("/api/v1/query?query={}", enc(&format!("count_over_time({selector}[1h])"))));
    assert_eq!(code, 200, "{json}");
    json["data"]["result"][0]["value"][1].as_str().map_or(0, |v| v.parse().unwrap())
}

#[test]
fn remote_write_round_trip_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--max-body-bytes", "100000"]);
    let now = now_ms();

    // 10 series × 60 samples in one request: 204, then every sample is queryable.
    let mut good = Batch::new();
    for h in 0..10 {
        let samples: Vec<Sample> =
            (0..60).map(|i| Sample::new(now - 60_000 + i * 1000, (h * 100 + i) as f64)).collect();
        good.add(Labels::metric("rw_metric", [("host", format!("h{h}"))]), samples);
    }
    let (code, body) = server.remote_write(&encode_write(&good));
    assert_eq!(code, 204, "{body}");
    for h in 0..10 {
        assert_eq!(count(&server, &format!("rw_metric{{host=\"h{h}\"}}")), 60);
    }
    let (_, json) = server.json(&format!("/api/v1/query?query={}&time={}", enc("rw_metric{host=\"h3\"}"), now / 1000));
    assert_eq!(json["data"]["result"][0]["value"][1], "359");

    // Bad snappy, bad protobuf: 400 naming the problem.
    let (code, body) = server.remote_write(b"\xff\xff\xff\xff\xff\xff\xff");
    assert_bad_data(code, &body, "snappy");
    let not_protobuf = snap::raw::Encoder::new().compress_vec(b"\x0a\xff\xff\xff\xff\x0f garbage").unwrap();
    let (code, body) = server.remote_write(&not_protobuf);
    assert_bad_data(code, &body, "protobuf");

    // Too large: 413 in the Prometheus format, before and after decompression.
    let (code, body) = server.remote_write(&vec![0u8; 200_000]);
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("larger than the limit of 100000 bytes"), "{body}");
    let bomb = snap::raw::Encoder::new().compress_vec(&vec![0u8; 1_000_000]).unwrap();
    assert!(bomb.len() < 100_000);
    let (code, body) = server.remote_write(&bomb);
    assert_bad_data(code, &body, "more than the limit");

    // A request with one bad sample is refused whole: its good sample is not stored.
    let cases = [
        // Older than the out-of-order window behind the series' newest sample.
        (batch(&[("rw_partial", "ok", now, 1.0), ("rw_metric", "h0", now - 3_600_000, 1.0)]), "too old"),
        (batch(&[("rw_partial", "ok", now, 1.0), ("rw_partial", "future", now + 3_600_000, 1.0)]), "in the future"),
    ];
    let mut invalid_label = Batch::new();
    invalid_label.push(Labels::metric("rw_partial", [("host", "ok")]), now, 1.0);
    invalid_label.push(Labels::new([("__name__", "rw_partial"), ("bad-label", "x")]), now, 1.0);
    for (b, want) in cases.into_iter().chain([(invalid_label, "invalid label name")]) {
        let (code, body) = server.remote_write(&encode_write(&b));
        assert_bad_data(code, &body, want);
    }
    assert_eq!(count(&server, "rw_partial"), 0, "a rejected request must change nothing");
    assert_eq!(count(&server, "rw_metric{host=\"h0\"}"), 60);

    // The refusals are counted on /metrics.
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("pulsedb_remote_write_samples_total 600\n"), "{metrics}");
    assert!(metrics.contains("pulsedb_rejected_write_requests_total 7\n"), "{metrics}");
    assert!(metrics.contains("pulsedb_http_requests_total{handler=\"/api/v1/write\",code=\"204\"} 1\n"), "{metrics}");
}

/// Series seen before are appended by handle; one that left the head since
/// (its handle stale) is still stored, and a request refused for one bad
/// series stores nothing of the cached ones.
#[test]
fn series_seen_before_take_the_cached_path_and_survive_leaving_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let now = now_ms();
    let old = now - 5 * 3_600_000;
    let scrape = |t: i64, hosts: &[&str]| {
        let rows: Vec<(&str, &str, i64, f64)> = hosts.iter().map(|h| ("cached", *h, t, 1.0)).collect();
        let (code, body) = server.remote_write(&encode_write(&batch(&rows)));
        assert_eq!(code, 204, "{body}");
    };
    // Seen twice: the second request's series all come from the cache.
    scrape(old, &["a", "b"]);
    scrape(old + 15_000, &["a", "b"]);
    let mut mixed = batch(&[("cached", "a", old + 30_000, 2.0)]);
    mixed.push(Labels::new([("__name__", "cached"), ("bad-label", "x")]), old + 30_000, 1.0);
    let (code, body) = server.remote_write(&encode_write(&mixed));
    assert_bad_data(code, &body, "invalid label name");
    // `b` goes on at the present; the background flush writes the old
    // window to a block and `a`, with nothing newer, leaves the head.
    scrape(now, &["b"]);
    server.wait_for_metric_at_most("pulsedb_head_series", 1.0, "the old window was never flushed");
    // Its cached handle is stale now: the request is still stored, whole.
    assert_eq!(server.metric("pulsedb_remote_write_cached_series_total") as u64, 3, "a and b, then b");
    scrape(now, &["a", "b"]);
    assert_eq!(server.metric("pulsedb_remote_write_stale_retries_total") as u64, 1);
    scrape(now + 15_000, &["a", "b"]);
    assert_eq!(server.metric("pulsedb_remote_write_cached_series_total") as u64, 5);
    let (_, json) = server.json(&format!(
        "/api/v1/query?query={}&time={}",
        enc("count_over_time(cached[6h])"),
        (now + 15_000) as f64 / 1000.0
    ));
    let mut counts: Vec<(String, String)> = json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["metric"]["host"].as_str().unwrap().to_string(), r["value"][1].as_str().unwrap().to_string()))
        .collect();
    counts.sort();
    assert_eq!(counts, vec![("a".into(), "4".into()), ("b".into(), "4".into())], "{json}");
}
