//! `pulsedb serve`: flags to a server [`Config`], a tokio runtime, and
//! SIGINT/SIGTERM as the shutdown signal.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use pulsedb_server::flags;
use pulsedb_server::{self as server, Config};

use pulsedb::SyncMode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where the data lives (created if missing).
    #[arg(long, default_value = "pulsedb-data")]
    data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed on start).
    #[arg(long, default_value = "127.0.0.1:9201")]
    listen: String,
    /// How long samples are kept, e.g. 15d, 90d, 1y.
    #[arg(long, default_value = "15d", value_parser = flags::duration)]
    retention: Duration,
    /// When a write is acknowledged: `always` (after its fsync; group
    /// commit shares fsyncs between concurrent writers) or
    /// `interval=<duration>` (fsync in the background every duration; a
    /// crash may lose that much acknowledged data).
    #[arg(long, default_value = "always", value_parser = flags::sync_mode)]
    sync: SyncMode,
    /// How far behind a series' newest sample a sample may arrive and still be accepted.
    #[arg(long, default_value = "10m", value_parser = flags::duration)]
    out_of_order_window: Duration,
    /// Most active series; writes that would create more are refused with a 400.
    #[arg(long)]
    max_series: Option<usize>,
    /// Most series created (entering the head) in any minute; writes that
    /// would create more are refused with a 429, to be retried later.
    #[arg(long)]
    max_new_series_per_minute: Option<usize>,
    /// Largest request body in bytes, before and after decompression.
    #[arg(long, default_value_t = 64 << 20)]
    max_body_bytes: usize,
    /// Size in bytes at which a WAL segment is closed and the next begun:
    /// the unit the WAL is truncated in, and a forwarding backlog limit skips.
    #[arg(long, default_value_t = 128 << 20)]
    wal_segment_size: u64,
    /// Samples further ahead of the server's clock are refused.
    #[arg(long, default_value = "10m", value_parser = flags::duration)]
    max_future: Duration,
    /// Longest a query may run (0s: every query times out at once, to test
    /// how clients handle it).
    #[arg(long, default_value = "2m", value_parser = flags::duration_or_zero)]
    query_timeout: Duration,
    /// Most samples a query may load into memory.
    #[arg(long, default_value_t = 50_000_000)]
    query_max_samples: usize,
    /// How long a client may take to send its request headers, and an idle
    /// kept-alive connection may wait for the next request; then it is closed.
    #[arg(long, default_value = "30s", value_parser = flags::duration)]
    header_read_timeout: Duration,
    /// How long a client may take to send a request body; then 408.
    #[arg(long, default_value = "60s", value_parser = flags::duration)]
    body_read_timeout: Duration,
    /// How long writing a response may stay blocked on a client that reads
    /// none of it; then the connection is closed.
    #[arg(long, default_value = "60s", value_parser = flags::duration)]
    response_write_timeout: Duration,
    /// Most connections open at once; more wait in the listen backlog.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// TLS and authentication: Prometheus' web configuration file
    /// (`tls_server_config`, `basic_auth_users`) plus pulsedb's roles
    /// (`pulsedb_user_roles`, `pulsedb_bearer_tokens`); see the README.
    #[arg(long = "web.config.file")]
    web_config_file: Option<PathBuf>,
    /// Prometheus rule files (globs such as 'rules/*.yml'; repeat for more).
    /// Recording rules are evaluated; a file that does not check refuses the start.
    #[arg(long = "rules")]
    rules: Vec<String>,
    /// The evaluation interval of rule groups that name none.
    #[arg(long = "rules.evaluation-interval", default_value = "1m", value_parser = flags::duration)]
    rules_evaluation_interval: Duration,
    /// An Alertmanager to send alerts to (its base URL, API v2); repeat for more.
    #[arg(long = "alertmanager-url")]
    alertmanager_urls: Vec<String>,
    /// How often a firing alert is sent again.
    #[arg(long = "rules.alert.resend-delay", default_value = "1m", value_parser = flags::duration)]
    alert_resend_delay: Duration,
    /// A label added to every alert sent, name=value; repeat for more.
    #[arg(long = "external-label")]
    external_labels: Vec<String>,
    /// This server's URL as its users reach it, for the links in alerts.
    #[arg(long = "web.external-url", default_value = "")]
    external_url: String,
    /// A directory of dashboard files (*.json) for the UI; without it, the
    /// dashboards that ship with pulsedb. A bad file refuses the start.
    #[arg(long)]
    dashboards: Option<PathBuf>,
    /// Forward everything appended to this remote-write URL (a VictoriaMetrics
    /// vminsert, Mimir, Cortex, Thanos Receive …), from the WAL, durably.
    #[arg(long = "remote-write-url")]
    remote_write_url: Option<String>,
    /// Destinations in Prometheus' `remote_write:` format (see README), for more than one
    /// or for headers, authentication, TLS, filters and queue settings.
    #[arg(long = "remote-write-config")]
    remote_write_config: Option<PathBuf>,
    /// How long shutdown waits for forwarding to send what it read; the rest resumes at the next start.
    #[arg(long = "remote-write-shutdown-timeout", default_value = "10s", value_parser = flags::duration_or_zero)]
    remote_write_shutdown_timeout: Duration,
    /// How often pulsedb records its own /metrics into itself (job="pulsedb"); 0 turns it off.
    #[arg(long = "self-monitor-interval", default_value = "15s", value_parser = flags::duration_or_zero)]
    self_monitor_interval: Duration,
}

/// `name=value` pairs as labels, refusing a bad name.
fn external_labels(pairs: &[String]) -> anyhow::Result<pulsedb::Labels> {
    let mut out = Vec::new();
    for pair in pairs {
        let (name, value) =
            pair.split_once('=').ok_or_else(|| anyhow::anyhow!("--external-label {pair:?}: expected name=value"))?;
        anyhow::ensure!(pulsedb::is_valid_label_name(name), "--external-label {pair:?}: invalid label name");
        out.push((name.to_string(), value.to_string()));
    }
    Ok(pulsedb::Labels::new(out))
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut config = Config::default();
    config.data_dir = args.data_dir;
    config.listen = args.listen;
    config.storage.sync = args.sync;
    config.storage.retention = args.retention;
    config.storage.out_of_order_window = args.out_of_order_window;
    config.storage.max_active_series = args.max_series;
    config.storage.max_new_series_per_minute = args.max_new_series_per_minute;
    config.max_body_bytes = args.max_body_bytes;
    config.storage.wal_segment_size = args.wal_segment_size;
    config.storage.max_future = Some(args.max_future);
    config.query.timeout = args.query_timeout;
    config.query.max_samples = args.query_max_samples;
    config.header_read_timeout = args.header_read_timeout;
    config.body_read_timeout = args.body_read_timeout;
    config.response_write_timeout = args.response_write_timeout;
    config.max_connections = args.max_connections;
    config.rule_files = args.rules;
    config.rule_evaluation_interval = args.rules_evaluation_interval;
    config.alertmanager_urls = args.alertmanager_urls;
    config.alert_resend_delay = args.alert_resend_delay;
    config.external_labels = external_labels(&args.external_labels)?;
    config.external_url = args.external_url;
    config.dashboards_dir = args.dashboards;
    config.self_monitor_interval = Some(args.self_monitor_interval);
    if let Some(url) = &args.remote_write_url {
        config.forward.push(pulsedb_remote::Destination::for_url(url)?);
    }
    if let Some(file) = &args.remote_write_config {
        config.forward.extend(pulsedb_remote::config::load_file(file)?);
    }
    config.forward_shutdown_timeout = args.remote_write_shutdown_timeout;
    if let Some(path) = &args.web_config_file {
        config.web = pulsedb_server::web_config::WebConfig::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let scheme = if config.web.tls.is_some() { "https" } else { "http" };
    let runtime = server::runtime().context("starting tokio")?;
    runtime.block_on(server::serve(
        config,
        |addr| {
            // Scripts and tests read the address (the port, with --listen …:0) from this line.
            println!("pulsedb listening on {scheme}://{addr}");
            let _ = std::io::stdout().flush();
        },
        shutdown_signal(),
    ))
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutdown signal received");
}
