//! Head memory per active series, as the write-path issue measures it:
//! `N` series with label sets shaped like Prometheus' 20kseries.json (its
//! 20,000 real sets, each repeated with a `shard` label as many times as
//! needed), one sample per second each for 10 minutes, appended by handle
//! from two writers, each second's samples in batches of `B` series (as
//! remote-write requests bring them; 0: each writer's whole half in one
//! batch, whose transient vectors then count as hundreds of bytes per
//! series at 1 M). Reports the growth of the process's anonymous RSS
//! (`RssAnon` in /proc: heap and allocator included) per series, the head's
//! own accounting, and the file-backed RSS (mapped chunk files) apart. Not
//! a timing bench.
//!
//! `cargo bench -p pulsedb-bench --bench head_memory -- [--series N] [--batch B]`
//! (defaults 100,000 and 10,000)

use std::time::{Duration, Instant};

use pulsedb::{Batch, Db, Labels, Options, SeriesHandle, SyncMode};

/// The allocator the `pulsedb` binary runs with: its overhead is part of what is measured.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A field of /proc/self/status in bytes.
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb * 1024)
}

/// `n` distinct label sets: 20kseries.json's, each repeated with a `shard` label.
fn label_sets(n: usize) -> Vec<Labels> {
    let base = pulsedb_bench::label_sets(20_000).expect("20kseries.json");
    (0..n)
        .map(|i| {
            let l = &base[i % base.len()];
            let shard = (i / base.len()).to_string();
            Labels::new(l.iter().map(|x| (x.name.clone(), x.value.clone())).chain([("shard".to_string(), shard)]))
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let series = flag("--series", 100_000);
    let batch_rows = match flag("--batch", 10_000) {
        0 => series,
        rows => rows,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = Options::default();
    options.sync = SyncMode::Interval(Duration::from_secs(1));
    options.background_maintenance = false;
    options.retention = Duration::ZERO;
    let db = Db::open(dir.path(), options).expect("open");
    let labels = label_sets(series);
    // After the generator's label sets exist: what grows from here is the database's.
    let (anon_before, file_before) = (status_bytes("RssAnon:"), status_bytes("RssFile:"));
    let started = Instant::now();
    let handles: Vec<SeriesHandle> = labels.iter().map(|l| db.resolve(l).expect("resolve")).collect();
    let start_ms = 1_700_000_000_000i64;
    let steps = 600i64;
    std::thread::scope(|scope| {
        for half in handles.chunks(series.div_ceil(2)) {
            let db = &db;
            scope.spawn(move || {
                let mut batch = Batch::new();
                for step in 0..steps {
                    for (part, handles) in half.chunks(batch_rows).enumerate() {
                        batch.clear();
                        for (j, &h) in handles.iter().enumerate() {
                            let i = (part * batch_rows + j) as i64;
                            batch.push_by_handle(h, start_ms + step * 1000, ((step * 7 + i) % 100) as f64);
                        }
                        db.append(&batch).expect("append");
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let stats = db.stats().expect("stats");
    let (anon_after, file_after) = (status_bytes("RssAnon:"), status_bytes("RssFile:"));
    let per = |bytes: u64| bytes / series as u64;
    println!(
        "{series} series x {steps} samples in {:.1} s, batches of {} series; head: {} series, {} chunks",
        elapsed.as_secs_f64(),
        batch_rows.min(series.div_ceil(2)),
        stats.head_series,
        stats.head_chunks
    );
    println!(
        "anonymous RSS growth: {} bytes/series; head accounts {} bytes/series; file-backed RSS growth {} bytes/series; closed chunks on disk {} bytes/series",
        per(anon_after.saturating_sub(anon_before)),
        per(stats.head_memory_bytes as u64),
        per(file_after.saturating_sub(file_before)),
        per(stats.head_chunk_disk_bytes)
    );
    db.close().expect("close");
    // Alive to the end: freed, their pages would be reused by the head and hide its growth.
    drop(labels);
}
