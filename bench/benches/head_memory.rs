//! Head memory per active series at steady state: the compression fleet at
//! 1 s for 2 h 10 min (a full block window plus the out-of-order window, the
//! most the head holds before a flush), then bytes per series as the head
//! accounts them and as the process RSS grew. Not a timing bench.
//!
//! `cargo bench --bench head_memory` (`-- --hosts N` to change the fleet size)

use std::time::Duration;

use pulsedb::{Db, Options, SyncMode};
use pulsedb_bench::workload::{CompressionFleet, FleetSpec};

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hosts = args
        .iter()
        .position(|a| a == "--hosts")
        .and_then(|i| args.get(i + 1))
        .and_then(|h| h.parse().ok())
        .unwrap_or(100);
    let spec = FleetSpec { hosts, interval_ms: 1000, duration_ms: 130 * 60_000, start_ms: 1_699_999_200_000, seed: 1 };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = Options::default();
    options.sync = SyncMode::Never;
    options.background_maintenance = false;
    options.retention = Duration::ZERO;
    let db = Db::open(dir.path(), options).expect("open");
    let fleet = CompressionFleet::new(spec);
    // After the generator's own state (its label sets) exists.
    let before = rss_bytes();
    let series = fleet.series();
    let mut samples = 0u64;
    for batch in fleet {
        samples += batch.len() as u64;
        db.append(&batch).expect("append");
    }
    let stats = db.stats().expect("stats");
    let after = rss_bytes();
    println!(
        "head: {series} series, {samples} samples ({} per series, 1 s for 2 h 10 min), {} head chunks",
        samples / series as u64,
        stats.head_chunks
    );
    println!(
        "head memory (accounted): {} bytes/series; RSS growth: {} bytes/series; closed chunks on disk: {} bytes/series",
        stats.head_memory_bytes / series,
        after.saturating_sub(before) / series as u64,
        stats.head_chunk_disk_bytes / series as u64
    );
    db.close().expect("close");
}
