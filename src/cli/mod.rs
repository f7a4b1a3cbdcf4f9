//! Command-line parsing and dispatch; each subcommand lives in its own file.

mod inspect;
mod repair;
mod timefmt;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// pulsedb: an embedded, high-throughput metrics store.
#[derive(Debug, Parser)]
#[command(name = "pulsedb", version, about)]
pub(crate) struct Cli {
    /// Log filter, e.g. `info`, `debug`, `pulsedb_storage=debug`.
    #[arg(long, global = true, default_value = "info")]
    pub(crate) log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a data directory's blocks, series and sample counts, bytes on
    /// disk and bytes per sample. Read-only: safe while a server runs on it.
    Inspect {
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

pub(crate) fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect { data_dir } => inspect::run(&data_dir),
        Command::RepairWal { data_dir } => repair::run(&data_dir),
    }
}
