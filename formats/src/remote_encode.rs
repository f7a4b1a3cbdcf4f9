//! The remote-write `WriteRequest` written straight into bytes, with no
//! owned message per series or label: the forwarder encodes a series'
//! labels once, when it first meets the series, and every later request
//! copies those bytes and appends the samples; [`put_labeled_series`]
//! encodes labels in place (what [`crate::remote::encode_write`] and the
//! bench's load generator send). Building `prompb` messages instead cloned
//! every label name and value for every request: the bench client spent
//! most of its time allocating and freeing them.
//!
//! ```text
//! WriteRequest { repeated TimeSeries timeseries = 1; }
//! TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//! Label        { string name = 1; string value = 2; }
//! Sample       { double value = 1; int64 timestamp = 2; }
//! ```

use crate::{Labels, Sample};

const LEN: u8 = 2; // wire type: length-delimited
const FIXED64: u8 = 1;
const VARINT: u8 = 0;

fn tag(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_bytes(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(tag(field, LEN));
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Bytes of a `Label` message's body.
fn label_len(name: &str, value: &str) -> usize {
    1 + varint_len(name.len() as u64) + name.len() + 1 + varint_len(value.len() as u64) + value.len()
}

/// Appends a series' labels as the `labels` fields of a `TimeSeries`.
fn put_labels(out: &mut Vec<u8>, labels: &Labels) {
    for l in labels.iter() {
        out.push(tag(1, LEN));
        put_varint(out, label_len(&l.name, &l.value) as u64);
        put_bytes(out, 1, l.name.as_bytes());
        put_bytes(out, 2, l.value.as_bytes());
    }
}

/// A series' labels as the `labels` fields of a `TimeSeries`, to be given
/// to [`put_series`] for every request that carries the series.
pub fn encode_labels(labels: &Labels) -> Vec<u8> {
    let mut out = Vec::new();
    put_labels(&mut out, labels);
    out
}

fn sample_len(s: &Sample) -> usize {
    1 + 8 + 1 + varint_len(s.t as u64)
}

fn samples_len(samples: &[Sample]) -> usize {
    samples.iter().map(|s| 1 + varint_len(sample_len(s) as u64) + sample_len(s)).sum()
}

/// Appends one `timeseries` entry of a `WriteRequest`: labels encoded by
/// [`encode_labels`], and `samples`.
pub fn put_series(out: &mut Vec<u8>, labels: &[u8], samples: &[Sample]) {
    out.push(tag(1, LEN));
    put_varint(out, (labels.len() + samples_len(samples)) as u64);
    out.extend_from_slice(labels);
    put_samples(out, samples);
}

/// Appends one `timeseries` entry of a `WriteRequest`, its labels encoded in place.
pub fn put_labeled_series(out: &mut Vec<u8>, labels: &Labels, samples: &[Sample]) {
    let labels_len: usize =
        labels.iter().map(|l| label_len(&l.name, &l.value)).map(|n| 1 + varint_len(n as u64) + n).sum();
    out.push(tag(1, LEN));
    put_varint(out, (labels_len + samples_len(samples)) as u64);
    put_labels(out, labels);
    put_samples(out, samples);
}

fn put_samples(out: &mut Vec<u8>, samples: &[Sample]) {
    for s in samples {
        out.push(tag(2, LEN));
        put_varint(out, sample_len(s) as u64);
        out.push(tag(1, FIXED64));
        out.extend_from_slice(&s.v.to_bits().to_le_bytes());
        out.push(tag(2, VARINT));
        put_varint(out, s.t as u64);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn what_is_written_decodes_as_the_same_batch() {
        let a = Labels::metric("http_requests_total", [("job", "api"), ("code", "200")]);
        let b = Labels::metric("x", [("long", "v".repeat(300).as_str())]);
        let sa = [Sample::new(1_700_000_000_000, 1.5), Sample::new(-5, f64::NAN), Sample::new(i64::MAX, -0.0)];
        let sb = [Sample::new(0, 7.0)];
        let mut body = Vec::new();
        put_series(&mut body, &encode_labels(&a), &sa);
        put_labeled_series(&mut body, &b, &sb);
        let compressed = snap::raw::Encoder::new().compress_vec(&body).unwrap();
        let batch = crate::remote::decode_write(&compressed, 1 << 20).unwrap();
        let rows: Vec<(String, Vec<(i64, u64)>)> =
            batch.rows().map(|(l, s)| (l.to_string(), s.iter().map(|x| (x.t, x.v.to_bits())).collect())).collect();
        assert_eq!(
            rows,
            [
                (a.to_string(), sa.iter().map(|x| (x.t, x.v.to_bits())).collect()),
                (b.to_string(), sb.iter().map(|x| (x.t, x.v.to_bits())).collect()),
            ]
        );
    }

    #[test]
    fn varint_lengths() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
    }
}
