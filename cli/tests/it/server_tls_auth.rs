//! TLS and authentication from `--web.config.file`, with real clients:
//! curl over TLS with a throwaway CA the test makes with openssl, Basic
//! auth users and bearer tokens with roles (read, write, admin), mutual TLS,
//! and a real Prometheus remote-writing over TLS with basic auth.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pulsedb_testkit::server::{free_port, TestServer};
use sha2::{Digest, Sha256};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all
/// signed by the CA, in `dir`.
pub(crate) fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=pulsedb test CA",
        ],
    );
    // Extensions make them version 3 certificates, which webpki requires.
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for name in ["server", "client"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        let (csr, crt, ext) = (format!("{name}.csr"), format!("{name}.crt"), format!("{name}.ext"));
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

pub(crate) fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// `curl` over TLS trusting the test CA; the HTTP status, or 0 when no
/// answer came (a refused handshake).
fn curl(base: &str, dir: &Path, path: &str, extra: &[&str]) -> u16 {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "--cacert"])
        .arg(dir.join("ca.crt"))
        .args(extra)
        .arg(format!("{base}{path}"))
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}

/// The body of a GET over TLS trusting the test CA, as `user:password`.
fn curl_body(base: &str, dir: &Path, path: &str, user: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20", "--cacert"])
        .arg(dir.join("ca.crt"))
        .args(["-u", user])
        .arg(format!("{base}{path}"))
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn web_config(dir: &Path, client_auth: &str) -> std::path::PathBuf {
    let config = format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n  \
         client_auth_type: {client_auth}\n\
         basic_auth_users:\n  root: {}\n  grafana: {}\n  agent: {}\n\
         pulsedb_user_roles:\n  grafana: [read]\n  agent: [write]\n\
         pulsedb_bearer_tokens:\n\
         \x20 - name: reader\n    token_sha256: {}\n    roles: [read]\n\
         \x20 - name: writer\n    token_sha256: {}\n    roles: [write]\n\
         \x20 - name: old\n    token_sha256: {}\n    roles: [read, write, admin]\n    expires: 2020-01-01T00:00:00Z\n",
        hash("rootpw"),
        hash("grafanapw"),
        hash("agentpw"),
        sha256_hex("read-token"),
        sha256_hex("write-token"),
        sha256_hex("old-token"),
    );
    let path = dir.join(format!("web-{client_auth}.yml"));
    std::fs::write(&path, config).unwrap();
    path
}

#[test]
fn roles_users_and_tokens_over_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path();
    make_pki(pki);
    let config = web_config(pki, "VerifyClientCertIfGiven");
    let server = TestServer::start(&pki.join("data"), &["--web.config.file", config.to_str().unwrap()]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let base = server.base.replace("127.0.0.1", "localhost");
    let c = |path: &str, extra: &[&str]| curl(&base, pki, path, extra);
    let line = ["-X", "POST", "--data-binary", "tls,host=a v=1"];
    let with = |auth: &[&'static str], rest: &[&'static str]| -> Vec<&'static str> { [auth, rest].concat() };
    let (root, grafana, agent) = (["-u", "root:rootpw"], ["-u", "grafana:grafanapw"], ["-u", "agent:agentpw"]);
    let bearer = |t: &'static str| -> [&'static str; 2] {
        ["-H", Box::leak(format!("Authorization: Bearer {t}").into_boxed_str())]
    };

    // Without or with wrong credentials: 401, even for paths that exist nowhere.
    assert_eq!(c("/api/v1/query?query=up", &[]), 401);
    assert_eq!(c("/api/v1/query?query=up", &["-u", "grafana:wrong"]), 401);
    assert_eq!(c("/api/v1/query?query=up", &["-u", "nobody:x"]), 401);
    assert_eq!(c("/-/healthy", &[]), 401);
    // Users by role: a reader cannot write, a writer cannot read.
    assert_eq!(c("/write", &with(&agent, &line)), 204);
    assert_eq!(c("/write", &with(&grafana, &line)), 403);
    assert_eq!(c("/api/v1/query?query=tls_v", &grafana), 200);
    assert_eq!(c("/api/v1/query?query=tls_v", &agent), 403);
    assert_eq!(c("/api/v1/admin/tsdb/snapshot", &with(&agent, &["-X", "POST"])), 403);
    assert_eq!(c("/api/v1/admin/tsdb/snapshot", &with(&grafana, &["-X", "POST"])), 403);
    assert_eq!(c("/api/v1/admin/tsdb/snapshot", &with(&root, &["-X", "POST"])), 200, "root has every role");
    assert_eq!(c("/-/healthy", &grafana), 200);
    // The cached second check of a password answers the same.
    assert_eq!(c("/api/v1/query?query=tls_v", &grafana), 200);
    // Tokens: a read token refused on write, a write token on query and admin.
    assert_eq!(c("/api/v1/query?query=tls_v", &bearer("read-token")), 200);
    assert_eq!(c("/write", &with(&bearer("read-token"), &line)), 403);
    assert_eq!(c("/write", &with(&bearer("write-token"), &line)), 204);
    assert_eq!(c("/api/v1/query?query=tls_v", &bearer("write-token")), 403);
    assert_eq!(c("/api/v1/admin/tsdb/snapshot", &with(&bearer("write-token"), &["-X", "POST"])), 403);
    // Expired and unknown tokens: 401.
    assert_eq!(c("/api/v1/query?query=tls_v", &bearer("old-token")), 401);
    assert_eq!(c("/api/v1/query?query=tls_v", &bearer("no-such-token")), 401);
    // A client certificate, if given, must verify; this one does.
    let cert = ["--cert", "client.crt", "--key", "client.key"].map(|s| pki.join(s).to_string_lossy().into_owned());
    let cert: Vec<&str> = vec!["--cert", &cert[1], "--key", &cert[3]];
    assert_eq!(c("/api/v1/query?query=tls_v", &[cert.as_slice(), &grafana].concat()), 200);
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = server.base.replace("https://", "http://");
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"])
        .arg(format!("{plain}/-/healthy"))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&out.stdout).trim(), "200");
    // Failures are counted.
    let metrics = curl_body(&base, pki, "/metrics", "root:rootpw");
    let count = |reason: &str| -> f64 {
        let prefix = format!("pulsedb_http_auth_failures_total{{reason=\"{reason}\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {prefix}")).parse().unwrap()
    };
    assert!(count("unauthenticated") >= 6.0 && count("forbidden") >= 7.0, "{metrics}");
}

#[test]
fn mutual_tls_requires_a_certificate_from_the_client_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path();
    make_pki(pki);
    let config = web_config(pki, "RequireAndVerifyClientCert");
    let server = TestServer::start(&pki.join("data"), &["--web.config.file", config.to_str().unwrap()]);
    let base = server.base.replace("127.0.0.1", "localhost");
    let cert = pki.join("client.crt").to_string_lossy().into_owned();
    let key = pki.join("client.key").to_string_lossy().into_owned();
    assert_eq!(curl(&base, pki, "/-/healthy", &["-u", "root:rootpw"]), 0, "no client certificate, no handshake");
    assert_eq!(curl(&base, pki, "/-/healthy", &["-u", "root:rootpw", "--cert", &cert, "--key", &key]), 200);
    // A certificate the CA did not sign is refused.
    openssl(
        pki,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "rogue.key",
            "-out",
            "rogue.crt",
            "-days",
            "1",
            "-subj",
            "/CN=rogue",
        ],
    );
    let rogue = [pki.join("rogue.crt"), pki.join("rogue.key")].map(|p| p.to_string_lossy().into_owned());
    assert_eq!(curl(&base, pki, "/-/healthy", &["-u", "root:rootpw", "--cert", &rogue[0], "--key", &rogue[1]]), 0);
}

#[test]
fn a_bad_web_config_file_is_refused_at_start_naming_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("web.yml");
    std::fs::write(&path, "basic_auth_users:\n  a: not-a-hash\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pulsedb"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path().join("data"))
        .arg("--web.config.file")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("web.yml") && err.contains("not a bcrypt hash"), "{err}");
}

#[test]
fn prometheus_remote_writes_over_tls_with_basic_auth() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path();
    make_pki(pki);
    let config = web_config(pki, "NoClientCert");
    let server = TestServer::start(&pki.join("data"), &["--web.config.file", config.to_str().unwrap()]);
    let base = server.base.replace("127.0.0.1", "localhost");
    let prom_port = free_port();
    let prom_config = format!(
        "global:\n  scrape_interval: 1s\n\
         scrape_configs:\n  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{prom_port}']}}]\n\
         remote_write:\n  - url: {base}/api/v1/write\n    basic_auth: {{username: agent, password: agentpw}}\n    \
         tls_config: {{ca_file: {}}}\n    queue_config: {{batch_send_deadline: 200ms}}\n",
        pki.join("ca.crt").display()
    );
    std::fs::write(pki.join("prometheus.yml"), prom_config).unwrap();
    let mut prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", pki.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", pki.join("prom").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus is installed");
    let deadline = Instant::now() + Duration::from_secs(60);
    let arrived = loop {
        let body = curl_body(&base, pki, "/api/v1/query?query=up", "grafana:grafanapw");
        if body.contains("\"job\":\"prometheus\"") || Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    assert!(arrived.contains("\"job\":\"prometheus\""), "Prometheus' samples did not arrive over TLS: {arrived}");
}
