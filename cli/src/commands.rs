//! Command-line parsing and dispatch; each subcommand lives in its own file.

mod anomalies;
mod check;
mod export;
mod import;
mod inspect;
mod query;
mod repair;
mod serve;
mod test_rules;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// pulsedb: an embedded, high-throughput metrics store.
#[derive(Debug, Parser)]
#[command(name = "pulsedb", version, about)]
pub(crate) struct Cli {
    /// Log filter, e.g. `info`, `debug`, `pulsedb_storage=debug` (default:
    /// `info` for serve, `warn` otherwise).
    #[arg(long, global = true)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark: a generated fleet through ingest, restart and WAL replay,
    /// flush, compaction and a query suite; side by side with Prometheus and
    /// VictoriaMetrics with --compare. Prints a table; --json, --report write files.
    Bench(pulsedb_bench::Args),
    /// Rank the series matching --match by anomaly score over a recent
    /// window, each with when it became abnormal (not while a server has the directory).
    Anomalies(anomalies::Args),
    /// Run rule unit tests (`promtool test rules`' format).
    Test {
        #[command(subcommand)]
        what: TestWhat,
    },
    /// Check Prometheus rule files as `promtool check rules` does; exits 1
    /// naming each refused file, the line where it can, and the reason.
    CheckRules {
        /// Rule files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Score an anomaly query on the Numenta Anomaly Benchmark's files with
    /// NAB's rules (windows, scaled sigmoid, profiles, best threshold).
    Nab(pulsedb_bench::nab::NabArgs),
    /// Benchmark recording rules: a generated file of 1,000 rules evaluated
    /// over the bench fleet by pulsedb and Prometheus, time per round and CPU.
    BenchRules(pulsedb_bench::rules_bench::RulesBenchArgs),
    /// Forwarding benchmark: pulsedb forwarding to VictoriaMetrics next to vmagent relaying the
    /// same paced stream (CPU per sample, lag, backlog drain).
    BenchForward(pulsedb_bench::forward_bench::ForwardBenchArgs),
    /// Run the server: Prometheus remote-write/read and query API, InfluxDB
    /// line protocol, /metrics. Stores in ./pulsedb-data, listens on 127.0.0.1:9201.
    Serve(Box<serve::Args>),
    /// Load a Prometheus/OpenMetrics text, InfluxDB line protocol or CSV file (no server running).
    Import(import::Args),
    /// Write stored series as Prometheus/OpenMetrics text, line protocol or CSV (no server running).
    Export(export::Args),
    /// Print a data directory's blocks, series and sample counts, bytes on
    /// disk and bytes per sample. Read-only: safe while a server runs on it.
    Inspect {
        /// The data directory.
        #[arg(default_value = "pulsedb-data")]
        data_dir: PathBuf,
    },
    /// Evaluate a PromQL query on a data directory (not while a server has it open).
    /// With --start/--end it is a range query, else an instant query at --time (default now).
    Query {
        /// The query, e.g. 'sum by (job) (rate(http_requests_total[5m]))'.
        query: String,
        #[arg(long, default_value = "pulsedb-data")]
        data_dir: PathBuf,
        /// Evaluation time: RFC 3339 or Unix seconds (an instant query: not with --start or --end).
        #[arg(long, conflicts_with_all = ["start", "end"])]
        time: Option<String>,
        /// Range start: RFC 3339 or Unix seconds (default: an hour before --end).
        #[arg(long)]
        start: Option<String>,
        /// Range end: RFC 3339 or Unix seconds (default: now).
        #[arg(long)]
        end: Option<String>,
        /// Range step: a duration (15s, 1m) or seconds (default: about 250 points over the range, at least 1s).
        #[arg(long)]
        step: Option<String>,
        /// Output: a table, or JSON in Prometheus' HTTP API shape.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Evaluate from raw samples only, as Prometheus does, never from
        /// rollup summaries (whose sums add in another order).
        #[arg(long)]
        raw: bool,
    },
    /// Verify every checksum in a data directory (blocks, chunks, rollups,
    /// WAL frames and records, label index) and list what is damaged; exits 1
    /// if anything is. Takes the directory's lock: no server may have it open.
    Check {
        /// The data directory.
        #[arg(default_value = "pulsedb-data")]
        data_dir: PathBuf,
    },
    /// Truncate a damaged write-ahead log at its first corrupt frame so the
    /// directory opens again. Samples after the damage are lost; run it only
    /// when opening fails with a WAL corruption error, with no server running.
    RepairWal {
        /// The data directory.
        data_dir: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

impl Cli {
    pub(crate) fn log_filter(&self) -> &str {
        match (&self.log_level, &self.command) {
            (Some(level), _) => level,
            (None, Command::Serve(_)) => "info",
            (None, _) => "warn",
        }
    }
}

impl Cli {
    /// Whether the command is an offline filter of its output (everything
    /// but the long-running `serve` and `bench`).
    pub(crate) fn writes_to_a_pipe(&self) -> bool {
        !matches!(self.command, Command::Serve(_) | Command::Bench(_))
    }
}

/// Opens a data directory that must exist, for the commands that only
/// read one (`query`, `anomalies`, `export`): a mistyped path is an error
/// naming it, not a new empty database answering nothing.
pub(crate) fn open_existing(data_dir: &std::path::Path, options: pulsedb::Options) -> anyhow::Result<pulsedb::Db> {
    use anyhow::Context as _;
    if !data_dir.is_dir() {
        anyhow::bail!(
            "no data directory at {} (`pulsedb serve` and `pulsedb import` create one; pass --data-dir)",
            data_dir.display()
        );
    }
    // Every data directory (a snapshot's too) holds one of these.
    if !["index", "blocks", "wal"].iter().any(|d| data_dir.join(d).is_dir()) {
        anyhow::bail!(
            "{} holds no pulsedb data (no index, blocks or wal directory); pass the --data-dir of a server or import",
            data_dir.display()
        );
    }
    pulsedb::Db::open(data_dir, options).with_context(|| format!("opening {}", data_dir.display()))
}

pub(crate) fn init_logging(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Bench(args) => pulsedb_bench::run(args),
        Command::Anomalies(args) => anomalies::run(args),
        Command::CheckRules { files } => check_rules(&files),
        Command::Test { what: TestWhat::Rules { files } } => test_rules::run(&files),
        Command::Nab(args) => pulsedb_bench::nab::run(args).map(|_| ()),
        Command::BenchRules(args) => pulsedb_bench::rules_bench::run(args),
        Command::BenchForward(args) => pulsedb_bench::forward_bench::run(args),
        Command::Import(args) => import::run(args),
        Command::Export(args) => export::run(args),
        Command::Inspect { data_dir } => inspect::run(&data_dir),
        Command::RepairWal { data_dir } => repair::run(&data_dir),
        Command::Check { data_dir } => check::run(&data_dir),
        Command::Query { query, data_dir, time, start, end, step, format, raw } => query::run(query::Args {
            data_dir: &data_dir,
            query: &query,
            time: time.as_deref(),
            start: start.as_deref(),
            end: end.as_deref(),
            step: step.as_deref(),
            json: matches!(format, Format::Json),
            raw,
        }),
    }
}

#[derive(Debug, Subcommand)]
enum TestWhat {
    /// Rule unit test files: rule_files, evaluation_interval, tests with
    /// input_series, alert_rule_test and promql_expr_test.
    Rules {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `pulsedb check-rules`: every file checked, every refusal printed.
fn check_rules(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut refused = 0;
    for path in files {
        match pulsedb_rules::load_file(path) {
            Ok(file) => {
                let rules: usize = file.groups.iter().map(|g| g.rules.len()).sum();
                println!("{}: SUCCESS: {rules} rules in {} groups", path.display(), file.groups.len());
            }
            Err(e) => {
                eprintln!("FAILED: {e}");
                refused += 1;
            }
        }
    }
    anyhow::ensure!(refused == 0, "{refused} of {} rule files refused", files.len());
    Ok(())
}
