//! `pulsedb nab`: imports each NAB file into its own data directory (one
//! value per timestamp, in time order), evaluates an anomaly query over it
//! through the query engine at the file's own spacing, one score per stored
//! timestamp, and scores the corpus with NAB's rules.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use pulsedb::Sample;

use super::data::{open_with, read_csv, values_at, window_time};
use super::scorer::{normalized, score_at, score_corpus, CorpusScore, ScoredFile, PROFILES, STANDARD};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  pulsedb nab                 # the 24 files of testdata/nab, standard and the other profiles"
)]
pub struct NabArgs {
    /// NAB's data: category folders of `timestamp,value` CSVs, with
    /// `labels/combined_windows.json` inside (as in `testdata/nab`) or
    /// beside it (a NAB checkout's `data/`); a checkout's root works too.
    #[arg(long, default_value = "testdata/nab")]
    pub data: PathBuf,
    /// NAB's `combined_windows.json`, if not where `--data` says.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// The anomaly query; it selects `nab_value`, the one series of each file.
    #[arg(long, default_value = "anomaly_score(nab_value[28d])")]
    pub query: String,
    /// Print each file's score too.
    #[arg(long)]
    pub per_file: bool,
    /// Only the files whose name contains this (a smoke run).
    #[arg(long)]
    pub only: Option<String>,
    /// Also write the query's answer at every point to this CSV
    /// (`file,timestamp_ms,value,score`; empty where it answers nothing),
    /// to see where a detector fires.
    #[arg(long)]
    pub scores_out: Option<PathBuf>,
    /// Instead of anomaly scores: the accuracy of 1 h-ahead forecasts on
    /// the series with a daily rhythm, against three baselines (MASE).
    #[arg(long)]
    pub forecast: bool,
}

/// What `query` answers at each of one file's stored timestamps, over the
/// file's own data directory (`None` where it answers nothing).
fn answers_for_file(dir: &Path, samples: &[Sample], query: &str) -> anyhow::Result<Vec<Option<f64>>> {
    let db = open_with(dir, samples)?;
    let answers = values_at(&db, samples, query)?;
    db.close()?;
    Ok(answers)
}

/// An answer as NAB scores it: in [0, 1], nothing (or NaN) as 0.
fn as_score(answer: Option<f64>) -> f64 {
    answer.filter(|v| v.is_finite()).map_or(0.0, |v| v.clamp(0.0, 1.0))
}

/// Runs the benchmark; prints one line per profile (and per file).
pub fn run(args: NabArgs) -> anyhow::Result<Vec<CorpusScore>> {
    let Layout { data, labels: labels_path } = Layout::find(&args.data, args.labels.as_deref())?;
    let labels: BTreeMap<String, Vec<[String; 2]>> = serde_json::from_str(
        &std::fs::read_to_string(&labels_path).with_context(|| format!("reading {}", labels_path.display()))?,
    )
    .with_context(|| format!("parsing {}", labels_path.display()))?;
    let missing = labels.keys().filter(|name| !data.join(name).exists()).count();
    if missing > 0 && args.only.is_none() {
        eprintln!(
            "{missing} of the {} labelled files are not under {}: scoring the others",
            labels.len(),
            data.display()
        );
    }
    if args.forecast {
        let files: Vec<(String, PathBuf)> = labels
            .keys()
            .map(|name| (name.clone(), data.join(name)))
            .filter(|(name, path)| path.exists() && args.only.as_ref().is_none_or(|only| name.contains(only.as_str())))
            .collect();
        super::forecast::run(&args, &files)?;
        return Ok(Vec::new());
    }
    let scratch = tempfile::tempdir()?;
    let started = Instant::now();
    let mut files = Vec::new();
    let mut names = Vec::new();
    let mut scores_csv = match &args.scores_out {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            writeln!(out, "file,timestamp_ms,value,score")?;
            Some(out)
        }
        None => None,
    };
    for (name, windows) in &labels {
        let path = data.join(name);
        if !path.exists() || args.only.as_ref().is_some_and(|only| !name.contains(only.as_str())) {
            continue;
        }
        let samples = read_csv(&path)?;
        let dir = scratch.path().join(files.len().to_string());
        let answers = answers_for_file(&dir, &samples, &args.query).with_context(|| format!("scoring {name}"))?;
        let windows =
            windows.iter().map(|[a, b]| Ok((window_time(a)?, window_time(b)?))).collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(out) = scores_csv.as_mut() {
            // The query's own answer, not the score made of it: a NaN or an
            // answer outside [0, 1] shows here.
            for (s, answer) in samples.iter().zip(&answers) {
                let answer = answer.map(|a| a.to_string()).unwrap_or_default();
                writeln!(out, "{name},{},{},{answer}", s.t, s.v)?;
            }
        }
        let scores = answers.into_iter().map(as_score).collect();
        files.push(ScoredFile { timestamps: samples.iter().map(|s| s.t).collect(), scores, windows });
        names.push(name.clone());
    }
    if let Some(mut out) = scores_csv {
        out.flush()?;
    }
    anyhow::ensure!(
        !files.is_empty(),
        "none of the files {} labels is under {}",
        labels_path.display(),
        data.display()
    );
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
    let fixed = score_at(&files, &STANDARD, pulsedb::ANOMALOUS);
    println!(
        "standard at the shipped threshold pulsedb::ANOMALOUS ({}): score {:.1}, detected {}/{} windows, {} false positives",
        pulsedb::ANOMALOUS,
        fixed.normalized,
        fixed.true_positives,
        fixed.windows,
        fixed.false_positives
    );
    if let Some(crossed) = cross_category(&names, &files) {
        println!("standard with each category scored at the threshold the others chose: score {crossed:.1}");
    }
    if args.per_file {
        for (name, file) in names.iter().zip(&files) {
            let s = score_corpus(std::slice::from_ref(file), &PROFILES[0]);
            println!("  {name:<60} {:>6.1}  ({} windows)", s.normalized, s.windows);
        }
    }
    Ok(out)
}

/// Where NAB's files and labels are.
#[derive(Debug, PartialEq)]
struct Layout {
    /// The folder the labels' file names are relative to.
    data: PathBuf,
    labels: PathBuf,
}

impl Layout {
    /// `data` with its labels inside (`labels/combined_windows.json`, as
    /// `testdata/nab` keeps them), or beside it (NAB's checkout keeps
    /// `data/` and `labels/` side by side), or `data` as that checkout's
    /// root; `labels` given overrides the search.
    fn find(data: &Path, labels: Option<&Path>) -> anyhow::Result<Layout> {
        const WINDOWS: &str = "labels/combined_windows.json";
        if let Some(labels) = labels {
            return Ok(Layout { data: data.to_owned(), labels: labels.to_owned() });
        }
        let inside = data.join(WINDOWS);
        let beside = data.join("..").join(WINDOWS);
        let checkout_data = data.join("data");
        let (data_dir, labels) = if inside.is_file() && checkout_data.is_dir() {
            (checkout_data, inside)
        } else if inside.is_file() {
            (data.to_owned(), inside)
        } else if beside.is_file() {
            (data.to_owned(), beside)
        } else {
            anyhow::bail!(
                "no {WINDOWS} in {0} or beside it (give --labels, or --data as NAB's data folder or checkout)",
                data.display()
            );
        };
        Ok(Layout { data: data_dir, labels })
    }
}

/// The standard score with each category's files scored at the threshold
/// chosen on all the other categories' files: what a threshold learnt on
/// one kind of data does on another. `None` with fewer than two categories
/// or no labelled window to score that way.
fn cross_category(names: &[String], files: &[ScoredFile]) -> Option<f64> {
    let category = |name: &str| name.split('/').next().unwrap_or_default().to_owned();
    let categories: std::collections::BTreeSet<String> = names.iter().map(|n| category(n)).collect();
    if categories.len() < 2 {
        return None;
    }
    let (mut raw, mut windows) = (0.0, 0);
    for c in &categories {
        let of = |inside: bool| -> Vec<&ScoredFile> {
            names.iter().zip(files).filter(|(name, _)| (&category(name) == c) == inside).map(|(_, f)| f).collect()
        };
        let (inside, outside) = (of(true), of(false));
        // Files without a labelled window choose no threshold worth the name
        // (never firing is best for them): such a side is left out.
        if outside.iter().all(|f| f.windows.is_empty()) {
            continue;
        }
        let chosen = score_corpus(&outside, &STANDARD).threshold;
        let scored = score_at(&inside, &STANDARD, chosen);
        raw += scored.raw;
        windows += scored.windows;
    }
    (windows > 0).then(|| normalized(raw, windows, &STANDARD))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn file(scores: &[f64], window: Option<(usize, usize)>) -> ScoredFile {
        let timestamps: Vec<i64> = (0..scores.len() as i64).map(|i| i * 1000).collect();
        let windows = window.map(|(a, b)| (timestamps[a], timestamps[b])).into_iter().collect();
        ScoredFile { timestamps, scores: scores.to_vec(), windows }
    }

    #[test]
    fn labels_are_found_inside_beside_or_in_a_checkout() {
        let root = tempfile::tempdir().unwrap();
        let windows = |dir: &Path| {
            std::fs::create_dir_all(dir.join("labels")).unwrap();
            std::fs::write(dir.join("labels/combined_windows.json"), "{}").unwrap();
            dir.join("labels/combined_windows.json")
        };
        // As testdata/nab: labels inside the data folder.
        let ours = root.path().join("ours");
        let labels = windows(&ours);
        assert_eq!(Layout::find(&ours, None).unwrap(), Layout { data: ours.clone(), labels });
        // NAB's checkout: data/ and labels/ side by side, given either way.
        let checkout = root.path().join("NAB");
        std::fs::create_dir_all(checkout.join("data/realTweets")).unwrap();
        let labels = windows(&checkout);
        let data = checkout.join("data");
        let found = Layout::find(&data, None).unwrap();
        assert_eq!((found.data, found.labels.canonicalize().unwrap()), (data.clone(), labels.canonicalize().unwrap()));
        assert_eq!(Layout::find(&checkout, None).unwrap(), Layout { data, labels: labels.clone() });
        // Given: taken as given.
        let elsewhere = root.path().join("elsewhere");
        assert_eq!(Layout::find(&elsewhere, Some(&labels)).unwrap(), Layout { data: elsewhere.clone(), labels });
        // Nowhere: an error that says where it looked and what to give.
        let error = Layout::find(&elsewhere, None).unwrap_err().to_string();
        assert!(error.contains("elsewhere") && error.contains("--labels"), "{error}");
    }

    #[test]
    fn each_category_is_scored_at_the_threshold_the_others_chose() {
        let mut hit = vec![0.0; 100];
        hit[45] = 0.9;
        let names = ["a/1.csv", "b/1.csv"].map(String::from);
        // Each category's one window is found at the other's threshold (0.9).
        let both = [file(&hit, Some((40, 49))), file(&hit, Some((40, 49)))];
        let score = cross_category(&names, &both).unwrap();
        assert!((score - normalized(score_at(&both, &STANDARD, 0.9).raw, 2, &STANDARD)).abs() < 1e-9);
        assert!(score > 90.0, "{score}");
        // A category without windows chooses no threshold for the other, and
        // with no window left to score there is no figure.
        let quiet = [file(&hit, Some((40, 49))), file(&[0.0; 100], None)];
        assert_eq!(cross_category(&names, &quiet), None);
        // One category: nothing to cross.
        assert_eq!(cross_category(&["a/1.csv".to_owned()], &both[..1]), None);
    }
}
