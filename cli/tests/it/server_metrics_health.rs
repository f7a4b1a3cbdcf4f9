//! `/metrics` in the Prometheus text format (checked by the real
//! `promtool check metrics` when installed), with the series the issue
//! names, and the health endpoints.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use pulsedb_testkit::server::{now_ms, TestServer};

#[test]
fn metrics_and_health() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    assert_eq!(server.get("/-/healthy"), (200, "pulsedb is Healthy.\n".into()));
    assert_eq!(server.get("/-/ready"), (200, "pulsedb is Ready.\n".into()));
    let (code, _) = server.post("/write?precision=ms", "text/plain", format!("m,h=a v=1 {}", now_ms()).as_bytes());
    assert_eq!(code, 204);
    let (code, _) = server.get("/api/v1/query?query=m_v");
    assert_eq!(code, 200);

    let (code, page) = server.get("/metrics");
    assert_eq!(code, 200);
    for name in [
        "pulsedb_samples_ingested_total 1",
        "pulsedb_samples_rejected_total 0",
        "pulsedb_head_series 1",
        "pulsedb_head_chunks 1",
        "pulsedb_blocks 0",
        "pulsedb_disk_bytes ",
        "pulsedb_wal_fsync_duration_seconds_count ",
        "pulsedb_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} ",
        "pulsedb_query_duration_seconds_count{type=\"instant\"} 1",
        "pulsedb_http_requests_total{handler=\"/write\",code=\"204\"} 1",
        "pulsedb_http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"+Inf\"} 1",
        "pulsedb_line_protocol_samples_total 1",
    ] {
        assert!(page.lines().any(|l| l.starts_with(name)), "/metrics lacks {name:?}:\n{page}");
    }
    // Every sample line parses with our own text-format reader.
    for (i, line) in page.lines().enumerate() {
        pulsedb_formats::text_format::parse_line(line, pulsedb_formats::text_format::Dialect::Prometheus, 0, i + 1)
            .unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    // And the real promtool agrees, when it is installed (scripts/setup-deps.sh installs it).
    if let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        child.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        // promtool exits 3 for lint warnings (e.g. naming advice), 1 for errors.
        assert_ne!(
            out.status.code(),
            Some(1),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("error while linting"), "{text}");
    }
}
