//! `--dataset real`: bytes per sample on real data no one here wrote — the
//! NAB cloud metrics (EC2/RDS CPU, network, disk, ELB requests, machine
//! temperature; 5-minute spacing) — each series carrying one of the real
//! label sets of Prometheus' 20kseries.json. Stored by pulsedb and, with
//! `--compare`, by Prometheus and VictoriaMetrics (remote-write, the
//! series moved in time to start together and end before now).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use crate::workload::{load_nab, NabSeries};
use anyhow::Context as _;
use pulsedb::{Batch, Db, Labels};

use super::ingest::{self, RemoteWrite, Sink as _};
use super::report::RealData;
use super::server::{Server, System};
use super::{storage_options, Args, Ui};

/// The repository's copy of the datasets.
pub(super) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// The first `n` label sets of 20kseries.json.
pub fn label_sets(n: usize) -> anyhow::Result<Vec<Labels>> {
    let path = testdata().join("prometheus-labels/20kseries.json.gz");
    let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::with_capacity(n);
    for line in reader.lines().take(n) {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&line).with_context(|| format!("a line of {}", path.display()))?;
        out.push(Labels::new(object.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))));
    }
    Ok(out)
}

/// NAB's series, each with a 20kseries label set and moved in time to
/// start on the same day, ending before now: values and spacing as
/// recorded, timestamps a span every receiver accepts.
fn dataset() -> anyhow::Result<Vec<NabSeries>> {
    let nab = testdata().join("nab");
    let mut series = load_nab(&nab).with_context(|| format!("loading {}", nab.display()))?;
    let labels = label_sets(series.len())?;
    let span = series.iter().map(|s| s.samples.last().map_or(0, |l| l.t) - s.samples.first().map_or(0, |f| f.t)).max();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let start = (now - span.unwrap_or(0) - 2 * DAY) / DAY * DAY;
    for (s, labels) in series.iter_mut().zip(labels) {
        s.labels = labels;
        let first = s.samples.first().map_or(0, |f| f.t);
        for sample in &mut s.samples {
            sample.t = sample.t - first + start;
        }
    }
    Ok(series)
}

/// The data a day at a time across all series, in time order.
fn by_day(series: &[NabSeries]) -> Vec<Batch> {
    let (Some(lo), Some(hi)) = (
        series.iter().filter_map(|s| s.samples.first()).map(|s| s.t).min(),
        series.iter().filter_map(|s| s.samples.last()).map(|s| s.t).max(),
    ) else {
        return Vec::new();
    };
    (lo / DAY..=hi / DAY)
        .map(|day| {
            let mut batch = Batch::new();
            for s in series {
                let today: Vec<_> = s.samples.iter().copied().filter(|x| x.t.div_euclid(DAY) == day).collect();
                if !today.is_empty() {
                    batch.add(s.labels.clone(), today);
                }
            }
            batch
        })
        .filter(|b| !b.is_empty())
        .collect()
}

const DAY: i64 = 86_400_000;

pub(super) fn run(args: &Args, scratch: &Path, ui: &Ui) -> anyhow::Result<RealData> {
    let series = dataset()?;
    let days = by_day(&series);
    let samples: u64 = series.iter().map(|s| s.samples.len() as u64).sum();
    eprintln!(
        "real data: {} NAB series, {samples} samples over {} days, label sets from 20kseries.json",
        series.len(),
        days.len()
    );
    let mut out = RealData { series: series.len(), samples, bytes_per_sample: Vec::new() };

    let bar = ui.bar("pulsedb", 1);
    let dir = scratch.join("real-pulsedb");
    // The data is months old: storage_options keeps it (retention) and runs no background work.
    let db = Db::open(&dir, storage_options(args))?;
    for day in &days {
        db.append(day)?;
    }
    // One sample past the data pushes every window out of the head.
    let max_t = series.iter().filter_map(|s| s.samples.last()).map(|s| s.t).max().unwrap_or(0);
    let mut sentinel = Batch::new();
    sentinel.push(Labels::metric("bench_sentinel", [("a", "b")]), max_t + 8 * 3_600_000, 0.0);
    db.append(&sentinel)?;
    db.flush()?;
    db.compact()?;
    db.close()?;
    let inspection = pulsedb_storage::inspect(&dir)?;
    let pulsedb = (inspection.block_bytes() + inspection.index_bytes) as f64 / inspection.block_samples().max(1) as f64;
    ui.done(
        &bar,
        "pulsedb",
        format!(
            "{pulsedb:.3} bytes/sample ({} blocks: {} bytes for {} samples; label index {} bytes)",
            inspection.blocks.len(),
            inspection.block_bytes(),
            inspection.block_samples(),
            inspection.index_bytes
        ),
    );
    out.bytes_per_sample.push(("pulsedb".into(), pulsedb));

    for system in [System::Prometheus, System::Victoriametrics] {
        if !args.compare.contains(&system) {
            continue;
        }
        let bar = ui.bar(system.name(), days.len() as u64);
        // Prometheus' head keeps the whole span (its block range raised to
        // cover it: hidden flags), so its snapshot is one fully compacted
        // block, as its compactor would leave these weeks in production.
        let span_hours = (days.len() as i64 + 1) * 24;
        let extra = match system {
            System::Prometheus => vec![
                format!("--storage.tsdb.min-block-duration={span_hours}h"),
                format!("--storage.tsdb.max-block-duration={span_hours}h"),
            ],
            _ => Vec::new(),
        };
        let server = Server::start_with(system, &scratch.join(format!("real-{}", system.name())), &extra)?;
        let sink = RemoteWrite::new(&server.base, ingest::SAMPLES_PER_REQUEST);
        for day in &days {
            sink.write(day)?;
            bar.inc(1);
        }
        let (bytes, stored) = server.stop_and_measure(samples)?;
        let figure = bytes as f64 / stored.max(1) as f64;
        ui.done(&bar, system.name(), format!("{figure:.3} bytes/sample ({stored} samples, {bytes} bytes)"));
        out.bytes_per_sample.push((system.name().into(), figure));
    }
    Ok(out)
}
