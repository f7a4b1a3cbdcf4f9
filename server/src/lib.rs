//! `pulsedb serve`: the HTTP server. It owns one [`Db`] and answers
//! Prometheus remote-write and remote-read, Prometheus' query API, InfluxDB
//! line protocol, its own `/metrics` and health checks.
//!
//! Shutdown (the future passed to [`serve`] completing, e.g. on SIGTERM):
//! stop accepting connections, let in-flight requests finish, flush the
//! head's finished windows to blocks, and close the database.

mod admin;
mod anomalies;
mod auth;
mod body;
mod compress;
pub mod dashboards;
mod error;
pub mod flags;
mod listener;
mod metrics;
mod notifier;
mod off_reactor;
mod params;
mod prom_api;
mod read;
mod rules_api;
mod rules_runner;
mod self_monitor;
mod series_cache;
mod status;
mod tls;
mod ui;
pub mod web_config;
mod write;
mod write_deadline;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Semaphore;

use metrics::ServerMetrics;
use pulsedb::{Batch, Db, EngineOptions, Error, Labels, Matcher, Options, QueryError};
use pulsedb::{StorageStats, WAL_FSYNC_BUCKETS_SECONDS};

/// Everything `pulsedb serve` can be told. Build it from [`Config::default`]
/// and set fields: new fields will come with their defaults.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: String,
    pub storage: Options,
    pub query: EngineOptions,
    /// Largest request body, compressed or not (default 64 MiB).
    pub max_body_bytes: usize,
    /// Queries evaluated at once; more wait (default 20, as Prometheus).
    pub max_concurrent_queries: usize,
    /// How long a client may take to send a request's headers, and an idle
    /// kept-alive connection may wait for its next request (default 30 s).
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body; 408 after (default 60 s).
    pub body_read_timeout: Duration,
    /// How long a response write may stay blocked on a client that reads
    /// nothing; then the connection is closed (default 60 s).
    pub response_write_timeout: Duration,
    /// Connections open at once; more wait to be accepted (default 4096).
    pub max_connections: usize,
    /// TLS and authentication (`--web.config.file`); default: neither.
    pub web: web_config::WebConfig,
    /// Rule files (globs) to evaluate (`--rules`), read again on reload.
    pub rule_files: Vec<String>,
    /// The interval of groups that name none (default 1 min, as Prometheus).
    pub rule_evaluation_interval: Duration,
    /// Alertmanagers to notify (`--alertmanager-url`, their base URLs).
    pub alertmanager_urls: Vec<String>,
    /// How often a firing alert is sent again (default 1 min, as Prometheus).
    pub alert_resend_delay: Duration,
    /// Labels added to every alert sent (`--external-label`).
    pub external_labels: pulsedb::Labels,
    /// This server's URL as users reach it, for alerts' links (`--web.external-url`).
    pub external_url: String,
    /// Dashboards to serve (`--dashboards DIR`); `None`: the shipped ones.
    pub dashboards_dir: Option<PathBuf>,
    /// Where to forward everything appended (`--remote-write-url`, `--remote-write-config`).
    pub forward: Vec<pulsedb_remote::Destination>,
    /// How long shutdown gives forwarding to send what it read (default 10 s).
    pub forward_shutdown_timeout: Duration,
    /// How often pulsedb records its own metrics into itself
    /// (`--self-monitor-interval`); `None` (the library's default): never.
    pub self_monitor_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("pulsedb-data"),
            listen: "127.0.0.1:9201".into(),
            // How far ahead of the server's clock a sample may be: checked by
            // storage (`Error::TooFarInFuture`, a 400 here), once for every writer.
            storage: {
                let mut storage = Options::default();
                storage.max_future = Some(std::time::Duration::from_secs(600));
                storage
            },
            query: EngineOptions::default(),
            max_body_bytes: 64 << 20,
            max_concurrent_queries: 20,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(60),
            response_write_timeout: Duration::from_secs(60),
            max_connections: 4096,
            web: web_config::WebConfig::default(),
            rule_files: Vec::new(),
            rule_evaluation_interval: Duration::from_secs(60),
            alertmanager_urls: Vec::new(),
            alert_resend_delay: Duration::from_secs(60),
            external_labels: pulsedb::Labels::default(),
            external_url: String::new(),
            dashboards_dir: None,
            self_monitor_interval: None,
            forward: Vec::new(),
            forward_shutdown_timeout: Duration::from_secs(10),
        }
    }
}

impl Config {
    /// The URL alerts link to and templates see as `externalURL`:
    /// `--web.external-url`, else this server's own address.
    pub fn alert_url(&self) -> String {
        if self.external_url.is_empty() {
            let scheme = if self.web.tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{}", self.listen)
        } else {
            self.external_url.trim_end_matches('/').to_string()
        }
    }

    pub(crate) fn body_limits(&self) -> body::BodyLimits {
        body::BodyLimits { max_bytes: self.max_body_bytes, timeout: self.body_read_timeout }
    }
}

pub(crate) struct AppState {
    db: Db,
    auth: Arc<auth::Authenticator>,
    config: Config,
    metrics: ServerMetrics,
    query_slots: Arc<Semaphore>,
    /// The running rule groups (shared by their tasks and `/api/v1/rules`,
    /// `/api/v1/alerts`), replaced whole on reload.
    rules: tokio::sync::Mutex<rules_runner::RuleSet>,
    notifier: Arc<notifier::Notifier>,
    /// Checked at start; the UI lists them.
    dashboards: Vec<dashboards::LoadedDashboard>,
    /// The running destinations; taken out and stopped at shutdown.
    forwarding: parking_lot::Mutex<Option<pulsedb_remote::Forwarding>>,
    /// Remote-write series seen before, by their labels' wire bytes.
    series_cache: series_cache::SeriesCache,
    /// Line protocol series seen before, by their raw series section and field key.
    line_cache: series_cache::SeriesCache,
}

/// The runtime `serve` needs: every thread (async workers and the blocking
/// pool where queries run) has [`pulsedb::QUERY_STACK_SIZE`] of stack, enough
/// for the deepest query the parser admits, so no request can overflow it.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().thread_stack_size(pulsedb::QUERY_STACK_SIZE).enable_all().build()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Opens the database, binds `config.listen`, calls `on_listening` with
/// the bound address (port 0 picks a free one), serves until `shutdown`
/// completes, then drains, flushes and closes.
pub async fn serve(
    config: Config,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    // Rule files are checked before anything starts: a bad one refuses the start.
    let patterns = config.rule_files.clone();
    let initial_rules = tokio::task::spawn_blocking(move || rules_runner::load_rule_files(&patterns)).await??;
    // So are dashboards: a bad file is named with its line, not a blank page later.
    let dashboards =
        dashboards::load(config.dashboards_dir.as_deref()).map_err(|e| anyhow::anyhow!("dashboards: {e}"))?;
    let data_dir = config.data_dir.clone();
    let mut storage = config.storage.clone();
    // Segments a destination has not sent stay until it holds them itself.
    storage.wal_hold_from = pulsedb_remote::oldest_saved_segment(&config.data_dir);
    let mut db = tokio::task::spawn_blocking(move || Db::open(&data_dir, storage))
        .await?
        .with_context(|| format!("opening {}", config.data_dir.display()))?;
    db.set_query_options(config.query.clone());
    let tls = config.web.tls.as_ref().map(tls::acceptor).transpose().map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
    let listener =
        tokio::net::TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    // The address bound (a port of 0 picked one): alerts' links and the
    // self-monitoring's `instance` name it.
    let mut config = config;
    config.listen = addr.to_string();
    tracing::info!(%addr, data_dir = %config.data_dir.display(), sync = ?config.storage.sync, "pulsedb listening");
    let state = Arc::new(AppState {
        db,
        auth: Arc::new(auth::Authenticator::new(config.web.clone())),
        query_slots: Arc::new(Semaphore::new(config.max_concurrent_queries.max(1))),
        rules: tokio::sync::Mutex::new(rules_runner::RuleSet::default()),
        notifier: Arc::new(notifier::Notifier::new(config.alertmanager_urls.clone())),
        dashboards,
        forwarding: parking_lot::Mutex::new(None),
        series_cache: series_cache::SeriesCache::default(),
        line_cache: series_cache::SeriesCache::default(),
        config,
        metrics: ServerMetrics::default(),
    });
    start_forwarding(&state)?;
    on_listening(addr);
    let limits = listener::ConnectionLimits {
        header_read_timeout: state.config.header_read_timeout,
        response_write_timeout: state.config.response_write_timeout,
        max_connections: state.config.max_connections,
        drain_timeout: Duration::from_secs(60),
    };
    {
        let groups = initial_rules
            .into_iter()
            .map(|g| {
                Arc::new(parking_lot::Mutex::new(
                    pulsedb_rules::RuleGroup::new(g, state.config.external_labels.clone())
                        .with_external_url(state.config.alert_url()),
                ))
            })
            .collect();
        rules_runner::start(&state, &mut *state.rules.lock().await, groups);
    }
    let (stop_notifier, notifier_stopped) = tokio::sync::watch::channel(false);
    let notifier_task = tokio::spawn(Arc::clone(&state.notifier).run(notifier_stopped.clone()));
    let self_monitor = state
        .config
        .self_monitor_interval
        .filter(|i| !i.is_zero())
        .map(|interval| tokio::spawn(self_monitor::run(Arc::clone(&state), interval, notifier_stopped)));
    let hangups = tokio::spawn(reload_on_sighup(Arc::clone(&state)));
    listener::serve(listener, router(state.clone()), tls, limits, shutdown).await;
    hangups.abort();
    let _ = hangups.await;
    rules_runner::stop(&mut *state.rules.lock().await).await;
    let forwarding = state.forwarding.lock().take();
    if let Some(forwarding) = forwarding {
        let timeout = state.config.forward_shutdown_timeout;
        tokio::task::spawn_blocking(move || forwarding.stop(timeout)).await?;
    }
    let _ = stop_notifier.send(true);
    let _ = notifier_task.await;
    if let Some(task) = self_monitor {
        let _ = task.await;
    }
    tracing::info!("stopped accepting requests and evaluating rules; flushing and closing");
    let state = wait_for_last_reference(state).await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        state.db.flush().context("flushing the head on shutdown")?;
        state.db.close().context("closing the database")?;
        Ok(())
    })
    .await??;
    tracing::info!("closed");
    Ok(())
}

/// The database as forwarding's WAL source (a handle on the server's state).
struct WalOfState(Arc<AppState>);

impl pulsedb_remote::WalSource for WalOfState {
    fn batches(&self, from: Option<pulsedb::WalPosition>) -> pulsedb::Result<pulsedb::WalBatches> {
        self.0.db.wal_batches(from)
    }
    fn end(&self) -> pulsedb::WalPosition {
        self.0.db.wal_end()
    }
    fn segments(&self) -> pulsedb::Result<Vec<(u64, u64)>> {
        self.0.db.wal_segments()
    }
}

/// Starts every destination from its saved position, then lets the WAL
/// segments kept for them at open go.
fn start_forwarding(state: &Arc<AppState>) -> anyhow::Result<()> {
    if !state.config.forward.is_empty() {
        let forwarding = pulsedb_remote::Forwarding::start(
            Arc::new(WalOfState(state.clone())),
            state.config.forward.clone(),
            state.config.external_labels.clone(),
            &state.config.data_dir,
        )
        .map_err(|e| anyhow::anyhow!("forwarding: {e}"))?;
        *state.forwarding.lock() = Some(forwarding);
    }
    state.db.release_startup_wal_hold();
    Ok(())
}

/// `GET /api/v1/status/forwarding`: each destination's figures.
async fn forwarding_status(State(state): State<Arc<AppState>>) -> Response {
    let status = state.forwarding.lock().as_ref().map(pulsedb_remote::Forwarding::status);
    prom_api::json_response(status.unwrap_or(serde_json::Value::Array(Vec::new())))
}

/// Reloads the rule files on every SIGHUP (a bad set is refused and logged).
async fn reload_on_sighup(state: Arc<AppState>) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
    while hangups.recv().await.is_some() {
        if let Err(e) = rules_runner::reload(&state).await {
            tracing::error!(error = %format!("{e:#}"), "reloading the rules failed; the running rules stay");
        }
    }
}

/// `POST /-/reload`: the rule files again; 500 with the reason if they do not check.
async fn reload_handler(State(state): State<Arc<AppState>>) -> Response {
    match rules_runner::reload(&state).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("failed to reload config: {e:#}\n")).into_response(),
    }
}

/// Once the listener is drained, handlers whose client went away may still
/// own a blocking append or query that holds the state; those finish on their
/// own (an append that reached the WAL stays durable), so wait for them rather
/// than failing the shutdown.
async fn wait_for_last_reference(mut state: Arc<AppState>) -> anyhow::Result<AppState> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match Arc::try_unwrap(state) {
            Ok(state) => return Ok(state),
            Err(shared) if tokio::time::Instant::now() < deadline => {
                state = shared;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(_) => anyhow::bail!("requests still running 60 s after shutdown; not flushing"),
        }
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/write", post(write::remote_write))
        .route("/api/v1/read", post(read::remote_read))
        .route("/api/v1/query", get(prom_api::query).post(prom_api::query))
        .route("/api/v1/query_range", get(prom_api::query_range).post(prom_api::query_range))
        .route("/api/v1/series", get(prom_api::series).post(prom_api::series))
        .route("/api/v1/labels", get(prom_api::labels).post(prom_api::labels))
        .route("/api/v1/label/{name}/values", get(prom_api::label_values))
        .route("/api/v1/status/buildinfo", get(prom_api::buildinfo))
        .route("/api/v1/metadata", get(prom_api::metadata).post(prom_api::metadata))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/storage", get(status::storage))
        .route("/api/v1/status/forwarding", get(forwarding_status))
        .route("/api/v1/dashboards", get(dashboards::list))
        .route("/", get(ui::root))
        .route("/ui", get(ui::root))
        .route("/ui/", get(ui::index))
        .route("/ui/{*path}", get(ui::file))
        .route("/api/v1/query_exemplars", get(prom_api::query_exemplars).post(prom_api::query_exemplars))
        .route("/api/v1/anomalies", get(anomalies::anomalies).post(anomalies::anomalies))
        .route("/api/v1/rules", get(rules_api::rules))
        .route("/api/v1/alerts", get(rules_api::alerts))
        .route("/api/v1/admin/tsdb/snapshot", post(admin::snapshot).put(admin::snapshot))
        .route("/api/v1/admin/tsdb/delete_series", post(admin::delete_series).put(admin::delete_series))
        .route("/write", post(write::influx_v1))
        .route("/api/v2/write", post(write::influx_v2))
        .route("/metrics", get(metrics_page))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/-/reload", post(reload_handler).put(reload_handler))
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        // Layers apply to what is there when they are added: the fallback too.
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), contain_panics))
        .layer(middleware::from_fn(compress::gzip))
        .with_state(state)
}

/// Counts every routed request by handler and status, and times it.
async fn track(
    State(state): State<Arc<AppState>>,
    path: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let handler = path.map(|p| p.as_str().to_string()).unwrap_or_default();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe_request(&handler, response.status().as_u16(), started.elapsed());
    response
}

/// A panic in a handler answers 500 (logged and counted) instead of
/// dropping the connection; the process and every other request go on.
/// Work on blocking threads is contained by its `JoinHandle` the same way.
async fn contain_panics(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    use futures_util::FutureExt as _;
    let path = request.uri().path().to_string();
    match std::panic::AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            state.metrics.panics.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(%path, %message, "request handler panicked");
            error::ApiError::internal(format!("internal error while serving {path}: {message}")).into_response()
        }
    }
}

async fn metrics_page(State(state): State<Arc<AppState>>) -> Result<Response, error::ApiError> {
    let worker = state.clone();
    let page = tokio::task::spawn_blocking(move || metrics_text(&worker))
        .await
        .map_err(|e| error::ApiError::internal(format!("metrics task failed: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], page).into_response())
}

/// The `/metrics` page (blocking: it reads the storage's statistics).
pub(crate) fn metrics_text(state: &AppState) -> Result<String, error::ApiError> {
    let stats = state.db.stats().map_err(|e| error::ApiError::from_storage(&e))?;
    let mut page = state.metrics.render(&stats, &state.config.data_dir);
    page.push_str(&auth_metrics(&state.auth));
    page.push_str(&state.notifier.render());
    if let Some(forwarding) = state.forwarding.lock().as_ref() {
        page.push_str(&forwarding.render_metrics());
    }
    let limit = state.config.storage.max_active_series.unwrap_or(0);
    page.push_str(&format!(
        "# HELP pulsedb_head_series_limit The most series the head takes (--max-series); 0 is no limit.\n# TYPE pulsedb_head_series_limit gauge\npulsedb_head_series_limit {limit}\n"
    ));
    Ok(page)
}

/// Failed authentications by reason, in the text format.
fn auth_metrics(auth: &auth::Authenticator) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    format!(
        "# HELP pulsedb_http_auth_failures_total Requests refused by authentication (401) or for a missing role (403).\n\
         # TYPE pulsedb_http_auth_failures_total counter\n\
         pulsedb_http_auth_failures_total{{reason=\"unauthenticated\"}} {}\n\
         pulsedb_http_auth_failures_total{{reason=\"forbidden\"}} {}\n",
        auth.unauthenticated.load(Relaxed),
        auth.forbidden.load(Relaxed)
    )
}

async fn healthy() -> &'static str {
    "pulsedb is Healthy.\n"
}

/// Ready once serving at all: the database is opened (WAL replayed) before the listener binds.
async fn ready() -> &'static str {
    "pulsedb is Ready.\n"
}

async fn not_found(request: Request) -> Response {
    (axum::http::StatusCode::NOT_FOUND, format!("404 page not found: {}\n", request.uri().path())).into_response()
}
