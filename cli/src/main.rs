//! The `pulsedb` command: `serve`, `query`, `import`, `export`, `inspect`, `repair-wal`.

mod commands;

/// mimalloc: the server allocates many small strings per request (labels of
/// remote-write bodies); glibc's malloc spent a quarter of the CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = commands::Cli::parse();
    commands::init_logging(args.log_filter());
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pulsedb: {e:#}");
            ExitCode::FAILURE
        }
    }
}
