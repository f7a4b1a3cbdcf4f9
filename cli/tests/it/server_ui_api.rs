//! What the UI reads, on a real server: `/` redirects to the UI, its files
//! come with an ETag (304 when unchanged) and a self-only
//! Content-Security-Policy, API answers are gzip-compressed when asked,
//! `/api/v1/metadata` has what remote-write sent (and keeps it across a
//! restart), `/api/v1/status/tsdb` counts the head's series in
//! Prometheus' shape, and a bad dashboard file refuses the start naming
//! its file and line.
#![allow(clippy::unwrap_used)]

use std::io::Read as _;

use pulsedb::{Batch, Labels, MetricMetadata, MetricType};
use pulsedb_formats::remote::encode_write_request;
use pulsedb_testkit::server::{now_ms, pulsedb_bin, TestServer};

fn write(server: &TestServer) {
    let t = now_ms();
    let mut batch = Batch::new();
    for h in 0..3 {
        let host = format!("h{h}");
        batch.push(Labels::metric("up", [("host", host.as_str()), ("job", "node")]), t, 1.0);
    }
    batch.push(Labels::metric("http_requests_total", [("job", "api")]), t, 7.0);
    let metadata = [
        MetricMetadata { metric: "up".into(), kind: MetricType::Gauge, help: "Target up.".into(), unit: String::new() },
        MetricMetadata {
            metric: "http_requests_total".into(),
            kind: MetricType::Counter,
            help: "Requests served.".into(),
            unit: "requests".into(),
        },
    ];
    assert_eq!(server.remote_write(&encode_write_request(&batch, &metadata)).0, 204);
}

#[test]
fn ui_files_metadata_status_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    write(&server);

    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let root = agent.get(&server.url("/")).call().unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.header("location"), Some("/ui/"));

    let index = ureq::get(&server.url("/ui/")).call().unwrap();
    assert_eq!(index.content_type(), "text/html");
    let csp = index.header("content-security-policy").unwrap().to_string();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    let etag = index.header("etag").unwrap().to_string();
    assert!(index.into_string().unwrap().contains("uPlot.iife.min.js"));
    let again = ureq::get(&server.url("/ui/")).set("If-None-Match", &etag).call().unwrap();
    assert_eq!(again.status(), 304);
    let uplot = ureq::get(&server.url("/ui/vendor/uPlot.iife.min.js")).call().unwrap();
    assert!(uplot.content_type().contains("javascript"));
    assert_eq!(server.get("/ui/../Cargo.toml").0, 404);
    assert_eq!(server.get("/ui/nope.js").0, 404);

    let (code, meta) = server.json("/api/v1/metadata");
    assert_eq!(code, 200);
    assert_eq!(meta["data"]["up"][0]["type"], "gauge", "{meta}");
    assert_eq!(meta["data"]["http_requests_total"][0]["unit"], "requests", "{meta}");
    let (_, one) = server.json("/api/v1/metadata?metric=up");
    assert_eq!(one["data"].as_object().unwrap().len(), 1, "{one}");
    let (_, limited) = server.json("/api/v1/metadata?limit=1");
    assert_eq!(limited["data"].as_object().unwrap().len(), 1, "{limited}");
    assert_eq!(server.json("/api/v1/metadata?limit=x").0, 400);

    let (code, tsdb) = server.json("/api/v1/status/tsdb");
    assert_eq!(code, 200, "{tsdb}");
    let data = &tsdb["data"];
    assert_eq!(data["headStats"]["numSeries"], 4, "{tsdb}");
    assert_eq!(data["seriesCountByMetricName"][0], serde_json::json!({"name": "up", "value": 3}), "{tsdb}");
    assert!(data["seriesCountByLabelValuePair"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "job=node" && p["value"] == 3));
    assert!(data["labelValueCountByLabelName"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "host" && p["value"] == 3));
    assert_eq!(
        server.json("/api/v1/status/tsdb?limit=1").1["data"]["seriesCountByMetricName"].as_array().unwrap().len(),
        1
    );
    let (code, storage) = server.json("/api/v1/status/storage");
    assert_eq!(code, 200);
    assert_eq!(storage["data"]["headSeries"], 4, "{storage}");

    // gzip when accepted, identity otherwise.
    let big = format!("/api/v1/query?query={}", pulsedb_testkit::server::enc("up or http_requests_total or up * 2"));
    let plain = ureq::get(&server.url(&big)).call().unwrap();
    assert!(plain.header("content-encoding").is_none());
    let plain = plain.into_string().unwrap();
    let (start, end) = (now_ms() / 1000, now_ms() / 1000 + 290);
    let range = format!("/api/v1/query_range?query=up&start={start}&end={end}&step=1");
    let gz = ureq::get(&server.url(&range)).set("Accept-Encoding", "gzip").call().unwrap();
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut compressed = Vec::new();
    gz.into_reader().read_to_end(&mut compressed).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(compressed.as_slice()).read_to_string(&mut text).unwrap();
    assert!(
        text.contains("\"matrix\"") && text.len() > 4 * compressed.len(),
        "{} bytes from {}",
        text.len(),
        compressed.len()
    );
    assert!(plain.contains("\"success\""));

    let (code, dashboards) = server.json("/api/v1/dashboards");
    assert_eq!(code, 200);
    assert_eq!(dashboards["data"].as_array().unwrap().len(), 3, "the shipped ones");

    // Metadata survives a restart.
    drop(server);
    let server = TestServer::start(dir.path(), &[]);
    assert_eq!(server.json("/api/v1/metadata?metric=up").1["data"]["up"][0]["help"], "Target up.");
}

#[test]
fn a_bad_dashboard_refuses_the_start_naming_file_and_line() {
    let data = tempfile::tempdir().unwrap();
    let boards = tempfile::tempdir().unwrap();
    std::fs::write(
        boards.path().join("ops.json"),
        "{\n  \"title\": \"Ops\",\n  \"panels\": [\n    {\"title\": \"x\", \"query\": \"sum(rate(a[5m])\"}\n  ]\n}\n",
    )
    .unwrap();
    let out = std::process::Command::new(pulsedb_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--dashboards")
        .arg(boards.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ops.json: line 4: panel 1 (\"x\"): the query does not parse"), "{err}");
}

#[test]
fn import_keeps_the_text_formats_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.prom");
    let t = now_ms();
    std::fs::write(
        &file,
        format!(
            "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.5 {t}\n\
             # HELP x_seconds_total Time spent,\\nin seconds.\n# TYPE x_seconds_total counter\n# UNIT x_seconds_total seconds\n\
             x_seconds_total 3 {t}\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(pulsedb_bin())
        .arg("import")
        .arg("--data-dir")
        .arg(&data)
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("and metadata of 2 metrics"));
    let server = TestServer::start(&data, &[]);
    let (_, meta) = server.json("/api/v1/metadata");
    assert_eq!(
        meta["data"]["node_load1"][0],
        serde_json::json!({"type": "gauge", "help": "1m load average.", "unit": ""})
    );
    assert_eq!(
        meta["data"]["x_seconds_total"][0],
        serde_json::json!({"type": "counter", "help": "Time spent,\nin seconds.", "unit": "seconds"})
    );
}
