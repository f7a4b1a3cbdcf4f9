//! `pulsedb nab`: imports each NAB file into its own data directory (one
//! value per timestamp, in time order), evaluates an anomaly query over it
//! through the query engine at the file's own spacing, one score per stored
//! timestamp, and scores the corpus with NAB's rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use pulsedb::{Batch, Db, Labels, Options, Sample, Value};

use super::scorer::{score_corpus, CorpusScore, ScoredFile, PROFILES};
use crate::workload::nab::parse_timestamp;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  pulsedb nab                 # the 24 files of testdata/nab, standard and the other profiles"
)]
pub struct NabArgs {
    /// NAB's data directory: category folders of `timestamp,value` CSVs
    /// and `labels/combined_windows.json`.
    #[arg(long, default_value = "testdata/nab")]
    pub data: PathBuf,
    /// The anomaly query; it selects `nab_value`, the one series of each file.
    #[arg(long, default_value = "anomaly_score(nab_value[7d])")]
    pub query: String,
    /// Print each file's score too.
    #[arg(long)]
    pub per_file: bool,
    /// Only the files whose name contains this (a smoke run).
    #[arg(long)]
    pub only: Option<String>,
}

/// Samples sorted by time, one per timestamp (the last one given).
fn one_per_timestamp(mut samples: Vec<Sample>) -> Vec<Sample> {
    samples.sort_by_key(|s| s.t);
    let mut out: Vec<Sample> = Vec::with_capacity(samples.len());
    for s in samples {
        match out.last_mut() {
            Some(last) if last.t == s.t => *last = s,
            _ => out.push(s),
        }
    }
    out
}

fn read_csv(path: &Path) -> anyhow::Result<Vec<Sample>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let (ts, v) = line.split_once(',').with_context(|| format!("{}:{}: no comma", path.display(), n + 1))?;
        let t = parse_timestamp(ts).with_context(|| format!("{}:{}: bad timestamp {ts:?}", path.display(), n + 1))?;
        let v: f64 = v.trim().parse().with_context(|| format!("{}:{}: bad value {v:?}", path.display(), n + 1))?;
        out.push(Sample::new(t, v));
    }
    Ok(one_per_timestamp(out))
}

/// `"2014-02-26 13:45:00.000000"` → milliseconds.
fn window_time(s: &str) -> anyhow::Result<i64> {
    parse_timestamp(s.split('.').next().unwrap_or(s)).with_context(|| format!("bad window time {s:?}"))
}

/// The most common spacing between timestamps.
fn spacing(samples: &[Sample]) -> i64 {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for w in samples.windows(2) {
        *counts.entry(w[1].t - w[0].t).or_default() += 1;
    }
    counts.into_iter().max_by_key(|&(d, n)| (n, -d)).map_or(300_000, |(d, _)| d)
}

/// Scores of one file's stored timestamps from `query` over its own data directory.
fn score_file(dir: &Path, samples: &[Sample], query: &str) -> anyhow::Result<Vec<f64>> {
    let mut options = Options::default();
    options.background_maintenance = false;
    options.retention = Duration::ZERO;
    options.max_future = None;
    options.sync = pulsedb::SyncMode::Never;
    let db = Db::open(dir, options).with_context(|| format!("opening {}", dir.display()))?;
    let mut batch = Batch::new();
    batch.add(Labels::metric("nab_value", [("source", "nab")]), samples.iter().copied());
    db.append(&batch)?;
    let (first, last) = (samples[0].t, samples[samples.len() - 1].t);
    let step = spacing(samples);
    let mut at: BTreeMap<i64, f64> = BTreeMap::new();
    // Range queries of at most 10,000 steps (the API admits 11,000); each
    // step's value depends on its window alone, so the pieces join seamlessly.
    let mut start = first;
    while start <= last {
        let end = (start + 9_999 * step).min(last);
        if let Value::Matrix(m) = db.query_range(query, start, end, step)? {
            for s in m {
                at.extend(s.points.iter().map(|p| (p.t, p.v)));
            }
        }
        start = end + step;
    }
    let mut out = Vec::with_capacity(samples.len());
    for s in samples {
        let v = match at.get(&s.t) {
            Some(v) => *v,
            // Off the grid (NAB has a few): ask at that instant.
            None => match db.query(query, s.t)? {
                Value::Vector(v) => v.first().map_or(0.0, |x| x.v),
                _ => 0.0,
            },
        };
        out.push(if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 });
    }
    db.close()?;
    Ok(out)
}

/// Runs the benchmark; prints one line per profile (and per file).
pub fn run(args: NabArgs) -> anyhow::Result<Vec<CorpusScore>> {
    let labels_path = args.data.join("labels/combined_windows.json");
    let labels: BTreeMap<String, Vec<[String; 2]>> = serde_json::from_str(
        &std::fs::read_to_string(&labels_path).with_context(|| format!("reading {}", labels_path.display()))?,
    )
    .with_context(|| format!("parsing {}", labels_path.display()))?;
    let scratch = tempfile::tempdir()?;
    let started = Instant::now();
    let mut files = Vec::new();
    let mut names = Vec::new();
    for (name, windows) in &labels {
        let path = args.data.join(name);
        if !path.exists() || args.only.as_ref().is_some_and(|only| !name.contains(only.as_str())) {
            continue;
        }
        let samples = read_csv(&path)?;
        let dir = scratch.path().join(files.len().to_string());
        let scores = score_file(&dir, &samples, &args.query).with_context(|| format!("scoring {name}"))?;
        let windows =
            windows.iter().map(|[a, b]| Ok((window_time(a)?, window_time(b)?))).collect::<anyhow::Result<Vec<_>>>()?;
        files.push(ScoredFile { timestamps: samples.iter().map(|s| s.t).collect(), scores, windows });
        names.push(name.clone());
    }
    anyhow::ensure!(!files.is_empty(), "no NAB files found under {}", args.data.display());
    let points: usize = files.iter().map(|f| f.timestamps.len()).sum();
    println!(
        "{} files, {points} points, query {:?}, {:.1} s",
        files.len(),
        args.query,
        started.elapsed().as_secs_f64()
    );
    let mut out = Vec::new();
    for profile in PROFILES {
        let s = score_corpus(&files, &profile);
        println!(
            "{:<20} score {:>6.1}   threshold {:.4}   detected {}/{} windows, {} false positives",
            s.profile, s.normalized, s.threshold, s.true_positives, s.windows, s.false_positives
        );
        out.push(s);
    }
    if args.per_file {
        for (name, file) in names.iter().zip(&files) {
            let s = score_corpus(std::slice::from_ref(file), &PROFILES[0]);
            println!("  {name:<60} {:>6.1}  ({} windows)", s.normalized, s.windows);
        }
    }
    Ok(out)
}
