//! An in-memory [`Querier`]: series held in a vector in creation order,
//! matched and cut to the time range as storage would; it records every select's hints.
#![allow(clippy::unwrap_used, dead_code)]

use std::sync::Mutex;

use pulsedb_model::{Batch, Labels, Matcher, Sample, SelectHints, Series, StoreError};
use pulsedb_query::Querier;

/// Series held in memory; records the hints of every select.
#[derive(Default)]
pub(crate) struct MemQuerier {
    series: Vec<Series>,
    pub(crate) hints: Mutex<Vec<SelectHints>>,
}

impl MemQuerier {
    pub(crate) fn with(mut self, labels: Labels, samples: impl IntoIterator<Item = (i64, f64)>) -> Self {
        self.series.push(Series { labels, samples: samples.into_iter().map(|(t, v)| Sample::new(t, v)).collect() });
        self
    }
}

impl Querier for MemQuerier {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        self.hints.lock().unwrap().push(hints.clone());
        Ok(self
            .series
            .iter()
            .filter(|s| matchers.iter().all(|m| m.matches(s.labels.get(m.name()).unwrap_or(""))))
            .map(|s| Series {
                labels: s.labels.clone(),
                samples: s.samples.iter().filter(|x| x.t >= hints.mint && x.t <= hints.maxt).copied().collect(),
            })
            .filter(|s| !s.samples.is_empty())
            .collect())
    }
}

impl MemQuerier {
    /// Appends a batch as storage would: per series, samples merged in time
    /// order, a repeated timestamp keeping the last value.
    pub(crate) fn append(&mut self, batch: &Batch) {
        for (labels, samples) in batch.rows() {
            // Creation order, as storage keeps it.
            let i = match self.series.iter().position(|s| &s.labels == labels) {
                Some(i) => i,
                None => {
                    self.series.push(Series { labels: labels.clone(), samples: Vec::new() });
                    self.series.len() - 1
                }
            };
            let series = &mut self.series[i].samples;
            for s in samples {
                match series.binary_search_by(|x| x.t.cmp(&s.t)) {
                    Ok(j) => series[j] = *s,
                    Err(j) => series.insert(j, *s),
                }
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.series.clear();
    }
}
