//! The `pulsedb` command: `serve`, `bench`, `query`, `import`, `export`,
//! `inspect`, `check`, `repair-wal`; each subcommand in `commands/`.

mod commands;
mod sigpipe;

/// mimalloc: the server allocates many small strings per request (labels of
/// remote-write bodies); glibc's malloc spent a quarter of the CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = commands::Cli::parse();
    if args.writes_to_a_pipe() {
        sigpipe::restore_default_action();
    }
    commands::init_logging(args.log_filter());
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pulsedb: {e:#}");
            ExitCode::FAILURE
        }
    }
}
