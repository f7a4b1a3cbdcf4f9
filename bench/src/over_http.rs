//! Systems over HTTP: a server the bench started (pulsedb serve,
//! Prometheus, VictoriaMetrics) or `--target`, fed by remote-write and
//! asked the same suite, answers compared with pulsedb embedded.

use std::path::Path;

use crate::workload::DevopsSpec;
use serde_json::Value as Json;

use super::history::{self, HistorySpec};
use super::report::SystemReport;
use super::server::{Server, System};
use super::suite::{self, Http, QuerySpec, QueryTarget};
use super::{ingest, replay, Args, Ui};

/// One system over HTTP: start it (history and fleet on separate
/// instances), ingest by remote-write, measure, query, stop.
#[allow(clippy::too_many_arguments)]
pub(super) fn compare_system(
    ui: &Ui,
    args: &Args,
    spec: &DevopsSpec,
    encoded: Option<&replay::Encoded>,
    history: Option<&HistorySpec>,
    queries: &[QuerySpec],
    system: System,
    dir: &Path,
    answers: &[Json],
) -> anyhow::Result<SystemReport> {
    eprintln!("--- {} over HTTP", system.name());
    let history_dir = dir.join("history");
    let hist = match history {
        None => None,
        Some(h) if system == System::Prometheus => {
            // Remote-write cannot backfill weeks into Prometheus: promtool writes blocks.
            let bar = ui.bar("history", 1);
            history::backfill_prometheus(h, &history_dir, dir)?;
            let server = Server::start(system, &history_dir)?;
            let blocks = server.wait_for_compaction()?;
            ui.done(
                &bar,
                "history",
                format!("{} samples backfilled by promtool, compacted into {blocks} blocks", h.total_samples()),
            );
            Some(server)
        }
        Some(h) => {
            let server = Server::start(system, &history_dir)?;
            let bar = ui.bar("history", h.total_samples());
            let sink = ingest::RemoteWrite::new(&server.base, ingest::SAMPLES_PER_REQUEST);
            for day in h.days() {
                ingest::Sink::write(&sink, &day)?;
                bar.inc(day.len() as u64);
            }
            ui.done(&bar, "history", format!("{} samples over remote-write", h.total_samples()));
            Some(server)
        }
    };
    let fleet = Server::start(system, &dir.join("fleet"))?;
    let report =
        http_system(ui, args, spec, encoded, Some(system), queries, Some(answers), Some(&fleet), hist.as_ref());
    let measured = report.map(|mut r| {
        r.peak_rss_bytes = Some(fleet.peak_rss());
        let written = r.ingest.as_ref().map_or(0, |i| i.samples);
        (r, written)
    });
    let report = match measured {
        Ok((mut r, written)) => {
            let (bytes, samples) = fleet.stop_and_measure(written)?;
            r.disk_bytes = Some(bytes);
            r.disk_samples = Some(samples);
            r
        }
        Err(e) => {
            fleet.stop()?;
            return Err(e);
        }
    };
    if let Some(h) = hist {
        h.stop()?;
    }
    Ok(report)
}

/// Ingest over remote-write into a server at `base` (the requests of
/// `encoded` if given, else generated while sent), then the query suite.
#[allow(clippy::too_many_arguments)]
pub(super) fn http_system(
    ui: &Ui,
    args: &Args,
    spec: &DevopsSpec,
    encoded: Option<&replay::Encoded>,
    system: Option<System>,
    queries: &[QuerySpec],
    answers: Option<&[Json]>,
    fleet: Option<&Server>,
    history: Option<&Server>,
) -> anyhow::Result<SystemReport> {
    let base = fleet.map_or_else(|| args.target.clone().unwrap_or_default(), |f| f.base.clone());
    let base = base.as_str();
    let name = system.map_or_else(|| base.to_string(), |s| format!("{} (http)", s.name()));
    let mut out = SystemReport { system: name, ..SystemReport::default() };
    let sink = ingest::RemoteWrite::new(base, args.samples_per_request);
    let bar = ui.bar("ingest", spec.total_samples());
    let pid = fleet.map(Server::pid);
    let figures = match encoded {
        Some(encoded) => replay::replay(encoded, &sink, pid, &bar)?,
        None => ingest::run(spec, args.writers, &sink, pid, &bar)?,
    };
    out.active_series = Some(figures.series_created);
    let client = match encoded {
        Some(_) => format!("{} senders replaying requests encoded beforehand", figures.concurrency),
        None => format!("{} writers generating while sending", figures.concurrency),
    };
    ui.done(
        &bar,
        "ingest",
        format!(
            "{} samples in {:.1} s: {:.0} samples/s over remote-write; server CPU {:.1} s, client CPU {:.1} s ({client})",
            figures.samples,
            figures.seconds,
            figures.rate(),
            figures.server_cpu_seconds.unwrap_or(0.0),
            figures.cpu_seconds
        ),
    );
    out.ingest = Some(figures);
    if let Some(fleet) = fleet {
        fleet.settle()?;
    }
    run_queries(ui, args, queries, base, history, answers, &mut out)?;
    Ok(out)
}

/// The suite against pulsedb serve on data the embedded phases wrote, answers compared.
pub(super) fn run_queries(
    ui: &Ui,
    args: &Args,
    queries: &[QuerySpec],
    base: &str,
    history: Option<&Server>,
    answers: Option<&[Json]>,
    out: &mut SystemReport,
) -> anyhow::Result<()> {
    let http = Http::new(base);
    let history_http = history.map(|h| Http::new(&h.base));
    let bar = ui.bar("queries", (queries.len() * args.runs.max(1)) as u64);
    for (i, q) in queries.iter().enumerate() {
        let target: &dyn QueryTarget = match (&history_http, q.name == history::ROLLUP_QUERY) {
            (Some(h), true) => h,
            (None, true) => continue,
            _ => &http,
        };
        let (mut timing, answer) = suite::time_suite(target, std::slice::from_ref(q), args.runs, &bar)?;
        out.queries.append(&mut timing);
        if let (Some(expected), Some(got)) = (answers.and_then(|a| a.get(i)), answer.first()) {
            if let Err(difference) = suite::compare(expected, got) {
                out.differences.push((q.name.to_string(), difference));
            }
        }
    }
    let summary: Vec<String> = out.queries.iter().map(|q| format!("{} {:.1} ms", q.name, q.p50_ms)).collect();
    let compared = match answers {
        Some(_) => format!(
            "; {}/{} answers identical to pulsedb embedded",
            out.queries.len() - out.differences.len(),
            out.queries.len()
        ),
        None => String::new(),
    };
    ui.done(&bar, "queries", format!("p50: {}{compared}", summary.join(", ")));
    Ok(())
}
