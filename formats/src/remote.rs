//! Prometheus remote-write 1.0 and remote-read over HTTP bodies: snappy
//! (block format) around protobuf. Decoding checks the declared
//! decompressed size before allocating, so a small body cannot claim
//! gigabytes.

use prost::Message;

use super::prompb::{self, ReadRequest, ReadResponse, WriteRequest};
use super::IngestError;
use crate::{Batch, Labels, MatchOp, Matcher, MetricMetadata, MetricType, Sample, Series};

/// Snappy-decompresses `body`, refusing a declared size over `max_decompressed` bytes.
pub(crate) fn unsnappy(body: &[u8], max_decompressed: usize) -> Result<Vec<u8>, IngestError> {
    let len = snap::raw::decompress_len(body).map_err(|e| IngestError::Body(format!("bad snappy body: {e}")))?;
    if len > max_decompressed {
        return Err(IngestError::Body(format!(
            "snappy body decompresses to {len} bytes, more than the limit of {max_decompressed}"
        )));
    }
    snap::raw::Decoder::new().decompress_vec(body).map_err(|e| IngestError::Body(format!("bad snappy body: {e}")))
}

/// Decodes a remote-write request body into a batch. Series without
/// samples are skipped; label validity is checked by the append.
pub fn decode_write(body: &[u8], max_decompressed: usize) -> Result<Batch, IngestError> {
    Ok(decode_write_request(body, max_decompressed)?.batch)
}

/// A remote-write request: its samples, and the metadata records Prometheus
/// sends alongside (type, help and unit per metric family).
#[derive(Debug, Default)]
pub struct WriteBody {
    pub batch: Batch,
    pub metadata: Vec<MetricMetadata>,
}

/// Decodes a remote-write request body: [`decode_write`] and the metadata
/// records (those without a family name are skipped).
pub fn decode_write_request(body: &[u8], max_decompressed: usize) -> Result<WriteBody, IngestError> {
    let raw = unsnappy(body, max_decompressed)?;
    let request = WriteRequest::decode(raw.as_slice())
        .map_err(|e| IngestError::Body(format!("bad protobuf WriteRequest: {e}")))?;
    let mut batch = Batch::with_capacity(request.timeseries.len());
    for series in request.timeseries {
        if series.samples.is_empty() {
            continue;
        }
        let labels = Labels::new(series.labels.into_iter().map(|l| (l.name, l.value)));
        batch.add(labels, series.samples.into_iter().map(|s| Sample::new(s.timestamp, s.value)));
    }
    let metadata = request.metadata.into_iter().filter_map(metadata_of).collect();
    Ok(WriteBody { batch, metadata })
}

/// A metadata record as the store keeps it; `None` without a family name.
pub(crate) fn metadata_of(m: prompb::MetricMetadata) -> Option<MetricMetadata> {
    (!m.metric_family_name.is_empty()).then(|| MetricMetadata {
        metric: m.metric_family_name,
        kind: MetricType::from_proto(m.r#type),
        help: m.help,
        unit: m.unit,
    })
}

/// Encodes a batch as a snappy-compressed remote-write body (for clients, tests and load generators).
pub fn encode_write(batch: &Batch) -> Vec<u8> {
    encode_write_request(batch, &[])
}

/// [`encode_write`] with metadata records. Written straight into bytes
/// (`remote_encode.rs`), the metadata after the series as a protobuf
/// encoder orders fields.
pub fn encode_write_request(batch: &Batch, metadata: &[MetricMetadata]) -> Vec<u8> {
    let mut raw = Vec::new();
    for (labels, samples) in batch.rows() {
        crate::remote_encode::put_labeled_series(&mut raw, labels, samples);
    }
    for m in metadata {
        let record = prompb::MetricMetadata {
            r#type: MetricType::ALL.iter().position(|t| *t == m.kind).unwrap_or(0) as i32,
            metric_family_name: m.metric.clone(),
            help: m.help.clone(),
            unit: m.unit.clone(),
        };
        prost::encoding::message::encode(3, &record, &mut raw);
    }
    snappy(&raw)
}

fn snappy(raw: &[u8]) -> Vec<u8> {
    // Compressing into a Vec sized by max_compress_len cannot fail; an
    // error here would be a bug in snap, so fall back to an empty body.
    snap::raw::Encoder::new().compress_vec(raw).unwrap_or_default()
}

/// One query of a remote-read request, with matchers compiled.
#[derive(Debug)]
pub struct ReadQuery {
    pub start_ms: i64,
    pub end_ms: i64,
    pub matchers: Vec<Matcher>,
}

/// Response type `SAMPLES` of `prometheus.ReadRequest.ResponseType`.
const RESPONSE_SAMPLES: i32 = 0;

/// Decodes a remote-read request. Only the `SAMPLES` response type is
/// served; a client that accepts only streamed chunks gets an error.
pub fn decode_read(body: &[u8], max_decompressed: usize) -> Result<Vec<ReadQuery>, IngestError> {
    let raw = unsnappy(body, max_decompressed)?;
    let request =
        ReadRequest::decode(raw.as_slice()).map_err(|e| IngestError::Body(format!("bad protobuf ReadRequest: {e}")))?;
    if !request.accepted_response_types.is_empty() && !request.accepted_response_types.contains(&RESPONSE_SAMPLES) {
        return Err(IngestError::Body(
            "only the SAMPLES response type is supported; the client accepts only streamed chunks".into(),
        ));
    }
    request
        .queries
        .into_iter()
        .map(|q| {
            let matchers = q
                .matchers
                .into_iter()
                .map(|m| {
                    let op = match m.r#type {
                        0 => MatchOp::Equal,
                        1 => MatchOp::NotEqual,
                        2 => MatchOp::RegexMatch,
                        3 => MatchOp::RegexNoMatch,
                        other => return Err(IngestError::Body(format!("unknown matcher type {other}"))),
                    };
                    Matcher::new(op, m.name, m.value).map_err(|e| IngestError::Body(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ReadQuery { start_ms: q.start_timestamp_ms, end_ms: q.end_timestamp_ms, matchers })
        })
        .collect()
}

/// A matcher as the wire has it: `(type, name, value)`, type 0 `=`, 1 `!=`, 2 `=~`, 3 `!~`.
pub type WireMatcher<'a> = (i32, &'a str, &'a str);

/// Encodes a remote-read request of `(start_ms, end_ms, matchers)` queries (for tests and clients).
pub fn encode_read(queries: &[(i64, i64, Vec<WireMatcher<'_>>)]) -> Vec<u8> {
    let request = ReadRequest {
        queries: queries
            .iter()
            .map(|(start, end, matchers)| prompb::Query {
                start_timestamp_ms: *start,
                end_timestamp_ms: *end,
                matchers: matchers
                    .iter()
                    .map(|(t, n, v)| prompb::LabelMatcher { r#type: *t, name: n.to_string(), value: v.to_string() })
                    .collect(),
            })
            .collect(),
        accepted_response_types: vec![RESPONSE_SAMPLES],
    };
    snappy(&request.encode_to_vec())
}

/// Encodes the answers to a read request, one result per query, snappy-compressed.
pub fn encode_read_response(results: Vec<Vec<Series>>) -> Vec<u8> {
    let response = ReadResponse {
        results: results
            .into_iter()
            .map(|series| prompb::QueryResult {
                timeseries: series
                    .into_iter()
                    .map(|s| prompb::TimeSeries {
                        labels: s
                            .labels
                            .iter()
                            .map(|l| prompb::Label { name: l.name.clone(), value: l.value.clone() })
                            .collect(),
                        samples: s.samples.iter().map(|p| prompb::Sample { value: p.v, timestamp: p.t }).collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    snappy(&response.encode_to_vec())
}

/// Decodes a read response (for tests and clients): per query, `(labels, samples)`.
pub fn decode_read_response(body: &[u8], max_decompressed: usize) -> Result<Vec<Vec<Series>>, IngestError> {
    let raw = unsnappy(body, max_decompressed)?;
    let response = ReadResponse::decode(raw.as_slice())
        .map_err(|e| IngestError::Body(format!("bad protobuf ReadResponse: {e}")))?;
    Ok(response
        .results
        .into_iter()
        .map(|r| {
            r.timeseries
                .into_iter()
                .map(|ts| Series {
                    labels: Labels::new(ts.labels.into_iter().map(|l| (l.name, l.value))),
                    samples: ts.samples.into_iter().map(|s| Sample::new(s.timestamp, s.value)).collect(),
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn write_round_trip() {
        let mut batch = Batch::new();
        batch.add(Labels::metric("up", [("job", "a")]), [Sample::new(1000, 1.0), Sample::new(2000, f64::NAN)]);
        batch.push(Labels::metric("x", [("y", "z")]), -5, -0.0);
        let decoded = decode_write(&encode_write(&batch), 1 << 20).unwrap();
        let rows: Vec<_> = decoded.rows().map(|(l, s)| (l.to_string(), s.to_vec())).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, "up{job=\"a\"}");
        assert_eq!(rows[0].1[0], Sample::new(1000, 1.0));
        assert!(rows[0].1[1].v.is_nan());
        // Written explicitly, not left out as a proto3 default: -0.0 keeps its sign.
        assert_eq!(rows[1].1[0].v.to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn metadata_follows_the_series_and_reads_back() {
        let mut batch = Batch::new();
        batch.add(Labels::metric("http_requests_total", [("job", "api")]), [Sample::new(0, 0.0)]);
        let metadata = vec![
            MetricMetadata {
                metric: "http_requests_total".into(),
                kind: MetricType::Counter,
                help: "Requests served.".into(),
                unit: String::new(),
            },
            MetricMetadata {
                metric: "temp".into(),
                kind: MetricType::Gauge,
                help: String::new(),
                unit: "celsius".into(),
            },
        ];
        let body = decode_write_request(&encode_write_request(&batch, &metadata), 1 << 20).unwrap();
        let rows: Vec<_> = body.batch.rows().map(|(l, s)| (l.clone(), s.to_vec())).collect();
        assert_eq!(rows, vec![(Labels::metric("http_requests_total", [("job", "api")]), vec![Sample::new(0, 0.0)])]);
        assert_eq!(body.metadata, metadata);
    }

    #[test]
    fn bad_bodies_are_named() {
        let err = decode_write(b"\xff\xff\xff\xff\xff\xff", 1 << 20).unwrap_err().to_string();
        assert!(err.contains("snappy"), "{err}");
        let not_proto = snappy(b"\x0a\xff\xff\xff\x0f");
        let err = decode_write(&not_proto, 1 << 20).unwrap_err().to_string();
        assert!(err.contains("protobuf"), "{err}");
        let big = snappy(&vec![0u8; 10_000]);
        let err = decode_write(&big, 1000).unwrap_err().to_string();
        assert!(err.contains("more than the limit"), "{err}");
    }

    #[test]
    fn read_request_round_trip() {
        let body = encode_read(&[(1, 2, vec![(0, "__name__", "up"), (2, "job", "a.*")])]);
        let queries = decode_read(&body, 1 << 20).unwrap();
        assert_eq!(queries.len(), 1);
        assert_eq!((queries[0].start_ms, queries[0].end_ms), (1, 2));
        assert!(queries[0].matchers[1].matches("abc"));
        assert!(!queries[0].matchers[1].matches("xabc"));
    }
}
