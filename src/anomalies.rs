//! "What is abnormal right now?": the series matching some selectors,
//! ranked by their highest anomaly score over a recent window, each with
//! the time it became abnormal (its first score at or above
//! [`ANOMALOUS`] in the window). After an incident on one metric, the
//! others that turned abnormal at the same moment are the first leads to
//! its cause. The HTTP API (`/api/v1/anomalies`) and the CLI
//! (`pulsedb anomalies`) are this.

use std::collections::HashSet;

use rayon::prelude::*;

use pulsedb_model::{MeansVisitor, Querier, SelectHints, Series, Shard, StoreError};
use pulsedb_query::{parse, parse_matchers, Error as QueryError, Value, ANOMALOUS};

use crate::{Db, Labels, Matcher, METRIC_NAME};

/// Steps a window is scored at (the resolution of "since").
const STEPS: i64 = 30;

/// What to rank.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AnomalyRequest {
    /// Series selectors (`up{job="api"}`); a series matching several counts once.
    pub selectors: Vec<String>,
    /// The end of the window (milliseconds).
    pub at: i64,
    /// How far back to look for abnormal scores (milliseconds).
    pub window: i64,
    /// The history each score learns from (milliseconds): `anomaly_score`'s range.
    pub history: i64,
    /// Most series returned.
    pub limit: usize,
}

impl AnomalyRequest {
    /// The last hour at `at`, one day of history, 20 series.
    pub fn new(selectors: Vec<String>, at: i64) -> Self {
        Self { selectors, at, window: 3_600_000, history: 86_400_000, limit: 20 }
    }
}

/// One ranked series.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AnomalousSeries {
    pub labels: Labels,
    /// Its highest score in the window.
    pub score: f64,
    /// Its highest score in the window's last step.
    pub latest: f64,
    /// The step (window / 30) in which its score first reached
    /// [`ANOMALOUS`], if it did: the end of that step.
    pub since: Option<i64>,
}

impl Db {
    /// The series matching `request.selectors`, most anomalous first (ties:
    /// the one abnormal earliest first).
    ///
    /// Evaluated in shards of about [`SERIES_PER_SHARD`] series, so that a
    /// selection of any size stays within one query's sample budget; two
    /// shards at a time, so memory peaks at about two shards' samples (and
    /// when one fails, the other still finishes before the error returns).
    pub fn anomalies(&self, request: &AnomalyRequest) -> Result<Vec<AnomalousSeries>, QueryError> {
        self.anomalies_in_shards(request, SERIES_PER_SHARD)
    }

    /// [`Db::anomalies`] with shards of about `per_shard` series.
    fn anomalies_in_shards(
        &self,
        request: &AnomalyRequest,
        per_shard: usize,
    ) -> Result<Vec<AnomalousSeries>, QueryError> {
        let step = (request.window / STEPS).max(1_000);
        let history_seconds = (request.history / 1000).max(1);
        let mut found: Vec<AnomalousSeries> = Vec::new();
        let mut seen: HashSet<Labels> = HashSet::new();
        for selector in &request.selectors {
            let matchers = parse_matchers(selector)?;
            // Written back from its parse: a comment or odd spacing cannot leak into the query.
            let selector = parse(selector)?;
            // The peak since the previous step, so no sample's score is missed.
            let query = format!("anomaly_max({selector}[{history_seconds}s], {})", step as f64 / 1000.0);
            let expr = parse(&query)?;
            let count = self.storage.count_series(&matchers).map_err(|e| QueryError::Storage(StoreError::new(e)))?;
            let shards = count.div_ceil(per_shard.max(1)).max(1) as u64;
            let start = request.at - request.window;
            // Two shards at a time: each one's reading and scoring is
            // parallel already, but between them one core waited on the
            // other (a shard's setup, its answer's assembly). Two, not one
            // per core: each holds its series' samples.
            let indexes: Vec<u64> = (0..shards).collect();
            let evaluated = indexes.chunks(SHARDS_AT_ONCE).flat_map(|indexes| {
                let values: Vec<Result<Value, QueryError>> = indexes
                    .par_iter()
                    .map(|&index| {
                        let shard = Sharded { db: self, shard: Shard { index, count: shards } };
                        self.engine.range_expr(&shard, &expr, start, request.at, step)
                    })
                    .collect();
                values
            });
            for value in evaluated {
                let Value::Matrix(series) = value? else {
                    continue;
                };
                for mut s in series {
                    if s.labels.get(KEPT_NAME).is_some() {
                        s.labels = renamed(&s.labels, KEPT_NAME, METRIC_NAME);
                    }
                    // Shards are disjoint by series, and series keep their
                    // names: only a second selector can name one again.
                    if request.selectors.len() > 1 && !seen.insert(s.labels.clone()) {
                        continue;
                    }
                    let score = s.points.iter().map(|p| p.v).fold(0.0, f64::max);
                    // The last step's peak.
                    let latest = s.points.last().filter(|p| p.t == request.at).map_or(0.0, |p| p.v);
                    let since = s.points.iter().find(|p| p.v >= ANOMALOUS).map(|p| p.t);
                    found.push(AnomalousSeries { labels: s.labels, score, latest, since });
                }
            }
        }
        found.sort_by(|a, b| {
            b.score.total_cmp(&a.score).then_with(|| a.since.unwrap_or(i64::MAX).cmp(&b.since.unwrap_or(i64::MAX)))
        });
        found.truncate(request.limit);
        Ok(found)
    }
}

/// Series scored in one evaluation of the ranking.
const SERIES_PER_SHARD: usize = 5_000;

/// Shards evaluated side by side.
const SHARDS_AT_ONCE: usize = 2;

/// The database seen through one shard of the series (by reference):
/// raw samples and window means only — rollup buckets are not sharded, so
/// the engine reads raw samples where it would have used them.
struct Sharded<'a> {
    db: &'a Db,
    shard: Shard,
}

impl Querier for Sharded<'_> {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        Querier::select(self.db, matchers, &self.narrow(hints)).map(keep_names)
    }

    fn select_window_means(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
        resolution: i64,
    ) -> Result<Vec<Series>, StoreError> {
        Querier::select_window_means(self.db, matchers, &self.narrow(hints), resolution).map(keep_names)
    }

    fn map_window_means(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
        resolution: i64,
        visit: &MeansVisitor<'_>,
    ) -> Result<Vec<Series>, StoreError> {
        Querier::map_window_means(self.db, matchers, &self.narrow(hints), resolution, visit).map(keep_names)
    }
}

/// Where the ranking keeps a series' metric name while it is scored: the
/// anomaly functions drop `__name__`, as every PromQL function does, and
/// without it one instance's metrics (the leads after an incident) would
/// be one label set, refused as a vector holding it twice.
const KEPT_NAME: &str = "__pulsedb_ranked_name__";

/// The selected series with their metric name moved to [`KEPT_NAME`].
fn keep_names(mut series: Vec<Series>) -> Vec<Series> {
    for s in &mut series {
        if s.labels.metric_name().is_some() {
            s.labels = renamed(&s.labels, METRIC_NAME, KEPT_NAME);
        }
    }
    series
}

/// `labels` with the label `from` named `to`.
fn renamed(labels: &Labels, from: &str, to: &str) -> Labels {
    Labels::new(labels.iter().map(|l| (if l.name == from { to } else { l.name.as_str() }, l.value.as_str())))
}

impl Sharded<'_> {
    fn narrow(&self, hints: &SelectHints) -> SelectHints {
        let mut hints = hints.clone();
        hints.shard = Some(self.shard);
        hints
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Batch, Options, Sample};

    const MIN: i64 = 60_000;
    /// A whole minute; every test's data ends here.
    const END: i64 = 1_700_000_000_000 / MIN * MIN;

    /// A database with no background work and nothing expiring.
    fn open() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let mut options = Options::default();
        options.background_maintenance = false;
        options.retention = std::time::Duration::ZERO;
        let db = Db::open(dir.path(), options).unwrap();
        (dir, db)
    }

    /// Three hours at 1 min up to [`END`]: a wave at `phase`, `jump` higher
    /// in the last ten minutes.
    fn wave(phase: f64, jump: f64) -> impl Iterator<Item = Sample> {
        (0..180).map(move |m| {
            let t = END - (179 - m) * MIN;
            let wave = 50.0 + 10.0 * ((t / MIN) as f64 / 29.0 + phase).sin();
            Sample::new(t, wave + if END - t < 10 * MIN { jump } else { 0.0 })
        })
    }

    /// A request over the last 30 minutes with two hours of history.
    fn request(selectors: &[&str]) -> AnomalyRequest {
        let mut request = AnomalyRequest::new(selectors.iter().map(|s| s.to_string()).collect(), END);
        request.window = 30 * MIN;
        request.history = 120 * MIN;
        request
    }

    /// Any number of shards (evaluated two at a time; a shard holds runs
    /// of 1,024 series), and selectors that overlap, rank every series
    /// once, as one shard does.
    #[test]
    fn shards_and_overlapping_selectors_rank_each_series_once() {
        let (_dir, db) = open();
        const HOSTS: usize = 2_100;
        let mut batch = Batch::new();
        for host in 0..HOSTS {
            // In every 97th host a jump in the last ten minutes.
            let jump = if host % 97 == 0 { 40.0 } else { 0.0 };
            batch.add(Labels::metric("load", [("host", format!("h{host:04}"))]), wave(host as f64, jump));
        }
        db.append(&batch).unwrap();
        let mut request = request(&["load", r#"load{host=~"h1.*"}"#]);
        request.limit = HOSTS;
        let ranked = |per_shard| {
            let mut found = db.anomalies_in_shards(&request, per_shard).unwrap();
            found.sort_by(|a, b| a.labels.cmp(&b.labels));
            found
        };
        let whole = ranked(10_000);
        assert_eq!(whole.len(), HOSTS, "each series once");
        let jumped = whole.iter().filter(|s| s.since.is_some()).count();
        assert!(jumped >= HOSTS / 97, "{jumped} series abnormal");
        for per_shard in [1_100, 700, 400] {
            assert_eq!(ranked(per_shard), whole, "{per_shard} a shard");
        }
    }

    /// The ranking names each series by its metric too: after an incident,
    /// metrics with the same other labels (one instance's CPU, memory,
    /// latency) are exactly what it compares.
    #[test]
    fn metrics_with_the_same_other_labels_are_ranked_apart() {
        let (_dir, db) = open();
        let mut batch = Batch::new();
        for (metric, jump) in [("cpu", 50.0), ("memory", 0.0), ("latency", 20.0)] {
            batch.add(Labels::metric(metric, [("instance", "x")]), wave(0.0, jump));
        }
        db.append(&batch).unwrap();
        let request = request(&[r#"{instance="x"}"#]);
        let found = db.anomalies(&request).unwrap();
        let names: Vec<&str> = found.iter().filter_map(|s| s.labels.metric_name()).collect();
        assert_eq!(names.len(), 3, "{found:?}");
        assert_eq!(names[2], "memory", "{found:?}");
        assert!(found.iter().all(|s| s.labels.get("instance") == Some("x")), "{found:?}");
    }
}
