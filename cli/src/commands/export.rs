//! `pulsedb export`: writes the series matching selectors, within a time
//! range, as Prometheus text, OpenMetrics, InfluxDB line protocol or CSV,
//! to stdout or a file. It reads one block span (2 h) at a time, so memory
//! stays bounded however much is exported, and the output is in time order
//! window by window, which is what `pulsedb import` wants back.
//!
//! Staleness markers are not exported: no text format can carry them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use pulsedb::{Options, STALE_NAN};
use pulsedb_formats::text_format::{self, Dialect};
use pulsedb_formats::timefmt::parse_time_ms;
use pulsedb_formats::{csv, line_protocol};

use super::import::FileFormat;

/// Milliseconds read per step.
const WINDOW_MS: i64 = 2 * 3600 * 1000;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(long, default_value = "pulsedb-data")]
    data_dir: PathBuf,
    /// Series selector, e.g. '{job="api"}' or 'up'; repeatable (a union). Default: every series.
    #[arg(long = "match")]
    matchers: Vec<String>,
    /// Start: RFC 3339 or Unix seconds (default: the oldest sample).
    #[arg(long)]
    start: Option<String>,
    /// End: RFC 3339 or Unix seconds (default: the newest sample).
    #[arg(long)]
    end: Option<String>,
    #[arg(long, value_enum, default_value = "prometheus")]
    format: FileFormat,
    /// Output file (default: stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let selectors = if args.matchers.is_empty() { vec!["{__name__=~\".+\"}".to_string()] } else { args.matchers };
    let sets = selectors
        .iter()
        .map(|s| pulsedb::parse_matchers(s).with_context(|| format!("--match {s:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut options = Options::default();
    options.background_maintenance = false;
    let db = super::open_existing(&args.data_dir, options)?;
    let stats = db.stats()?;
    let (Some(data_mint), Some(data_maxt)) = (stats.mint, stats.maxt) else {
        eprintln!("{} holds no samples", args.data_dir.display());
        return Ok(db.close()?);
    };
    let start = args.start.as_deref().map(parse_time_ms).transpose()?.unwrap_or(data_mint).max(data_mint);
    let end = args.end.as_deref().map(parse_time_ms).transpose()?.unwrap_or(data_maxt).min(data_maxt);

    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    if args.format == FileFormat::Csv {
        writeln!(out, "{}", csv::HEADER)?;
    }
    let mut text = String::new();
    let (mut exported, mut skipped) = (0u64, 0u64);
    let mut window_start = start;
    while window_start <= end {
        let window_end = window_start.saturating_add(WINDOW_MS - 1).min(end);
        let mut series = Vec::new();
        for matchers in &sets {
            series.extend(db.select(matchers, window_start, window_end)?);
        }
        // Several selectors may match the same series.
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        series.dedup_by(|a, b| a.labels == b.labels);
        for s in &series {
            for sample in s.samples.iter().filter(|x| x.v.to_bits() != STALE_NAN) {
                let written = match args.format {
                    FileFormat::Prometheus => {
                        text_format::write_sample(&mut text, &s.labels, *sample, Dialect::Prometheus);
                        true
                    }
                    FileFormat::Openmetrics => {
                        text_format::write_sample(&mut text, &s.labels, *sample, Dialect::OpenMetrics);
                        true
                    }
                    FileFormat::Influx => line_protocol::write_line(&mut text, &s.labels, *sample),
                    FileFormat::Csv => {
                        csv::write_row(&mut text, &s.labels, *sample);
                        true
                    }
                };
                if written {
                    exported += 1;
                } else {
                    skipped += 1;
                }
            }
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        if window_end == end {
            break;
        }
        window_start = window_end + 1;
    }
    if args.format == FileFormat::Openmetrics {
        writeln!(out, "# EOF")?;
    }
    out.flush()?;
    db.close()?;
    if skipped > 0 {
        eprintln!("exported {exported} samples; skipped {skipped} that line protocol cannot carry (NaN, ±Inf)");
    } else {
        eprintln!("exported {exported} samples");
    }
    Ok(())
}
