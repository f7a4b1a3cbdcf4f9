//! [`Storage`] as the model's [`Querier`] (reads for the query engine) and
//! [`Appender`] (transactions for in-process writers such as recording rules).

use pulsedb_model::{
    Appender, Batch, Labels, Matcher, MeansVisitor, Newest, Querier, RollupFields, RollupSeries, SelectHints, Series,
    SeriesHandle, SeriesSample, StoreError,
};

use crate::Storage;

impl Querier for Storage {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        let limits = limits_of(hints);
        self.inner_select_limited(matchers, hints.mint, hints.maxt, &limits).map_err(store_error)
    }

    fn select_newest(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<SeriesSample>, StoreError> {
        let limits = limits_of(hints);
        let which = hints.newest.unwrap_or(Newest::Any);
        self.inner_select_newest(matchers, hints.mint, hints.maxt, which, &limits).map_err(store_error)
    }

    fn select_rollups(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        fields: RollupFields,
    ) -> Result<Option<Vec<RollupSeries>>, StoreError> {
        Storage::select_rollups(self, matchers, mint, maxt, resolution, fields).map_err(StoreError::new)
    }

    fn select_window_means(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
        resolution: i64,
    ) -> Result<Vec<Series>, StoreError> {
        let limits = limits_of(hints);
        self.inner_map_window_means(matchers, hints.mint, hints.maxt, resolution, &limits, &Ok).map_err(store_error)
    }

    fn map_window_means(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
        resolution: i64,
        visit: &MeansVisitor<'_>,
    ) -> Result<Vec<Series>, StoreError> {
        let limits = limits_of(hints);
        let visit = |means: Vec<crate::Sample>| visit(&means).map_err(crate::Error::Caller);
        self.inner_map_window_means(matchers, hints.mint, hints.maxt, resolution, &limits, &visit).map_err(store_error)
    }
}

fn limits_of(hints: &SelectHints) -> crate::engine::SelectLimits {
    crate::engine::SelectLimits {
        max_samples: hints.max_samples,
        deadline: hints.deadline,
        shard: hints.shard,
        newest: hints.newest,
        only_labels: hints.only_labels.clone(),
    }
}

/// A storage error for the query engine: limits are the caller's, so they
/// go back in its vocabulary.
fn store_error(e: crate::Error) -> StoreError {
    match e {
        crate::Error::Model(model) => StoreError::new(model),
        crate::Error::Caller(caller) => caller,
        other => StoreError::new(other),
    }
}

/// An [`Appender`] over a [`Storage`]: samples collect in a [`Batch`] and
/// commit as one atomic, durable append (see [`Storage::append`]).
#[derive(Debug)]
pub struct StorageAppender<'a> {
    storage: &'a Storage,
    batch: Batch,
}

impl Storage {
    /// A new, empty transaction against this storage.
    pub fn appender(&self) -> StorageAppender<'_> {
        StorageAppender { storage: self, batch: Batch::new() }
    }
}

impl Appender for StorageAppender<'_> {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), StoreError> {
        self.batch.push(labels.clone(), t, v);
        Ok(())
    }

    fn resolve(&mut self, labels: &Labels) -> Result<SeriesHandle, StoreError> {
        self.storage.resolve(labels).map_err(StoreError::new)
    }

    fn append_by_handle(&mut self, handle: SeriesHandle, t: i64, v: f64) -> Result<(), StoreError> {
        self.batch.push_by_handle(handle, t, v);
        Ok(())
    }

    fn pending(&self) -> usize {
        self.batch.len()
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return Ok(());
        }
        self.storage.append(&batch).map_err(StoreError::new)
    }

    fn rollback(&mut self) {
        self.batch.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Options;

    fn all(storage: &Storage) -> Vec<Series> {
        Querier::select(storage, &[Matcher::equal("job", "x")], &SelectHints::range(0, i64::MAX)).unwrap()
    }

    #[test]
    fn appends_are_invisible_until_commit_and_rollback_drops_them() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), Options::default()).unwrap();
        let up = Labels::metric("up", [("job", "x")]);
        let mut app = storage.appender();
        app.append(&up, 1_000, 1.0).unwrap();
        app.append(&up, 2_000, 2.0).unwrap();
        assert_eq!(app.pending(), 2);
        assert!(all(&storage).is_empty(), "nothing before commit");
        app.commit().unwrap();
        assert_eq!(app.pending(), 0);
        assert_eq!(all(&storage)[0].samples.len(), 2);

        app.append(&up, 3_000, 3.0).unwrap();
        app.rollback();
        app.commit().unwrap();
        assert_eq!(all(&storage)[0].samples.len(), 2, "rolled back sample never stored");
        storage.close().unwrap();
    }

    #[test]
    fn a_bad_sample_refuses_the_whole_commit() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), Options::default()).unwrap();
        let mut app = storage.appender();
        app.append(&Labels::metric("up", [("job", "x")]), 1_000, 1.0).unwrap();
        app.append(&Labels::new([("bad-name", "v")]), 1_000, 1.0).unwrap();
        let err = app.commit().unwrap_err();
        assert!(err.to_string().contains("invalid label name"), "{err}");
        assert!(matches!(err.downcast_ref::<crate::Error>(), Some(crate::Error::InvalidSeries { .. })));
        assert!(all(&storage).is_empty());
        storage.close().unwrap();
    }

    #[test]
    fn selections_stop_at_the_callers_limits() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), Options::default()).unwrap();
        let mut batch = Batch::new();
        batch.add(Labels::metric("up", [("job", "x")]), (0..100).map(|i| pulsedb_model::Sample::new(i * 1000, 1.0)));
        storage.append(&batch).unwrap();
        let matchers = [Matcher::equal("job", "x")];
        let mut hints = SelectHints::range(0, i64::MAX);
        hints.max_samples = Some(99);
        let err = Querier::select(&storage, &matchers, &hints).unwrap_err();
        assert!(matches!(err.downcast_ref(), Some(pulsedb_model::Error::TooManySamples { limit: 99 })), "{err}");
        hints.max_samples = Some(100);
        assert_eq!(Querier::select(&storage, &matchers, &hints).unwrap()[0].samples.len(), 100);
        hints.deadline = Some(std::time::Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(2));
        let err = Querier::select(&storage, &matchers, &hints).unwrap_err();
        assert!(matches!(err.downcast_ref(), Some(pulsedb_model::Error::DeadlineExceeded)), "{err}");
        storage.close().unwrap();
    }
}
