//! The long-history dataset behind the 30-day rollup query: `history_load1`
//! gauges (two decimals, random walk) for a set of hosts at a coarse
//! interval over many days, ending where the fleet's data begins, generated
//! one day at a time in time order so every receiver accepts it.

use std::io::Write as _;
use std::path::Path;

use crate::workload::Rng;
use anyhow::Context as _;
use pulsedb::{Batch, Labels, Sample};
use pulsedb_formats::text_format::{write_sample, Dialect};

use super::suite::QuerySpec;

/// The suite's name for the long-range rollup query.
pub(super) const ROLLUP_QUERY: &str = "rollup-avg-1h-history";

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

#[derive(Clone, Debug)]
pub(super) struct HistorySpec {
    pub(super) series: usize,
    pub(super) days: i64,
    pub(super) interval_ms: i64,
    /// Exclusive end, aligned to the interval.
    pub(super) end_ms: i64,
    pub(super) seed: u64,
}

impl HistorySpec {
    pub(super) fn start_ms(&self) -> i64 {
        self.end_ms - self.days * DAY
    }

    pub(super) fn total_samples(&self) -> u64 {
        (self.days * DAY / self.interval_ms) as u64 * self.series as u64
    }

    /// One batch per simulated day, each holding that day of every series.
    pub(super) fn days(&self) -> impl Iterator<Item = Batch> + '_ {
        let labels: Vec<Labels> = (0..self.series)
            .map(|i| Labels::metric("history_load1", [("host", format!("host-{i}")), ("job", "node".to_string())]))
            .collect();
        let mut rng = Rng::new(self.seed ^ 0x4849_5354);
        let mut values: Vec<i64> = (0..self.series).map(|_| rng.between(0, 400)).collect();
        let per_day = DAY / self.interval_ms;
        (0..self.days).map(move |day| {
            let mut batch = Batch::with_capacity(self.series * per_day as usize);
            let day_start = self.start_ms() + day * DAY;
            for (labels, value) in labels.iter().zip(values.iter_mut()) {
                let samples = (0..per_day).map(|k| {
                    *value = (*value + rng.between(-10, 10)).clamp(0, 1600);
                    Sample { t: day_start + k * self.interval_ms, v: *value as f64 / 100.0 }
                });
                batch.add(labels.clone(), samples.collect::<Vec<_>>());
            }
            batch
        })
    }

    /// `avg_over_time(history_load1[1h])` at a 1 h step across the whole history.
    /// Its steps fall on whole hours, as dashboards align a step-1h query.
    pub(super) fn rollup_query(&self) -> QuerySpec {
        let end = (self.end_ms - self.interval_ms).div_euclid(HOUR) * HOUR;
        QuerySpec {
            name: ROLLUP_QUERY,
            promql: "avg_over_time(history_load1[1h])".to_string(),
            start: end - (self.days * DAY) + HOUR,
            end,
            step: HOUR,
        }
    }
}

/// Writes `history` as OpenMetrics text and has `promtool tsdb
/// create-blocks-from openmetrics` turn it into blocks in `data_dir`, the
/// way Prometheus takes data older than its head.
pub(super) fn backfill_prometheus(history: &HistorySpec, data_dir: &Path, scratch: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let text = scratch.join("history.om");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&text)?);
    let mut line = String::new();
    for day in history.days() {
        for (labels, samples) in day.rows() {
            for &sample in samples {
                line.clear();
                write_sample(&mut line, labels, sample, Dialect::OpenMetrics);
                file.write_all(line.as_bytes())?;
            }
        }
    }
    file.write_all(b"# EOF\n")?;
    file.flush()?;
    drop(file);
    let output = std::process::Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&text)
        .arg(data_dir)
        .output()
        .context("running promtool (install it with scripts/install-peers.sh)")?;
    std::fs::remove_file(&text)?;
    if !output.status.success() {
        anyhow::bail!("promtool create-blocks-from failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
