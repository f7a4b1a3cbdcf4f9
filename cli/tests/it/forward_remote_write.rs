//! Forwarding from the WAL to real receivers on loopback — VictoriaMetrics
//! (the same ingest API as a cluster's vminsert) and Prometheus with its
//! remote-write receiver (strict: it refuses out-of-order samples) — through
//! a fault-injecting proxy (`pulsedb_testkit::fault_proxy`): an outage with
//! pulsedb killed by SIGKILL in the middle loses no acknowledged sample; 503,
//! 429 with Retry-After, hangs and 400 are each handled as the remote-write
//! spec says; several shards keep every series in order for a strict receiver.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pulsedb::{Batch, Labels};
use pulsedb_formats::remote::encode_write;
use pulsedb_testkit::fault_proxy::{FaultProxy, Mode};
use pulsedb_testkit::server::{enc, free_port, now_ms, TestServer};

/// A receiver process, stopped by PID when dropped.
struct Receiver {
    child: Child,
    base: String,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(url).call().is_err() {
        assert!(Instant::now() < deadline, "{url} did not answer within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn victoria_metrics(dir: &Path) -> Receiver {
    let port = free_port();
    let child = Command::new("victoria-metrics")
        .arg(format!("-storageDataPath={}", dir.display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg("-retentionPeriod=100y")
        .arg("-search.latencyOffset=0s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("victoria-metrics is not installed: run scripts/setup-deps.sh");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/health"));
    Receiver { child, base }
}

fn prometheus_receiver(dir: &Path) -> Receiver {
    let port = free_port();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1h\n").unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus is not installed: run scripts/setup-deps.sh");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/-/ready"));
    Receiver { child, base }
}

/// What writers were acknowledged: series → timestamp → value.
type Acked = BTreeMap<String, BTreeMap<i64, f64>>;

/// One batch of `series` series × `per` samples, one a second from `t0`, acknowledged.
fn write(server: &TestServer, acked: &mut Acked, metric: &str, series: usize, per: i64, t0: i64) {
    let mut batch = Batch::new();
    for s in 0..series {
        let labels = Labels::metric(metric, [("series", format!("s{s:03}"))]);
        let samples: Vec<pulsedb::Sample> =
            (0..per).map(|i| pulsedb::Sample::new(t0 + i * 1000, (t0 / 1000 + i) as f64 + s as f64 / 1000.0)).collect();
        for x in &samples {
            acked.entry(labels.to_string()).or_default().insert(x.t, x.v);
        }
        batch.add(labels, samples);
    }
    let (code, body) = server.remote_write(&encode_write(&batch));
    assert_eq!(code, 204, "{body}");
}

/// Every sample VictoriaMetrics holds for `metric`, by series.
fn exported(vm: &Receiver, metric: &str) -> Acked {
    let _ = ureq::get(&format!("{}/internal/force_flush", vm.base)).call();
    let body =
        ureq::get(&format!("{}/api/v1/export?match[]={}", vm.base, enc(metric))).call().unwrap().into_string().unwrap();
    let mut got = Acked::new();
    for line in body.lines().filter(|l| !l.is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let labels = Labels::new(
            row["metric"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())),
        );
        let entry = got.entry(labels.to_string()).or_default();
        for (t, v) in row["timestamps"].as_array().unwrap().iter().zip(row["values"].as_array().unwrap()) {
            entry.insert(t.as_i64().unwrap(), v.as_f64().unwrap());
        }
    }
    got
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_outage_with_a_kill_in_it_loses_no_acknowledged_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let vm = victoria_metrics(&tmp.path().join("vm"));
    let proxy = FaultProxy::start(&vm.base);
    let data = tmp.path().join("pulsedb");
    let url = proxy.url("/api/v1/write");
    let flags = ["--remote-write-url", url.as_str(), "--remote-write-shutdown-timeout", "2s"];
    let mut acked = Acked::new();
    let t0 = now_ms() / 1000 * 1000 - 3_600_000;
    let mut t = t0;
    let mut server = TestServer::start(&data, &flags);
    for _ in 0..10 {
        write(&server, &mut acked, "fwd_outage", 20, 10, t);
        t += 10_000;
    }
    wait_for("the first batches forwarded", Duration::from_secs(30), || exported(&vm, "fwd_outage") == acked);

    // The receiver goes down; writers go on; pulsedb is killed and restarted in the middle.
    proxy.set(Mode::Down);
    for _ in 0..10 {
        write(&server, &mut acked, "fwd_outage", 20, 10, t);
        t += 10_000;
    }
    std::thread::sleep(Duration::from_millis(1500));
    server.stop_with("KILL");
    server = TestServer::start(&data, &flags);
    for _ in 0..10 {
        write(&server, &mut acked, "fwd_outage", 20, 10, t);
        t += 10_000;
    }
    wait_for("the backlog shown while the receiver is down", Duration::from_secs(10), || {
        let (_, status) = server.json("/api/v1/status/forwarding");
        status["data"][0]["lagBytes"].as_u64().unwrap_or(0) > 0
    });
    proxy.set(Mode::Pass);
    wait_for("every acknowledged sample at the receiver", Duration::from_secs(60), || {
        exported(&vm, "fwd_outage") == acked
    });
    assert_eq!(acked.values().map(BTreeMap::len).sum::<usize>(), 20 * 10 * 30);
    assert_eq!(server.metric("pulsedb_forward_samples_dropped_total"), 0.0);
    // `pulsedb inspect` shows the position, after a clean stop.
    server.stop_with("TERM");
    let out = Command::new(pulsedb_testkit::server::pulsedb_bin()).arg("inspect").arg(&data).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("forwarding ") && text.contains("sent through WAL segment"), "{text}");
}

#[test]
fn receiver_errors_are_handled_as_the_spec_says() {
    let tmp = tempfile::tempdir().unwrap();
    let vm = victoria_metrics(&tmp.path().join("vm"));
    let proxy = FaultProxy::start(&vm.base);
    let config = tmp.path().join("remote.yml");
    std::fs::write(
        &config,
        format!(
            "remote_write:\n  - url: {}\n    name: vm\n    remote_timeout: 1s\n    queue_config: {{min_backoff: 50ms, max_backoff: 400ms}}\n",
            proxy.url("/api/v1/write")
        ),
    )
    .unwrap();
    let server = TestServer::start(&tmp.path().join("pulsedb"), &["--remote-write-config", config.to_str().unwrap()]);
    let mut acked = Acked::new();
    let mut t = now_ms() / 1000 * 1000 - 3_600_000;
    let mut step = |mode: Mode, acked: &mut Acked, hold: Duration| {
        proxy.set(mode);
        write(&server, acked, "fwd_errors", 5, 10, t);
        t += 10_000;
        std::thread::sleep(hold);
        proxy.set(Mode::Pass);
    };
    // 503 and a hang: retried until the receiver answers, then delivered.
    step(Mode::Status(503, None), &mut acked, Duration::from_millis(800));
    step(Mode::Hang, &mut acked, Duration::from_millis(2500));
    wait_for("503 and hang retried and delivered", Duration::from_secs(30), || exported(&vm, "fwd_errors") == acked);
    assert!(server.metric("pulsedb_forward_requests_total{destination=\"vm\",outcome=\"failed\"") >= 2.0);
    // 429 with Retry-After: 2: nothing sent again before 2 s.
    let before = proxy.requests.load(std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    proxy.set(Mode::Status(429, Some(2)));
    write(&server, &mut acked, "fwd_errors", 5, 10, t);
    t += 10_000;
    wait_for("the 429", Duration::from_secs(10), || proxy.requests.load(std::sync::atomic::Ordering::Relaxed) > before);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(proxy.requests.load(std::sync::atomic::Ordering::Relaxed), before + 1, "no retry before Retry-After");
    proxy.set(Mode::Pass);
    wait_for("429 delivered after Retry-After", Duration::from_secs(30), || exported(&vm, "fwd_errors") == acked);
    assert!(started.elapsed() >= Duration::from_secs(2));
    // 400: that request is dropped and counted; the next one goes through.
    let mut refused = Acked::new();
    proxy.set(Mode::Status(400, None));
    write(&server, &mut refused, "fwd_errors_refused", 5, 10, t);
    wait_for("the 400 counted", Duration::from_secs(10), || {
        server.metric("pulsedb_forward_samples_dropped_total{destination=\"vm\",reason=\"refused\"}") == 50.0
    });
    proxy.set(Mode::Pass);
    t += 10_000;
    write(&server, &mut acked, "fwd_errors", 5, 10, t);
    wait_for("after the 400, delivery goes on", Duration::from_secs(30), || exported(&vm, "fwd_errors") == acked);
    assert!(exported(&vm, "fwd_errors_refused").is_empty());
    let (_, status) = server.json("/api/v1/status/forwarding");
    assert_eq!(status["data"][0]["name"], "vm");
    assert_eq!(status["data"][0]["samplesDropped"]["refused"], 50, "{status}");
}

#[test]
fn several_shards_keep_each_series_in_order_for_a_strict_receiver() {
    let tmp = tempfile::tempdir().unwrap();
    let prom = prometheus_receiver(tmp.path());
    let config = tmp.path().join("remote.yml");
    std::fs::write(
        &config,
        format!(
            "remote_write:\n  - url: {}/api/v1/write\n    name: prom\n    queue_config: {{min_shards: 4, max_shards: 4, max_samples_per_send: 100}}\n",
            prom.base
        ),
    )
    .unwrap();
    let server = TestServer::start(
        &tmp.path().join("pulsedb"),
        &["--remote-write-config", config.to_str().unwrap(), "--external-label", "replica=a"],
    );
    let mut acked = Acked::new();
    // Recent samples: Prometheus refuses those older than its head allows.
    let mut t = now_ms() / 1000 * 1000 - 600_000;
    for _ in 0..30 {
        write(&server, &mut acked, "fwd_strict", 50, 10, t);
        t += 10_000;
    }
    let want = (50 * 10 * 30) as f64;
    wait_for("every sample in Prometheus", Duration::from_secs(60), || {
        let q = format!(
            "{}/api/v1/query?query={}&time={}",
            prom.base,
            enc("sum(count_over_time(fwd_strict{replica=\"a\"}[1h]))"),
            t / 1000
        );
        let body: serde_json::Value =
            serde_json::from_str(&ureq::get(&q).call().unwrap().into_string().unwrap()).unwrap();
        body["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()) == Some(want)
    });
    assert_eq!(server.metric("pulsedb_forward_samples_dropped_total"), 0.0, "nothing refused as out of order");
    assert_eq!(server.metric("pulsedb_forward_shards{destination=\"prom\"}"), 4.0);
}

#[test]
fn a_dead_destination_does_not_hold_back_a_live_one() {
    let tmp = tempfile::tempdir().unwrap();
    let vm = victoria_metrics(&tmp.path().join("vm"));
    let dead = FaultProxy::start(&vm.base);
    dead.set(Mode::Down);
    let config = tmp.path().join("remote.yml");
    std::fs::write(
        &config,
        format!(
            "remote_write:\n  - url: {}/api/v1/write\n    name: live\n  - url: {}\n    name: dead\n    queue_config: {{max_backoff: 200ms}}\n",
            vm.base,
            dead.url("/api/v1/write")
        ),
    )
    .unwrap();
    let server = TestServer::start(&tmp.path().join("pulsedb"), &["--remote-write-config", config.to_str().unwrap()]);
    let mut acked = Acked::new();
    let mut t = now_ms() / 1000 * 1000 - 3_600_000;
    let started = Instant::now();
    for _ in 0..50 {
        write(&server, &mut acked, "fwd_two", 20, 10, t);
        t += 10_000;
    }
    let writing = started.elapsed();
    wait_for("the live destination has everything", Duration::from_secs(30), || exported(&vm, "fwd_two") == acked);
    assert!(writing < Duration::from_secs(20), "50 acknowledged writes took {writing:?}");
    let (_, status) = server.json("/api/v1/status/forwarding");
    let by_name = |n: &str| status["data"].as_array().unwrap().iter().find(|d| d["name"] == n).unwrap().clone();
    assert_eq!(by_name("live")["samplesSent"], 10_000, "{status}");
    assert_eq!(by_name("dead")["samplesSent"], 0, "{status}");
    assert!(by_name("dead")["requestsFailed"].as_u64().unwrap() > 0, "{status}");
}

#[test]
fn a_sample_pulsedb_took_out_of_order_is_forwarded_and_a_strict_refusal_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let prom = prometheus_receiver(tmp.path());
    let server =
        TestServer::start(&tmp.path().join("pulsedb"), &["--remote-write-url", &format!("{}/api/v1/write", prom.base)]);
    let now = now_ms() / 1000 * 1000;
    let mut acked = Acked::new();
    write(&server, &mut acked, "fwd_ooo", 1, 1, now - 10_000);
    wait_for("the in-order sample forwarded", Duration::from_secs(30), || {
        server.metric("pulsedb_forward_samples_sent_total") == 1.0
    });
    // Within pulsedb's out-of-order window, so pulsedb accepts it; Prometheus 2.42 refuses it.
    write(&server, &mut acked, "fwd_ooo", 1, 1, now - 60_000);
    wait_for("the refusal counted, not retried", Duration::from_secs(30), || {
        server.metric("pulsedb_forward_samples_dropped_total{destination=") == 1.0
    });
    let (_, status) = server.json("/api/v1/status/forwarding");
    let error = status["data"][0]["lastError"].as_str().unwrap();
    assert!(error.starts_with("HTTP 400") && error.contains("out of order"), "{status}");
    // And forwarding goes on.
    write(&server, &mut acked, "fwd_ooo", 1, 1, now);
    wait_for("the next sample forwarded", Duration::from_secs(30), || {
        server.metric("pulsedb_forward_samples_sent_total") == 2.0
    });
}

#[test]
fn over_tls_with_a_custom_ca_a_token_file_and_a_tenant_header() {
    let tmp = tempfile::tempdir().unwrap();
    crate::server_tls_auth::make_pki(tmp.path());
    let token = "forwarder-secret";
    // The receiver: another pulsedb with TLS, where the token may only write.
    std::fs::write(
        tmp.path().join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
             pulsedb_bearer_tokens:\n  - name: forwarder\n    token_sha256: {}\n    roles: [write]\n",
            crate::server_tls_auth::sha256_hex(token)
        ),
    )
    .unwrap();
    let receiver = TestServer::start(
        &tmp.path().join("receiver"),
        &["--web.config.file", tmp.path().join("web.yml").to_str().unwrap()],
    );
    let receiver_url = receiver.base.replace("http://", "https://");
    std::fs::write(tmp.path().join("token"), format!("{token}\n")).unwrap();
    std::fs::write(
        tmp.path().join("remote.yml"),
        format!(
            "remote_write:\n  - url: {receiver_url}/api/v1/write\n    name: tls\n    headers: {{X-Scope-OrgID: tenant-1}}\n\
             \x20   authorization: {{credentials_file: token}}\n    tls_config: {{ca_file: ca.crt}}\n"
        ),
    )
    .unwrap();
    let server = TestServer::start(
        &tmp.path().join("pulsedb"),
        &["--remote-write-config", tmp.path().join("remote.yml").to_str().unwrap()],
    );
    let mut acked = Acked::new();
    write(&server, &mut acked, "fwd_tls", 10, 10, now_ms() / 1000 * 1000 - 60_000);
    wait_for("forwarded over TLS with the token", Duration::from_secs(30), || {
        server.metric("pulsedb_forward_samples_sent_total") == 100.0
    });
    assert_eq!(server.metric("pulsedb_forward_samples_dropped_total"), 0.0);
}

#[test]
fn past_the_backlog_limit_the_oldest_is_skipped_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let vm = victoria_metrics(&tmp.path().join("vm"));
    let proxy = FaultProxy::start(&vm.base);
    proxy.set(Mode::Down);
    std::fs::write(
        tmp.path().join("remote.yml"),
        format!(
            "remote_write:\n  - url: {}\n    name: vm\n    queue_config: {{max_backoff: 100ms}}\n    pulsedb_max_backlog_bytes: 200000\n",
            proxy.url("/api/v1/write")
        ),
    )
    .unwrap();
    // Small WAL segments, so the limit can skip whole ones.
    let server = TestServer::start(
        &tmp.path().join("pulsedb"),
        &["--remote-write-config", tmp.path().join("remote.yml").to_str().unwrap(), "--wal-segment-size", "65536"],
    );
    let mut acked = Acked::new();
    let mut t = now_ms() / 1000 * 1000 - 3_600_000;
    for _ in 0..60 {
        write(&server, &mut acked, "fwd_backlog", 50, 10, t);
        t += 10_000;
    }
    wait_for("the backlog limit enforced", Duration::from_secs(40), || {
        server.metric("pulsedb_forward_backlog_skipped_bytes_total") > 0.0
    });
    proxy.set(Mode::Pass);
    let mut last = Acked::new();
    write(&server, &mut last, "fwd_backlog_after", 5, 1, t);
    wait_for("forwarding goes on after the skip", Duration::from_secs(40), || {
        exported(&vm, "fwd_backlog_after") == last
    });
    // The newest batches (within the limit) arrive, the oldest do not.
    let written: usize = acked.values().map(BTreeMap::len).sum();
    wait_for("the newest batches within the limit", Duration::from_secs(40), || {
        exported(&vm, "fwd_backlog").values().any(|s| s.contains_key(&(t - 10_000 + 9_000)))
    });
    let got = exported(&vm, "fwd_backlog");
    let arrived: usize = got.values().map(BTreeMap::len).sum();
    assert!(arrived > 0 && arrived < written, "the oldest were skipped: {arrived} of {written} arrived");
    let oldest = acked.values().next().and_then(|s| s.keys().next()).copied().unwrap();
    assert!(got.values().all(|s| !s.contains_key(&oldest)), "the oldest batch was skipped");
    let skipped = server.metric("pulsedb_forward_backlog_skipped_bytes_total");
    assert!(skipped > 0.0 && skipped < 305_000.0, "some, not all, of the WAL skipped: {skipped}");
}

#[test]
fn a_slow_receiver_gets_more_shards_and_shutdown_waits_only_its_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let vm = victoria_metrics(&tmp.path().join("vm"));
    let proxy = FaultProxy::start(&vm.base);
    // 150 ms a request: one shard sending 100 samples at a time keeps up with ~670 samples/s.
    proxy.set(Mode::Slow(150));
    std::fs::write(
        tmp.path().join("remote.yml"),
        format!(
            "remote_write:\n  - url: {}\n    name: slow\n    queue_config: {{min_shards: 1, max_shards: 8, max_samples_per_send: 100}}\n",
            proxy.url("/api/v1/write")
        ),
    )
    .unwrap();
    let data = tmp.path().join("pulsedb");
    let config = tmp.path().join("remote.yml");
    let flags = ["--remote-write-config", config.to_str().unwrap(), "--remote-write-shutdown-timeout", "2s"];
    let server = TestServer::start(&data, &flags);
    let mut acked = Acked::new();
    // 1,200 samples a second, each second's at its own time: nearly twice what one shard sends.
    let started = Instant::now();
    let mut t = now_ms() / 1000 * 1000;
    let mut grew = false;
    while started.elapsed() < Duration::from_secs(40) && !grew {
        write(&server, &mut acked, "fwd_slow", 1200, 1, t);
        t += 1000;
        std::thread::sleep(Duration::from_millis(1000));
        grew = server.metric("pulsedb_forward_shards{destination=\"slow\"}") >= 2.0;
    }
    assert!(grew, "the shard count grew with the lag within 40 s: {}", server.json("/api/v1/status/forwarding").1);
    // The receiver hangs; a graceful stop waits its 2 s for forwarding, then exits.
    proxy.set(Mode::Hang);
    write(&server, &mut acked, "fwd_slow", 1200, 1, t);
    let stopping = Instant::now();
    let status = server.stop_with("TERM");
    assert!(status.success(), "{status:?}");
    assert!(stopping.elapsed() < Duration::from_secs(12), "stopped after {:?}", stopping.elapsed());
    // What was not sent resumes at the next start.
    proxy.set(Mode::Pass);
    let server = TestServer::start(&data, &flags);
    wait_for("everything forwarded after the restart", Duration::from_secs(60), || exported(&vm, "fwd_slow") == acked);
    drop(server);
}

#[test]
fn after_a_kill_what_was_sent_since_the_last_saved_position_is_resent_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let vm = victoria_metrics(&tmp.path().join("vm"));
    let data = tmp.path().join("pulsedb");
    let url = format!("{}/api/v1/write", vm.base);
    let flags = ["--remote-write-url", url.as_str()];
    let server = TestServer::start(&data, &flags);
    let mut acked = Acked::new();
    let mut t = now_ms() / 1000 * 1000 - 3_600_000;
    // Writes every 100 ms, so some are sent after the last once-a-second save when the kill comes.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(3500) {
        write(&server, &mut acked, "fwd_resent", 10, 1, t);
        t += 1000;
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for("everything sent before the kill", Duration::from_secs(30), || {
        server.metric("pulsedb_forward_samples_sent_total") as usize == acked.values().map(BTreeMap::len).sum::<usize>()
    });
    server.stop_with("KILL");
    let server = TestServer::start(&data, &flags);
    // Re-sent samples are counted as they are read back from the WAL, sent
    // ones once the receiver acknowledges them: wait for both.
    wait_for("the re-sent batches counted and acknowledged", Duration::from_secs(30), || {
        let resent = server.metric("pulsedb_forward_samples_resent_total");
        resent > 0.0 && server.metric("pulsedb_forward_samples_sent_total") >= resent
    });
    let resent = server.metric("pulsedb_forward_samples_resent_total");
    assert!(resent <= 10.0 * 20.0, "at most about a second's worth re-sent: {resent}");
    assert_eq!(server.metric("pulsedb_forward_samples_sent_total"), resent, "only the re-sent batches went again");
    assert_eq!(exported(&vm, "fwd_resent"), acked, "duplicates change nothing at the receiver");
}
