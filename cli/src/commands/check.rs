//! `pulsedb check`: verifies every checksum in a data directory and lists
//! what is damaged; exits non-zero when anything is.

use std::path::Path;

use anyhow::Context;

pub(crate) fn run(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let report = pulsedb_storage::check(dir).with_context(|| format!("checking {}", dir.display()))?;
    println!("data directory: {}", dir.display());
    println!(
        "blocks: {}, series in blocks: {}, chunks: {}, samples: {}, rollup blobs: {}",
        report.blocks, report.series, report.chunks, report.samples, report.rollup_blobs
    );
    match report.index_series {
        Some(n) => println!("label index: {n} series"),
        None => println!("label index: unreadable"),
    }
    println!("WAL: {} segments, {} frames", report.wal_segments, report.wal_frames);
    if let Some(torn) = &report.wal_torn_tail {
        println!("WAL torn tail (normal after a crash): {torn}");
    }
    if report.is_clean() {
        println!("OK: every checksum verified, nothing damaged");
        return Ok(());
    }
    for problem in &report.problems {
        println!("DAMAGED: {problem}");
    }
    anyhow::bail!("{} problems found in {}", report.problems.len(), dir.display())
}
