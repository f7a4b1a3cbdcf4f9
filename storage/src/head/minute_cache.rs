//! Minute buckets of closed head chunks, shared by every read of the
//! process, so that a dashboard's refresh of `rate(x[1m])` over the head's
//! hours neither reads, checks nor decodes each chunk's record again. A
//! record never changes once written and its key (file id, offset) is never
//! reused in the process, so an entry never goes stale; those of deleted
//! files age out. Bounded by bytes in two generations
//! (`pulsedb_model::SharedGenerations`).
//!
//! Why: with a fleet's last two hours in the head, a 12 h `rate(x[1m])` at
//! 1 min read about 150 records per query, each a `pread`, a crc32 and a
//! decode; in the server's profile the kernel's read path alone was a
//! fifth of the query.

use std::sync::{Arc, OnceLock};

use pulsedb_model::{RollupBucket, SharedGenerations};

use crate::Result;

/// (window file id, record offset).
type Key = (u64, u64);

type Minutes = SharedGenerations<Key, Arc<[RollupBucket]>, foldhash::fast::RandomState>;

/// 32 MiB, two generations of up to 16: the minutes of two hours of about
/// 1,000 series sampled each second (about 13 MB, 30 records a series) fit
/// in one generation, so a dashboard that reads them all keeps them.
const BUDGET_BYTES: usize = 32 << 20;

fn shared() -> &'static Minutes {
    static SHARED: OnceLock<Minutes> = OnceLock::new();
    SHARED.get_or_init(|| SharedGenerations::new(BUDGET_BYTES, weight))
}

/// What an entry costs: its buckets, and the key, `Arc` and table slot around them.
fn weight(minutes: &Arc<[RollupBucket]>) -> usize {
    const ENTRY_OVERHEAD: usize = 64;
    std::mem::size_of_val::<[RollupBucket]>(minutes) + ENTRY_OVERHEAD
}

/// The minute buckets kept for the record at `offset` of file `file_id`,
/// or `read`'s, kept (an error is not).
pub(super) fn minutes(
    file_id: u64,
    offset: u64,
    read: impl FnOnce() -> Result<Vec<RollupBucket>>,
) -> Result<Arc<[RollupBucket]>> {
    shared().get_or_try_insert_with(&(file_id, offset), || read().map(Arc::from))
}
