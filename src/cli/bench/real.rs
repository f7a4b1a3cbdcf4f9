//! `--dataset real`: bytes per sample on real data no one here wrote — the
//! NAB cloud metrics (EC2/RDS CPU, network, disk, ELB requests, machine
//! temperature; 5-minute spacing) — each series carrying one of the real
//! label sets of Prometheus' 20kseries.json. Stored by pulsedb and, with
//! `--compare`, by Prometheus (promtool's backfill: these are years old)
//! and VictoriaMetrics (remote-write).

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use pulsedb::ingest::text_format::{write_sample, Dialect};
use pulsedb::workload::{load_nab, NabSeries};
use pulsedb::{Batch, Db, Labels, Options};

use super::ingest::{RemoteWrite, Sink as _};
use super::report::RealData;
use super::server::{Server, System};
use super::{Args, Ui};

/// The repository's copy of the datasets.
pub(super) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The first `n` label sets of 20kseries.json.
pub(super) fn label_sets(n: usize) -> anyhow::Result<Vec<Labels>> {
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

fn dataset() -> anyhow::Result<Vec<NabSeries>> {
    let nab = testdata().join("nab");
    let mut series = load_nab(&nab).with_context(|| format!("loading {}", nab.display()))?;
    let labels = label_sets(series.len())?;
    for (s, labels) in series.iter_mut().zip(labels) {
        s.labels = labels;
    }
    Ok(series)
}

pub(super) fn run(args: &Args, scratch: &Path, ui: &Ui) -> anyhow::Result<RealData> {
    let series = dataset()?;
    let samples: u64 = series.iter().map(|s| s.samples.len() as u64).sum();
    eprintln!("real data: {} NAB series, {samples} samples, label sets from 20kseries.json", series.len());
    let mut out = RealData { series: series.len(), samples, bytes_per_sample: Vec::new() };

    let bar = ui.bar("pulsedb", 1);
    let dir = scratch.join("real-pulsedb");
    let mut options = Options::default();
    options.background_maintenance = false;
    let db = Db::open(&dir, options)?;
    let max_t = series.iter().filter_map(|s| s.samples.last()).map(|s| s.t).max().unwrap_or(0);
    for s in &series {
        let mut batch = Batch::new();
        batch.add(s.labels.clone(), s.samples.iter().copied());
        db.append(&batch)?;
    }
    // One sample far past the data pushes every NAB window out of the head.
    let mut sentinel = Batch::new();
    sentinel.push(Labels::metric("bench_sentinel", [("a", "b")]), max_t + 8 * 3_600_000, 0.0);
    db.append(&sentinel)?;
    db.flush()?;
    db.compact()?;
    db.close()?;
    let inspection = pulsedb_storage::inspect(&dir)?;
    let pulsedb = (inspection.block_bytes() + inspection.index_bytes) as f64 / inspection.block_samples().max(1) as f64;
    ui.done(&bar, "pulsedb", format!("{pulsedb:.3} bytes/sample (blocks and label index)"));
    out.bytes_per_sample.push(("pulsedb".into(), pulsedb));

    if args.compare.contains(&System::Prometheus) {
        let bar = ui.bar("prometheus", 1);
        let blocks = scratch.join("real-prometheus");
        std::fs::create_dir_all(&blocks)?;
        let text = scratch.join("real.om");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&text)?);
        let mut line = String::new();
        for s in &series {
            for &sample in &s.samples {
                line.clear();
                write_sample(&mut line, &s.labels, sample, Dialect::OpenMetrics);
                file.write_all(line.as_bytes())?;
            }
        }
        file.write_all(b"# EOF\n")?;
        file.flush()?;
        drop(file);
        let output = std::process::Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&text)
            .arg(&blocks)
            .output()
            .context("running promtool (install it with scripts/install-peers.sh)")?;
        if !output.status.success() {
            anyhow::bail!("promtool create-blocks-from failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        // Start Prometheus on the blocks so that it compacts them as it would in production.
        let server = Server::start(System::Prometheus, &blocks)?;
        std::thread::sleep(Duration::from_secs(5));
        let (bytes, stored) = server.stop_and_measure(samples)?;
        let prometheus = bytes as f64 / stored.max(1) as f64;
        ui.done(&bar, "prometheus", format!("{prometheus:.3} bytes/sample ({stored} samples in its snapshot)"));
        out.bytes_per_sample.push(("prometheus".into(), prometheus));
    }
    if args.compare.contains(&System::Victoriametrics) {
        let bar = ui.bar("victoria", 1);
        let server = Server::start(System::Victoriametrics, &scratch.join("real-victoriametrics"))?;
        let sink = RemoteWrite::new(&server.base);
        for s in &series {
            let mut batch = Batch::new();
            batch.add(s.labels.clone(), s.samples.iter().copied());
            sink.write(&batch)?;
        }
        let (bytes, stored) = server.stop_and_measure(samples)?;
        let vm = bytes as f64 / stored.max(1) as f64;
        ui.done(&bar, "victoria", format!("{vm:.3} bytes/sample (data and index directories)"));
        out.bytes_per_sample.push(("victoriametrics".into(), vm));
    }
    Ok(out)
}
