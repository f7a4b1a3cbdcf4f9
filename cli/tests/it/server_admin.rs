//! The admin API over HTTP: `POST /api/v1/admin/tsdb/snapshot` answers
//! Prometheus' shape with the snapshot's name, and the directory it wrote
//! under `<data-dir>/snapshots/` opens as a data directory of its own, with
//! the data written before, while the server goes on.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use pulsedb_testkit::server::{now_ms, TestServer};

#[test]
fn snapshot_over_http_opens_as_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let now = now_ms() / 1000;
    let lines: String = (0..30).map(|i| format!("admin,host=h{} v={i} {}\n", i % 3, now - 30 + i)).collect();
    assert_eq!(server.post("/write?precision=s", "text/plain", lines.as_bytes()).0, 204);

    let (code, body) = server.post("/api/v1/admin/tsdb/snapshot", "application/x-www-form-urlencoded", b"");
    assert_eq!(code, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "success");
    let name = json["data"]["name"].as_str().unwrap();
    assert!(name.len() > 17 && name.contains('T') && name.contains("Z-"), "{name}");
    let snap = dir.path().join("snapshots").join(name);
    assert!(snap.join("wal").is_dir() && snap.join("index").is_dir(), "{}", snap.display());

    // The server goes on, and the snapshot opens as it is.
    assert_eq!(server.post("/write?precision=s", "text/plain", format!("admin,host=late v=1 {now}").as_bytes()).0, 204);
    let out = Command::new(env!("CARGO_BIN_EXE_pulsedb"))
        .args(["query", "--data-dir"])
        .arg(&snap)
        .args(["count_over_time(admin_v[1h])", "--time", &now.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Lines read `{labels} value @ time`.
    let total: f64 =
        text.lines().filter_map(|l| l.split_whitespace().nth(1)).filter_map(|v| v.parse::<f64>().ok()).sum();
    assert_eq!(total, 30.0, "{text}");
    assert!(!text.contains("late"), "written after the snapshot: {text}");

    let (code, body) = server.post("/api/v1/admin/tsdb/snapshot?skip_head=maybe", "text/plain", b"");
    assert_eq!(code, 400, "{body}");
}

#[test]
fn delete_series_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let now = now_ms() / 1000;
    let lines: String = (0..20).map(|i| format!("gone,host=h{} v={i} {}\n", i % 2, now - 20 + i)).collect();
    assert_eq!(server.post("/write?precision=s", "text/plain", lines.as_bytes()).0, 204);
    let (code, body) = server.post("/api/v1/admin/tsdb/delete_series", "text/plain", b"");
    assert_eq!(code, 400, "match[] is required: {body}");
    let path =
        format!("/api/v1/admin/tsdb/delete_series?match[]=gone_v%7Bhost%3D%22h0%22%7D&start={}&end={now}", now - 100);
    let (code, body) = server.post(&path, "text/plain", b"");
    assert_eq!(code, 204, "{body}");
    let (code, json) = server.json(&format!("/api/v1/query?query=count_over_time(gone_v%5B1h%5D)&time={now}"));
    assert_eq!(code, 200);
    let result = json["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{json}");
    assert_eq!(result[0]["metric"]["host"], "h1");
}
