//! Reading a golden fixture's series back for exact comparison: samples
//! as `(t, value bits)`, so NaN and staleness markers compare bit for bit.
#![allow(clippy::unwrap_used)]

use pulsedb::{Db, Labels, Matcher, Sample};

/// One series' samples as `(t, value bits)`.
pub(crate) type SeriesBits = (Labels, Vec<(i64, u64)>);

/// Every series with label `host="<host>"`, all of its samples, sorted by labels.
pub(crate) fn host_bits(db: &Db, host: &str) -> Vec<SeriesBits> {
    let mut all: Vec<_> = db
        .select(&[Matcher::equal("host", host)], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect()))
        .collect();
    all.sort();
    all
}

/// Written data in the form [`host_bits`] reads it back.
pub(crate) fn to_bits(data: &[(Labels, Vec<Sample>)]) -> Vec<SeriesBits> {
    data.iter().map(|(l, s)| (l.clone(), s.iter().map(|x| (x.t, x.v.to_bits())).collect())).collect()
}
