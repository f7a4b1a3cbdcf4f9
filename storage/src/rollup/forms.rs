//! How a rollup blob's column is kept (block format 6): as its own values
//! (a sealed chunk's values part), as a copy of another column with the
//! buckets where they differ listed, or not at all.
//!
//! Why: in a counter's buckets the minimum is the first value and the
//! maximum the last, except where it reset, so two of the nine columns
//! repeat two others (28 % of a 1 min rollup blob's bytes on the bench
//! fleet). A gauge's `correction` (the sum of the values before each fall)
//! costs as much as its sum and serves only `rate`/`increase` on a gauge;
//! left out, those queries read the block's chunks instead and get the
//! same answer.

use crate::codec::{put_uvarint, ByteReader, DecodeError};
use crate::Sample;

/// Column codec byte of a column copied from another (`source`).
pub(super) const DERIVED: u8 = 0xfe;
/// Column codec byte of a column left out (empty body).
pub(super) const ABSENT: u8 = 0xff;

/// Column indexes, in blob order (`blob::FIELDS`).
pub(super) const MIN: usize = 2;
pub(super) const MAX: usize = 3;
pub(super) const FIRST_V: usize = 5;
pub(super) const LAST_V: usize = 7;
pub(super) const CORRECTION: usize = 8;

/// The cheapest source for a derived `column` (min or max): the value
/// column it differs from in the fewest buckets, with those buckets. The
/// encoder keeps it only when it takes fewer bytes than the stored values.
pub(super) fn derivable(column: usize, values: &[Vec<f64>]) -> Option<(usize, Vec<(usize, u64)>)> {
    if column != MIN && column != MAX {
        return None;
    }
    [FIRST_V, LAST_V]
        .into_iter()
        .map(|source| (source, exceptions(&values[column], &values[source])))
        .min_by_key(|(_, e)| e.len())
}

/// Whether `column` is left out: a correction nonzero in most buckets is
/// a gauge's (it falls in most of them), which `rate` is not meant for.
pub(super) fn left_out(column: usize, values: &[Vec<f64>]) -> bool {
    let own = &values[column];
    column == CORRECTION && own.iter().filter(|&&c| c != 0.0).count() * 2 > own.len()
}

fn exceptions(own: &[f64], source: &[f64]) -> Vec<(usize, u64)> {
    own.iter()
        .zip(source)
        .enumerate()
        .filter(|(_, (a, b))| a.to_bits() != b.to_bits())
        .map(|(i, (a, _))| (i, a.to_bits()))
        .collect()
}

/// A derived column's body: `source u8 | n uvarint | n × (gap uvarint |
/// value bits u64 LE)`, the gap being the bucket index minus the previous
/// exception's index plus one (the first exception's index itself).
pub(super) fn encode_derived(source: usize, exceptions: &[(usize, u64)], out: &mut Vec<u8>) {
    out.push(source as u8);
    put_uvarint(out, exceptions.len() as u64);
    let mut next = 0;
    for &(i, bits) in exceptions {
        put_uvarint(out, (i - next) as u64);
        out.extend_from_slice(&bits.to_le_bytes());
        next = i + 1;
    }
}

/// The source column of a derived column's `body`, and its exceptions
/// applied to `values` (the source's values, `n` of them).
pub(super) fn source_of(body: &[u8]) -> Result<usize, DecodeError> {
    let source = ByteReader::new(body).u8("derived rollup column source")? as usize;
    if source != FIRST_V && source != LAST_V {
        return Err(DecodeError { what: "derived rollup column source", offset: 0, reason: "not a value column" });
    }
    Ok(source)
}

/// Overwrites `values` (the source's, decoded as a sealed chunk's values
/// part) with a derived column's exceptions.
pub(super) fn apply_exceptions(body: &[u8], values: &mut [Sample]) -> Result<(), DecodeError> {
    let mut r = ByteReader::new(body);
    r.u8("derived rollup column source")?;
    let n = r.len("derived rollup column exceptions", values.len())?;
    let mut next = 0usize;
    for _ in 0..n {
        let at = r.position();
        let gap = r.uvarint("derived rollup column exception gap")?;
        let i = usize::try_from(gap).ok().and_then(|g| next.checked_add(g)).filter(|&i| i < values.len());
        let Some(i) = i else {
            return Err(DecodeError {
                what: "derived rollup column exception",
                offset: at,
                reason: "past the last bucket",
            });
        };
        values[i].v = f64::from_bits(r.u64_le("derived rollup column exception value")?);
        next = i + 1;
    }
    if !r.is_empty() {
        return Err(DecodeError { what: "derived rollup column", offset: r.position(), reason: "trailing bytes" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn values(min: Vec<f64>, first: Vec<f64>, last: Vec<f64>, correction: Vec<f64>) -> Vec<Vec<f64>> {
        let n = first.len();
        let z = vec![0.0; n];
        vec![z.clone(), z.clone(), min, z.clone(), z.clone(), first, z.clone(), last, correction]
    }

    #[test]
    fn a_counters_min_is_its_first_value_but_where_it_reset() {
        let first: Vec<f64> = (0..16).map(|i| f64::from(i) * 10.0).collect();
        let last: Vec<f64> = first.iter().map(|v| v + 9.0).collect();
        let mut min = first.clone();
        min[5] = 0.5; // a reset inside bucket 5
        let v = values(min, first, last, vec![0.0; 16]);
        assert_eq!(derivable(MIN, &v), Some((FIRST_V, vec![(5, 0.5f64.to_bits())])));
        assert!(!left_out(CORRECTION, &v));
        let mut body = Vec::new();
        encode_derived(FIRST_V, &[(5, 0.5f64.to_bits()), (15, 1.0f64.to_bits())], &mut body);
        assert_eq!(source_of(&body).unwrap(), FIRST_V);
        let mut out: Vec<Sample> = v[FIRST_V].iter().map(|&x| Sample::new(0, x)).collect();
        apply_exceptions(&body, &mut out).unwrap();
        assert_eq!((out[5].v, out[15].v, out[4].v), (0.5, 1.0, 40.0));
    }

    #[test]
    fn a_gauges_columns_stay_and_its_correction_goes() {
        let first: Vec<f64> = (0..16).map(|i| f64::from(i % 3)).collect();
        let min = vec![-1.0; 16];
        let v = values(min, first.clone(), first, vec![2.0; 16]);
        assert_eq!(derivable(MIN, &v).map(|(_, e)| e.len()), Some(16));
        assert!(left_out(CORRECTION, &v));
        assert_eq!(derivable(CORRECTION, &v), None);
    }

    #[test]
    fn damaged_derived_columns_are_errors() {
        let mut body = Vec::new();
        encode_derived(FIRST_V, &[(3, 0)], &mut body);
        assert!(apply_exceptions(&body, &mut [Sample::new(0, 0.0); 3]).is_err(), "exception past the last bucket");
        assert!(source_of(&[MIN as u8]).is_err(), "a source that is not a value column");
        body.push(0);
        assert!(apply_exceptions(&body, &mut [Sample::new(0, 0.0); 4]).is_err(), "trailing bytes");
    }
}
