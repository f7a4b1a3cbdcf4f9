//! Per-minute summaries of dense closed head chunks, stored in the chunk's
//! record (head chunk files version 3, `storage/docs/format/chunks.md`).
//!
//! A chunk of 1 s samples spans four minutes, so a rollup read at 1 min
//! (`rate(x[1m])` at a 1 min step, what dashboards send) would decode every
//! sample of it to sum a minute. A dense chunk's record therefore carries
//! one summary per minute it touches; a read of whole minutes takes those
//! and decodes nothing. They live on disk next to the chunk bytes, not in
//! the head's memory, and only where they pay: at least
//! [`MIN_SAMPLES_PER_MINUTE`] samples a minute on average, below which
//! decoding a minute's few samples costs about what reading its summary does.

use pulsedb_model::{push_bucket, RollupBucket, Sample, Summarizer};

/// The span of one summary. Part of the file format, as are the two
/// constants below: a record's length is inferred from them, so changing
/// one needs a new head chunk file version.
pub(crate) const MINUTE: i64 = 60_000;

/// A chunk carries minute summaries when it averages at least this many
/// samples per minute it touches (every 2 s or denser). Format constant.
pub(crate) const MIN_SAMPLES_PER_MINUTE: i64 = 30;

/// `count u16 | first offset u16 | last offset u16 | first | last | sum |
/// min | max | correction` (f64 bits), little-endian; offsets in ms from
/// the minute's start. Format constant.
pub(crate) const ENTRY_LEN: usize = 54;

/// The number of minute summaries a chunk with these bounds and sample
/// count carries in a version 3 record: one per minute from `mint`'s to
/// `maxt`'s, when it touches two minutes or more and is dense enough; 0
/// otherwise (a chunk inside one minute has its whole-chunk summary).
pub(crate) fn minutes_carried(mint: i64, maxt: i64, count: u16) -> usize {
    let minutes = maxt.div_euclid(MINUTE).saturating_sub(mint.div_euclid(MINUTE)).saturating_add(1);
    if minutes >= 2 && minutes <= i64::from(count) / MIN_SAMPLES_PER_MINUTE {
        usize::try_from(minutes).unwrap_or(0)
    } else {
        0
    }
}

/// Appends the minute summaries of `samples` (a chunk's, time-ordered, the
/// first at `mint`) for `minutes` minutes from `mint`'s: staleness markers
/// are left out as in every rollup bucket, and a minute without samples is
/// an entry of zeros.
pub(crate) fn encode(samples: &[Sample], mint: i64, minutes: usize, out: &mut Vec<u8>) {
    let mut buckets = Vec::with_capacity(minutes);
    Summarizer::new(&mut buckets, MINUTE).extend(samples.iter().copied());
    let first_minute = mint.div_euclid(MINUTE);
    let mut buckets = buckets.iter().peekable();
    for i in 0..minutes as i64 {
        let start = (first_minute + i) * MINUTE;
        match buckets.next_if(|b| b.start == start) {
            Some(b) => {
                out.extend_from_slice(&(b.count as u16).to_le_bytes());
                out.extend_from_slice(&((b.first.t - start) as u16).to_le_bytes());
                out.extend_from_slice(&((b.last.t - start) as u16).to_le_bytes());
                for v in [b.first.v, b.last.v, b.sum, b.min, b.max, b.correction] {
                    out.extend_from_slice(&v.to_bits().to_le_bytes());
                }
            }
            None => out.extend_from_slice(&[0; ENTRY_LEN]),
        }
    }
}

/// Adds the minute summaries in `bytes` (a chunk's, whose first sample is
/// at `mint`) to `out` as buckets of `resolution` (a multiple of a minute),
/// merged with `out`'s last bucket where they share a start; `Err` names
/// what is impossible in them.
pub(crate) fn push_buckets(
    bytes: &[u8],
    mint: i64,
    resolution: i64,
    out: &mut Vec<RollupBucket>,
) -> Result<(), &'static str> {
    if !bytes.len().is_multiple_of(ENTRY_LEN) {
        return Err("head chunk minute summaries are cut short");
    }
    let first_minute = mint.div_euclid(MINUTE);
    for (i, entry) in bytes.chunks_exact(ENTRY_LEN).enumerate() {
        let u16_at = |k: usize| u16::from_le_bytes([entry[k], entry[k + 1]]);
        let f64_at = |k: usize| f64::from_bits(u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7].map(|j| entry[k + j])));
        let count = u16_at(0);
        if count == 0 {
            continue;
        }
        let (first_offset, last_offset) = (i64::from(u16_at(2)), i64::from(u16_at(4)));
        if first_offset > last_offset || last_offset >= MINUTE || (count == 1) != (first_offset == last_offset) {
            return Err("head chunk minute summary with impossible times");
        }
        let out_of_range = "head chunk minute summary out of the time range";
        let start = first_minute
            .checked_add(i as i64)
            .and_then(|m| m.checked_mul(MINUTE))
            .filter(|s| s.checked_add(MINUTE).is_some())
            .ok_or(out_of_range)?;
        let bucket_start = start.div_euclid(resolution).checked_mul(resolution).ok_or(out_of_range)?;
        push_bucket(
            out,
            RollupBucket {
                start: bucket_start,
                count: u64::from(count),
                sum: f64_at(22),
                min: f64_at(30),
                max: f64_at(38),
                first: Sample::new(start + first_offset, f64_at(6)),
                last: Sample::new(start + last_offset, f64_at(14)),
                correction: f64_at(46),
            },
        );
    }
    Ok(())
}

/// Adds minute buckets (as [`push_buckets`] gives them at a resolution of
/// a minute) to `out` as buckets of `resolution` (a multiple of a minute),
/// merged as [`push_buckets`] would have; `Err` when a bucket's start has
/// no bucket of `resolution`.
pub(crate) fn rebucket(
    minutes: &[RollupBucket],
    resolution: i64,
    out: &mut Vec<RollupBucket>,
) -> Result<(), &'static str> {
    for minute in minutes {
        let start = minute
            .start
            .div_euclid(resolution)
            .checked_mul(resolution)
            .ok_or("head chunk minute summary out of the time range")?;
        push_bucket(out, RollupBucket { start, ..*minute });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use pulsedb_model::{summarize, STALE_NAN};

    #[test]
    fn only_dense_chunks_over_several_minutes_carry_summaries() {
        // 240 samples at 1 s from a minute's start: four minutes.
        assert_eq!(minutes_carried(120_000, 120_000 + 239_000, 240), 4);
        // Inside one minute: the whole-chunk summary serves.
        assert_eq!(minutes_carried(0, 59_000, 60), 0);
        // 15 s samples: 4 a minute, decoded instead.
        assert_eq!(minutes_carried(0, 239 * 15_000, 240), 0);
        // At the density threshold exactly, and just under it.
        assert_eq!(minutes_carried(0, 119_999, 60), 2);
        assert_eq!(minutes_carried(0, 119_999, 59), 0);
        // Bounds a damaged record might hold never overflow.
        assert_eq!(minutes_carried(i64::MIN, i64::MAX, u16::MAX), 0);
        assert_eq!(minutes_carried(i64::MAX, i64::MIN, u16::MAX), 0);
    }

    fn samples() -> impl Strategy<Value = Vec<Sample>> {
        (0i64..200_000, prop::collection::vec((1i64..3_000, -1e3f64..1e3, 0u8..20), 1..400)).prop_map(
            |(mint, steps)| {
                let mut t = mint;
                steps
                    .into_iter()
                    .map(|(dt, v, kind)| {
                        t += dt;
                        let v = match kind {
                            0 => f64::from_bits(STALE_NAN),
                            1 => f64::NAN,
                            2 => 0.0,
                            _ => v,
                        };
                        Sample::new(t, v)
                    })
                    .collect()
            },
        )
    }

    proptest! {
        /// Read back at 1 min the summaries are `summarize`'s buckets of the
        /// same samples exactly; at 1 h, its buckets up to the order sums add.
        #[test]
        fn summaries_read_back_as_the_samples_buckets(samples in samples()) {
            let (mint, maxt) = (samples[0].t, samples[samples.len() - 1].t);
            let minutes = (maxt / MINUTE - mint / MINUTE + 1) as usize;
            let mut bytes = Vec::new();
            encode(&samples, mint, minutes, &mut bytes);
            prop_assert_eq!(bytes.len(), minutes * ENTRY_LEN);
            let mut out = Vec::new();
            push_buckets(&bytes, mint, MINUTE, &mut out).unwrap();
            let want = summarize(&samples, MINUTE);
            prop_assert_eq!(format!("{out:?}"), format!("{want:?}"));
            let mut hours = Vec::new();
            push_buckets(&bytes, mint, 3_600_000, &mut hours).unwrap();
            let want = summarize(&samples, 3_600_000);
            prop_assert_eq!(hours.len(), want.len());
            for (a, b) in hours.iter().zip(&want) {
                // Debug, as NaN samples are not equal to themselves.
                prop_assert_eq!(format!("{:?}", (a.start, a.count, a.first, a.last)), format!("{:?}", (b.start, b.count, b.first, b.last)));
                prop_assert_eq!((a.min.to_bits(), a.max.to_bits()), (b.min.to_bits(), b.max.to_bits()));
                let close = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0) || (x.is_nan() && y.is_nan());
                prop_assert!(close(a.sum, b.sum) && close(a.correction, b.correction), "{a:?} vs {b:?}");
            }
        }

        /// Minute buckets kept and merged later give what reading the
        /// summaries at the coarser resolution gives, to the bit.
        #[test]
        fn rebucketed_minutes_are_the_summaries_read_coarser(
            samples in samples(),
            resolution in prop_oneof![Just(MINUTE), Just(5 * MINUTE), Just(3_600_000i64)],
        ) {
            let (mint, maxt) = (samples[0].t, samples[samples.len() - 1].t);
            let mut bytes = Vec::new();
            encode(&samples, mint, (maxt / MINUTE - mint / MINUTE + 1) as usize, &mut bytes);
            let (mut minutes, mut direct, mut rebucketed) = (Vec::new(), Vec::new(), Vec::new());
            push_buckets(&bytes, mint, MINUTE, &mut minutes).unwrap();
            push_buckets(&bytes, mint, resolution, &mut direct).unwrap();
            rebucket(&minutes, resolution, &mut rebucketed).unwrap();
            prop_assert_eq!(format!("{rebucketed:?}"), format!("{direct:?}"));
        }

        /// Damaged summaries are an error or buckets, never a panic.
        #[test]
        fn any_bytes_are_read_without_panicking(
            bytes in prop::collection::vec(any::<u8>(), 0..300),
            mint in any::<i64>(),
            resolution in prop_oneof![Just(MINUTE), Just(3_600_000i64)],
        ) {
            let _ = push_buckets(&bytes, mint, resolution, &mut Vec::new());
        }
    }

    #[test]
    fn a_minute_without_samples_is_skipped() {
        let samples = [Sample::new(1_000, 1.0), Sample::new(150_000, 2.0)];
        let mut bytes = Vec::new();
        encode(&samples, 1_000, 3, &mut bytes);
        assert_eq!(&bytes[ENTRY_LEN..2 * ENTRY_LEN], &[0; ENTRY_LEN]);
        let mut out = Vec::new();
        push_buckets(&bytes, 1_000, MINUTE, &mut out).unwrap();
        assert_eq!(out.iter().map(|b| b.start).collect::<Vec<_>>(), [0, 120_000]);
    }
}
