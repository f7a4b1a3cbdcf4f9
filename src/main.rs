//! The `pulsedb` command: `serve`, `query`, `import`, `export`, `inspect`, `repair-wal`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.log_filter());
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pulsedb: {e:#}");
            ExitCode::FAILURE
        }
    }
}
