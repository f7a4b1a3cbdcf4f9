//! `--web.config.file`: the web configuration file Prometheus and its
//! exporters read (TLS with certificate, key and optional client CA; users
//! with bcrypt password hashes), plus pulsedb's own keys for roles: which
//! users and bearer tokens may read, write or administer. Relative paths
//! are relative to the file's directory. A key this file does not know is
//! refused, so a typo cannot silently leave the server open.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_ca_file: ca.crt                   # optional: mutual TLS
//!   client_auth_type: RequireAndVerifyClientCert
//! basic_auth_users:
//!   grafana: $2y$10$...                      # bcrypt (htpasswd -nBC 10 "")
//!   agent: $2y$10$...
//! pulsedb_user_roles:                        # users not listed have every role
//!   grafana: [read]
//!   agent: [write]
//! pulsedb_bearer_tokens:
//!   - name: vmagent
//!     token_sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
//!     roles: [write]
//!     expires: 2027-01-01T00:00:00Z          # optional
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a credential may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The query API, metadata, remote-read, `/metrics`.
    Read,
    /// Remote-write and line protocol.
    Write,
    /// The admin API and reloads.
    Admin,
}

/// Every role: what a user without a `pulsedb_user_roles` entry has, as in Prometheus.
pub const ALL_ROLES: [Role; 3] = [Role::Read, Role::Write, Role::Admin];

/// How a client certificate is asked for (Go's `tls.ClientAuthType` names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum ClientAuth {
    #[default]
    NoClientCert,
    /// A certificate, if given, must verify against the client CA.
    VerifyClientCertIfGiven,
    /// A certificate that verifies against the client CA is required.
    RequireAndVerifyClientCert,
}

/// The TLS part of the file.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Oldest TLS version accepted: 12 or 13 (`min_version: TLS12|TLS13`).
    pub min_version: u8,
    /// Newest TLS version accepted: 12 or 13.
    pub max_version: u8,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_ca_file: Option<PathBuf>,
    pub client_auth: ClientAuth,
}

/// A bearer token, known by the SHA-256 of its text (never the text itself).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub sha256: [u8; 32],
    pub roles: Vec<Role>,
    /// Milliseconds since the epoch after which the token is refused.
    pub expires_ms: Option<i64>,
}

/// A parsed, checked web configuration.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebConfig {
    pub tls: Option<TlsFiles>,
    /// User → (bcrypt hash, roles).
    pub users: BTreeMap<String, (String, Vec<Role>)>,
    pub tokens: Vec<Token>,
}

impl WebConfig {
    /// Whether requests must authenticate.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty() || !self.tokens.is_empty()
    }

    /// Reads and checks `path`; the error names the file and what is wrong.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses the file's text; relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        let raw: RawFile = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let tls = match raw.tls_server_config {
            None => None,
            Some(t) => {
                let (Some(cert), Some(key)) = (t.cert_file, t.key_file) else {
                    return Err("tls_server_config needs both cert_file and key_file".into());
                };
                let client_auth = t.client_auth_type.unwrap_or_default();
                if client_auth != ClientAuth::NoClientCert && t.client_ca_file.is_none() {
                    return Err(format!("client_auth_type {client_auth:?} needs client_ca_file"));
                }
                let version = |v: &Option<String>, default: u8| match v.as_deref() {
                    None => Ok(default),
                    Some("TLS12") => Ok(12),
                    Some("TLS13") => Ok(13),
                    Some(other) => Err(format!("TLS version {other:?}: pulsedb speaks TLS12 and TLS13")),
                };
                let (min_version, max_version) = (version(&t.min_version, 12)?, version(&t.max_version, 13)?);
                if min_version > max_version {
                    return Err("tls_server_config: min_version is newer than max_version".into());
                }
                Some(TlsFiles {
                    min_version,
                    max_version,
                    cert_file: resolve(cert),
                    key_file: resolve(key),
                    client_ca_file: t.client_ca_file.map(resolve),
                    client_auth,
                })
            }
        };
        let mut users = BTreeMap::new();
        for (name, hash) in raw.basic_auth_users {
            if !hash.starts_with("$2") {
                return Err(format!("basic_auth_users.{name}: not a bcrypt hash (it must start with $2)"));
            }
            users.insert(name, (hash, ALL_ROLES.to_vec()));
        }
        for (name, roles) in raw.pulsedb_user_roles {
            let Some(user) = users.get_mut(&name) else {
                return Err(format!("pulsedb_user_roles.{name}: no such user in basic_auth_users"));
            };
            user.1 = roles;
        }
        let mut tokens = Vec::new();
        for t in raw.pulsedb_bearer_tokens {
            let digest = hex32(&t.token_sha256)
                .ok_or_else(|| format!("pulsedb_bearer_tokens {}: token_sha256 must be 64 hex digits", t.name))?;
            let expires_ms = match &t.expires {
                None => None,
                Some(s) => Some(
                    pulsedb_formats::timefmt::parse_time_ms(s)
                        .map_err(|e| format!("pulsedb_bearer_tokens {}: expires: {e}", t.name))?,
                ),
            };
            tokens.push(Token { name: t.name, sha256: digest, roles: t.roles, expires_ms });
        }
        Ok(Self { tls, users, tokens })
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        *out.get_mut(i)? = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    #[allow(dead_code)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    #[serde(default)]
    pulsedb_user_roles: BTreeMap<String, Vec<Role>>,
    #[serde(default)]
    pulsedb_bearer_tokens: Vec<RawToken>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
    client_auth_type: Option<ClientAuth>,
    /// `TLS12` or `TLS13` (rustls speaks no older version).
    min_version: Option<String>,
    max_version: Option<String>,
}

/// Accepted for compatibility; pulsedb serves HTTP/1.1.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[allow(dead_code)]
    http2: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: String,
    token_sha256: String,
    roles: Vec<Role>,
    expires: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_full_file_parses_and_paths_resolve_against_its_directory() {
        let text = "tls_server_config:\n  cert_file: s.crt\n  key_file: /abs/s.key\n  client_ca_file: ca.crt\n  \
                    client_auth_type: RequireAndVerifyClientCert\nbasic_auth_users:\n  a: $2y$10$x\n  b: $2y$10$y\n\
                    pulsedb_user_roles:\n  a: [read]\npulsedb_bearer_tokens:\n  - name: t\n    token_sha256: \
                    5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\n    roles: [write]\n    \
                    expires: 2027-01-01T00:00:00Z\n";
        let c = WebConfig::parse(text, Path::new("/etc/pulsedb")).unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert_file, PathBuf::from("/etc/pulsedb/s.crt"));
        assert_eq!(tls.key_file, PathBuf::from("/abs/s.key"));
        assert_eq!(tls.client_auth, ClientAuth::RequireAndVerifyClientCert);
        assert_eq!(c.users["a"].1, vec![Role::Read]);
        assert_eq!(c.users["b"].1, ALL_ROLES.to_vec());
        assert_eq!(c.tokens[0].roles, vec![Role::Write]);
        assert_eq!(c.tokens[0].expires_ms, Some(1_798_761_600_000));
    }

    #[test]
    fn mistakes_are_refused_with_the_reason() {
        for (text, want) in [
            ("basic_auth_users:\n  a: plain\n", "not a bcrypt hash"),
            ("basic_auth_user:\n  a: $2y$x\n", "unknown field"),
            ("tls_server_config:\n  cert_file: a\n", "both cert_file and key_file"),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
                "needs client_ca_file",
            ),
            ("pulsedb_user_roles:\n  ghost: [read]\n", "no such user"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n", "TLS12 and TLS13"),
            ("pulsedb_user_roles:\n  a: [root]\n", "unknown variant"),
            ("pulsedb_bearer_tokens:\n  - name: t\n    token_sha256: abc\n    roles: [read]\n", "64 hex digits"),
        ] {
            let err = WebConfig::parse(text, Path::new(".")).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
