//! `pulsedb bench`: generates a deterministic devops fleet, runs it through
//! pulsedb's phases (ingest, restart and WAL replay, flush, compaction, the
//! query suite, the HTTP path) and, with `--compare`, through Prometheus
//! and VictoriaMetrics on loopback; prints a table and writes JSON and HTML.

mod embedded;
pub mod forward_bench;
mod history;
mod ingest;
pub mod nab;
mod over_http;
mod process;
mod real;
mod replay;
mod report;
pub mod rhythm;
pub mod rules_bench;
mod server;
mod suite;
pub mod workload;
mod write_bench;

pub use process::cpu_seconds;
pub use real::label_sets;

/// A database in a temporary directory for development examples and
/// timings: no background work, nothing expiring, no fsync.
pub fn scratch_db() -> (tempfile::TempDir, pulsedb::Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = pulsedb::Options::default();
    o.background_maintenance = false;
    o.retention = std::time::Duration::ZERO;
    o.sync = pulsedb::SyncMode::Never;
    let db = pulsedb::Db::open(dir.path(), o).expect("open");
    (dir, db)
}

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::workload::DevopsSpec;
use pulsedb::{Options, SyncMode};

use history::HistorySpec;
use pulsedb_server::flags;
use report::{Report, SystemReport};
use server::{Server, System};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    pulsedb bench                                   # 1,000 hosts x 2 h at 1 s, embedded\n  \
    pulsedb bench --hosts 100 --duration 6h --compare prometheus,victoriametrics --report bench.html\n  \
    pulsedb bench --dataset real --compare prometheus,victoriametrics\n  \
    pulsedb bench --target http://127.0.0.1:9201    # a running server, over remote-write")]
pub struct Args {
    /// Hosts in the fleet (41 series each).
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    /// Time between samples of a series.
    #[arg(long, default_value = "1s", value_parser = flags::positive_ms)]
    interval: i64,
    /// Simulated time the fleet covers; it ends now.
    #[arg(long, default_value = "2h", value_parser = flags::positive_ms)]
    duration: i64,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fraction of hosts replaced by new ones (new series) per simulated hour; host-0 to host-7, which the query suite names, stay.
    #[arg(long, default_value_t = 0.1)]
    churn: f64,
    /// Concurrent writers through the embedded API (and over remote-write
    /// with --live-client; replayed requests go by --senders).
    #[arg(long, default_value_t = 2)]
    writers: usize,
    /// Timed runs of each query (after one untimed run).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Series in the long history behind the rollup query (0: skip it).
    #[arg(long, default_value_t = 100)]
    history_series: usize,
    /// Days the long history covers.
    #[arg(long, default_value_t = 30)]
    history_days: i64,
    /// Interval of the long history.
    #[arg(long, default_value = "1m", value_parser = flags::positive_ms)]
    history_interval: i64,
    /// When pulsedb acknowledges a write: `always` (after fsync), `interval=1s`, `never`.
    #[arg(long, default_value = "always", value_parser = flags::sync_mode_or_never)]
    sync: SyncMode,
    /// Where pulsedb's data goes (default: a temporary directory, removed at the end).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Instead of embedded pulsedb, ingest into and query a running
    /// server with Prometheus' remote-write and query API.
    #[arg(long)]
    target: Option<String>,
    /// Also run the same data and queries through these systems over HTTP
    /// (pulsedb serve is always one of them). Needs them installed:
    /// scripts/install-peers.sh.
    #[arg(long, value_enum, value_delimiter = ',')]
    compare: Vec<System>,
    /// `fleet` (generated) or `real`: NAB's 24 cloud-metric series, each with
    /// a label set of Prometheus' 20kseries.json, for bytes per sample.
    #[arg(long, value_enum, default_value = "fleet")]
    dataset: Dataset,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write an HTML report with charts here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// No progress bars (for logs and tests).
    #[arg(long)]
    quiet: bool,
    /// Over remote-write, generate each request while sending it. By
    /// default the fleet's requests are encoded into memory first (when
    /// they fit in a quarter of the available memory) and replayed to each
    /// server: generating them costs about as much CPU as a server spends
    /// taking them in, on the same cores.
    #[arg(long)]
    live_client: bool,
    /// Concurrent remote-write requests when replaying encoded requests
    /// (default: 2 per core, vmagent's default number of queues).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    senders: Option<usize>,
    /// Most samples in one remote-write request: vmagent's default;
    /// Prometheus' sender sends up to 2000.
    #[arg(long, default_value_t = ingest::SAMPLES_PER_REQUEST,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    samples_per_request: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Dataset {
    Fleet,
    Real,
}

/// Progress bars and phase summary lines.
struct Ui {
    quiet: bool,
}

impl Ui {
    fn bar(&self, phase: &str, total: u64) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:40}] {percent:>3}% {human_pos}/{human_len} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(phase.to_string());
        bar
    }

    fn done(&self, bar: &ProgressBar, phase: &str, summary: String) {
        bar.finish_and_clear();
        eprintln!("{phase:>12}  {summary}");
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let ui = Ui { quiet: args.quiet };
    let scratch =
        tempfile::Builder::new().prefix("pulsedb-bench-").tempdir().context("creating a temporary directory")?;
    let data_dir = args.data_dir.clone().unwrap_or_else(|| scratch.path().join("embedded"));
    let mut report =
        Report { command: std::env::args().collect::<Vec<_>>().join(" "), machine: machine(), ..Report::default() };
    if args.dataset == Dataset::Real {
        report.real_data = Some(real::run(&args, scratch.path(), &ui)?);
        if args.compare.contains(&System::Prometheus) {
            report.write_bench = Some(write_bench::run(&args, scratch.path(), &ui)?);
        }
        return finish(&args, &report);
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let end = now / args.interval * args.interval;
    let spec = DevopsSpec {
        hosts: args.hosts,
        interval_ms: args.interval,
        duration_ms: args.duration,
        start_ms: end - args.duration,
        seed: args.seed,
        churn_per_hour: args.churn,
    };
    let history = (args.history_series > 0).then(|| HistorySpec {
        series: args.history_series,
        days: args.history_days,
        interval_ms: args.history_interval,
        end_ms: spec.start_ms / args.history_interval * args.history_interval,
        seed: args.seed,
    });
    report.workload = serde_json::json!({
        "hosts": spec.hosts, "series_per_host": DevopsSpec::SERIES_PER_HOST, "interval_ms": spec.interval_ms,
        "duration_ms": spec.duration_ms, "samples": spec.total_samples(), "churn_per_hour": spec.churn_per_hour,
        "seed": spec.seed, "writers": args.writers, "sync": format!("{:?}", args.sync),
        "senders": args.senders, "samples_per_request": args.samples_per_request,
        "history": history.as_ref().map(|h| serde_json::json!({
            "series": h.series, "days": h.days, "interval_ms": h.interval_ms, "samples": h.total_samples()})),
    });
    eprintln!(
        "workload: {} hosts x {} series, {} s interval, {} h, {} samples; churn {:.0}%/h; seed {}",
        spec.hosts,
        DevopsSpec::SERIES_PER_HOST,
        spec.interval_ms as f64 / 1000.0,
        spec.duration_ms as f64 / 3_600_000.0,
        spec.total_samples(),
        spec.churn_per_hour * 100.0,
        spec.seed
    );
    let mut queries = suite::fleet_suite(&spec);
    if let Some(h) = &history {
        queries.push(h.rollup_query());
    }

    if args.target.is_some() {
        // A running server: ingest and the suite over HTTP, no restart, flush or compaction phases.
        let encoded = encode_beforehand(&ui, &args, &spec)?;
        let system = over_http::http_system(&ui, &args, &spec, encoded.as_ref(), None, &queries, None, None, None)?;
        report.systems.push(system);
        return finish(&args, &report);
    }
    let (embedded, answers) = embedded::run(&ui, &args, &spec, history.as_ref(), &queries, &data_dir)?;
    report.systems.push(embedded);
    if args.compare.is_empty() {
        // The HTTP path on the same data: pulsedb serve, the same suite, the same answers.
        let fleet = Server::start(System::Pulsedb, &data_dir.join("fleet"))?;
        let hist = history.as_ref().map(|_| Server::start(System::Pulsedb, &data_dir.join("history"))).transpose()?;
        let mut http = SystemReport { system: "pulsedb (http)".into(), ..SystemReport::default() };
        over_http::run_queries(&ui, &args, &queries, &fleet.base, hist.as_ref(), Some(&answers), &mut http)?;
        fleet.stop()?;
        if let Some(h) = hist {
            h.stop()?;
        }
        report.systems.push(http);
    } else {
        let mut systems = vec![System::Pulsedb];
        systems.extend(args.compare.iter().copied().filter(|s| *s != System::Pulsedb));
        let encoded = encode_beforehand(&ui, &args, &spec)?;
        for system in systems {
            let dir = scratch.path().join(format!("http-{}", system.name()));
            report.systems.push(over_http::compare_system(
                &ui,
                &args,
                &spec,
                encoded.as_ref(),
                history.as_ref(),
                &queries,
                system,
                &dir,
                &answers,
            )?);
        }
        if args.compare.contains(&System::Prometheus) {
            report.write_bench = Some(write_bench::run(&args, scratch.path(), &ui)?);
        }
    }
    finish(&args, &report)
}

/// The fleet's remote-write requests, encoded once for every server to
/// be sent the same bytes; `None` with `--live-client` or when they would
/// take more than a quarter of the available memory.
fn encode_beforehand(ui: &Ui, args: &Args, spec: &DevopsSpec) -> anyhow::Result<Option<replay::Encoded>> {
    if args.live_client {
        return Ok(None);
    }
    let bar = ui.bar("encode", 1);
    let budget = process::available_memory() / 4;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let senders = args.senders.unwrap_or(2 * cores);
    let encoded = replay::encode_fleet(spec, senders, args.samples_per_request, budget)?;
    let summary = match &encoded {
        Some(e) => format!(
            "{} remote-write requests ({:.0} MiB) in {:.1} s, replayed to each server by {} senders",
            e.requests,
            e.bytes as f64 / (1 << 20) as f64,
            e.seconds,
            e.senders()
        ),
        None => format!(
            "the requests would take more than {:.0} MiB: generated while sent (as --live-client)",
            budget as f64 / (1 << 20) as f64
        ),
    };
    ui.done(&bar, "encode", summary);
    Ok(encoded)
}

fn finish(args: &Args, report: &Report) -> anyhow::Result<()> {
    println!("{}", report.machine);
    println!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.report {
        std::fs::write(path, report.html()).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let failed: Vec<String> = report
        .systems
        .iter()
        .filter(|s| s.system.starts_with("pulsedb"))
        .flat_map(|s| s.differences.iter().map(move |(q, d)| format!("{}: {q}: {d}", s.system)))
        .collect();
    if !failed.is_empty() {
        anyhow::bail!("pulsedb's HTTP answers differ from its embedded ones:\n{}", failed.join("\n"));
    }
    Ok(())
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string()))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0.0, |kb| kb as f64 / (1 << 20) as f64);
    format!("machine: {cores} cores, {memory:.1} GiB memory, pulsedb {}", env!("CARGO_PKG_VERSION"))
}

fn storage_options(args: &Args) -> Options {
    let mut options = Options::default();
    options.sync = args.sync;
    // The long history is weeks old: keep it.
    options.retention = Duration::from_secs(3650 * 86_400);
    // The bench runs each phase itself, at a known moment.
    options.background_maintenance = false;
    options
}
