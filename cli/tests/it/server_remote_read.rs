//! Remote-read from a running server: each query's matchers and range
//! answered with exactly the stored samples, and bad requests refused.
#![allow(clippy::unwrap_used)]

use pulsedb::{Batch, Labels, Sample};
use pulsedb_formats::remote::{decode_read_response, encode_read, encode_write};
use pulsedb_testkit::server::TestServer;

#[test]
fn remote_read_returns_stored_samples() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--max-future", "1000000d"]);
    let t0 = 1_700_000_000_000;
    let mut b = Batch::new();
    for host in ["a", "b", "c"] {
        let samples: Vec<Sample> = (0..100).map(|i| Sample::new(t0 + i * 1000, i as f64 + 0.5)).collect();
        b.add(Labels::metric("rr_metric", [("host", host)]), samples);
    }
    b.push(Labels::metric("other", [("host", "a")]), t0, 1.0);
    assert_eq!(server.remote_write(&encode_write(&b)).0, 204);

    let request = encode_read(&[
        (t0 + 10_000, t0 + 19_999, vec![(0, "__name__", "rr_metric"), (2, "host", "a|b")]),
        (t0, t0 + 1_000_000, vec![(1, "__name__", "rr_metric"), (0, "host", "a")]),
    ]);
    let response = ureq::post(&server.url("/api/v1/read"))
        .set("Content-Type", "application/x-protobuf")
        .set("Content-Encoding", "snappy")
        .set("X-Prometheus-Remote-Read-Version", "0.1.0")
        .send_bytes(&request)
        .unwrap();
    assert_eq!(response.header("Content-Encoding"), Some("snappy"));
    assert_eq!(response.header("Content-Type"), Some("application/x-protobuf"));
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).unwrap();
    let results = decode_read_response(&body, 1 << 30).unwrap();
    assert_eq!(results.len(), 2);
    let first: Vec<(String, usize, f64)> =
        results[0].iter().map(|s| (s.labels.to_string(), s.samples.len(), s.samples[0].v)).collect();
    assert_eq!(first, vec![("rr_metric{host=\"a\"}".into(), 10, 10.5), ("rr_metric{host=\"b\"}".into(), 10, 10.5)]);
    assert_eq!(results[1].len(), 1);
    assert_eq!(results[1][0].labels.to_string(), "other{host=\"a\"}");

    // Garbage and a bad regex: 400 in Prometheus' error format.
    let (code, body) = server.post_with("/api/v1/read", &[("Content-Encoding", "snappy")], b"\xff\xff\xff\xff\xff");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("\"errorType\":\"bad_data\"") && body.contains("snappy"), "{body}");
    let bad_regex = encode_read(&[(0, 1, vec![(2, "host", "(")])]);
    let (code, body) = server.post_with("/api/v1/read", &[("Content-Encoding", "snappy")], &bad_regex);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid matcher"), "{body}");
}

use std::io::Read as _;
