//! [`Querier`]: the narrow read API the query engine sees. It is all the
//! query crate knows of storage, so a query can run against anything that
//! returns series (a test fixture, a remote store).

use crate::{Matcher, Result, RollupFields, RollupSeries, Series, Storage};

/// Reads series by matchers and time range.
pub trait Querier: Send + Sync {
    /// Series matching all `matchers` with their samples in `[mint, maxt]`
    /// (milliseconds, inclusive), time-ordered, sorted by labels.
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>>;

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
    ) -> Result<Option<Vec<RollupSeries>>> {
        Ok(None)
    }
}

impl Querier for Storage {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>> {
        Storage::select(self, matchers, mint, maxt)
    }

    fn select_rollups(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        fields: RollupFields,
    ) -> Result<Option<Vec<RollupSeries>>> {
        Storage::select_rollups(self, matchers, mint, maxt, resolution, fields)
    }
}
