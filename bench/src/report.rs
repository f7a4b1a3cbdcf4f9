//! What a bench run found, and its three renderings: a table for people at
//! a terminal, JSON for machines, and an HTML page with SVG charts.

use std::fmt::Write as _;

use serde::Serialize;

use super::ingest::IngestFigures;
use super::suite::Timing;

/// One system's figures (pulsedb embedded, pulsedb over HTTP, a peer).
#[derive(Clone, Debug, Default, Serialize)]
pub(super) struct SystemReport {
    pub(super) system: String,
    pub(super) ingest: Option<IngestFigures>,
    /// Bytes on disk of the flushed data (blocks, label index) and the samples they hold.
    pub(super) disk_bytes: Option<u64>,
    pub(super) disk_samples: Option<u64>,
    pub(super) wal_bytes: Option<u64>,
    pub(super) peak_rss_bytes: Option<u64>,
    pub(super) active_series: Option<u64>,
    pub(super) flush_seconds: Option<f64>,
    pub(super) compaction_seconds: Option<f64>,
    /// Open after the handle was dropped without close (as kill -9 leaves it).
    pub(super) restart_crash_seconds: Option<f64>,
    /// Open after a graceful close.
    pub(super) restart_graceful_seconds: Option<f64>,
    pub(super) queries: Vec<Timing>,
    /// Queries whose answer differed from pulsedb embedded's: (query, first difference).
    pub(super) differences: Vec<(String, String)>,
}

impl SystemReport {
    pub(super) fn bytes_per_sample(&self) -> Option<f64> {
        match (self.disk_bytes, self.disk_samples) {
            (Some(b), Some(s)) if s > 0 => Some(b as f64 / s as f64),
            _ => None,
        }
    }

    pub(super) fn bytes_per_series(&self) -> Option<f64> {
        match (self.peak_rss_bytes, self.active_series) {
            (Some(b), Some(s)) if s > 0 => Some(b as f64 / s as f64),
            _ => None,
        }
    }

    fn query(&self, name: &str) -> Option<&Timing> {
        self.queries.iter().find(|q| q.name == name)
    }
}

/// `promtool tsdb bench write` next to pulsedb on the same label sets.
#[derive(Clone, Debug, Serialize)]
pub(super) struct WriteBench {
    pub(super) series: usize,
    pub(super) scrapes: usize,
    pub(super) promtool_samples_per_second: f64,
    pub(super) pulsedb_samples_per_second: f64,
}

/// Bytes per sample on the real NAB data with 20kseries label shapes.
#[derive(Clone, Debug, Serialize)]
pub(super) struct RealData {
    pub(super) series: usize,
    pub(super) samples: u64,
    /// (system, bytes per sample)
    pub(super) bytes_per_sample: Vec<(String, f64)>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub(super) struct Report {
    pub(super) command: String,
    pub(super) machine: String,
    pub(super) workload: serde_json::Value,
    pub(super) systems: Vec<SystemReport>,
    pub(super) write_bench: Option<WriteBench>,
    pub(super) real_data: Option<RealData>,
}

fn fmt_opt(v: Option<f64>, precision: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.precision$}"))
}

fn mib(bytes: Option<u64>) -> Option<f64> {
    bytes.map(|b| b as f64 / (1 << 20) as f64)
}

impl Report {
    /// Rows of (figure, value per system), the first system being the baseline for ratios.
    fn rows(&self) -> Vec<(String, Vec<Option<f64>>, usize)> {
        let all = |f: &dyn Fn(&SystemReport) -> Option<f64>| self.systems.iter().map(f).collect::<Vec<_>>();
        let mut rows = vec![
            ("ingest samples/s (wall)".to_string(), all(&|s| s.ingest.as_ref().map(IngestFigures::rate)), 0),
            (
                "ingest samples per CPU-second (client+server)".to_string(),
                all(&|s| {
                    // A server the bench did not start (`--target`): its CPU is unknown.
                    s.ingest
                        .as_ref()
                        .filter(|i| i.client == "embedded" || i.server_cpu_seconds.is_some())
                        .map(|i| i.samples as f64 / (i.cpu_seconds + i.server_cpu_seconds.unwrap_or(0.0)).max(1e-9))
                }),
                0,
            ),
            ("bytes/sample on disk".to_string(), all(&SystemReport::bytes_per_sample), 3),
            ("WAL MiB".to_string(), all(&|s| mib(s.wal_bytes)), 1),
            ("peak RSS MiB".to_string(), all(&|s| mib(s.peak_rss_bytes)), 1),
            ("peak RSS bytes per active series".to_string(), all(&SystemReport::bytes_per_series), 0),
            ("flush s".to_string(), all(&|s| s.flush_seconds), 2),
            ("compaction s".to_string(), all(&|s| s.compaction_seconds), 2),
            ("restart after kill -9 s".to_string(), all(&|s| s.restart_crash_seconds), 2),
            ("graceful restart s".to_string(), all(&|s| s.restart_graceful_seconds), 2),
        ];
        let mut names: Vec<&str> = Vec::new();
        for s in &self.systems {
            for q in &s.queries {
                if !names.contains(&q.name.as_str()) {
                    names.push(&q.name);
                }
            }
        }
        for name in names {
            rows.push((format!("{name} p50 ms"), all(&|s| s.query(name).map(|q| q.p50_ms)), 2));
            rows.push((format!("{name} p99 ms"), all(&|s| s.query(name).map(|q| q.p99_ms)), 2));
        }
        rows
    }

    /// The human table: one column per system, plus pulsedb/peer ratios.
    pub(super) fn table(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "{:<48}", "figure");
        for s in &self.systems {
            let _ = write!(out, " {:>16}", short(&s.system));
        }
        for s in self.systems.iter().skip(1) {
            let _ = write!(out, " {:>22}", format!("1st/{}", short(&s.system)));
        }
        out.push('\n');
        for (name, values, precision) in self.rows() {
            if values.iter().all(Option::is_none) {
                continue;
            }
            let _ = write!(out, "{name:<48}");
            for v in &values {
                let _ = write!(out, " {:>16}", fmt_opt(*v, precision));
            }
            for v in values.iter().skip(1) {
                let ratio = match (values[0], *v) {
                    (Some(a), Some(b)) if b != 0.0 => Some(a / b),
                    _ => None,
                };
                let _ = write!(out, " {:>22}", fmt_opt(ratio, 2));
            }
            out.push('\n');
        }
        // Prometheus' answers are the reference semantics: say whether it
        // agreed with pulsedb where another system did not.
        let prometheus = self.systems.iter().find(|s| s.system.starts_with("prometheus"));
        for s in &self.systems {
            for (query, difference) in &s.differences {
                let reference = match prometheus {
                    Some(p) if p.system == s.system => String::new(),
                    Some(p) if p.differences.iter().any(|(q, _)| q == query) => " (Prometheus differs too)".into(),
                    Some(_) => " (Prometheus answers as pulsedb)".into(),
                    None => String::new(),
                };
                let _ = writeln!(out, "{}: {query} differs from pulsedb{reference}: {difference}", s.system);
            }
        }
        if let Some(w) = &self.write_bench {
            let _ = writeln!(
                out,
                "write bench, {} series x {} scrapes: promtool tsdb bench write {:.0} samples/s, pulsedb {:.0} samples/s ({:.2}x)",
                w.series,
                w.scrapes,
                w.promtool_samples_per_second,
                w.pulsedb_samples_per_second,
                w.pulsedb_samples_per_second / w.promtool_samples_per_second.max(1e-9)
            );
        }
        if let Some(r) = &self.real_data {
            let figures: Vec<String> = r.bytes_per_sample.iter().map(|(s, b)| format!("{s} {b:.3}")).collect();
            let _ = writeln!(
                out,
                "real data (NAB values, 20kseries labels), {} series, {} samples: bytes/sample {}",
                r.series,
                r.samples,
                figures.join(", ")
            );
        }
        out
    }

    /// A self-contained HTML page: the table, query latency bars and ingest rate lines.
    pub(super) fn html(&self) -> String {
        let mut page = String::from(
            "<!doctype html><meta charset=\"utf-8\"><title>pulsedb bench</title>\
             <style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}</style>\
             <h1>pulsedb bench</h1>",
        );
        let _ = write!(page, "<p><code>{}</code><br>{}</p>", escape(&self.command), escape(&self.machine));
        page.push_str("<h2>Query latency, p50 (ms, log scale)</h2>");
        page.push_str(&self.latency_chart());
        page.push_str("<h2>Ingest rate over time (samples/s)</h2>");
        page.push_str(&self.ingest_chart());
        let _ = write!(page, "<h2>Figures</h2><pre>{}</pre>", escape(&self.table()));
        page
    }

    fn latency_chart(&self) -> String {
        let names: Vec<String> =
            self.systems.first().map(|s| s.queries.iter().map(|q| q.name.clone()).collect()).unwrap_or_default();
        let (bar, gap, left) = (14.0, 18.0, 280.0);
        let group = bar * self.systems.len() as f64 + gap;
        let height = 40.0 + group * names.len() as f64;
        let max = self.systems.iter().flat_map(|s| s.queries.iter().map(|q| q.p50_ms)).fold(1.0, f64::max);
        let scale = |ms: f64| 600.0 * (1.0 + ms.max(0.01).log10() + 2.0) / (max.log10() + 3.0);
        let mut svg =
            format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1150\" height=\"{height}\" font-size=\"12\">");
        for (qi, name) in names.iter().enumerate() {
            let y0 = 20.0 + qi as f64 * group;
            let _ = write!(svg, "<text x=\"0\" y=\"{}\">{}</text>", y0 + bar, escape(name));
            for (si, system) in self.systems.iter().enumerate() {
                let Some(q) = system.query(name) else { continue };
                let y = y0 + si as f64 * bar;
                let w = scale(q.p50_ms);
                let _ = write!(
                    svg,
                    "<rect x=\"{left}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"/>\
                     <text x=\"{:.1}\" y=\"{}\">{} {:.2} ms</text>",
                    bar - 2.0,
                    color(si),
                    left + w + 4.0,
                    y + bar - 4.0,
                    escape(&system.system),
                    q.p50_ms
                );
            }
        }
        svg.push_str("</svg>");
        svg
    }

    fn ingest_chart(&self) -> String {
        let series: Vec<(&str, &[f64])> = self
            .systems
            .iter()
            .filter_map(|s| s.ingest.as_ref().map(|i| (s.system.as_str(), i.timeline.as_slice())))
            .collect();
        let longest = series.iter().map(|(_, t)| t.len()).max().unwrap_or(1).max(2);
        let max = series.iter().flat_map(|(_, t)| t.iter().copied()).fold(1.0, f64::max);
        let (w, h, left) = (800.0, 260.0, 70.0);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"{}\" font-size=\"12\">\
             <text x=\"0\" y=\"14\">{max:.0}</text><text x=\"0\" y=\"{}\">0</text>\
             <text x=\"{left}\" y=\"{}\">seconds since ingest start (0 – {longest})</text>",
            h + 60.0,
            h + 10.0,
            h + 30.0
        );
        for (i, (name, timeline)) in series.iter().enumerate() {
            let points: Vec<String> = timeline
                .iter()
                .enumerate()
                .map(|(x, y)| {
                    format!("{:.1},{:.1}", left + w * x as f64 / (longest - 1) as f64, 10.0 + h * (1.0 - y / max))
                })
                .collect();
            let _ = write!(
                svg,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\
                 <text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>",
                color(i),
                points.join(" "),
                left + 10.0 + 160.0 * i as f64,
                h + 50.0,
                color(i),
                escape(name)
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

fn short(system: &str) -> String {
    system.replace(" (http)", "-http")
}

fn color(i: usize) -> &'static str {
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"][i % 5]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_ratios_and_html_has_charts() {
        let timing =
            |ms| Timing { name: "lastpoint".into(), promql: "x".into(), p50_ms: ms, p99_ms: ms, runs: 1, series: 1 };
        let report = Report {
            systems: vec![
                SystemReport { system: "pulsedb".into(), queries: vec![timing(1.0)], ..SystemReport::default() },
                SystemReport { system: "prometheus".into(), queries: vec![timing(4.0)], ..SystemReport::default() },
            ],
            ..Report::default()
        };
        let table = report.table();
        assert!(table.contains("lastpoint p50 ms"), "{table}");
        assert!(table.contains("0.25"), "{table}");
        let html = report.html();
        assert!(html.contains("<svg") && html.contains("<rect"), "{html}");
    }
}
