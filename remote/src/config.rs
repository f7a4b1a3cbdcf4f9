//! Destinations: one URL from a flag, or a file in Prometheus' own
//! `remote_write:` configuration format with the keys that apply to
//! pulsedb, plus a few of its own (`pulsedb_match`, `pulsedb_max_backlog_bytes`,
//! `pulsedb_max_backlog_age`). A key Prometheus has that pulsedb does not
//! implement, or a key neither knows, refuses the file, naming it: a
//! forwarding setting silently ignored is data silently sent wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pulsedb::Matcher;
use serde::Deserialize;

use crate::relabel::{Filter, Rule};

/// Why a destination configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("remote_write[{index}] ({url}): {message}")]
    Destination { index: usize, url: String, message: String },
}

/// How a destination is reached and what goes to it.
#[derive(Clone, Debug)]
pub struct Destination {
    /// Names its position file and its metrics (`name`, else derived from the URL).
    pub name: String,
    pub url: String,
    pub timeout: Duration,
    pub headers: Vec<(String, String)>,
    pub auth: Auth,
    pub tls: Option<TlsFiles>,
    pub(crate) filter: Filter,
    pub queue: Queue,
    /// Past this much unsent WAL (bytes) or this age, the oldest segments
    /// are skipped, counted and logged (default: neither).
    pub max_backlog_bytes: Option<u64>,
    pub max_backlog_age: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic { username: String, password: String },
    Bearer(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
}

/// Prometheus' `queue_config`, the keys that apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    pub min_shards: usize,
    pub max_shards: usize,
    pub max_samples_per_send: usize,
    pub batch_send_deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub retry_on_http_429: bool,
}

impl Default for Queue {
    fn default() -> Self {
        // Prometheus 2.42's defaults.
        Self {
            min_shards: 1,
            max_shards: 200,
            max_samples_per_send: 2000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            retry_on_http_429: true,
        }
    }
}

impl Destination {
    /// A destination with Prometheus' defaults for `url` (the `--remote-write-url` flag).
    pub fn for_url(url: &str) -> Result<Self, ConfigError> {
        let raw = RawDestination { url: url.to_string(), ..RawDestination::default() };
        raw.resolve(0, Path::new("."))
    }
}

/// Reads a file with a top-level `remote_write:` list, as in prometheus.yml.
/// Relative paths (password and token files, TLS files) are relative to the file.
pub fn load_file(path: &Path) -> Result<Vec<Destination>, ConfigError> {
    let file = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::File { file: file.clone(), message: e.to_string() })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base).map_err(|e| match e {
        ConfigError::File { message, .. } => ConfigError::File { file, message },
        other => ConfigError::File { file, message: other.to_string() },
    })
}

/// Parses the text of such a file.
pub fn parse(text: &str, base: &Path) -> Result<Vec<Destination>, ConfigError> {
    let file: RawFile =
        serde_yaml::from_str(text).map_err(|e| ConfigError::File { file: String::new(), message: e.to_string() })?;
    let destinations: Vec<Destination> =
        file.remote_write.into_iter().enumerate().map(|(i, d)| d.resolve(i, base)).collect::<Result<_, _>>()?;
    let mut names = std::collections::HashSet::new();
    for d in &destinations {
        if !names.insert(d.name.clone()) {
            return Err(ConfigError::File {
                file: String::new(),
                message: format!("two destinations are named {:?}: each needs its own name", d.name),
            });
        }
    }
    Ok(destinations)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    remote_write: Vec<RawDestination>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    url: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    remote_timeout: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    write_relabel_configs: Vec<RawRelabel>,
    #[serde(default)]
    basic_auth: Option<RawBasicAuth>,
    #[serde(default)]
    authorization: Option<RawAuthorization>,
    #[serde(default)]
    bearer_token: Option<String>,
    #[serde(default)]
    bearer_token_file: Option<String>,
    #[serde(default)]
    tls_config: Option<RawTls>,
    #[serde(default)]
    queue_config: Option<RawQueue>,
    // Prometheus keys pulsedb does not implement: refused by name below.
    #[serde(default)]
    metadata_config: Option<serde_yaml::Value>,
    #[serde(default)]
    sigv4: Option<serde_yaml::Value>,
    #[serde(default)]
    oauth2: Option<serde_yaml::Value>,
    #[serde(default)]
    azuread: Option<serde_yaml::Value>,
    #[serde(default)]
    proxy_url: Option<serde_yaml::Value>,
    #[serde(default)]
    send_exemplars: Option<bool>,
    #[serde(default)]
    send_native_histograms: Option<bool>,
    #[serde(default)]
    follow_redirects: Option<bool>,
    #[serde(default)]
    enable_http2: Option<bool>,
    // pulsedb's own.
    #[serde(default)]
    pulsedb_match: Vec<String>,
    #[serde(default)]
    pulsedb_max_backlog_bytes: Option<u64>,
    #[serde(default)]
    pulsedb_max_backlog_age: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasicAuth {
    username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthorization {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    credentials: Option<String>,
    #[serde(default)]
    credentials_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    #[serde(default)]
    ca_file: Option<String>,
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    insecure_skip_verify: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    #[serde(default)]
    capacity: Option<usize>,
    #[serde(default)]
    min_shards: Option<usize>,
    #[serde(default)]
    max_shards: Option<usize>,
    #[serde(default)]
    max_samples_per_send: Option<usize>,
    #[serde(default)]
    batch_send_deadline: Option<String>,
    #[serde(default)]
    min_backoff: Option<String>,
    #[serde(default)]
    max_backoff: Option<String>,
    #[serde(default)]
    retry_on_http_429: Option<bool>,
    #[serde(default)]
    sample_age_limit: Option<serde_yaml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabel {
    #[serde(default)]
    source_labels: Vec<String>,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    action: Option<String>,
    // Keys of actions pulsedb does not implement (replace, hashmod, …).
    #[serde(default)]
    target_label: Option<String>,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    modulus: Option<u64>,
}

impl RawDestination {
    fn resolve(self, index: usize, base: &Path) -> Result<Destination, ConfigError> {
        let url = self.url.clone();
        let fail = |message: String| ConfigError::Destination { index, url: url.clone(), message };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(fail("url must start with http:// or https://".into()));
        }
        let unsupported = [
            ("metadata_config", self.metadata_config.is_some()),
            ("sigv4", self.sigv4.is_some()),
            ("oauth2", self.oauth2.is_some()),
            ("azuread", self.azuread.is_some()),
            ("proxy_url", self.proxy_url.is_some()),
            ("send_exemplars: true", self.send_exemplars == Some(true)),
            ("send_native_histograms: true", self.send_native_histograms == Some(true)),
            ("follow_redirects", self.follow_redirects.is_some()),
            ("enable_http2", self.enable_http2.is_some()),
        ];
        if let Some((key, _)) = unsupported.iter().find(|(_, set)| *set) {
            return Err(fail(format!("{key} is not supported by pulsedb's forwarding")));
        }
        let name = match self.name {
            Some(n) if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) => {
                return Err(fail(format!("name {n:?}: use letters, digits, '-', '_' and '.'")))
            }
            Some(n) => n,
            None => format!("{:016x}", xxhash_rust::xxh64::xxh64(url.as_bytes(), 0)),
        };
        let read = |what: &str, file: &str| -> Result<String, ConfigError> {
            let path = base.join(file);
            std::fs::read_to_string(&path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| fail(format!("{what} {}: {e}", path.display())))
        };
        let mut auths = Vec::new();
        if let Some(b) = self.basic_auth {
            let password = match (b.password, b.password_file) {
                (Some(_), Some(_)) => return Err(fail("basic_auth: password and password_file are exclusive".into())),
                (Some(p), None) => p,
                (None, Some(f)) => read("basic_auth password_file", &f)?,
                (None, None) => String::new(),
            };
            auths.push(Auth::Basic { username: b.username, password });
        }
        if let Some(a) = self.authorization {
            if a.kind.as_deref().is_some_and(|k| k != "Bearer") {
                return Err(fail(format!(
                    "authorization type {:?}: only Bearer is supported",
                    a.kind.unwrap_or_default()
                )));
            }
            let token = match (a.credentials, a.credentials_file) {
                (Some(_), Some(_)) => {
                    return Err(fail("authorization: credentials and credentials_file are exclusive".into()))
                }
                (Some(c), None) => c,
                (None, Some(f)) => read("authorization credentials_file", &f)?,
                (None, None) => return Err(fail("authorization needs credentials or credentials_file".into())),
            };
            auths.push(Auth::Bearer(token));
        }
        match (self.bearer_token, self.bearer_token_file) {
            (Some(t), None) => auths.push(Auth::Bearer(t)),
            (None, Some(f)) => auths.push(Auth::Bearer(read("bearer_token_file", &f)?)),
            (Some(_), Some(_)) => return Err(fail("bearer_token and bearer_token_file are exclusive".into())),
            (None, None) => {}
        }
        if auths.len() > 1 {
            return Err(fail("at most one of basic_auth, authorization and bearer_token(_file)".into()));
        }
        let auth = auths.pop().unwrap_or(Auth::None);
        for name in self.headers.keys() {
            let lower = name.to_ascii_lowercase();
            if ["authorization", "content-type", "content-encoding", "user-agent", "x-prometheus-remote-write-version"]
                .contains(&lower.as_str())
            {
                return Err(fail(format!("header {name:?} is set by pulsedb itself")));
            }
        }
        let tls = self.tls_config.map(|t| TlsFiles {
            ca_file: t.ca_file.map(|f| base.join(f)),
            cert_file: t.cert_file.map(|f| base.join(f)),
            key_file: t.key_file.map(|f| base.join(f)),
            server_name: t.server_name,
            insecure_skip_verify: t.insecure_skip_verify,
        });
        if let Some(t) = &tls {
            if t.cert_file.is_some() != t.key_file.is_some() {
                return Err(fail("tls_config: cert_file and key_file go together".into()));
            }
            if t.insecure_skip_verify {
                return Err(fail(
                    "tls_config: insecure_skip_verify is not supported; give the server's CA as ca_file".into(),
                ));
            }
        }
        let duration = |key: &str, v: Option<String>, default: Duration| -> Result<Duration, ConfigError> {
            match v {
                None => Ok(default),
                Some(s) => pulsedb_formats::timefmt::parse_duration_ms(&s)
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(|ms| Duration::from_millis(ms as u64))
                    .ok_or_else(|| fail(format!("{key}: {s:?} is not a positive duration"))),
            }
        };
        let timeout = duration("remote_timeout", self.remote_timeout, Duration::from_secs(30))?;
        let mut queue = Queue::default();
        if let Some(q) = self.queue_config {
            if q.sample_age_limit.is_some() {
                return Err(fail("queue_config.sample_age_limit: use pulsedb_max_backlog_age".into()));
            }
            let _ = q.capacity; // pulsedb's queue is the WAL: capacity has nothing to bound.
            queue.min_shards = q.min_shards.unwrap_or(queue.min_shards);
            queue.max_shards = q.max_shards.unwrap_or(queue.max_shards);
            queue.max_samples_per_send = q.max_samples_per_send.unwrap_or(queue.max_samples_per_send);
            queue.batch_send_deadline =
                duration("batch_send_deadline", q.batch_send_deadline, queue.batch_send_deadline)?;
            queue.min_backoff = duration("min_backoff", q.min_backoff, queue.min_backoff)?;
            queue.max_backoff = duration("max_backoff", q.max_backoff, queue.max_backoff)?;
            queue.retry_on_http_429 = q.retry_on_http_429.unwrap_or(true);
        }
        if queue.min_shards == 0 || queue.max_shards < queue.min_shards || queue.max_samples_per_send == 0 {
            return Err(fail(format!(
                "queue_config: need 1 <= min_shards ({}) <= max_shards ({}) and max_samples_per_send ({}) >= 1",
                queue.min_shards, queue.max_shards, queue.max_samples_per_send
            )));
        }
        let mut rules = Vec::new();
        for (i, r) in self.write_relabel_configs.into_iter().enumerate() {
            let at = |m: String| fail(format!("write_relabel_configs[{i}]: {m}"));
            let action = r.action.unwrap_or_else(|| "replace".into());
            if !["keep", "drop"].contains(&action.as_str()) {
                return Err(at(format!("action {action:?}: pulsedb's forwarding filters with keep and drop only")));
            }
            if r.target_label.is_some() || r.replacement.is_some() || r.modulus.is_some() {
                return Err(at("target_label, replacement and modulus do not apply to keep and drop".into()));
            }
            if r.source_labels.is_empty() {
                return Err(at("keep and drop need source_labels".into()));
            }
            let regex = r.regex.unwrap_or_else(|| "(.*)".into());
            let rule = Rule::new(&action, r.source_labels, r.separator.unwrap_or_else(|| ";".into()), &regex)
                .map_err(|e| at(format!("regex {regex:?}: {e}")))?;
            rules.push(rule);
        }
        let mut selectors = Vec::new();
        for m in &self.pulsedb_match {
            let matchers: Vec<Matcher> =
                pulsedb::parse_matchers(m).map_err(|e| fail(format!("pulsedb_match {m:?}: {e}")))?;
            selectors.push(matchers);
        }
        let max_backlog_age = match self.pulsedb_max_backlog_age {
            None => None,
            Some(s) => Some(duration("pulsedb_max_backlog_age", Some(s), Duration::ZERO)?),
        };
        Ok(Destination {
            name,
            url,
            timeout,
            headers: self.headers.into_iter().collect(),
            auth,
            tls,
            filter: Filter::new(selectors, rules),
            queue,
            max_backlog_bytes: self.pulsedb_max_backlog_bytes,
            max_backlog_age,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prometheus_keys_that_apply_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
        let text = r#"
remote_write:
  - url: https://mimir.example/api/v1/push
    name: mimir
    remote_timeout: 10s
    headers: { X-Scope-OrgID: tenant-1 }
    authorization: { credentials_file: token }
    tls_config: { ca_file: ca.pem }
    queue_config: { min_shards: 2, max_shards: 8, max_samples_per_send: 500, min_backoff: 100ms, max_backoff: 10s }
    write_relabel_configs:
      - source_labels: [__name__]
        regex: "go_.*"
        action: drop
    pulsedb_match: ['{job="api"}']
    pulsedb_max_backlog_bytes: 1000000000
    pulsedb_max_backlog_age: 2h
  - url: http://127.0.0.1:8428/api/v1/write
    basic_auth: { username: u, password: p }
"#;
        let d = parse(text, dir.path()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "mimir");
        assert_eq!(d[0].timeout, Duration::from_secs(10));
        assert_eq!(d[0].headers, [("X-Scope-OrgID".to_string(), "tenant-1".to_string())]);
        assert_eq!(d[0].auth, Auth::Bearer("s3cret".into()));
        assert_eq!(d[0].tls.as_ref().unwrap().ca_file.as_deref(), Some(dir.path().join("ca.pem").as_path()));
        assert_eq!((d[0].queue.min_shards, d[0].queue.max_shards, d[0].queue.max_samples_per_send), (2, 8, 500));
        assert_eq!(d[0].max_backlog_age, Some(Duration::from_secs(7200)));
        assert_eq!(d[1].auth, Auth::Basic { username: "u".into(), password: "p".into() });
        assert_eq!(d[1].name.len(), 16, "derived from the URL");
        assert_eq!(d[1].queue, Queue::default());
    }

    #[test]
    fn what_does_not_apply_is_refused_by_name() {
        let refused = |yaml: &str| parse(yaml, Path::new(".")).unwrap_err().to_string();
        assert!(refused("remote_write:\n- url: http://a/\n  sigv4: {region: x}\n").contains("sigv4 is not supported"));
        assert!(refused("remote_write:\n- url: http://a/\n  colour: red\n").contains("unknown field `colour`"));
        assert!(refused("remote_write:\n- url: ftp://a/\n").contains("http:// or https://"));
        assert!(refused(
            "remote_write:\n- url: http://a/\n  write_relabel_configs: [{source_labels: [a], action: replace}]\n"
        )
        .contains("keep and drop only"));
        assert!(refused("remote_write:\n- url: http://a/\n  write_relabel_configs: [{source_labels: [a], regex: '(', action: keep}]\n")
            .contains("regex"));
        assert!(refused("remote_write:\n- url: http://a/\n  bearer_token_file: /nonexistent/t\n")
            .contains("/nonexistent/t"));
        assert!(refused("remote_write:\n- url: http://a/\n  headers: {Authorization: x}\n").contains("set by pulsedb"));
        assert!(refused("remote_write:\n- {url: http://a/, name: x}\n- {url: http://b/, name: x}\n")
            .contains("named \"x\""));
        assert!(refused("remote_write:\n- url: http://a/\n  pulsedb_match: ['{job=']\n").contains("pulsedb_match"));
        assert!(refused("remote_write:\n- url: http://a/\n  queue_config: {min_shards: 4, max_shards: 2}\n")
            .contains("min_shards"));
    }
}
