//! A real `pulsedb serve` process for integration tests: started on
//! `127.0.0.1:0` with its own data directory, spoken to over real HTTP
//! (ureq), stopped with a real SIGTERM or SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A TCP port free on 127.0.0.1 at the time of the call, for a peer
/// (Prometheus, Alertmanager) that cannot listen on port 0 and report it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}

/// The `pulsedb` binary the tests run: `$PULSEDB_BIN` if set, else the one
/// cargo built beside the running test (`target/<profile>/pulsedb`, the
/// test itself being in `target/<profile>/deps/`). Cargo builds it before
/// the integration tests of `pulsedb-cli`, the package that owns it.
pub fn pulsedb_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PULSEDB_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("test binary under target/<profile>/deps");
    let bin = profile_dir.join(format!("pulsedb{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} not built: run the tests of pulsedb-cli (or set PULSEDB_BIN)", bin.display());
    bin
}

pub struct TestServer {
    child: Option<Child>,
    pub base: String,
    pub dir: PathBuf,
}

impl TestServer {
    /// Starts the server on `dir` with extra flags and waits until it listens.
    pub fn start(dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(pulsedb_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            // Tests count series: pulsedb's own arrive only where a test asks for them.
            .args(if extra.contains(&"--self-monitor-interval") {
                &[][..]
            } else {
                &["--self-monitor-interval", "0"][..]
            })
            .args(extra)
            .args(["--log-level", "warn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning pulsedb serve");
        let stdout = child.stdout.take().expect("child stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("server exited before listening").expect("reading server stdout");
        let base = first
            .strip_prefix("pulsedb listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {first:?}"))
            .to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child: Some(child), base, dir: dir.to_path_buf() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Sends `signal` (e.g. "TERM", "KILL") and waits for the exit.
    pub fn stop_with(mut self, signal: &str) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        let status = Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal} failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("waiting for the server") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit within 60 s of SIG{signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        respond(ureq::get(&self.url(path)).call())
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        respond(ureq::post(&self.url(path)).set("Content-Type", content_type).send_bytes(body))
    }

    pub fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        let mut request = ureq::post(&self.url(path));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        respond(request.send_bytes(body))
    }

    /// POSTs a remote-write body (snappy protobuf) with the headers Prometheus sends.
    pub fn remote_write(&self, body: &[u8]) -> (u16, String) {
        self.post_with(
            "/api/v1/write",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "snappy"),
                ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ],
            body,
        )
    }

    /// GETs a JSON API path and parses the body.
    pub fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let (code, body) = self.get(path);
        (code, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}")))
    }

    /// Waits (up to 20 s, then panics saying `what`) until `metric(name)` is at most `at_most`.
    pub fn wait_for_metric_at_most(&self, name: &str, at_most: f64, what: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.metric(name) > at_most {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// The sum of every sample of the metric `name` (any labels; or a
    /// prefix of a series, `name{label="v"`, for those that match it) on
    /// the server's own `/metrics` page; 0 when it has none.
    pub fn metric(&self, name: &str) -> f64 {
        let (_, page) = self.get("/metrics");
        page.lines()
            .filter(|l| l.strip_prefix(name).is_some_and(|rest| name.contains('{') || rest.starts_with([' ', '{'])))
            .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
            .sum()
    }
}

fn respond(result: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match result {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("HTTP request failed: {e}"),
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// URL-encodes a query parameter value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
