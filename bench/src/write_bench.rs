//! Prometheus' own write benchmark, `promtool tsdb bench write`, next to
//! the same load on pulsedb: the first 10,000 label sets of 20kseries.json,
//! 3,000 scrapes of one sample each, as many writers as `--writers`,
//! fsync once a second. Like promtool's, each writer resolves its label
//! sets once (creating the series, timed) and then appends by reference
//! (`Db::resolve`, `Batch::push_by_handle`).

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use pulsedb::{Batch, Db, Error, Labels, SeriesHandle, SyncMode};

use super::report::WriteBench;
use super::{real, storage_options, Args, Ui};

const SERIES: usize = 10_000;
const SCRAPES: usize = 3_000;

pub(super) fn run(args: &Args, scratch: &Path, ui: &Ui) -> anyhow::Result<WriteBench> {
    let bar = ui.bar("write bench", 1);
    let json = scratch.join("20kseries.json");
    let gz = real::testdata().join("prometheus-labels/20kseries.json.gz");
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).with_context(|| format!("opening {}", gz.display()))?)
        .read_to_end(&mut text)?;
    std::fs::write(&json, text)?;
    let output = std::process::Command::new("promtool")
        .args(["tsdb", "bench", "write"])
        .arg(format!("--out={}", scratch.join("promtool-bench").display()))
        .arg(format!("--metrics={SERIES}"))
        .arg(format!("--scrapes={SCRAPES}"))
        .arg(&json)
        .output()
        .context("running promtool (install it with scripts/install-peers.sh)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let promtool = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("> samples/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("no samples/sec in promtool's output: {stdout}"))?;

    let labels = Arc::new(real::label_sets(SERIES)?);
    let dir = scratch.join("write-bench-pulsedb");
    // promtool's bench fsyncs its WAL only when a segment fills; a
    // once-a-second fsync is the closest pulsedb mode (and still stronger).
    let mut options = storage_options(args);
    options.sync = SyncMode::Interval(Duration::from_secs(1));
    let db = Db::open(&dir, options)?;
    let writers = args.writers.max(1);
    let started = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (labels, db) = (labels.clone(), &db);
                scope.spawn(move || -> anyhow::Result<()> {
                    let mine: Vec<&Labels> = labels.iter().skip(w).step_by(writers).collect();
                    let resolve = || mine.iter().map(|l| db.resolve(l)).collect::<Result<Vec<SeriesHandle>, _>>();
                    let mut handles = resolve()?;
                    let mut batch = Batch::new();
                    for scrape in 0..SCRAPES as i64 {
                        loop {
                            batch.clear();
                            for (i, &h) in handles.iter().enumerate() {
                                batch.push_by_handle(h, scrape * 15_000, (scrape * (i as i64 % 7 + 1)) as f64);
                            }
                            match db.append(&batch) {
                                // A series left the head between scrapes: resolve again, as a scraper would.
                                Err(Error::StaleSeriesHandle { .. }) => handles = resolve()?,
                                other => break other?,
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("writer panicked"))??;
        }
        Ok(())
    })?;
    let pulsedb = (SERIES * SCRAPES) as f64 / started.elapsed().as_secs_f64();
    db.close()?;
    ui.done(
        &bar,
        "write bench",
        format!(
            "{SERIES} series x {SCRAPES} scrapes: promtool {promtool:.0} samples/s, pulsedb {pulsedb:.0} samples/s"
        ),
    );
    Ok(WriteBench {
        series: SERIES,
        scrapes: SCRAPES,
        promtool_samples_per_second: promtool,
        pulsedb_samples_per_second: pulsedb,
    })
}
