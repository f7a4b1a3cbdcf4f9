//! InfluxDB line protocol into a running server: both endpoints, every
//! precision, gzip bodies, and bad bodies refused whole with the line
//! number and the reason.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;

use pulsedb_testkit::server::{enc, now_ms, TestServer};

fn values(server: &TestServer, query: &str, t_ms: i64) -> Vec<(String, String)> {
    let (code, json) = server.json(&format!("/api/v1/query?query={}&time={}", enc(query), t_ms as f64 / 1000.0));
    assert_eq!(code, 200, "{json}");
    json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let labels = r["metric"].as_object().unwrap();
            let text: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap())).collect();
            (text.join(","), r["value"][1].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn line_protocol_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let now_s = now_ms() / 1000;
    let t_ms = now_s * 1000;

    // v1, seconds: fields become <measurement>_<field>, tags labels; int, float, bool; strings skipped.
    let body = format!(
        "cpu,host=a,dc=eu usage_idle=97.5,usage_user=2i,throttled=true,state=\"ok\" {now_s}\n\
         # a comment\n\
         cpu,host=b,dc=eu usage_idle=50,usage_user=3u,throttled=F {now_s}\n"
    );
    let (code, body) = server.post("/write?db=ignored&precision=s", "text/plain", body.as_bytes());
    assert_eq!(code, 204, "{body}");
    assert_eq!(
        values(&server, "cpu_usage_idle", t_ms),
        vec![
            ("__name__=cpu_usage_idle,dc=eu,host=a".into(), "97.5".into()),
            ("__name__=cpu_usage_idle,dc=eu,host=b".into(), "50".into())
        ]
    );
    assert_eq!(values(&server, "sum(cpu_usage_user)", t_ms), vec![(String::new(), "5".into())]);
    assert_eq!(values(&server, "sum(cpu_throttled)", t_ms), vec![(String::new(), "1".into())]);
    assert!(values(&server, "cpu_state", t_ms).is_empty());

    // v2 with each precision, and the default (ns).
    for (precision, ts) in [("ns", t_ms * 1_000_000), ("us", t_ms * 1_000), ("ms", t_ms), ("s", now_s)] {
        let line = format!("prec,p={precision} v=1 {ts}");
        let (code, body) =
            server.post(&format!("/api/v2/write?org=o&bucket=b&precision={precision}"), "text/plain", line.as_bytes());
        assert_eq!(code, 204, "{precision}: {body}");
    }
    let (code, _) =
        server.post("/api/v2/write", "text/plain", format!("prec,p=default v=1 {}", t_ms * 1_000_000).as_bytes());
    assert_eq!(code, 204);
    let got = values(&server, "prec_v", t_ms);
    assert_eq!(got.len(), 5, "{got:?}");

    // A line without a timestamp takes the server's time.
    let (code, _) = server.post("/write", "text/plain", b"notime,host=x v=7");
    assert_eq!(code, 204);
    assert_eq!(values(&server, "notime_v", now_ms()), vec![("__name__=notime_v,host=x".into(), "7".into())]);

    // gzip.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("zipped,host=a v=42 {now_s}").as_bytes()).unwrap();
    let zipped = gz.finish().unwrap();
    let (code, body) = server.post_with(
        "/write?precision=s",
        &[("Content-Type", "text/plain"), ("Content-Encoding", "gzip")],
        &zipped,
    );
    assert_eq!(code, 204, "{body}");
    assert_eq!(values(&server, "zipped_v", t_ms), vec![("__name__=zipped_v,host=a".into(), "42".into())]);
    let (code, body) = server.post_with("/write", &[("Content-Encoding", "gzip")], b"not gzip at all");
    assert_eq!(code, 400);
    assert!(body.contains("bad gzip body"), "{body}");

    // A bad line rejects the whole body, naming the line: v1 shape, then v2 shape.
    let bad = format!("partial,host=a v=1 {now_s}\npartial,host=b v=oops {now_s}\n");
    let (code, body) = server.post("/write?precision=s", "text/plain", bad.as_bytes());
    assert_eq!(code, 400, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(json["error"].as_str().unwrap().starts_with("line 2: field \"v\": invalid value \"oops\""), "{body}");
    let (code, body) = server.post("/api/v2/write?precision=s", "text/plain", bad.as_bytes());
    assert_eq!(code, 400);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["code"], "invalid", "{body}");
    assert!(json["message"].as_str().unwrap().starts_with("line 2:"), "{body}");
    assert!(values(&server, "partial_v", t_ms).is_empty(), "a rejected body must change nothing");

    // Other refusals: unknown precision, out-of-range timestamp, invalid UTF-8, no fields.
    for (query, body, want) in [
        ("precision=fortnight", b"m v=1".to_vec(), "unknown precision"),
        ("precision=h", b"m v=1 9223372036854775807".to_vec(), "out of range"),
        ("", b"m v=1\nm,h=\xff v=1".to_vec(), "line 2: not valid UTF-8"),
        ("", b"m\n".to_vec(), "line 1: missing fields"),
        ("precision=s", format!("m v=1 {}", now_s + 86_400).into_bytes(), "too far in the future"),
    ] {
        let (code, text) = server.post(&format!("/write?{query}"), "text/plain", &body);
        assert_eq!(code, 400, "{query}: {text}");
        assert!(text.contains(want), "{text} does not mention {want}");
    }
}

/// Series seen before are appended by handle (counted on `/metrics`); a
/// body refused for one bad line stores nothing of its cached ones; one
/// whose series left the head since (its handle stale) is still stored, whole.
#[test]
fn series_seen_before_take_the_cached_path_and_survive_leaving_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let now = now_ms();
    let old = now - 5 * 3_600_000;
    let write = |body: String| server.post("/write?precision=ms", "text/plain", body.as_bytes());
    let lines = |t: i64, hosts: &[&str]| -> String {
        hosts.iter().map(|h| format!("lpcache,host={h} v=1,w=2i {t}\n")).collect()
    };
    assert_eq!(write(lines(old, &["a", "b"])).0, 204);
    assert_eq!(write(lines(old + 15_000, &["a", "b"])).0, 204);
    assert_eq!(server.metric("pulsedb_line_protocol_cached_series_total"), 4.0, "two fields of a and b");
    let (code, body) = write(format!("{}lpcache,host=a v=oops {}\n", lines(old + 30_000, &["a"]), old + 30_000));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("line 2"), "{body}");
    // `b` goes on at the present; the background flush writes the old
    // window to a block and `a`, with nothing newer, leaves the head.
    assert_eq!(write(lines(now, &["b"])).0, 204);
    server.wait_for_metric_at_most("pulsedb_head_series", 2.0, "the old window was never flushed");
    assert_eq!(write(lines(now + 1000, &["a", "b"])).0, 204);
    assert_eq!(server.metric("pulsedb_line_protocol_stale_retries_total"), 1.0);
    assert_eq!(write(lines(now + 15_000, &["a", "b"])).0, 204);
    assert_eq!(server.metric("pulsedb_line_protocol_cached_series_total"), 4.0 + 2.0 + 4.0);
    // a: twice in the old window, then twice at the present; b once more.
    let got = values(&server, "count_over_time(lpcache_v[6h])", now + 15_000);
    assert_eq!(got, vec![("host=a".to_string(), "4".to_string()), ("host=b".to_string(), "5".to_string())]);
}
