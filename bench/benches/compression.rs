//! Bytes per sample on disk (blocks), on the compression fleet and on the
//! real NAB data. Not a timing bench: it prints a table.
//!
//! `cargo bench --bench compression` (add `-- --quick` for a 2-hour fleet;
//! `ROLLUPS=0` to measure blocks without rollups).

use std::time::{Duration, Instant};

use pulsedb::{Batch, Db, Options, StorageStats, SyncMode};
use pulsedb_bench::workload::{load_nab, CompressionFleet, FleetSpec};

fn options() -> Options {
    let mut o = Options::default();
    o.sync = SyncMode::Never;
    o.background_maintenance = false;
    o.retention = Duration::ZERO;
    o.rollups = std::env::var("ROLLUPS").map_or(true, |v| v != "0");
    if let Ok(level) = std::env::var("ZSTD_LEVEL") {
        o.zstd_level = level.parse().expect("ZSTD_LEVEL");
    }
    o
}

fn report(name: &str, stats: &StorageStats, codecs: &str) {
    println!(
        "{name:<28} samples in blocks {:>11}  bytes {:>11}  bytes/sample {:.3}  blocks {}  {codecs}",
        stats.block_samples,
        stats.block_bytes,
        stats.block_bytes as f64 / stats.block_samples.max(1) as f64,
        stats.blocks
    );
}

fn codec_summary(dir: &std::path::Path) -> String {
    let info = pulsedb_storage::inspect(dir).ok();
    let mut totals = std::collections::BTreeMap::<String, u64>::new();
    for b in info.iter().flat_map(|i| i.blocks.iter()) {
        for (c, n) in &b.codecs {
            *totals.entry(c.clone()).or_default() += n;
        }
    }
    totals.iter().map(|(c, n)| format!("{c}:{n}")).collect::<Vec<_>>().join(" ")
}

fn fleet(quick: bool) {
    let hours = if quick { 2 } else { 6 };
    let spec = FleetSpec {
        hosts: 100,
        interval_ms: 1000,
        // One extra step so the last window is finished and flushed.
        duration_ms: hours * 3_600_000 + 1000,
        start_ms: 1_699_999_200_000, // aligned to 2 h
        seed: 1,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    let fleet = CompressionFleet::new(spec);
    let series = fleet.series();
    let started = Instant::now();
    let mut samples = 0u64;
    for batch in fleet {
        samples += batch.len() as u64;
        db.append(&batch).expect("append");
    }
    let ingest = started.elapsed();
    db.flush().expect("flush");
    db.compact().expect("compact");
    let stats = db.stats().expect("stats");
    println!(
        "fleet: {} hosts x {hours} h at 1 s, {series} series, {samples} samples appended in {:.1?} ({:.2} M samples/s, SyncMode::Never)",
        series / CompressionFleet::SERIES_PER_HOST,
        ingest,
        samples as f64 / ingest.as_secs_f64() / 1e6
    );
    report("fleet (blocks)", &stats, &codec_summary(dir.path()));
    db.close().expect("close");
}

fn nab() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/nab");
    let series = load_nab(&root).expect("load NAB");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    let mut total = 0;
    let mut max_t = i64::MIN;
    for s in &series {
        let mut batch = Batch::new();
        batch.add(s.labels.clone(), s.samples.iter().copied());
        total += s.samples.len();
        max_t = max_t.max(s.samples.last().map_or(i64::MIN, |x| x.t));
        db.append(&batch).expect("append");
    }
    // Push the head past the last window so every NAB sample is flushed.
    let mut sentinel = Batch::new();
    sentinel.push(pulsedb::Labels::metric("sentinel", [("a", "b")]), max_t + 8 * 3_600_000, 0.0);
    db.append(&sentinel).expect("append");
    db.flush().expect("flush");
    db.compact().expect("compact");
    let stats = db.stats().expect("stats");
    println!("nab: {} series, {total} samples (5-minute spacing)", series.len());
    report("nab (blocks)", &stats, &codec_summary(dir.path()));
    db.close().expect("close");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::args().any(|a| a == "--per-series") {
        nab_per_series();
        return;
    }
    nab();
    fleet(quick);
}

/// Per-series codec efficiency on NAB, without block overheads.
#[allow(dead_code)]
fn nab_per_series() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/nab");
    for s in load_nab(&root).expect("load NAB") {
        let mut bytes = 0;
        let mut codecs = Vec::new();
        for run in s.samples.chunks(2048) {
            let (b, c) = pulsedb_storage::internals::sealed_encode(run);
            bytes += b.len();
            codecs.push(c.name());
        }
        println!(
            "{:<70} {:>6} samples {:>6.3} B/sample {:?}",
            s.labels.to_string(),
            s.samples.len(),
            bytes as f64 / s.samples.len() as f64,
            codecs
        );
    }
}
