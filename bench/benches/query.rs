//! Query latency on generated fleets, against the query issue's targets:
//! - raw range query: `max_over_time` of one series over 24 h at 1 s
//!   (86 400 samples, in blocks), < 1 ms;
//! - `sum by (host) (rate(cpu_seconds_total[5m]))` over 1 h at a 15 s step,
//!   1 000 series at 1 s, < 100 ms;
//! - rollup query: `avg_over_time(metric[1h])` at a 1 h step over 30 days,
//!   1 000 series in blocks (1 min cadence), < 100 ms and >= 20x faster than
//!   the same query forced onto raw samples.
//!
//! - the suite's shapes on fresh data, all in the head (`head/`).
//!
//! `cargo bench --bench query`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use pulsedb::{Batch, Db, Engine, EngineOptions, Labels, Options, SyncMode};
use pulsedb_bench::workload::Rng;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2023-11-01T00:00:00Z, aligned to days.
const START: i64 = 1_698_796_800_000;

fn options() -> Options {
    let mut o = Options::default();
    o.sync = SyncMode::Never;
    o.background_maintenance = false;
    o.retention = Duration::ZERO;
    o
}

fn raw_engine() -> Engine {
    let mut o = EngineOptions::default();
    o.use_rollups = false;
    Engine::new(o)
}

/// `series` gauges random-walking at `interval` for `duration`, flushed and compacted.
fn fleet(dir: &std::path::Path, name: &str, series: usize, interval: i64, duration: i64, counter: bool) -> Db {
    let db = fleet_in_head(dir, name, series, interval, duration, counter);
    db.flush().expect("flush");
    db.compact().expect("compact");
    db
}

/// [`fleet`]'s data left in the head, as fresh data is.
fn fleet_in_head(dir: &std::path::Path, name: &str, series: usize, interval: i64, duration: i64, counter: bool) -> Db {
    let db = Db::open(dir, options()).expect("open");
    let labels: Vec<Labels> = (0..series).map(|h| Labels::metric(name, [("host", format!("host-{h}"))])).collect();
    let mut state: Vec<i64> = vec![5000; series];
    let mut rng = Rng::new(3);
    // Batches of many steps per series keep ingest quick.
    let steps = duration / interval;
    let per_batch = (100_000 / series as i64).max(1);
    let mut s = 0;
    while s < steps {
        let mut batch = Batch::with_capacity(series);
        let n = per_batch.min(steps - s);
        for (i, l) in labels.iter().enumerate() {
            let samples: Vec<pulsedb::Sample> = (s..s + n)
                .map(|k| {
                    state[i] = if counter {
                        state[i] + rng.below(200) as i64
                    } else {
                        (state[i] + rng.between(-50, 50)).clamp(0, 10_000)
                    };
                    pulsedb::Sample::new(START + k * interval, state[i] as f64 / 100.0)
                })
                .collect();
            batch.add(l.clone(), samples);
        }
        db.append(&batch).expect("append");
        s += n;
    }
    db
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("query");
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));

    // One series, 24 h at 1 s.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fleet(dir.path(), "temperature", 1, 1000, DAY + HOUR, false);
    let raw = raw_engine();
    let q = pulsedb::parse_query("max_over_time(temperature[24h])").expect("parse");
    let at = START + DAY;
    group.bench_function("max_over_time_24h_1s_raw", |b| b.iter(|| raw.instant_expr(&db, &q, at).expect("query")));
    group.bench_function("max_over_time_24h_1s_planned", |b| {
        b.iter(|| db.query("max_over_time(temperature[24h])", at).expect("query"))
    });
    drop(db);

    // 1 000 counters at 1 s for 1 h 5 min.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fleet(dir.path(), "cpu_seconds_total", 1000, 1000, HOUR + 5 * 60_000, true);
    let q = "sum by (host) (rate(cpu_seconds_total[5m]))";
    let (start, end) = (START + 5 * 60_000, START + HOUR + 5 * 60_000 - 1000);
    group.bench_function("sum_by_host_rate_5m_1h_15s_1000_series", |b| {
        b.iter(|| db.query_range(q, start, end, 15_000).expect("query"))
    });
    // Windows 20 times longer than the step: each sample is in 20 windows.
    group.bench_function("max_over_time_5m_1h_15s_1000_series", |b| {
        b.iter(|| db.query_range("max_over_time(cpu_seconds_total[5m])", start, end, 15_000).expect("query"))
    });
    drop(db);

    // 1 000 gauges at 1 min for 30 days.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fleet(dir.path(), "metric", 1000, 60_000, 30 * DAY, false);
    let q = pulsedb::parse_query("avg_over_time(metric[1h])").expect("parse");
    let (start, end) = (START + HOUR, START + 30 * DAY);
    group.bench_function("avg_over_time_1h_step_1h_30d_1000_series_rollups", |b| {
        b.iter(|| Engine::default().range_expr(&db, &q, start, end, HOUR).expect("query"))
    });
    group.bench_function("avg_over_time_1h_step_1h_30d_1000_series_raw", |b| {
        b.iter(|| raw.range_expr(&db, &q, start, end, HOUR).expect("query"))
    });
    group.finish();
}

/// The suite's query shapes (`pulsedb bench`) on fresh data: 100 counters
/// at 1 s for 2 h, all of it in the head. `cargo bench --bench query -- head/`
fn head(c: &mut Criterion) {
    let mut group = c.benchmark_group("head");
    group.sample_size(20).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fleet_in_head(dir.path(), "cpu_seconds_total", 100, 1000, 2 * HOUR, true);
    let end = START + 2 * HOUR - 60_000;
    let five = r#"max by (host) (rate(cpu_seconds_total{host=~"host-[0-4]"}[1m]))"#;
    group.bench_function("rate_1m_step_1m_2h_5_series", |b| {
        b.iter(|| db.query_range(five, START + 60_000, end, 60_000).expect("query"))
    });
    let hourly = "avg by (host) (rate(cpu_seconds_total[1h]))";
    group.bench_function("rate_1h_step_1h_2h_100_series", |b| {
        b.iter(|| db.query_range(hourly, START + HOUR, START + 2 * HOUR, HOUR).expect("query"))
    });
    let top = "topk(5, max by (host) (rate(cpu_seconds_total[1m])))";
    group.bench_function("topk_rate_1m_step_1m_5m_100_series", |b| {
        b.iter(|| db.query_range(top, end - 5 * 60_000, end, 60_000).expect("query"))
    });
    group.bench_function("last_over_time_10m_100_series", |b| {
        b.iter(|| db.query("last_over_time(cpu_seconds_total[10m])", end).expect("query"))
    });
    group.finish();
}

criterion_group!(benches, head, bench);
criterion_main!(benches);
