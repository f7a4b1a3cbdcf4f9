//! Loops `max by (host) (rate(x{host=~"host-[0-4]"}[1m]))` over 2 h at 1 min
//! on 100 counters at 1 s held in the head, for `perf record` (a
//! development aid for the `query` bench's `head/` group):
//! `cargo run --release -p pulsedb-bench --example profile_head_1m -- [seconds] [blocks]`
//! (`blocks`: the same data flushed to blocks first).
use std::time::{Duration, Instant};

use pulsedb::{Batch, Labels};

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let (_dir, db) = pulsedb_bench::scratch_db();
    let start = 1_698_796_800_000i64;
    let labels: Vec<Labels> =
        (0..100).map(|h| Labels::metric("cpu_seconds_total", [("host", format!("host-{h}"))])).collect();
    let mut value = vec![5000i64; labels.len()];
    for chunk in 0..72i64 {
        let mut batch = Batch::new();
        for (i, l) in labels.iter().enumerate() {
            let samples: Vec<pulsedb::Sample> = (chunk * 100..chunk * 100 + 100)
                .map(|s| {
                    value[i] += (s * 7919 + i as i64 * 104_729) % 200;
                    pulsedb::Sample::new(start + s * 1000, value[i] as f64 / 100.0)
                })
                .collect();
            batch.add(l.clone(), samples);
        }
        db.append(&batch).expect("append");
    }
    if std::env::args().nth(2).as_deref() == Some("blocks") {
        // A sample a block span on moves the head past the data, which a
        // flush then writes as blocks (2 h, no 1 min rollups, as the head cuts them).
        let mut marker = Batch::new();
        marker.push(Labels::metric("marker", [("host", "none")]), start + 4 * 3_600_000, 1.0);
        db.append(&marker).expect("append");
        db.flush().expect("flush");
        println!("blocks: {}", db.stats().expect("stats").blocks);
    }
    let q = r#"max by (host) (rate(cpu_seconds_total{host=~"host-[0-4]"}[1m]))"#;
    let end = start + 2 * 3_600_000 - 60_000;
    let began = Instant::now();
    let mut runs = 0u32;
    while began.elapsed() < Duration::from_secs(seconds) {
        db.query_range(q, start + 60_000, end, 60_000).expect("query");
        runs += 1;
    }
    println!("{runs} runs, {:?} each", began.elapsed() / runs);
}
