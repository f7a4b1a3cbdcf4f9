//! Times the anomaly functions against issue 12's speed goals, median of 3:
//! `anomaly_score` as a range query over the last 24 h at a 1 min step with
//! 7 days of history for 1,000 series at 1 min; one series over 30 days at
//! 5 min; and `Db::anomalies` (what `/api/v1/anomalies` runs) over 50,000
//! series at 1 min.
//! `cargo run --release -p pulsedb-bench --example anomaly_speed [PART]`,
//! PART one of `one`, `range`, `anomalies` to time only that (for `perf`).
use std::time::Instant;

use pulsedb::{AnomalyRequest, Db};

/// The same allocator as the `pulsedb` binary, whose `/api/v1/anomalies`
/// `Db::anomalies` is: the ranking allocates each series' samples.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

fn open() -> (tempfile::TempDir, Db) {
    pulsedb_bench::scratch_db()
}

fn load(db: &Db, series: usize, start: i64, end: i64, step: i64) {
    pulsedb_bench::rhythm::load(db, series, start, end, step);
    // For `perf record -p`: the timed part starts now.
    eprintln!("loaded {series} series");
}

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// Medians of 3 runs: wall seconds, and CPU seconds of all threads (less
/// moved by other work on the machine than the wall clock).
fn time(f: impl Fn()) -> (f64, f64) {
    let runs: Vec<(f64, f64)> = (0..3)
        .map(|_| {
            let (started, cpu) = (Instant::now(), pulsedb_bench::cpu_seconds());
            f();
            (started.elapsed().as_secs_f64(), pulsedb_bench::cpu_seconds() - cpu)
        })
        .collect();
    (median(runs.iter().map(|r| r.0).collect()), median(runs.iter().map(|r| r.1).collect()))
}

fn main() {
    let end = 1_700_000_000_000 / MIN * MIN;
    let part = std::env::args().nth(1);
    let runs = |name: &str| part.as_deref().is_none_or(|p| p == name);
    if runs("one") {
        let (_dir, db) = open();
        load(&db, 1, end - 37 * DAY, end, 5 * MIN);
        let (secs, _) = time(|| {
            db.query_range("anomaly_score(load[7d])", end - 30 * DAY, end, 5 * MIN).expect("query");
        });
        println!("one series, 30 days at 5 min, anomaly_score(x[7d]): {:.1} ms (goal < 50 ms)", secs * 1e3);
    }
    if runs("range") {
        let (_dir, db) = open();
        load(&db, 1000, end - 8 * DAY, end, MIN);
        let (secs, cpu) = time(|| {
            db.query_range("anomaly_score(load[7d])", end - DAY, end, MIN).expect("query");
        });
        println!("1,000 series, last 24 h at 1 min with 7 days of history: {secs:.2} s, {cpu:.2} CPU-s (goal < 2 s)");
    }
    // The ranking on the 2 h blocks as flushed, and (`anomalies-compacted`)
    // after the merges a running server's background compaction makes
    // (2 h → 12 h windows once complete), as it holds a day of history.
    for (part, compact) in [("anomalies", false), ("anomalies-compacted", true)] {
        if !runs(part) {
            continue;
        }
        let (_dir, db) = open();
        load(&db, 50_000, end - DAY - 2 * 3_600_000, end, MIN);
        let blocks =
            if compact { format!(", {} merges", db.compact_blocks().expect("compact")) } else { String::new() };
        let (secs, cpu) = time(|| {
            let mut request = AnomalyRequest::new(vec!["load".into()], end);
            request.history = DAY;
            db.anomalies(&request).expect("anomalies");
        });
        println!(
            "Db::anomalies over 50,000 series (1 h window, 1 day history{blocks}): {secs:.2} s, {cpu:.2} CPU-s (goal < 1 s)"
        );
    }
}
