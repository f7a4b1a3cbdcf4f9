//! Generates the data set of the PromQL differential test
//! (`tests/promql-diff/run.sh`): the same samples as an OpenMetrics file for
//! `promtool tsdb create-blocks-from openmetrics` and as a pulsedb data
//! directory (partly in blocks, partly in the head).
//!
//! `cargo run --release --example promql_diff_data -- <out-dir>`

use std::io::Write;
use std::time::Duration;

use pulsedb::{Batch, Db, Labels, Options, Sample};
use pulsedb_bench::workload::Rng;

/// 2023-11-14T22:00:00Z, aligned to 2 h.
pub const START_MS: i64 = 1_699_999_200_000;
const STEP_MS: i64 = 15_000;
const STEPS: i64 = 3 * 240; // 3 h at 15 s

fn series() -> Vec<(Labels, Vec<Sample>)> {
    let mut rng = Rng::new(42);
    let mut out = Vec::new();
    let times = |from: i64, to: i64| (from..to).map(|i| START_MS + i * STEP_MS);
    // Counters, with resets.
    for job in ["api", "web", "db"] {
        for instance in 0..3 {
            for code in ["200", "500"] {
                let mut c = rng.below(1000) as f64;
                let samples = times(0, STEPS)
                    .map(|t| {
                        c += (rng.below(if code == "200" { 50 } else { 5 }) as f64).floor();
                        if rng.chance(1) && rng.chance(20) {
                            c = rng.below(10) as f64; // restart
                        }
                        Sample::new(t, c)
                    })
                    .collect();
                let labels = Labels::metric(
                    "http_requests_total",
                    [("job", job.to_string()), ("instance", format!("{job}-{instance}")), ("code", code.to_string())],
                );
                out.push((labels, samples));
            }
        }
    }
    // Gauges: a random walk with two decimals, large integers, negatives.
    for instance in 0..4 {
        for mode in ["user", "system", "idle"] {
            let mut v = rng.between(0, 10_000) as f64 / 100.0;
            let samples = times(0, STEPS)
                .map(|t| {
                    v = ((v * 100.0 + rng.between(-300, 300) as f64).clamp(0.0, 10_000.0)).round() / 100.0;
                    Sample::new(t, v)
                })
                .collect();
            out.push((
                Labels::metric("cpu_usage", [("instance", format!("node-{instance}")), ("mode", mode.to_string())]),
                samples,
            ));
        }
        let samples = times(0, STEPS).map(|t| Sample::new(t, (rng.between(1 << 30, 1 << 33)) as f64)).collect();
        out.push((Labels::metric("memory_bytes", [("instance", format!("node-{instance}"))]), samples));
    }
    // Sensors that start late, stop early, or have gaps longer than the lookback.
    for (sensor, from, to) in [("a", 0, STEPS), ("b", 100, STEPS), ("c", 0, 400), ("d", 50, 650)] {
        let mut v = -5.0;
        let samples = times(from, to)
            .filter(|t| sensor != "d" || ((t - START_MS) / STEP_MS) % 100 < 70)
            .map(|t| {
                v += rng.between(-10, 10) as f64 * 0.25;
                Sample::new(t, v)
            })
            .collect();
        out.push((Labels::metric("temperature_celsius", [("sensor", sensor)]), samples));
    }
    // A classic histogram.
    let bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
    for job in ["api", "web"] {
        let mut counts = vec![0.0; bounds.len()];
        let mut sum = 0.0;
        let mut series: Vec<Vec<Sample>> = vec![Vec::new(); bounds.len() + 2];
        for t in times(0, STEPS) {
            for _ in 0..rng.below(20) {
                let obs = (rng.below(3000) as f64 / 1000.0).powi(2);
                sum += obs;
                for (i, b) in bounds.iter().enumerate() {
                    let le: f64 = if *b == "+Inf" { f64::INFINITY } else { b.parse().unwrap_or(0.0) };
                    if obs <= le {
                        counts[i] += 1.0;
                    }
                }
            }
            for (i, c) in counts.iter().enumerate() {
                series[i].push(Sample::new(t, *c));
            }
            series[bounds.len()].push(Sample::new(t, counts[bounds.len() - 1]));
            series[bounds.len() + 1].push(Sample::new(t, (sum * 1000.0).round() / 1000.0));
        }
        for (i, b) in bounds.iter().enumerate() {
            out.push((Labels::metric("request_duration_seconds_bucket", [("job", job), ("le", b)]), series[i].clone()));
        }
        out.push((Labels::metric("request_duration_seconds_count", [("job", job)]), series[bounds.len()].clone()));
        out.push((Labels::metric("request_duration_seconds_sum", [("job", job)]), series[bounds.len() + 1].clone()));
    }
    // up and info.
    for job in ["api", "web", "db"] {
        for instance in 0..3 {
            let labels = Labels::metric("up", [("job", job.to_string()), ("instance", format!("{job}-{instance}"))]);
            let samples = times(0, STEPS).map(|t| Sample::new(t, if rng.chance(5) { 0.0 } else { 1.0 })).collect();
            out.push((labels, samples));
        }
        let info = Labels::metric("build_info", [("job", job), ("version", if job == "db" { "2.1" } else { "1.4" })]);
        out.push((info, times(0, STEPS).map(|t| Sample::new(t, 1.0)).collect()));
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: promql_diff_data <out-dir>")?);
    std::fs::create_dir_all(&out_dir)?;
    let mut data = series();
    // Prometheus reads blocks' series in label order (their refs are
    // assigned sorted); creating them in that order here gives pulsedb the
    // same order, so order-dependent sums add alike and compare exactly.
    data.sort_by(|a, b| a.0.cmp(&b.0));
    let mut om = std::io::BufWriter::new(std::fs::File::create(out_dir.join("data.om"))?);
    for (labels, samples) in &data {
        let name = labels.metric_name().unwrap_or("unnamed");
        let pairs: Vec<String> = labels
            .iter()
            .filter(|l| l.name != pulsedb::METRIC_NAME)
            .map(|l| format!("{}=\"{}\"", l.name, l.value))
            .collect();
        for s in samples {
            writeln!(
                om,
                "{name}{{{}}} {} {}.{:03}",
                pairs.join(","),
                pulsedb_formats::api::format_value(s.v),
                s.t / 1000,
                s.t % 1000
            )?;
        }
    }
    writeln!(om, "# EOF")?;
    om.flush()?;

    let mut options = Options::default();
    options.background_maintenance = false;
    options.retention = Duration::ZERO;
    options.sync = pulsedb::SyncMode::Never;
    let db = Db::open(out_dir.join("pulsedb"), options)?;
    for (labels, samples) in data {
        let mut batch = Batch::new();
        batch.add(labels, samples);
        db.append(&batch)?;
    }
    // The first two hours go to a block; the last stays in the head.
    db.flush()?;
    db.close()?;
    println!(
        "wrote {} (OpenMetrics) and {} (pulsedb)",
        out_dir.join("data.om").display(),
        out_dir.join("pulsedb").display()
    );
    Ok(())
}
