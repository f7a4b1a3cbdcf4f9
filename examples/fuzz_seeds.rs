//! Writes the seed corpora of the fuzz targets (`fuzz/corpus/<target>/`):
//! valid inputs of every decoder, built with the real encoders, plus the
//! query corpus of the PromQL differential test.
//!
//! `cargo run --example fuzz_seeds` (already run; the seeds are checked in).

use std::path::Path;

use pulsedb::{Labels, Sample};
use pulsedb_storage::internals;

fn write(target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)
}

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let queries = std::fs::read_to_string(root.join("tests/promql-diff/queries.txt"))?;
    for (i, q) in queries.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).enumerate() {
        write("query_parser", &format!("q{i:03}"), q.as_bytes())?;
    }
    write("query_parser", "errors", b"sum(rate(foo{job=}[5m])) by (")?;

    let runs: Vec<(&str, Vec<Sample>)> = vec![
        (
            "gauge",
            (0..500).map(|i| Sample::new(1_700_000_000_000 + i * 1000, ((i * 37) % 1000) as f64 / 10.0)).collect(),
        ),
        ("counter", (0..300).map(|i| Sample::new(i * 15_000, (i * i) as f64)).collect()),
        ("floats", (0..200).map(|i| Sample::new(i * 997, (i as f64).sin())).collect()),
        (
            "special",
            vec![
                Sample::new(-5, f64::NAN),
                Sample::new(0, -0.0),
                Sample::new(7, f64::INFINITY),
                Sample::new(8, f64::from_bits(pulsedb::STALE_NAN)),
                Sample::new(i64::MAX, 1.5),
            ],
        ),
    ];
    for (name, samples) in &runs {
        write("sealed_chunk", name, &internals::sealed_encode(samples).0)?;
        let (bytes, count) = internals::xor_encode(samples);
        let mut with_count = (count as u16).to_le_bytes().to_vec();
        with_count.extend_from_slice(&bytes);
        write("xor_chunk", name, &with_count)?;
        let series = vec![(1u64, Labels::metric("up", [("job", "x")]))];
        let record = internals::wal_record_encode(&series, &[(1, samples.clone())]);
        write("wal_record", name, &record)?;
        let mut frame = Vec::new();
        pulsedb_wal::encode_frame(&record, &mut frame).map_err(std::io::Error::other)?;
        write("wal_frame", name, &frame)?;
        write("rollup_blob", name, &internals::rollup_encode(samples, 60_000))?;
    }

    // Ingest formats: a remote-write body (even first byte: the body as sent) and
    // its bare protobuf (odd first byte), a read request, and text in each format.
    let mut batch = pulsedb::Batch::new();
    for (name, samples) in &runs {
        batch.add(Labels::metric("seed_metric", [("run", *name), ("job", "fuzz")]), samples.iter().copied());
    }
    let body = pulsedb::ingest::remote::encode_write(&batch);
    write("remote_write", "body", &[[0u8].as_slice(), &body].concat())?;
    let raw = snap::raw::Decoder::new().decompress_vec(&body).map_err(std::io::Error::other)?;
    write("remote_write", "protobuf", &[[1u8].as_slice(), &raw].concat())?;
    let read = pulsedb::ingest::remote::encode_read(&[(0, 1000, vec![(0, "__name__", "up"), (2, "job", "a|b.*")])]);
    write("remote_read", "body", &[[0u8].as_slice(), &read].concat())?;
    let mut lp = String::new();
    let mut prom = String::from("# HELP seed_metric A seed.\n# TYPE seed_metric gauge\n");
    let mut csv = String::from("metric,labels,timestamp,value\n");
    for (labels, samples) in batch.rows() {
        for s in samples.iter().take(20) {
            pulsedb::ingest::line_protocol::write_line(&mut lp, labels, *s);
            pulsedb::ingest::text_format::write_sample(
                &mut prom,
                labels,
                *s,
                pulsedb::ingest::text_format::Dialect::Prometheus,
            );
            pulsedb::ingest::csv::write_row(&mut csv, labels, *s);
        }
    }
    lp.push_str(
        "weather,city=New\\ York,k\\=x=a\\,b temp=-3.5e1,n=7i,u=3u,ok=t,s=\"a \\\"q\\\"\" 1700000000000000000\n",
    );
    write("line_protocol", "lines", lp.as_bytes())?;
    write("text_format", "prometheus", prom.as_bytes())?;
    write("text_format", "openmetrics", b"x_total{a=\"b\\n\"} 1.5 1700000000.123 # {trace_id=\"t\"} 1\n# EOF\n")?;
    write("csv", "rows", csv.as_bytes())?;
    Ok(())
}
