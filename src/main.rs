//! The `pulsedb` command: `inspect` a data directory (more subcommands to come).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(&args.log_level);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pulsedb: {e:#}");
            ExitCode::FAILURE
        }
    }
}
