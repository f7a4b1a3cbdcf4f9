//! [`Querier`]: the narrow read API the query engine sees. It is all the
//! query crate knows of storage, so a query can run against anything that
//! returns series (storage, an in-memory fixture, a remote store).

use crate::{
    is_stale_nan, window_means_of_samples, Matcher, RollupFields, RollupSeries, Sample, Series, SeriesSample,
    StoreError,
};

/// What the query engine knows about a selection beyond its matchers, so a
/// store can pick a cheaper source (summaries instead of raw samples, fewer
/// blocks) and stop early. `mint` and `maxt` bound the answer; `max_samples`
/// and `deadline` bound the work (a store that honours them fails the
/// selection instead of finishing it); the rest are hints a store may ignore.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectHints {
    /// Earliest sample wanted, in milliseconds, inclusive.
    pub mint: i64,
    /// Latest sample wanted, in milliseconds, inclusive.
    pub maxt: i64,
    /// Step of a range query in milliseconds; 0 for an instant query.
    pub step: i64,
    /// The range of a range selector (`x[5m]` → 300,000), 0 for an instant selector.
    pub range: i64,
    /// The function the selection feeds (`rate`, `max_over_time`, …), if any.
    pub func: Option<&'static str>,
    /// Most samples the caller can still hold: a store stops reading and
    /// returns [`crate::Error::TooManySamples`] (in a [`StoreError`]) past it.
    pub max_samples: Option<usize>,
    /// When the caller gives up: a store stops reading and returns
    /// [`crate::Error::DeadlineExceeded`] past it.
    pub deadline: Option<std::time::Instant>,
    /// Only each series' newest sample in `[mint, maxt]` is needed (an
    /// instant selector or `last_over_time` evaluated at one time): a store
    /// may return just that one, and may skip reading older data for it.
    pub newest: Option<Newest>,
    /// Only one shard of the matching series. Not a hint: a caller that
    /// sets it relies on it (it splits a selection too large for one
    /// sample budget), so only a store that honours it may be given one.
    pub shard: Option<Shard>,
    /// Only these label names are used (an aggregation by them, or by
    /// nothing, straight over the selector): a store may leave the other
    /// labels out of each series. Still one series per matching series, in
    /// the same order.
    pub only_labels: Option<Vec<String>>,
}

/// Which sample [`SelectHints::newest`] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Newest {
    /// The newest sample, staleness marker or not (an instant selector
    /// returns nothing for a series whose newest sample is a marker).
    Any,
    /// The newest sample that is not a staleness marker (range selectors
    /// leave markers out).
    NotStale,
}

impl Newest {
    /// Whether a sample of value `v` is one this asks for.
    pub fn accepts(self, v: f64) -> bool {
        self == Newest::Any || !is_stale_nan(v)
    }
}

/// One of `count` shards of the series: those whose reference lies in a
/// run of [`Shard::RUN`] consecutive references numbered `index` modulo
/// `count`. Every series is in exactly one shard, whatever series appear
/// between the shards' reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// References per run. Blocks store series in reference order, in
    /// compressed frames of a few hundred series: with references dealt
    /// out one by one, every shard read every frame of every block
    /// (zstd was 15 % of `/api/v1/anomalies` over 50,000 series); in runs,
    /// a frame is read by one shard, or two where a run ends in it.
    pub const RUN: u64 = 1024;

    pub fn holds(&self, series: crate::SeriesRef) -> bool {
        self.count <= 1 || (series.0 / Self::RUN) % self.count == self.index
    }
}

impl SelectHints {
    /// Hints for all samples in `[mint, maxt]` and nothing more.
    pub fn range(mint: i64, maxt: i64) -> Self {
        Self { mint, maxt, ..Self::default() }
    }

    pub fn with_step(mut self, step: i64) -> Self {
        self.step = step;
        self
    }

    pub fn with_range(mut self, range: i64) -> Self {
        self.range = range;
        self
    }

    pub fn with_func(mut self, func: &'static str) -> Self {
        self.func = Some(func);
        self
    }
}

/// Reads series by matchers and time range. Implementations are shared
/// between query threads (`Send + Sync`).
pub trait Querier: Send + Sync {
    /// Series matching all `matchers` with their samples in
    /// `[hints.mint, hints.maxt]` (milliseconds, inclusive), time-ordered,
    /// in the order the store created the series — the order Prometheus'
    /// head returns them in, which fixes the order the engine adds floats
    /// in, so sums and averages match Prometheus to the last bit. A caller
    /// that wants label order sorts.
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError>;

    /// Per series matching `matchers`, its newest sample in `[hints.mint,
    /// hints.maxt]` that `hints.newest` accepts ([`Newest::Any`] when
    /// unset), in [`Querier::select`]'s order; a series without one is left
    /// out. What an aggregation over an instant selector at one time folds
    /// (`count(m)`, `sum(m)`): one entry per series, no vector of samples
    /// each. This default reads through [`Querier::select`].
    fn select_newest(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<SeriesSample>, StoreError> {
        let which = hints.newest.unwrap_or(Newest::Any);
        let hints = SelectHints { newest: Some(which), ..hints.clone() };
        // `select` may return more than the newest sample: the newest accepted.
        let series = self.select(matchers, &hints)?;
        Ok(series.into_iter().filter_map(|s| SeriesSample::newest_of(s, which)).collect())
    }

    /// Rollup buckets of `resolution` (one of [`crate::RESOLUTIONS`])
    /// starting within `[mint, maxt]`, for series matching `matchers`, or
    /// `None` when this querier keeps no rollups at that resolution. Only
    /// the `fields` asked for need be filled in.
    fn select_rollups(
        &self,
        _matchers: &[Matcher],
        _mint: i64,
        _maxt: i64,
        _resolution: i64,
        _fields: RollupFields,
    ) -> Result<Option<Vec<RollupSeries>>, StoreError> {
        Ok(None)
    }

    /// Per series matching `matchers`, the mean of its samples in each
    /// window `(end - resolution, end]` with `end` a multiple of
    /// `resolution` in `[hints.mint, hints.maxt]` that holds a sample, as
    /// a sample at `end` ([`crate::WindowMeans`]): long histories at a
    /// bounded number of points. `hints.max_samples` counts the raw samples
    /// the means stand for. A store with rollups answers from them; this
    /// default reads the raw samples.
    fn select_window_means(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
        resolution: i64,
    ) -> Result<Vec<Series>, StoreError> {
        let raw = SelectHints { mint: hints.mint.saturating_sub(resolution - 1), ..hints.clone() };
        let mut out = self.select(matchers, &raw)?;
        for series in &mut out {
            let means = window_means_of_samples(&series.samples, resolution);
            series.samples = means.into_iter().filter(|s| s.t >= hints.mint && s.t <= hints.maxt).collect();
        }
        out.retain(|s| !s.samples.is_empty());
        Ok(out)
    }

    /// [`Querier::select_window_means`] with each series' means handed to
    /// `visit` as they are read, and only its answer kept (a series whose
    /// answer is empty is left out): what a function of each series' whole
    /// history needs (the anomaly functions), without holding every
    /// series' means at once. A store that reads in parallel may call
    /// `visit` from several threads; the first error it returns ends the
    /// selection and is returned as it was. This default maps
    /// [`Querier::select_window_means`]' answer.
    fn map_window_means(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
        resolution: i64,
        visit: &MeansVisitor<'_>,
    ) -> Result<Vec<Series>, StoreError> {
        let mut out = self.select_window_means(matchers, hints, resolution)?;
        for series in &mut out {
            series.samples = visit(&series.samples)?;
        }
        out.retain(|s| !s.samples.is_empty());
        Ok(out)
    }
}

/// What [`Querier::map_window_means`] does with one series' window means:
/// its answer, as samples.
pub type MeansVisitor<'a> = dyn Fn(&[Sample]) -> Result<Vec<Sample>, StoreError> + Sync + 'a;
