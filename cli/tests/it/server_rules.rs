//! `pulsedb serve --rules`: a recording rule evaluated every second writes
//! its series, queryable like any other; a rule file that does not check
//! refuses the start, naming the file and the reason.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use pulsedb_testkit::server::{enc, now_ms, pulsedb_bin, TestServer};

#[test]
fn a_recording_rule_writes_its_series() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: fast\n  interval: 1s\n  rules:\n  - record: job:load:sum\n    expr: sum by (job) (load_v)\n    labels:\n      source: rule\n  - record: load:merged\n    expr: label_replace(load_v, \"host\", \"\", \"\", \"\")\n  - alert: HighLoad\n    expr: load_v > 2\n    labels:\n      severity: page\n    annotations:\n      summary: 'load on {{ $labels.host }} is {{ $value }}'\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, &["--rules", rules.to_str().unwrap()]);
    let now = now_ms() / 1000;
    let lines = format!("load,job=api,host=a v=2 {now}\nload,job=api,host=b v=3 {now}\n");
    assert_eq!(server.post("/write?precision=s", "text/plain", lines.as_bytes()).0, 204);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, json) = server.json(&format!("/api/v1/query?query={}", enc("job:load:sum")));
        assert_eq!(code, 200, "{json}");
        if let Some(sample) = json["data"]["result"].as_array().and_then(|r| r.first()) {
            assert_eq!(sample["metric"]["job"], "api", "{json}");
            assert_eq!(sample["metric"]["source"], "rule", "{json}");
            assert_eq!(sample["value"][1], "5", "{json}");
            break;
        }
        assert!(Instant::now() < deadline, "the rule wrote nothing in 10 s: {json}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The alert (no `for`) fires at once; the API shows it as Prometheus does.
    let (code, json) = server.json("/api/v1/alerts");
    assert_eq!(code, 200, "{json}");
    let alerts = json["data"]["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{json}");
    assert_eq!(alerts[0]["labels"]["alertname"], "HighLoad");
    assert_eq!(alerts[0]["labels"]["host"], "b");
    assert_eq!(alerts[0]["state"], "firing");
    assert_eq!(alerts[0]["annotations"]["summary"], "load on b is 3");
    assert_eq!(alerts[0]["value"], "3e+00");
    // /api/v1/rules: health per rule, the failing one with its error.
    let (code, json) = server.json("/api/v1/rules");
    assert_eq!(code, 200, "{json}");
    let rules = json["data"]["groups"][0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!((rules[0]["type"].as_str(), rules[0]["health"].as_str()), (Some("recording"), Some("ok")), "{json}");
    assert_eq!(rules[1]["health"], "err", "{json}");
    assert!(rules[1]["lastError"].as_str().unwrap().contains("same labelset"), "{json}");
    assert_eq!((rules[2]["type"].as_str(), rules[2]["state"].as_str()), (Some("alerting"), Some("firing")), "{json}");
    // /metrics counts evaluations and the failing rule's failures.
    let (_, metrics) = server.get("/metrics");
    for name in ["pulsedb_rule_evaluations_total", "pulsedb_rule_evaluation_failures_total"] {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap();
        assert!(!line.ends_with(" 0"), "{line}");
    }
    // The ALERTS series is there to query.
    let (_, json) = server.json(&format!("/api/v1/query?query={}", enc("ALERTS{alertstate=\"firing\"}")));
    assert_eq!(json["data"]["result"][0]["metric"]["alertname"], "HighLoad", "{json}");
}

#[test]
fn a_rule_file_that_does_not_check_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("broken.yml");
    std::fs::write(&rules, "groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(up\n").unwrap();
    let out = Command::new(pulsedb_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--rules", rules.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.yml") && stderr.contains("could not parse expression"), "{stderr}");
    let out = Command::new(pulsedb_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--rules", &format!("{}/nothing-*.yml", dir.path().display())])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no file"));
}

fn rule_names(server: &TestServer) -> Vec<String> {
    let (code, json) = server.json("/api/v1/rules");
    assert_eq!(code, 200, "{json}");
    json["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn reload_swaps_a_good_set_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    let write = |name: &str| {
        std::fs::write(
            &rules,
            format!("groups:\n- name: g\n  interval: 1s\n  rules:\n  - record: {name}\n    expr: vector(1)\n"),
        )
        .unwrap();
    };
    write("first");
    let server = TestServer::start(&dir.path().join("data"), &["--rules", rules.to_str().unwrap()]);
    assert_eq!(rule_names(&server), ["first"]);
    // POST /-/reload picks up a changed file.
    write("second");
    assert_eq!(server.post("/-/reload", "text/plain", b"").0, 200);
    assert_eq!(rule_names(&server), ["second"]);
    // A broken file is refused with the reason; the running rules stay.
    std::fs::write(&rules, "groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(up\n").unwrap();
    let (code, body) = server.post("/-/reload", "text/plain", b"");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("could not parse expression"), "{body}");
    assert_eq!(rule_names(&server), ["second"]);
    // SIGHUP reloads too.
    write("third");
    let status = Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while rule_names(&server) != ["third"] {
        assert!(Instant::now() < deadline, "SIGHUP did not reload: {:?}", rule_names(&server));
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `(t, value)` of every sample of `query`'s series over the last 10 minutes.
fn recorded(server: &TestServer, series: &str) -> Vec<(String, String)> {
    let now = now_ms() / 1000 + 5;
    let q = format!("/api/v1/query?query={}&time={now}", enc(&format!("{series}[10m]")));
    let (code, json) = server.json(&q);
    assert_eq!(code, 200, "{json}");
    json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["values"].as_array().unwrap().iter().map(|p| (p[0].to_string(), p[1].as_str().unwrap().to_string()))
        })
        .collect()
}

#[test]
fn recorded_series_survive_kill_9_and_equal_their_query() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: r\n  interval: 1s\n  rules:\n  - record: load:sum\n    expr: sum(load_v)\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = ["--rules", rules.to_str().unwrap()];
    let server = TestServer::start(&data, &args);
    let now = now_ms() / 1000;
    let lines: String = (0..60).map(|i| format!("load,host=h{} v={i} {}\n", i % 3, now - 60 + i)).collect();
    assert_eq!(server.post("/write?precision=s", "text/plain", lines.as_bytes()).0, 204);
    let deadline = Instant::now() + Duration::from_secs(15);
    while recorded(&server, "load:sum").len() < 3 {
        assert!(Instant::now() < deadline, "fewer than 3 evaluations in 15 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Each recorded sample equals the query it records, at its time.
    for (t, v) in recorded(&server, "load:sum") {
        let (_, json) = server.json(&format!("/api/v1/query?query={}&time={t}", enc("sum(load_v)")));
        assert_eq!(json["data"]["result"][0]["value"][1].as_str(), Some(v.as_str()), "at {t}: {json}");
    }
    let before = recorded(&server, "load:sum");
    let status = server.stop_with("KILL");
    assert!(!status.success());
    // Restarted (without rules, so nothing new is written): every sample seen is there.
    let server = TestServer::start(&data, &[]);
    let after = recorded(&server, "load:sum");
    for sample in &before {
        assert!(after.contains(sample), "{sample:?} lost after kill -9: {after:?}");
    }
}
