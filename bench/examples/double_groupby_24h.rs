//! Issue 17's embedded goal for `double-groupby-1` at scale: HOSTS
//! (default 1,000) hosts' `node_cpu_seconds_total{mode="user"}` counters
//! at 1 s for HOURS (default 24) hours, written in time order with a flush
//! after every 2 h and a compaction at the end, as a live database holds
//! them (blocks, the newest hours in the head); then the suite's
//! `avg by (host) (rate(node_cpu_seconds_total{mode="user"}[1h]))` over
//! the last 12 h at a 1 h step (goal: < 20 ms), and the same after the
//! head is flushed too. Prints the median of RUNS (default 21) runs.
//! Only the one metric the query reads is generated: the other series of
//! a host would not change what it reads.
//!
//! `cargo run --release -p pulsedb-bench --example double_groupby_24h -- [hosts] [hours] [runs]`
use std::time::{Duration, Instant};

use pulsedb::{Batch, Labels, Sample};

const HOUR: i64 = 3_600_000;
/// Whole days, so the blocks align as a server's would.
const START: i64 = 1_700_006_400_000;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<i64>().expect("a number"));
    let hosts = args.next().unwrap_or(1000) as usize;
    let hours = args.next().unwrap_or(24);
    let runs = args.next().unwrap_or(21) as usize;
    let (_dir, mut db) = pulsedb_bench::scratch_db();
    // The query reads 13 h of 1,000 series at 1 s: 46.8 M samples, which a
    // read from summaries counts as it does raw ones, near the default
    // limit (50 M) with the windows' edges; raised so that it answers.
    let mut options = pulsedb::EngineOptions::default();
    options.max_samples = 1_000_000_000;
    db.set_query_options(options);
    let labels: Vec<Labels> = (0..hosts)
        .map(|h| {
            Labels::metric(
                "node_cpu_seconds_total",
                [("host", format!("host_{h}")), ("mode", "user".to_string()), ("cpu", "0".to_string())],
            )
        })
        .collect();
    // Hundredths of a second of CPU time, each second's increment in 0..1 s.
    let mut state: Vec<u64> = (0..hosts as u64).map(|h| h * 7919 % 100_000).collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let steps = hours * 3600;
    let loading = Instant::now();
    for first in (0..steps).step_by(100) {
        let mut batch = Batch::with_capacity(hosts);
        for (i, l) in labels.iter().enumerate() {
            let samples: Vec<Sample> = (first..(first + 100).min(steps))
                .map(|s| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    state[i] += x % 101;
                    Sample::new(START + s * 1000, state[i] as f64 / 100.0)
                })
                .collect();
            batch.add(l.clone(), samples);
        }
        db.append(&batch).expect("append");
        if (first + 100) % 7200 == 0 {
            db.flush().expect("flush");
        }
    }
    db.compact().expect("compact");
    let stats = db.stats().expect("stats");
    println!(
        "{hosts} hosts x {hours} h at 1 s ({} samples) loaded in {:.1?}; {} blocks, {} series in the head",
        hosts as i64 * steps,
        loading.elapsed(),
        stats.blocks,
        stats.head_series
    );
    let q = r#"avg by (host) (rate(node_cpu_seconds_total{mode="user"}[1h]))"#;
    let last = START + (steps - 1) * 1000;
    let end = last.div_euclid(HOUR) * HOUR;
    let start = (end - 12 * HOUR).max(START + HOUR);
    let time = |what: &str| {
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let answer = db.query_range(q, start, end, HOUR).expect("query");
                let elapsed = t.elapsed();
                assert!(matches!(answer, pulsedb::Value::Matrix(ref m) if m.len() == hosts), "one series per host");
                elapsed
            })
            .collect();
        times.sort();
        println!(
            "{what}: median {:.2?} (min {:.2?}, max {:.2?}) of {runs} runs",
            times[runs / 2],
            times[0],
            times[runs - 1]
        );
    };
    time("double-groupby-1, newest hours in the head");
    // Past the data, so a flush writes the head's windows too.
    let mut marker = Batch::new();
    marker.push(Labels::metric("marker", [("host", "none")]), last + 4 * HOUR, 1.0);
    db.append(&marker).expect("append");
    db.flush().expect("flush");
    db.compact().expect("compact");
    time("double-groupby-1, all in blocks");
}
