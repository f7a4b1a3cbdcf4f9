//! Authentication and roles, from the web configuration file: Basic auth
//! (bcrypt hashes) and bearer tokens (SHA-256 of the token), each with
//! roles — read (query API, metadata, remote-read, `/metrics`), write
//! (remote-write, line protocol), admin. Missing or wrong credentials get
//! 401, a valid credential without the role 403; both are counted.
//!
//! bcrypt is slow on purpose, so a password it verified is remembered (by
//! the SHA-256 of user and password, never the password) and later requests
//! with it cost a hash; verification runs off the async workers. Digests are
//! compared in constant time, and an unknown user costs a bcrypt run like a
//! known one, so timing tells nothing about which users exist.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::web_config::{Role, WebConfig};
use crate::AppState;

/// Verified passwords remembered at most; past it the memory starts over.
const MAX_REMEMBERED: usize = 4096;

/// A bcrypt hash of nothing anyone knows, verified for unknown users.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DSvFBKGDRpJyl4YbUzUNi";

#[derive(Debug)]
pub(crate) struct Authenticator {
    config: WebConfig,
    /// bcrypt runs at most this many at once, so a flood of wrong passwords
    /// cannot take the blocking threads appends and queries need.
    bcrypt_slots: tokio::sync::Semaphore,
    /// SHA-256 of `user \0 password` → user, for passwords bcrypt accepted.
    remembered: Mutex<HashMap<[u8; 32], String>>,
    pub(crate) unauthenticated: AtomicU64,
    pub(crate) forbidden: AtomicU64,
}

/// Who a request is, once its credentials check out.
#[derive(Debug)]
struct Principal {
    name: String,
    roles: Vec<Role>,
}

impl Authenticator {
    pub(crate) fn new(config: WebConfig) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            config,
            bcrypt_slots: tokio::sync::Semaphore::new(cores),
            remembered: Mutex::default(),
            unauthenticated: AtomicU64::default(),
            forbidden: AtomicU64::default(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.config.requires_auth()
    }

    async fn principal(self: &Arc<Self>, headers: &HeaderMap) -> Result<Principal, String> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("credentials required (Basic or Bearer)")?;
        if let Some(token) = value.strip_prefix("Bearer ") {
            return self.bearer(token.trim());
        }
        let Some(encoded) = value.strip_prefix("Basic ") else {
            return Err("unsupported authorization scheme".into());
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("malformed Basic credentials")?;
        let (user, password) = decoded.split_once(':').ok_or("malformed Basic credentials")?;
        let key = digest(&[user.as_bytes(), b"\0", password.as_bytes()]);
        let known = self.remembered.lock().get(&key).cloned();
        if let Some(name) = known.filter(|n| n == user) {
            return self.user_principal(&name);
        }
        let hash = self.config.users.get(user).map(|(h, _)| h.clone());
        let (password, this) = (password.to_string(), self.clone());
        let _slot = self.bcrypt_slots.acquire().await.map_err(|_| "the server is shutting down".to_string())?;
        let verified = tokio::task::spawn_blocking(move || {
            let ok = bcrypt::verify(&password, hash.as_deref().unwrap_or(DUMMY_HASH)).unwrap_or(false);
            ok && hash.is_some()
        })
        .await
        .unwrap_or(false);
        if !verified {
            return Err("wrong user or password".into());
        }
        let mut remembered = this.remembered.lock();
        if remembered.len() >= MAX_REMEMBERED {
            remembered.clear();
        }
        remembered.insert(key, user.to_string());
        drop(remembered);
        self.user_principal(user)
    }

    fn user_principal(&self, user: &str) -> Result<Principal, String> {
        let (_, roles) = self.config.users.get(user).ok_or("wrong user or password")?;
        Ok(Principal { name: user.to_string(), roles: roles.clone() })
    }

    fn bearer(&self, token: &str) -> Result<Principal, String> {
        let presented = digest(&[token.as_bytes()]);
        // Every token is compared, whichever matches, in constant time.
        let found =
            self.config.tokens.iter().fold(
                None,
                |found, t| {
                    if constant_time_eq(&t.sha256, &presented) {
                        Some(t)
                    } else {
                        found
                    }
                },
            );
        let token = found.ok_or("unknown bearer token")?;
        if token.expires_ms.is_some_and(|at| crate::now_ms() > at) {
            return Err(format!("bearer token {:?} has expired", token.name));
        }
        Ok(Principal { name: format!("token {}", token.name), roles: token.roles.clone() })
    }
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The role a path needs; `None`: any valid credential (health checks).
/// Every path not listed needs `admin`, so an endpoint added without a
/// thought for roles is closed, not open (see ARCHITECTURE.md).
pub(crate) fn required_role(path: &str) -> Option<Role> {
    match path {
        "/-/healthy" | "/-/ready" => None,
        "/api/v1/write" | "/write" | "/api/v2/write" => Some(Role::Write),
        "/api/v1/query"
        | "/api/v1/query_range"
        | "/api/v1/series"
        | "/api/v1/labels"
        | "/api/v1/read"
        | "/api/v1/metadata"
        | "/api/v1/query_exemplars"
        | "/api/v1/anomalies"
        | "/api/v1/rules"
        | "/api/v1/alerts"
        | "/api/v1/status/buildinfo"
        | "/api/v1/status/tsdb"
        | "/api/v1/status/storage"
        | "/api/v1/status/forwarding"
        | "/api/v1/dashboards"
        | "/"
        | "/ui"
        | "/metrics" => Some(Role::Read),
        p if p.starts_with("/ui/") => Some(Role::Read),
        p if p.starts_with("/api/v1/label/") && p.ends_with("/values") => Some(Role::Read),
        _ => Some(Role::Admin),
    }
}

/// The middleware: passes requests with credentials that have the path's role.
pub(crate) async fn authenticate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let auth = &state.auth;
    if !auth.enabled() {
        return next.run(request).await;
    }
    match auth.principal(request.headers()).await {
        Err(reason) => {
            auth.unauthenticated.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(path = request.uri().path(), %reason, "unauthenticated request");
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"pulsedb\"")],
                format!("Unauthorized: {reason}\n"),
            )
                .into_response()
        }
        Ok(principal) => match required_role(request.uri().path()) {
            Some(role) if !principal.roles.contains(&role) => {
                auth.forbidden.fetch_add(1, Ordering::Relaxed);
                (StatusCode::FORBIDDEN, format!("Forbidden: {} lacks the {role:?} role\n", principal.name))
                    .into_response()
            }
            _ => next.run(request).await,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_need_the_roles_their_apis_imply() {
        assert_eq!(required_role("/api/v1/write"), Some(Role::Write));
        assert_eq!(required_role("/api/v2/write"), Some(Role::Write));
        assert_eq!(required_role("/api/v1/query_range"), Some(Role::Read));
        assert_eq!(required_role("/api/v1/read"), Some(Role::Read));
        assert_eq!(required_role("/metrics"), Some(Role::Read));
        assert_eq!(required_role("/api/v1/anomalies"), Some(Role::Read));
        assert_eq!(required_role("/api/v1/rules"), Some(Role::Read));
        assert_eq!(required_role("/api/v1/alerts"), Some(Role::Read));
        assert_eq!(required_role("/api/v1/admin/tsdb/snapshot"), Some(Role::Admin));
        assert_eq!(required_role("/-/healthy"), None);
        assert_eq!(required_role("/api/v1/label/job/values"), Some(Role::Read));
        assert_eq!(required_role("/api/v1/some_future_endpoint"), Some(Role::Admin), "closed by default");
        assert_eq!(required_role("/ui/"), Some(Role::Read));
        assert_eq!(required_role("/ui/vendor/uPlot.iife.min.js"), Some(Role::Read));
        assert_eq!(required_role("/api/v1/status/tsdb"), Some(Role::Read));
        assert_eq!(required_role("/api/v1/dashboards"), Some(Role::Read));
    }

    #[test]
    fn digests_compare_in_constant_time_and_exactly() {
        let a = digest(&[b"x"]);
        let mut b = a;
        assert!(constant_time_eq(&a, &b));
        b[31] ^= 1;
        assert!(!constant_time_eq(&a, &b));
    }
}
