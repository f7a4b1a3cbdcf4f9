//! `pulsedb anomalies`: the series matching some selectors, most anomalous
//! over a recent window first, each with when it became abnormal — the
//! CLI face of `/api/v1/anomalies` ([`pulsedb::Db::anomalies`]).

use std::path::PathBuf;

use anyhow::Context;
use pulsedb::{AnomalyRequest, Options};
use pulsedb_formats::api::{format_time, format_value, labels_json};
use pulsedb_formats::timefmt::{parse_duration_ms, parse_time_ms, rfc3339};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  pulsedb anomalies --match 'cpu_usage_idle' --match 'http_requests_total' --window 2h"
)]
pub(crate) struct Args {
    /// A series selector; repeat for more.
    #[arg(long = "match", required = true)]
    selectors: Vec<String>,
    #[arg(long, default_value = "pulsedb-data")]
    data_dir: PathBuf,
    /// The end of the window: RFC 3339 or Unix seconds (default now).
    #[arg(long)]
    time: Option<String>,
    /// How far back to look for abnormal scores.
    #[arg(long, default_value = "1h")]
    window: String,
    /// The history each score learns from (anomaly_score's range).
    #[arg(long, default_value = "1d")]
    history: String,
    /// Most series shown.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// JSON in the HTTP API's shape instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut options = Options::default();
    options.background_maintenance = false;
    let db = super::open_existing(&args.data_dir, options)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64)?;
    let at = args.time.as_deref().map(parse_time_ms).transpose()?.unwrap_or(now);
    let mut request = AnomalyRequest::new(args.selectors, at);
    request.window = parse_duration_ms(&args.window).context("--window")?;
    request.history = parse_duration_ms(&args.history).context("--history")?;
    request.limit = args.limit;
    let found = db.anomalies(&request)?;
    if args.json {
        let rows: Vec<serde_json::Value> = found
            .iter()
            .map(|a| {
                serde_json::json!({"metric": labels_json(&a.labels), "score": format_value(a.score),
                    "latest": format_value(a.latest), "since": a.since.map(format_time)})
            })
            .collect();
        println!("{}", pulsedb_formats::api::success(serde_json::Value::Array(rows)));
    } else {
        if found.is_empty() {
            // An empty table would look like a hang or a bug; say why instead.
            eprintln!("no series matched with samples to score in the window (or --limit is 0)");
        }
        for a in &found {
            let since = a.since.map_or_else(|| "-".to_string(), rfc3339);
            println!("{:.3}  latest {:.3}  since {since}  {}", a.score, a.latest, a.labels);
        }
    }
    db.close()?;
    Ok(())
}
