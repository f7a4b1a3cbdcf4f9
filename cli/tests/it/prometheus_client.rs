//! A real Prometheus (Debian's package; `scripts/setup-deps.sh` installs
//! it) as pulsedb's client: it scrapes pulsedb's `/metrics` and itself
//! every second and remote-writes everything it scrapes to pulsedb. After
//! ~20 s (PULSEDB_PROM_CLIENT_SECONDS), the scraped series must be in
//! pulsedb with plausible values, and a set of range queries must give the
//! same answers from Prometheus' API and pulsedb's over the same window.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pulsedb_formats::api_compare::compare;
use pulsedb_testkit::server::{enc, free_port, now_ms, TestServer};
use serde_json::Value as Json;

/// Queries compared between the two, each as a range query at 1 s steps.
const QUERIES: &[&str] = &[
    "up",
    "sum by (job) (up)",
    "pulsedb_head_series",
    "rate(pulsedb_samples_ingested_total[5s])",
    "increase(prometheus_http_requests_total[10s])",
    "sum by (job) (rate(scrape_samples_scraped[5s]))",
    "max_over_time(scrape_duration_seconds[10s])",
    "avg_over_time(pulsedb_head_chunks[5s])",
    "histogram_quantile(0.9, sum by (le) (rate(pulsedb_http_request_duration_seconds_bucket[10s])))",
    "count by (job) (count by (__name__, job) ({__name__=~\".+\"}))",
    "topk(3, prometheus_tsdb_head_series)",
    "scrape_samples_scraped - scrape_samples_post_metric_relabeling",
    "delta(process_resident_memory_bytes[10s]) > bool 0",
    "changes(pulsedb_blocks[10s])",
];

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get_json(url: &str) -> Json {
    let body = ureq::get(url).call().unwrap_or_else(|e| panic!("{url}: {e}")).into_string().unwrap();
    serde_json::from_str(&body).unwrap()
}

#[test]
fn real_prometheus_remote_writes_and_answers_alike() {
    let Ok(version) = Command::new("prometheus").arg("--version").output() else {
        panic!("prometheus is not installed: run scripts/setup-deps.sh (Debian package `prometheus`)");
    };
    let version = String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or("").to_string()
        + String::from_utf8_lossy(&version.stderr).lines().next().unwrap_or("");
    let seconds: u64 = std::env::var("PULSEDB_PROM_CLIENT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);

    let tmp = tempfile::tempdir().unwrap();
    let pulsedb = TestServer::start(&tmp.path().join("pulsedb"), &[]);
    let pulsedb_hostport = pulsedb.base.trim_start_matches("http://").to_string();
    let prom_port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: pulsedb\n    static_configs: [{{targets: ['{pulsedb_hostport}']}}]\n\
         \x20 - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{prom_port}']}}]\n\
         remote_write:\n\
         \x20 - url: {}/api/v1/write\n    queue_config: {{batch_send_deadline: 200ms, max_samples_per_send: 2000}}\n",
        pulsedb.base
    );
    let config_path = tmp.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let log = std::fs::File::create(tmp.path().join("prometheus.log")).unwrap();
    let prometheus = Prometheus(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", tmp.path().join("prom-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let prom = format!("http://127.0.0.1:{prom_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("{prom}/-/ready")).call().is_err() {
        assert!(Instant::now() < deadline, "Prometheus did not become ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    let started = now_ms();
    std::thread::sleep(Duration::from_secs(seconds));

    // Plausible values of the scraped series, read through pulsedb's API.
    let instant = |q: &str| {
        let (code, json) = pulsedb.json(&format!("/api/v1/query?query={}", enc(q)));
        assert_eq!(code, 200, "{q}: {json}");
        json["data"]["result"].as_array().unwrap().clone()
    };
    let up = instant("up");
    assert_eq!(up.len(), 2, "both targets' up series arrived: {up:?}");
    assert!(up.iter().all(|s| s["value"][1] == "1"), "{up:?}");
    let ingested = instant("pulsedb_samples_ingested_total");
    let ingested: f64 = ingested[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(ingested > 1000.0, "pulsedb counted only {ingested} samples ingested");
    let scrapes = instant("count_over_time(up{job=\"pulsedb\"}[1h])");
    let scrapes: f64 = scrapes[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(scrapes >= seconds as f64 * 0.6, "only {scrapes} scrapes in {seconds} s at a 1 s interval");
    let durations = instant("scrape_duration_seconds");
    assert!(durations.iter().all(|s| {
        let d: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
        d > 0.0 && d < 1.0
    }));
    let series = instant("count({__name__=~\".+\"})");
    let series: f64 = series[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(series > 100.0, "only {series} series arrived");

    // The same range queries through both APIs, over a window both have
    // complete (remote-write lags scrapes by well under 3 s here).
    let end = (now_ms() - 3_000) / 1000;
    let start = started / 1000 + 3;
    let mut compared = 0;
    let mut points = 0;
    for q in QUERIES {
        let path = format!("/api/v1/query_range?query={}&start={start}&end={end}&step=1", enc(q));
        let want = get_json(&format!("{prom}{path}"));
        let got = get_json(&pulsedb.url(&path));
        assert_eq!((&got["status"], &want["status"]), (&"success".into(), &"success".into()), "{q}");
        let series = want["data"]["result"].as_array().unwrap();
        assert!(!series.is_empty(), "{q}: Prometheus returned nothing");
        compare(&got["data"], &want["data"]).unwrap_or_else(|d| panic!("{q}: pulsedb vs Prometheus: {d}"));
        points += series.iter().map(|s| s["values"].as_array().map_or(0, Vec::len)).sum::<usize>();
        compared += 1;
    }
    eprintln!(
        "{version}: {compared} range queries over {} s, {points} points, identical; {series} series, \
         {ingested} samples ingested",
        end - start
    );
    drop(prometheus);
}
