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
        "groups:\n- name: fast\n  interval: 1s\n  rules:\n  - record: job:load:sum\n    expr: sum by (job) (load_v)\n    labels:\n      source: rule\n",
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
