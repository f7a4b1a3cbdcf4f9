//! `pulsedb inspect`: a table of blocks plus totals, read-only.

use std::path::Path;

use anyhow::Context;

use pulsedb_formats::timefmt::{rfc3339, span};

pub(crate) fn run(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let report = pulsedb_storage::inspect(dir).with_context(|| format!("inspecting {}", dir.display()))?;
    println!("data directory: {}", dir.display());
    println!(
        "{:<26} {:<24} {:>5} {:>5} {:>8} {:>8} {:>12} {:>12} {:>8}  codecs",
        "block", "start", "span", "level", "series", "chunks", "samples", "bytes", "B/sample"
    );
    for b in &report.blocks {
        let codecs: Vec<String> = b.codecs.iter().map(|(name, n)| format!("{name}:{n}")).collect();
        println!(
            "{:<26} {:<24} {:>5} {:>5} {:>8} {:>8} {:>12} {:>12} {:>8.3}  {}",
            b.ulid,
            rfc3339(b.mint),
            span(b.maxt - b.mint + 1),
            b.level,
            b.series,
            b.chunks,
            b.samples,
            b.bytes,
            if b.samples > 0 { b.bytes as f64 / b.samples as f64 } else { 0.0 },
            codecs.join(" ")
        );
    }
    println!();
    println!("blocks:            {}", report.blocks.len());
    match report.series {
        Some(n) => println!("series:            {n}"),
        None => println!("series:            (label index could not be opened read-only)"),
    }
    println!("samples in blocks: {}", report.block_samples());
    println!("bytes in blocks:   {}", report.block_bytes());
    match report.bytes_per_sample() {
        Some(bps) => println!("bytes per sample:  {bps:.3}"),
        None => println!("bytes per sample:  - (no blocks yet)"),
    }
    println!(
        "WAL:               {} segments, {} bytes (samples not yet in blocks)",
        report.wal_segments, report.wal_bytes
    );
    println!("label index:       {} bytes", report.index_bytes);
    println!("bytes on disk:     {}", report.block_bytes() + report.wal_bytes + report.index_bytes);
    for (name, p) in pulsedb_remote::saved_positions(dir) {
        println!("forwarding {name}: sent through WAL segment {} offset {}", p.segment, p.offset);
    }
    Ok(())
}
