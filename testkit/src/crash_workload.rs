//! The write workload of the crash tests (kill -9 and power cut): writers
//! that append numbered, deterministic batches to their own series, so a
//! checker can rebuild any batch from its number and compare what
//! survived with what was acknowledged.

use std::time::Duration;

use pulsedb::{Batch, Labels, Options, Sample, SyncMode};

use crate::acked::AckedModel;
use crate::Rng;

pub const SERIES_PER_WRITER: usize = 20;
pub const STEP_MS: i64 = 5_000;
pub const BASE_T: i64 = 1_700_000_000_000;
pub const METRIC: &str = "crash_test";

/// Small blocks, quick compactions and small WAL segments, so flushes,
/// compactions, rotations and truncations happen all the time.
pub fn options(sync: SyncMode) -> Options {
    let mut o = Options::default();
    o.sync = sync;
    o.block_span = Duration::from_secs(120);
    o.out_of_order_window = Duration::from_secs(30);
    o.compaction_spans = vec![Duration::from_secs(120), Duration::from_secs(600), Duration::from_secs(3600)];
    o.retention = Duration::ZERO;
    o.wal_segment_size = 256 << 10; // rotate often
    o
}

pub fn series_labels(writer: usize, j: usize) -> Labels {
    Labels::metric(METRIC, [("writer", writer.to_string()), ("series", j.to_string())])
}

/// The first series of each writer get a sample every second (every step
/// and the seconds between): dense head chunks, whose records carry minute
/// summaries, are written, checkpointed and recovered too.
pub const DENSE_SERIES: usize = 2;

/// Batch `n` of `writer`: in-order samples, some out of order within the
/// window (now and then overwriting an earlier one).
pub fn batch_contents(writer: usize, n: u64) -> Vec<(usize, Sample)> {
    let mut rng = Rng::new((writer as u64) << 40 | n);
    let t = BASE_T + n as i64 * STEP_MS;
    let mut out = Vec::new();
    for j in 0..SERIES_PER_WRITER {
        if j < DENSE_SERIES {
            out.extend((0..STEP_MS).step_by(1000).map(|dt| (j, Sample::new(t + dt, rng.value()))));
        } else if rng.chance(70) {
            out.push((j, Sample::new(t, rng.value())));
        }
        if rng.chance(15) {
            let back = (rng.below(25) as i64 + 1) * 1000;
            out.push((j, Sample::new(t - back - back % STEP_MS, rng.value())));
        }
    }
    out
}

pub fn to_batch(writer: usize, contents: &[(usize, Sample)]) -> Batch {
    let mut batch = Batch::new();
    for &(j, s) in contents {
        batch.add(series_labels(writer, j), [s]);
    }
    batch
}

/// Adds batch contents to `model` (within a batch the last value for a
/// timestamp wins, as in `append`).
pub fn apply(model: &mut AckedModel, writer: usize, contents: &[(usize, Sample)]) {
    for &(j, s) in contents {
        model.insert(&series_labels(writer, j), s.t, s.v);
    }
}

/// Whether an append error is a refusal of the batch (nothing of it
/// stored) rather than a failure.
pub fn is_refusal(error: &pulsedb::Error) -> bool {
    matches!(error, pulsedb::Error::OutOfBounds { .. } | pulsedb::Error::OutOfOrder { .. })
}
