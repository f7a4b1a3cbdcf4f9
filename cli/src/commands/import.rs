//! `pulsedb import <file>`: bulk-loads a Prometheus/OpenMetrics text,
//! InfluxDB line protocol or CSV file into a data directory, in batches,
//! with a progress bar showing samples per second.
//!
//! It writes with `SyncMode::Never` and no background flushing (a bulk
//! load that crashes is simply run again), then ends as a long-running
//! server would have left the data: every window wholly in the past
//! written as a block, blocks merged into the spans compaction reaches, the
//! WAL emptied of what blocks hold. Only a window still open now (data
//! reaching the present) stays in the WAL, where a server continues it.
//! It never deletes: data older than the retention `pulsedb serve` would
//! apply is kept, with a warning naming the flag that keeps it there. A
//! bad line stops the import with its line number; the samples before it
//! stay imported.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use indicatif::{ProgressBar, ProgressStyle};
use pulsedb::{Batch, Db, Options, SyncMode};
use pulsedb_formats::line_protocol::{self, Precision};
use pulsedb_formats::text_format::{self, Dialect};
use pulsedb_formats::timefmt::rfc3339;
use pulsedb_formats::{csv, IngestError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FileFormat {
    /// Prometheus text exposition format, timestamps in milliseconds.
    Prometheus,
    /// OpenMetrics text, timestamps in seconds.
    Openmetrics,
    /// InfluxDB line protocol.
    Influx,
    /// `metric,labels,timestamp,value`.
    Csv,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file to import.
    file: PathBuf,
    #[arg(long, default_value = "pulsedb-data")]
    data_dir: PathBuf,
    /// The file's format; by default guessed from its extension and content.
    #[arg(long, value_enum)]
    format: Option<FileFormat>,
    /// Unit of line-protocol timestamps: ns, us, ms, s, m or h.
    #[arg(long, default_value = "ns")]
    precision: String,
    /// Samples per appended batch.
    #[arg(long, default_value_t = 50_000)]
    batch_size: usize,
    /// The retention the server will run with (as `pulsedb serve
    /// --retention`): it sets the block spans compaction reaches, and
    /// older data is reported. The import itself deletes nothing.
    #[arg(long, default_value = "15d", value_parser = pulsedb_server::flags::duration)]
    retention: Duration,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let format = match args.format {
        Some(f) => f,
        None => detect(&args.file)?,
    };
    let precision = Precision::parse(&args.precision).map_err(anyhow::Error::msg)?;
    let file = File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);

    let mut options = Options::default();
    options.sync = SyncMode::Never;
    options.background_maintenance = false;
    options.retention = args.retention;
    let db = Db::open(&args.data_dir, options).with_context(|| format!("opening {}", args.data_dir.display()))?;

    let progress = ProgressBar::new(size);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let started = Instant::now();
    let mut batch = Batch::new();
    let mut imported = 0u64;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let mut line_no = 0;
    let mut last_report = Instant::now();
    // `# HELP`, `# TYPE` and `# UNIT` of the text formats, kept as the metrics' metadata.
    let mut metadata = std::collections::BTreeMap::<String, pulsedb::MetricMetadata>::new();
    let text = matches!(format, FileFormat::Prometheus | FileFormat::Openmetrics);
    loop {
        line.clear();
        let read = reader.read_line(&mut line).with_context(|| format!("reading {}", args.file.display()))?;
        if read == 0 {
            break;
        }
        line_no += 1;
        progress.inc(read as u64);
        if text {
            if let Some(m) = text_format::parse_metadata_line(&line) {
                m.apply_to(&mut metadata);
                continue;
            }
        }
        if let Err(e) = parse_into(&line, line_no, format, precision, now, &mut batch) {
            flush(&db, &mut batch, &mut imported)?;
            progress.abandon();
            bail!("{}:{e}; {imported} samples before it were imported", args.file.display());
        }
        if batch.len() >= args.batch_size {
            flush(&db, &mut batch, &mut imported)
                .with_context(|| format!("{}: appending the batch ending at line {line_no}", args.file.display()))?;
            if last_report.elapsed() > Duration::from_millis(200) {
                progress.set_message(rate(imported, started.elapsed()));
                last_report = Instant::now();
            }
        }
    }
    flush(&db, &mut batch, &mut imported)?;
    progress.set_message(rate(imported, started.elapsed()));
    progress.finish();
    let metadata: Vec<_> = metadata.into_values().collect();
    db.record_metadata(&metadata).context("keeping the metrics' metadata")?;
    let (blocks, stats) = finish(&db, now)?;
    db.close().context("closing the database")?;
    let described =
        if metadata.is_empty() { String::new() } else { format!(" and metadata of {} metrics", metadata.len()) };
    println!(
        "imported {imported} samples{described} from {} in {:.1}s ({})",
        args.file.display(),
        started.elapsed().as_secs_f64(),
        rate(imported, started.elapsed())
    );
    println!("{blocks}");
    if let Some(warning) = retention_warning(&stats, args.retention, now) {
        eprintln!("{warning}");
    }
    Ok(())
}

/// Writes every window that ended by `now` as a block and merges blocks as
/// compaction would; says where the data is, with the statistics it read.
fn finish(db: &Db, now: i64) -> anyhow::Result<(String, pulsedb::StorageStats)> {
    let written = db.flush_ending_by(now).context("writing blocks")?;
    let merges = db.compact_blocks().context("compacting blocks")?;
    let stats = db.stats().context("reading the database's statistics")?;
    let mut said =
        format!("{} samples in {} blocks ({written} written, {merges} merges)", stats.block_samples, stats.blocks);
    if let Some(mint) = stats.head_mint {
        said.push_str(&format!(
            "; samples from {} on belong to the window still open now and stay in the WAL ({} bytes) for the server to continue",
            rfc3339(mint),
            stats.wal_bytes
        ));
    }
    Ok((said, stats))
}

/// A retention as the flag takes it: whole days, else hours.
fn span(retention: Duration) -> String {
    let secs = retention.as_secs();
    if secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else {
        format!("{}h", secs.div_ceil(3_600))
    }
}

/// A warning when data is older than `retention` before the newest
/// sample or before `now`: `pulsedb serve` with that retention deletes it
/// when it starts. Retention counts back from the newest sample stored,
/// and a server stores its own metrics, stamped now, within seconds of
/// starting (as it does every sample written to it live).
fn retention_warning(stats: &pulsedb::StorageStats, retention: Duration, now: i64) -> Option<String> {
    let (mint, maxt) = (stats.mint?, stats.maxt?);
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    let newest = maxt.max(now);
    let cutoff = newest.saturating_sub(retention_ms);
    (mint < cutoff).then(|| {
        // A day of headroom past the oldest sample's age today: retention
        // keeps counting, and the data is gone once it passes that age.
        let days = newest.saturating_sub(mint) / 86_400_000 + 2;
        let before = if maxt >= now {
            format!("before its newest sample ({})", rfc3339(maxt))
        } else {
            format!(
                "before now ({}; the server's own metrics, and anything written to it live, are stamped now)",
                rfc3339(now)
            )
        };
        format!(
            "warning: the data reaches back to {}, more than the retention ({}) {before}: \
             `pulsedb serve` deletes the blocks older than {} when it starts. Start it with `--retention {days}d` \
             to keep them for about a day more, or longer for longer: retention deletes data as it passes that age.",
            rfc3339(mint),
            span(retention),
            rfc3339(cutoff)
        )
    })
}

fn rate(samples: u64, elapsed: Duration) -> String {
    format!("{samples} samples, {:.0} samples/s", samples as f64 / elapsed.as_secs_f64().max(1e-9))
}

fn flush(db: &Db, batch: &mut Batch, imported: &mut u64) -> anyhow::Result<()> {
    if !batch.is_empty() {
        db.append(batch)?;
        *imported += batch.len() as u64;
        batch.clear();
    }
    Ok(())
}

fn parse_into(
    line: &str,
    line_no: usize,
    format: FileFormat,
    precision: Precision,
    now: i64,
    batch: &mut Batch,
) -> Result<(), IngestError> {
    let sample = match format {
        FileFormat::Prometheus => text_format::parse_line(line, Dialect::Prometheus, now, line_no)?,
        FileFormat::Openmetrics => text_format::parse_line(line, Dialect::OpenMetrics, now, line_no)?,
        FileFormat::Csv => csv::parse_line(line, line_no)?,
        FileFormat::Influx => {
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                line_protocol::parse_line(trimmed, precision, now, batch)
                    .map_err(|reason| IngestError::Line { line: line_no, reason })?;
            }
            None
        }
    };
    if let Some((labels, sample)) = sample {
        batch.add(labels, [sample]);
    }
    Ok(())
}

/// Guesses the format: the extension first, then the first data line.
/// Text with `# EOF` at its end is OpenMetrics.
fn detect(path: &Path) -> anyhow::Result<FileFormat> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let by_ext = match ext.as_str() {
        "csv" => Some(FileFormat::Csv),
        "lp" | "influx" | "line" => Some(FileFormat::Influx),
        "om" => Some(FileFormat::Openmetrics),
        _ => None,
    };
    if let Some(f) = by_ext {
        return Ok(f);
    }
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut head = String::new();
    (&mut file).take(64 << 10).read_to_string(&mut head).ok();
    let first = head.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
    if first == csv::HEADER || csv::parse_line(first, 1).is_ok_and(|s| s.is_some()) {
        return Ok(FileFormat::Csv);
    }
    if text_format::parse_line(first, Dialect::Prometheus, 0, 1).is_ok()
        || text_format::parse_line(first, Dialect::OpenMetrics, 0, 1).is_ok()
    {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(len.saturating_sub(64)))?;
        file.take(64).read_to_end(&mut tail)?;
        let openmetrics = String::from_utf8_lossy(&tail).trim_end().ends_with("# EOF");
        return Ok(if openmetrics { FileFormat::Openmetrics } else { FileFormat::Prometheus });
    }
    if line_protocol::parse_line(first, Precision::Nanoseconds, 0, &mut Batch::new()).is_ok() {
        return Ok(FileFormat::Influx);
    }
    bail!("cannot tell the format of {}: pass --format prometheus|openmetrics|influx|csv", path.display())
}
