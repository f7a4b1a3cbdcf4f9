//! The phases through the embedded API: history, ingest, restart and WAL
//! replay, flush, compaction and the query suite, on `--data-dir`.

use std::path::Path;
use std::time::Instant;

use crate::workload::DevopsSpec;
use anyhow::Context as _;
use pulsedb::{Db, EngineOptions};
use serde_json::Value as Json;

use super::history::{self, HistorySpec};
use super::report::SystemReport;
use super::suite::{self, Embedded, QuerySpec, QueryTarget};
use super::{ingest, process, storage_options, Args, Ui};

/// Every phase through the embedded API. Returns the figures and each query's answer.
pub(super) fn run(
    ui: &Ui,
    args: &Args,
    spec: &DevopsSpec,
    history: Option<&HistorySpec>,
    queries: &[QuerySpec],
    data_dir: &Path,
) -> anyhow::Result<(SystemReport, Vec<Json>)> {
    let mut out = SystemReport { system: "pulsedb".into(), ..SystemReport::default() };
    let fleet_dir = data_dir.join("fleet");
    let history_dir = data_dir.join("history");
    let history_db = history.map(|h| load_history_embedded(ui, args, h, &history_dir)).transpose()?;

    let db = Db::open(&fleet_dir, storage_options(args)).with_context(|| format!("opening {}", fleet_dir.display()))?;
    process::reset_peak_rss();
    let bar = ui.bar("ingest", spec.total_samples());
    let figures = ingest::run(spec, args.writers, &db, None, &bar)?;
    let stats = db.stats()?;
    out.peak_rss_bytes = Some(process::status_bytes("VmHWM"));
    out.active_series = Some(stats.head_series as u64);
    ui.done(
        &bar,
        "ingest",
        format!(
            "{} samples in {:.1} s: {:.0} samples/s, {:.0} per CPU-second; {} series created; peak RSS {:.0} MiB",
            figures.samples,
            figures.seconds,
            figures.rate(),
            figures.samples as f64 / figures.cpu_seconds.max(1e-9),
            figures.series_created,
            out.peak_rss_bytes.unwrap_or(0) as f64 / (1 << 20) as f64
        ),
    );
    out.ingest = Some(figures);

    // Restarts: first as after kill -9 (the handle dropped without close:
    // no shutdown snapshot, so the head comes from the last background
    // checkpoint and the WAL after it; with `--sync always` every
    // acknowledged sample is on disk), then a graceful close and open.
    out.wal_bytes = Some(stats.wal_bytes);
    let bar = ui.bar("restart", 2);
    drop(db);
    let started = Instant::now();
    let db = Db::open(&fleet_dir, storage_options(args))?;
    let crash = started.elapsed().as_secs_f64();
    bar.inc(1);
    db.close()?;
    let started = Instant::now();
    let db = Db::open(&fleet_dir, storage_options(args))?;
    let graceful = started.elapsed().as_secs_f64();
    out.restart_crash_seconds = Some(crash);
    out.restart_graceful_seconds = Some(graceful);
    ui.done(
        &bar,
        "restart",
        format!(
            "after kill -9 {crash:.2} s, graceful {graceful:.2} s (WAL {:.0} MiB at the end of ingest)",
            stats.wal_bytes as f64 / (1 << 20) as f64,
        ),
    );

    let bar = ui.bar("flush", 1);
    // A flush writes the windows the newest sample has passed; one marker
    // sample a block span past the data makes every window of it final.
    let mut marker = pulsedb::Batch::new();
    let past = spec.start_ms + spec.duration_ms + storage_options(args).block_span.as_millis() as i64;
    marker.push(pulsedb::Labels::metric("bench_marker", [("phase", "flush")]), past, 1.0);
    db.append(&marker)?;
    let started = Instant::now();
    let blocks = db.flush()?;
    out.flush_seconds = Some(started.elapsed().as_secs_f64());
    ui.done(&bar, "flush", format!("{blocks} blocks in {:.2} s", out.flush_seconds.unwrap_or(0.0)));

    let bar = ui.bar("compaction", 1);
    let started = Instant::now();
    db.compact()?;
    out.compaction_seconds = Some(started.elapsed().as_secs_f64());
    let inspection = pulsedb_storage::inspect(&fleet_dir)?;
    out.disk_bytes = Some(inspection.block_bytes() + inspection.index_bytes);
    out.disk_samples = Some(inspection.block_samples());
    // Both restarts must have kept every acknowledged sample.
    let ingested = out.ingest.as_ref().map_or(0, |i| i.samples);
    if inspection.block_samples() < ingested {
        anyhow::bail!(
            "blocks hold {} samples after the restarts, {ingested} were acknowledged",
            inspection.block_samples()
        );
    }
    ui.done(
        &bar,
        "compaction",
        format!(
            "{:.2} s; {} blocks hold {} samples in {} bytes (+{} label index): {:.3} bytes/sample",
            out.compaction_seconds.unwrap_or(0.0),
            inspection.blocks.len(),
            inspection.block_samples(),
            inspection.block_bytes(),
            inspection.index_bytes,
            out.bytes_per_sample().unwrap_or(0.0)
        ),
    );

    let bar = ui.bar("queries", (queries.len() * args.runs.max(1)) as u64);
    let mut answers = Vec::new();
    for q in queries {
        let target: Box<dyn QueryTarget> = match (&history_db, q.name == history::ROLLUP_QUERY) {
            (Some(h), true) => Box::new(Embedded(h)),
            _ => Box::new(Embedded(&db)),
        };
        let (mut timing, mut answer) = suite::time_suite(target.as_ref(), std::slice::from_ref(q), args.runs, &bar)?;
        out.queries.append(&mut timing);
        answers.append(&mut answer);
    }
    if let (Some(mut h), Some(spec)) = (history_db, history) {
        // The same rollup query forced onto raw samples, for the rollups' gain.
        let mut raw = EngineOptions::default();
        raw.use_rollups = false;
        h.set_query_options(raw);
        let (mut timing, _) = suite::time_suite(&Embedded(&h), &[spec.rollup_query()], args.runs, &bar)?;
        timing[0].name = format!("{} (raw samples)", history::ROLLUP_QUERY);
        out.queries.append(&mut timing);
        h.close()?;
    }
    let summary: Vec<String> = out.queries.iter().map(|q| format!("{} {:.1} ms", q.name, q.p50_ms)).collect();
    ui.done(&bar, "queries", format!("p50: {}", summary.join(", ")));
    db.close()?;
    Ok((out, answers))
}

fn load_history_embedded(ui: &Ui, args: &Args, history: &HistorySpec, dir: &Path) -> anyhow::Result<Db> {
    let db = Db::open(dir, storage_options(args)).with_context(|| format!("opening {}", dir.display()))?;
    let bar = ui.bar("history", history.total_samples());
    for day in history.days() {
        db.append(&day)?;
        bar.inc(day.len() as u64);
    }
    db.flush()?;
    db.compact()?;
    ui.done(&bar, "history", format!("{} samples over {} days, in blocks", history.total_samples(), history.days));
    Ok(db)
}
