//! `pulsedb nab --forecast`: the accuracy of 1 h-ahead forecasts on the NAB
//! series with a daily rhythm (lag-1-day autocorrelation at least 0.3, at
//! least 5 days long). At every stored timestamp T with a sample at T + 1 h
//! and at T + 1 h − 1 day, four forecasts made with data up to T are
//! compared with the value at T + 1 h: pulsedb's `forecast(x[28d], 3600)`,
//! the same time yesterday, `predict_linear(x[1h], 3600)`, and the level of
//! `holt_winters(x[1d], 0.3, 0.3)` taken as flat. Each mean absolute error
//! is divided by the same-time-yesterday one (MASE; lower is better).

use std::collections::HashMap;

use pulsedb::Sample;

use super::data::{open_with, read_csv, spacing, values_at};
use super::run::NabArgs;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The forecasters, by name and query (`None`: same time yesterday).
const FORECASTERS: [(&str, Option<&str>); 4] = [
    ("pulsedb forecast", Some("forecast(nab_value[28d], 3600)")),
    ("same time yesterday", None),
    ("predict_linear 1h", Some("predict_linear(nab_value[1h], 3600)")),
    ("holt_winters 1d", Some("holt_winters(nab_value[1d], 0.3, 0.3)")),
];

/// Pearson correlation of the series with itself a day later.
fn daily_autocorrelation(samples: &[Sample]) -> Option<f64> {
    let by_time: HashMap<i64, f64> = samples.iter().map(|s| (s.t, s.v)).collect();
    let pairs: Vec<(f64, f64)> =
        samples.iter().filter_map(|s| by_time.get(&(s.t + DAY_MS)).map(|&later| (s.v, later))).collect();
    let n = pairs.len() as f64;
    if n < 2.0 {
        return None;
    }
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let cov: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let (vx, vy): (f64, f64) =
        (pairs.iter().map(|p| (p.0 - mx).powi(2)).sum(), pairs.iter().map(|p| (p.1 - my).powi(2)).sum());
    (vx > 0.0 && vy > 0.0).then(|| cov / (vx * vy).sqrt())
}

/// One series' MASE per forecaster (in [`FORECASTERS`] order) and its point count.
fn evaluate(dir: &std::path::Path, samples: &[Sample]) -> anyhow::Result<(Vec<f64>, usize)> {
    let db = open_with(dir, samples)?;
    let by_time: HashMap<i64, f64> = samples.iter().map(|s| (s.t, s.v)).collect();
    let mut made: Vec<Vec<Option<f64>>> = Vec::new();
    for (_, query) in FORECASTERS {
        made.push(match query {
            Some(q) => values_at(&db, samples, q)?,
            None => samples.iter().map(|s| by_time.get(&(s.t + HOUR_MS - DAY_MS)).copied()).collect(),
        });
    }
    db.close()?;
    let mut errors = vec![0.0; FORECASTERS.len()];
    let mut points = 0;
    for (i, s) in samples.iter().enumerate() {
        // Scored where every forecaster has an answer and the truth exists.
        let Some(truth) = by_time.get(&(s.t + HOUR_MS)) else { continue };
        let answers: Option<Vec<f64>> = made.iter().map(|m| m[i].filter(|v| v.is_finite())).collect();
        let Some(answers) = answers else { continue };
        for (e, a) in errors.iter_mut().zip(answers) {
            *e += (a - truth).abs();
        }
        points += 1;
    }
    let naive = errors[1];
    Ok((errors.iter().map(|e| if naive > 0.0 { e / naive } else { f64::NAN }).collect(), points))
}

/// Runs the forecast comparison; prints a line per series and a summary.
pub(super) fn run(args: &NabArgs, files: &[(String, std::path::PathBuf)]) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let mut best_counts = vec![0usize; FORECASTERS.len()];
    let mut series = 0;
    println!(
        "{:<60} {:>7} {}",
        "series (daily rhythm)",
        "points",
        FORECASTERS.map(|f| format!("{:>20}", f.0)).join("")
    );
    for (n, (name, path)) in files.iter().enumerate() {
        let samples = read_csv(path)?;
        let days = (samples[samples.len() - 1].t - samples[0].t) as f64 / DAY_MS as f64;
        let rhythm = daily_autocorrelation(&samples).unwrap_or(0.0);
        if days < 5.0 || rhythm < 0.3 || spacing(&samples) > HOUR_MS {
            continue;
        }
        let (mase, points) = evaluate(&scratch.path().join(n.to_string()), &samples)?;
        if points == 0 {
            continue;
        }
        series += 1;
        if let Some(best) =
            (0..mase.len()).filter(|&i| mase[i].is_finite()).min_by(|&a, &b| mase[a].total_cmp(&mase[b]))
        {
            best_counts[best] += 1;
        }
        println!("{name:<60} {points:>7} {}", mase.iter().map(|m| format!("{m:>20.3}")).collect::<String>());
    }
    let _ = args;
    println!(
        "best on {series} series: {}",
        FORECASTERS.iter().zip(&best_counts).map(|(f, n)| format!("{} {n}", f.0)).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
