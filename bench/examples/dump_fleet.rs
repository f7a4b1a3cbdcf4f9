//! Writes the compression fleet (see `src/workload/fleet.rs`) as text, to
//! load the same data into Prometheus or VictoriaMetrics for comparisons.
//!
//! `cargo run --release --example dump_fleet -- <hours> prometheus|openmetrics > fleet.txt`
//! - `prometheus`: exposition format with millisecond timestamps (VictoriaMetrics' `/api/v1/import/prometheus`);
//! - `openmetrics`: timestamps in seconds and a final `# EOF` (`promtool tsdb create-blocks-from openmetrics`).

use std::io::{BufWriter, Write};

use pulsedb_bench::workload::{CompressionFleet, FleetSpec};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let hours: i64 = args.next().and_then(|h| h.parse().ok()).unwrap_or(2);
    let openmetrics = args.next().as_deref() == Some("openmetrics");
    let spec = FleetSpec { duration_ms: hours * 3_600_000, start_ms: 1_699_999_200_000, ..FleetSpec::default() };
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for batch in CompressionFleet::new(spec) {
        for (labels, samples) in batch.rows() {
            let name = labels.metric_name().unwrap_or("unnamed");
            let pairs: Vec<String> = labels
                .iter()
                .filter(|l| l.name != pulsedb::METRIC_NAME)
                .map(|l| format!("{}=\"{}\"", l.name, l.value))
                .collect();
            for s in samples {
                if openmetrics {
                    writeln!(out, "{name}{{{}}} {} {}.{:03}", pairs.join(","), s.v, s.t / 1000, s.t % 1000)?;
                } else {
                    writeln!(out, "{name}{{{}}} {} {}", pairs.join(","), s.v, s.t)?;
                }
            }
        }
    }
    if openmetrics {
        writeln!(out, "# EOF")?;
    }
    out.flush()
}
