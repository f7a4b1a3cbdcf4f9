//! `pulsedb repair-wal`: offline truncation of a damaged WAL.

use std::path::Path;

use anyhow::Context;

pub(crate) fn run(dir: &Path) -> anyhow::Result<()> {
    let report = pulsedb_storage::repair_wal(dir).with_context(|| format!("repairing the WAL in {}", dir.display()))?;
    match report.corruption {
        None => println!("WAL in {} is intact; nothing changed", dir.display()),
        Some(site) => {
            println!(
                "WAL truncated at segment {:08}.wal byte {} ({}): {} bytes dropped, {} later segments deleted",
                site.segment,
                site.offset,
                site.kind,
                report.bytes_dropped,
                report.segments_deleted.len()
            );
        }
    }
    Ok(())
}
