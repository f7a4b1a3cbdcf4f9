//! [`Querier`]: the narrow read API the query engine sees. It is all the
//! query crate knows of storage, so a query can run against anything that
//! returns series (a test fixture, a remote store).

use crate::{Matcher, Result, Series, Storage};

/// Reads series by matchers and time range.
pub trait Querier: Send + Sync {
    /// Series matching all `matchers` with their samples in `[mint, maxt]`
    /// (milliseconds, inclusive), time-ordered, sorted by labels.
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>>;
}

impl Querier for Storage {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>> {
        Storage::select(self, matchers, mint, maxt)
    }
}
