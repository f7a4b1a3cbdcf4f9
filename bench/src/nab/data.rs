//! NAB files as pulsedb data: reading the CSVs (one value per timestamp,
//! in time order), one data directory per file, and a query's values at
//! every stored timestamp.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use pulsedb::{Batch, Db, Labels, Options, Sample, Value};

use crate::workload::nab::parse_timestamp;

/// Samples sorted by time, one per timestamp (the last one given).
pub(super) fn one_per_timestamp(mut samples: Vec<Sample>) -> Vec<Sample> {
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

pub(super) fn read_csv(path: &Path) -> anyhow::Result<Vec<Sample>> {
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
pub(super) fn window_time(s: &str) -> anyhow::Result<i64> {
    parse_timestamp(s.split('.').next().unwrap_or(s)).with_context(|| format!("bad window time {s:?}"))
}

/// The most common spacing between timestamps.
pub(super) fn spacing(samples: &[Sample]) -> i64 {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for w in samples.windows(2) {
        *counts.entry(w[1].t - w[0].t).or_default() += 1;
    }
    counts.into_iter().max_by_key(|&(d, n)| (n, -d)).map_or(300_000, |(d, _)| d)
}

/// A data directory in `dir` holding `samples` as the series `nab_value`.
pub(super) fn open_with(dir: &Path, samples: &[Sample]) -> anyhow::Result<Db> {
    let mut options = Options::default();
    options.background_maintenance = false;
    options.retention = Duration::ZERO;
    options.max_future = None;
    options.sync = pulsedb::SyncMode::Never;
    let db = Db::open(dir, options).with_context(|| format!("opening {}", dir.display()))?;
    let mut batch = Batch::new();
    batch.add(Labels::metric("nab_value", [("source", "nab")]), samples.iter().copied());
    db.append(&batch)?;
    Ok(db)
}

/// `query`'s value at each of `samples`' timestamps (`None` where it has none).
pub(super) fn values_at(db: &Db, samples: &[Sample], query: &str) -> anyhow::Result<Vec<Option<f64>>> {
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
        out.push(match at.get(&s.t) {
            Some(v) => Some(*v),
            // Off the grid (NAB has a few): ask at that instant.
            None => match db.query(query, s.t)? {
                Value::Vector(v) => v.first().map(|x| x.v),
                _ => None,
            },
        });
    }
    Ok(out)
}
