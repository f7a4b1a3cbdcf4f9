//! The acknowledged-sample model the durability tests compare reads with:
//! per series, each timestamp's value as bits (so NaN, -0.0 and the
//! staleness marker compare exactly). A later write of a timestamp replaces
//! it, as `append` does.

use std::collections::BTreeMap;

use pulsedb::{Batch, Db, Labels, Matcher, Series};

/// Samples storage acknowledged, or read back, by series.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckedModel {
    series: BTreeMap<Labels, BTreeMap<i64, u64>>,
}

impl AckedModel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an acknowledged batch (within it, the last value for a timestamp wins).
    pub fn record(&mut self, batch: &Batch) {
        for (labels, samples) in batch.rows() {
            let series = self.series.entry(labels.clone()).or_default();
            for s in samples {
                series.insert(s.t, s.v.to_bits());
            }
        }
    }

    pub fn insert(&mut self, labels: &Labels, t: i64, v: f64) {
        self.series.entry(labels.clone()).or_default().insert(t, v.to_bits());
    }

    /// One series' samples, `t → value bits`.
    pub fn get(&self, labels: &Labels) -> Option<&BTreeMap<i64, u64>> {
        self.series.get(labels)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Labels, &BTreeMap<i64, u64>)> {
        self.series.iter()
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn samples(&self) -> usize {
        self.series.values().map(BTreeMap::len).sum()
    }

    /// Series as `select` returns them; a timestamp twice in one series fails.
    #[track_caller]
    pub fn from_series(series: impl IntoIterator<Item = Series>) -> Self {
        let mut model = Self::new();
        for s in series {
            let map = model.series.entry(s.labels.clone()).or_default();
            for x in s.samples {
                assert!(map.insert(x.t, x.v.to_bits()).is_none(), "{}: timestamp {} read twice", s.labels, x.t);
            }
        }
        model
    }

    /// What `db` holds for `matchers`, over all time.
    #[track_caller]
    pub fn read(db: &Db, matchers: &[Matcher]) -> Self {
        Self::from_series(db.select(matchers, i64::MIN, i64::MAX).expect("select"))
    }

    /// The part of this model that `matchers` and `[mint, maxt]` select:
    /// what a correct `select` returns.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Self {
        let series = self
            .series
            .iter()
            .filter(|(labels, _)| matchers.iter().all(|m| m.matches(labels.get(m.name()).unwrap_or(""))))
            .map(|(labels, samples)| {
                (labels.clone(), samples.range(mint..=maxt).map(|(t, v)| (*t, *v)).collect::<BTreeMap<_, _>>())
            })
            .filter(|(_, samples)| !samples.is_empty())
            .collect();
        Self { series }
    }

    /// Differences from `got`, at most `limit` of them, each naming the
    /// series and timestamp: samples missing or changed, and samples or
    /// series `got` has beyond this model.
    pub fn differences(&self, got: &Self, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (labels, want) in &self.series {
            let have = got.series.get(labels);
            for (t, bits) in want {
                let found = have.and_then(|h| h.get(t));
                if found != Some(bits) {
                    out.push(format!("{labels} t={t}: want {bits:#x}, have {found:x?}"));
                }
            }
            for t in have.into_iter().flat_map(|h| h.keys()).filter(|t| !want.contains_key(t)) {
                out.push(format!("{labels} t={t}: not acknowledged, yet read"));
            }
        }
        for labels in got.series.keys().filter(|l| !self.series.contains_key(*l)) {
            out.push(format!("{labels}: series read but never acknowledged"));
        }
        out.truncate(limit);
        out
    }

    /// Fails unless `db` holds exactly this model for `matchers`.
    #[track_caller]
    pub fn assert_matches(&self, db: &Db, matchers: &[Matcher]) {
        let got = Self::read(db, matchers);
        let diff = self.differences(&got, 10);
        assert!(diff.is_empty(), "read differs from the acknowledged samples:\n{}", diff.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulsedb::Sample;

    #[test]
    fn differences_name_missing_changed_and_extra_samples() {
        let up = Labels::metric("up", [("job", "a")]);
        let mut want = AckedModel::new();
        let mut batch = Batch::new();
        batch.add(up.clone(), [Sample::new(1, 1.0), Sample::new(2, f64::NAN), Sample::new(2, 2.0)]);
        want.record(&batch);
        assert_eq!(want.samples(), 2, "the later value of t=2 replaced the first");
        assert!(want.differences(&want.clone(), 10).is_empty());

        let mut got = AckedModel::new();
        got.insert(&up, 1, -0.0);
        got.insert(&up, 3, 3.0);
        got.insert(&Labels::metric("extra", [("job", "a")]), 1, 1.0);
        let diff = want.differences(&got, 10);
        assert_eq!(diff.len(), 4, "{diff:?}");
        assert!(diff[0].contains("t=1") && diff[1].contains("t=2") && diff[2].contains("t=3"), "{diff:?}");
        assert!(diff[3].contains("never acknowledged"), "{diff:?}");
    }

    #[test]
    fn select_cuts_by_matchers_and_time() {
        let mut m = AckedModel::new();
        m.insert(&Labels::metric("a", [("x", "1")]), 10, 1.0);
        m.insert(&Labels::metric("a", [("x", "1")]), 20, 2.0);
        m.insert(&Labels::metric("b", [("x", "1")]), 10, 1.0);
        let s = m.select(&[Matcher::equal("__name__", "a")], 15, 30);
        assert_eq!(s.series_count(), 1);
        assert_eq!(s.samples(), 1);
    }
}
