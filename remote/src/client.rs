//! Sending one remote-write request to a destination, and what its answer
//! means under the remote-write spec: 2xx sent; 5xx, 429 (unless
//! `retry_on_http_429: false`) and network errors retried, honouring
//! `Retry-After`; any other status dropped with the receiver's reason.

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use crate::config::{Auth, Destination, TlsFiles};

/// What became of a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Sent,
    /// Worth sending again, after `after` if the receiver said so.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Refused for good (a 4xx): counted and dropped.
    Drop {
        status: u16,
        reason: String,
    },
}

#[derive(Debug)]
pub(crate) struct Client {
    agent: ureq::Agent,
    url: String,
    headers: Vec<(String, String)>,
    authorization: Option<String>,
    retry_on_429: bool,
}

impl Client {
    pub(crate) fn new(d: &Destination) -> Result<Self, String> {
        let mut builder = ureq::AgentBuilder::new().timeout(d.timeout).max_idle_connections_per_host(64);
        if let Some(tls) = &d.tls {
            if tls.ca_file.is_some() || tls.cert_file.is_some() {
                builder = builder.tls_config(Arc::new(tls_config(tls)?));
            }
            if tls.server_name.is_some() {
                return Err("tls_config.server_name is not supported: use the name in the URL".into());
            }
        }
        let authorization = match &d.auth {
            Auth::None => None,
            Auth::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
        };
        Ok(Self {
            agent: builder.build(),
            url: d.url.clone(),
            headers: d.headers.clone(),
            authorization,
            retry_on_429: d.queue.retry_on_http_429,
        })
    }

    /// Sends one snappy-compressed `WriteRequest`.
    pub(crate) fn send(&self, body: &[u8]) -> Outcome {
        let mut request = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/x-protobuf")
            .set("Content-Encoding", "snappy")
            .set("X-Prometheus-Remote-Write-Version", "0.1.0")
            .set("User-Agent", concat!("pulsedb/", env!("CARGO_PKG_VERSION")));
        for (name, value) in &self.headers {
            request = request.set(name, value);
        }
        if let Some(a) = &self.authorization {
            request = request.set("Authorization", a);
        }
        match request.send_bytes(body) {
            Ok(_) => Outcome::Sent,
            Err(ureq::Error::Status(status, response)) => {
                let after = response.header("Retry-After").and_then(retry_after);
                let reason = reason(status, response);
                if status >= 500 || (status == 429 && self.retry_on_429) {
                    Outcome::Retry { after, reason }
                } else {
                    Outcome::Drop { status, reason }
                }
            }
            Err(ureq::Error::Transport(t)) => Outcome::Retry { after: None, reason: t.to_string() },
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is read as "not said").
fn retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s.min(3600)))
}

/// The status and the start of the receiver's answer, for counters and logs.
fn reason(status: u16, response: ureq::Response) -> String {
    let mut text = String::new();
    let _ = response.into_reader().take(512).read_to_string(&mut text);
    let text = text.trim();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

fn tls_config(files: &TlsFiles) -> Result<rustls::ClientConfig, String> {
    let read = |path: &std::path::Path| {
        std::fs::File::open(path).map(std::io::BufReader::new).map_err(|e| format!("{}: {e}", path.display()))
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = &files.ca_file {
        for cert in rustls_pemfile::certs(&mut read(ca)?) {
            let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
            roots.add(cert).map_err(|e| format!("{}: {e}", ca.display()))?;
        }
        if roots.is_empty() {
            return Err(format!("{}: no certificate in it", ca.display()));
        }
    }
    let builder = builder.with_root_certificates(roots);
    match (&files.cert_file, &files.key_file) {
        (Some(cert), Some(key)) => {
            let certs = rustls_pemfile::certs(&mut read(cert)?)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", cert.display()))?;
            let key = rustls_pemfile::private_key(&mut read(key)?)
                .map_err(|e| format!("{}: {e}", key.display()))?
                .ok_or_else(|| format!("{}: no private key in it", key.display()))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| format!("client certificate: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after("999999"), Some(Duration::from_secs(3600)));
    }
}
