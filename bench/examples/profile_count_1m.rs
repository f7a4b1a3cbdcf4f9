//! Loops `count(node_cpu_value)` over SERIES (default 1,000,000) series of
//! `scripts/bench-label-index.sh`'s shape (six labels, one sample each),
//! embedded, for `perf record` (issue 17's whole-set goal, < 200 ms at 1 M):
//! `cargo run --release -p pulsedb-bench --example profile_count_1m -- [seconds] [series]`.
use std::time::{Duration, Instant};

use pulsedb::{Batch, Labels, Sample};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let series: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let (_dir, db) = pulsedb_bench::scratch_db();
    let now = 1_700_000_000_000i64;
    let loading = Instant::now();
    for part in (0..series).step_by(100_000) {
        let mut batch = Batch::new();
        for i in part..series.min(part + 100_000) {
            let labels = Labels::metric(
                "node_cpu_value",
                [
                    ("pod", format!("api-{:05}-{}", i / 10, i % 10)),
                    ("namespace", format!("ns{}", i % 50)),
                    ("node", format!("n{}", i % 300)),
                    ("container", format!("c{}", i % 7)),
                    ("cpu", format!("{}", i % 16)),
                ],
            );
            batch.add(labels, [Sample::new(now, (i % 100) as f64)]);
        }
        db.append(&batch).expect("append");
    }
    println!("loaded {series} series in {:.1?}", loading.elapsed());
    let q = "count(node_cpu_value)";
    let began = Instant::now();
    let mut times = Vec::new();
    while began.elapsed() < Duration::from_secs(seconds) {
        let run = Instant::now();
        let answer = db.query(q, now + 1_000).expect("query");
        times.push(run.elapsed());
        if times.len() == 1 {
            println!("answer {answer:?}");
        }
    }
    times.sort();
    println!("{} runs, median {:?}", times.len(), times[times.len() / 2]);
}
