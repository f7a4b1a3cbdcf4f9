//! An alert fired by pulsedb reaches a real Alertmanager (Debian's
//! prometheus-alertmanager, started on loopback with a temporary
//! directory and stopped by PID) through its API v2, with the rule's and
//! the external labels, and resolves there when the condition clears. An
//! unreachable Alertmanager is counted, and the server goes on.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pulsedb_testkit::server::{free_port, now_ms, TestServer};

struct Alertmanager {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    fn start() -> Option<Self> {
        let bin = ["prometheus-alertmanager", "alertmanager"]
            .into_iter()
            .find(|b| Command::new(b).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok())?;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("am.yml");
        std::fs::write(&config, "route:\n  receiver: nobody\n  group_wait: 0s\nreceivers:\n- name: nobody\n").unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{url}/-/ready")).call().is_err() {
            assert!(Instant::now() < deadline, "alertmanager did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Self { child, url, _dir: dir })
    }

    fn alerts(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            ureq::get(&format!("{}/api/v2/alerts", self.url)).call().unwrap().into_json().unwrap();
        v.as_array().unwrap().clone()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen in 20 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_alert_arrives_in_a_real_alertmanager_and_resolves_there() {
    let Some(am) = Alertmanager::start() else {
        panic!("prometheus-alertmanager is not installed: run scripts/setup-deps.sh");
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: alerts\n  interval: 1s\n  rules:\n  - alert: DiskFull\n    expr: disk_used_ratio > 0.9\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.mount }} at {{ $value }}'}\n",
    )
    .unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--alertmanager-url",
            &am.url,
            "--external-label",
            "cluster=eu1",
            "--rules.alert.resend-delay",
            "1s",
            "--out-of-order-window",
            "10m",
            "--web.external-url",
            "https://mon.example.com/pulse/",
        ],
    );
    let write = |v: f64| {
        let line = format!("disk,mount=/var used_ratio={v} {}", now_ms() / 1000);
        assert_eq!(server.post("/write?precision=s", "text/plain", line.as_bytes()).0, 204);
    };
    write(0.95);
    wait_for("the alert reaching alertmanager", || {
        am.alerts().iter().any(|a| a["labels"]["alertname"] == "DiskFull" && a["status"]["state"] == "active")
    });
    let alert = am.alerts().into_iter().find(|a| a["labels"]["alertname"] == "DiskFull").unwrap();
    assert_eq!(alert["labels"]["severity"], "page", "{alert}");
    assert_eq!(alert["labels"]["cluster"], "eu1", "{alert}");
    assert_eq!(alert["labels"]["mount"], "/var", "{alert}");
    assert_eq!(alert["annotations"]["summary"], "/var at 0.95", "{alert}");
    // As Prometheus links an alert: its rule's query in the table view.
    assert_eq!(
        alert["generatorURL"], "https://mon.example.com/pulse/graph?g0.expr=disk_used_ratio+%3E+0.9&g0.tab=1",
        "{alert}"
    );
    // The condition clears: the alert resolves at Alertmanager.
    std::thread::sleep(Duration::from_secs(1));
    write(0.5);
    wait_for("the alert resolving at alertmanager", || {
        !am.alerts().iter().any(|a| a["labels"]["alertname"] == "DiskFull" && a["status"]["state"] == "active")
    });
    let (_, metrics) = server.get("/metrics");
    let sent = metrics.lines().find(|l| l.starts_with("pulsedb_notifications_sent_total ")).unwrap();
    assert!(!sent.ends_with(" 0"), "{sent}");
}

#[test]
fn an_unreachable_alertmanager_is_counted_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, "groups:\n- name: a\n  interval: 1s\n  rules:\n  - alert: Always\n    expr: vector(1)\n")
        .unwrap();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let server =
        TestServer::start(&dir.path().join("data"), &["--rules", rules.to_str().unwrap(), "--alertmanager-url", &dead]);
    wait_for("a failed delivery being counted", || {
        let (_, metrics) = server.get("/metrics");
        metrics.lines().any(|l| l.starts_with("pulsedb_notifications_errors_total ") && !l.ends_with(" 0"))
    });
    let (code, json) = server.json("/api/v1/alerts");
    assert_eq!(code, 200);
    assert_eq!(json["data"]["alerts"][0]["state"], "firing", "{json}");
}
