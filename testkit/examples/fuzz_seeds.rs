//! Writes the seed corpora of the fuzz targets (`fuzz/corpus/<target>/`):
//! valid inputs of every decoder, built with the real encoders, plus the
//! query corpus of the PromQL differential test.
//!
//! `cargo run -p pulsedb-testkit --example fuzz_seeds` (already run; the seeds are checked in).

use std::path::Path;

use pulsedb::{Labels, Sample};
use pulsedb_storage::internals;

/// The repository's root (this example lives in `testkit/`).
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn write(target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)
}

fn main() -> std::io::Result<()> {
    let root = root();
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
            // Whole minutes at irregular gaps, readings in steps of 0.002:
            // scaled timestamps and mantissas (block version 5).
            "scaled",
            (0..300i64)
                .map(|i| Sample::new(i * 300_000 + (i * i % 7) * 60_000, ((i * 37) % 500 * 2) as f64 / 1000.0))
                .collect(),
        ),
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
    let body = pulsedb_formats::remote::encode_write(&batch);
    write("remote_write", "body", &[[0u8].as_slice(), &body].concat())?;
    let raw = snap::raw::Decoder::new().decompress_vec(&body).map_err(std::io::Error::other)?;
    write("remote_write", "protobuf", &[[1u8].as_slice(), &raw].concat())?;
    let read = pulsedb_formats::remote::encode_read(&[(0, 1000, vec![(0, "__name__", "up"), (2, "job", "a|b.*")])]);
    write("remote_read", "body", &[[0u8].as_slice(), &read].concat())?;
    let mut lp = String::new();
    let mut prom = String::from("# HELP seed_metric A seed.\n# TYPE seed_metric gauge\n");
    let mut csv = String::from("metric,labels,timestamp,value\n");
    for (labels, samples) in batch.rows() {
        for s in samples.iter().take(20) {
            pulsedb_formats::line_protocol::write_line(&mut lp, labels, *s);
            pulsedb_formats::text_format::write_sample(
                &mut prom,
                labels,
                *s,
                pulsedb_formats::text_format::Dialect::Prometheus,
            );
            pulsedb_formats::csv::write_row(&mut csv, labels, *s);
        }
    }
    lp.push_str(
        "weather,city=New\\ York,k\\=x=a\\,b temp=-3.5e1,n=7i,u=3u,ok=t,s=\"a \\\"q\\\"\" 1700000000000000000\n",
    );
    write("line_protocol", "lines", lp.as_bytes())?;
    write("text_format", "prometheus", prom.as_bytes())?;
    write("text_format", "openmetrics", b"x_total{a=\"b\\n\"} 1.5 1700000000.123 # {trace_id=\"t\"} 1\n# EOF\n")?;
    write("csv", "rows", csv.as_bytes())?;

    block_seeds(root)?;
    wal_seeds()?;
    Ok(())
}

/// `block_read` inputs: flags, u16 lengths of `meta.json`, `index` and
/// `chunks`, then the four files, `rollups` empty for blocks before format
/// 4 (see `pulsedb_testkit::fuzzing::block_read`). The `v4_block` seeds were
/// written by format 4 and are kept as they are.
fn pack_block(flags: u8, dir: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::read(dir.join("meta.json"))?;
    let index = std::fs::read(dir.join("index"))?;
    let chunks = std::fs::read(dir.join("chunks"))?;
    let rollups = std::fs::read(dir.join("rollups")).unwrap_or_default();
    let len = |b: &[u8]| u16::try_from(b.len()).map_err(std::io::Error::other);
    let mut out = vec![flags];
    for part in [&meta, &index, &chunks] {
        out.extend_from_slice(&len(part)?.to_le_bytes());
    }
    for part in [meta, index, chunks, rollups] {
        out.extend_from_slice(&part);
    }
    Ok(out)
}

fn block_dirs(blocks: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut dirs: Vec<_> = std::fs::read_dir(blocks)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Small blocks written by today's format (with rollups; one of decimals
/// and counters, whose chunk frames zstd shrinks, one of arbitrary floats,
/// stored raw), plus the format 1 golden fixture's first block.
fn block_seeds(root: &Path) -> std::io::Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut options = pulsedb::Options::default();
    options.background_maintenance = false;
    options.retention = std::time::Duration::ZERO;
    let db = pulsedb::Db::open(tmp.path(), options).map_err(std::io::Error::other)?;
    let t0 = 1_700_006_400_000; // a multiple of 2 h
    let mut batch = pulsedb::Batch::new();
    for s in 0..3u32 {
        let samples = (0..120).map(|i| Sample::new(t0 + i * 60_000, f64::from(s) * 10.0 + (i % 7) as f64 / 4.0));
        batch.add(Labels::metric("seed_gauge", [("s", s.to_string())]), samples);
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let floats = (0..90).map(|i| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Sample::new(t0 + i * 80_000 + (x % 1000) as i64, f64::from_bits(x >> 2))
    });
    batch.add(Labels::metric("seed_floats", [("s", "x")]), floats.collect::<Vec<_>>());
    db.append(&batch).map_err(std::io::Error::other)?;
    db.append(pulsedb::Batch::new().push(Labels::metric("seed_gauge", [("s", "0")]), t0 + 7_200_000, 1.0))
        .map_err(std::io::Error::other)?;
    db.flush().map_err(std::io::Error::other)?;
    db.close().map_err(std::io::Error::other)?;
    let written = block_dirs(&tmp.path().join("blocks"))?;
    let block = written.first().ok_or_else(|| std::io::Error::other("no block written"))?;
    write("block_read", "v5_block", &pack_block(0, block)?)?;
    write("block_read", "v5_block_fix_checksums", &pack_block(3, block)?)?;
    let fixture = block_dirs(&root.join("tests/fixtures/v1/blocks"))?;
    let v1 = fixture.first().ok_or_else(|| std::io::Error::other("no v1 fixture block"))?;
    write("block_read", "v1_block_fix_checksums", &pack_block(3, v1)?)?;
    Ok(())
}

/// `wal_replay` inputs (see `pulsedb_testkit::fuzzing::wal_replay`): a WAL of
/// storage records in three small segments, as written, with the last
/// one's tail torn, with the headers left to the target, and alone.
fn wal_seeds() -> std::io::Result<()> {
    let tmp = tempfile::tempdir()?;
    let options = pulsedb_wal::WalOptions::new().with_sync(pulsedb_wal::SyncMode::Never);
    let wal = pulsedb_wal::Wal::open(tmp.path(), options, |_, _| Ok::<(), std::convert::Infallible>(()))
        .map_err(std::io::Error::other)?;
    for segment in 0..3i64 {
        for batch in 0..4i64 {
            let series = vec![(1u64, Labels::metric("up", [("job", "a")])), (2, Labels::metric("up", [("job", "b")]))];
            let t = (segment * 4 + batch) * 15_000;
            let samples =
                vec![(1, vec![Sample::new(t, 1.0)]), (2, vec![Sample::new(t, f64::NAN), Sample::new(t + 1, 0.5)])];
            let series = if segment == 0 && batch == 0 { series } else { Vec::new() };
            wal.write(&internals::wal_record_encode(&series, &samples)).map_err(std::io::Error::other)?;
        }
        if segment < 2 {
            wal.rotate().map_err(std::io::Error::other)?;
        }
    }
    wal.close().map_err(std::io::Error::other)?;
    let files: Vec<Vec<u8>> =
        (1..=3).map(|n| std::fs::read(tmp.path().join(format!("{n:08}.wal")))).collect::<Result<_, _>>()?;
    let pack = |control: u8, parts: &[&[u8]]| -> std::io::Result<Vec<u8>> {
        let mut out = vec![control];
        if let Some((_, init)) = parts.split_last() {
            for p in init {
                out.extend_from_slice(&u16::try_from(p.len()).map_err(std::io::Error::other)?.to_le_bytes());
            }
        }
        out.extend(parts.iter().flat_map(|p| p.iter().copied()));
        Ok(out)
    };
    // control: bits 0-1 segments - 1, bits 2-3 first number (1), bit 5 headers added.
    let all: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    write("wal_replay", "three_segments", &pack(0b0110, &all)?)?;
    let last = &files[2];
    let torn: Vec<&[u8]> = vec![&files[0], &files[1], &last[..last.len() - 5]];
    write("wal_replay", "torn_tail", &pack(0b0110, &torn)?)?;
    let bare: Vec<&[u8]> = files.iter().map(|f| &f[8..]).collect();
    write("wal_replay", "headers_added", &pack(0b10_0110, &bare)?)?;
    write("wal_replay", "one_segment", &pack(0b0100, &all[..1])?)?;
    Ok(())
}
